package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrNotFound means that no wrangler configuration file exists in the
	// searched directory or any of its parents.
	ErrNotFound = errors.New("no wrangler configuration file found")
	// ErrSyntax means the file is not valid TOML or JSON(C), or has a name
	// whose format cannot be told from its extension.
	ErrSyntax = errors.New("cannot parse wrangler configuration")
	// ErrInvalid means the file parsed but its values break wrangler's rules;
	// the error is a *ValidationError listing every problem.
	ErrInvalid = errors.New("invalid wrangler configuration")
	// ErrKVNamespace means Config.KVNamespaceID cannot tell which namespace
	// a --binding refers to.
	ErrKVNamespace = errors.New("cannot pick a KV namespace")
)

// Problem is one validation failure.
type Problem struct {
	// Env is the environment whose section reported the problem, "" for the
	// top level of the file.
	Env string
	// Message says which key is wrong and what was expected, in wrangler's
	// words where wrangler has them.
	Message string
}

// ValidationError lists every problem found in one configuration file.
type ValidationError struct {
	Path     string
	Problems []Problem
}

// Error renders the problems the way wrangler prints its diagnostics: the
// file first, then one line per problem, those of the selected environment
// grouped under their own heading.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Processing %s configuration:", e.Path)
	env := ""
	for _, p := range e.Problems {
		if p.Env == "" {
			b.WriteString("\n  - " + indentLines(p.Message, "    "))
		}
	}
	for _, p := range e.Problems {
		if p.Env == "" {
			continue
		}
		if p.Env != env {
			env = p.Env
			fmt.Fprintf(&b, "\n  - %q environment configuration", "env."+env)
		}
		b.WriteString("\n    - " + indentLines(p.Message, "      "))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Warning is a problem that does not stop the configuration from loading.
type Warning struct {
	Path    string
	Message string
}

// String gives "file: message".
func (w Warning) String() string { return w.Path + ": " + w.Message }

func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}
