package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-conns", "8, 1", "-scenarios", "hello,cold-start", "-rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.conns) != "[8 1]" || fmt.Sprint(o.scenarios) != "[hello cold-start]" || o.rounds != 2 {
		t.Fatalf("parsed %+v", o)
	}
	for _, bad := range [][]string{{"-conns", "0"}, {"-conns", "x"}, {"-scenarios", "nope"}, {"-rounds", "0"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestMedianSkipsFailedRounds(t *testing.T) {
	m, n := medianResult([]result{{perSecond: 10}, {perSecond: 30, failure: "lost"}, {perSecond: 20}, {perSecond: 40}})
	if n != 3 || m.perSecond != 20 {
		t.Fatalf("median %v over %d rounds", m.perSecond, n)
	}
	if _, n := medianResult([]result{{failure: "x"}}); n != 0 {
		t.Fatalf("a failed round counted")
	}
}

// counterServer answers /get?name=cN with values[N].
func counterServer(t *testing.T, values []int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Query().Get("name"), "c%d", &n); err != nil || n >= len(values) {
			http.Error(w, "bad name", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, values[n])
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckCounters(t *testing.T) {
	acked := [][]int{{2, 0, 1}, {1, 3, 0}}
	if err := checkCounters(context.Background(), counterServer(t, []int{3, 3, 1}), acked, 3); err != nil {
		t.Fatalf("matching counters refused: %v", err)
	}
	err := checkCounters(context.Background(), counterServer(t, []int{3, 2, 1}), acked, 3)
	if err == nil || !strings.Contains(err.Error(), "c1 holds 2 but 3") {
		t.Fatalf("a lost increment was not reported: %v", err)
	}
	if err := checkCounters(context.Background(), counterServer(t, []int{3, 4, 1}), acked, 3); err == nil {
		t.Fatal("an extra increment was not reported")
	}
}

func TestClosedLoopCountsNon2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	// Each client sends at least one request: client 1's fail.
	res := closedLoop(context.Background(), srv.URL, 2, time.Millisecond, func(client, i int) request {
		if client == 1 {
			return request{path: "/bad"}
		}
		return request{path: "/"}
	})
	if res.ok == 0 || res.non2xx == 0 || res.errors != 0 || !strings.Contains(res.firstErr, "500") {
		t.Fatalf("result %+v", res)
	}
	if len(res.latencies) != res.ok {
		t.Fatalf("%d latencies for %d answers", len(res.latencies), res.ok)
	}
}

func TestFixedRequestsStopsAtTheFirstFailure(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Query().Get("i")] = true
		mu.Unlock()
		fmt.Fprint(w, r.URL.Query().Get("i"))
	}))
	defer srv.Close()
	path := func(i int) string { return fmt.Sprintf("/?i=%d", i) }
	echo := func(i int, body []byte) error {
		if string(body) != fmt.Sprint(i) {
			return fmt.Errorf("request %d answered %q", i, body)
		}
		return nil
	}
	if err := fixedRequests(context.Background(), srv.URL, 4, 50, path, echo); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct requests, want 50", len(seen))
	}
	err := fixedRequests(context.Background(), srv.URL, 4, 50, path, func(i int, body []byte) error {
		if i == 7 {
			return errors.New("seven")
		}
		return nil
	})
	if err == nil || err.Error() != "seven" {
		t.Fatalf("error %v, want seven", err)
	}
}

// kvServer is a fake kv.js: /put stores, /get reads. lose drops the puts
// of that key; corrupt answers gets of that key with another value.
func kvServer(t *testing.T, lose, corrupt string) string {
	var mu sync.Mutex
	values := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		key := r.URL.Query().Get("key")
		switch r.URL.Path {
		case "/put":
			if key != lose {
				values[key] = r.URL.Query().Get("value")
			}
			fmt.Fprint(w, "ok")
		case "/get":
			v, ok := values[key]
			if !ok {
				http.Error(w, "no such key", http.StatusNotFound)
				return
			}
			if key == corrupt {
				v = "corrupt"
			}
			fmt.Fprint(w, v)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// runWorkload is scenario.run's load part without a runtime.
func runWorkload(t *testing.T, w workload, base string, conns int) error {
	t.Helper()
	ctx := context.Background()
	if w.prepare != nil {
		if err := w.prepare(ctx, base); err != nil {
			return err
		}
	}
	lr := closedLoop(ctx, base, conns, 20*time.Millisecond, w.next)
	if lr.non2xx > 0 || lr.errors > 0 {
		return fmt.Errorf("%d non-2xx, %d errors: %s", lr.non2xx, lr.errors, lr.firstErr)
	}
	return w.check(ctx, base)
}

func TestKVGetChecksEveryAnswer(t *testing.T) {
	if err := runWorkload(t, kvGetWorkload(2), kvServer(t, "", ""), 2); err != nil {
		t.Fatalf("a faithful store failed: %v", err)
	}
	err := runWorkload(t, kvGetWorkload(2), kvServer(t, "", "k1"), 2)
	if err == nil || !strings.Contains(err.Error(), `k1 answered "corrupt"`) {
		t.Fatalf("a wrong value was not reported: %v", err)
	}
	if len(kvGetValue(3)) != kvValueSize {
		t.Fatalf("value of %d bytes", len(kvGetValue(3)))
	}
}

func TestKVPutReadsBackAcknowledgedPuts(t *testing.T) {
	if err := runWorkload(t, kvPutWorkload(2), kvServer(t, "", ""), 2); err != nil {
		t.Fatalf("a faithful store failed: %v", err)
	}
	if err := runWorkload(t, kvPutWorkload(2), kvServer(t, "", "p1-0"), 2); err == nil || !strings.Contains(err.Error(), "p1-0") {
		t.Fatalf("a wrong value was not reported: %v", err)
	}
	if err := runWorkload(t, kvPutWorkload(2), kvServer(t, "p0-0", ""), 2); err == nil || !strings.Contains(err.Error(), "p0-0") {
		t.Fatalf("a lost put was not reported: %v", err)
	}
}

func TestWorkerdConfig(t *testing.T) {
	kv := string(workerdConfig(scenarioByName("kv-get").worker, "/data", 8080))
	for _, want := range []string{
		`(name = "KV", kvNamespace = "kv")`,
		`(name = "kv", worker = .kvWorker)`,
		`esModule = embed "kvstore.js"`,
		`durableObjectStorage = (localDisk = "storage")`,
		`address = "127.0.0.1:8080"`,
	} {
		if !strings.Contains(kv, want) {
			t.Errorf("kv config lacks %s:\n%s", want, kv)
		}
	}
	idle := string(workerdConfig(scenarioByName("idle-objects").worker, "/data", 8080))
	for _, want := range []string{`preventEviction = true`, `durableObjectStorage = (inMemory = void)`, `(name = "OBJECTS", durableObjectNamespace = "Idle")`} {
		if !strings.Contains(idle, want) {
			t.Errorf("idle-objects config lacks %s:\n%s", want, idle)
		}
	}
	if strings.Contains(idle, "disk =") {
		t.Errorf("idle-objects config has a disk service:\n%s", idle)
	}
	counter := string(workerdConfig(scenarioByName("counter-hot").worker, "/data", 8080))
	if strings.Contains(counter, "preventEviction") || strings.Contains(counter, "kvNamespace") {
		t.Errorf("counter config:\n%s", counter)
	}
}

func TestEveryScenarioIsDescribed(t *testing.T) {
	for _, s := range allScenarios() {
		if s.kind == limitsRun {
			if s.description == "" || s.worker.file != "" || s.workload != nil {
				t.Errorf("%s: a limits scenario has a description and no Worker: %+v", s.name, s)
			}
			continue
		}
		if s.description == "" || s.worker.file == "" || s.readyPath == "" {
			t.Errorf("%s: incomplete %+v", s.name, s)
		}
		if (s.kind == loadRun) != (s.workload != nil) {
			t.Errorf("%s: kind %d with workload %v", s.name, s.kind, s.workload != nil)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRoundRatiosPairRunsOfTheSameRound(t *testing.T) {
	rps := func(x result) float64 { return x.perSecond }
	kiln := []result{{perSecond: 300}, {perSecond: 100}, {perSecond: 900, failure: "x"}, {perSecond: 200}}
	workerd := []result{{perSecond: 100}, {perSecond: 100}, {perSecond: 100}, {perSecond: 50}}
	// Rounds 1, 2 and 4 pass: ratios 3, 1 and 4; round 3 is left out.
	if got, want := roundRatios(kiln, workerd, rps), " (rounds 1.00–4.00)"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := roundRatios(kiln[:1], workerd[:1], rps); got != "" {
		t.Fatalf("one round gives a range: %q", got)
	}
}

func TestStatCPUTime(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (work (er) d) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 1000 200"
	got, err := statCPUTime(stat)
	if err != nil || got != 3250*time.Millisecond {
		t.Fatalf("statCPUTime = %v, %v; want 3.25s", got, err)
	}
	for _, bad := range []string{"4242 work S 1", "4242 (w) S 1 2 3", "4242 (w) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 75 0"} {
		if _, err := statCPUTime(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestReportCPUPerRequest(t *testing.T) {
	r := &report{started: time.Now(), rounds: 1, duration: time.Second}
	r.add("kv-get", 32, "kiln", result{perSecond: 30000, serverCPU: 30 * time.Microsecond, loadCPU: 4 * time.Microsecond, idle: 0.05, cpuOK: true})
	r.add("kv-get", 32, "workerd", result{perSecond: 7000, serverCPU: 120 * time.Microsecond, loadCPU: 5 * time.Microsecond, idle: 0.4, cpuOK: true})
	// A round whose CPU reading failed counts for its throughput only.
	r.add("hello", 32, "kiln", result{perSecond: 1, serverCPU: 60 * time.Microsecond, loadCPU: 6 * time.Microsecond, cpuOK: true})
	r.add("hello", 32, "kiln", result{perSecond: 1})
	r.add("hello", 32, "workerd", result{perSecond: 1})
	r.add("cold-start", 1, "kiln", result{coldStart: time.Millisecond})
	r.add("cold-start", 1, "workerd", result{coldStart: time.Millisecond})
	md := written(t, r)
	for _, want := range []string{"| kv-get | 32 | 30.0 | 120.0 | 0.25× | 4.0 / 5.0 | 5 / 40 |", "| hello | 32 | 60.0 | n/a | n/a | 6.0 / n/a | 0 / n/a |"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("the CPU table lacks %q:\n%s", want, md)
		}
	}
	if bytes.Contains(md, []byte("| cold-start | 1 | 0.0")) {
		t.Errorf("cold-start has a CPU row:\n%s", md)
	}
}

func TestParseCPULine(t *testing.T) {
	got, err := parseCPULine("cpu  100 5 50 800 40 3 2 1 70 0")
	if err != nil || got != (cpuTicks{total: 1001, idle: 840}) {
		t.Fatalf("parseCPULine = %+v, %v", got, err)
	}
	for _, bad := range []string{"cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8"} {
		if _, err := parseCPULine(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := machineCPU(); err != nil {
		t.Fatal(err)
	}
}

func TestFirstAnswersSplitsTheRun(t *testing.T) {
	f := newFirstAnswers(3, 2)
	f.begin(time.Now())
	f.answered(0, 0)
	f.answered(1, 0) // the same object again
	f.answered(1, 1)
	if _, _, ok := f.split(); ok {
		t.Fatal("split before every object was answered")
	}
	f.answered(0, 2)
	f.answered(0, 1)
	f.answered(1, 2)
	f.answered(1, 0)
	created, after, ok := f.split()
	if !ok || created <= 0 || after != 3 {
		t.Fatalf("split = %v, %d, %v; want a time, 3 answers after it, true", created, after, ok)
	}
	if counterWorkload(1)(4).firsts != nil || counterWorkload(1000)(4).firsts == nil {
		t.Fatal("only a run over many objects is split")
	}
}

func TestReportNewObjects(t *testing.T) {
	newObjects := func(workerd2 result) []byte {
		r := &report{started: time.Now(), rounds: 2, duration: time.Second}
		r.add("counter-1000", 32, "kiln", result{perSecond: 5000, created: 1200 * time.Millisecond, afterPerSecond: 6000})
		r.add("counter-1000", 32, "kiln", result{perSecond: 5000, created: 1000 * time.Millisecond, afterPerSecond: 8000})
		r.add("counter-1000", 32, "workerd", result{perSecond: 1500, created: 1500 * time.Millisecond, afterPerSecond: 2000})
		r.add("counter-1000", 32, "workerd", workerd2)
		r.add("hello", 32, "kiln", result{perSecond: 1})
		r.add("hello", 32, "workerd", result{perSecond: 1})
		return written(t, r)
	}
	md := newObjects(result{perSecond: 1500, created: 1300 * time.Millisecond, afterPerSecond: 2500})
	want := "| counter-1000 | 32 | 1.10 | 1.40 | 7000 | 2250 | 3.11× (rounds 3.00–3.20) |"
	if !bytes.Contains(md, []byte("## Objects new to the run")) || !bytes.Contains(md, []byte(want)) {
		t.Fatalf("the new-objects table lacks %q:\n%s", want, md)
	}
	_, section, _ := bytes.Cut(md, []byte("## Objects new to the run"))
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	if bytes.Contains(section, []byte("| hello |")) {
		t.Errorf("hello has a new-objects row:\n%s", section)
	}
	// A round in which some object never answered has no split.
	md = newObjects(result{perSecond: 1500})
	if want := "| counter-1000 | 32 | 1.10 | 1.50 | 7000 | 2000 | 3.50× |"; !bytes.Contains(md, []byte(want)) {
		t.Fatalf("the new-objects table lacks %q:\n%s", want, md)
	}
	r := &report{started: time.Now(), rounds: 1, duration: time.Second}
	r.add("counter-1000", 32, "kiln", result{perSecond: 5000, created: time.Second, afterPerSecond: 6000})
	r.add("counter-1000", 32, "workerd", result{perSecond: 1500})
	if want := "| counter-1000 | 32 | 1.00 | n/a | 6000 | n/a | n/a |"; !bytes.Contains(written(t, r), []byte(want)) {
		t.Fatalf("the new-objects table lacks %q:\n%s", want, written(t, r))
	}
	r = &report{started: time.Now(), rounds: 1, duration: time.Second}
	r.add("hello", 32, "kiln", result{perSecond: 1})
	r.add("hello", 32, "workerd", result{perSecond: 1})
	if md := written(t, r); bytes.Contains(md, []byte("## Objects new to the run")) {
		t.Errorf("a report without such runs has the section:\n%s", md)
	}
}
