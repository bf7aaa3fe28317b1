// Command bench runs the same Workers on kiln and on workerd (the reference
// runtime, installed from npm into a cache directory, never a dependency of
// kiln) side by side on this machine, checks that every run stayed correct,
// and writes the medians and kiln/workerd ratios to bench/RESULTS.md.
//
// Scenarios (bench/workers holds their Workers):
//
//   - limits: this machine's ceilings in the same run, whatever the
//     runtime: Go's net/http alone answering hello.js's response (the HTTP
//     ceiling), and the rate of 4 KiB overwrites each followed by an fsync,
//     by as many writers as connections, each on its own file (the ceiling
//     of a commit per request), and the time to create an empty file in a
//     new directory beside the runtimes' data (a Durable Object's first
//     write creates two). The report gives each load row's share of them.
//   - hello: a trivial fetch handler, under closed-loop load.
//   - counter-hot, counter-1000: Durable Object counters (storage get + put
//     per request) on one object or spread over 1,000; afterwards every
//     counter must hold exactly the increments acknowledged.
//   - kv-get, kv-put: Workers KV reads of stored keys and writes of unique
//     values; every read must be the stored value and every acknowledged
//     put must read back. kiln uses its own namespace (SQLite on disk);
//     workerd's kvNamespace binding points, as Miniflare does it, at
//     workers/kvstore.js, a service Worker that speaks the binding's HTTP
//     protocol and keeps the namespace in a Durable Object on local disk.
//   - cold-start: process start to the first 200 of the counter Worker.
//   - idle-objects: RSS after creating 10,000 Durable Objects that keep only
//     an in-memory field, per object.
//   - ws-fanout: 1,000 WebSockets on one Durable Object (hibernation API);
//     time from a broadcast's POST to the last client holding the message,
//     connect time, and RSS per socket.
//
// The load generator (load.go, httpconn.go) keeps one HTTP/1.1 connection
// per client and writes and parses its exchanges itself: it shares the
// machine's CPUs with the server it measures, and net/http's client cost
// about 40% more CPU per request. Each load run also reports the CPU
// time per request of the server process and of the generator.
//
// Run it from the repository root:
//
//	go run ./bench                      # every scenario, 3 rounds, 32 and 1 connections
//	go run ./bench -scenarios hello -rounds 1 -duration 2s
//	go run ./bench -scenarios kv-get,ws-fanout -rounds 1 -out /tmp/results.md
//
// A subset with the default -out replaces bench/RESULTS.md.
package main
