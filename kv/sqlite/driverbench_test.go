//go:build kvdriverbench

// The driver benchmark: the same store operations on each candidate SQLite
// driver. It is built only with the tag kvdriverbench, so the normal build
// links one driver. mattn/go-sqlite3 needs cgo, and it registers the same
// database/sql name ("sqlite3") as ncruces, so blank its name at link time:
//
//	go test -tags kvdriverbench -run '^$' -bench Drivers \
//	  -ldflags='-X=github.com/mattn/go-sqlite3.driverName=' ./kv/sqlite

package sqlite

import (
	"context"
	"database/sql/driver"
	"testing"

	mattn "github.com/mattn/go-sqlite3"
	modernc "modernc.org/sqlite"

	"github.com/kiln-dev/kiln/kv"
)

// dsnConnector adapts a driver that only has Open(dsn).
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Driver() driver.Driver { return c.drv }

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

var (
	mattnDriver = sqlDriver{
		name: "mattn",
		connector: func(uri string) (driver.Connector, error) {
			return dsnConnector{&mattn.SQLiteDriver{}, uri}, nil
		},
	}
	moderncDriver = sqlDriver{
		name: "modernc",
		connector: func(uri string) (driver.Connector, error) {
			return dsnConnector{&modernc.Driver{}, uri}, nil
		},
	}
)

func BenchmarkDrivers(b *testing.B) {
	for _, d := range []sqlDriver{ncrucesDriver, moderncDriver, mattnDriver} {
		opts := Options{driver: d, noReadCache: true}
		noGroup := Options{driver: d, MaxBatch: 1}
		b.Run(d.name+"/Get100B", func(b *testing.B) { benchGet(b, opts, 100) })
		b.Run(d.name+"/Put100B", func(b *testing.B) { benchPut(b, opts, 100) })
		b.Run(d.name+"/Put100B/nosync", func(b *testing.B) { benchPut(b, Options{driver: d, noSync: true}, 100) })
		b.Run(d.name+"/PutParallel100B/group", func(b *testing.B) { benchPutParallel(b, opts, 100) })
		b.Run(d.name+"/PutParallel100B/nogroup", func(b *testing.B) { benchPutParallel(b, noGroup, 100) })
		b.Run(d.name+"/List100", func(b *testing.B) { benchList(b, opts) })
		b.Run(d.name+"/Put1MiB", func(b *testing.B) { benchPut(b, opts, 1<<20) })
		b.Run(d.name+"/Get1MiB", func(b *testing.B) { benchGet(b, opts, 1<<20) })
	}
}

// The store's behaviour does not depend on the driver: run a few of the
// tests on each.
func TestDriversAgree(t *testing.T) {
	for _, d := range []sqlDriver{ncrucesDriver, moderncDriver, mattnDriver} {
		t.Run(d.name, func(t *testing.T) {
			f := newFixture(t, Options{driver: d})
			f.put("key", "", kv.PutOptions{})
			if v, ok := f.get("key"); !ok || v != "" {
				t.Fatalf("empty value = %q, %v", v, ok)
			}
			for _, k := range []string{", ", "!", "é", "z"} {
				f.put(k, "v", kv.PutOptions{})
			}
			got := names(f.list(kv.ListOptions{}))
			want := []string{"!", ", ", "key", "z", "é"}
			if len(got) != len(want) {
				t.Fatalf("list = %q", got)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("list = %q, want %q", got, want)
				}
			}
		})
	}
}
