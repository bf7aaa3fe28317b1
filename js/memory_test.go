package js

import (
	"context"
	"errors"
	"testing"
)

func TestMemoryGuardStopsUnboundedAllocation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guard := NewMemoryGuard(ctx, MemoryGuardOptions{Base: 64 << 20, PerRuntime: 32 << 20})

	bystander := NewRuntime(Options{Memory: guard})
	defer bystander.Close()
	if _, err := run(t, bystander, `globalThis.kept = new Array(1000).fill("x"); kept.length`); err != nil {
		t.Fatal(err)
	}

	hog := NewRuntime(Options{Memory: guard})
	defer hog.Close()
	_, err := run(t, hog, `const a = []; for (;;) a.push(new Array(10000).fill(a.length));`)
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("allocation loop ended with %v, want %v", err, ErrMemoryLimit)
	}
	<-hog.Done()
	if !errors.Is(hog.Err(), ErrMemoryLimit) {
		t.Fatalf("hog runtime died of %v", hog.Err())
	}
	if guard.Trips() != 1 {
		t.Fatalf("guard tripped %d times, want 1", guard.Trips())
	}
	// The idle runtime was not the victim and still runs.
	v, err := run(t, bystander, `kept.length`)
	if err != nil || v.ToInteger() != 1000 {
		t.Fatalf("bystander: %v, %v", v, err)
	}
}

func TestMemoryGuardLeavesBoundedScriptsAlone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guard := NewMemoryGuard(ctx, MemoryGuardOptions{Base: 64 << 20, PerRuntime: 32 << 20})
	rt := NewRuntime(Options{Memory: guard})
	defer rt.Close()
	// Much garbage, little kept: the live heap stays small.
	v, err := run(t, rt, `let n = 0; for (let i = 0; i < 300; i++) { const x = new Array(10000).fill(i); n += x.length } n`)
	if err != nil || v.ToInteger() != 3000000 {
		t.Fatalf("got %v, %v", v, err)
	}
	if guard.Trips() != 0 {
		t.Fatalf("guard tripped %d times", guard.Trips())
	}
}
