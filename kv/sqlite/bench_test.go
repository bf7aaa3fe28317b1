package sqlite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kiln-dev/kiln/kv"
)

// The benchmarks run on a real file in the test's temporary directory, with
// the store's durable settings (WAL, synchronous=FULL): a put includes its
// share of an fsync. Put benchmarks first write enough to go through a few
// WAL checkpoints: the steady state of a running server, where the WAL file
// is reused; while a fresh WAL file grows, every sync also commits file
// system metadata and costs several times more.

func BenchmarkGet(b *testing.B)         { benchGet(b, Options{noReadCache: true}, 100) }
func BenchmarkGetCached(b *testing.B)   { benchGet(b, Options{}, 100) }
func BenchmarkPut(b *testing.B)         { benchPut(b, Options{}, 100) }
func BenchmarkPutParallel(b *testing.B) { benchPutParallel(b, Options{}, 100) }
func BenchmarkList100(b *testing.B)     { benchList(b, Options{}) }

func benchGet(b *testing.B, opts Options, size int) {
	f := newFixture(b, opts)
	val := bytes.Repeat([]byte{'v'}, size)
	for i := range 1000 {
		if err := f.s.Put(f.ctx, f.ns, fmt.Sprintf("key%04d", i), val, kv.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e, err := f.s.Get(f.ctx, f.ns, fmt.Sprintf("key%04d", i%1000))
		if err != nil || e == nil || len(e.Value) != size {
			b.Fatalf("get: %v", err)
		}
	}
}

// value returns a value of size that differs with n: SQLite does not write
// a page when a row is overwritten with identical content, so a benchmark
// rewriting the same value would measure commits that write nothing.
func value(size int, n int64) []byte {
	v := bytes.Repeat([]byte{'v'}, max(size, 8))
	binary.LittleEndian.PutUint64(v, uint64(n))
	return v[:size]
}

// warmUp puts values of size until the WAL has been checkpointed a few
// times (it is checkpointed at 1000 pages).
func warmUp(b *testing.B, f *fixture, size int) {
	for i := range max(3000/(1+size/4096), 10) {
		if err := f.s.Put(f.ctx, f.ns, fmt.Sprintf("warm%04d", i%1000), value(size, int64(i)), kv.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPut(b *testing.B, opts Options, size int) {
	f := newFixture(b, opts)
	warmUp(b, f, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := f.s.Put(f.ctx, f.ns, fmt.Sprintf("key%04d", i%1000), value(size, int64(i)), kv.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPutParallel puts from 16 goroutines per CPU, so that group commit has
// writers to batch.
func benchPutParallel(b *testing.B, opts Options, size int) {
	f := newFixture(b, opts)
	warmUp(b, f, size)
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := f.s.Put(f.ctx, f.ns, fmt.Sprintf("key%04d", i%1000), value(size, i), kv.PutOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchList(b *testing.B, opts Options) {
	f := newFixture(b, opts)
	items := make([]kv.BulkItem, 10000)
	for i := range items {
		items[i] = kv.BulkItem{Key: fmt.Sprintf("p%d/key%04d", i%10, i), Value: []byte("value"), PutOptions: kv.PutOptions{Metadata: []byte(`{"n":1}`)}}
	}
	if err := f.s.PutMany(f.ctx, f.ns, items); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r, err := f.s.List(f.ctx, f.ns, kv.ListOptions{Prefix: fmt.Sprintf("p%d/", i%10), Limit: 100})
		if err != nil || len(r.Keys) != 100 {
			b.Fatalf("list: %d keys, %v", len(r.Keys), err)
		}
	}
}
