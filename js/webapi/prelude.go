package webapi

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/dop251/goja"
)

//go:embed prelude/*.js
var preludeFS embed.FS

// Prelude is the compiled JavaScript part of the Web APIs. It is compiled once
// per process (a *goja.Program is immutable and may be shared by runtimes)
// and run once in every new runtime.
type Prelude struct {
	program *goja.Program
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
	return &Prelude{program: prg}, nil
}

// run executes the prelude in vm. The prelude attaches the hooks Go needs
// (blob bytes, stream constructors, ...) to internal, an object that user
// code never sees.
func (p *Prelude) run(vm *goja.Runtime, internal *goja.Object) error {
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
