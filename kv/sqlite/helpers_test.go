package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(sec int64) *clock { return &clock{t: time.Unix(sec, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a store on a fresh file with one namespace.
type fixture struct {
	s     *Store
	clk   *clock
	path  string
	ns    string
	ctx   context.Context
	testT testing.TB
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	f := &fixture{clk: newClock(1000), path: filepath.Join(t.TempDir(), "kv.sqlite"), ctx: context.Background(), testT: t}
	if opts.Now == nil {
		opts.Now = f.clk.Now
	}
	opts.PurgeInterval = -1
	f.s = mustOpen(t, f.path, opts)
	ns, err := f.s.CreateNamespace(f.ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.ns = ns.ID
	return f
}

func mustOpen(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func (f *fixture) put(key, value string, opts kv.PutOptions) {
	f.testT.Helper()
	if err := f.s.Put(f.ctx, f.ns, key, []byte(value), opts); err != nil {
		f.testT.Fatalf("put %q: %v", key, err)
	}
}

// get returns the value of key and whether it exists.
func (f *fixture) get(key string) (string, bool) {
	f.testT.Helper()
	e, err := f.s.Get(f.ctx, f.ns, key)
	if err != nil {
		f.testT.Fatalf("get %q: %v", key, err)
	}
	if e == nil {
		return "", false
	}
	if e.Value == nil {
		f.testT.Fatalf("get %q: nil value in an entry", key)
	}
	return string(e.Value), true
}

func (f *fixture) list(opts kv.ListOptions) kv.ListResult {
	f.testT.Helper()
	r, err := f.s.List(f.ctx, f.ns, opts)
	if err != nil {
		f.testT.Fatalf("list %+v: %v", opts, err)
	}
	if r.Keys == nil {
		f.testT.Fatalf("list %+v: nil keys", opts)
	}
	if r.ListComplete != (r.Cursor == "") {
		f.testT.Fatalf("list %+v: complete=%v with cursor %q", opts, r.ListComplete, r.Cursor)
	}
	return r
}

func names(r kv.ListResult) []string {
	out := []string{}
	for _, k := range r.Keys {
		out = append(out, k.Name)
	}
	return out
}

// wantKVError checks that err is a *kv.Error with text want.
func wantKVError(t testing.TB, err error, want string) {
	t.Helper()
	var e *kv.Error
	if !errors.As(err, &e) || err.Error() != want {
		t.Fatalf("error = %v (%T), want kv.Error %q", err, err, want)
	}
}
