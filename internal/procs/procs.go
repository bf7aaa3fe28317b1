package procs

import "runtime"

// Configure raises GOMAXPROCS by one above the runtime's default (the CPUs
// the process may use), unless the environment sets GOMAXPROCS, which
// getenv reads. It returns the value in effect.
func Configure(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := runtime.GOMAXPROCS(0) + 1
	runtime.GOMAXPROCS(n)
	return n
}
