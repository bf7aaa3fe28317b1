package js

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func run(t *testing.T, rt *Runtime, src string) (goja.Value, error) {
	t.Helper()
	var v goja.Value
	err := rt.Do(context.Background(), func(vm *goja.Runtime) error {
		var err error
		v, err = vm.RunString(src)
		return rt.Check(err)
	})
	return v, err
}

func TestSubmitRunsJobsInOrderOnOneGoroutine(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	var got []int
	var wg sync.WaitGroup
	wg.Add(3)
	for i := 1; i <= 3; i++ {
		i := i
		rt.Submit(nil, func() { got = append(got, i); wg.Done() })
	}
	wg.Wait()
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("jobs ran as %v", got)
	}
}

func TestCPULimitKillsRuntimeAndFailsInvocation(t *testing.T) {
	rt := NewRuntime(Options{})
	failed := make(chan error, 1)
	inv := rt.NewInvocation(50*time.Millisecond, func(err error) { failed <- err })
	other := make(chan error, 1)
	bystander := rt.NewInvocation(time.Minute, func(err error) { other <- err })
	rt.Submit(inv, func() {
		_, err := rt.VM().RunString(`for (;;) {}`)
		if err == nil {
			t.Error("infinite loop returned without error")
		}
	})
	if err := <-failed; !errors.Is(err, ErrCPULimit) {
		t.Fatalf("invocation failed with %v, want ErrCPULimit", err)
	}
	if err := <-other; !errors.Is(err, ErrCPULimit) {
		t.Fatalf("bystander on the same runtime failed with %v", err)
	}
	<-rt.Done()
	if !rt.Dead() || !errors.Is(rt.Err(), ErrCPULimit) {
		t.Fatalf("runtime dead=%v err=%v", rt.Dead(), rt.Err())
	}
	if bystander.rt.Submit(nil, func() {}) {
		t.Fatal("dead runtime accepted a job")
	}
}

func TestCPUAccumulatesAcrossJobsOfOneInvocation(t *testing.T) {
	rt := NewRuntime(Options{})
	failed := make(chan error, 1)
	inv := rt.NewInvocation(200*time.Millisecond, func(err error) { failed <- err })
	// Each job burns a little CPU and stays well under the budget alone;
	// their sum crosses it. Jobs are sent one at a time until it does, so
	// the test ends however slow or busy the machine is.
	spin := func(done chan<- struct{}) func() {
		return func() {
			defer close(done)
			_, _ = rt.VM().RunString(`var x = 0; for (let i = 0; i < 20000; i++) x++`)
		}
	}
	for jobs := 1; ; jobs++ {
		done := make(chan struct{})
		if !rt.Submit(inv, spin(done)) {
			break
		}
		select {
		case <-done:
		case err := <-failed:
			failed <- err
		}
		select {
		case err := <-failed:
			if !errors.Is(err, ErrCPULimit) {
				t.Fatalf("got %v", err)
			}
			if jobs < 2 {
				t.Fatalf("one job alone exhausted the budget; the test needs smaller jobs")
			}
			return
		default:
		}
	}
	if err := <-failed; !errors.Is(err, ErrCPULimit) {
		t.Fatalf("got %v", err)
	}
}

func TestStackOverflowIsAnErrorNotACrash(t *testing.T) {
	rt := NewRuntime(Options{MaxCallStackSize: 500})
	_, err := run(t, rt, `function f() { return f() + 1 } f()`)
	if !errors.Is(err, ErrStackOverflow) {
		t.Fatalf("got %v, want stack overflow", err)
	}
	<-rt.Done()
	if !rt.Dead() {
		t.Fatal("a runtime that overflowed its stack must be discarded")
	}
}

func TestThrowIsAnException(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	_, err := run(t, rt, "function boom() { throw new TypeError('nope') }\nboom()")
	var ex *Exception
	if !errors.As(err, &ex) {
		t.Fatalf("got %T %v", err, err)
	}
	if ex.Value != "TypeError: nope" || !strings.Contains(ex.Stack, "boom") {
		t.Fatalf("exception %q stack %q", ex.Value, ex.Stack)
	}
	if rt.Dead() {
		t.Fatal("a plain throw must not discard the runtime")
	}
	if v, err := run(t, rt, "1+1"); err != nil || v.ToInteger() != 2 {
		t.Fatalf("runtime unusable after a throw: %v %v", v, err)
	}
}

func TestUnhandledRejectionIsReported(t *testing.T) {
	got := make(chan string, 2)
	rt := NewRuntime(Options{OnUnhandledRejection: func(_ *Invocation, ex *Exception) { got <- ex.Value }})
	defer rt.Close()
	if _, err := run(t, rt, `Promise.reject(new Error("lost")); Promise.reject(new Error("kept")).catch(() => {}); 0`); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "Uncaught (in promise) Error: lost" {
		t.Fatalf("reported %q", v)
	}
	select {
	case v := <-got:
		t.Fatalf("a handled rejection was reported: %q", v)
	default:
	}
}

func TestHoldCompletesOnLoopUnderSameInvocation(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	inv := rt.NewInvocation(time.Second, nil)
	seen := make(chan *Invocation, 1)
	rt.Submit(inv, func() {
		finish := rt.Hold()
		go finish(func() { seen <- rt.Current() })
	})
	if got := <-seen; got != inv {
		t.Fatalf("completion ran under %p, want %p", got, inv)
	}
	if rt.Pending() != 0 {
		t.Fatalf("pending = %d after the hold finished", rt.Pending())
	}
	inv.End()
	if rt.Load() != 0 {
		t.Fatalf("load = %d after End", rt.Load())
	}
}

func TestPoolReplacesDeadRuntime(t *testing.T) {
	var made atomic.Int32
	p, err := NewPool(context.Background(), 2, func(context.Context) (*Runtime, error) {
		made.Add(1)
		return NewRuntime(Options{}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rt, _ := p.At(context.Background(), 0)
	rt.Close()
	fresh, err := p.At(context.Background(), 0)
	if err != nil || fresh == rt || fresh.Dead() {
		t.Fatalf("pool did not replace the dead runtime: %v", err)
	}
	if made.Load() != 3 {
		t.Fatalf("factory called %d times, want 3", made.Load())
	}
	// Pick prefers the less loaded runtime.
	a, _ := p.At(context.Background(), 0)
	a.NewInvocation(time.Second, nil)
	b, _ := p.Pick(context.Background())
	if b == a {
		t.Fatal("Pick chose the loaded runtime")
	}
}

func TestNormalizeStack(t *testing.T) {
	in := "\tat fetch (src/index.ts:68:14(199))\n\tat native\n\tat <eval>:1:5(3)\n"
	want := "    at fetch (src/index.ts:68:14)\n    at native\n    at <eval>:1:5"
	if got := normalizeStack(in); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestOnDeathForgetUnregisters(t *testing.T) {
	rt := NewRuntime(Options{})
	var ran []string
	forgetA := rt.OnDeath(func() { ran = append(ran, "a") })
	rt.OnDeath(func() { ran = append(ran, "b") })
	forgetA()
	forgetA() // twice is harmless
	rt.OnDeath(func() { ran = append(ran, "c") })
	rt.Close()
	if strings.Join(ran, ",") != "b,c" {
		t.Fatalf("OnDeath callbacks ran as %v, want b,c in registration order", ran)
	}
	late := false
	rt.OnDeath(func() { late = true })()
	if !late {
		t.Fatal("OnDeath on a dead runtime did not run at once")
	}
}
