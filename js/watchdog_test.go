package js

import (
	"errors"
	"testing"
	"time"
)

// The watchdog is re-armed for every job: many short jobs of separate
// invocations pass (none is stopped by an earlier job's timer), and a runaway job
// after them is still stopped.
func TestWatchdogIsReArmedForEveryJob(t *testing.T) {
	rt := NewRuntime(Options{})
	defer rt.Close()
	const jobs = 300
	done := make(chan error, jobs)
	for i := 0; i < jobs; i++ {
		inv := rt.NewInvocation(time.Second, func(err error) { done <- err })
		rt.Submit(inv, func() {
			_, err := rt.VM().RunString(`(() => { let s = 0; for (let i = 0; i < 2000; i++) s += i; return s })()`)
			inv.End()
			done <- err
		})
	}
	for i := 0; i < jobs; i++ {
		if err := <-done; err != nil {
			t.Fatalf("short job %d: %v", i, err)
		}
	}
	failed := make(chan error, 1)
	runaway := rt.NewInvocation(30*time.Millisecond, func(err error) { failed <- err })
	rt.Submit(runaway, func() { _, _ = rt.VM().RunString(`for (;;) {}`) })
	if err := <-failed; !errors.Is(err, ErrCPULimit) {
		t.Fatalf("runaway job after %d short ones: %v, want ErrCPULimit", jobs, err)
	}
}

// A check left over from the previous job (its timer fired as that job
// ended) must not postpone the next job's first check, where the meter
// switches from wall time to the thread's CPU clock: otherwise the job
// is charged its whole wall time.
func TestLateCheckKeepsTheNextJobsDeadline(t *testing.T) {
	var w watchdog
	w.interrupt = func() { t.Error("interrupted") }
	w.start(time.Second, currentThreadClock()) // job A
	_, _ = w.stop()
	w.start(time.Second, currentThreadClock()) // job B
	due := w.deadline
	if due.After(w.meter.wallStart.Add(wallChargeLimit)) {
		t.Fatalf("first check due %v after the start, want at most %v", due.Sub(w.meter.wallStart), wallChargeLimit)
	}
	w.check() // A's late check, arriving while B runs
	if !w.deadline.Equal(due) {
		t.Fatalf("a late check moved the next check by %v", w.deadline.Sub(due))
	}
	_, _ = w.stop()
	w.close()
}
