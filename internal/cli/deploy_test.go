package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/server"
	"github.com/kiln-dev/kiln/server/mgmt"
)

// copyDir copies the files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".kiln" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeployCounter(t *testing.T) {
	ctx := context.Background()
	host, err := server.Open(ctx, server.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	api, err := mgmt.New(mgmt.Options{DataDir: t.TempDir(), KV: host.KV()})
	if err != nil {
		t.Fatal(err)
	}
	host.Register(api)
	_, secret, err := api.Tokens().CreateToken(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		uploads  []string // metadata parts seen
		requests []string
	)
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/workers/scripts/") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if mr, err := r.MultipartReader(); err == nil {
				for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
					if p.FormName() == "metadata" {
						data, _ := io.ReadAll(p)
						mu.Lock()
						uploads = append(uploads, string(data))
						mu.Unlock()
					} else if ct := p.Header.Get("Content-Type"); ct != "application/javascript+module" {
						t.Errorf("module part %q has content type %q", p.FormName(), ct)
					}
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(apiSrv.Close)
	public := httptest.NewServer(host)
	t.Cleanup(public.Close)

	t.Setenv("CLOUDFLARE_API_BASE_URL", apiSrv.URL+mgmt.Prefix)
	t.Setenv("CLOUDFLARE_API_TOKEN", secret)
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", api.Account().ID)

	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "examples", "counter"), dir)
	cfgPath := filepath.Join(dir, "wrangler.toml")

	deploy := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := Main(ctx, []string{"deploy", "--config", cfgPath}, strings.NewReader(""), &out, &errOut)
		if code != 0 {
			t.Fatalf("deploy: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		}
		return out.String()
	}
	increment := func() string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, public.URL+"/increment", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "counter.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}

	out := deploy()
	for _, want := range []string{"Uploaded counter", "Deployed counter", "counter.<domain>", "env.Counter (Counter)"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if got := increment(); got != "Durable Object 'A' count: 1" {
		t.Fatalf("first increment: %q", got)
	}

	deploy()
	if got := increment(); got != "Durable Object 'A' count: 2" {
		t.Fatalf("after the second deploy: %q", got)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(uploads) != 2 {
		t.Fatalf("uploads: %d (%v)", len(uploads), requests)
	}
	var first, second struct {
		MainModule string `json:"main_module"`
		Bindings   []struct {
			Type, Name string
			ClassName  string `json:"class_name"`
		} `json:"bindings"`
		Migrations *struct {
			OldTag string           `json:"old_tag"`
			NewTag string           `json:"new_tag"`
			Steps  []map[string]any `json:"steps"`
		} `json:"migrations"`
	}
	if err := json.Unmarshal([]byte(uploads[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(uploads[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first.MainModule != "index.js" || len(first.Bindings) != 1 || first.Bindings[0].Type != "durable_object_namespace" ||
		first.Migrations == nil || first.Migrations.NewTag != "v1" || first.Migrations.OldTag != "" || len(first.Migrations.Steps) != 1 {
		t.Errorf("first upload metadata: %s", uploads[0])
	}
	if second.Migrations != nil {
		t.Errorf("second upload sends migrations again: %s", uploads[1])
	}
}

func TestMigrationsToUpload(t *testing.T) {
	ms := []config.Migration{{Tag: "v1", NewClasses: []string{"A"}}, {Tag: "v2", NewSQLiteClasses: []string{"B"}}, {Tag: "v3", DeletedClasses: []string{"A"}}}
	m, w := migrationsToUpload(ms, "", false)
	if m == nil || m.OldTag != "" || m.NewTag != "v3" || len(m.Steps) != 3 || w != "" {
		t.Errorf("new script: %+v %q", m, w)
	}
	m, _ = migrationsToUpload(ms, "v1", true)
	if m == nil || m.OldTag != "v1" || m.NewTag != "v3" || len(m.Steps) != 2 || m.Steps[0].NewSQLiteClasses[0] != "B" {
		t.Errorf("after v1: %+v", m)
	}
	if m, _ = migrationsToUpload(ms, "v3", true); m != nil {
		t.Errorf("up to date: %+v", m)
	}
	m, w = migrationsToUpload(ms, "gone", true)
	if m == nil || m.OldTag != "gone" || len(m.Steps) != 3 || w == "" {
		t.Errorf("unknown tag: %+v %q", m, w)
	}
}

func TestDeployNeedsServerEnv(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_BASE_URL", "")
	t.Setenv("CF_API_BASE_URL", "")
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "examples", "counter"), dir)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"deploy", "--config", filepath.Join(dir, "wrangler.toml")}, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "CLOUDFLARE_API_BASE_URL") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestDeployRoutes(t *testing.T) {
	ctx := context.Background()
	host, err := server.Open(ctx, server.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	api, err := mgmt.New(mgmt.Options{DataDir: t.TempDir(), KV: host.KV()})
	if err != nil {
		t.Fatal(err)
	}
	host.Register(api)
	_, secret, err := api.Tokens().CreateToken(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	public := httptest.NewServer(host)
	t.Cleanup(public.Close)
	t.Setenv("CLOUDFLARE_API_BASE_URL", apiSrv.URL+mgmt.Prefix)
	t.Setenv("CLOUDFLARE_API_TOKEN", secret)
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", api.Account().ID)

	dir := t.TempDir()
	writeFile := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("index.js", `export default { fetch(req) { return new Response("site " + new URL(req.url).pathname); } };`)
	writeFile("wrangler.toml", "name = \"site\"\nmain = \"index.js\"\ncompatibility_date = \"2025-01-01\"\nroutes = [\"shop.example.com/*\", { pattern = \"*.example.org/api/*\", zone_name = \"example.org\" }]\n")
	var out, errOut bytes.Buffer
	if code := Main(ctx, []string{"deploy", "--config", filepath.Join(dir, "wrangler.toml")}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "shop.example.com/*") {
		t.Errorf("deploy output does not list the routes:\n%s", out.String())
	}
	get := func(host, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, public.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("shop.example.com", "/cart"); code != 200 || body != "site /cart" {
		t.Errorf("shop.example.com/cart: %d %q", code, body)
	}
	if code, body := get("eu.example.org", "/api/x"); code != 200 || body != "site /api/x" {
		t.Errorf("eu.example.org/api/x: %d %q", code, body)
	}
	if code, _ := get("eu.example.org", "/other"); code == 200 {
		t.Errorf("eu.example.org/other is outside every route but was served")
	}
}
