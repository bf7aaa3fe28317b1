package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
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
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(ok))
		for i, r := range ok {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return result{
		perSecond: med(func(r result) float64 { return r.perSecond }),
		p50:       time.Duration(med(func(r result) float64 { return float64(r.p50) })),
		p99:       time.Duration(med(func(r result) float64 { return float64(r.p99) })),
		rssBytes:  int64(med(func(r result) float64 { return float64(r.rssBytes) })),
		coldStart: time.Duration(med(func(r result) float64 { return float64(r.coldStart) })),
	}, len(ok)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func (r *report) write(path string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# kiln vs workerd\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench` on %s.\n\n", r.started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s\n- Go: %s; workerd %s (npm); kiln: this checkout, `kiln dev`\n", r.machine, r.goVersion, r.workerd)
	fmt.Fprintf(&b, "- Each load run: %s closed loop, one keep-alive connection per client, GET only; %d rounds, kiln then workerd in each round, each on a fresh process and data directory. Figures are medians of the rounds.\n", r.duration, r.rounds)
	fmt.Fprintf(&b, "- Durable Object storage: kiln's SQLite file per object (WAL, fsync before the reply); workerd's `localDisk` service.\n")
	fmt.Fprintf(&b, "- Correctness: every run must answer only 2xx, and each counter must hold exactly the increments acknowledged to the clients; a failed run is listed and left out of the medians.\n\n")
	fmt.Fprintf(&b, "| scenario | conns | kiln req/s | workerd req/s | ratio | kiln p50 / p99 ms | workerd p50 / p99 ms | kiln RSS MiB | workerd RSS MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var failures []string
	for _, c := range r.order {
		k, kn := medianResult(r.runs[c]["kiln"])
		w, wn := medianResult(r.runs[c]["workerd"])
		for rt, rounds := range r.runs[c] {
			for i, res := range rounds {
				if res.failure != "" {
					failures = append(failures, fmt.Sprintf("- %s, %d conns, %s, round %d: %s", c.scenario, c.conns, rt, i+1, res.failure))
				}
			}
		}
		if scenarioByName(c.scenario).load {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", c.scenario, c.conns,
				fig(kn, "%.0f", k.perSecond), fig(wn, "%.0f", w.perSecond), ratio(k.perSecond, w.perSecond),
				latencies(kn, k), latencies(wn, w), fig(kn, "%.1f", mib(k.rssBytes)), fig(wn, "%.1f", mib(w.rssBytes)))
		} else {
			fmt.Fprintf(&b, "| %s | — | %s ms | %s ms | %s | | | %s | %s |\n", c.scenario,
				fig(kn, "%.1f", ms(k.coldStart)), fig(wn, "%.1f", ms(w.coldStart)), ratio(ms(k.coldStart), ms(w.coldStart)),
				fig(kn, "%.1f", mib(k.rssBytes)), fig(wn, "%.1f", mib(w.rssBytes)))
		}
	}
	b.WriteString("\nRatio: kiln / workerd (above 1 means kiln serves more requests per second; for cold-start it is the time ratio, below 1 means kiln starts faster).\n")
	b.WriteString("\nScenarios:\n\n")
	described := map[string]bool{}
	for _, c := range r.order {
		if described[c.scenario] {
			continue
		}
		described[c.scenario] = true
		s := scenarioByName(c.scenario)
		fmt.Fprintf(&b, "- %s: %s (`bench/workers/%s`).\n", s.name, s.description, s.worker.file)
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

func fig(n int, format string, v float64) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf(format, v)
}

func latencies(n int, r result) string {
	if n == 0 {
		return "failed"
	}
	return fmt.Sprintf("%.2f / %.2f", ms(r.p50), ms(r.p99))
}
