// Package procs sets how many threads may run Go code at once
// (GOMAXPROCS): one more than the CPUs the process may use.
//
// kiln makes commits durable with fsync before it answers, and an fsync
// blocks its thread for 0.1 ms or more. A goroutine blocked in a system
// call keeps its processor (P) until the runtime's monitor hands the P to
// another thread; the monitor wakes every 20 µs at best, later under the
// kernel's timer slack. On a small machine every Durable Object or KV
// commit then leaves one CPU's worth of runnable goroutines waiting for
// part of each fsync, while that CPU idles. One spare P lets another
// thread run them. On a 2-vCPU machine (A/B of one binary, medians of 8
// interleaved runs of 3 s): one hot Durable Object counter went from
// 13,201 to 14,514 req/s and the machine's idle share from 14% to 9%;
// KV puts from 19,558 to 21,612 req/s; a handler with no I/O was
// unchanged (42,052 vs 42,040).
//
// A GOMAXPROCS set in the environment is left alone.
package procs
