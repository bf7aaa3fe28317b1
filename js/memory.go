package js

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// ErrMemoryLimit is the failure of an invocation whose script was stopped
// because the process's JavaScript heap grew past its limit while it ran.
var ErrMemoryLimit = errors.New("Worker exceeded memory limit.")

// DefaultMemoryPerRuntime is the heap each runtime is allowed, the
// platform's isolate memory limit.
const DefaultMemoryPerRuntime = 128 << 20

// MemoryGuard stops scripts that allocate without bound. goja allocates on
// the Go heap and cannot count a runtime's own bytes, so the guard watches
// the process's live heap (as measured by the last garbage collection):
// when it passes Base plus PerRuntime for every registered runtime, the
// guard collects garbage to get an exact figure and, if the heap is still
// over, interrupts the runtime that has been running its current job the
// longest — a script in an allocation loop never yields — with
// ErrMemoryLimit and discards it, which frees everything it held. Only a job
// that has run for several sampling intervals can be chosen, so a short
// request is never blamed for a heap that others filled.
//
// One guard serves every runtime of a process; it is created by whoever
// creates the Workers and handed to each runtime through Options.
type MemoryGuard struct {
	base, perRuntime uint64
	interval         time.Duration

	mu       sync.Mutex
	runtimes map[*Runtime]struct{}

	stopped chan struct{}
	trips   atomic.Int64

	lastCollect time.Time // watch goroutine only
}

// MemoryGuardOptions configure a MemoryGuard.
type MemoryGuardOptions struct {
	// PerRuntime is the heap allowed per live runtime (default 128 MiB).
	PerRuntime uint64
	// Base is heap allowed beyond the runtimes' share, for kiln itself
	// (default 256 MiB).
	Base uint64
	// Interval is how often the heap is sampled (default 20 ms).
	Interval time.Duration
}

// NewMemoryGuard starts a guard that samples until ctx is done.
func NewMemoryGuard(ctx context.Context, opts MemoryGuardOptions) *MemoryGuard {
	if opts.PerRuntime == 0 {
		opts.PerRuntime = DefaultMemoryPerRuntime
	}
	if opts.Base == 0 {
		opts.Base = 256 << 20
	}
	if opts.Interval <= 0 {
		opts.Interval = 20 * time.Millisecond
	}
	g := &MemoryGuard{
		base:       opts.Base,
		perRuntime: opts.PerRuntime,
		interval:   opts.Interval,
		runtimes:   map[*Runtime]struct{}{},
		stopped:    make(chan struct{}),
	}
	go g.watch(ctx)
	return g
}

// Trips counts the scripts the guard has stopped.
func (g *MemoryGuard) Trips() int64 { return g.trips.Load() }

// Done is closed when the guard has stopped watching.
func (g *MemoryGuard) Done() <-chan struct{} { return g.stopped }

func (g *MemoryGuard) add(rt *Runtime) {
	g.mu.Lock()
	g.runtimes[rt] = struct{}{}
	g.mu.Unlock()
}

func (g *MemoryGuard) remove(rt *Runtime) {
	g.mu.Lock()
	delete(g.runtimes, rt)
	g.mu.Unlock()
}

// limit is the heap allowed with n live runtimes.
func (g *MemoryGuard) limit(n int) uint64 { return g.base + uint64(n)*g.perRuntime }

func (g *MemoryGuard) watch(ctx context.Context) {
	defer close(g.stopped)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(g.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		live, ok := readLive(sample)
		if !ok || live <= g.currentLimit() {
			continue
		}
		// The figure is from the last collection and may count garbage of
		// a runtime discarded since; collect (at most four times a second)
		// and look again.
		now := time.Now()
		if now.Sub(g.lastCollect) < 250*time.Millisecond {
			continue
		}
		runtime.GC()
		g.lastCollect = time.Now()
		if live, ok = readLive(sample); ok {
			g.check(live, now.Add(-2*g.interval).UnixNano())
		}
	}
}

func readLive(sample []metrics.Sample) (uint64, bool) {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return sample[0].Value.Uint64(), true
}

func (g *MemoryGuard) currentLimit() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit(len(g.runtimes))
}

// check interrupts the longest-running job that started before startedBy
// if live exceeds the limit.
func (g *MemoryGuard) check(live uint64, startedBy int64) {
	g.mu.Lock()
	limit := g.limit(len(g.runtimes))
	if live <= limit {
		g.mu.Unlock()
		return
	}
	var victim *Runtime
	var oldest int64
	for rt := range g.runtimes {
		started := rt.jobStarted.Load()
		if started == 0 || started > startedBy || rt.Dead() {
			continue
		}
		if victim == nil || started < oldest {
			victim, oldest = rt, started
		}
	}
	g.mu.Unlock()
	if victim == nil {
		// The heap is over the limit with no script running: what holds it
		// is reachable from idle runtimes or from kiln itself, and stopping
		// nothing is better than stopping a bystander.
		return
	}
	if victim.interruptJob(oldest, ErrMemoryLimit) {
		g.trips.Add(1)
		victim.opts.Logger.Error("a script exceeded the memory limit; its runtime is discarded",
			"heap_bytes", live, "limit_bytes", limit)
	}
}
