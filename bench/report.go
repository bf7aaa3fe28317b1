package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

// report collects the rounds of every scenario and writes RESULTS.md.
type report struct {
	started   time.Time
	machine   string
	goVersion string
	workerd   string
	duration  time.Duration
	rounds    int
	order     []cell
	runs      map[cell]map[string][]result // runtime name -> rounds
}

// cell is one row of the report: a scenario at one connection count.
type cell struct {
	scenario string
	conns    int
}

func (r *report) add(scenario string, conns int, runtime string, res result) {
	if r.runs == nil {
		r.runs = map[cell]map[string][]result{}
	}
	c := cell{scenario, conns}
	if r.runs[c] == nil {
		r.runs[c] = map[string][]result{}
		r.order = append(r.order, c)
	}
	r.runs[c][runtime] = append(r.runs[c][runtime], res)
}

func (r *report) failed() bool {
	for _, byRuntime := range r.runs {
		for _, rounds := range byRuntime {
			for _, res := range rounds {
				if res.failure != "" {
					return true
				}
			}
		}
	}
	return false
}

// medianResult takes the median of each figure over the rounds that passed.
func medianResult(rounds []result) (result, int) {
	var ok []result
	for _, r := range rounds {
		if r.failure == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return result{}, 0
	}
	med := func(f func(result) float64) float64 { return median(ok, f) }
	m := result{
		perSecond: med(func(r result) float64 { return r.perSecond }),
		p50:       time.Duration(med(func(r result) float64 { return float64(r.p50) })),
		p99:       time.Duration(med(func(r result) float64 { return float64(r.p99) })),
		rssBytes:  int64(med(func(r result) float64 { return float64(r.rssBytes) })),
		coldStart: time.Duration(med(func(r result) float64 { return float64(r.coldStart) })),
		rssBefore: int64(med(func(r result) float64 { return float64(r.rssBefore) })),
		perItem:   med(func(r result) float64 { return r.perItem }),
		setup:     time.Duration(med(func(r result) float64 { return float64(r.setup) })),
		bcastP50:  time.Duration(med(func(r result) float64 { return float64(r.bcastP50) })),
		bcastMax:  time.Duration(med(func(r result) float64 { return float64(r.bcastMax) })),

		fsyncPerSecond: med(func(r result) float64 { return r.fsyncPerSecond }),
		fsyncMean:      time.Duration(med(func(r result) float64 { return float64(r.fsyncMean) })),
		createMean:     time.Duration(med(func(r result) float64 { return float64(r.createMean) })),
	}
	// CPU figures over the rounds that measured them: a round whose
	// reading failed has none, not zero.
	var measured []result
	for _, r := range ok {
		if r.cpuOK {
			measured = append(measured, r)
		}
	}
	var split []result
	for _, r := range ok {
		if r.created > 0 {
			split = append(split, r)
		}
	}
	if len(split) > 0 {
		m.created = time.Duration(median(split, func(r result) float64 { return float64(r.created) }))
		m.afterPerSecond = median(split, func(r result) float64 { return r.afterPerSecond })
	}
	if len(measured) > 0 {
		m.serverCPU = time.Duration(median(measured, func(r result) float64 { return float64(r.serverCPU) }))
		m.loadCPU = time.Duration(median(measured, func(r result) float64 { return float64(r.loadCPU) }))
		m.idle = median(measured, func(r result) float64 { return r.idle })
		m.cpuOK = true
	}
	return m, len(ok)
}

// median is the median of f over rs (not empty).
func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// roundRatios is the range of the kiln/workerd ratios of single rounds
// (both runs of the round passed), e.g. " (1.9–2.6)": on a noisy machine a
// round's two runs share its conditions more than two medians do.
func roundRatios(kiln, workerd []result, figure func(result) float64) string {
	lo, hi, n := 0.0, 0.0, 0
	for i := range min(len(kiln), len(workerd)) {
		k, w := kiln[i], workerd[i]
		if k.failure != "" || w.failure != "" || figure(k) == 0 || figure(w) == 0 {
			continue
		}
		q := figure(k) / figure(w)
		if n == 0 || q < lo {
			lo = q
		}
		if n == 0 || q > hi {
			hi = q
		}
		n++
	}
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" (rounds %.2f–%.2f)", lo, hi)
}

func (r *report) write(path string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# kiln vs workerd\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench` on %s.\n\n", r.started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s\n- Go: %s; workerd %s (npm); kiln: this checkout, `kiln dev`\n", r.machine, r.goVersion, r.workerd)
	fmt.Fprintf(&b, "- Each load run: %s closed loop, one keep-alive connection per client, GET only (kv-put passes its key and value in the query string); %d rounds, kiln then workerd in each round, each on a fresh process and data directory. Figures are medians of the rounds.\n", r.duration, r.rounds)
	fmt.Fprintf(&b, "- Durable Object storage: kiln's SQLite file per object (WAL, fsync before the reply); workerd's `localDisk` service (except idle-objects, below).\n")
	fmt.Fprintf(&b, "- KV: kiln's own namespace, a SQLite file under `--persist-to` (WAL, synchronous=FULL: a put returns once its group commit is on disk). workerd has no KV store of its own, so it is given one the way Miniflare does it: its `kvNamespace` binding points at a service Worker (`bench/workers/%s`) that speaks the binding's HTTP protocol and keeps the namespace in one Durable Object with `localDisk` storage; every KV call there is two in-process hops (Worker, KV service, its object).\n", kvServiceFile)
	fmt.Fprintf(&b, "- Correctness: every run must answer only 2xx and pass its scenario's check (below); a failed run is listed and left out of the medians.\n")

	var load, idle, fan, lim []cell
	for _, c := range r.order {
		switch scenarioByName(c.scenario).kind {
		case limitsRun:
			lim = append(lim, c)
		case idleObjects:
			idle = append(idle, c)
		case wsFanout:
			fan = append(fan, c)
		default:
			load = append(load, c)
		}
	}
	if len(load) > 0 {
		b.WriteString("\n## Requests\n\n")
		b.WriteString("| scenario | conns | kiln req/s | workerd req/s | ratio | kiln p50 / p99 ms | workerd p50 / p99 ms | kiln RSS MiB | workerd RSS MiB |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range load {
			k, kn := medianResult(r.runs[c]["kiln"])
			w, wn := medianResult(r.runs[c]["workerd"])
			if scenarioByName(c.scenario).kind == loadRun {
				fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", c.scenario, c.conns,
					fig(kn, "%.0f", k.perSecond), fig(wn, "%.0f", w.perSecond),
					ratio(k.perSecond, w.perSecond)+roundRatios(r.runs[c]["kiln"], r.runs[c]["workerd"], func(x result) float64 { return x.perSecond }),
					latencies(kn, k), latencies(wn, w), fig(kn, "%.1f", mib(k.rssBytes)), fig(wn, "%.1f", mib(w.rssBytes)))
			} else {
				fmt.Fprintf(&b, "| %s | — | %s ms | %s ms | %s | | | %s | %s |\n", c.scenario,
					fig(kn, "%.1f", ms(k.coldStart)), fig(wn, "%.1f", ms(w.coldStart)),
					ratio(ms(k.coldStart), ms(w.coldStart))+roundRatios(r.runs[c]["kiln"], r.runs[c]["workerd"], func(x result) float64 { return ms(x.coldStart) }),
					fig(kn, "%.1f", mib(k.rssBytes)), fig(wn, "%.1f", mib(w.rssBytes)))
			}
		}
		b.WriteString("\nRatio: kiln / workerd of the medians (above 1 means kiln serves more requests per second; for cold-start it is the time ratio, below 1 means kiln starts faster); in brackets, the lowest and highest ratio of a single round's two runs.\n")
		r.writeCPU(&b, load)
		r.writeNewObjects(&b, load)
	}
	if len(lim) > 0 {
		r.writeLimits(&b, lim, load)
	}
	if len(idle) > 0 {
		b.WriteString("\n## Idle Durable Objects\n\n")
		b.WriteString("| scenario | objects | kiln RSS before → after MiB | workerd RSS before → after MiB | kiln KiB per object | workerd KiB per object | ratio | kiln creation s | workerd creation s |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range idle {
			k, kn := medianResult(r.runs[c]["kiln"])
			w, wn := medianResult(r.runs[c]["workerd"])
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.scenario, thousands(idleObjectCount),
				rssRange(kn, k), rssRange(wn, w), fig(kn, "%.2f", kib(k.perItem)), fig(wn, "%.2f", kib(w.perItem)), ratio(k.perItem, w.perItem),
				fig(kn, "%.1f", k.setup.Seconds()), fig(wn, "%.1f", w.setup.Seconds()))
		}
		b.WriteString("\nStorage: kiln's objects have kiln's usual on-disk storage, which an object opens only when it first calls it, so none is open here. workerd's namespace has `inMemory` storage in this scenario, not `localDisk`: with `localDisk`, workerd opens each object's SQLite database on disk as the object starts, whether it calls storage or not, which takes about three file descriptors per object (10,000 objects exceed a 20,000 open-file limit) and (in a trial with 5,000 objects when this scenario was written) about 230 KiB of RSS per object.\n")
		b.WriteString("\nRatio: kiln / workerd memory per object (below 1 means kiln needs less). kiln's budget is at most 4 KiB of heap per idle object above the runtime. An RSS difference is not a heap figure: for kiln it includes the Go collector's headroom (the heap may grow to twice the live heap at the default GOGC before a collection) and it misses memory freed by the warm-up and reused, so read it as an approximate upper bound on the heap per object.\n")
	}
	if len(fan) > 0 {
		b.WriteString("\n## WebSocket fan-out\n\n")
		b.WriteString("| scenario | clients | kiln connect ms | workerd connect ms | kiln broadcast p50 / max ms | workerd broadcast p50 / max ms | ratio | kiln RSS MiB | workerd RSS MiB | kiln KiB per socket | workerd KiB per socket |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range fan {
			k, kn := medianResult(r.runs[c]["kiln"])
			w, wn := medianResult(r.runs[c]["workerd"])
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.scenario, thousands(fanoutClients),
				fig(kn, "%.0f", ms(k.setup)), fig(wn, "%.0f", ms(w.setup)), broadcasts(kn, k), broadcasts(wn, w), ratio(ms(k.bcastP50), ms(w.bcastP50)),
				fig(kn, "%.1f", mib(k.rssBytes)), fig(wn, "%.1f", mib(w.rssBytes)), fig(kn, "%.2f", kib(k.perItem)), fig(wn, "%.2f", kib(w.perItem)))
		}
		b.WriteString("\nRatio: kiln / workerd median broadcast latency (below 1 means kiln delivers faster). Connect is the time to connect every client, ")
		fmt.Fprintf(&b, "%d at a time; RSS is with every client connected, before the broadcasts.\n", fanoutDialers)
	}
	b.WriteString("\nScenarios:\n\n")
	described := map[string]bool{}
	for _, c := range r.order {
		if described[c.scenario] {
			continue
		}
		described[c.scenario] = true
		s := scenarioByName(c.scenario)
		if s.worker.file == "" {
			fmt.Fprintf(&b, "- %s: %s (`bench/limits.go`).\n", s.name, s.description)
			continue
		}
		fmt.Fprintf(&b, "- %s: %s (`bench/workers/%s`).\n", s.name, s.description, s.worker.file)
	}
	var failures []string
	for _, c := range r.order {
		for _, rt := range []string{"machine", "kiln", "workerd"} {
			for i, res := range r.runs[c][rt] {
				if res.failure != "" {
					failures = append(failures, fmt.Sprintf("- %s, %d conns, %s, round %d: %s", c.scenario, c.conns, rt, i+1, res.failure))
				}
			}
		}
	}
	if len(failures) > 0 {
		b.WriteString("\nFailed runs:\n\n")
		for _, f := range failures {
			b.WriteString(f + "\n")
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func rssRange(n int, r result) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf("%.1f → %.1f", mib(r.rssBefore), mib(r.rssBytes))
}

func broadcasts(n int, r result) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf("%.1f / %.1f", ms(r.bcastP50), ms(r.bcastMax))
}

func fig(n int, format string, v float64) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf(format, v)
}

// figIf is fig for a figure only some rounds measure: n/a when the n
// rounds that passed had none (measured false).
func figIf(n int, measured bool, format string, v float64) string {
	if n > 0 && !measured {
		return "n/a"
	}
	return fig(n, format, v)
}

func latencies(n int, r result) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf("%.2f / %.2f", ms(r.p50), ms(r.p99))
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// writeCPU is the CPU time per answered request of each server and of the
// load generator driving it, for the load runs.
func (r *report) writeCPU(b *bytes.Buffer, load []cell) {
	b.WriteString("\n## CPU per request\n\n")
	b.WriteString("| scenario | conns | kiln µs | workerd µs | ratio | load generator µs (kiln run / workerd run) | machine idle % (kiln run / workerd run) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for _, c := range load {
		if scenarioByName(c.scenario).kind != loadRun {
			continue
		}
		k, kn := medianResult(r.runs[c]["kiln"])
		w, wn := medianResult(r.runs[c]["workerd"])
		q := "n/a"
		if k.cpuOK && w.cpuOK {
			q = ratio(us(k.serverCPU), us(w.serverCPU))
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s / %s | %s / %s |\n", c.scenario, c.conns,
			figIf(kn, k.cpuOK, "%.1f", us(k.serverCPU)), figIf(wn, w.cpuOK, "%.1f", us(w.serverCPU)), q,
			figIf(kn, k.cpuOK, "%.1f", us(k.loadCPU)), figIf(wn, w.cpuOK, "%.1f", us(w.loadCPU)),
			figIf(kn, k.cpuOK, "%.0f", 100*k.idle), figIf(wn, w.cpuOK, "%.0f", 100*w.idle))
	}
	b.WriteString("\nCPU time (user and system, every thread) of the server process, and of the load generator, during the run divided by the requests answered; medians of the rounds that measured it (the server's from /proc, in 10 ms ticks; the generator's from getrusage). With `-profile`, kiln's figure includes the profiler and the generator's the fetching of the profile. Machine idle: the share of all CPUs' time that was idle or waiting for I/O during the run (/proc/stat); near 0 means the run was bound by CPU, whoever spent it. Ratio: kiln / workerd, below 1 means kiln spends less CPU per request. The two share the machine's CPUs, so what the generator spends the server cannot; workerd runs a Worker on one thread and kiln on all of them.\n")
}

// writeNewObjects splits the runs whose objects are new to them (the
// 1,000 counters) into the part that created the objects and the part after.
func (r *report) writeNewObjects(b *bytes.Buffer, load []cell) {
	var rows bytes.Buffer
	for _, c := range load {
		k, kn := medianResult(r.runs[c]["kiln"])
		w, wn := medianResult(r.runs[c]["workerd"])
		if k.created == 0 && w.created == 0 {
			continue
		}
		q := "n/a"
		if k.created > 0 && w.created > 0 {
			q = ratio(k.afterPerSecond, w.afterPerSecond) + roundRatios(r.runs[c]["kiln"], r.runs[c]["workerd"], func(x result) float64 { return x.afterPerSecond })
		}
		fmt.Fprintf(&rows, "| %s | %d | %s | %s | %s | %s | %s |\n", c.scenario, c.conns,
			figIf(kn, k.created > 0, "%.2f", k.created.Seconds()), figIf(wn, w.created > 0, "%.2f", w.created.Seconds()),
			figIf(kn, k.created > 0, "%.0f", k.afterPerSecond), figIf(wn, w.created > 0, "%.0f", w.afterPerSecond), q)
	}
	if rows.Len() == 0 {
		return
	}
	b.WriteString("\n## Objects new to the run\n\n")
	b.WriteString("| scenario | conns | kiln: every object answered after s | workerd: every object answered after s | kiln req/s after | workerd req/s after | ratio after |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	b.Write(rows.Bytes())
	b.WriteString("\nThe runs above whose objects are all new to them, split in two: from the start of the load until each object had answered once (its first request activated it and created its storage), and from then to the end, when every request reaches an object that exists. The Requests table's figure covers both; this one shows what creating the objects costs each runtime. Medians of the rounds in which every object answered; n/a where none did.\n")
}

// writeLimits writes the machine's ceilings (the limits scenario) and,
// for each load row of the same run, the share of its ceiling each
// runtime reached.
func (r *report) writeLimits(b *bytes.Buffer, lim, load []cell) {
	b.WriteString("\n## Limits of this machine\n\n")
	b.WriteString("| conns | empty HTTP server req/s | p50 / p99 ms | fsync writers | fsyncs/s (all writers) | µs per fsync | µs per file create |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|\n")
	ceilings := map[int]result{}
	for _, c := range lim {
		m, n := medianResult(r.runs[c]["machine"])
		if n > 0 {
			ceilings[c.conns] = m
		}
		fmt.Fprintf(b, "| %d | %s | %s | %d | %s | %s | %s |\n", c.conns, fig(n, "%.0f", m.perSecond), latencies(n, m), c.conns,
			fig(n, "%.0f", m.fsyncPerSecond), fig(n, "%.0f", float64(m.fsyncMean)/float64(time.Microsecond)),
			fig(n, "%.0f", float64(m.createMean)/float64(time.Microsecond)))
	}
	b.WriteString("\nThe empty HTTP server is Go's net/http alone, in its own process, answering hello.js's response under the same load generator: no server built on Go's net/http, as kiln is, serves more on this machine (another HTTP stack, such as workerd's, is not bound by it). There are as many fsync writers as connections; each overwrites a 4 KiB block of its own file and fsyncs it, as a commit to a Durable Object's reserved WAL does. With 1 writer the rate bounds anything that makes a commit durable before answering, one request at a time; with N writers, anything that needs a separate file's fsync for each of N requests in flight. A file create is the mean time of creating an empty file, one at a time, in a new directory beside the runtimes' data: a Durable Object's first write creates its database and its WAL, so each object new to a run that writes (counter-1000) pays for two.\n")
	var rows []string
	for _, c := range load {
		if scenarioByName(c.scenario).kind != loadRun {
			continue
		}
		ceil, ok := ceilings[c.conns]
		if !ok {
			continue
		}
		k, kn := medianResult(r.runs[c]["kiln"])
		w, wn := medianResult(r.runs[c]["workerd"])
		fsyncBound := fsyncBoundScenario(c.scenario, c.conns)
		share := func(n int, v, of float64) string {
			if n == 0 || of == 0 {
				return "failed"
			}
			return fmt.Sprintf("%.0f%%", 100*v/of)
		}
		fk, fw := "—", "—"
		if fsyncBound {
			fk, fw = share(kn, k.perSecond, ceil.fsyncPerSecond), share(wn, w.perSecond, ceil.fsyncPerSecond)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %s | %s |\n", c.scenario, c.conns,
			share(kn, k.perSecond, ceil.perSecond), share(wn, w.perSecond, ceil.perSecond), fk, fw))
	}
	if len(rows) > 0 {
		b.WriteString("\n| scenario | conns | kiln, share of HTTP ceiling | workerd, share of HTTP ceiling | kiln, share of fsync ceiling | workerd, share of fsync ceiling |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|\n")
		for _, row := range rows {
			b.WriteString(row)
		}
		b.WriteString("\nShare: the scenario's median req/s over the ceiling's median at the same connection count. The fsync ceiling applies where every acknowledged request needs an fsync of its own: a Durable Object counter or a KV put with one connection, and the 1,000 counters, whose requests in flight each touch a different object's file; elsewhere one fsync may cover many requests (group commit) and it is left out.\n")
	}
}

// fsyncBoundScenario reports whether each request of the scenario at
// conns connections needs an fsync that no other request in flight shares.
func fsyncBoundScenario(scenario string, conns int) bool {
	switch scenario {
	case "counter-1000":
		return true
	case "counter-hot", "kv-put":
		return conns == 1
	}
	return false
}
