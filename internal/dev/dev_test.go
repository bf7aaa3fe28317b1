package dev

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-dev/kiln/worker"
)

// syncBuffer is an io.Writer tests can read while the server writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type session struct {
	base   string
	out    *syncBuffer
	errOut *syncBuffer
	builds chan error
}

func startDev(t *testing.T, opts Options) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{out: &syncBuffer{}, errOut: &syncBuffer{}, builds: make(chan error, 16)}
	ready := make(chan string, 1)
	opts.IP, opts.Port = "127.0.0.1", 0
	opts.Out, opts.Err = s.out, s.errOut
	opts.Ready = func(addr string) { ready <- addr }
	opts.OnBuild = func(err error) { s.builds <- err }
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	select {
	case addr := <-ready:
		s.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("dev exited: %v\n%s", err, s.errOut)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func (s *session) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const projectConfig = `{
  // comments and trailing commas, as wrangler accepts them
  "$schema": "./node_modules/wrangler/config-schema.json",
  "name": "devtest",
  "main": "src/index.ts",
  "compatibility_date": "2025-01-01",
  "vars": { "WHO": "top", "LIMITS": { "max": 3 }, },
  "env": { "staging": { "vars": { "WHO": "staging" } } },
}`

const projectSource = `import { shout } from "tiny-dep";
interface Env { WHO: string; LIMITS: { max: number } }
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/boom") {
      throw new Error("kaboom");
    }
    return new Response(shout("v1 " + env.WHO + " " + env.LIMITS.max));
  },
};
`

func newProject(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"wrangler.jsonc": projectConfig,
		"src/index.ts":   projectSource,
		// An npm package whose "workerd" export condition must win.
		"node_modules/tiny-dep/package.json": `{"name":"tiny-dep","version":"1.0.0","exports":{".":{"workerd":"./workerd.js","default":"./node.js"}}}`,
		"node_modules/tiny-dep/workerd.js":   `export function shout(s) { return s.toUpperCase() + "!"; }`,
		"node_modules/tiny-dep/node.js":      `export function shout(s) { return "wrong condition"; }`,
	})
	return dir
}

func TestDevServesTypeScriptWithNpmDependency(t *testing.T) {
	s := startDev(t, Options{Dir: newProject(t)})
	if code, body := s.get(t, "/"); code != 200 || body != "V1 TOP 3!" {
		t.Fatalf("%d %q", code, body)
	}
	out := s.out.String()
	for _, want := range []string{"devtest", "env.WHO", "Ready on " + s.base} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
}

func TestDevEnvAndVarOverride(t *testing.T) {
	s := startDev(t, Options{Dir: newProject(t), Env: "staging"})
	// env.staging has vars, so LIMITS (top level only) is not inherited.
	if code, body := s.get(t, "/"); code != 500 || !strings.Contains(body, "max") {
		t.Fatalf("LIMITS should be absent in env staging: %d %q", code, body)
	}
	s2 := startDev(t, Options{Dir: newProject(t), Vars: []worker.Var{{Name: "WHO", Value: "flag"}}})
	if code, body := s2.get(t, "/"); code != 200 || body != "V1 FLAG 3!" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestDevErrorStackNamesTheSourceFile(t *testing.T) {
	s := startDev(t, Options{Dir: newProject(t)})
	code, body := s.get(t, "/boom")
	if code != 500 || !strings.Contains(body, "Error: kaboom") || !strings.Contains(body, "src/index.ts:7:") {
		t.Fatalf("%d %q", code, body)
	}
}

func TestDevReloadsAndSurvivesABuildError(t *testing.T) {
	dir := newProject(t)
	s := startDev(t, Options{Dir: dir, Watch: true})
	if _, body := s.get(t, "/"); body != "V1 TOP 3!" {
		t.Fatalf("before: %q", body)
	}
	src := filepath.Join(dir, "src/index.ts")
	writeFiles(t, dir, map[string]string{"src/index.ts": strings.Replace(projectSource, "return new Response(", "return new Response((", 1)})
	err := <-s.builds
	if err == nil {
		t.Fatal("a syntax error built")
	}
	msg := err.Error()
	if !strings.Contains(msg, "src/index.ts:9:") || !strings.Contains(msg, "^") {
		t.Fatalf("build error lacks file, line or caret:\n%s", msg)
	}
	// The last good version keeps serving.
	if code, body := s.get(t, "/"); code != 200 || body != "V1 TOP 3!" {
		t.Fatalf("after the bad save: %d %q", code, body)
	}
	if err := os.WriteFile(src, []byte(strings.Replace(projectSource, `"v1 "`, `"v2 "`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for err := range s.builds {
		if err == nil {
			break
		}
	}
	if code, body := s.get(t, "/"); code != 200 || body != "V2 TOP 3!" {
		t.Fatalf("after the fix: %d %q", code, body)
	}
	// A change to the configuration reloads too.
	writeFiles(t, dir, map[string]string{"wrangler.jsonc": strings.Replace(projectConfig, `"WHO": "top"`, `"WHO": "edited"`, 1)})
	for err := range s.builds {
		if err == nil {
			break
		}
	}
	if _, body := s.get(t, "/"); body != "V2 EDITED 3!" {
		t.Fatalf("after the config change: %q", body)
	}
}

func TestDevServiceWorkerSyntax(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"wrangler.toml": "name = \"sw\"\nmain = \"worker.js\"\n[vars]\nGREETING = \"hey\"\n",
		"worker.js":     `addEventListener("fetch", (event) => { event.respondWith(new Response(GREETING + " " + event.request.method)); });`,
	})
	s := startDev(t, Options{Dir: dir})
	if code, body := s.get(t, "/"); code != 200 || body != "hey GET" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestDevMissingConfigIsAClearError(t *testing.T) {
	err := Run(context.Background(), Options{Dir: t.TempDir(), Out: io.Discard, Err: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "wrangler") {
		t.Fatalf("got %v", err)
	}
}
