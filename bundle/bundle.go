package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// GlobalName is the global variable the bundle assigns the entry module's
// exports to: after running the script, globalThis[GlobalName].default is the
// default export and globalThis[GlobalName].Counter a named one.
const GlobalName = "__kiln_worker"

// ScriptName is the file name of the bundle: the (never written) output
// file, relative to the project directory. Compile the bundle under this name
// (goja.Compile(bundle.ScriptName, code, false)): goja resolves the source
// map's sources relative to the script's name, and they are relative to the
// project directory, so traces then read "src/index.ts:12:5".
const ScriptName = GlobalName + ".js"

// Options says what to bundle.
type Options struct {
	// Entry is the absolute path of the Worker's entry point (config "main").
	Entry string
	// ProjectDir is where node_modules and tsconfig.json are looked up from and
	// what source map and error paths are relative to. Empty means the
	// directory of Entry.
	ProjectDir string
	// Define replaces global expressions with constants (esbuild's define).
	Define map[string]string
	// Minify minifies whitespace, identifiers and syntax.
	Minify bool
	// MaxFileSize bounds each source file in bytes; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxNesting bounds the nesting depth of each JS/TS/JSON source file (see
	// CheckNesting); 0 means DefaultMaxNesting.
	MaxNesting int
}

// Result is a bundled Worker.
type Result struct {
	// Code is the classic script: an IIFE assigning the entry's exports to
	// GlobalName, ending with an inline source map comment.
	Code string
	// Inputs are the absolute paths of the files that went into the bundle,
	// sorted: what a file watcher should watch.
	Inputs []string
	// Exports are the names the entry module exports ("default", "Counter"),
	// sorted. Empty for a service-worker script.
	Exports []string
	// Warnings are esbuild's warnings, each formatted as esbuild prints it.
	Warnings []string
}

// BuildError is a failed build: the code did not compile, a module could not
// be resolved, or a file was refused by the size and nesting guard.
type BuildError struct {
	// Messages are esbuild's error messages.
	Messages []api.Message
	// Text is Messages formatted as the esbuild CLI prints them: the message,
	// file:line:column, the source line and a caret.
	Text string
	// Inputs are the files read before the build failed (always including the
	// entry), so that a watcher can rebuild once the user fixes them.
	Inputs []string
}

func (e *BuildError) Error() string { return e.Text }

// engineGaps are the syntax features esbuild must lower (or reject) because
// goja does not run them; measured in research/jsengine.md §1.
func engineGaps() map[string]bool {
	return map[string]bool{
		"async-generator": false, // SyntaxError in goja
		"for-await":       false, // SyntaxError in goja
		"using":           false, // no "using" declarations
		// goja's RegExp: esbuild cannot lower these, so marking them unsupported
		// makes it report them instead of emitting code that misbehaves.
		"regexp-named-capture-groups":     false,
		"regexp-unicode-property-escapes": false,
		"regexp-match-indices":            false,
		"regexp-set-notation":             false,
		// An IIFE cannot wait: top-level await is a build error.
		"top-level-await": false,
		// A script has no import.meta: esbuild makes it {} and warns, at the
		// user's line.
		"import-meta": false,
		// goja cannot parse a class field named get, set or async with an
		// initialiser ("set = () => {}", which Hono uses): lower all fields.
		"class-field":        false,
		"class-static-field": false,
	}
}

// loaders are wrangler's: .js/.mjs/.cjs may contain JSX, and its default module
// rules make .txt/.html/.sql text and .bin/.wasm bytes (a Uint8Array; kiln has
// no WebAssembly, so .wasm is not a WebAssembly.Module as on Cloudflare).
func loaders() map[string]api.Loader {
	return map[string]api.Loader{
		".js": api.LoaderJSX, ".mjs": api.LoaderJSX, ".cjs": api.LoaderJSX, ".jsx": api.LoaderJSX,
		".ts": api.LoaderTS, ".mts": api.LoaderTS, ".cts": api.LoaderTS, ".tsx": api.LoaderTSX,
		".json": api.LoaderJSON,
		".txt":  api.LoaderText, ".html": api.LoaderText, ".sql": api.LoaderText,
		".bin": api.LoaderBinary, ".wasm": api.LoaderBinary,
	}
}

// Build bundles opts.Entry and everything it imports into one script. A build
// that fails because of the user's code returns a *BuildError.
func Build(ctx context.Context, opts Options) (*Result, error) {
	res, inputs, err := buildESM(ctx, opts, true)
	if err != nil {
		return nil, err
	}
	exports, err := entryExports(res.Metafile)
	if err != nil {
		return nil, err
	}
	code, err := convertToIIFE(string(res.OutputFiles[0].Contents), opts.Minify)
	if err != nil {
		return nil, err
	}
	return &Result{
		Code:     code,
		Inputs:   inputs,
		Exports:  exports,
		Warnings: formatMessages(res.Warnings, api.WarningMessage),
	}, nil
}

// BuildModule bundles opts.Entry into one ES module for another runtime to
// load (what `kiln deploy` uploads): the same resolution, loaders and input
// guards as Build, but `cloudflare:*` imports are left to that runtime and
// the code is neither lowered for goja nor wrapped as a classic script. A
// build that fails because of the user's code returns a *BuildError.
func BuildModule(ctx context.Context, opts Options) ([]byte, error) {
	res, _, err := buildESM(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	return res.OutputFiles[0].Contents, nil
}

// buildESM runs esbuild on opts.Entry with ES module output, for kiln's own
// engine (forGoja: goja's gaps lowered, `cloudflare:*` provided, inline source
// map and metafile) or for another runtime. It returns the one output file's
// build result and the sorted inputs.
func buildESM(ctx context.Context, opts Options, forGoja bool) (api.BuildResult, []string, error) {
	if !filepath.IsAbs(opts.Entry) {
		return api.BuildResult{}, nil, fmt.Errorf("bundle: entry %q is not an absolute path", opts.Entry)
	}
	entry := filepath.Clean(opts.Entry)
	projectDir := opts.ProjectDir
	if projectDir == "" {
		projectDir = filepath.Dir(entry)
	}
	projectDir, err := filepath.Abs(projectDir)
	if err != nil {
		return api.BuildResult{}, nil, fmt.Errorf("bundle: project directory: %w", err)
	}
	// esbuild reports files by their real path (it resolves symlinks), so the
	// directory they are named relative to must be real too.
	if real, err := filepath.EvalSymlinks(projectDir); err == nil {
		projectDir = real
	}
	maxSize := opts.MaxFileSize
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	maxNesting := opts.MaxNesting
	if maxNesting <= 0 {
		maxNesting = DefaultMaxNesting
	}
	if err := ctx.Err(); err != nil {
		return api.BuildResult{}, nil, fmt.Errorf("bundle: %w", err)
	}

	inputs := &inputSet{}
	buildOpts := api.BuildOptions{
		EntryPoints:   []string{entry},
		AbsWorkingDir: projectDir,
		Outfile:       filepath.Join(projectDir, ScriptName),
		Bundle:        true,
		Write:         false,
		LogLevel:      api.LogLevelSilent,
		// ES module output, so that the metafile lists the entry's exports;
		// convertToIIFE then wraps it for goja.
		Format: api.FormatESModule,
		// As wrangler (which leaves esbuild's default): package.json "browser"
		// maps apply and process.env.NODE_ENV is defined.
		Platform:          api.PlatformBrowser,
		MainFields:        []string{"browser", "module", "main"},
		Conditions:        []string{"workerd", "worker", "browser"},
		Target:            api.ES2022,
		Loader:            loaders(),
		Define:            opts.Define,
		MinifyWhitespace:  opts.Minify,
		MinifyIdentifiers: opts.Minify,
		MinifySyntax:      opts.Minify,
		Plugins:           []api.Plugin{guardPlugin(projectDir, maxSize, maxNesting, inputs)},
	}
	if forGoja {
		buildOpts.Metafile = true
		buildOpts.Supported = engineGaps()
		// Inline, so that convertToIIFE picks it up and chains it.
		buildOpts.Sourcemap = api.SourceMapInline
		buildOpts.SourcesContent = api.SourcesContentInclude
		buildOpts.Plugins = append([]api.Plugin{cloudflarePlugin()}, buildOpts.Plugins...)
	} else {
		buildOpts.External = []string{"cloudflare:*"}
	}

	res, err := runBuild(ctx, buildOpts)
	if err != nil {
		return api.BuildResult{}, nil, err
	}
	if len(res.Errors) > 0 {
		return api.BuildResult{}, nil, newBuildError(res.Errors, withEntry(inputs.sorted(), entry))
	}
	if len(res.OutputFiles) != 1 {
		return api.BuildResult{}, nil, fmt.Errorf("bundle: esbuild produced %d output files, want 1", len(res.OutputFiles))
	}
	return res, inputs.sorted(), nil
}

// runBuild runs one esbuild build, cancelling it when ctx is done.
func runBuild(ctx context.Context, opts api.BuildOptions) (api.BuildResult, error) {
	bc, cerr := api.Context(opts)
	if cerr != nil {
		return api.BuildResult{Errors: cerr.Errors}, nil
	}
	defer bc.Dispose()
	done := make(chan api.BuildResult, 1)
	go func() { done <- bc.Rebuild() }()
	select {
	case res := <-done:
		return res, nil
	case <-ctx.Done():
		bc.Cancel()
		<-done
		return api.BuildResult{}, fmt.Errorf("bundle: %w", ctx.Err())
	}
}

// convertToIIFE turns esbuild's ES module output into the classic script goja
// runs, chaining the inline source map. Its warnings are dropped: they repeat
// the first pass's, located in the intermediate file. (What only this pass
// would warn about, import.meta, the first pass already replaced: see
// engineGaps.)
func convertToIIFE(esm string, minify bool) (string, error) {
	tr := api.Transform(esm, api.TransformOptions{
		Loader:            api.LoaderJS,
		Sourcefile:        ScriptName,
		Format:            api.FormatIIFE,
		GlobalName:        GlobalName,
		Target:            api.ES2022,
		Supported:         engineGaps(),
		Sourcemap:         api.SourceMapInline,
		SourcesContent:    api.SourcesContentInclude,
		MinifyWhitespace:  minify,
		MinifySyntax:      minify,
		MinifyIdentifiers: minify,
		LogLevel:          api.LogLevelSilent,
	})
	if len(tr.Errors) > 0 {
		// The input is esbuild's own output: this is a bug, not the user's.
		return "", fmt.Errorf("bundle: converting to a script: %s", strings.Join(formatMessages(tr.Errors, api.ErrorMessage), "\n"))
	}
	return string(tr.Code), nil
}

// metafile is the part of esbuild's metafile Build reads.
type metafile struct {
	Outputs map[string]struct {
		EntryPoint string   `json:"entryPoint"`
		Exports    []string `json:"exports"`
	} `json:"outputs"`
}

func entryExports(meta string) ([]string, error) {
	var m metafile
	if err := json.Unmarshal([]byte(meta), &m); err != nil {
		return nil, fmt.Errorf("bundle: reading esbuild's metafile: %w", err)
	}
	for _, out := range m.Outputs {
		if out.EntryPoint != "" {
			exports := slices.Clone(out.Exports)
			slices.Sort(exports)
			if exports == nil {
				exports = []string{}
			}
			return exports, nil
		}
	}
	return nil, errors.New("bundle: esbuild's metafile names no entry point output")
}

func withEntry(inputs []string, entry string) []string {
	if !slices.Contains(inputs, entry) {
		inputs = append(inputs, entry)
		slices.Sort(inputs)
	}
	return inputs
}
