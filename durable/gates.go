package durable

import "sync"

// OutputGate holds what an object sends (responses, RPC results, outgoing
// requests) until the writes made before it are durable. Writes are numbered
// by their commit sequence; a message waits for the sequence that was
// current when it was produced. If a write fails, the gate breaks: every
// message waiting for that write or a later one gets the error, and so does
// every later message (case 152); messages already waiting for earlier
// writes still go once those are durable. Safe for concurrent use.
type OutputGate struct {
	mu      sync.Mutex
	durable uint64
	broken  error
	keep    uint64 // when broken: the last write that may still become durable
	waiters []gateWaiter
}

type gateWaiter struct {
	target uint64
	ch     chan error  // Wait's, or
	fn     func(error) // Then's, called without the lock held
}

func (w gateWaiter) settle(err error, calls *[]func()) {
	if w.fn != nil {
		fn := w.fn
		*calls = append(*calls, func() { fn(err) })
		return
	}
	if err != nil {
		w.ch <- err
		return
	}
	close(w.ch)
}

var closedNil = func() chan error {
	ch := make(chan error)
	close(ch)
	return ch
}()

// Wait returns a channel that yields nil once every write up to target is
// durable, or the gate's error.
func (g *OutputGate) Wait(target uint64) <-chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken != nil {
		ch := make(chan error, 1)
		ch <- g.broken
		return ch
	}
	if target <= g.durable {
		return closedNil
	}
	ch := make(chan error, 1)
	g.waiters = append(g.waiters, gateWaiter{target: target, ch: ch})
	return ch
}

// Then calls fn once every write up to target is durable (nil) or the
// gate breaks (its error): at once, on this goroutine, if that is known
// now; else on the goroutine that calls Advance or Break. fn must not
// block. It saves the goroutine that waiting on Wait's channel needs.
func (g *OutputGate) Then(target uint64, fn func(error)) {
	g.mu.Lock()
	broken, durable := g.broken, target <= g.durable
	if broken == nil && !durable {
		g.waiters = append(g.waiters, gateWaiter{target: target, fn: fn})
	}
	g.mu.Unlock()
	switch {
	case broken != nil:
		fn(broken)
	case durable:
		fn(nil)
	}
}

// Advance records that every write up to seq is durable.
func (g *OutputGate) Advance(seq uint64) {
	var calls []func()
	g.mu.Lock()
	if g.broken != nil {
		seq = min(seq, g.keep)
	}
	if seq <= g.durable {
		g.mu.Unlock()
		return
	}
	g.durable = seq
	kept := g.waiters[:0]
	for _, w := range g.waiters {
		if w.target <= seq {
			w.settle(nil, &calls)
			continue
		}
		kept = append(kept, w)
	}
	clear(g.waiters[len(kept):])
	g.waiters = kept
	g.mu.Unlock()
	for _, c := range calls {
		c()
	}
}

// Break fails the write after the durable point: waiters and every later
// Wait get err.
func (g *OutputGate) Break(err error) {
	g.mu.Lock()
	keep := g.durable
	g.mu.Unlock()
	g.BreakAfter(keep, err)
}

// BreakAfter fails the writes after keep (a commit that could not be made):
// messages waiting for them get err, and so does every message from now
// on, whatever it waits for; messages already waiting for writes up to
// keep are still released by Advance once those are durable. A gate that
// is broken already can only fail more of its waiters.
func (g *OutputGate) BreakAfter(keep uint64, err error) {
	var calls []func()
	g.mu.Lock()
	if g.broken == nil {
		g.broken, g.keep = err, max(keep, g.durable)
	} else {
		g.keep = max(min(g.keep, keep), g.durable)
		err = g.broken
	}
	kept := g.waiters[:0]
	for _, w := range g.waiters {
		if w.target <= g.keep {
			kept = append(kept, w)
			continue
		}
		w.settle(err, &calls)
	}
	clear(g.waiters[len(kept):])
	g.waiters = kept
	g.mu.Unlock()
	for _, c := range calls {
		c()
	}
}

// Err is the error that broke the gate, or nil.
func (g *OutputGate) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.broken
}

// InputGate decides when events reach an object. Events are delivered one
// turn at a time by the object's event loop; while a critical section
// (blockConcurrencyWhile, a storage transaction) is open, new events wait
// in order and are delivered when the last section closes (case 153). It
// belongs to the object's loop and is not safe for concurrent use.
type InputGate[E any] struct {
	// Run delivers an event in the current turn; Submit delivers one that
	// waited, as a turn of its own.
	Run     func(E)
	Submit  func(E)
	locks   int
	waiting []E
}

// Deliver runs event now if the gate is open, else queues it.
func (g *InputGate[E]) Deliver(event E) {
	if g.locks > 0 {
		g.waiting = append(g.waiting, event)
		return
	}
	g.Run(event)
}

// Lock opens a critical section.
func (g *InputGate[E]) Lock() { g.locks++ }

// Unlock closes a critical section; when none is left, the events that
// waited are submitted in arrival order.
func (g *InputGate[E]) Unlock() {
	if g.locks == 0 {
		return
	}
	g.locks--
	if g.locks > 0 {
		return
	}
	waiting := g.waiting
	g.waiting = nil
	for _, e := range waiting {
		g.Submit(e)
	}
}

// Locked reports whether a critical section is open.
func (g *InputGate[E]) Locked() bool { return g.locks > 0 }

// Depth is the number of open critical sections.
func (g *InputGate[E]) Depth() int { return g.locks }

// Drop discards the waiting events and unlocks the gate (object reset);
// it returns what was dropped so the caller can fail those events.
func (g *InputGate[E]) Drop() []E {
	w := g.waiting
	g.waiting = nil
	g.locks = 0
	return w
}
