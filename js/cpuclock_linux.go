package js

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadClock reads the CPU time of one OS thread: the loop goroutine of a
// runtime is locked to its thread, so this is the CPU the runtime used,
// however busy the machine is.
type threadClock struct{ id int32 }

// currentThreadClock returns the clock of the calling (locked) thread.
func currentThreadClock() threadClock {
	tid := unix.Gettid()
	// Linux encodes a thread's CPU clock as MAKE_THREAD_CPUCLOCK(tid,
	// CPUCLOCK_SCHED): (~tid << 3) | 6.
	return threadClock{id: int32((^tid)<<3) | 6}
}

func (c threadClock) now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(c.id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
