package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// result is one scenario run on one runtime. Which figures a run fills in
// depends on the scenario's kind.
type result struct {
	perSecond float64
	p50, p99  time.Duration
	rssBytes  int64
	coldStart time.Duration
	requests  int
	// rssBefore is the RSS before the idle objects were created or the
	// WebSockets connected; perItem is (rssBytes - rssBefore) per object or
	// per socket, in bytes.
	rssBefore int64
	perItem   float64
	// setup is the time to create every idle object or to connect every
	// WebSocket client.
	setup time.Duration
	// bcastP50 and bcastMax are the median and the slowest broadcast: from
	// the POST to the last client holding the message.
	bcastP50, bcastMax time.Duration
	// fsyncPerSecond and fsyncMean are the limits scenario's fsync ceiling:
	// fsyncs per second of all writers together, mean time of one.
	fsyncPerSecond float64
	fsyncMean      time.Duration
	// createMean is the limits scenario's mean time to create one file.
	createMean time.Duration
	// serverCPU and loadCPU are the CPU time per answered request of the
	// server (all its threads) and of the load generator during a load
	// run. They share the machine, so what one spends the other cannot.
	serverCPU, loadCPU time.Duration
	// idle is the share of the machine's CPU time (all CPUs) that was idle
	// or waiting for I/O during a load run.
	idle  float64
	cpuOK bool // serverCPU, loadCPU and idle were measured
	// created is when, after the load started, the last of a run's new
	// objects was first answered (0: not measured, or not every object
	// was); afterPerSecond is the rate of answers from then to the end.
	created        time.Duration
	afterPerSecond float64
	failure        string // why the run or its correctness check failed
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
func kib(b float64) float64      { return b / (1 << 10) }

// kind is how a scenario measures.
type kind int

const (
	loadRun     kind = iota // closed-loop load at each connection count
	coldStart               // fresh processes to their first 200
	idleObjects             // RSS after creating many idle Durable Objects
	wsFanout                // broadcast latency to many WebSockets
	limitsRun               // this machine's ceilings, once per round (limits.go)
)

// scenario is one workload of the table.
type scenario struct {
	name        string
	description string
	worker      worker
	readyPath   string
	kind        kind
	// workload builds one load run (kind loadRun) for conns clients.
	workload func(conns int) workload
}

// workload is what one load run sends and how it is checked.
type workload struct {
	// prepare runs before the load (nil: nothing), e.g. to store the keys
	// the load reads.
	prepare func(ctx context.Context, base string) error
	// next is client's i-th request.
	next func(client, i int) request
	// check runs after the load (nil: nothing): the state must match what
	// the clients were answered.
	check func(ctx context.Context, base string) error
	// firsts, if not nil, records when each object new to the run was first
	// answered; next's onDone reports the answers to it.
	firsts *firstAnswers
}

// firstAnswers splits a load run whose objects are new to it into the part
// that creates them (until each has been answered once) and the part after,
// in which every request reaches an object that exists: what a run costs
// beyond its steady state.
type firstAnswers struct {
	start time.Time
	seen  []atomic.Bool
	left  atomic.Int64
	// allAt is the time after start at which the last object was first
	// answered; 0 until then.
	allAt atomic.Int64
	after []int // per client: answers counted once allAt was set
}

func newFirstAnswers(objects, clients int) *firstAnswers {
	f := &firstAnswers{seen: make([]atomic.Bool, objects), after: make([]int, clients)}
	f.left.Store(int64(objects))
	return f
}

// begin marks the start of the load.
func (f *firstAnswers) begin(t time.Time) { f.start = t }

// answered records that client was answered by object obj. Each client
// calls it from its own goroutine only.
func (f *firstAnswers) answered(client, obj int) {
	if f.allAt.Load() != 0 {
		f.after[client]++
		return
	}
	if !f.seen[obj].Swap(true) && f.left.Add(-1) == 0 {
		f.allAt.Store(max(1, int64(time.Since(f.start))))
	}
}

// split is when the last object was first answered, and the answers after
// that; ok is false if some object never was. Call it once the load ended.
func (f *firstAnswers) split() (created time.Duration, after int, ok bool) {
	at := f.allAt.Load()
	if at == 0 {
		return 0, 0, false
	}
	for _, n := range f.after {
		after += n
	}
	return time.Duration(at), after, true
}

func (s scenario) summary(r result) string {
	switch s.kind {
	case coldStart:
		return fmt.Sprintf("cold start %.1f ms, RSS %.1f MiB", ms(r.coldStart), mib(r.rssBytes))
	case idleObjects:
		return fmt.Sprintf("created in %.1f s, RSS %.1f -> %.1f MiB, %.2f KiB per object", r.setup.Seconds(), mib(r.rssBefore), mib(r.rssBytes), kib(r.perItem))
	case limitsRun:
		return fmt.Sprintf("empty HTTP server %.0f req/s, p50 %.2f ms, p99 %.2f ms; fsync %.0f/s, %.0f µs each; file create %.0f µs",
			r.perSecond, ms(r.p50), ms(r.p99), r.fsyncPerSecond, float64(r.fsyncMean)/float64(time.Microsecond), float64(r.createMean)/float64(time.Microsecond))
	case wsFanout:
		return fmt.Sprintf("connected in %.0f ms, broadcast p50 %.1f ms max %.1f ms, RSS %.1f MiB, %.2f KiB per socket", ms(r.setup), ms(r.bcastP50), ms(r.bcastMax), mib(r.rssBytes), kib(r.perItem))
	}
	line := fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms, RSS %.1f MiB", r.perSecond, ms(r.p50), ms(r.p99), mib(r.rssBytes))
	if r.created > 0 {
		line += fmt.Sprintf("; every object answered after %.2f s, %.0f req/s after", r.created.Seconds(), r.afterPerSecond)
	}
	return line
}

func scenarioNames() []string {
	var names []string
	for _, s := range allScenarios() {
		names = append(names, s.name)
	}
	return names
}

func scenarioByName(name string) scenario {
	for _, s := range allScenarios() {
		if s.name == name {
			return s
		}
	}
	return scenario{}
}

func allScenarios() []scenario {
	hello := worker{file: "hello.js"}
	counter := worker{file: "counter.js", durable: &durableBinding{binding: "COUNTER", class: "Counter"}}
	kv := worker{file: "kv.js", kv: true}
	idle := worker{file: "idle.js", durable: &durableBinding{binding: "OBJECTS", class: "Idle"}, keepObjects: true, workerdInMemory: true}
	fanout := worker{file: "fanout.js", durable: &durableBinding{binding: "HUB", class: "Hub"}}
	return []scenario{
		{name: "limits", description: "this machine's ceilings, whatever the runtime, measured once per round at each connection count: (1) HTTP: Go's net/http alone in its own process, answering every request with hello.js's response from a handler that does nothing else, under the same load generator; (2) fsync: as many writers as connections, each on its own file, each overwriting one of 16 blocks of 4 KiB and fsyncing after every write, for 2 s", kind: limitsRun},
		{name: "hello", description: "trivial fetch handler", worker: hello, readyPath: "/",
			workload: func(int) workload { return workload{next: func(int, int) request { return request{path: "/"} }} }},
		{name: "counter-hot", description: "one Durable Object counter, storage get + put per request", worker: counter, readyPath: "/get?name=ready",
			workload: counterWorkload(1)},
		{name: "counter-1000", description: "increments spread over 1,000 Durable Objects, each new to the run (its first increment activates it and creates its storage file)", worker: counter, readyPath: "/get?name=ready",
			workload: counterWorkload(1000)},
		{name: "kv-get", description: fmt.Sprintf("`KV.get` of an existing key, round-robin over %s keys of %d bytes stored before the run; every answer must be the stored value", thousands(kvGetKeys), kvValueSize), worker: kv, readyPath: "/ready",
			workload: kvGetWorkload},
		{name: "kv-put", description: fmt.Sprintf("`KV.put` of a new value (unique per put) to one of %d keys per client, answered once the put returned; afterwards every key must read back the value of its last acknowledged put", kvPutSlots), worker: kv, readyPath: "/ready",
			workload: kvPutWorkload},
		{name: "cold-start", description: "process start to the first 200 of the counter Worker (config read, Worker bundled, object activated, storage read); median of 5 starts per round", worker: counter, readyPath: "/get?name=cold", kind: coldStart},
		{name: "idle-objects", description: fmt.Sprintf("%s Durable Objects, each created by one request (%d connections) and keeping only an in-memory count, never calling storage; eviction off in both runtimes (kiln `--do-idle-timeout 1h`, workerd `preventEviction`); RSS read %s after the last object answered; per object = (RSS after - RSS before) / %s, \"before\" being after %d warm-up objects; afterwards every %dth object must answer its second request, so it was still in memory", thousands(idleObjectCount), idleCreateConns, idleSettle, thousands(idleObjectCount), idleWarmObjects, idleCheckEvery), worker: idle, readyPath: "/touch?name=ready", kind: idleObjects},
		{name: "ws-fanout", description: fmt.Sprintf("%s WebSocket clients connect to one Durable Object, which accepts them with the hibernation API (`acceptWebSocket`); then %d broadcasts, one at a time, each a POST whose handler sends the message to every `getWebSockets()` socket; latency is from the POST to the last client holding the message; every client must receive every message, in order; per socket = (RSS with every client connected - RSS before) / %s", thousands(fanoutClients), fanoutBroadcasts, thousands(fanoutClients)), worker: fanout, readyPath: "/count", kind: wsFanout},
	}
}

// counterWorkload increments objects counters round-robin and checks each
// holds exactly the increments acknowledged.
func counterWorkload(objects int) func(conns int) workload {
	return func(conns int) workload {
		// acked[client][object] counts the increments each client saw answered.
		acked := make([][]int, conns)
		for c := range acked {
			acked[c] = make([]int, objects)
		}
		var firsts *firstAnswers
		if objects > 1 {
			firsts = newFirstAnswers(objects, conns)
		}
		return workload{
			next: func(client, i int) request {
				obj := (client + i*conns) % objects
				return request{path: "/inc?name=c" + strconv.Itoa(obj), onDone: func([]byte) {
					acked[client][obj]++
					if firsts != nil {
						firsts.answered(client, obj)
					}
				}}
			},
			check:  func(ctx context.Context, base string) error { return checkCounters(ctx, base, acked, objects) },
			firsts: firsts,
		}
	}
}

// connsFor is the connection counts this scenario runs with.
func (s scenario) connsFor(conns []int) []int {
	if s.kind != loadRun && s.kind != limitsRun {
		return []int{1}
	}
	return conns
}

// run starts rt on the scenario's Worker in dir, measures it and checks the
// result. For a load run with profile set and a process that has a debug
// listener, a CPU profile of the load is written to that path.
func (s scenario) run(ctx context.Context, rt runtimeUnderTest, dir string, conns int, d time.Duration, profile string) (result, error) {
	switch s.kind {
	case coldStart:
		return s.coldStarts(ctx, rt, dir)
	case idleObjects:
		return s.idleObjects(ctx, rt, dir)
	case wsFanout:
		return s.fanout(ctx, rt, dir)
	}
	p, err := rt.start(ctx, dir, s.worker, s.readyPath)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	res := result{coldStart: p.coldStart}
	w := s.workload(conns)
	if w.prepare != nil {
		if err := w.prepare(ctx, p.base); err != nil {
			return res, fmt.Errorf("preparing the run: %w", err)
		}
	}
	var profiled <-chan error
	if profile != "" && p.debugBase != "" {
		profiled = cpuProfile(ctx, p.debugBase, d, profile)
	}
	server0, err0 := p.cpuTime()
	load0, err1 := selfCPUTime()
	machine0, err2 := machineCPU()
	if w.firsts != nil {
		w.firsts.begin(time.Now())
	}
	lr := closedLoop(ctx, p.base, conns, d, w.next)
	machine1, err3 := machineCPU()
	load1, err4 := selfCPUTime()
	server1, err5 := p.cpuTime()
	if cpuErr := errors.Join(err0, err1, err2, err3, err4, err5); cpuErr != nil {
		fmt.Fprintf(os.Stderr, "bench: CPU per request not measured: %v\n", cpuErr)
	} else if lr.ok > 0 && machine1.total > machine0.total {
		res.serverCPU = (server1 - server0) / time.Duration(lr.ok)
		res.loadCPU = (load1 - load0) / time.Duration(lr.ok)
		res.idle = float64(machine1.idle-machine0.idle) / float64(machine1.total-machine0.total)
		res.cpuOK = true
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintf(os.Stderr, "bench: profile %s: %v\n", profile, err)
		}
	}
	res.perSecond = lr.perSecond()
	res.p50 = lr.percentile(0.50)
	res.p99 = lr.percentile(0.99)
	res.requests = lr.ok
	if w.firsts != nil {
		if created, after, ok := w.firsts.split(); ok && lr.elapsed > created {
			res.created = created
			res.afterPerSecond = float64(after) / (lr.elapsed - created).Seconds()
		}
	}
	if rss, err := p.rssBytes(); err == nil {
		res.rssBytes = rss
	}
	if lr.non2xx > 0 || lr.errors > 0 {
		return res, fmt.Errorf("%d non-2xx answers and %d failed requests (first: %s)", lr.non2xx, lr.errors, lr.firstErr)
	}
	if w.check != nil {
		if err := w.check(ctx, p.base); err != nil {
			return res, err
		}
	}
	return res, nil
}

// selfCPUTime is the CPU time (user and system) this process has used so
// far: during a load run, the load generator's.
func selfCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// coldStartsPerRound is how many fresh processes one cold-start round
// starts; the round reports their median, as one start is noisy.
const coldStartsPerRound = 5

// coldStarts starts fresh processes (each on its own data directory) and
// reports the median time to the first 200 and the RSS of the last.
func (s scenario) coldStarts(ctx context.Context, rt runtimeUnderTest, dir string) (result, error) {
	var times []time.Duration
	var res result
	for i := 0; i < coldStartsPerRound; i++ {
		p, err := rt.start(ctx, fmt.Sprintf("%s-%d", dir, i), s.worker, s.readyPath)
		if err != nil {
			return result{}, err
		}
		times = append(times, p.coldStart)
		res.rssBytes, err = p.rssBytes()
		p.stop()
		if err != nil {
			return result{}, err
		}
	}
	slices.Sort(times)
	res.coldStart = times[len(times)/2]
	return res, nil
}

// checkCounters reads every counter back: each must hold exactly the
// increments that were acknowledged to the clients.
func checkCounters(ctx context.Context, base string, acked [][]int, objects int) error {
	client := &http.Client{Timeout: 30 * time.Second}
	for obj := 0; obj < objects; obj++ {
		want := 0
		for c := range acked {
			want += acked[c][obj]
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/get?name=c%d", base, obj), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("reading counter c%d: %w", obj, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading counter c%d: %w", obj, err)
		}
		got, err := strconv.Atoi(strings.TrimSpace(string(body)))
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("counter c%d answered %d %q", obj, resp.StatusCode, body)
		}
		if got != want {
			return fmt.Errorf("counter c%d holds %d but %d increments were acknowledged", obj, got, want)
		}
	}
	return nil
}

// cpuProfile fetches a CPU profile of d seconds (rounded down, at least 1)
// from kiln's debug listener into path; the channel reports the outcome.
func cpuProfile(ctx context.Context, debugBase string, d time.Duration, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		secs := max(int(d/time.Second), 1)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debugBase, secs), nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("debug listener answered %s", resp.Status)
			return
		}
		f, err := os.Create(path)
		if err != nil {
			done <- err
			return
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			done <- err
			return
		}
		done <- f.Close()
	}()
	return done
}
