package gcpacer

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	const floor = 64 << 20
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, maxPercent},
		{1 << 20, maxPercent}, // 1 MiB: would be 6300, capped
		{8 << 20, 700},        // grows to 64 MiB
		{16 << 20, 300},       // grows to 64 MiB
		{30 << 20, 113},       // just above the default
		{32 << 20, 100},       // half the floor: the default already reaches it
		{1 << 30, 100},        // large heaps: the default
	} {
		if got := Percent(tc.live, floor); got != tc.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", tc.live>>20, got, tc.want)
		}
	}
}

// The pacer sets GOGC from the live heap at start and again after
// collections: a large live heap brings it down to the default, and freeing
// it raises it again.
func TestStartAdjustsAfterCollections(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set in the environment; the pacer leaves it alone")
	}
	defer debug.SetGCPercent(100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const floor = 64 << 20
	runs := make(chan int, 1024)
	Start(ctx, floor, func(p int) { runs <- p })
	if got := <-runs; got <= 100 {
		t.Fatalf("first setting %d: a small live heap should raise GOGC", got)
	}
	// untilSetting collects until an adjustment reports a setting that
	// satisfies ok. Which collection's cleanup reports it depends on
	// scheduling, so it collects again rather than wait for one.
	untilSetting := func(ok func(int) bool) int {
		for {
			runtime.GC()
			select {
			case p := <-runs:
				if ok(p) {
					return p
				}
			default:
				runtime.Gosched()
			}
		}
	}
	held := make([]byte, 48<<20)
	for i := range held {
		held[i] = byte(i)
	}
	untilSetting(func(p int) bool { return p == 100 })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC is %d after the pacer set 100", got)
	}
	runtime.KeepAlive(held)
	held = nil
	if got := untilSetting(func(p int) bool { return p != 100 }); got <= 100 {
		t.Fatalf("setting %d after the heap was freed: GOGC should rise again", got)
	}
}

func TestStartLeavesAnEnvironmentGOGCAlone(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	called := false
	Start(context.Background(), 1<<40, func(int) { called = true }) // returns at once: nothing runs later
	runtime.GC()
	if called || debug.SetGCPercent(100) != 100 {
		t.Fatal("the pacer changed GOGC although GOGC is set in the environment")
	}
}
