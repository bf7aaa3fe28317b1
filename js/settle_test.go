package js

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// doJob runs fn as one job on rt and waits for the job, including its end
// (turn-end work and settled promises' callbacks), to finish.
func doJob(t *testing.T, rt *Runtime, fn func(vm *goja.Runtime)) {
	t.Helper()
	done := make(chan struct{})
	if !rt.Submit(nil, func() { fn(rt.VM()) }) || !rt.Submit(nil, func() { close(done) }) {
		t.Fatal("runtime is dead")
	}
	<-done
}

func TestOnSettledRunsAfterTheJobsMicrotasksInOrder(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	var log []string
	var resolveA, resolveB func(any) error
	doJob(t, rt, func(vm *goja.Runtime) {
		var a, b *goja.Promise
		a, resolveA, _ = vm.NewPromise()
		b, resolveB, _ = vm.NewPromise()
		for i, p := range []*goja.Promise{a, b} {
			name := []string{"a", "b"}[i]
			if !rt.OnSettled(p, func() { log = append(log, fmt.Sprintf("settled %s=%v", name, p.Result())) }) {
				t.Errorf("OnSettled(%s) refused a pending promise", name)
			}
		}
		_ = vm.Set("note", func(s string) { log = append(log, s) })
	})
	if len(log) != 0 {
		t.Fatalf("callbacks ran before anything settled: %v", log)
	}
	// One job settles both (b first) and queues microtasks (which drain
	// when RunString returns): the callbacks run after the whole job, in
	// the order the promises were watched.
	doJob(t, rt, func(vm *goja.Runtime) {
		_ = resolveB(2)
		_ = resolveA(1)
		_, err := vm.RunString(`Promise.resolve().then(() => note("microtask")).then(() => note("second microtask"))`)
		if err != nil {
			t.Error(err)
		}
		log = append(log, "job body done")
	})
	want := []string{"microtask", "second microtask", "job body done", "settled a=1", "settled b=2"}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("order was %q, want %q", log, want)
	}
}

func TestOnSettledCountsARejectionAsHandled(t *testing.T) {
	unhandled := make(chan string, 4)
	rt := NewRuntime(Options{OnUnhandledRejection: func(_ *Invocation, ex *Exception) { unhandled <- ex.Value }})
	defer rt.Close()
	var watchedReject, otherReject func(any) error
	var got []string
	doJob(t, rt, func(vm *goja.Runtime) {
		var watched *goja.Promise
		watched, _, watchedReject = vm.NewPromise()
		_, _, otherReject = vm.NewPromise()
		rt.OnSettled(watched, func() {
			got = append(got, fmt.Sprintf("%v %v", watched.State() == goja.PromiseStateRejected, watched.Result()))
		})
	})
	doJob(t, rt, func(vm *goja.Runtime) {
		_ = watchedReject(vm.ToValue("watched"))
		_ = otherReject(vm.ToValue("other"))
	})
	if fmt.Sprint(got) != "[true watched]" {
		t.Fatalf("callback saw %v", got)
	}
	// Only the promise nobody waited for is reported.
	if v := <-unhandled; !strings.HasPrefix(v, "Uncaught (in promise)") || !strings.HasSuffix(v, "other") {
		t.Fatalf("reported %q", v)
	}
	select {
	case v := <-unhandled:
		t.Fatalf("also reported %q", v)
	default:
	}
}

func TestOnSettledRefusesSettledPromises(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	doJob(t, rt, func(vm *goja.Runtime) {
		p, resolve, _ := vm.NewPromise()
		_ = resolve(1)
		if rt.OnSettled(p, func() { t.Error("callback of a refused promise ran") }) {
			t.Error("OnSettled accepted a settled promise")
		}
	})
}

// Past maxSettling the longest-watched promise moves to a reaction: every
// callback still runs exactly once, that one in a microtask.
func TestOnSettledHandsTheOldestToAReactionWhenFull(t *testing.T) {
	unhandled := make(chan string, 1)
	rt := NewRuntime(Options{OnUnhandledRejection: func(_ *Invocation, ex *Exception) { unhandled <- ex.Value }})
	defer rt.Close()
	ran := make([]int, maxSettling+1)
	var order []int
	var settle []func()
	doJob(t, rt, func(vm *goja.Runtime) {
		for i := range maxSettling + 1 {
			p, resolve, reject := vm.NewPromise()
			settle = append(settle, func() {
				if i == 0 {
					_ = reject(vm.ToValue("first"))
				} else {
					_ = resolve(i)
				}
			})
			if !rt.OnSettled(p, func() { ran[i]++; order = append(order, i) }) {
				t.Fatalf("OnSettled refused promise %d", i)
			}
		}
		if len(rt.settling) != maxSettling {
			t.Errorf("%d promises watched, want %d", len(rt.settling), maxSettling)
		}
	})
	doJob(t, rt, func(vm *goja.Runtime) {
		for i := len(settle) - 1; i >= 0; i-- {
			settle[i]()
		}
	})
	for i, n := range ran {
		if n != 1 {
			t.Fatalf("callback %d ran %d times", i, n)
		}
	}
	if order[0] != 0 || order[1] != 1 || order[len(order)-1] != maxSettling {
		t.Fatalf("callbacks ran in the order %v", order)
	}
	if len(rt.settling) != 0 {
		t.Fatalf("%d promises still watched", len(rt.settling))
	}
	select {
	case v := <-unhandled:
		t.Fatalf("the reacted-to rejection was reported: %s", v)
	default:
	}
}

func TestOnSettledCallbackMaySettleMoreAndQueueTurnEndWork(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	var log []string
	err := rt.Do(context.Background(), func(vm *goja.Runtime) error {
		first, resolveFirst, _ := vm.NewPromise()
		second, resolveSecond, _ := vm.NewPromise()
		rt.OnSettled(first, func() {
			log = append(log, "first")
			rt.AtTurnEnd(func() { log = append(log, "turn end") })
			_ = resolveSecond(nil)
		})
		rt.OnSettled(second, func() { log = append(log, "second") })
		return resolveFirst(nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	doJob(t, rt, func(*goja.Runtime) {})
	if fmt.Sprint(log) != "[first turn end second]" {
		t.Fatalf("ran %v", log)
	}
}

// A script that replaces Promise.prototype.then (with one that drops its
// callbacks, here) does not reach kiln's own waits: they use the built-in.
func TestKilnsReactionsIgnoreAReplacedThen(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	ran := 0
	var resolves []func(any) error
	doJob(t, rt, func(vm *goja.Runtime) {
		if _, err := vm.RunString(`var replacedCalls = 0; Promise.prototype.then = function () { replacedCalls++; };`); err != nil {
			t.Fatal(err)
		}
		for range maxSettling + 1 { // the first is handed to a reaction
			p, resolve, _ := vm.NewPromise()
			resolves = append(resolves, resolve)
			rt.OnSettled(p, func() { ran++ })
		}
		p, resolve, _ := vm.NewPromise()
		resolves = append(resolves, resolve)
		cb := func(goja.FunctionCall) goja.Value { ran++; return goja.Undefined() }
		if err := rt.Then(p, cb, cb); err != nil {
			t.Fatal(err)
		}
	})
	doJob(t, rt, func(vm *goja.Runtime) {
		for _, resolve := range resolves {
			_ = resolve(nil)
		}
		if n := vm.Get("replacedCalls").ToInteger(); n != 0 {
			t.Errorf("the script's then was called %d times", n)
		}
	})
	if want := maxSettling + 2; ran != want {
		t.Fatalf("%d callbacks ran, want %d", ran, want)
	}
}
