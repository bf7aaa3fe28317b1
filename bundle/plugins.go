package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"
)

// HostSymbol is the Symbol.for key of the host object the engine installs on
// globalThis before it runs a bundle. The virtual module "cloudflare:workers"
// reads its exports from that object.
const HostSymbol = "kiln.host"

// hostExports are the properties of the host object that "cloudflare:workers"
// exports.
var hostExports = []string{"DurableObject", "WorkerEntrypoint", "RpcTarget", "WorkflowEntrypoint", "env", "waitUntil"}

// HostExports returns the names of the host object's properties that the
// virtual module "cloudflare:workers" exports: the engine must define all of
// them on globalThis[Symbol.for(HostSymbol)] before it runs a bundle.
func HostExports() []string { return slices.Clone(hostExports) }

// virtualNamespace is the esbuild namespace of kiln's virtual modules. It shows
// up in source map names and in the metafile as "kiln:cloudflare:workers".
const virtualNamespace = "kiln"

// cloudflareWorkersSource is the ES source of the "cloudflare:workers" module.
func cloudflareWorkersSource() string {
	var b strings.Builder
	fmt.Fprintf(&b, "const host = globalThis[Symbol.for(%q)];\n", HostSymbol)
	fmt.Fprintf(&b, "if (host === undefined) throw new Error(%q);\n",
		`cloudflare:workers: the kiln host object globalThis[Symbol.for("`+HostSymbol+`")] is not defined`)
	for _, name := range hostExports {
		fmt.Fprintf(&b, "export const %s = host.%s;\n", name, name)
	}
	return b.String()
}

// cloudflarePlugin resolves "cloudflare:workers" to the virtual module and
// turns every other "cloudflare:*" import into an error that says kiln does
// not provide it.
func cloudflarePlugin() api.Plugin {
	return api.Plugin{
		Name: "kiln-cloudflare",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: `^cloudflare:`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				if args.Path == "cloudflare:workers" {
					return api.OnResolveResult{Path: args.Path, Namespace: virtualNamespace}, nil
				}
				return api.OnResolveResult{Errors: []api.Message{{
					Text: fmt.Sprintf("kiln does not provide the module %q", args.Path),
					Notes: []api.Note{{Text: `The only "cloudflare:" module kiln implements is "cloudflare:workers" ` +
						"(DurableObject, WorkerEntrypoint, RpcTarget, WorkflowEntrypoint, env, waitUntil)."}},
				}}}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: `^cloudflare:workers$`, Namespace: virtualNamespace}, func(api.OnLoadArgs) (api.OnLoadResult, error) {
				src := cloudflareWorkersSource()
				return api.OnLoadResult{Contents: &src, Loader: api.LoaderJS}, nil
			})
		},
	}
}

// nestingChecked are the extensions whose files are JavaScript, TypeScript or
// JSON, and so get the nesting guard, mapped to whether esbuild parses JSX in
// them (see loaders). Other files (text, bytes) only have their size bounded.
var nestingChecked = map[string]bool{
	".js": true, ".mjs": true, ".cjs": true, ".jsx": true, ".tsx": true,
	".ts": false, ".mts": false, ".cts": false, ".json": false,
}

// inputSet records the files a build read. OnLoad callbacks run concurrently.
type inputSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (s *inputSet) add(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths == nil {
		s.paths = map[string]bool{}
	}
	s.paths[p] = true
}

func (s *inputSet) sorted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.paths))
	for p := range s.paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// guardPlugin loads every file from disk itself, so that it can refuse files
// that are too large or too deeply nested before esbuild parses them, and
// records each file it loads in inputs.
func guardPlugin(projectDir string, maxSize int64, maxNesting int, inputs *inputSet) api.Plugin {
	return api.Plugin{
		Name: "kiln-guard",
		Setup: func(b api.PluginBuild) {
			b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "file"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				inputs.add(args.Path)
				name := displayPath(projectDir, args.Path)
				fi, err := os.Stat(args.Path)
				if err != nil {
					return api.OnLoadResult{}, fmt.Errorf("cannot read %s: %w", name, err)
				}
				if fi.Size() > maxSize {
					return api.OnLoadResult{Errors: []api.Message{{
						Text: fmt.Sprintf("%s is too large to bundle: %s, the limit for one source file is %s",
							name, formatSize(fi.Size()), formatSize(maxSize)),
					}}}, nil
				}
				data, err := os.ReadFile(args.Path)
				if err != nil {
					return api.OnLoadResult{}, fmt.Errorf("cannot read %s: %w", name, err)
				}
				src := string(data)
				if jsx, ok := nestingChecked[strings.ToLower(filepath.Ext(args.Path))]; ok {
					if err := checkNesting(src, maxNesting, jsx); err != nil {
						var ne *NestingError
						if !errors.As(err, &ne) {
							return api.OnLoadResult{}, err
						}
						return api.OnLoadResult{Errors: []api.Message{nestingMessage(name, ne)}}, nil
					}
				}
				// LoaderDefault: esbuild picks the loader from the extension, as
				// it would had it read the file itself.
				return api.OnLoadResult{Contents: &src, Loader: api.LoaderDefault}, nil
			})
		},
	}
}

func nestingMessage(name string, ne *NestingError) api.Message {
	var text string
	if ne.Chain {
		text = fmt.Sprintf("%s has a member/call chain longer than %d links; kiln refuses to bundle it because such code can crash or stall the parser", name, ne.Max)
	} else {
		text = fmt.Sprintf("%s is nested more than %d levels deep (brackets, operators and nested statements); kiln refuses to bundle it because such code can crash the parser with a stack overflow", name, ne.Max)
	}
	return api.Message{
		Text: text,
		Location: &api.Location{
			File:     name,
			Line:     ne.Line,
			Column:   ne.Column,
			Length:   1,
			LineText: ne.LineText,
		},
	}
}

// displayPath names a file relative to the project directory when it is inside it.
func displayPath(projectDir, p string) string {
	if rel, err := filepath.Rel(projectDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
