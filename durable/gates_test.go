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
