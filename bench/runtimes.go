package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// worker is a Worker source under bench/workers and what it binds.
type worker struct {
	file    string          // file name under bench/workers
	durable *durableBinding // a Durable Object class of the file (nil: none)
	// kv binds a KV namespace as KV: kiln's own (SQLite on disk under
	// --persist-to); on workerd, the service of kvServiceFile, as Miniflare
	// does it.
	kv bool
	// keepObjects turns idle eviction of Durable Objects off (kiln: a 1 h
	// --do-idle-timeout; workerd: preventEviction), so objects created over
	// more than 70 s are all still in memory when measured.
	keepObjects bool
	// workerdInMemory gives workerd's Durable Objects in-memory storage
	// instead of localDisk. On localDisk workerd opens each object's SQLite
	// database as the object starts, storage used or not (about three file
	// descriptors and, in a trial, some 230 KiB of RSS per object), so
	// 10,000 objects exceed a 20,000 open-file limit.
	workerdInMemory bool
}

// durableBinding binds a Durable Object class of the Worker to a name.
type durableBinding struct{ binding, class string }

// kvServiceFile is the Worker that stores workerd's KV namespace: it speaks
// the protocol of workerd's kvNamespace binding and keeps the namespace in a
// Durable Object with localDisk storage.
const kvServiceFile = "kvstore.js"

// kiln's KV namespace id; any 32 hex digits.
const kvNamespaceID = "6b696c6e62656e63686b766e616d6573"

// runtimeUnderTest starts one Worker on a free loopback port.
type runtimeUnderTest interface {
	name() string
	start(ctx context.Context, dir string, w worker, readyPath string) (*process, error)
}

// process is a running runtime.
type process struct {
	cmd       *exec.Cmd
	base      string        // http://127.0.0.1:port
	coldStart time.Duration // from exec to the first 200 on readyPath
	logPath   string
	// debugBase is kiln's --debug-listen address (http://127.0.0.1:port),
	// empty when not enabled.
	debugBase string
	exited    chan struct{} // closed when the process has exited and been reaped
}

// stop ends the process and waits for it.
func (p *process) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// rssBytes is the process's resident set size, from /proc.
func (p *process) rssBytes() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
}

// userHZ is the unit of /proc's CPU times: Linux reports them to user
// space in 1/100 s on every architecture it runs on (USER_HZ).
const userHZ = 100

// cpuTime is the CPU time (user and system, all threads) the process has
// used so far, from /proc/PID/stat.
func (p *process) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time: %w", err)
	}
	return statCPUTime(string(data))
}

// statCPUTime reads utime and stime out of a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may hold spaces, so fields
// are counted from after its closing parenthesis.
func statCPUTime(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat %q: no command name", stat)
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("parsing /proc stat %q: %d fields", stat, len(fields)+2)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc stat: CPU time %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuTicks is the machine's CPU time so far, all CPUs, in USER_HZ ticks:
// in all and idle (idle or waiting for I/O).
type cpuTicks struct{ total, idle int64 }

// machineCPU reads the first line of /proc/stat.
func machineCPU() (cpuTicks, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, fmt.Errorf("reading the machine's CPU time: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return parseCPULine(line)
}

// parseCPULine reads "cpu user nice system idle iowait irq softirq steal
// [guest guest_nice]". guest and guest_nice are already counted in user
// and nice, so they are left out of the total.
func parseCPULine(line string) (cpuTicks, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("parsing /proc/stat: %q is not the cpu line", line)
	}
	var t cpuTicks
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuTicks{}, fmt.Errorf("parsing /proc/stat: %q: %w", v, err)
		}
		t.total += n
		if i == 3 || i == 4 { // idle, iowait
			t.idle += n
		}
	}
	return t, nil
}

// launch starts cmd with its output in logPath and waits for the first 200
// on readyPath.
func launch(ctx context.Context, cmd *exec.Cmd, port int, logPath, readyPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", logPath, err)
	}
	defer logFile.Close()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	p := &process{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: logPath, exited: make(chan struct{})}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	// The only Wait: it reaps the process for stop() and reports an early exit.
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(p.base + readyPath)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.coldStart = time.Since(begin)
				return p, nil
			}
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited before answering:\n%s", filepath.Base(cmd.Path), log)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s did not answer 200 on %s within 60 s:\n%s", filepath.Base(cmd.Path), readyPath, log)
		}
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// workerSource is the absolute path of a Worker under bench/workers; the
// benchmark runs from the repository root.
func workerSource(file string) (string, error) {
	p, err := filepath.Abs(filepath.Join("bench", "workers", file))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w (run the benchmark from the repository root: go run ./bench)", err)
	}
	return p, nil
}

// kilnRuntime runs `kiln dev` on a generated wrangler.toml; with debug,
// also its debug listener (pprof) on a second free port.
type kilnRuntime struct {
	bin   string
	debug bool
}

func (k *kilnRuntime) name() string { return "kiln" }

func (k *kilnRuntime) start(ctx context.Context, dir string, w worker, readyPath string) (*process, error) {
	src, err := workerSource(w.file)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var cfg bytes.Buffer
	fmt.Fprintf(&cfg, "name = \"bench\"\nmain = %q\ncompatibility_date = \"2025-01-01\"\n", src)
	if d := w.durable; d != nil {
		fmt.Fprintf(&cfg, "\n[[durable_objects.bindings]]\nname = %q\nclass_name = %q\n\n[[migrations]]\ntag = \"v1\"\nnew_classes = [%q]\n", d.binding, d.class, d.class)
	}
	if w.kv {
		fmt.Fprintf(&cfg, "\n[[kv_namespaces]]\nbinding = \"KV\"\nid = %q\n", kvNamespaceID)
	}
	cfgPath := filepath.Join(dir, "wrangler.toml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", cfgPath, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"dev", "--config", cfgPath, "--port", strconv.Itoa(port), "--persist-to", filepath.Join(dir, "state")}
	if w.keepObjects {
		args = append(args, "--do-idle-timeout", "1h")
	}
	debugBase := ""
	if k.debug {
		debugPort, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--debug-listen", fmt.Sprintf("127.0.0.1:%d", debugPort))
		debugBase = fmt.Sprintf("http://127.0.0.1:%d", debugPort)
	}
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Dir = dir
	p, err := launch(ctx, cmd, port, filepath.Join(dir, "kiln.log"), readyPath)
	if p != nil {
		p.debugBase = debugBase
	}
	return p, err
}

// workerdRuntime runs workerd on a generated Cap'n Proto config with
// Durable Object storage on local disk.
type workerdRuntime struct{ bin string }

func (wd *workerdRuntime) name() string { return "workerd" }

func (wd *workerdRuntime) start(ctx context.Context, dir string, w worker, readyPath string) (*process, error) {
	storage := filepath.Join(dir, "do")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", storage, err)
	}
	// workerd embeds the modules named in the config, relative to it.
	files := []string{w.file}
	if w.kv {
		files = append(files, kvServiceFile)
	}
	for _, f := range files {
		src, err := workerSource(f)
		if err != nil {
			return nil, err
		}
		code, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", src, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), code, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", f, err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "config.capnp")
	if err := os.WriteFile(cfgPath, workerdConfig(w, storage, port), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", cfgPath, err)
	}
	cmd := exec.CommandContext(ctx, wd.bin, "serve", cfgPath)
	cmd.Dir = dir
	return launch(ctx, cmd, port, filepath.Join(dir, "workerd.log"), readyPath)
}

// workerdConfig is the Cap'n Proto config serving w on port, with Durable
// Object storage on local disk under storage (unless w.workerdInMemory). A
// KV binding points at a second Worker, kvServiceFile, whose one Durable
// Object holds the namespace on local disk.
func workerdConfig(w worker, storage string, port int) []byte {
	var cfg bytes.Buffer
	cfg.WriteString("using Workerd = import \"/workerd/workerd.capnp\";\n\n")
	cfg.WriteString("const config :Workerd.Config = (\n  services = [\n    (name = \"main\", worker = .mainWorker),\n")
	if w.kv {
		cfg.WriteString("    (name = \"kv\", worker = .kvWorker),\n")
	}
	if (w.durable != nil && !w.workerdInMemory) || w.kv {
		fmt.Fprintf(&cfg, "    (name = \"storage\", disk = (path = %q, writable = true)),\n", storage)
	}
	fmt.Fprintf(&cfg, "  ],\n  sockets = [(name = \"http\", address = \"127.0.0.1:%d\", http = (), service = \"main\")],\n);\n\n", port)

	fmt.Fprintf(&cfg, "const mainWorker :Workerd.Worker = (\n  modules = [(name = %q, esModule = embed %q)],\n  compatibilityDate = \"2025-01-01\",\n", w.file, w.file)
	var bindings []string
	if d := w.durable; d != nil {
		evict := ""
		if w.keepObjects {
			evict = ", preventEviction = true"
		}
		fmt.Fprintf(&cfg, "  durableObjectNamespaces = [(className = %q, uniqueKey = \"bench-%s\"%s)],\n", d.class, d.class, evict)
		if w.workerdInMemory {
			cfg.WriteString("  durableObjectStorage = (inMemory = void),\n")
		} else {
			cfg.WriteString("  durableObjectStorage = (localDisk = \"storage\"),\n")
		}
		bindings = append(bindings, fmt.Sprintf("(name = %q, durableObjectNamespace = %q)", d.binding, d.class))
	}
	if w.kv {
		bindings = append(bindings, "(name = \"KV\", kvNamespace = \"kv\")")
	}
	if len(bindings) > 0 {
		fmt.Fprintf(&cfg, "  bindings = [%s],\n", strings.Join(bindings, ", "))
	}
	cfg.WriteString(");\n")

	if w.kv {
		fmt.Fprintf(&cfg, "\nconst kvWorker :Workerd.Worker = (\n  modules = [(name = %q, esModule = embed %q)],\n  compatibilityDate = \"2025-01-01\",\n", kvServiceFile, kvServiceFile)
		cfg.WriteString("  durableObjectNamespaces = [(className = \"KvNamespace\", uniqueKey = \"bench-kv\")],\n")
		cfg.WriteString("  durableObjectStorage = (localDisk = \"storage\"),\n")
		cfg.WriteString("  bindings = [(name = \"NAMESPACE\", durableObjectNamespace = \"KvNamespace\")],\n);\n")
	}
	return cfg.Bytes()
}

// buildKiln compiles the kiln binary of this checkout.
func buildKiln(ctx context.Context, work string) (string, error) {
	bin := filepath.Join(work, "kiln")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kiln")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building kiln: %w\n%s", err, out)
	}
	return bin, nil
}

// installWorkerd installs workerd@version from npm into cache (once) and
// returns its executable.
func installWorkerd(ctx context.Context, cache, version string) (string, error) {
	dir := filepath.Join(cache, "workerd-"+version)
	bin := filepath.Join(dir, "node_modules", ".bin", "workerd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", dir, "workerd@"+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing workerd %s from npm: %w\n%s", version, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("npm installed workerd but %s is missing: %w", bin, err)
	}
	return bin, nil
}

// machineDescription names the CPU, core count and kernel.
func machineDescription() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s, %d CPUs%s", model, runtime.NumCPU(), kernel)
}
