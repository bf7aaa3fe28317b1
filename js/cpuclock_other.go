//go:build !linux

package js

import "time"

// threadClock falls back to wall time where no per-thread CPU clock is
// available.
type threadClock struct{ start time.Time }

func currentThreadClock() threadClock { return threadClock{start: time.Now()} }

func (c threadClock) now() time.Duration { return time.Since(c.start) }
