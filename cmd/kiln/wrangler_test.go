package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The wrangler tests drive kiln serve with the real wrangler CLI. .ci/run
// installs wrangler and sets KILN_WRANGLER to its executable; without the
// variable the tests skip.

func wranglerBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KILN_WRANGLER")
	if bin == "" {
		t.Skip("KILN_WRANGLER is not set (path to a wrangler executable; .ci/run installs one)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("KILN_WRANGLER: %v", err)
	}
	return bin
}

// apiLog is a reverse proxy in front of the management API that records
// the requests wrangler sends, for the failure messages.
type apiLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *apiLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *apiLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *apiLog) reset() {
	l.mu.Lock()
	l.lines = nil
	l.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// startAPIProxy returns the base URL (…/client/v4) of a logging proxy to api.
func startAPIProxy(t *testing.T, api string) (string, *apiLog) {
	t.Helper()
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	target := &url.URL{Scheme: u.Scheme, Host: u.Host}
	rp := httputil.NewSingleHostReverseProxy(target)
	log := &apiLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		rp.ServeHTTP(rec, r)
		log.add(r.Method + " " + r.URL.RequestURI() + " -> " + http.StatusText(rec.status) + " (" + itoa(rec.status) + ")")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path, log
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type wranglerEnv struct {
	t    *testing.T
	bin  string
	env  []string
	log  *apiLog
	home string
}

func newWranglerEnv(t *testing.T, p *serveProcess) *wranglerEnv {
	t.Helper()
	bin := wranglerBin(t)
	base, log := startAPIProxy(t, p.api)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CLOUDFLARE_") || strings.HasPrefix(k, "CF_") || strings.HasPrefix(k, "WRANGLER_") ||
			strings.EqualFold(k, "npm_config_registry") || k == "TMPDIR" || k == "HOME" || k == "XDG_CONFIG_HOME" || k == "XDG_CACHE_HOME" || k == "XDG_DATA_HOME" || k == "CI" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"WRANGLER_LOG_PATH="+filepath.Join(home, "wrangler-logs"),
		"WRANGLER_SEND_METRICS=false",
		"CI=true",
		"NO_COLOR=1",
		// No update check against the npm registry: no banner, and a
		// registry on a closed loopback port.
		"WRANGLER_HIDE_BANNER=true",
		"npm_config_registry=http://127.0.0.1:9/",
		"TMPDIR="+filepath.Join(home, "tmp"),
		"FORCE_COLOR=0",
		"CLOUDFLARE_API_BASE_URL="+base,
		"CLOUDFLARE_API_TOKEN="+p.token,
		"CLOUDFLARE_ACCOUNT_ID="+p.account,
	)
	return &wranglerEnv{t: t, bin: bin, env: env, log: log, home: home}
}

// run runs wrangler in dir and returns its combined output; it fails the
// test, with the API requests it made, when wrangler fails.
func (w *wranglerEnv) run(dir string, args ...string) string {
	w.t.Helper()
	out, err := w.try(dir, args...)
	if err != nil {
		w.t.Fatalf("wrangler %s: %v\n%s\nAPI requests:\n%s", strings.Join(args, " "), err, out, w.log)
	}
	return out
}

func (w *wranglerEnv) try(dir string, args ...string) (string, error) {
	w.t.Helper()
	w.log.reset()
	cmd := exec.Command(w.bin, args...)
	cmd.Dir = dir
	cmd.Env = w.env
	cmd.Stdin = nil
	timer := time.AfterFunc(3*time.Minute, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	w.t.Logf("wrangler %s\n%s\nAPI requests:\n%s", strings.Join(args, " "), out, w.log)
	return string(out), err
}

var namespaceIDLine = regexp.MustCompile(`\b([0-9a-f]{32})\b`)

func TestWranglerKV(t *testing.T) {
	wranglerBin(t)
	p := startServe(t, t.TempDir())
	w := newWranglerEnv(t, p)
	dir := t.TempDir()

	out := w.run(dir, "kv", "namespace", "create", "wrangler-kv")
	m := namespaceIDLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no namespace id in:\n%s", out)
	}
	id := m[1]

	out = w.run(dir, "kv", "namespace", "list")
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &list); err != nil {
		t.Fatalf("namespace list output: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Title != "wrangler-kv" {
		t.Fatalf("namespace list: %+v", list)
	}

	ns := []string{"--remote", "--namespace-id", id}
	kv := func(args ...string) string { return w.run(dir, append(append([]string{"kv"}, args...), ns...)...) }

	kv("key", "put", "greeting", "hello from wrangler")
	kv("key", "put", "with-meta", "v2", "--metadata", `{"a":1}`, "--ttl", "3600")
	if got := kv("key", "get", "greeting"); !strings.Contains(got, "hello from wrangler") {
		t.Fatalf("key get: %q", got)
	}
	out = kv("key", "list")
	var keys []struct {
		Name     string         `json:"name"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &keys); err != nil {
		t.Fatalf("key list output: %v\n%s", err, out)
	}
	if len(keys) != 2 || keys[0].Name != "greeting" || keys[1].Name != "with-meta" || keys[1].Metadata["a"] != float64(1) {
		t.Fatalf("key list: %+v", keys)
	}
	kv("key", "delete", "greeting")
	if code, _, body := p.rawValue(t, id, "greeting"); code != 404 {
		t.Fatalf("after key delete: %d %s", code, body)
	}

	bulk := filepath.Join(dir, "bulk.json")
	if err := os.WriteFile(bulk, []byte(`[{"key":"b1","value":"one"},{"key":"b2","value":"two","metadata":{"n":2}},{"key":"b3","value":"dGhyZWU=","base64":true}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	kv("bulk", "put", bulk)
	for k, want := range map[string]string{"b1": "one", "b2": "two", "b3": "three"} {
		if code, _, body := p.rawValue(t, id, k); code != 200 || body != want {
			t.Fatalf("after bulk put, %s: %d %q", k, code, body)
		}
	}
	if got := kv("key", "get", "b3"); !strings.Contains(got, "three") {
		t.Fatalf("key get b3: %q", got)
	}
	del := filepath.Join(dir, "delete.json")
	if err := os.WriteFile(del, []byte(`["b1","b3"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	kv("bulk", "delete", del, "--force")
	for k, want := range map[string]int{"b1": 404, "b2": 200, "b3": 404} {
		if code, _, _ := p.rawValue(t, id, k); code != want {
			t.Fatalf("after bulk delete, %s: %d, want %d", k, code, want)
		}
	}
}

// rawValue reads a KV value through the API.
func (p *serveProcess) rawValue(t *testing.T, ns, key string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.api+"/accounts/"+p.account+"/storage/kv/namespaces/"+ns+"/values/"+url.PathEscape(key), nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWranglerDeployCounter(t *testing.T) {
	wranglerBin(t)
	p := startServe(t, t.TempDir())
	w := newWranglerEnv(t, p)
	dir := t.TempDir()
	copyDir(t, "../../examples/counter", dir)

	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", p.public+path, nil)
		req.Host = "counter.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	w.run(dir, "deploy")
	if code, body := get("/increment"); code != 200 || body != "Durable Object 'A' count: 1" {
		t.Fatalf("/increment: %d %q", code, body)
	}

	// A second deploy of the existing Worker (wrangler then uploads a
	// version and deploys it) keeps the Durable Object's storage.
	src := filepath.Join(dir, "src", "index.js")
	code, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte(strings.Replace(string(code), "Durable Object 'A' count: ", "Durable Object 'A' count (v2): ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.run(dir, "deploy")
	if code, body := get("/increment"); code != 200 || body != "Durable Object 'A' count (v2): 2" {
		t.Fatalf("/increment after redeploy: %d %q", code, body)
	}
}

// TestWranglerDeployRoutes deploys a Worker whose config has routes: wrangler
// looks up the zones and sets the script's routes, and kiln serve then sends
// traffic for those patterns to the Worker.
func TestWranglerDeployRoutes(t *testing.T) {
	wranglerBin(t)
	p := startServe(t, t.TempDir())
	w := newWranglerEnv(t, p)
	dir := t.TempDir()
	copyDir(t, "../../examples/hello", dir)
	cfg := filepath.Join(dir, "wrangler.toml")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withRoutes := strings.Replace(string(text), "compatibility_date", "routes = [{ pattern = \"shop.example.com/*\", zone_name = \"example.com\" }]\ncompatibility_date", 1)
	if err := os.WriteFile(cfg, []byte(withRoutes), 0o644); err != nil {
		t.Fatal(err)
	}
	w.run(dir, "deploy")

	req, _ := http.NewRequest("GET", p.public+"/", nil)
	req.Host = "shop.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello") {
		t.Fatalf("shop.example.com/: %d %q\nAPI requests:\n%s", resp.StatusCode, body, w.log)
	}
}
