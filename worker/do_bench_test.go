package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/durable/storage"
)

// counterBench is a Worker whose fetch increments the counter object named
// by the path, with a storage put per request (the benchmark scenario).
const counterBench = `
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Counter extends DurableObject {
	async fetch(request) {
		const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
		await this.ctx.storage.put("n", n);
		return new Response(String(n));
	}
	ping() { return 1; }
}
return { Counter, default: { fetch(request, env) {
	const name = new URL(request.url).pathname.slice(1);
	return env.COUNTER.getByName(name).fetch(request);
} } };`

func benchCounterWorker(b *testing.B, sync storage.SyncMode) *Worker {
	b.Helper()
	reg := NewRegistry(b.TempDir(), time.Hour)
	reg.Sync = sync
	w, err := New(context.Background(), Spec{
		Name: "bench", Script: module(counterBench), Registry: reg,
		Classes: []DOClass{{Name: "Counter", SQL: true}}, DurableObjects: []DOBinding{{Name: "COUNTER", ClassName: "Counter"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	return w
}

// runLatencies drives path(i) through the Worker from parallel goroutines
// and reports p50/p99 latency alongside ns/op.
func runLatencies(b *testing.B, w *Worker, path func() string) {
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			start := time.Now()
			resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", "http://bench/"+path(), nil))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			local = append(local, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkDOHotCounter: every request increments one object, with a
// durable write each (fsync'd before the reply is released).
func BenchmarkDOHotCounter(b *testing.B) {
	for _, mode := range []struct {
		name string
		sync storage.SyncMode
	}{{"fsync", storage.SyncFull}, {"nosync", storage.SyncNone}} {
		b.Run(mode.name, func(b *testing.B) {
			w := benchCounterWorker(b, mode.sync)
			b.SetParallelism(16)
			runLatencies(b, w, func() string { return "hot" })
		})
	}
}

// BenchmarkDO1000Counters spreads increments over 1,000 objects.
func BenchmarkDO1000Counters(b *testing.B) {
	w := benchCounterWorker(b, storage.SyncFull)
	b.SetParallelism(16)
	runLatencies(b, w, func() string { return fmt.Sprintf("c%d", rand.IntN(1000)) })
}

// BenchmarkDOActivation: each iteration reaches a new object (constructor,
// storage open, first request).
func BenchmarkDOActivation(b *testing.B) {
	w := benchCounterWorker(b, storage.SyncNone)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", fmt.Sprintf("http://bench/new%d", i), nil))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// TestMeasureIdleObjectHeap is a measurement, not an assertion: with
// KILN_MEASURE=1 it activates 10,000 objects (one RPC each, no storage
// use) and logs the heap they hold, per object.
func TestMeasureIdleObjectHeap(t *testing.T) {
	if os.Getenv("KILN_MEASURE") == "" {
		t.Skip("set KILN_MEASURE=1 to measure")
	}
	reg := NewRegistry(t.TempDir(), time.Hour)
	w, err := New(context.Background(), Spec{
		Name: "mem", Script: module(strings.Replace(counterBench, "const name = ", "if (request.url.includes(\"/ping/\")) return env.COUNTER.getByName(request.url).ping().then(String).then(s => new Response(s));\n\tconst name = ", 1)),
		Registry: reg, Runtimes: 2,
		Classes: []DOClass{{Name: "Counter", SQL: true}}, DurableObjects: []DOBinding{{Name: "COUNTER", ClassName: "Counter"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	heap := func() uint64 {
		var m runtime.MemStats
		for i := 0; i < 3; i++ {
			runtime.GC()
		}
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	ping := func(i int) {
		resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", fmt.Sprintf("http://bench/ping/%d", i), nil))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	ping(-1) // warm the runtimes
	before := heap()
	const n = 10000
	start := time.Now()
	for i := 0; i < n; i++ {
		ping(i)
	}
	elapsed := time.Since(start)
	after := heap()
	t.Logf("%d idle objects: %.0f bytes of heap each; %v per activation (sequential)", n, float64(after-before)/n, elapsed/n)
}
