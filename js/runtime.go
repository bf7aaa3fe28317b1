package js

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// DefaultCPULimit is the CPU budget of one invocation when the Worker does
// not set limits.cpu_ms (the platform's default).
const DefaultCPULimit = 30 * time.Second

// DefaultMaxCallStackSize bounds recursion; goja's own default is unbounded.
const DefaultMaxCallStackSize = 10000

// Options configure a Runtime.
type Options struct {
	// MaxCallStackSize is the deepest call stack a script may build.
	MaxCallStackSize int
	// SetupLimit bounds the CPU time of jobs that belong to no invocation,
	// such as evaluating the Worker's top-level code.
	SetupLimit time.Duration
	// Logger receives unhandled rejections and internal failures.
	Logger *slog.Logger
	// OnUnhandledRejection, if set, is called on the loop for every promise
	// rejected without a handler at the end of a job; by default it is logged.
	OnUnhandledRejection func(inv *Invocation, ex *Exception)
	// Memory, if set, is the process's guard against scripts that allocate
	// without bound; the runtime registers with it for its lifetime.
	Memory *MemoryGuard
}

// Runtime is one goja runtime and the goroutine that owns it.
type Runtime struct {
	vm   *goja.Runtime
	opts Options

	// Host is the creator's per-runtime state (the worker layer keeps its
	// handlers and bindings here). It is set before the runtime is shared.
	Host any

	mu       sync.Mutex
	queue    []job
	onDeath  map[uint64]func() // by registration order
	deathSeq uint64
	live     map[*Invocation]struct{}
	dead     bool
	deathErr error
	wake     chan struct{}
	done     chan struct{}

	load  atomic.Int64 // live invocations, for the pool's choice
	holds atomic.Int64 // outstanding asynchronous work

	// Touched only on the loop goroutine.
	current    *Invocation
	rejections []*goja.Promise
	deathNote  error // set by Poison during a job: written on the loop under mu
	turnEnd    []func()
	settling   []settleWatch // promises whose settlement a job end reports

	promiseThen goja.Callable // the built-in Promise.prototype.then

	// jobStarted is when the current job began (UnixNano), 0 between jobs;
	// jobMu orders it with interrupts from the memory guard so that an
	// interrupt meant for one job never reaches the next.
	jobMu      sync.Mutex
	jobStarted atomic.Int64
	memFired   atomic.Bool

	watch watchdog // the CPU budget of the running job
}

// watchFired reports whether the watchdog interrupted the running job.
func (rt *Runtime) watchFired() bool {
	rt.watch.mu.Lock()
	defer rt.watch.mu.Unlock()
	return rt.watch.fired
}

type job struct {
	inv *Invocation
	fn  func()
}

// Invocation is one unit of work a runtime does for kiln: a request, an RPC
// call, an alarm. Its CPU time accumulates over all the jobs it causes.
type Invocation struct {
	rt     *Runtime
	limit  time.Duration
	onFail func(error)

	used time.Duration // loop only
	// Ops counts the platform operations (KV calls, subrequests) the
	// invocation made, for the per-invocation limits. Loop only.
	Ops int
	// OutputGate, set for invocations of a Durable Object, returns a
	// channel that yields when the writes made so far are durable: what an
	// outgoing message must wait for. Loop only.
	OutputGate func() <-chan error
	// Pin, set for invocations of a Durable Object, keeps the object in
	// memory until the returned function is called (a WebSocket accepted
	// with accept() lives in the object's memory). Loop only.
	Pin    func() (unpin func())
	failed atomic.Bool
	ended  atomic.Bool
}

// NewRuntime creates a runtime and starts its loop.
func NewRuntime(opts Options) *Runtime {
	if opts.MaxCallStackSize <= 0 {
		opts.MaxCallStackSize = DefaultMaxCallStackSize
	}
	if opts.SetupLimit <= 0 {
		opts.SetupLimit = DefaultCPULimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	vm := goja.New()
	vm.SetMaxCallStackSize(opts.MaxCallStackSize)
	rt := &Runtime{
		vm:   vm,
		opts: opts,
		live: make(map[*Invocation]struct{}),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	vm.SetPromiseRejectionTracker(rt.trackRejection)
	// The built-in then, kept before any script can replace
	// Promise.prototype.then: kiln's own waits on native promises use it.
	if proto, ok := vm.Get("Promise").ToObject(vm).Get("prototype").(*goja.Object); ok {
		rt.promiseThen, _ = goja.AssertFunction(proto.Get("then"))
	}
	if opts.Memory != nil {
		opts.Memory.add(rt)
	}
	rt.watch.interrupt = func() { vm.Interrupt(ErrCPULimit) }
	go rt.loop()
	return rt
}

// VM returns the goja runtime. Only code running on the loop may use it.
func (rt *Runtime) VM() *goja.Runtime { return rt.vm }

// Load is the number of live invocations on this runtime.
func (rt *Runtime) Load() int64 { return rt.load.Load() }

// Dead reports whether the runtime was discarded, or is poisoned and will
// be when its current job ends. A dead runtime takes no new invocations.
func (rt *Runtime) Dead() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.dead || rt.deathNote != nil
}

// Done is closed when the runtime's loop has stopped.
func (rt *Runtime) Done() <-chan struct{} { return rt.done }

// NewInvocation starts an invocation with the given CPU limit. onFail is
// called at most once, on the loop or from Close, if the runtime dies while
// the invocation is live. It returns nil if the runtime is already dead.
func (rt *Runtime) NewInvocation(limit time.Duration, onFail func(error)) *Invocation {
	if limit <= 0 {
		limit = DefaultCPULimit
	}
	inv := &Invocation{rt: rt, limit: limit, onFail: onFail}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.dead || rt.deathNote != nil {
		return nil
	}
	rt.live[inv] = struct{}{}
	rt.load.Add(1)
	return inv
}

// End marks the invocation finished. It may be called from any goroutine
// and more than once.
func (inv *Invocation) End() {
	if inv == nil || !inv.ended.CompareAndSwap(false, true) {
		return
	}
	rt := inv.rt
	rt.mu.Lock()
	if _, ok := rt.live[inv]; ok {
		delete(rt.live, inv)
		rt.load.Add(-1)
	}
	rt.mu.Unlock()
}

// CPU returns the CPU time used so far. Loop only.
func (inv *Invocation) CPU() time.Duration { return inv.used }

// Runtime returns the runtime the invocation runs on.
func (inv *Invocation) Runtime() *Runtime { return inv.rt }

// Submit schedules fn on the loop as part of inv (nil for runtime-level work).
// It reports false if the runtime is dead.
func (rt *Runtime) Submit(inv *Invocation, fn func()) bool {
	rt.mu.Lock()
	if rt.dead {
		rt.mu.Unlock()
		return false
	}
	rt.queue = append(rt.queue, job{inv: inv, fn: fn})
	rt.mu.Unlock()
	select {
	case rt.wake <- struct{}{}:
	default:
	}
	return true
}

// Do runs fn on the loop (outside any invocation) and waits for it.
func (rt *Runtime) Do(ctx context.Context, fn func(vm *goja.Runtime) error) error {
	errc := make(chan error, 1)
	if !rt.Submit(nil, func() { errc <- fn(rt.vm) }) {
		return rt.Err()
	}
	select {
	case err := <-errc:
		return err
	case <-rt.done:
		select {
		case err := <-errc:
			return err
		default:
		}
		return rt.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hold marks the start of asynchronous work begun by the job now running
// (a timer, a fetch, a storage read). The returned function must be called
// exactly once, from any goroutine; it runs fn (which may be nil) on the loop
// as part of the same invocation. It reports false if the runtime is gone.
func (rt *Runtime) Hold() func(fn func()) bool {
	inv := rt.current
	rt.holds.Add(1)
	var once atomic.Bool
	return func(fn func()) bool {
		if !once.CompareAndSwap(false, true) {
			return false
		}
		rt.holds.Add(-1)
		if fn == nil {
			return !rt.Dead()
		}
		return rt.Submit(inv, fn)
	}
}

// AtTurnEnd runs fn when the current job (turn) ends, after its microtasks
// have drained: the point where a Durable Object's coalesced writes commit.
// Loop only.
func (rt *Runtime) AtTurnEnd(fn func()) {
	rt.turnEnd = append(rt.turnEnd, fn)
}

// maxSettling bounds the promises OnSettled watches at once: each job's end
// looks at all of them. Past this many, the longest-watched one is handed
// to an ordinary reaction (then), so that a promise that never settles
// does not hold its place, or keep its callback alive, for good.
const maxSettling = 64

type settleWatch struct {
	p  *goja.Promise
	fn func()
}

// OnSettled arranges for fn to run once p is fulfilled or rejected: at the
// end of the job in which it settles, after that job's microtasks, in the
// order the promises were given. It is a cheaper await than attaching a
// reaction with then (which builds a derived promise and four function
// objects): nothing is allocated in the VM. A rejection of p counts as
// handled. It reports false, and does nothing, when p is already settled.
// Loop only.
func (rt *Runtime) OnSettled(p *goja.Promise, fn func()) bool {
	if p.State() != goja.PromiseStatePending {
		return false
	}
	if len(rt.settling) >= maxSettling {
		oldest := rt.settling[0]
		n := copy(rt.settling, rt.settling[1:])
		rt.settling[n] = settleWatch{}
		rt.settling = rt.settling[:n]
		rt.react(oldest)
	}
	rt.settling = append(rt.settling, settleWatch{p: p, fn: fn})
	return true
}

// react runs w's callback from a reaction on its promise instead: in the
// microtask that follows the settlement.
func (rt *Runtime) react(w settleWatch) {
	cb := func(goja.FunctionCall) goja.Value {
		w.fn()
		return goja.Undefined()
	}
	if err := rt.Then(w.p, cb, cb); err != nil {
		// An interrupt (the runtime is dying), or a script whose promise
		// constructor throws from its species: keep watching rather than
		// lose the callback.
		rt.settling = append(rt.settling, w)
	}
}

// Then attaches a reaction to a native promise with the built-in then, so
// that a script that replaced Promise.prototype.then cannot intercept,
// repeat or drop kiln's own waits. Loop only.
func (rt *Runtime) Then(p *goja.Promise, onFulfilled, onRejected func(goja.FunctionCall) goja.Value) error {
	if rt.promiseThen == nil {
		return errors.New("js: the built-in Promise.prototype.then is missing")
	}
	vm := rt.vm
	_, err := rt.promiseThen(vm.ToValue(p), vm.ToValue(onFulfilled), vm.ToValue(onRejected))
	return err
}

// reportSettled runs the callbacks of the watched promises that have
// settled, and reports whether there were any.
func (rt *Runtime) reportSettled() bool {
	var ready []func()
	kept := rt.settling[:0]
	for _, w := range rt.settling {
		switch w.p.State() {
		case goja.PromiseStatePending:
			kept = append(kept, w)
			continue
		case goja.PromiseStateRejected:
			rt.trackRejection(w.p, goja.PromiseRejectionHandle)
		}
		ready = append(ready, w.fn)
	}
	clear(rt.settling[len(kept):])
	rt.settling = kept
	for _, fn := range ready {
		fn()
	}
	return len(ready) > 0
}

// Pending is the number of Holds not yet finished.
func (rt *Runtime) Pending() int64 { return rt.holds.Load() }

// Current returns the invocation whose job is running. Loop only.
func (rt *Runtime) Current() *Invocation { return rt.current }

// Poison declares the runtime unusable after the current job; every live
// invocation fails with err. Job code calls it when goja reports an error that
// leaves the engine in an unknown state (interrupts, stack overflows).
// From then on the runtime takes no new invocations and reports itself Dead,
// so that the pool replaces it at once rather than after the job.
func (rt *Runtime) Poison(err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.deathNote == nil {
		rt.deathNote = err
	}
}

// Check inspects an error returned by goja on the loop: if it is one that
// poisons the runtime, it poisons it. It returns the kiln form of err.
func (rt *Runtime) Check(err error) error {
	if err == nil {
		return nil
	}
	e := AsError(err)
	if errors.Is(e, ErrCPULimit) || errors.Is(e, ErrStackOverflow) || errors.Is(e, ErrMemoryLimit) {
		rt.Poison(e)
	}
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		rt.Poison(e)
	}
	return e
}

// Err is the reason the runtime died (or was poisoned), or nil while it
// lives.
func (rt *Runtime) Err() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.dead {
		return rt.deathNote
	}
	return rt.deathErr
}

// OnDeath registers fn to run on the loop goroutine after the runtime's
// last job, when it dies or is closed: the place to release what objects
// living on it hold. If the runtime is already dead, fn runs at once. The
// returned function unregisters fn; whoever registers for something shorter
// lived than the runtime (an object's activation) must call it, or the
// runtime keeps what fn refers to for as long as it lives.
func (rt *Runtime) OnDeath(fn func()) (forget func()) {
	rt.mu.Lock()
	select {
	case <-rt.done:
		rt.mu.Unlock()
		fn()
		return func() {}
	default:
	}
	if rt.onDeath == nil {
		rt.onDeath = map[uint64]func(){}
	}
	rt.deathSeq++
	id := rt.deathSeq
	rt.onDeath[id] = fn
	rt.mu.Unlock()
	return func() {
		rt.mu.Lock()
		delete(rt.onDeath, id)
		rt.mu.Unlock()
	}
}

// Close discards the runtime; live invocations fail with ErrRuntimeGone.
// Script still running is interrupted; Close returns once the loop has
// stopped and the OnDeath callbacks have run.
func (rt *Runtime) Close() {
	rt.kill(ErrRuntimeGone)
	rt.vm.Interrupt(ErrRuntimeGone)
	<-rt.done
}

func (rt *Runtime) loop() {
	defer func() {
		if rt.opts.Memory != nil {
			rt.opts.Memory.remove(rt)
		}
		rt.mu.Lock()
		fns := rt.onDeath
		rt.onDeath = nil
		rt.mu.Unlock()
		for _, id := range slices.Sorted(maps.Keys(fns)) {
			fns[id]()
		}
		rt.watch.close()
		close(rt.done)
	}()
	for {
		rt.mu.Lock()
		for len(rt.queue) == 0 && !rt.dead {
			rt.mu.Unlock()
			<-rt.wake
			rt.mu.Lock()
		}
		if rt.dead {
			rt.mu.Unlock()
			return
		}
		j := rt.queue[0]
		rt.queue[0] = job{}
		rt.queue = rt.queue[1:]
		if len(rt.queue) == 0 {
			rt.queue = rt.queue[:0:0]
		}
		rt.mu.Unlock()

		if j.inv != nil && j.inv.failed.Load() {
			continue
		}
		if err := rt.run(j); err != nil {
			rt.kill(err)
			return
		}
	}
}

// run executes one job under the CPU watchdog. A non-nil result means the
// runtime must die.
func (rt *Runtime) run(j job) (death error) {
	limit := rt.opts.SetupLimit
	if j.inv != nil {
		limit = j.inv.limit - j.inv.used
	}
	if limit <= 0 {
		return ErrCPULimit
	}
	// The job owns its OS thread while it runs, so that the thread's CPU
	// clock measures exactly this job's work (CPU limits count CPU, not
	// wall time). Between jobs the loop is an ordinary goroutine: waking it
	// does not need a particular thread, which keeps handoffs cheap.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rt.watch.start(limit, currentThreadClock())
	rt.current = j.inv
	rt.jobMu.Lock()
	rt.jobStarted.Store(time.Now().UnixNano())
	rt.jobMu.Unlock()
	defer func() {
		rt.jobMu.Lock()
		rt.jobStarted.Store(0)
		rt.jobMu.Unlock()
		if r := recover(); r != nil {
			rt.opts.Logger.Error("internal error in JavaScript runtime; discarding it",
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			death = fmt.Errorf("internal error: %v", r)
		}
		used, interrupted := rt.watch.stop()
		rt.current = nil
		rt.turnEnd = nil
		if j.inv != nil {
			j.inv.used += used
		}
		if death == nil && interrupted {
			death = ErrCPULimit
		}
		if death == nil && rt.memFired.Load() {
			death = ErrMemoryLimit
		}
		if death == nil && rt.deathNote != nil {
			death = rt.deathNote
		}
		if death == nil {
			rt.reportRejections(j.inv)
		} else {
			rt.settling = nil // the runtime is discarded with them
		}
	}()
	j.fn()
	// Turn-end work may itself queue microtasks (resolving promises); they
	// drain when each callback's entry into the VM returns.
	// So may settled promises' callbacks, which run once the job's own
	// microtasks and turn-end work are done.
	for rt.deathNote == nil && !rt.watchFired() && !rt.memFired.Load() {
		if len(rt.turnEnd) > 0 {
			fns := rt.turnEnd
			rt.turnEnd = nil
			for _, fn := range fns {
				fn()
			}
			continue
		}
		if len(rt.settling) == 0 || !rt.reportSettled() {
			break
		}
	}
	return nil
}

// interruptJob stops the job that started at started, if it is still the
// one running, with err; the runtime dies after it. It reports whether it
// interrupted.
func (rt *Runtime) interruptJob(started int64, err error) bool {
	rt.jobMu.Lock()
	defer rt.jobMu.Unlock()
	if rt.jobStarted.Load() != started || started == 0 || rt.memFired.Load() {
		return false
	}
	rt.memFired.Store(true)
	rt.vm.Interrupt(err)
	return true
}

func (rt *Runtime) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		rt.rejections = append(rt.rejections, p)
	case goja.PromiseRejectionHandle:
		for i, q := range rt.rejections {
			if q == p {
				rt.rejections = append(rt.rejections[:i], rt.rejections[i+1:]...)
				break
			}
		}
	}
}

func (rt *Runtime) reportRejections(inv *Invocation) {
	if len(rt.rejections) == 0 {
		return
	}
	pending := rt.rejections
	rt.rejections = nil
	for _, p := range pending {
		ex := ExceptionFromValue(p.Result(), nil)
		ex.Value = "Uncaught (in promise) " + ex.Value
		if rt.opts.OnUnhandledRejection != nil {
			rt.opts.OnUnhandledRejection(inv, ex)
			continue
		}
		rt.opts.Logger.Error(ex.Detail())
	}
}

func (rt *Runtime) kill(err error) {
	rt.mu.Lock()
	if rt.dead {
		rt.mu.Unlock()
		return
	}
	rt.dead = true
	rt.deathErr = err
	live := rt.live
	rt.live = map[*Invocation]struct{}{}
	rt.queue = nil
	rt.load.Store(0)
	rt.mu.Unlock()
	select {
	case rt.wake <- struct{}{}:
	default:
	}
	for inv := range live {
		if inv.failed.CompareAndSwap(false, true) && inv.onFail != nil {
			inv.onFail(err)
		}
	}
}
