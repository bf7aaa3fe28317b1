package js

import (
	"runtime"
	"testing"
	"time"
)

// A job that has run past wallChargeLimit is switched to the thread's CPU
// clock, charged the wall time up to the switch; after it, time spent off
// the CPU is not charged.
func TestCPUMeterSwitchesToTheThreadClock(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := currentThreadClock()
	m := cpuMeter{wallStart: time.Now(), cpuMark: -1}
	for time.Since(m.wallStart) < 2*wallChargeLimit {
		// run on the CPU past the wall-charge limit
	}
	switched := m.used(clock)
	if m.cpuMark < 0 || switched < 2*wallChargeLimit {
		t.Fatalf("after %v the meter should have switched (charged %v, mark %v)", time.Since(m.wallStart), switched, m.cpuMark)
	}
	const sleep = 200 * time.Millisecond
	time.Sleep(sleep) // off the CPU: the thread's clock barely moves
	if after := m.used(clock); after-switched >= sleep/2 {
		t.Fatalf("a %v sleep was charged %v of CPU", sleep, after-switched)
	}
}
