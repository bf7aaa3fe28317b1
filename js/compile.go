package js

import (
	"fmt"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Compile parses and compiles a script once; the result is immutable and may
// be run in any number of runtimes. An inline source map in the script (as the
// bundler emits) makes stack traces name the original files and lines.
func Compile(name, src string) (*goja.Program, error) {
	ast, err := goja.Parse(name, src, parser.WithSourceMapLoader(func(path string) ([]byte, error) {
		return nil, fmt.Errorf("source map %s: only inline source maps are read", path)
	}))
	if err != nil {
		return nil, &SyntaxError{Err: err}
	}
	prg, err := goja.CompileAST(ast, false)
	if err != nil {
		return nil, &SyntaxError{Err: err}
	}
	return prg, nil
}

// SyntaxError is a script that does not parse.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return e.Err.Error() }
func (e *SyntaxError) Unwrap() error { return e.Err }
