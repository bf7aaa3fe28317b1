package sqlite

import (
	"testing"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// otherProcess opens a second store on f's file, as another kiln process
// would (`kiln kv key put --local` while `kiln dev` serves): its writes do
// not pass through f's writer.
func (f *fixture) otherProcess(t *testing.T) *Store {
	t.Helper()
	return mustOpen(t, f.path, Options{Now: f.clk.Now, PurgeInterval: -1})
}

// The cache is in use: a value read once is answered from memory.
func TestReadCacheServesRepeatedReads(t *testing.T) {
	f := newFixture(t, Options{})
	if f.s.cache == nil {
		t.Fatal("no read cache (the -shm file could not be read)")
	}
	f.put("k", "v", kv.PutOptions{})
	f.get("k")
	f.get("absent")
	// With the readers closed, only the cache can answer.
	if err := f.s.rdb.Close(); err != nil {
		t.Fatal(err)
	}
	if v, ok := f.get("k"); !ok || v != "v" {
		t.Fatalf("cached read: %q %v", v, ok)
	}
	if _, ok := f.get("absent"); ok {
		t.Fatal("a key cached as missing was found")
	}
	if _, err := f.s.Get(f.ctx, f.ns, "never-read"); err == nil {
		t.Fatal("a key never read was answered without the database")
	}
}

func TestReadCacheSeesThisProcesssWritesAtOnce(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("k", "v1", kv.PutOptions{})
	f.get("k")
	f.put("k", "v2", kv.PutOptions{})
	if v, _ := f.get("k"); v != "v2" {
		t.Fatalf("after this process's put: %q, want v2", v)
	}
	f.get("missing")
	f.put("missing", "now here", kv.PutOptions{})
	if v, ok := f.get("missing"); !ok || v != "now here" {
		t.Fatalf("after a put of a key cached as missing: %q %v", v, ok)
	}
	if err := f.s.Delete(f.ctx, f.ns, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.get("k"); ok {
		t.Fatal("a deleted key is still served")
	}
}

func TestReadCacheSeesAnotherProcesssWritesAtOnce(t *testing.T) {
	f := newFixture(t, Options{})
	other := f.otherProcess(t)
	f.put("k", "v1", kv.PutOptions{})
	f.put("keep", "same", kv.PutOptions{})
	f.get("k")
	f.get("keep")
	f.get("new")
	if err := other.Put(f.ctx, f.ns, "k", []byte("v2"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.get("k"); v != "v2" {
		t.Fatalf("after another process's put: %q, want v2", v)
	}
	if err := other.Put(f.ctx, f.ns, "new", []byte("n"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := f.get("new"); !ok || v != "n" {
		t.Fatalf("a key cached as missing, then put by another process: %q %v", v, ok)
	}
	if err := other.Delete(f.ctx, f.ns, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.get("k"); ok {
		t.Fatal("a key deleted by another process is still served")
	}
	if v, _ := f.get("keep"); v != "same" {
		t.Fatalf("an unchanged key: %q", v)
	}
}

func TestReadCacheNeverServesAnExpiredKey(t *testing.T) {
	f := newFixture(t, Options{})
	exp := f.clk.Now().Unix() + kv.MinExpirationTTL
	f.put("k", "v", kv.PutOptions{Expiration: exp, ExpirationSet: true})
	if _, ok := f.get("k"); !ok {
		t.Fatal("not found before it expired")
	}
	f.clk.Advance(kv.MinExpirationTTL * time.Second)
	if _, ok := f.get("k"); ok {
		t.Fatal("an expired key was served from the cache")
	}
}

func TestReadCacheReturnsCopies(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("k", "value", kv.PutOptions{Metadata: []byte(`{"a":1}`)})
	for i := 0; i < 3; i++ {
		e, err := f.s.Get(f.ctx, f.ns, "k")
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Value) != "value" || string(e.Metadata) != `{"a":1}` {
			t.Fatalf("read %d: %q %q", i, e.Value, e.Metadata)
		}
		copy(e.Value, "XXXXX") // a caller that scribbles on what it got
		copy(e.Metadata, "XXXXXXX")
	}
}

// A read that started before a commit must not be cached: what it found
// may be the value the commit replaced.
func TestReadCacheDropsAReadThatACommitOvertook(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.s.cache
	_, _, gen, ok := c.lookup(f.ns, "k", f.clk.Now())
	if !ok {
		t.Fatal("header unreadable")
	}
	c.committed() // a write lands while the read is in the database
	c.put(f.ns, "k", &kv.Entry{Value: []byte("old")}, gen)
	if _, hit, _, _ := c.lookup(f.ns, "k", f.clk.Now()); hit {
		t.Fatal("a read overtaken by a commit was cached")
	}
	_, _, gen, _ = c.lookup(f.ns, "k", f.clk.Now())
	c.put(f.ns, "k", &kv.Entry{Value: []byte("new")}, gen)
	if e, hit, _, _ := c.lookup(f.ns, "k", f.clk.Now()); !hit || string(e.Value) != "new" {
		t.Fatalf("an ordinary read was not cached: %v %v", e, hit)
	}
}

// The cache stays within maxCacheBytes and does not keep large values.
func TestReadCacheIsBounded(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.s.cache
	gen := func() uint64 { _, _, g, _ := c.lookup(f.ns, "x", f.clk.Now()); return g }
	c.put(f.ns, "big", &kv.Entry{Value: make([]byte, maxCachedValue+1)}, gen())
	if _, hit, _, _ := c.lookup(f.ns, "big", f.clk.Now()); hit {
		t.Fatal("a value over maxCachedValue was cached")
	}
	value := make([]byte, maxCachedValue)
	for i := 0; i < 2*maxCacheBytes/maxCachedValue; i++ {
		c.put(f.ns, string(rune('a'+i%26))+string(rune(i)), &kv.Entry{Value: value}, gen())
		if c.bytes > maxCacheBytes {
			t.Fatalf("cache holds %d bytes, bound %d", c.bytes, maxCacheBytes)
		}
	}
}

// GetCached answers only what the cache holds and is still valid; any
// change to the database (this process's or another's) makes it miss.
func TestGetCachedAnswersOnlyFromAValidCache(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("k", "v1", kv.PutOptions{})
	if _, ok := f.s.GetCached(f.ns, "k"); ok {
		t.Fatal("answered a key never read")
	}
	f.get("k")
	f.get("absent")
	if e, ok := f.s.GetCached(f.ns, "k"); !ok || e == nil || string(e.Value) != "v1" {
		t.Fatalf("after a read: %v %v", e, ok)
	}
	if e, ok := f.s.GetCached(f.ns, "absent"); !ok || e != nil {
		t.Fatalf("a key read as missing: %v %v", e, ok)
	}
	f.put("k", "v2", kv.PutOptions{})
	if _, ok := f.s.GetCached(f.ns, "k"); ok {
		t.Fatal("answered from the cache after this process's put")
	}
	f.get("k")
	other := f.otherProcess(t)
	if err := other.Put(f.ctx, f.ns, "k", []byte("v3"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.s.GetCached(f.ns, "k"); ok {
		t.Fatal("answered from the cache after another process's put")
	}
	if _, ok := f.s.GetCached(f.ns, ""); ok {
		t.Fatal("answered an invalid key")
	}
}
