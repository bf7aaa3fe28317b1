// Package reliability holds kiln's reliability harness: tests that run the
// kiln binary as a child process and try to make it lose or tear an
// acknowledged write (kill -9 at random moments, then restart on the same
// data), answer two callers inconsistently (histories checked for
// linearizability with porcupine), fall over under hostile input (oversized
// bodies and headers, slow clients, malformed WebSocket frames, Worker code
// that loops, recurses, allocates without bound or throws everywhere), or
// grow without bound under a mixed workload (soak).
//
// The package has no non-test code beyond this comment; docs/guarantees.md
// names, for each promise kiln makes, the test here or elsewhere that proves
// it. Everything talks to 127.0.0.1 only, and no test depends on timing to
// pass: kills happen after a random number of acknowledged operations, not
// after a random delay.
package reliability
