package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the command-line settings of one benchmark run.
type options struct {
	rounds         int
	duration       time.Duration
	conns          []int
	scenarios      []string
	out            string
	cache          string
	workerdVersion string
	keep           bool
	// profileDir, when set, receives a CPU profile of kiln for each load
	// run (kiln started with --debug-listen).
	profileDir string
}

// pinnedWorkerd is the workerd release the figures are taken against.
const pinnedWorkerd = "1.20261117.1"

func main() {
	if addr := os.Getenv(emptyHTTPEnv); addr != "" {
		if err := serveEmptyHTTP(addr); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	home, err := os.UserCacheDir()
	if err != nil {
		home = os.TempDir()
	}
	conns := fs.String("conns", "32,1", "client connections per load run, comma-separated")
	scenarios := fs.String("scenarios", strings.Join(scenarioNames(), ","), "scenarios to run, comma-separated")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per scenario; each round runs kiln, then workerd")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one load run")
	fs.StringVar(&o.out, "out", filepath.Join("bench", "RESULTS.md"), "report file")
	fs.StringVar(&o.cache, "cache", filepath.Join(home, "kiln-bench"), "where workerd is installed")
	fs.StringVar(&o.workerdVersion, "workerd", pinnedWorkerd, "workerd version from npm")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directories (configs, data, logs)")
	fs.StringVar(&o.profileDir, "profile", "", "directory for a CPU profile of kiln per load run (scenario-conns-round.pprof)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-conns: %q is not a positive number", c)
		}
		o.conns = append(o.conns, n)
	}
	known := map[string]bool{}
	for _, n := range scenarioNames() {
		known[n] = true
	}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if !known[s] {
			return o, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(scenarioNames(), ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return o, fmt.Errorf("-profile: %w", err)
		}
	}
	if o.rounds < 1 {
		return o, errors.New("-rounds must be at least 1")
	}
	return o, nil
}

func run(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	if !o.keep {
		defer os.RemoveAll(work)
	} else {
		fmt.Println("work directory:", work)
	}
	kilnBin, err := buildKiln(ctx, work)
	if err != nil {
		return err
	}
	workerdBin, err := installWorkerd(ctx, o.cache, o.workerdVersion)
	if err != nil {
		return err
	}
	runtimes := []runtimeUnderTest{
		&kilnRuntime{bin: kilnBin, debug: o.profileDir != ""},
		&workerdRuntime{bin: workerdBin},
	}
	rep := &report{
		started:   time.Now().UTC(),
		machine:   machineDescription(),
		goVersion: runtime.Version(),
		workerd:   o.workerdVersion,
		duration:  o.duration,
		rounds:    o.rounds,
	}
	for _, name := range o.scenarios {
		sc := scenarioByName(name)
		for _, conns := range sc.connsFor(o.conns) {
			for round := 1; round <= o.rounds; round++ {
				if sc.kind == limitsRun {
					fmt.Printf("%-12s %-8s conns=%-3d round %d/%d ... ", sc.name, "machine", conns, round, o.rounds)
					res, err := machineLimits(ctx, filepath.Join(work, fmt.Sprintf("%s-%d-%d", sc.name, conns, round)), conns, o.duration)
					if err != nil {
						fmt.Printf("FAILED: %v\n", err)
						res.failure = err.Error()
					} else {
						fmt.Println(sc.summary(res))
					}
					rep.add(sc.name, conns, "machine", res)
					if ctx.Err() != nil {
						return ctx.Err()
					}
					continue
				}
				for _, rt := range runtimes {
					dir := filepath.Join(work, fmt.Sprintf("%s-%d-%d-%s", sc.name, conns, round, rt.name()))
					fmt.Printf("%-12s %-8s conns=%-3d round %d/%d ... ", sc.name, rt.name(), conns, round, o.rounds)
					profile := ""
					if o.profileDir != "" && rt.name() == "kiln" {
						profile = filepath.Join(o.profileDir, fmt.Sprintf("%s-%d-%d.pprof", sc.name, conns, round))
					}
					res, err := sc.run(ctx, rt, dir, conns, o.duration, profile)
					if err != nil {
						fmt.Printf("FAILED (%s): %v\n", sc.summary(res), err)
						res.failure = err.Error()
					} else {
						fmt.Println(sc.summary(res))
					}
					rep.add(sc.name, conns, rt.name(), res)
					if ctx.Err() != nil {
						return ctx.Err()
					}
				}
			}
		}
	}
	if err := rep.write(o.out); err != nil {
		return err
	}
	fmt.Println("wrote", o.out)
	if rep.failed() {
		return errors.New("a scenario failed its correctness check (see the report)")
	}
	return nil
}
