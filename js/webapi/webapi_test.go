package webapi

import (
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"
)

// testLoop is a minimal Loop for unit tests: completions queue up and the
// test drains them on its own goroutine (which owns the runtime).
type testLoop struct {
	t       testing.TB
	mu      sync.Mutex
	jobs    []func()
	wake    chan struct{}
	holds   int
	done    chan struct{}
	reports []error
}

func newTestLoop(t testing.TB) *testLoop {
	return &testLoop{t: t, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (l *testLoop) Hold() func(func()) bool {
	l.mu.Lock()
	l.holds++
	l.mu.Unlock()
	var once sync.Once
	return func(fn func()) bool {
		once.Do(func() {
			l.mu.Lock()
			l.holds--
			if fn != nil {
				l.jobs = append(l.jobs, fn)
			}
			l.mu.Unlock()
			select {
			case l.wake <- struct{}{}:
			default:
			}
		})
		return true
	}
}

func (l *testLoop) Report(err error) {
	l.mu.Lock()
	l.reports = append(l.reports, err)
	l.mu.Unlock()
}

func (l *testLoop) Post(fn func()) bool { return l.Hold()(fn) }

func (l *testLoop) Done() <-chan struct{} { return l.done }

func (l *testLoop) OutputGate() <-chan error { return nil }

func (l *testLoop) Pin() func() { return func() {} }

// runUntil runs queued completions until cond is true or no work remains.
// It blocks while holds are outstanding (goroutines still working), so it
// waits for I/O without any timing assumption.
func (l *testLoop) runUntil(cond func() bool) {
	for !cond() {
		l.mu.Lock()
		jobs := l.jobs
		l.jobs = nil
		holds := l.holds
		l.mu.Unlock()
		if len(jobs) == 0 {
			if holds == 0 {
				return
			}
			<-l.wake
			continue
		}
		for _, j := range jobs {
			j()
		}
	}
}

type testEnv struct {
	vm   *goja.Runtime
	loop *testLoop
	apis *Installed
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	p, err := CompilePrelude()
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	loop := newTestLoop(t)
	apis, err := Install(vm, Config{Prelude: p, Loop: loop})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{vm: vm, loop: loop, apis: apis}
}

// newTestRuntime returns a runtime with every Web API installed. Tests in
// this package evaluate script with it and inspect the results.
func newTestRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	return newTestEnv(t).vm
}

// evalString runs src and returns its completion value as a string.
func evalString(t testing.TB, vm *goja.Runtime, src string) string {
	t.Helper()
	v, err := vm.RunString(src)
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	return v.String()
}

// await runs src, which must evaluate to a promise, drives the loop until the
// promise settles, and returns the fulfilled value as a string (or fails).
func (e *testEnv) await(t testing.TB, src string) string {
	t.Helper()
	v, err := e.vm.RunString(src)
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		return v.String()
	}
	e.loop.runUntil(func() bool { return p.State() != goja.PromiseStatePending })
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result().String()
	case goja.PromiseStateRejected:
		r := p.Result()
		if o, ok := r.(*goja.Object); ok {
			t.Fatalf("%s\n-> rejected: %v", src, o.Get("stack"))
		}
		t.Fatalf("%s\n-> rejected: %v", src, r)
	}
	t.Fatalf("%s\n-> still pending with no work left", src)
	return ""
}

func TestDOMException(t *testing.T) {
	vm := newTestRuntime(t)
	got := evalString(t, vm, `const e = new DOMException("bad", "DataCloneError"); [e instanceof Error, e.name, e.message, e.code, DOMException.DATA_CLONE_ERR, String(e)].join("|")`)
	if want := "true|DataCloneError|bad|25|25|DataCloneError: bad"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

// Web IDL globals are writable, configurable and not enumerable; script may
// replace them (polyfills do).
func TestGlobalsAreConfigurableAndHidden(t *testing.T) {
	vm := newTestRuntime(t)
	for _, name := range []string{"fetch", "Request", "Response", "Headers", "URL", "URLSearchParams", "setTimeout",
		"clearTimeout", "console", "crypto", "atob", "TextEncoder", "structuredClone", "ReadableStream", "Blob", "FormData", "AbortController"} {
		got := evalString(t, vm, `(() => { const d = Object.getOwnPropertyDescriptor(globalThis, "`+name+`"); `+
			`return [d.configurable, d.enumerable, Object.keys(globalThis).includes("`+name+`")].join() })()`)
		if got != "true,false,false" {
			t.Errorf("%s: configurable,enumerable,listed = %s", name, got)
		}
	}
	if got := evalString(t, vm, `const d = Object.getOwnPropertyDescriptor(Response.prototype, "clone"); [d.writable, d.enumerable, d.configurable].join()`); got != "true,true,true" {
		t.Errorf("method descriptor %s", got)
	}
}

// A class defined from Go gets exactly the arguments of the script's call:
// their number (a missing argument is not an undefined one), and any count.
func TestDefineClassPassesTheArguments(t *testing.T) {
	vm := newTestRuntime(t)
	c := DefineClass(vm, "Probe", func(call goja.ConstructorCall) any {
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		return strings.Join(parts, ",")
	}, nil)
	c.Expose()
	c.Getter("args", func(this goja.Value) goja.Value { return vm.ToValue(MustImpl[string](vm, this)) })
	cases := map[string]string{
		`new Probe().args`:                                        "",
		`new Probe(undefined).args`:                               "undefined",
		`new Probe(1, 2).args`:                                    "1,2",
		`new Probe(1, 2, 3, 4).args`:                              "1,2,3,4",
		`new Probe(1, 2, 3, 4, 5).args`:                           "1,2,3,4,5",
		`new Probe(...Array.from({length: 9}, (_, i) => i)).args`: "0,1,2,3,4,5,6,7,8",
		`class Sub extends Probe { constructor() { super("a", "b"); } }; new Sub().args + (new Sub() instanceof Sub)`: "a,btrue",
	}
	for src, want := range cases {
		expectText(t, evalString(t, vm, src), want)
	}
	jsCheck(t, vm, `try { Probe(1); false } catch (e) { e instanceof TypeError }`)
}
