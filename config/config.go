package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileNames are the configuration file names, in the order Find tries them.
var fileNames = [...]string{"wrangler.json", "wrangler.jsonc", "wrangler.toml"}

// LoadOptions says which configuration to load.
type LoadOptions struct {
	// Dir is where the upward search starts and what a relative ConfigPath is
	// resolved against (the working directory when empty).
	Dir string
	// ConfigPath is an explicit file (--config); it overrides the search.
	ConfigPath string
	// Env selects env.<Env> (--env); "" means the top level.
	Env string
}

// Config is a validated wrangler configuration with the selected environment
// resolved.
type Config struct {
	Path   string // path of the file read (absolute when it came from Load)
	Format string // "toml", "json" or "jsonc"
	Dir    string // directory of the file

	Name               string
	Main               string // entry point, resolved against Dir; "" when unset
	CompatibilityDate  string
	CompatibilityFlags []string
	AccountID          string

	Vars           []Var // in file order
	KVNamespaces   []KVNamespace
	DurableObjects []DurableObjectBinding
	Migrations     []Migration
	Limits         Limits
	Routes         []string // patterns of `routes`, or of `route` when `routes` is unset

	EnvName      string   // the selected environment, "" for the top level
	Environments []string // the environments the file defines, in file order
}

// Var is one entry of `vars`. Value is a string, or a decoded JSON value:
// map[string]any, []any, float64, bool or nil.
type Var struct {
	Name  string
	Value any
}

// KVNamespace is one entry of `kv_namespaces`.
type KVNamespace struct {
	Binding   string
	ID        string
	PreviewID string
}

// DurableObjectBinding is one entry of `durable_objects.bindings`.
type DurableObjectBinding struct {
	Name        string
	ClassName   string
	ScriptName  string // the Worker defining the class, when not this one
	Environment string // the environment of ScriptName
}

// Migration is one entry of `migrations`.
type Migration struct {
	Tag                string
	NewClasses         []string
	NewSQLiteClasses   []string
	DeletedClasses     []string
	RenamedClasses     []RenamedClass
	TransferredClasses []TransferredClass
}

// RenamedClass is one entry of `renamed_classes`.
type RenamedClass struct {
	From string
	To   string
}

// TransferredClass is one entry of `transferred_classes`.
type TransferredClass struct {
	From       string
	FromScript string
	To         string
}

// Limits is the `limits` table; zero means unset.
type Limits struct {
	CPUMs       int
	Subrequests int
}

// Find returns the absolute path of the configuration file that applies to
// dir. Like wrangler, it looks for wrangler.json in dir and every parent
// first, then for wrangler.jsonc the same way, then for wrangler.toml: a
// wrangler.json in a parent directory wins over a wrangler.toml in dir.
func Find(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	for _, name := range fileNames {
		for d := start; ; d = filepath.Dir(d) {
			p := filepath.Join(d, name)
			if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
				return p, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("%w: looked for wrangler.json, wrangler.jsonc and wrangler.toml in %s and its parent directories",
		ErrNotFound, start)
}

// Load finds (or takes from opts.ConfigPath), reads, parses and validates a
// configuration file. Warnings are returned even when the error is not nil.
func Load(opts LoadOptions) (*Config, []Warning, error) {
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		dir = wd
	}
	var path string
	if opts.ConfigPath != "" {
		path = opts.ConfigPath
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		path = abs
	} else {
		found, err := Find(dir)
		if err != nil {
			return nil, nil, err
		}
		path = found
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("config: could not read file %s: %w", path, err)
		}
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, opts.Env)
}

// Parse parses and validates the contents of a configuration file without
// touching the file system; path only names the file and decides its format
// by extension. A relative `main` is resolved against filepath.Dir(path).
func Parse(path string, data []byte, env string) (*Config, []Warning, error) {
	format, err := fileFormat(path)
	if err != nil {
		return nil, nil, err
	}
	root, err := decode(path, format, data)
	if err != nil {
		return nil, nil, err
	}
	r := resolver{path: path, format: format, dir: filepath.Dir(path)}
	cfg := r.resolve(root, env)
	warnings := make([]Warning, 0, len(r.warnings))
	for _, w := range r.warnings {
		warnings = append(warnings, Warning{Path: path, Message: w.Message})
	}
	if len(r.errors) > 0 {
		return nil, warnings, &ValidationError{Path: path, Problems: r.errors}
	}
	return cfg, warnings, nil
}
