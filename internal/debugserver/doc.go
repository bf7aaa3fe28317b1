// Package debugserver serves kiln's diagnostics on a separate, opt-in
// listener (--debug-listen): Go's pprof profiles and a JSON snapshot of the
// process's goroutines and memory, which the reliability soak test and
// anyone profiling a slow Worker read.
package debugserver
