package worker

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/bundle"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/webapi"
)

//go:embed glue.js
var glueSource string

// Format is how the script declares its handlers.
type Format int

const (
	// FormatModule is `export default { fetch(request, env, ctx) }`.
	FormatModule Format = iota
	// FormatServiceWorker is `addEventListener("fetch", ...)` with bindings
	// as globals.
	FormatServiceWorker
)

// GlobalName is the global the bundler assigns the module's exports to.
const GlobalName = "__kiln_worker"

// Var is a plain binding: a string, or a JSON value decoded with
// encoding/json (map[string]any, []any, float64, bool, nil).
type Var struct {
	Name  string
	Value any
}

// Spec is everything needed to run a Worker.
type Spec struct {
	Name string
	// Script is the bundled code; ScriptName names it in stack traces.
	Script     string
	ScriptName string
	Format     Format
	Vars       []Var
	// KVNamespaces are bound into env from KV.
	KVNamespaces []KVBinding
	KV           KVStore
	// DurableObjects are bound into env; Classes are the Durable Object
	// classes this Worker exports. Both need Registry.
	DurableObjects []DOBinding
	Classes        []DOClass
	Registry       *Registry
	// CPULimit per invocation; 0 means js.DefaultCPULimit.
	CPULimit time.Duration
	// Memory, if set, stops scripts that allocate without bound (one guard
	// per process, shared by every Worker).
	Memory *js.MemoryGuard
	// Runtimes is the pool size; 0 means one per CPU.
	Runtimes int
	Logger   *slog.Logger
	// Dev puts the error and its stack in the body of a 500, as wrangler dev
	// does; otherwise the body is generic.
	Dev        bool
	HTTPClient *http.Client
	// Console receives console.* output; nil sends it to Logger.
	Console func(level slog.Level, msg string)
	// CompatibilityDate and CompatibilityFlags select behaviours that
	// changed over time (deleteAll and the alarm).
	CompatibilityDate  string
	CompatibilityFlags []string
	// Prelude is the compiled Web API prelude, shared by all Workers of the
	// process; nil compiles one.
	Prelude *webapi.Prelude
}

// Worker is a loaded Worker: its pool of runtimes and its handlers.
type Worker struct {
	inflight sync.WaitGroup // requests being served
	spec     Spec
	log      *slog.Logger
	program  *goja.Program
	glue     *goja.Program
	pool     *js.Pool
}

// instance is the Worker's state inside one runtime.
type instance struct {
	log     *slog.Logger
	rt      *js.Runtime
	apis    *webapi.Installed
	host    *goja.Object
	env     *goja.Object
	exports *goja.Object
	fetch   goja.Callable // module syntax: default.fetch (bound to default)
	entry   goja.Value    // module syntax: a class-based default export
	execCtx *webapi.Class // ExecutionContext, the handler's ctx
	w       *Worker
	do      *doAPI // Durable Object classes, made on first use
}

// defineExecutionContext is the class of the ctx argument: its methods are
// shared and find the request's lifetime in the host object.
func defineExecutionContext(vm *goja.Runtime) *webapi.Class {
	c := webapi.DefineClass(vm, "ExecutionContext", nil, nil)
	c.Method("waitUntil", 1, func(call goja.FunctionCall) goja.Value {
		l := webapi.MustImpl[*lifetime](vm, call.This)
		l.waitUntil(call.Argument(0))
		return goja.Undefined()
	})
	c.Method("passThroughOnException", 0, func(call goja.FunctionCall) goja.Value {
		webapi.MustImpl[*lifetime](vm, call.This).passThrough = true
		return goja.Undefined()
	})
	props := vm.NewObject()
	c.Getter("props", func(goja.Value) goja.Value { return props })
	return c
}

// New compiles the script and starts the Worker's runtimes. A script that
// does not compile or whose top level throws fails here.
func New(ctx context.Context, spec Spec) (*Worker, error) {
	if spec.Logger == nil {
		spec.Logger = slog.Default()
	}
	if spec.ScriptName == "" {
		spec.ScriptName = "worker.js"
	}
	if spec.Runtimes <= 0 {
		spec.Runtimes = runtime.NumCPU()
	}
	if spec.CPULimit <= 0 {
		spec.CPULimit = js.DefaultCPULimit
	}
	if spec.Prelude == nil {
		p, err := webapi.CompilePrelude()
		if err != nil {
			return nil, err
		}
		spec.Prelude = p
	}
	// Deeply nested source crashes the parser with a fatal (unrecoverable)
	// stack overflow; bundled code has passed this check already, uploaded
	// code has not.
	if err := bundle.CheckNesting(spec.Script, bundle.DefaultMaxNesting); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.ScriptName, err)
	}
	prg, err := js.Compile(spec.ScriptName, spec.Script)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", spec.ScriptName, err)
	}
	glue, err := goja.Compile("kiln:glue", glueSource, true)
	if err != nil {
		return nil, fmt.Errorf("compiling glue: %w", err)
	}
	w := &Worker{spec: spec, log: spec.Logger, program: prg, glue: glue}
	pool, err := js.NewPool(ctx, spec.Runtimes, w.newRuntime)
	if err != nil {
		return nil, err
	}
	w.pool = pool
	if len(spec.Classes) > 0 {
		if spec.Registry == nil {
			pool.Close()
			return nil, errors.New("the Worker exports Durable Object classes but no registry is configured")
		}
		spec.Registry.serve(w)
	}
	return w, nil
}

// deleteAllDeletesAlarm: storage.deleteAll() also deletes the alarm from
// compatibility date 2026-02-24 (flag delete_all_deletes_alarm; the opposite
// flag is delete_all_preserves_alarm).
func (w *Worker) deleteAllDeletesAlarm() bool {
	for _, f := range w.spec.CompatibilityFlags {
		switch f {
		case "delete_all_deletes_alarm":
			return true
		case "delete_all_preserves_alarm":
			return false
		}
	}
	return w.spec.CompatibilityDate >= "2026-02-24"
}

// CloseWhenIdle closes the Worker once the requests it is serving have
// finished (a replaced version).
func (w *Worker) CloseWhenIdle() {
	go func() {
		w.inflight.Wait()
		w.Close()
	}()
}

// Name is the Worker's name.
func (w *Worker) Name() string { return w.spec.Name }

// Close stops the Worker's runtimes; requests in flight fail. Its Durable
// Objects leave memory (their storage stays).
func (w *Worker) Close() {
	if w.spec.Registry != nil && len(w.spec.Classes) > 0 {
		w.spec.Registry.release(w)
	}
	w.pool.Close()
}

type loopAdapter struct {
	rt  *js.Runtime
	log *slog.Logger
}

func (l loopAdapter) Hold() func(func()) bool { return l.rt.Hold() }
func (l loopAdapter) Post(fn func()) bool     { return l.rt.Submit(nil, fn) }
func (l loopAdapter) Done() <-chan struct{}   { return l.rt.Done() }
func (l loopAdapter) Pin() func() {
	if inv := l.rt.Current(); inv != nil && inv.Pin != nil {
		return inv.Pin()
	}
	return func() {}
}

func (l loopAdapter) OutputGate() <-chan error {
	if inv := l.rt.Current(); inv != nil && inv.OutputGate != nil {
		return inv.OutputGate()
	}
	return nil
}
func (l loopAdapter) Report(err error) {
	var thrown *webapi.ThrownError
	if errors.As(err, &thrown) {
		ex := js.ExceptionFromValue(thrown.Value, nil)
		l.log.Error("Uncaught " + ex.Detail())
		return
	}
	e := l.rt.Check(err)
	var ex *js.Exception
	if errors.As(e, &ex) {
		l.log.Error("Uncaught " + ex.Detail())
		return
	}
	l.log.Error("Uncaught exception", "error", e)
}

func (w *Worker) consoleSink() func(slog.Level, string) {
	if w.spec.Console != nil {
		return w.spec.Console
	}
	return func(level slog.Level, msg string) {
		w.log.Log(context.Background(), level, msg, "worker", w.spec.Name)
	}
}

// newRuntime is the pool's factory: a runtime with the Worker loaded.
func (w *Worker) newRuntime(ctx context.Context) (*js.Runtime, error) {
	// Evaluating the script's top level has its own budget: a Worker with a
	// tight per-request limit must still be able to start.
	rt := js.NewRuntime(js.Options{Logger: w.log, SetupLimit: max(w.spec.CPULimit, js.DefaultCPULimit), Memory: w.spec.Memory})
	inst := &instance{rt: rt, log: w.log, w: w}
	rt.Host = inst
	err := rt.Do(ctx, func(vm *goja.Runtime) error {
		return w.setup(vm, inst)
	})
	if err != nil {
		rt.Close()
		return nil, err
	}
	return rt, nil
}

func (w *Worker) setup(vm *goja.Runtime, inst *instance) error {
	apis, err := webapi.Install(vm, webapi.Config{
		Prelude:    w.spec.Prelude,
		Loop:       loopAdapter{rt: inst.rt, log: w.log},
		Console:    w.consoleSink(),
		HTTPClient: w.spec.HTTPClient,
	})
	if err != nil {
		return err
	}
	inst.apis = apis
	inst.execCtx = defineExecutionContext(vm)
	env, err := w.buildEnv(vm)
	if err != nil {
		return err
	}
	inst.env = env
	if err := w.kvBindings(inst, env); err != nil {
		return err
	}
	if err := w.doBindings(inst, env); err != nil {
		return err
	}

	glueFn, err := vm.RunProgram(w.glue)
	if err != nil {
		return fmt.Errorf("running glue: %w", err)
	}
	fn, _ := goja.AssertFunction(glueFn)
	host := vm.NewObject()
	if _, err := fn(goja.Undefined(), host, apis.Internal); err != nil {
		return fmt.Errorf("running glue: %w", err)
	}
	_ = host.Set("env", env)
	_ = host.Set("waitUntil", func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	inst.host = host
	hostKey := goja.NewSymbol("kiln.host")
	if sym, err := vm.RunString(`Symbol.for("kiln.host")`); err == nil {
		hostKey = sym.(*goja.Symbol)
	}
	if err := vm.GlobalObject().DefineDataPropertySymbol(hostKey, host, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return err
	}
	if w.spec.Format == FormatServiceWorker {
		for _, k := range env.Keys() {
			if err := vm.GlobalObject().Set(k, env.Get(k)); err != nil {
				return err
			}
		}
	}
	if _, err := vm.RunProgram(w.program); err != nil {
		return fmt.Errorf("evaluating %s: %w", w.spec.ScriptName, inst.rt.Check(err))
	}
	return w.findHandlers(vm, inst)
}

func (w *Worker) buildEnv(vm *goja.Runtime) (*goja.Object, error) {
	env := vm.NewObject()
	parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	for _, v := range w.spec.Vars {
		if s, ok := v.Value.(string); ok {
			if err := env.Set(v.Name, s); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := json.Marshal(v.Value)
		if err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		val, err := parse(goja.Undefined(), vm.ToValue(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		if err := env.Set(v.Name, val); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func (w *Worker) findHandlers(vm *goja.Runtime, inst *instance) error {
	exports, _ := vm.Get(GlobalName).(*goja.Object)
	inst.exports = exports
	if w.spec.Format == FormatServiceWorker {
		has, _ := goja.AssertFunction(inst.host.Get("hasFetchListener"))
		if v, err := has(goja.Undefined()); err != nil || !v.ToBoolean() {
			return errors.New("the service-worker script did not register a fetch event listener (addEventListener(\"fetch\", ...))")
		}
		return nil
	}
	if exports == nil {
		return fmt.Errorf("the script has no exports; a module Worker needs `export default { fetch(request, env, ctx) { ... } }`")
	}
	def, ok := exports.Get("default").(*goja.Object)
	if !ok || def == nil {
		return errors.New("the script has no default export; a module Worker needs `export default { fetch(request, env, ctx) { ... } }`")
	}
	if _, isFn := goja.AssertFunction(def); isFn {
		// export default class extends WorkerEntrypoint { fetch(request) {...} }
		inst.entry = def
		return nil
	}
	if fetch, ok := goja.AssertFunction(def.Get("fetch")); ok {
		inst.fetch = func(this goja.Value, args ...goja.Value) (goja.Value, error) { return fetch(def, args...) }
	}
	return nil
}
