// Package js is kiln's JavaScript engine layer on goja.
//
// A Runtime is one goja runtime owned by one goroutine running its event
// loop; other goroutines only submit jobs to it. Every job runs on behalf of
// an Invocation (a request, an alarm, an RPC call), whose CPU time is
// accumulated across its jobs; a watchdog interrupts the runtime when an
// invocation exceeds its budget. goja cannot resume asynchronous code after an
// interrupt (research/jsengine.md §5), so an interrupted runtime is declared
// dead: every invocation still live on it fails, and the Pool replaces it.
package js
