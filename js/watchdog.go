package js

import (
	"sync"
	"time"
)

// watchdog interrupts the job that overruns its CPU budget. A runtime has
// one, whose timer is re-armed for every job: a timer and its closures
// made per job were a tenth of the loop's own cost on a hello request.
//
// The timer runs on wall time; when it fires, the meter decides: over
// budget interrupts the runtime, under budget re-arms for the rest. A
// check that fires late, after its job ended, finds either no job (and
// does nothing) or the next one: it must not move that job's first check
// (where the meter switches from wall time to the thread's CPU clock), so
// a check that comes before the deadline set for it only re-arms the
// timer for that deadline.
type watchdog struct {
	interrupt func() // stops the running script

	mu      sync.Mutex
	timer   *time.Timer
	running bool
	// deadline is when the running job's next check is due.
	deadline time.Time
	limit    time.Duration
	meter    cpuMeter
	clock    threadClock
	fired    bool
}

// start watches a job that may use limit of CPU time, on the thread
// whose clock is given (the job's, locked to it).
func (w *watchdog) start(limit time.Duration, clock threadClock) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running, w.fired = true, false
	w.limit, w.clock = limit, clock
	now := time.Now()
	w.meter = cpuMeter{wallStart: now, cpuMark: -1}
	first := min(limit, wallChargeLimit)
	w.deadline = now.Add(first)
	if w.timer == nil {
		w.timer = time.AfterFunc(first, w.check)
		return
	}
	w.timer.Reset(first)
}

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || w.fired {
		return
	}
	now := time.Now()
	if now.Before(w.deadline) { // a late check of the previous job
		w.timer.Reset(w.deadline.Sub(now))
		return
	}
	used := w.meter.used(w.clock)
	if used >= w.limit {
		w.fired = true
		w.interrupt()
		return
	}
	w.deadline = now.Add(w.limit - used)
	w.timer.Reset(w.limit - used)
}

// stop ends the watch of the job and reports the CPU time it used and
// whether the watchdog interrupted it.
func (w *watchdog) stop() (used time.Duration, fired bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	w.running = false
	return w.meter.used(w.clock), w.fired
}

// close stops the timer for good.
func (w *watchdog) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running = false
	if w.timer != nil {
		w.timer.Stop()
	}
}
