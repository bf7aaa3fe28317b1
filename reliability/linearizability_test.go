package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability tests: concurrent HTTP clients run get / put /
// compare-and-set on single-object registers and inc / get on counters, each
// object a Durable Object, and the history of every object is checked with
// porcupine against a sequential model. Objects are evicted as soon as they
// are idle (--do-idle-timeout 1ms), and the kiln process is killed (SIGKILL)
// or stopped (SIGINT) while operations are in flight, then started again on
// the same data: a history spans every process of the run.

// linWorker is the Worker under test. Every class answers one RPC method,
// op(name, a, b), with {v, ok, fresh}: fresh says the operation was the
// first event of a new activation (the object had been evicted, or the
// process restarted), so the test can show that evictions did happen.
const linWorker = `
import { DurableObject } from "cloudflare:workers";

class Base extends DurableObject {
	constructor(ctx, env) {
		super(ctx, env);
		this.served = 0;
	}
	fresh() { return this.served++ === 0; }
}

// A register on the storage KV API. A compare-and-set is a get, a compare
// and a put in one event: the input gate keeps other events out while the
// storage calls are awaited.
export class Register extends Base {
	async op(op, a, b) {
		const fresh = this.fresh();
		const s = this.ctx.storage;
		switch (op) {
		case "get":
			return { v: (await s.get("v")) ?? "", fresh };
		case "put":
			await s.put("v", a);
			return { fresh };
		case "cas": {
			const cur = (await s.get("v")) ?? "";
			if (cur !== a) return { ok: false, v: cur, fresh };
			await s.put("v", b);
			return { ok: true, fresh };
		}
		}
		throw new Error("unknown op " + op);
	}
}

// The same register on the SQL API.
export class SQLRegister extends Base {
	constructor(ctx, env) {
		super(ctx, env);
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS reg (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
	}
	read() {
		const rows = this.ctx.storage.sql.exec("SELECT v FROM reg WHERE k = 0").toArray();
		return rows.length ? rows[0].v : "";
	}
	write(v) {
		this.ctx.storage.sql.exec("INSERT INTO reg (k, v) VALUES (0, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", v);
	}
	op(op, a, b) {
		const fresh = this.fresh();
		switch (op) {
		case "get":
			return { v: this.read(), fresh };
		case "put":
			this.write(a);
			return { fresh };
		case "cas": {
			const cur = this.read();
			if (cur !== a) return { ok: false, v: cur, fresh };
			this.write(b);
			return { ok: true, fresh };
		}
		}
		throw new Error("unknown op " + op);
	}
}

export class Counter extends Base {
	async op(op) {
		const fresh = this.fresh();
		const s = this.ctx.storage;
		let n = (await s.get("n")) ?? 0;
		if (op === "inc") {
			n++;
			await s.put("n", n);
		} else if (op !== "get") {
			throw new Error("unknown op " + op);
		}
		return { v: n, fresh };
	}
}

// A deliberately broken register: its compare-and-set awaits something
// other than storage between the read and the write, which opens the input
// gate. The thing awaited is a rendezvous with the next compare-and-set, so
// two concurrent ones both read before either writes, every time: no timing
// is involved.
export class RacyRegister extends Base {
	pair() {
		if (this.waiting) {
			const other = this.waiting;
			this.waiting = null;
			other();
			return Promise.resolve();
		}
		return new Promise((resolve) => { this.waiting = resolve; });
	}
	async op(op, a, b) {
		const fresh = this.fresh();
		const s = this.ctx.storage;
		switch (op) {
		case "get":
			return { v: (await s.get("v")) ?? "", fresh };
		case "put":
			await s.put("v", a);
			return { fresh };
		case "cas": {
			const cur = (await s.get("v")) ?? "";
			await this.pair();
			if (cur !== a) return { ok: false, v: cur, fresh };
			await s.put("v", b);
			return { ok: true, fresh };
		}
		}
		throw new Error("unknown op " + op);
	}
}

export default {
	async fetch(request, env) {
		const url = new URL(request.url);
		const [, kind, name] = url.pathname.split("/");
		const ns = { reg: env.REG, sqlreg: env.SQLREG, ctr: env.CTR, racy: env.RACY }[kind];
		if (!ns || !name) return new Response("no such object", { status: 404 });
		const q = url.searchParams;
		const result = await ns.getByName(name).op(q.get("op"), q.get("a") ?? "", q.get("b") ?? "");
		return new Response(JSON.stringify(result), { headers: { "content-type": "application/json" } });
	},
};
`

const linConfig = `
name = "linearizability"
main = "src/index.js"
compatibility_date = "2026-11-01"

[[durable_objects.bindings]]
name = "REG"
class_name = "Register"

[[durable_objects.bindings]]
name = "SQLREG"
class_name = "SQLRegister"

[[durable_objects.bindings]]
name = "CTR"
class_name = "Counter"

[[durable_objects.bindings]]
name = "RACY"
class_name = "RacyRegister"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Register", "SQLRegister", "Counter", "RacyRegister"]
`

// linInput is an operation as the client called it: Op is get, put or cas
// on a register, inc or get on a counter; A is the value put or the value
// expected by cas, B the value cas sets.
type linInput struct {
	Op   string
	A, B string
}

// linOutput is what the operation answered. Unknown marks an operation whose
// outcome the client never learnt (the process died or shut down while it
// was in flight): it may or may not have taken effect, and any answer is
// acceptable. Such operations return at the end of the whole history.
type linOutput struct {
	Unknown bool
	OK      bool   // cas
	V       string // register value: get, and the value a failed cas saw
	N       int64  // counter value: inc (the new value) and get
}

// registerModel is a register holding a string, "" at first.
var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(linInput), output.(linOutput)
		switch in.Op {
		case "get":
			return out.Unknown || out.V == s, s
		case "put":
			return true, in.A
		case "cas":
			if s == in.A {
				return out.Unknown || out.OK, in.B
			}
			return out.Unknown || (!out.OK && out.V == s), s
		}
		return false, s
	},
	DescribeOperation: describeLinOp,
	DescribeState:     func(state any) string { return strconv.Quote(state.(string)) },
}

// counterModel is a counter starting at 0.
var counterModel = porcupine.Model{
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		n, in, out := state.(int64), input.(linInput), output.(linOutput)
		switch in.Op {
		case "inc":
			return out.Unknown || out.N == n+1, n + 1
		case "get":
			return out.Unknown || out.N == n, n
		}
		return false, n
	},
	DescribeOperation: describeCounterOp,
	DescribeState:     func(state any) string { return strconv.FormatInt(state.(int64), 10) },
}

func describeLinOp(input, output any) string {
	in, out := input.(linInput), output.(linOutput)
	switch {
	case in.Op == "put":
		return fmt.Sprintf("put(%q)", in.A)
	case in.Op == "cas" && out.Unknown:
		return fmt.Sprintf("cas(%q, %q) -> ?", in.A, in.B)
	case in.Op == "cas" && out.OK:
		return fmt.Sprintf("cas(%q, %q) -> ok", in.A, in.B)
	case in.Op == "cas":
		return fmt.Sprintf("cas(%q, %q) -> failed, saw %q", in.A, in.B, out.V)
	case out.Unknown:
		return in.Op + "() -> ?"
	}
	return fmt.Sprintf("get() -> %q", out.V)
}

func describeCounterOp(input, output any) string {
	in, out := input.(linInput), output.(linOutput)
	if out.Unknown {
		return in.Op + "() -> ?"
	}
	return fmt.Sprintf("%s() -> %d", in.Op, out.N)
}

// linObject is one object under test and its history.
type linObject struct {
	path    string // "/reg/a"
	counter bool

	mu  sync.Mutex
	ops []porcupine.Operation
}

func (o *linObject) model() porcupine.Model {
	if o.counter {
		return counterModel
	}
	return registerModel
}

func (o *linObject) record(op porcupine.Operation) {
	o.mu.Lock()
	o.ops = append(o.ops, op)
	o.mu.Unlock()
}

// summary counts the operations of the history by kind and outcome.
func (o *linObject) summary() string {
	counts := map[string]int{}
	for _, op := range o.ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		k := in.Op
		switch {
		case out.Unknown:
			k += " unknown"
		case in.Op == "cas" && out.OK:
			k += " ok"
		case in.Op == "cas":
			k += " failed"
		}
		counts[k]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations:", len(o.ops))
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %d,", k, counts[k])
	}
	return strings.TrimSuffix(b.String(), ",")
}

// unknownReturn marks the return time of an operation with an unknown
// outcome until the history is complete; it is then replaced by a time
// after every other event.
const unknownReturn = math.MaxInt64

// linHarness runs clients against a kiln and records their histories.
type linHarness struct {
	t     *testing.T
	start time.Time
	// fresh counts operations that were the first event of an activation.
	fresh atomic.Int64
}

func (h *linHarness) now() int64 { return time.Since(h.start).Nanoseconds() }

// linReply is the Worker's JSON answer.
type linReply struct {
	V     json.RawMessage `json:"v"`
	OK    bool            `json:"ok"`
	Fresh bool            `json:"fresh"`
}

// do performs one operation and records it in obj's history. It returns the
// output and the error, if the outcome is unknown. Requests are POSTs, which
// net/http never retries on its own: a retried put could take effect twice.
func (h *linHarness) do(client *http.Client, base string, clientID int, obj *linObject, in linInput) (linOutput, error) {
	q := url.Values{"op": {in.Op}}
	if in.Op == "put" || in.Op == "cas" {
		q.Set("a", in.A)
	}
	if in.Op == "cas" {
		q.Set("b", in.B)
	}
	target := base + obj.path + "?" + q.Encode()
	call := h.now()
	out, err := h.roundTrip(client, target, obj.counter)
	ret := h.now()
	if err != nil {
		out, ret = linOutput{Unknown: true}, unknownReturn
	}
	obj.record(porcupine.Operation{ClientId: clientID, Input: in, Call: call, Output: out, Return: ret})
	return out, err
}

func (h *linHarness) roundTrip(client *http.Client, target string, counter bool) (linOutput, error) {
	resp, err := client.Post(target, "", nil)
	if err != nil {
		return linOutput{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return linOutput{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return linOutput{}, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var r linReply
	if err := json.Unmarshal(body, &r); err != nil {
		return linOutput{}, fmt.Errorf("answer %q: %v", body, err)
	}
	if r.Fresh {
		h.fresh.Add(1)
	}
	out := linOutput{OK: r.OK}
	if len(r.V) > 0 {
		if counter {
			err = json.Unmarshal(r.V, &out.N)
		} else {
			err = json.Unmarshal(r.V, &out.V)
		}
		if err != nil {
			return linOutput{}, fmt.Errorf("answer %q: %v", body, err)
		}
	}
	return out, nil
}

// phaseEnd is how a phase ends.
type phaseEnd int

const (
	endDrain phaseEnd = iota // every operation completes; the process stays up
	endKill                  // SIGKILL after a number of acknowledged operations
	endStop                  // SIGINT after a number of acknowledged operations
)

func (e phaseEnd) String() string {
	return [...]string{"drain", "kill -9", "stop (SIGINT)"}[e]
}

type phaseStats struct {
	acked, unknown int
}

// runPhase runs clients clients against p until ops operations have been
// started, or until the phase's end: with endKill or endStop, the client
// whose answer is the at-th acknowledged one kills or stops the process,
// while the others are in the middle of their operations. Operations that
// fail before that are errors of the test.
func (h *linHarness) runPhase(p *kilnProc, objs []*linObject, clients, ops int, end phaseEnd, at int, seed uint64, phase int) phaseStats {
	t := h.t
	var (
		started, acked, unknown atomic.Int64
		ending                  atomic.Bool
		endOnce                 sync.Once
		wg                      sync.WaitGroup
		errMu                   sync.Mutex
		errs                    []string
	)
	finish := func() {
		endOnce.Do(func() {
			ending.Store(true)
			if end == endKill {
				p.Kill()
			} else {
				p.Stop()
			}
		})
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(phase*1000+c)))
			client := newClient(1)
			defer client.CloseIdleConnections()
			seen := make([]string, len(objs)) // the last value this client saw, per register
			follow := -1                      // a register read that a cas is to follow
			for n := 0; !ending.Load() && started.Add(1) <= int64(ops); n++ {
				i := rng.IntN(len(objs))
				if follow >= 0 {
					i = follow
				}
				obj := objs[i]
				unique := fmt.Sprintf("p%d.c%d.%d", phase, c, n)
				var in linInput
				r := rng.IntN(100)
				switch {
				case follow >= 0:
					// Read-modify-write: expects the value just read,
					// competing with the other clients doing the same.
					in = linInput{Op: "cas", A: seen[i], B: unique}
					follow = -1
				case obj.counter && r < 60:
					in = linInput{Op: "inc"}
				case obj.counter:
					in = linInput{Op: "get"}
				case r < 30:
					in = linInput{Op: "get"}
				case r < 55:
					in = linInput{Op: "put", A: unique}
				case r < 75:
					// Expects the last value this client saw, often stale.
					in = linInput{Op: "cas", A: seen[i], B: unique}
				default:
					in = linInput{Op: "get"}
					follow = i
				}
				out, err := h.do(client, p.URL, c, obj, in)
				if err != nil {
					unknown.Add(1)
					if !ending.Load() {
						errMu.Lock()
						errs = append(errs, fmt.Sprintf("client %d: %s %s: %v", c, obj.path, in.Op, err))
						errMu.Unlock()
					}
					follow = -1
					continue
				}
				switch {
				case in.Op == "put" || (in.Op == "cas" && out.OK):
					seen[i] = in.A
					if in.Op == "cas" {
						seen[i] = in.B
					}
				case !obj.counter:
					seen[i] = out.V
				}
				if k := acked.Add(1); end != endDrain && k == int64(at) {
					finish()
				}
			}
		}()
	}
	wg.Wait()
	if end != endDrain {
		// Fewer acknowledgements than planned (only if operations failed):
		// end the process all the same.
		finish()
	}
	if len(errs) > 0 {
		if len(errs) > 10 {
			errs = append(errs[:10], fmt.Sprintf("... and %d more", len(errs)-10))
		}
		t.Errorf("phase %d: operations failed while kiln was up:\n%s\nkiln output:\n%s", phase, strings.Join(errs, "\n"), p.Output())
	}
	return phaseStats{acked: int(acked.Load()), unknown: int(unknown.Load())}
}

// checkHistories completes and checks the history of every object. It
// returns the number of operations checked.
func checkHistories(t *testing.T, objs []*linObject, wantIllegal bool) int {
	t.Helper()
	total := 0
	for _, obj := range objs {
		ops := obj.ops
		var last int64
		for _, op := range ops {
			last = max(last, op.Call)
			if op.Return != unknownReturn {
				last = max(last, op.Return)
			}
		}
		for i := range ops {
			if ops[i].Return == unknownReturn {
				ops[i].Return = last + 1
			}
		}
		total += len(ops)
		res, info := porcupine.CheckOperationsVerbose(obj.model(), ops, 30*time.Second)
		illegal := res == porcupine.Illegal
		if res == porcupine.Unknown || illegal != wantIllegal {
			path := writeVisualization(t, obj, info)
			t.Errorf("%s: %d operations: porcupine says %s (want %s); visualization: %s",
				obj.path, len(ops), res, map[bool]string{false: "ok", true: "illegal"}[wantIllegal], path)
		}
	}
	return total
}

// writeVisualization writes porcupine's HTML view of a history to a
// directory that outlives the test, and returns its path.
func writeVisualization(t *testing.T, obj *linObject, info porcupine.LinearizationInfo) string {
	dir := os.Getenv("KILN_TEST_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "kiln-linearizability-"+strings.ReplaceAll(strings.Trim(obj.path, "/"), "/", "-")+"-*.html")
	if err != nil {
		t.Logf("cannot write the visualization: %v", err)
		return "(none)"
	}
	defer f.Close()
	if err := porcupine.Visualize(obj.model(), info, f); err != nil {
		t.Logf("cannot write the visualization: %v", err)
	}
	return filepath.Clean(f.Name())
}

// linSeed is the seed of a run: KILN_TEST_SEED if set, else the clock.
func linSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KILN_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KILN_TEST_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (set KILN_TEST_SEED to repeat the choices)", seed)
	return seed
}

func linProject(t *testing.T) (dir, persist string) {
	dir = writeProject(t, map[string]string{"wrangler.toml": linConfig, "src/index.js": linWorker})
	return dir, t.TempDir()
}

func startLinKiln(t *testing.T, dir, persist string) *kilnProc {
	return startKiln(t, "dev", "--port", "0", "--persist-to", persist, "--config", dir+"/wrangler.toml", "--do-idle-timeout", "1ms")
}

// TestLinearizability runs the workload in phases on one data directory:
// each phase ends with the process killed (SIGKILL) or stopped (SIGINT)
// while operations are in flight, except the last, and the next phase starts
// a new process. The history of each object, over all phases, must be
// linearizable.
func TestLinearizability(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kiln through several restarts")
	}
	const (
		clients  = 12
		perPhase = 1500
	)
	seed := linSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir, persist := linProject(t)
	objs := []*linObject{
		{path: "/reg/a"}, {path: "/reg/b"}, {path: "/reg/c"},
		{path: "/sqlreg/d"}, {path: "/sqlreg/e"},
		{path: "/ctr/f", counter: true}, {path: "/ctr/g", counter: true},
	}
	ends := []phaseEnd{endKill, endKill, endStop, endKill, endDrain}
	h := &linHarness{t: t, start: time.Now()}
	var kills, stops, unknown, acked int
	for phase, end := range ends {
		phaseStart := time.Now()
		p := startLinKiln(t, dir, persist)
		ready := time.Since(phaseStart)
		at := 0
		if end != endDrain {
			at = perPhase/4 + rng.IntN(perPhase/2)
		}
		st := h.runPhase(p, objs, clients, perPhase, end, at, seed, phase)
		switch end {
		case endKill:
			kills++
		case endStop:
			stops++
		default:
			p.Stop()
		}
		unknown += st.unknown
		acked += st.acked
		took := fmt.Sprintf("(start %v, phase %v)", ready.Round(time.Millisecond), time.Since(phaseStart).Round(time.Millisecond))
		if end == endDrain {
			t.Logf("phase %d: %d operations, all acknowledged %s", phase, st.acked, took)
		} else {
			t.Logf("phase %d: %s after %d acknowledged operations: %d operations in flight had an unknown outcome %s", phase, end, at, st.unknown, took)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	checkStart := time.Now()
	total := checkHistories(t, objs, false)
	for _, obj := range objs {
		t.Logf("%s: %s", obj.path, obj.summary())
	}
	t.Logf("porcupine took %v", time.Since(checkStart).Round(time.Millisecond))
	t.Logf("histories checked: %d (one per object, across %d processes), %d operations (%d acknowledged, %d with unknown outcome); "+
		"%d kills (SIGKILL), %d clean stops (SIGINT), %d restarts; %d operations ran in a fresh activation (after an eviction or a restart)",
		len(objs), len(ends), total, acked, unknown, kills, stops, len(ends)-1, h.fresh.Load())
}

// TestLinearizabilityCheckerCatchesRacyCAS shows that the check can fail: a
// register whose compare-and-set lets another event in between its read and
// its write (RacyRegister) produces histories porcupine rejects, while the
// same workload on the correct Register passes. Each round sends two
// concurrent compare-and-sets expecting the same value, then a get.
func TestLinearizabilityCheckerCatchesRacyCAS(t *testing.T) {
	dir, persist := linProject(t)
	p := startLinKiln(t, dir, persist)
	h := &linHarness{t: t, start: time.Now()}
	const rounds = 5
	for _, tc := range []struct {
		path    string
		illegal bool
	}{{"/reg/pairs", false}, {"/racy/pairs", true}} {
		obj := &linObject{path: tc.path}
		client := newClient(2)
		cur := ""
		for r := range rounds {
			var wg sync.WaitGroup
			for c := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := h.do(client, p.URL, c, obj, linInput{Op: "cas", A: cur, B: fmt.Sprintf("r%d.c%d", r, c)}); err != nil {
						t.Errorf("%s: cas: %v", tc.path, err)
					}
				}()
			}
			wg.Wait()
			out, err := h.do(client, p.URL, 0, obj, linInput{Op: "get"})
			if err != nil {
				t.Fatalf("%s: get: %v", tc.path, err)
			}
			cur = out.V
		}
		succeeded := 0
		for _, op := range obj.ops {
			if op.Input.(linInput).Op == "cas" && op.Output.(linOutput).OK {
				succeeded++
			}
		}
		// Deterministic: the rendezvous makes both of a racy pair read
		// before either writes, and the input gate lets one of a correct
		// pair succeed.
		if want := map[bool]int{false: rounds, true: 2 * rounds}[tc.illegal]; succeeded != want {
			t.Errorf("%s: %d compare-and-sets succeeded, want %d", tc.path, succeeded, want)
		}
		checkHistories(t, []*linObject{obj}, tc.illegal)
		t.Logf("%s: %d rounds of two concurrent compare-and-sets: %d succeeded; want the history judged illegal: %v", tc.path, rounds, succeeded, tc.illegal)
	}
}
