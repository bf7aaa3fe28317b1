package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
	"github.com/kiln-dev/kiln/server/mgmt"
)

// kvServer is an in-process kiln management API with a KV store, counting
// the requests it gets by "METHOD path-suffix".
type kvServer struct {
	url     string // …/client/v4
	token   string
	account string
	mu      sync.Mutex
	seen    []string // "METHOD /path?query"
}

func startKVServer(t *testing.T) *kvServer {
	t.Helper()
	ctx := context.Background()
	store, err := kvsqlite.Open(ctx, filepath.Join(t.TempDir(), "kv.sqlite"), kvsqlite.Options{PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	api, err := mgmt.New(mgmt.Options{DataDir: t.TempDir(), KV: store})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := api.Tokens().CreateToken(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &kvServer{token: secret, account: api.Account().ID}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + mgmt.Prefix
	return s
}

// setEnv points the CLI at the server.
func (s *kvServer) setEnv(t *testing.T, withAccount bool) {
	t.Setenv("CLOUDFLARE_API_BASE_URL", s.url)
	t.Setenv("CF_API_BASE_URL", "")
	t.Setenv("CLOUDFLARE_API_TOKEN", s.token)
	t.Setenv("CF_API_TOKEN", "")
	t.Setenv("CF_ACCOUNT_ID", "")
	if withAccount {
		t.Setenv("CLOUDFLARE_ACCOUNT_ID", s.account)
	} else {
		t.Setenv("CLOUDFLARE_ACCOUNT_ID", "")
	}
}

// count is how many requests matched method and contained part.
func (s *kvServer) count(method, part string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.seen {
		if strings.HasPrefix(r, method+" ") && strings.Contains(r, part) {
			n++
		}
	}
	return n
}

// has reports whether exactly request was made.
func (s *kvServer) has(request string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.seen {
		if r == request {
			return true
		}
	}
	return false
}

func (s *kvServer) reset() {
	s.mu.Lock()
	s.seen = nil
	s.mu.Unlock()
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return b.String()
}

const remoteOnly = "Resource location: remote\n\n"

func TestKVRemoteKeys(t *testing.T) {
	s := startKVServer(t)
	s.setEnv(t, true)
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)

	// The namespace exists on the server first, as on the platform.
	out := e.mustRun("kv", "namespace", "create", "cache", "--remote")
	if !strings.HasPrefix(out, remoteOnly+`🌀 Creating namespace with title "cache"`) {
		t.Fatalf("create printed %q", out)
	}
	var list []struct{ ID, Title string }
	if err := json.Unmarshal([]byte(e.mustRun("kv", "namespace", "list", "--remote")), &list); err != nil || len(list) != 1 || list[0].Title != "cache" {
		t.Fatalf("namespace list: %v %+v", err, list)
	}
	ns := list[0].ID

	e.run("kv", "key", "put", "greeting", "hello world", "--namespace-id", ns, "--remote").
		expect(t, 0, remoteOnly+`Writing the value "hello world" to key "greeting" on namespace id: "`+ns+`".`+"\n", "")
	if n := s.count("PUT", "/values/greeting"); n != 1 {
		t.Errorf("PUT values requests: %d", n)
	}
	e.run("kv", "key", "get", "greeting", "--namespace-id", ns, "--remote", "--text").expect(t, 0, "hello world\n", "")

	// A key with characters to escape, metadata and a TTL (multipart).
	exp := time.Now().Unix() + 3600
	e.mustRun("kv", "key", "put", "a/b c?", "v2", "--namespace-id", ns, "--remote", "--metadata", `{"n":1}`, "--ttl", "3600")
	if n := s.count("PUT", "/values/a%2Fb%20c%3F?expiration_ttl=3600"); n != 1 {
		t.Errorf("want one PUT of the escaped key with expiration_ttl, saw %v", s.seen)
	}
	e.run("kv", "key", "get", "a/b c?", "--namespace-id", ns, "--remote", "--text").expect(t, 0, "v2\n", "")

	var keys []struct {
		Name       string          `json:"name"`
		Expiration int64           `json:"expiration"`
		Metadata   json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("kv", "key", "list", "--namespace-id", ns, "--remote")), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "a/b c?" || keys[1].Name != "greeting" {
		t.Fatalf("list: %+v", keys)
	}
	if compact(t, keys[0].Metadata) != `{"n":1}` || keys[0].Expiration < exp-5 || keys[0].Expiration > exp+5 {
		t.Errorf("metadata/expiration not kept: %+v", keys[0])
	}
	if err := json.Unmarshal([]byte(e.mustRun("kv", "key", "list", "--namespace-id", ns, "--remote", "--prefix", "gr")), &keys); err != nil || len(keys) != 1 {
		t.Errorf("prefix list: %v %+v", err, keys)
	}

	e.run("kv", "key", "delete", "greeting", "--namespace-id", ns, "--remote").
		expect(t, 0, remoteOnly+`Deleting the key "greeting" on namespace id: "`+ns+`".`+"\n", "")
	r := e.run("kv", "key", "get", "greeting", "--namespace-id", ns, "--remote")
	if r.code != 1 || !strings.Contains(r.stderr, "A request to the Cloudflare API (/accounts/"+s.account+"/storage/kv/namespaces/"+ns+"/values/greeting) failed.") ||
		!strings.Contains(r.stderr, "[code: 10009]") {
		t.Errorf("get of a deleted key: %+v", r)
	}
	// --local is still the default: nothing there.
	e.run("kv", "key", "get", "a/b c?", "--namespace-id", ns, "--text").expect(t, 0, "Value not found\n", "")
}

func TestKVRemoteBulk(t *testing.T) {
	s := startKVServer(t)
	s.setEnv(t, true)
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	e.mustRun("kv", "namespace", "create", "bulk", "--remote")
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(e.mustRun("kv", "namespace", "list", "--remote")), &list); err != nil || len(list) != 1 {
		t.Fatal(err, list)
	}
	ns := list[0].ID

	items := make([]map[string]any, 2500)
	names := make([]string, 2500)
	for i := range items {
		names[i] = fmt.Sprintf("k%04d", i)
		items[i] = map[string]any{"key": names[i], "value": fmt.Sprintf("v%d", i)}
	}
	items[7]["metadata"] = map[string]any{"x": true}
	items[8]["expiration_ttl"] = 600
	items[9]["value"], items[9]["base64"] = "AP8=", true // bytes 00 ff
	s.reset()
	e.run("kv", "bulk", "put", e.writeJSON("items.json", items), "--namespace-id", ns, "--remote").
		expect(t, 0, remoteOnly+"Success!\n", "")
	if n := s.count("PUT", "/bulk"); n != 3 {
		t.Errorf("bulk put requests: %d, want 3", n)
	}
	e.run("kv", "key", "get", "k1234", "--namespace-id", ns, "--remote", "--text").expect(t, 0, "v1234\n", "")
	if got := e.mustRun("kv", "key", "get", "k0009", "--namespace-id", ns, "--remote"); got != "\x00\xff\n" && got != "\x00\xff" {
		t.Errorf("base64 item read back as %q", got)
	}

	s.reset()
	got := e.mustRun("kv", "bulk", "get", e.writeJSON("get.json", []string{"k0000", "k2499", "missing"}), "--namespace-id", ns, "--remote")
	var values map[string]struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal([]byte(got), &values); err != nil {
		t.Fatalf("bulk get printed %q: %v", got, err)
	}
	if v := values["k2499"].Value; v == nil || *v != "v2499" || values["missing"].Value != nil {
		t.Errorf("bulk get: %s", got)
	}
	if n := s.count("POST", "/bulk/get"); n != 1 {
		t.Errorf("bulk get requests: %d", n)
	}

	s.reset()
	e.run("kv", "bulk", "delete", e.writeJSON("del.json", names), "--namespace-id", ns, "--remote", "-f").
		expect(t, 0, remoteOnly+"Success!\n", "")
	if n := s.count("DELETE", "/bulk"); n != 3 {
		t.Errorf("bulk delete requests: %d, want 3", n)
	}
	if out := e.mustRun("kv", "key", "list", "--namespace-id", ns, "--remote"); out != "[]\n" {
		t.Errorf("after bulk delete: %q", out)
	}
}

func TestKVRemoteNamespaces(t *testing.T) {
	s := startKVServer(t)
	s.setEnv(t, false) // the account comes from GET /accounts
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	for _, n := range []string{"b", "a", "c"} {
		e.mustRun("kv", "namespace", "create", n, "--remote")
	}
	if !s.has("GET " + mgmt.Prefix + "/accounts") {
		t.Errorf("no account lookup: %v", s.seen)
	}
	// Creating it again is wrangler's "already exists" error.
	r := e.run("kv", "namespace", "create", "a", "--remote")
	if r.code != 1 || !strings.Contains(r.stderr, `A KV namespace with the title "a" already exists.`) {
		t.Errorf("duplicate create: %+v", r)
	}
	var list []struct{ ID, Title string }
	s.reset()
	if err := json.Unmarshal([]byte(e.mustRun("kv", "namespace", "list", "--remote")), &list); err != nil || len(list) != 3 ||
		list[0].Title != "a" || list[2].Title != "c" {
		t.Fatalf("list: %v %+v", err, list)
	}
	if n := s.count("GET", "per_page=1000"); n != 2 { // page 1, then the empty page 2
		t.Errorf("list requests: %v", s.seen)
	}
	e.mustRun("kv", "namespace", "rename", "a", "--new-name", "z", "--remote")
	e.mustRun("kv", "namespace", "delete", "b", "--remote", "-y")
	if err := json.Unmarshal([]byte(e.mustRun("kv", "namespace", "list", "--remote")), &list); err != nil || len(list) != 2 ||
		list[0].Title != "c" || list[1].Title != "z" {
		t.Fatalf("after rename and delete: %v %+v", err, list)
	}
	// The local store was not touched.
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")
}

func TestKVRemoteAuthFailure(t *testing.T) {
	s := startKVServer(t)
	s.setEnv(t, true)
	t.Setenv("CLOUDFLARE_API_TOKEN", "not-a-token")
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	r := e.run("kv", "key", "put", "k", "v", "--namespace-id", "n", "--remote")
	want := "A request to the Cloudflare API (/accounts/" + s.account + "/storage/kv/namespaces/n/values/k) failed."
	if r.code != 1 || !strings.Contains(r.stderr, "✘ [ERROR] "+want) || !strings.Contains(r.stderr, "[code: ") {
		t.Errorf("auth failure: %+v", r)
	}
}

// Without the variables --remote fails before printing anything.
func TestKVRemoteNeedsServerEnv(t *testing.T) {
	for _, v := range []string{"CLOUDFLARE_API_BASE_URL", "CF_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"} {
		t.Setenv(v, "")
	}
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	e.write("keys.json", `[{"key":"k","value":"v"}]`)
	for _, args := range [][]string{
		{"kv", "key", "put", "k", "v", "--namespace-id", "n", "--remote"},
		{"kv", "key", "get", "k", "--namespace-id", "n", "--remote"},
		{"kv", "key", "put", "k", "v", "--namespace-id", "n", "--local", "false"},
		{"kv", "bulk", "put", filepath.Join(e.dir, "keys.json"), "--namespace-id", "n", "--remote"},
	} {
		r := e.run(args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "CLOUDFLARE_API_BASE_URL") || !strings.Contains(r.stderr, "CLOUDFLARE_API_TOKEN") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	r := e.run("kv", "namespace", "list", "--remote")
	if r.code != 1 || !strings.Contains(r.stderr, "CLOUDFLARE_API_BASE_URL") {
		t.Errorf("namespace list --remote: %+v", r)
	}
}

func TestEncodeURIComponent(t *testing.T) {
	if got := encodeURIComponent("a/b c?é!*'()~._-"); got != "a%2Fb%20c%3F%C3%A9!*'()~._-" {
		t.Errorf("got %q", got)
	}
}
