package durable

import (
	"errors"
	"testing"
)

func settled(ch <-chan error) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	default:
		return nil, false
	}
}

// Case 152: a waiter is released only when every write before it is durable,
// even if they complete out of order.
func TestOutputGateOrder(t *testing.T) {
	var g OutputGate
	w1 := g.Wait(1)
	w2 := g.Wait(2)
	w0 := g.Wait(0)
	if _, ok := settled(w0); !ok {
		t.Fatal("a message after no writes waited")
	}
	if _, ok := settled(w1); ok {
		t.Fatal("released before the write was durable")
	}
	g.Advance(2) // a later sync covers the earlier commit
	if err, ok := settled(w1); !ok || err != nil {
		t.Fatalf("w1 %v %v", err, ok)
	}
	if err, ok := settled(w2); !ok || err != nil {
		t.Fatalf("w2 %v %v", err, ok)
	}
	g.Advance(1) // late, smaller: ignored
	if _, ok := settled(g.Wait(2)); !ok {
		t.Fatal("durable point went backwards")
	}
}

func TestOutputGateBreak(t *testing.T) {
	var g OutputGate
	g.Advance(1)
	before := g.Wait(1)
	after := g.Wait(3)
	boom := errors.New("write failed")
	g.Break(boom)
	if err, ok := settled(before); !ok || err != nil {
		t.Fatalf("a message before the failed write: %v %v", err, ok)
	}
	if err, ok := settled(after); !ok || !errors.Is(err, boom) {
		t.Fatalf("a message after the failed write: %v %v", err, ok)
	}
	if err, ok := settled(g.Wait(0)); !ok || !errors.Is(err, boom) {
		t.Fatalf("the gate stays broken: %v %v", err, ok)
	}
}

// Case 153: critical sections hold events in FIFO order.
func TestInputGate(t *testing.T) {
	var order []string
	var g InputGate[func()]
	g.Run = func(e func()) { e() }
	g.Submit = func(e func()) { e() }
	g.Deliver(func() { order = append(order, "a") })
	g.Lock()
	g.Deliver(func() { order = append(order, "b") })
	g.Lock() // nested section
	g.Deliver(func() { order = append(order, "c") })
	g.Unlock()
	if len(order) != 1 {
		t.Fatalf("delivered inside a section: %v", order)
	}
	g.Unlock()
	if got := len(order); got != 3 || order[1] != "b" || order[2] != "c" {
		t.Fatalf("order %v", order)
	}
	g.Lock()
	g.Deliver(func() { order = append(order, "d") })
	if dropped := g.Drop(); len(dropped) != 1 || g.Locked() {
		t.Fatalf("drop: %d locked=%v", len(dropped), g.Locked())
	}
}

// Then calls back instead of handing out a channel: at once when the
// writes are durable or the gate is broken, else from Advance or Break,
// exactly once, and without the gate's lock held (a callback may use the
// gate).
func TestOutputGateThen(t *testing.T) {
	var g OutputGate
	type call struct {
		name string
		err  error
	}
	var calls []call
	then := func(name string, target uint64) {
		g.Then(target, func(err error) { calls = append(calls, call{name, err}) })
	}
	then("none", 0)
	if len(calls) != 1 || calls[0] != (call{"none", nil}) {
		t.Fatalf("a reply after no writes: %v", calls)
	}
	then("two", 2)
	then("three", 3)
	g.Advance(1)
	if len(calls) != 1 {
		t.Fatalf("released before its writes were durable: %v", calls)
	}
	g.Then(2, func(error) {
		calls = append(calls, call{"nested-outer", nil})
		then("nested", 2) // durable by now: called at once, no deadlock
	})
	if len(calls) != 1 {
		t.Fatalf("released early: %v", calls)
	}
	g.Advance(2)
	want := []call{{"none", nil}, {"two", nil}, {"nested-outer", nil}, {"nested", nil}}
	if len(calls) != len(want) {
		t.Fatalf("after Advance(2): %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("after Advance(2): %v, want %v", calls, want)
		}
	}
	boom := errors.New("write failed")
	g.Break(boom)
	then("after-break", 1) // a broken gate fails everything, as Wait does
	then("late", 4)
	got := calls[len(want):]
	if len(got) != 3 || got[0] != (call{"three", boom}) || got[1] != (call{"after-break", boom}) || got[2] != (call{"late", boom}) {
		t.Fatalf("after Break: %v", got)
	}
	g.Advance(9) // a broken gate releases nothing more
	if len(calls) != len(want)+3 {
		t.Fatalf("called again: %v", calls)
	}
}

// A commit that could not be made fails the messages waiting for it and
// every message produced afterwards, whatever it waits for; messages
// already waiting for earlier commits go once those are durable.
func TestOutputGateBreakAfter(t *testing.T) {
	var g OutputGate
	g.Advance(1)
	earlier := g.Wait(2) // commit 2 made, not yet durable
	failed := g.Wait(3)  // waits for commit 3, which fails
	boom := errors.New("commit failed")
	g.BreakAfter(2, boom)
	if err, ok := settled(failed); !ok || !errors.Is(err, boom) {
		t.Fatalf("a message waiting for the failed commit: %v %v", err, ok)
	}
	if _, ok := settled(earlier); ok {
		t.Fatal("a message waiting for an earlier commit was settled before it was durable")
	}
	if err, ok := settled(g.Wait(1)); !ok || !errors.Is(err, boom) {
		t.Fatalf("a message produced after the failure: %v %v", err, ok)
	}
	g.Advance(5) // only writes up to 2 can still become durable
	if err, ok := settled(earlier); !ok || err != nil {
		t.Fatalf("the earlier commit's message after it was durable: %v %v", err, ok)
	}
	if g.durable != 2 {
		t.Fatalf("durable point %d, want 2", g.durable)
	}

	// A later Break (the object's teardown, a failed fsync) fails what is
	// still waiting.
	var h OutputGate
	pending := h.Wait(1)
	h.BreakAfter(1, boom)
	h.Break(errors.New("fsync failed"))
	if err, ok := settled(pending); !ok || !errors.Is(err, boom) {
		t.Fatalf("after BreakAfter then Break: %v %v", err, ok)
	}
}
