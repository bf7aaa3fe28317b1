package gcpacer

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// DefaultFloor is the heap size the pacer lets a small live heap grow to
// between collections.
const DefaultFloor = 64 << 20

// maxPercent bounds GOGC, so that a nearly empty heap still collects.
const maxPercent = 1000

// Percent is the GOGC for a live heap of live bytes under floor: the heap
// may grow to about floor before the next cycle, never less than the
// default (100) allows and never more than maxPercent.
func Percent(live, floor uint64) int {
	if live == 0 {
		return maxPercent
	}
	if live >= floor/2 {
		return 100
	}
	p := int((floor - live) * 100 / live)
	return min(max(p, 100), maxPercent)
}

// Start adjusts GOGC after every collection until ctx is done, unless GOGC
// is set in the environment. observe, if not nil, is called with the
// setting after each adjustment, changed or not (for tests).
func Start(ctx context.Context, floor uint64, observe func(percent int)) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	p := &pacer{ctx: ctx, floor: floor, current: 100, observe: observe,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.arm()
	p.adjust()
}

type pacer struct {
	ctx     context.Context
	floor   uint64
	current int
	observe func(int)
	sample  []metrics.Sample
}

// sentinel is garbage whose cleanup runs after the collection that finds
// it unreachable; it holds a pointer so that it is a separate allocation.
type sentinel struct{ _ *int }

// arm schedules adjust after the next collection. Cleanups run one at a
// time on the runtime's cleanup goroutine, so p needs no lock.
func (p *pacer) arm() {
	s := &sentinel{}
	runtime.AddCleanup(s, func(p *pacer) {
		if p.ctx.Err() != nil {
			return
		}
		p.arm() // before adjust, so the next collection is watched once it is announced
		p.adjust()
	}, p)
}

func (p *pacer) adjust() {
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if want := Percent(p.sample[0].Value.Uint64(), p.floor); want != p.current {
		debug.SetGCPercent(want)
		p.current = want
	}
	if p.observe != nil {
		p.observe(p.current)
	}
}
