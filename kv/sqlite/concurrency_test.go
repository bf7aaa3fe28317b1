package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-dev/kiln/kv"
)

// Every acknowledged write of many goroutines is readable afterwards.
func TestConcurrentWriters(t *testing.T) {
	f := newFixture(t, Options{})
	const writers, each = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				k := fmt.Sprintf("w%02d-%03d", g, i)
				var err error
				if i%10 == 9 { // some bulk writes among the single ones
					err = f.s.PutMany(f.ctx, f.ns, []kv.BulkItem{{Key: k, Value: []byte(k)}, {Key: k + "-b", Value: []byte(k)}})
				} else {
					err = f.s.Put(f.ctx, f.ns, k, []byte(k), kv.PutOptions{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Readers at the same time.
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if _, err := f.s.List(f.ctx, f.ns, kv.ListOptions{Prefix: "w0"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for g := range writers {
		for i := range each {
			k := fmt.Sprintf("w%02d-%03d", g, i)
			if v, ok := f.get(k); !ok || v != k {
				t.Fatalf("%s = %q, %v", k, v, ok)
			}
		}
	}
	n := 0
	for c := ""; ; {
		r := f.list(kv.ListOptions{Cursor: c})
		n += len(r.Keys)
		if r.ListComplete {
			break
		}
		c = r.Cursor
	}
	if want := writers * (each + each/10); n != want {
		t.Fatalf("%d keys listed, want %d", n, want)
	}
}

// Paging with a cursor returns every key exactly once, in order.
func TestCursorPaging(t *testing.T) {
	f := newFixture(t, Options{})
	items := make([]kv.BulkItem, 5000)
	for i := range items {
		// Keys of varied lengths and bytes, so that byte order differs from
		// insertion order and from numeric order.
		k := fmt.Sprintf("%x/%d", i*7919%5000, i)
		if i%3 == 0 {
			k = "é" + k
		}
		items[i] = kv.BulkItem{Key: k, Value: []byte("v")}
	}
	if err := f.s.PutMany(f.ctx, f.ns, items); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 7, 1000} {
		seen := map[string]bool{}
		prev := ""
		pages := 0
		for c := ""; ; pages++ {
			r := f.list(kv.ListOptions{Limit: limit, Cursor: c})
			if len(r.Keys) > limit {
				t.Fatalf("page of %d keys for limit %d", len(r.Keys), limit)
			}
			for _, k := range r.Keys {
				if seen[k.Name] || k.Name <= prev {
					t.Fatalf("limit %d: %q repeated or out of order after %q", limit, k.Name, prev)
				}
				seen[k.Name] = true
				prev = k.Name
			}
			if r.ListComplete {
				break
			}
			c = r.Cursor
		}
		if len(seen) != len(items) {
			t.Fatalf("limit %d: %d keys seen, want %d", limit, len(seen), len(items))
		}
	}
}

// A bulk put is atomic: one invalid item and nothing is written.
func TestPutManyAtomic(t *testing.T) {
	f := newFixture(t, Options{})
	items := make([]kv.BulkItem, kv.MaxBulkWriteItems)
	for i := range items {
		items[i] = kv.BulkItem{Key: fmt.Sprintf("bulk-%05d", i), Value: []byte(fmt.Sprint(i))}
	}
	bad := items[7777]
	items[7777].Key = strings.Repeat("k", 513)
	err := f.s.PutMany(f.ctx, f.ns, items)
	var be *kv.BulkItemError
	if !errors.As(err, &be) || be.Index != 7777 || be.Key != items[7777].Key {
		t.Fatalf("error = %v, want item 7777 named", err)
	}
	if !strings.Contains(err.Error(), "bulk item 7777") || !strings.Contains(err.Error(), "KV PUT failed: 414") {
		t.Fatalf("error text %q", err)
	}
	if r := f.list(kv.ListOptions{Limit: 1}); len(r.Keys) != 0 {
		t.Fatalf("a rejected bulk wrote %v", names(r))
	}
	items[7777] = bad
	items[42].PutOptions = kv.PutOptions{ExpirationTTL: 30}
	if err := f.s.PutMany(f.ctx, f.ns, items); !errors.As(err, &be) || be.Index != 42 {
		t.Fatalf("bad ttl: %v", err)
	}
	items[42].PutOptions = kv.PutOptions{ExpirationTTL: 300}
	if err := f.s.PutMany(f.ctx, f.ns, items); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.s.rdb.QueryRow(`SELECT count(*) FROM entries`).Scan(&n); err != nil || n != len(items) {
		t.Fatalf("%d rows, %v; want %d", n, err, len(items))
	}
	if e, _ := f.s.Get(f.ctx, f.ns, "bulk-00042"); e == nil || e.Expiration != 1300 || string(e.Value) != "42" {
		t.Fatalf("item 42 = %+v", e)
	}
}

// Two stores (as two processes would) on one file see each other's writes
// and write at the same time.
func TestTwoStoresOneFile(t *testing.T) {
	f := newFixture(t, Options{})
	other := mustOpen(t, f.path, Options{Now: f.clk.Now, PurgeInterval: -1})
	if ns, err := other.GetNamespace(f.ctx, f.ns); err != nil || ns.Title != "test" {
		t.Fatalf("namespace from the other store: %+v, %v", ns, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, s := range []*Store{f.s, other, f.s, other, f.s, other, f.s, other} {
		wg.Go(func() {
			for j := range 40 {
				k := fmt.Sprintf("s%d-%02d", i, j)
				if err := s.Put(f.ctx, f.ns, k, []byte(k), kv.PutOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range []*Store{f.s, other} {
		r, err := s.List(f.ctx, f.ns, kv.ListOptions{})
		if err != nil || len(r.Keys) != 8*40 {
			t.Fatalf("%d keys, %v", len(r.Keys), err)
		}
	}
	if err := other.Delete(f.ctx, f.ns, "s0-00"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.get("s0-00"); ok {
		t.Fatal("delete by the other store not seen")
	}
}

func TestReopenKeepsData(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "value", kv.PutOptions{ExpirationTTL: 100})
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Put(f.ctx, f.ns, "late", []byte("v"), kv.PutOptions{}); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
	f.s = mustOpen(t, f.path, Options{Now: f.clk.Now, PurgeInterval: -1})
	if e, err := f.s.Get(f.ctx, f.ns, "key"); err != nil || e == nil || string(e.Value) != "value" || e.Expiration != 1100 {
		t.Fatalf("after reopen: %+v, %v", e, err)
	}
}

func TestSchemaVersionChecked(t *testing.T) {
	f := newFixture(t, Options{})
	if _, err := f.s.wconn.ExecContext(f.ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f.ctx, f.path, Options{}); err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

func TestPurge(t *testing.T) {
	f := newFixture(t, Options{})
	items := make([]kv.BulkItem, 2500) // more than one purge chunk
	for i := range items {
		items[i] = kv.BulkItem{Key: fmt.Sprintf("e%04d", i), PutOptions: kv.PutOptions{ExpirationTTL: 60}}
	}
	if err := f.s.PutMany(f.ctx, f.ns, items); err != nil {
		t.Fatal(err)
	}
	f.put("later", "v", kv.PutOptions{ExpirationTTL: 61})
	f.put("never", "v", kv.PutOptions{})
	count := func() int {
		var n int
		if err := f.s.rdb.QueryRow(`SELECT count(*) FROM entries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n, err := f.s.Purge(f.ctx); err != nil || n != 0 {
		t.Fatalf("purge before expiry: %d, %v", n, err)
	}
	f.clk.Advance(60e9)
	if n, err := f.s.Purge(f.ctx); err != nil || n != 2500 {
		t.Fatalf("purge = %d, %v; want 2500", n, err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows left, want 2", n)
	}
	f.clk.Advance(1e9)
	if n, err := f.s.Purge(f.ctx); err != nil || n != 1 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
	if v, ok := f.get("never"); !ok || v != "v" {
		t.Fatal("key without expiration purged")
	}
}

// blockWriter occupies the writer with an operation that waits for the
// returned release function, and returns once the writer runs it.
func blockWriter(t *testing.T, s *Store) (release func(), done <-chan error) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.w.submit(context.Background(), 0, func(*wtx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() { close(unblock) }, errc
}

// waitQueued yields until n operations wait in the writer's queue.
func waitQueued(s *Store, n int) {
	for len(s.w.queue) < n {
		runtime.Gosched()
	}
}

// Operations that fail inside a batch do not take the others down.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	f := newFixture(t, Options{})
	release, blocked := blockWriter(t, f.s)

	// Queue, behind the blocked operation, one batch mixing good writes, a
	// write to a missing namespace (found before writing) and an operation
	// whose SQL fails after writing (it poisons the transaction).
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 16)
	queued := 0
	submit := func(name string, fn func() error) {
		queued++
		go func() { results <- result{name, fn()} }()
		waitQueued(f.s, queued)
	}
	for i := range 5 {
		k := fmt.Sprintf("good%d", i)
		submit(k, func() error { return f.s.Put(f.ctx, f.ns, k, []byte(k), kv.PutOptions{}) })
		if i == 1 {
			submit("missing-ns", func() error { return f.s.Put(f.ctx, "missing", "k", []byte("v"), kv.PutOptions{}) })
		}
		if i == 3 {
			submit("poison", func() error {
				return f.s.w.submit(f.ctx, 0, func(tx *wtx) error {
					if _, err := tx.w.put.ExecContext(tx.ctx, 1, []byte("poison"), nil, nil, []byte("x")); err != nil {
						return err
					}
					_, err := tx.exec(`INSERT INTO no_such_table VALUES (1)`)
					return err
				})
			})
		}
	}
	release()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for range queued {
		r := <-results
		switch {
		case r.name == "missing-ns":
			if !errors.Is(r.err, kv.ErrNamespaceNotFound) {
				t.Errorf("missing-ns: %v", r.err)
			}
		case r.name == "poison":
			if r.err == nil || !strings.Contains(r.err.Error(), "no_such_table") {
				t.Errorf("poison: %v", r.err)
			}
		case r.err != nil:
			t.Errorf("%s: %v", r.name, r.err)
		}
	}
	for i := range 5 {
		if _, ok := f.get(fmt.Sprintf("good%d", i)); !ok {
			t.Fatalf("good%d lost", i)
		}
	}
	if _, ok := f.get("poison"); ok {
		t.Fatal("the failed operation's first write was committed")
	}
}

// A caller whose context ends before the writer takes its operation gets
// the context's error, and the operation is not applied.
func TestCancelledBeforeTaken(t *testing.T) {
	f := newFixture(t, Options{})
	release, blocked := blockWriter(t, f.s)
	ctx, cancel := context.WithCancel(f.ctx)
	errc := make(chan error, 1)
	go func() { errc <- f.s.Put(ctx, f.ns, "cancelled", []byte("v"), kv.PutOptions{}) }()
	waitQueued(f.s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("put = %v, want context.Canceled", err)
	}
	release()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	f.put("after", "v", kv.PutOptions{}) // the writer went past the dropped operation
	if _, ok := f.get("cancelled"); ok {
		t.Fatal("cancelled put was applied")
	}
}

// A batch is one transaction: ten writes queued behind a busy writer
// commit in ceil(10/MaxBatch) transactions.
func TestBatchSizes(t *testing.T) {
	for maxBatch, wantCommits := range map[int]int64{1: 10, 3: 4, 1024: 1} {
		f := newFixture(t, Options{MaxBatch: maxBatch})
		release, blocked := blockWriter(t, f.s)
		before := f.s.w.commits.Load()
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if err := f.s.Put(f.ctx, f.ns, fmt.Sprint(i), []byte("v"), kv.PutOptions{}); err != nil {
					t.Error(err)
				}
			})
		}
		waitQueued(f.s, 10)
		release()
		wg.Wait()
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}
		if got := f.s.w.commits.Load() - before - 1; got != wantCommits {
			t.Errorf("max batch %d: %d commits, want %d", maxBatch, got, wantCommits)
		}
		if r := f.list(kv.ListOptions{}); len(r.Keys) != 10 {
			t.Fatalf("max batch %d: %d keys", maxBatch, len(r.Keys))
		}
	}
}

// The settings durability rests on are in force on the write connection,
// and the readers cannot write.
func TestDurableSettings(t *testing.T) {
	f := newFixture(t, Options{})
	for q, want := range map[string]string{
		"PRAGMA journal_mode": "wal",
		"PRAGMA synchronous":  "2", // FULL
		"PRAGMA foreign_keys": "1",
		"PRAGMA user_version": "1",
	} {
		var got string
		if err := f.s.wconn.QueryRowContext(f.ctx, q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", q, got, err, want)
		}
	}
	if _, err := f.s.rdb.ExecContext(f.ctx, `DELETE FROM entries`); err == nil {
		t.Error("a read connection could write")
	}
}

// A batch resolves a namespace once for its puts; a namespace deleted and
// made again with the same id inside the same batch is resolved anew, so
// each put lands in the namespace as it is when the put runs.
func TestBatchSeesNamespaceChanges(t *testing.T) {
	f := newFixture(t, Options{})
	release, blocked := blockWriter(t, f.s)
	errs := make([]chan error, 5)
	steps := []func() error{
		func() error { return f.s.Put(f.ctx, f.ns, "before", []byte("1"), kv.PutOptions{}) },
		func() error { return f.s.DeleteNamespace(f.ctx, f.ns) },
		func() error { return f.s.Put(f.ctx, f.ns, "while-gone", []byte("2"), kv.PutOptions{}) },
		func() error {
			return f.s.w.submit(f.ctx, 0, func(tx *wtx) error { return tx.insertNamespace(kv.Namespace{ID: f.ns, Title: "again"}, 0) })
		},
		func() error { return f.s.Put(f.ctx, f.ns, "after", []byte("3"), kv.PutOptions{}) },
	}
	for i, step := range steps {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- step() }()
		waitQueued(f.s, i+1)
	}
	release()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for i := range steps {
		err := <-errs[i]
		if i == 2 {
			if !errors.Is(err, kv.ErrNamespaceNotFound) {
				t.Errorf("put into the deleted namespace: %v, want ErrNamespaceNotFound", err)
			}
		} else if err != nil {
			t.Errorf("step %d: %v", i, err)
		}
	}
	if got := f.s.w.commits.Load(); got < 2 {
		t.Fatalf("only %d commits", got)
	}
	r := f.list(kv.ListOptions{})
	if len(r.Keys) != 1 || r.Keys[0].Name != "after" {
		t.Fatalf("the namespace holds %v, want only \"after\"", r.Keys)
	}
}
