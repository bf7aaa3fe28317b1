package webapi

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

//go:embed prelude/*.js prelude/lazy/*.js
var preludeFS embed.FS

// Prelude is the compiled JavaScript part of the Web APIs. It is compiled once
// per process (a *goja.Program is immutable and may be shared by runtimes)
// and run once in every new runtime.
type Prelude struct {
	program *goja.Program
	// lazy are the modules of prelude/lazy, compiled on first use.
	lazy map[string]*lazyModule
}

// lazyModule is a prelude module compiled when a runtime first needs it.
// Its file is the body of a function of one parameter, `outer`.
type lazyModule struct {
	name    string
	source  string
	once    sync.Once
	program *goja.Program
	err     error
}

func (m *lazyModule) compiled() (*goja.Program, error) {
	m.once.Do(func() {
		src := "(function (outer) {\n\"use strict\";\n" + m.source + "\n})"
		m.program, m.err = goja.Compile("kiln:prelude/lazy/"+m.name+".js", src, true)
		if m.err != nil {
			m.err = fmt.Errorf("compiling prelude module %s: %w", m.name, m.err)
		}
	})
	return m.program, m.err
}

// CompilePrelude concatenates prelude/*.js in file-name order into one
// function expression `(function (internal) { ... })` and compiles it.
func CompilePrelude() (*Prelude, error) {
	names, err := fs.Glob(preludeFS, "prelude/*.js")
	if err != nil {
		return nil, fmt.Errorf("listing prelude: %w", err)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("(function (internal) {\n\"use strict\";\n")
	for _, n := range names {
		src, err := preludeFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", n, err)
		}
		fmt.Fprintf(&b, "// --- %s\n", n)
		b.Write(src)
		b.WriteString("\n")
	}
	b.WriteString("})")
	prg, err := goja.Compile("kiln:prelude", b.String(), true)
	if err != nil {
		return nil, fmt.Errorf("compiling prelude: %w", err)
	}
	lazyNames, err := fs.Glob(preludeFS, "prelude/lazy/*.js")
	if err != nil {
		return nil, fmt.Errorf("listing lazy prelude modules: %w", err)
	}
	lazy := make(map[string]*lazyModule, len(lazyNames))
	for _, n := range lazyNames {
		src, err := preludeFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", n, err)
		}
		name := strings.TrimSuffix(path.Base(n), ".js")
		lazy[name] = &lazyModule{name: name, source: string(src)}
	}
	return &Prelude{program: prg, lazy: lazy}, nil
}

// run executes the prelude in vm. The prelude attaches the hooks Go needs
// (blob bytes, stream constructors, ...) to internal, an object that user
// code never sees.
func (p *Prelude) run(vm *goja.Runtime, internal *goja.Object) error {
	// loadLazyModule(name) compiles prelude/lazy/<name>.js once per process
	// and evaluates it in this runtime, returning its function.
	err := internal.Set("loadLazyModule", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		m, ok := p.lazy[name]
		if !ok {
			panic(vm.NewTypeError("no prelude module " + name))
		}
		prg, err := m.compiled()
		if err != nil {
			panic(vm.NewGoError(err))
		}
		v, err := vm.RunProgram(prg)
		if err != nil {
			panic(vm.NewGoError(fmt.Errorf("loading prelude module %s: %w", name, err)))
		}
		return v
	})
	if err != nil {
		return fmt.Errorf("defining loadLazyModule: %w", err)
	}
	v, err := vm.RunProgram(p.program)
	if err != nil {
		return fmt.Errorf("running prelude: %w", err)
	}
	fn, ok := goja.AssertFunction(v)
	if !ok {
		return fmt.Errorf("prelude did not evaluate to a function")
	}
	if _, err := fn(goja.Undefined(), internal); err != nil {
		return fmt.Errorf("initialising prelude: %w", err)
	}
	return nil
}
