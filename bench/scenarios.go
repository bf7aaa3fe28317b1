package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is one scenario run on one runtime.
type result struct {
	perSecond float64
	p50, p99  time.Duration
	rssBytes  int64
	coldStart time.Duration
	requests  int
	failure   string // why the run or its correctness check failed
}

func (r result) summary() string {
	if r.perSecond == 0 {
		return fmt.Sprintf("cold start %.1f ms, RSS %.1f MiB", ms(r.coldStart), mib(r.rssBytes))
	}
	return fmt.Sprintf("%.0f req/s, p50 %.2f ms, p99 %.2f ms, RSS %.1f MiB", r.perSecond, ms(r.p50), ms(r.p99), mib(r.rssBytes))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }

// scenario is one workload of the table.
type scenario struct {
	name        string
	description string
	worker      worker
	readyPath   string
	// load is false for scenarios measured without a load run.
	load bool
	// objects is the number of distinct counters incremented (0: none).
	objects int
	path    func(name int) string
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
	counter := worker{file: "counter.js", durable: true}
	inc := func(name int) string { return "/inc?name=c" + strconv.Itoa(name) }
	return []scenario{
		{name: "hello", description: "trivial fetch handler", worker: hello, readyPath: "/", load: true,
			path: func(int) string { return "/" }},
		{name: "counter-hot", description: "one Durable Object counter, storage get + put per request", worker: counter, readyPath: "/get?name=ready", load: true,
			objects: 1, path: inc},
		{name: "counter-1000", description: "increments spread over 1,000 Durable Objects", worker: counter, readyPath: "/get?name=ready", load: true,
			objects: 1000, path: inc},
		{name: "cold-start", description: "process start to the first 200 of the counter Worker (config read, Worker bundled, object activated, storage read); median of 5 starts per round", worker: counter, readyPath: "/get?name=cold"},
	}
}

// connsFor is the connection counts this scenario runs with.
func (s scenario) connsFor(conns []int) []int {
	if !s.load {
		return []int{1}
	}
	return conns
}

// run starts rt on the scenario's Worker in dir, loads it and checks the
// result.
func (s scenario) run(ctx context.Context, rt runtimeUnderTest, dir string, conns int, d time.Duration) (result, error) {
	if !s.load {
		return s.coldStarts(ctx, rt, dir)
	}
	p, err := rt.start(ctx, dir, s.worker, s.readyPath)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	res := result{coldStart: p.coldStart}
	// acked[client][object] counts the increments each client saw answered.
	var acked [][]int
	if s.objects > 0 {
		acked = make([][]int, conns)
		for c := range acked {
			acked[c] = make([]int, s.objects)
		}
	}
	lr := closedLoop(ctx, p.base, conns, d, func(client, i int) request {
		if s.objects == 0 {
			return request{path: s.path(0)}
		}
		obj := (client + i*conns) % s.objects
		return request{path: s.path(obj), onDone: func([]byte) { acked[client][obj]++ }}
	})
	res.perSecond = lr.perSecond()
	res.p50 = lr.percentile(0.50)
	res.p99 = lr.percentile(0.99)
	res.requests = lr.ok
	if rss, err := p.rssBytes(); err == nil {
		res.rssBytes = rss
	}
	if lr.non2xx > 0 || lr.errors > 0 {
		return res, fmt.Errorf("%d non-2xx answers and %d failed requests (first: %s)", lr.non2xx, lr.errors, lr.firstErr)
	}
	if s.objects > 0 {
		if err := checkCounters(ctx, p.base, acked, s.objects); err != nil {
			return res, err
		}
	}
	return res, nil
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
