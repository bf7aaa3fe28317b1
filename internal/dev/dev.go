package dev

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/kiln-dev/kiln/bundle"
	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/internal/httplimit"
	"github.com/kiln-dev/kiln/internal/localstate"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/webapi"
	"github.com/kiln-dev/kiln/kv"
	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
	"github.com/kiln-dev/kiln/worker"
)

// Options are the flags of `kiln dev`.
type Options struct {
	Dir        string // project directory (where the config search starts)
	ConfigPath string
	Env        string
	IP         string
	Port       int
	Vars       []worker.Var // --var overrides
	PersistTo  string
	Runtimes   int
	// Watch enables rebuilding on file changes.
	Watch bool
	Out   io.Writer // banner, request log and console output
	Err   io.Writer // warnings and errors
	// Ready, if set, receives the address the server listens on.
	Ready func(addr string)
	// OnBuild, if set, is told the outcome of every rebuild after a change.
	OnBuild func(err error)
	// IdleTimeout is how long a Durable Object stays in memory without
	// events; 0 means the platform's 70 s.
	IdleTimeout time.Duration
	// OnEvict, if set, is told when a Durable Object leaves memory.
	OnEvict func(class, id string)
}

// Server is a running dev session.
type Server struct {
	opts Options
	log  *slog.Logger
	// prelude is compiled once, in the background from the start; read it
	// after preludeReady is closed.
	prelude      *webapi.Prelude
	preludeErr   error
	preludeReady chan struct{}
	memory       *js.MemoryGuard // stops scripts that allocate without bound
	current      atomic.Pointer[version]
	inputs       []string
	mu           sync.Mutex      // serialises rebuilds
	out          *output         // everything printed, in order, off the request path
	kv           *kvsqlite.Store // opened when a configuration first binds KV
	objects      *worker.Registry
}

// version is one build of the Worker; err is set when the build failed and
// there is no previous version to serve.
type version struct {
	w        *worker.Worker
	buildErr error
	inflight sync.WaitGroup
}

// Run serves until ctx is done.
func Run(ctx context.Context, opts Options) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	s := &Server{opts: opts, memory: js.NewMemoryGuard(ctx, js.MemoryGuardOptions{}), out: newOutput(),
		preludeReady: make(chan struct{})}
	// The Web API prelude compiles while the configuration is read and the
	// Worker bundled (each takes a few milliseconds of a cold start).
	go func() {
		defer close(s.preludeReady)
		s.prelude, s.preludeErr = webapi.CompilePrelude()
	}()
	defer s.out.close()
	s.log = slog.New(slog.NewTextHandler(queuedWriter{s.out, opts.Err}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	cfg, err := s.build(ctx)
	if err != nil {
		// A configuration that cannot be read is fatal; a build error is not.
		var be *buildError
		if !errors.As(err, &be) {
			return err
		}
		s.printf(opts.Err, "%v\n", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(opts.IP, fmt.Sprint(opts.Port)))
	if err != nil {
		return fmt.Errorf("listening on %s:%d: %w", opts.IP, opts.Port, err)
	}
	srv := httplimit.NewServer(s)
	s.banner(cfg, ln.Addr().String())
	s.out.flush() // the banner is on the terminal before anyone is told we are ready
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	if opts.Watch {
		go s.watch(ctx, cfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		if v := s.current.Load(); v != nil && v.w != nil {
			v.w.Close()
		}
		if s.kv != nil {
			_ = s.kv.Close()
		}
		return nil
	case err := <-errc:
		return err
	}
}

type buildError struct{ err error }

func (e *buildError) Error() string { return e.err.Error() }
func (e *buildError) Unwrap() error { return e.err }

// build loads the configuration, bundles and starts a new version. On
// success the new version replaces the old one, which is closed once its
// requests finish.
func (s *Server) build(ctx context.Context) (*config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, warnings, err := config.Load(config.LoadOptions{Dir: s.opts.Dir, ConfigPath: s.opts.ConfigPath, Env: s.opts.Env})
	for _, w := range warnings {
		s.printf(s.opts.Err, "▲ [WARNING] %s\n", w)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Main == "" {
		return cfg, fmt.Errorf("%s: missing entry-point: set \"main\" to the file that exports your Worker (e.g. main = \"src/index.ts\")", cfg.Path)
	}
	res, err := bundle.Build(ctx, bundle.Options{Entry: cfg.Main, ProjectDir: cfg.Dir})
	if err != nil {
		s.setFailed(err)
		var be *bundle.BuildError
		if errors.As(err, &be) {
			s.inputs = append(be.Inputs, cfg.Main)
		}
		return cfg, &buildError{err}
	}
	s.inputs = res.Inputs
	for _, w := range res.Warnings {
		s.printf(s.opts.Err, "%s\n", strings.TrimRight(w, "\n"))
	}
	format := worker.FormatModule
	if len(res.Exports) == 0 {
		format = worker.FormatServiceWorker
	}
	vars := make([]worker.Var, 0, len(cfg.Vars)+len(s.opts.Vars))
	for _, v := range cfg.Vars {
		vars = append(vars, worker.Var{Name: v.Name, Value: v.Value})
	}
	vars = overrideVars(vars, s.opts.Vars)
	name := cfg.Name
	if name == "" {
		name = "worker"
	}
	kvBindings, err := s.bindKV(ctx, cfg, name)
	if err != nil {
		return cfg, err
	}
	var kvStore worker.KVStore
	if s.kv != nil {
		kvStore = s.kv
	}
	classes, doBindings, err := durableObjects(cfg, name)
	if err != nil {
		return cfg, err
	}
	if (len(classes) > 0 || len(doBindings) > 0) && s.objects == nil {
		s.objects = worker.NewRegistry(localstate.DOPath(localstate.Dir(cfg.Dir, s.opts.PersistTo)), s.opts.IdleTimeout)
		s.objects.OnEvict = s.opts.OnEvict
	}
	<-s.preludeReady
	if s.preludeErr != nil {
		return cfg, s.preludeErr
	}
	w, err := worker.New(ctx, worker.Spec{
		KVNamespaces:   kvBindings,
		KV:             kvStore,
		Classes:        classes,
		DurableObjects: doBindings,
		Registry:       s.objects,
		Name:           name,
		Script:         res.Code,
		ScriptName:     bundle.ScriptName,
		Format:         format,
		Vars:           vars,
		CPULimit:       time.Duration(cfg.Limits.CPUMs) * time.Millisecond,
		Runtimes:       s.opts.Runtimes,
		Logger:         s.log,
		Dev:            true,
		Prelude:        s.prelude,
		Memory:         s.memory,
		Console:        s.console,
	})
	if err != nil {
		s.setFailed(err)
		return cfg, &buildError{err}
	}
	old := s.current.Swap(&version{w: w})
	if old != nil && old.w != nil {
		go func() {
			old.inflight.Wait()
			old.w.Close()
		}()
	}
	return cfg, nil
}

// durableObjects lists the Durable Object classes of the Worker (from its
// migrations, and any class a binding names without script_name, as wrangler
// dev serves those too) and its namespace bindings.
func durableObjects(cfg *config.Config, script string) ([]worker.DOClass, []worker.DOBinding, error) {
	steps := make([]durable.Migration, 0, len(cfg.Migrations))
	for _, m := range cfg.Migrations {
		step := durable.Migration{Tag: m.Tag, NewClasses: m.NewClasses, NewSQLiteClasses: m.NewSQLiteClasses, DeletedClasses: m.DeletedClasses}
		for _, r := range m.RenamedClasses {
			step.RenamedClasses = append(step.RenamedClasses, durable.Rename{From: r.From, To: r.To})
		}
		for _, t := range m.TransferredClasses {
			step.TransferredClasses = append(step.TransferredClasses, durable.Transfer{From: t.From, FromScript: t.FromScript, To: t.To})
		}
		steps = append(steps, step)
	}
	st, err := durable.ApplyMigrations(script, steps)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: migrations: %w", cfg.Path, err)
	}
	var classes []worker.DOClass
	for _, c := range st.Classes {
		classes = append(classes, worker.DOClass{Name: c.Name, SQL: c.SQL, Key: c.Key})
	}
	var bindings []worker.DOBinding
	for _, b := range cfg.DurableObjects {
		bindings = append(bindings, worker.DOBinding{Name: b.Name, ClassName: b.ClassName, ScriptName: b.ScriptName})
		if b.ScriptName != "" && b.ScriptName != script {
			continue
		}
		if _, ok := st.Classes[b.ClassName]; !ok {
			st.Classes[b.ClassName] = durable.Class{Name: b.ClassName}
			classes = append(classes, worker.DOClass{Name: b.ClassName})
		}
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i].Name < classes[j].Name })
	return classes, bindings, nil
}

// bindKV opens the local KV store if the configuration binds namespaces and
// creates those namespaces on first use. Like wrangler dev, a binding uses
// its preview_id when it has one, else its id (else its binding name).
func (s *Server) bindKV(ctx context.Context, cfg *config.Config, name string) ([]worker.KVBinding, error) {
	if len(cfg.KVNamespaces) == 0 {
		return nil, nil
	}
	if s.kv == nil {
		path := localstate.KVPath(localstate.Dir(cfg.Dir, s.opts.PersistTo))
		store, err := kvsqlite.Open(ctx, path, kvsqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("opening local KV store: %w", err)
		}
		s.kv = store
	}
	out := make([]worker.KVBinding, 0, len(cfg.KVNamespaces))
	for _, b := range cfg.KVNamespaces {
		id := b.PreviewID
		if id == "" {
			id = b.ID
		}
		if id == "" {
			id = b.Binding
		}
		if _, err := kv.EnsureBound(ctx, s.kv, id, name+"-"+b.Binding); err != nil {
			return nil, fmt.Errorf("KV namespace %s (%s): %w", b.Binding, id, err)
		}
		out = append(out, worker.KVBinding{Name: b.Binding, NamespaceID: id})
	}
	return out, nil
}

func (s *Server) setFailed(err error) {
	if v := s.current.Load(); v != nil && v.w != nil {
		return // keep serving the last good version
	}
	s.current.Store(&version{buildErr: err})
}

func overrideVars(vars, overrides []worker.Var) []worker.Var {
	for _, o := range overrides {
		replaced := false
		for i := range vars {
			if vars[i].Name == o.Name {
				vars[i].Value = o.Value
				replaced = true
			}
		}
		if !replaced {
			vars = append(vars, o)
		}
	}
	return vars
}

// ServeHTTP sends the request to the current version and logs it.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	v := s.current.Load()
	rec := &statusRecorder{ResponseWriter: rw}
	switch {
	case v == nil || v.w == nil:
		rec.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		rec.WriteHeader(http.StatusInternalServerError)
		msg := "the Worker has not been built yet"
		if v != nil && v.buildErr != nil {
			msg = "Build failed; fix the error and save to rebuild:\n\n" + v.buildErr.Error()
		}
		_, _ = io.WriteString(rec, msg+"\n")
	default:
		v.inflight.Add(1)
		v.w.ServeHTTP(rec, r)
		v.inflight.Done()
	}
	s.out.write(s.opts.Out, requestLine(r.Method, r.URL.RequestURI(), rec.status(), time.Since(start)))
}

// requestLine is the line logged for each request, as wrangler dev logs it:
// "[kiln:info] GET /path 200 OK (3ms)". It is built by appending rather
// than with fmt, as it is printed once per request.
func requestLine(method, uri string, status int, took time.Duration) []byte {
	text := http.StatusText(status)
	b := make([]byte, 0, len("[kiln:info]  /  000  (00000ms)\n")+len(method)+len(uri)+len(text))
	b = append(b, "[kiln:info] "...)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, took.Milliseconds(), 10)
	return append(b, "ms)\n"...)
}

func (s *Server) console(level slog.Level, msg string) {
	w := s.opts.Out
	if level >= slog.LevelWarn {
		w = s.opts.Err
	}
	s.printf(w, "%s\n", msg)
}

func (s *Server) printf(w io.Writer, format string, args ...any) {
	s.out.printf(w, format, args...)
}

func (s *Server) banner(cfg *config.Config, addr string) {
	var b strings.Builder
	name := "worker"
	if cfg != nil && cfg.Name != "" {
		name = cfg.Name
	}
	fmt.Fprintf(&b, "⛭ kiln dev · %s", name)
	if cfg != nil && cfg.EnvName != "" {
		fmt.Fprintf(&b, " (env %s)", cfg.EnvName)
	}
	b.WriteString("\n")
	if cfg != nil {
		if rel, err := filepath.Rel(cfg.Dir, cfg.Path); err == nil {
			fmt.Fprintf(&b, "Config: %s\n", rel)
		}
		var lines []string
		vars := overrideVars(toWorkerVars(cfg.Vars), s.opts.Vars)
		for _, v := range vars {
			lines = append(lines, fmt.Sprintf("  env.%s (%s)\tEnvironment Variable", v.Name, describeVar(v.Value)))
		}
		for _, b := range cfg.KVNamespaces {
			id := b.PreviewID
			if id == "" {
				id = b.ID
			}
			lines = append(lines, fmt.Sprintf("  env.%s (%s)\tKV Namespace", b.Binding, id))
		}
		for _, do := range cfg.DurableObjects {
			lines = append(lines, fmt.Sprintf("  env.%s (%s)\tDurable Object", do.Name, do.ClassName))
		}
		if len(lines) > 0 {
			b.WriteString("Your Worker has access to the following bindings:\n")
			b.WriteString(strings.Join(lines, "\n"))
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "[kiln:info] Ready on http://%s\n", addr)
	s.printf(s.opts.Out, "%s", b.String())
}

func toWorkerVars(vars []config.Var) []worker.Var {
	out := make([]worker.Var, len(vars))
	for i, v := range vars {
		out[i] = worker.Var{Name: v.Name, Value: v.Value}
	}
	return out
}

func describeVar(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	return "JSON"
}

// watch rebuilds when a bundled source or the configuration changes.
func (s *Server) watch(ctx context.Context, cfg *config.Config) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		s.printf(s.opts.Err, "▲ [WARNING] file watching is off: %v\n", err)
		return
	}
	defer fw.Close()
	watched := map[string]bool{}
	configPath := ""
	if cfg != nil {
		configPath = cfg.Path
	}
	refresh := func() {
		dirs := map[string]bool{}
		s.mu.Lock()
		for _, in := range s.inputs {
			if !strings.Contains(in, string(filepath.Separator)+"node_modules"+string(filepath.Separator)) {
				dirs[filepath.Dir(in)] = true
			}
		}
		s.mu.Unlock()
		if configPath != "" {
			dirs[filepath.Dir(configPath)] = true
		}
		keys := make([]string, 0, len(dirs))
		for d := range dirs {
			keys = append(keys, d)
		}
		sort.Strings(keys)
		for _, d := range keys {
			if !watched[d] {
				if err := fw.Add(d); err == nil {
					watched[d] = true
				}
			}
		}
	}
	refresh()
	var timer *time.Timer
	changed := make(chan struct{}, 1)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) == 0 || !s.relevant(ev.Name, configPath) {
				continue
			}
			// Editors write files in several steps; wait for them to settle.
			if timer != nil {
				timer.Stop()
			}
			timer = time.AfterFunc(100*time.Millisecond, func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			})
		case <-changed:
			s.printf(s.opts.Out, "[kiln:info] change detected, rebuilding...\n")
			cfg, err := s.build(ctx)
			if err != nil {
				s.printf(s.opts.Err, "✘ [ERROR] %v\n", err)
			} else {
				if cfg != nil {
					configPath = cfg.Path
				}
				s.printf(s.opts.Out, "[kiln:info] reloaded\n")
			}
			refresh()
			if s.opts.OnBuild != nil {
				s.opts.OnBuild(err)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			s.printf(s.opts.Err, "▲ [WARNING] file watcher: %v\n", err)
		}
	}
}

func (s *Server) relevant(name, configPath string) bool {
	abs, _ := filepath.Abs(name)
	if abs == configPath || strings.HasPrefix(filepath.Base(abs), "wrangler.") {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.inputs {
		if in == abs {
			return true
		}
	}
	// A new file in a source directory may be imported by the next save.
	ext := filepath.Ext(abs)
	return ext == ".ts" || ext == ".js" || ext == ".mjs" || ext == ".tsx" || ext == ".jsx" || ext == ".json"
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the real writer (for Flush).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack hands the connection over (WebSocket upgrades).
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(r.ResponseWriter).Hijack()
}
