package js

import "time"

// wallChargeLimit is how long a job is charged its wall time before the
// meter switches to its thread's CPU clock. Reading that clock is a system
// call, a noticeable cost on a path that runs several times per request,
// while a job this short is rarely kept from a CPU for long; wall time is
// never less than CPU time, so the charge errs towards the limit only by the
// time a short job waited for a CPU.
const wallChargeLimit = time.Millisecond

// cpuMeter measures the CPU time of one job: wall time up to the first
// reading of the thread's CPU clock (taken by the watchdog once the job has
// run for wallChargeLimit), the thread's CPU clock after it. Callers
// serialise access.
type cpuMeter struct {
	wallStart time.Time
	wallMark  time.Duration // wall time charged up to cpuMark
	cpuMark   time.Duration // the thread's CPU clock at the switch; -1 before
}

// used is the CPU time charged so far; the first call after
// wallChargeLimit switches to the CPU clock.
func (m *cpuMeter) used(clock threadClock) time.Duration {
	if m.cpuMark < 0 {
		wall := time.Since(m.wallStart)
		if wall < wallChargeLimit {
			return wall
		}
		m.wallMark = wall
		m.cpuMark = clock.now()
		return wall
	}
	return m.wallMark + clock.now() - m.cpuMark
}
