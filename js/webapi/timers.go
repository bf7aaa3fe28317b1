package webapi

import (
	"math"
	"time"

	"github.com/dop251/goja"
)

// timers implements setTimeout, setInterval, their clear functions and
// scheduler.wait on top of Go timers that complete onto the loop.
type timers struct {
	vm     *goja.Runtime
	loop   Loop
	nextID int64
	active map[int64]*timer
}

type timer struct {
	t      *time.Timer
	finish func(func()) bool
	fn     goja.Callable
	args   []goja.Value
	delay  time.Duration
	repeat bool
}

func installTimers(vm *goja.Runtime, loop Loop) error {
	ts := &timers{vm: vm, loop: loop, active: make(map[int64]*timer)}
	g := vm.GlobalObject()
	set := func(name string, fn func(goja.FunctionCall) goja.Value) error {
		return g.DefineDataProperty(name, vm.ToValue(fn), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	for _, def := range []struct {
		name string
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"setTimeout", func(c goja.FunctionCall) goja.Value { return ts.start(c, false) }},
		{"setInterval", func(c goja.FunctionCall) goja.Value { return ts.start(c, true) }},
		{"clearTimeout", ts.clear},
		{"clearInterval", ts.clear},
	} {
		if err := set(def.name, def.fn); err != nil {
			return err
		}
	}
	scheduler := vm.NewObject()
	if err := scheduler.Set("wait", ts.wait); err != nil {
		return err
	}
	return g.DefineDataProperty("scheduler", scheduler, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

func delayOf(v goja.Value) time.Duration {
	if v == nil || goja.IsUndefined(v) {
		return 0
	}
	ms := v.ToFloat()
	if math.IsNaN(ms) || ms < 0 {
		return 0
	}
	if ms > math.MaxInt32 {
		// Browsers and workerd wrap delays above 2^31-1 ms to 1 ms.
		ms = 1
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func (ts *timers) start(c goja.FunctionCall, repeat bool) goja.Value {
	fn, ok := goja.AssertFunction(c.Argument(0))
	if !ok {
		ThrowTypeError(ts.vm, "The callback provided as parameter 1 is not a function.")
	}
	var args []goja.Value
	if len(c.Arguments) > 2 {
		args = append(args, c.Arguments[2:]...)
	}
	ts.nextID++
	id := ts.nextID
	t := &timer{fn: fn, args: args, delay: delayOf(c.Argument(1)), repeat: repeat}
	ts.active[id] = t
	ts.arm(id, t)
	return ts.vm.ToValue(id)
}

func (ts *timers) arm(id int64, t *timer) {
	t.finish = ts.loop.Hold()
	finish := t.finish
	t.t = time.AfterFunc(t.delay, func() {
		finish(func() { ts.fire(id, t) })
	})
}

func (ts *timers) fire(id int64, t *timer) {
	if ts.active[id] != t {
		return // cleared after it fired but before it ran
	}
	if !t.repeat {
		delete(ts.active, id)
	}
	if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
		ts.loop.Report(err)
	}
	if t.repeat && ts.active[id] == t {
		ts.arm(id, t)
	}
}

func (ts *timers) clear(c goja.FunctionCall) goja.Value {
	arg := c.Argument(0)
	if goja.IsUndefined(arg) || goja.IsNull(arg) {
		return goja.Undefined()
	}
	id := arg.ToInteger()
	if t, ok := ts.active[id]; ok {
		delete(ts.active, id)
		if t.t.Stop() {
			t.finish(nil)
		}
	}
	return goja.Undefined()
}

// wait is scheduler.wait(ms): a promise resolved after ms.
func (ts *timers) wait(c goja.FunctionCall) goja.Value {
	p, resolve, _ := ts.vm.NewPromise()
	finish := ts.loop.Hold()
	time.AfterFunc(delayOf(c.Argument(0)), func() {
		finish(func() { _ = resolve(goja.Undefined()) })
	})
	return ts.vm.ToValue(p)
}
