package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// kvEnv is a temporary project for the kv commands: a configuration file
// (optional) and a persist directory, passed explicitly to every command
// (the working directory is process-wide).
type kvEnv struct {
	t          *testing.T
	dir        string
	configPath string // "" runs without --config
	persistTo  string
}

// newKVEnv writes the configuration file name (e.g. "wrangler.toml") with
// content. Name "" makes a project without configuration: the test then
// runs in the project directory, so that no configuration is found upward
// (t.Chdir; no test of this package runs in parallel).
func newKVEnv(t *testing.T, name, content string) *kvEnv {
	t.Helper()
	dir := t.TempDir()
	e := &kvEnv{t: t, dir: dir, persistTo: filepath.Join(dir, "state")}
	if name != "" {
		e.configPath = filepath.Join(dir, name)
		e.write(name, content)
	} else {
		t.Chdir(dir)
	}
	return e
}

// write creates a file in the project directory and returns its path.
func (e *kvEnv) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// writeJSON writes v as JSON to a file of the project and returns its path.
func (e *kvEnv) writeJSON(name string, v any) string {
	e.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.write(name, string(data))
}

// kvResult is what a command printed and returned.
type kvResult struct {
	stdout, stderr string
	code           int
}

// run runs `kiln <args> [--config C] --persist-to P` through Main.
func (e *kvEnv) run(args ...string) kvResult {
	e.t.Helper()
	return e.runWithInput("", args...)
}

func (e *kvEnv) runWithInput(stdin string, args ...string) kvResult {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), e.args(args), strings.NewReader(stdin), &out, &errOut)
	return kvResult{stdout: out.String(), stderr: errOut.String(), code: code}
}

// runOnTerminal runs the kv command tree as Main does, but as if stdout
// (and stdin, when interactive) were a terminal.
func (e *kvEnv) runOnTerminal(term kvTerminal, stdin string, args ...string) kvResult {
	e.t.Helper()
	var out, errOut bytes.Buffer
	s := &streams{in: strings.NewReader(stdin), out: &out, err: &errOut}
	root := &cobra.Command{Use: "kiln", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newKVCmdFor(s, term))
	root.SetArgs(e.args(args))
	root.SetIn(s.in)
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return kvResult{stdout: out.String(), stderr: errOut.String(), code: code}
}

func (e *kvEnv) args(args []string) []string {
	out := append([]string{}, args...)
	if e.configPath != "" {
		out = append(out, "--config", e.configPath)
	}
	return append(out, "--persist-to", e.persistTo)
}

// mustRun runs a command that must succeed and returns its stdout.
func (e *kvEnv) mustRun(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("kiln %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// expect checks a result exactly.
func (r kvResult) expect(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("got exit %d\nstdout:\n%q\nstderr:\n%q\nwant exit %d\nstdout:\n%q\nstderr:\n%q",
			r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// expectError checks a failure: exit 1, the error formatted as wrangler
// formats it on stderr.
func (r kvResult) expectError(t *testing.T, stdout, msg string) {
	t.Helper()
	r.expect(t, 1, stdout, diagnostic("✘", "ERROR", msg))
}

// diagnostic is the expected rendering of an error or warning.
func diagnostic(icon, kind, msg string) string {
	var b bytes.Buffer
	writeDiagnostic(&b, icon, kind, msg)
	return b.String()
}

// Fixed texts of the outputs.
const (
	localWithHint = "Resource location: local\n\nUse --remote if you want to access the remote instance.\n\n"
	localOnly     = "Resource location: local\n\n"
)

// wranglerKVConfig is the configuration of wrangler's own KV tests.
const wranglerKVConfig = `name = "other-worker"

kv_namespaces = [
  { binding = "someBinding", id = "bound-id", preview_id = "preview-bound-id" }
]

[env.some-environment]
kv_namespaces = [
  { binding = "someBinding", id = "env-bound-id", preview_id = "preview-env-bound-id" }
]
`
