package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/webapi"
)

// object is one Durable Object: at most one live activation at a time.
type object struct {
	class *doClass
	id    durable.ID

	mu       sync.Mutex
	name     string      // the name given to idFromName, when known and short
	gen      uint64      // bumped when the object is reset
	resetErr error       // why the previous generation ended
	live     *objectLive // the activation in memory, nil when there is none
	hib      hibernation // hibernatable WebSockets: they outlive activations
}

// objectLive is an activation of an object on one runtime of the Worker
// serving its class.
type objectLive struct {
	o   *object
	w   *Worker
	rt  *js.Runtime
	gen uint64

	queued int // events submitted to the loop but not yet delivered; o.mu

	// Loop only.
	inst     *instance
	jsObj    *goja.Object
	state    *goja.Object
	input    durable.InputGate[*doEvent]
	output   durable.OutputGate
	store    *objectStore
	active   int
	closed   bool
	idle     *time.Timer
	idleGen  int
	holdsBCW int
	// forgetDeath unregisters the activation from its runtime's OnDeath,
	// which would otherwise keep it in memory for the runtime's lifetime.
	forgetDeath func()
	// inTransaction counts storage.transaction() closures running: their
	// writes commit when the outermost one ends.
	inTransaction int
	// wrappers are this activation's script objects for hibernatable sockets.
	wrappers map[*webapi.WebSocketEnd]goja.Value
}

// doEvent is a request, RPC call or alarm for an object.
type doEvent struct {
	inv     *js.Invocation
	stubGen uint64
	// run performs the event on the loop; it calls done when the event's
	// work is over (its reply released or failed).
	run      func(l *objectLive, done func())
	failOnce sync.Once
	onFail   func(error)
}

func (ev *doEvent) fail(err error) {
	ev.failOnce.Do(func() {
		if ev.onFail != nil {
			ev.onFail(err)
		}
	})
}

// errReset is the failure of events that were waiting when an object was
// reset.
var errReset = errors.New("Durable Object reset")

// send delivers ev to the object, activating it if needed. stubGen is the
// generation a stub is bound to (0: unbound); it returns the generation the
// event was sent to, so that the stub binds to it.
func (o *object) send(ev *doEvent) (uint64, error) {
	w, _, err := o.class.server()
	if err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		o.mu.Lock()
		if ev.stubGen != 0 && ev.stubGen != o.gen {
			err := o.resetErr
			o.mu.Unlock()
			return 0, err
		}
		l := o.live
		if l != nil && (l.w != w || l.rt.Dead()) {
			o.mu.Unlock()
			reason := errCodeUpdated
			if l.rt.Dead() {
				reason = l.rt.Err()
			}
			o.reset(reason, l.w == w)
			if attempt > 2 {
				return 0, reason
			}
			continue
		}
		if l == nil {
			rt, err := w.pool.At(context.Background(), shard(o.id))
			if err != nil {
				o.mu.Unlock()
				return 0, err
			}
			l = &objectLive{o: o, w: w, rt: rt, gen: o.gen}
			l.input.Run = l.run
			l.input.Submit = func(ev *doEvent) {
				if !l.rt.Submit(ev.inv, func() { l.runQueued(ev) }) {
					ev.fail(js.ErrRuntimeGone)
				}
			}
			o.live = l
		}
		gen := o.gen
		inv := l.rt.NewInvocation(w.spec.CPULimit, ev.fail)
		if inv == nil {
			o.mu.Unlock()
			continue // the runtime just died; the next round replaces it
		}
		ev.inv = inv
		inv.OutputGate = l.gateNow
		inv.Pin = l.pin
		l.queued++
		o.mu.Unlock()
		if !l.rt.Submit(inv, func() { l.deliver(ev) }) {
			inv.End()
			continue
		}
		return gen, nil
	}
}

// deliver runs on the loop: it activates the object if needed and passes
// the event through the input gate.
func (l *objectLive) deliver(ev *doEvent) {
	l.o.mu.Lock()
	l.queued--
	current := l.o.live == l
	l.o.mu.Unlock()
	if l.closed || !current {
		// Evicted or reset between send and delivery: start over.
		ev.inv.End()
		if _, err := l.o.send(ev); err != nil {
			ev.fail(err)
		}
		return
	}
	if l.jsObj == nil {
		if err := l.construct(); err != nil {
			// A constructor that throws resets the object: what it sent is
			// dropped, and the next event constructs it anew.
			reason := l.objectError(err)
			ev.fail(reason)
			ev.inv.End()
			l.o.reset(reason, false)
			return
		}
	}
	l.input.Deliver(ev)
}

func (l *objectLive) runQueued(ev *doEvent) {
	if l.closed {
		ev.fail(l.o.resetReason())
		ev.inv.End()
		return
	}
	l.run(ev)
}

func (l *objectLive) run(ev *doEvent) {
	l.active++
	l.stopIdle()
	finished := false
	ev.run(l, func() {
		if finished {
			return
		}
		finished = true
		ev.inv.End()
		// done may be called from a goroutine (after the output gate):
		// bookkeeping happens on the loop.
		l.rt.Submit(nil, func() {
			l.active--
			l.maybeIdle()
		})
	})
}

func (o *object) resetReason() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.resetErr != nil {
		return o.resetErr
	}
	return errReset
}

// construct runs the class's constructor: new Class(ctx, env).
func (l *objectLive) construct() error {
	inst, _ := l.rt.Host.(*instance)
	if inst == nil {
		return errors.New("internal error: runtime without a Worker")
	}
	l.inst = inst
	vm := l.rt.VM()
	var ctor goja.Value
	if inst.exports != nil {
		ctor = inst.exports.Get(l.o.class.name)
	}
	construct, ok := goja.AssertConstructor(ctor)
	if !ok {
		return fmt.Errorf("the Worker does not export a Durable Object class named %q", l.o.class.name)
	}
	_, sql, err := l.o.class.server()
	if err != nil {
		return err
	}
	store, err := openObjectStore(l, sql)
	if err != nil {
		return err
	}
	l.store = store
	// If the runtime dies (a CPU limit, shutdown), the object goes with it:
	// its uncommitted writes are rolled back and its file is released.
	l.forgetDeath = l.rt.OnDeath(func() { l.teardown(l.rt.Err()) })
	l.state = inst.doAPI().newState(l)
	obj, err := construct(nil, l.state, inst.env)
	if err != nil {
		l.store.close()
		l.store = nil
		l.forgetDeath()
		return inst.rt.Check(err)
	}
	l.jsObj = obj
	_ = vm
	return nil
}

// reset discards the object's activation: uncommitted writes are rolled
// back, waiting events and held messages fail with err. If breakStubs,
// stubs that reached the old generation keep failing (case 150).
func (o *object) reset(err error, breakStubs bool) {
	o.mu.Lock()
	l := o.live
	o.live = nil
	if breakStubs {
		o.gen++
		o.resetErr = err
	}
	o.mu.Unlock()
	if l == nil {
		return
	}
	if !l.rt.Submit(nil, func() { l.teardown(err) }) {
		// The loop is gone: nothing can touch the object's state any more.
		l.teardown(err)
	}
}

// teardown runs on the loop (or after the loop died).
func (l *objectLive) teardown(err error) {
	if l.closed {
		return
	}
	l.closed = true
	l.stopIdle()
	if l.forgetDeath != nil {
		l.forgetDeath()
	}
	for _, ev := range l.input.Drop() {
		ev.fail(err)
		ev.inv.End()
	}
	// Closing the storage waits for the commits already made to be
	// durable, which releases the messages waiting for them; the rest fail.
	if l.store != nil {
		l.store.rollbackAndClose()
		l.store = nil
	}
	l.output.Break(err)
	l.jsObj = nil
	l.state = nil
}

// maybeIdle starts the eviction clock once nothing runs in the object.
func (l *objectLive) maybeIdle() {
	if l.active > 0 || l.closed || l.input.Locked() || l.holdsBCW > 0 {
		return
	}
	l.stopIdle()
	l.idleGen++
	gen := l.idleGen
	l.idle = time.AfterFunc(l.o.class.reg.IdleTimeout, func() {
		l.rt.Submit(nil, func() { l.evict(gen) })
	})
}

func (l *objectLive) stopIdle() {
	if l.idle != nil {
		l.idle.Stop()
		l.idle = nil
	}
	l.idleGen++
}

// evict drops an idle object from memory; its storage stays and its next
// event runs the constructor again. It never loses a pending write: writes
// commit at the end of every turn, and eviction waits for them to be durable.
func (l *objectLive) evict(gen int) {
	if gen != l.idleGen || l.active > 0 || l.closed {
		return
	}
	o := l.o
	o.mu.Lock()
	if o.live != l || l.queued > 0 {
		o.mu.Unlock()
		return
	}
	o.live = nil
	o.mu.Unlock()
	l.closed = true
	if l.forgetDeath != nil {
		l.forgetDeath()
	}
	if l.store != nil {
		l.store.closeWhenDurable()
		l.store = nil
	}
	l.jsObj = nil
	l.state = nil
	l.wrappers = nil
	if f := o.class.reg.OnEvict; f != nil {
		f(o.class.name, o.id.String())
	}
}

// pin keeps the object in memory until unpin is called. Loop only.
func (l *objectLive) pin() func() {
	l.active++
	l.stopIdle()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.rt.Submit(nil, func() {
				l.active--
				l.maybeIdle()
			})
		})
	}
}

// gateNow is the output gate for a message produced now. Loop only.
func (l *objectLive) gateNow() <-chan error {
	target := uint64(0)
	if l.store != nil {
		target = l.store.writeTarget()
	}
	return l.output.Wait(target)
}

// release sends a reply once the writes made before it are durable (the
// output gate). It runs on the loop, at the moment the reply is produced.
func (l *objectLive) release(send func(), fail func(error), done func()) {
	target := uint64(0)
	if l.store != nil {
		target = l.store.writeTarget()
	}
	// send, fail and done only hand work to event loops, so they may run
	// on the goroutine that advances the gate.
	l.output.Then(target, func(err error) {
		if err != nil {
			fail(err)
		} else {
			send()
		}
		done()
	})
}
