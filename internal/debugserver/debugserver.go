package debugserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"time"
)

// Stats is the snapshot served at /debug/kiln/stats.
type Stats struct {
	Goroutines int `json:"goroutines"`
	// HeapLiveBytes is the heap the last garbage collection found reachable.
	HeapLiveBytes uint64 `json:"heap_live_bytes"`
	// HeapObjectsBytes is the heap occupied by objects now, garbage included.
	HeapObjectsBytes uint64 `json:"heap_objects_bytes"`
	// TotalBytes is all memory the Go runtime has mapped.
	TotalBytes uint64 `json:"total_bytes"`
	GCCycles   uint64 `json:"gc_cycles"`
}

// Read takes a snapshot of this process. With collect, it runs a garbage
// collection first, so that HeapLiveBytes is exact.
func Read(collect bool) Stats {
	if collect {
		runtime.GC()
	}
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	u := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	return Stats{
		Goroutines:       runtime.NumGoroutine(),
		HeapLiveBytes:    u(0),
		HeapObjectsBytes: u(1),
		TotalBytes:       u(2),
		GCCycles:         u(3),
	}
}

// Handler serves /debug/pprof/ and /debug/kiln/stats (?gc=1 collects
// garbage first).
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/kiln/stats", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(Read(r.URL.Query().Get("gc") == "1"))
	})
	return mux
}

// Start listens on addr and serves Handler until ctx is done. It returns the
// address it listens on (useful with port 0).
func Start(ctx context.Context, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return ln.Addr(), nil
}
