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
// thread run them. On a 2-vCPU machine, kiln with and without this
// package, medians of 8 interleaved runs of 3 s at 32 connections: one
// hot Durable Object counter went from 13,135 to 13,914 req/s and the
// machine's idle share from 16% to 12%; KV puts from 20,300 to 20,817
// req/s, idle 11% to 7%. A handler with no I/O stayed within the noise.
// (The same binary run with GOMAXPROCS=2 and =3 in the environment: hot
// counter 13,201 and 14,514 req/s, idle 14% and 9%.)
//
// A GOMAXPROCS set in the environment is left alone.
package procs
