package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func benchDB(b *testing.B, opts Options, keys int) *DB {
	b.Helper()
	opts.SQL = true
	db := openAt(b, filepath.Join(b.TempDir(), "bench.sqlite"), opts)
	for i := 0; i < keys; i += 100 {
		var entries []Entry
		for j := i; j < min(i+100, keys); j++ {
			entries = append(entries, Entry{fmt.Sprintf("key%06d", j), make([]byte, 100)})
		}
		if err := db.PutMany(entries); err != nil {
			b.Fatal(err)
		}
	}
	seq, err := db.Commit()
	if err != nil {
		b.Fatal(err)
	}
	if err := <-db.Durable(seq); err != nil {
		b.Fatal(err)
	}
	return db
}

func BenchmarkGet(b *testing.B) {
	db := benchDB(b, Options{Sync: SyncNone}, 10000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := db.Get(fmt.Sprintf("key%06d", i%10000)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkPutCommit is one turn that puts one 100-byte value and commits;
// with SyncFull the turn also waits for its barrier (the fsync), as an
// output gate does before a response leaves.
func BenchmarkPutCommit(b *testing.B) {
	for _, mode := range []struct {
		name string
		sync SyncMode
	}{{"SyncNone", SyncNone}, {"SyncFull", SyncFull}} {
		b.Run(mode.name, func(b *testing.B) {
			db := benchDB(b, Options{Sync: mode.sync}, 1000)
			value := make([]byte, 100)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := db.Put(fmt.Sprintf("key%06d", i%1000), value); err != nil {
					b.Fatal(err)
				}
				seq, err := db.Commit()
				if err != nil {
					b.Fatal(err)
				}
				if err := <-db.Durable(seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutCommitPipelined commits turns without waiting for their
// barriers (the event loop goes on while the output gate waits): one
// fsync then covers many commits.
func BenchmarkPutCommitPipelined(b *testing.B) {
	db := benchDB(b, Options{}, 1000)
	value := make([]byte, 100)
	waits := make([]<-chan error, 0, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := db.Put(fmt.Sprintf("key%06d", i%1000), value); err != nil {
			b.Fatal(err)
		}
		seq, err := db.Commit()
		if err != nil {
			b.Fatal(err)
		}
		waits = append(waits, db.Durable(seq))
		if len(waits) == cap(waits) {
			for _, w := range waits {
				if err := <-w; err != nil {
					b.Fatal(err)
				}
			}
			waits = waits[:0]
		}
	}
	for _, w := range waits {
		if err := <-w; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList100(b *testing.B) {
	db := benchDB(b, Options{Sync: SyncNone}, 10000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := fmt.Sprintf("key%06d", (i*100)%9900)
		entries, err := db.List(ListOptions{Start: &start, Limit: ptr(100)})
		if err != nil || len(entries) != 100 {
			b.Fatal(len(entries), err)
		}
	}
}

func BenchmarkExecSelect(b *testing.B) {
	db := benchDB(b, Options{Sync: SyncNone}, 0)
	for _, q := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n REAL)",
		"INSERT INTO t SELECT value, 'name' || value, value * 1.5 FROM json_each(?)",
	} {
		arg := []any{}
		if q[0] == 'I' {
			ids := "[0"
			for i := 1; i < 1000; i++ {
				ids += fmt.Sprint(",", i)
			}
			arg = append(arg, ids+"]")
		}
		c, err := db.Exec(q, arg...)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	if _, err := db.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c, err := db.Exec("SELECT id, name, n FROM t WHERE id = ?", i%1000)
		if err != nil {
			b.Fatal(err)
		}
		row, ok, err := c.Next()
		if err != nil || !ok || len(row) != 3 {
			b.Fatal(row, ok, err)
		}
		if _, ok, _ := c.Next(); ok {
			b.Fatal("two rows")
		}
	}
}

// BenchmarkFsync measures the disk: write 4 KiB to a file and fsync it,
// which is what one durability barrier costs, appending (the file grows,
// as a WAL does until it is restarted) or overwriting in place.
func BenchmarkFsync(b *testing.B) {
	for _, appending := range []bool{true, false} {
		name := "overwrite"
		if appending {
			name = "append"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			page := make([]byte, 4096)
			for b.Loop() {
				off := int64(0)
				if appending {
					off, _ = f.Seek(0, 2)
				}
				if _, err := f.WriteAt(page, off); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewObjectFirstCommits: what storage costs an object that is
// new (1,000 counters on a fresh data directory): its file created and
// three increments committed, each made durable. Closing is not counted.
func BenchmarkNewObjectFirstCommits(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		db, err := Open(filepath.Join(dir, strconv.Itoa(i)+".sqlite"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < 3; n++ {
			put(b, db, "count", strconv.Itoa(n))
			if err := <-db.Durable(commit(b, db)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
