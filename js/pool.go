package js

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Factory creates a ready runtime: engine set up, Web APIs installed, the
// Worker's code evaluated. NewPool calls it from several goroutines at once.
type Factory func(ctx context.Context) (*Runtime, error)

// Pool is a fixed number of runtimes of one Worker. Stateless requests go to
// the least loaded one; Durable Objects are pinned to a slot (a shard). A dead
// runtime is replaced when it is next asked for.
type Pool struct {
	factory Factory

	mu     sync.Mutex
	slots  []*Runtime
	closed bool
}

// ErrPoolClosed is returned by a closed pool.
var ErrPoolClosed = errors.New("worker is shut down")

// NewPool creates a pool of size runtimes, all made at once so that a broken
// Worker fails here rather than on its first request.
func NewPool(ctx context.Context, size int, factory Factory) (*Pool, error) {
	if size < 1 {
		size = 1
	}
	p := &Pool{factory: factory, slots: make([]*Runtime, size)}
	// Each runtime sets itself up on its own goroutine, so they are made
	// side by side: a Worker with several runtimes starts as fast as with one.
	errs := make([]error, size)
	var wg sync.WaitGroup
	for i := range p.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.slots[i], errs[i] = factory(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Size is the number of slots.
func (p *Pool) Size() int { return len(p.slots) }

// Pick returns the least loaded live runtime, replacing dead ones.
func (p *Pool) Pick(ctx context.Context) (*Runtime, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	best := -1
	for i, rt := range p.slots {
		if rt == nil || rt.Dead() {
			fresh, err := p.factory(ctx)
			if err != nil {
				return nil, fmt.Errorf("recreating runtime: %w", err)
			}
			p.slots[i] = fresh
			rt = fresh
		}
		if best < 0 || rt.Load() < p.slots[best].Load() {
			best = i
		}
	}
	return p.slots[best], nil
}

// At returns the runtime of slot i (modulo the size), replacing it if dead.
func (p *Pool) At(ctx context.Context, i int) (*Runtime, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	i %= len(p.slots)
	if rt := p.slots[i]; rt != nil && !rt.Dead() {
		return rt, nil
	}
	fresh, err := p.factory(ctx)
	if err != nil {
		return nil, fmt.Errorf("recreating runtime: %w", err)
	}
	p.slots[i] = fresh
	return fresh, nil
}

// Close discards every runtime.
func (p *Pool) Close() {
	p.mu.Lock()
	slots := p.slots
	p.closed = true
	p.mu.Unlock()
	for _, rt := range slots {
		if rt != nil {
			rt.Close()
		}
	}
}
