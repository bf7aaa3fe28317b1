package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kiln-dev/kiln/server/mgmt"
)

// The calls wrangler deploy makes for an existing Worker: a version upload
// with an inherited binding, then a deployment of that version.
func TestVersionsDeploymentsAndSettings(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	api, err := mgmt.New(mgmt.Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(api)
	_, token, err := api.Tokens().CreateToken(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	pub := httptest.NewServer(h)
	defer pub.Close()
	base := apiSrv.URL + mgmt.Prefix + "/accounts/" + api.Account().ID + "/workers"

	call := func(method, path, ct string, body io.Reader) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env map[string]any
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s %s: %s", method, path, b)
		}
		return resp.StatusCode, env
	}
	errCode := func(env map[string]any) float64 {
		return env["errors"].([]any)[0].(map[string]any)["code"].(float64)
	}
	get := func() string {
		req, _ := http.NewRequest("GET", pub.URL, nil)
		req.Host = "app.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	// Before the first upload: the Worker does not exist (code 10007,
	// which wrangler takes as "first deploy").
	for _, p := range []string{"/scripts/app/deployments", "/scripts/app/subdomain", "/scripts/app/settings"} {
		if code, env := call("GET", p, "", nil); code != 404 || errCode(env) != 10007 {
			t.Fatalf("GET %s: %d %v", p, code, env)
		}
	}
	module := func(greeting string) string {
		return `export default { fetch(req, env) { return new Response("` + greeting + ` " + env.WHO) } }`
	}
	ct, body := curlForm(t, part{"metadata", "blob", "application/json", `{"main_module":"index.js","bindings":[{"type":"plain_text","name":"WHO","text":"kiln"}],"keep_bindings":["secret_text"],"observability":{"enabled":false}}`},
		part{"index.js", "index.js", "application/javascript+module", module("hello")})
	code, env := call("PUT", "/scripts/app?excludeScript=true&bindings_inherit=strict", ct, body)
	if code != 200 {
		t.Fatalf("upload: %d %v", code, env)
	}
	first := env["result"].(map[string]any)["deployment_id"].(string)
	if len(first) != 36 {
		t.Fatalf("deployment_id %q", first)
	}
	if got := get(); got != "hello kiln" {
		t.Fatalf("got %q", got)
	}

	// A version with an inherited binding does not serve until deployed.
	ct, body = curlForm(t, part{"metadata", "blob", "application/json", `{"main_module":"index.js","bindings":[{"type":"inherit","name":"WHO"}]}`},
		part{"index.js", "index.js", "application/javascript+module", module("bonjour")})
	code, env = call("POST", "/scripts/app/versions?bindings_inherit=strict", ct, body)
	if code != 200 {
		t.Fatalf("version: %d %v", code, env)
	}
	v := env["result"].(map[string]any)
	vid := v["id"].(string)
	if v["resources"].(map[string]any)["script"].(map[string]any)["etag"] == "" {
		t.Fatalf("version: %v", v)
	}
	if got := get(); got != "hello kiln" {
		t.Fatalf("before deployment: %q", got)
	}
	if code, env := call("POST", "/scripts/app/deployments", "application/json", strings.NewReader(`{"strategy":"percentage","versions":[{"version_id":"nope","percentage":100}]}`)); code != 400 {
		t.Fatalf("unknown version: %d %v", code, env)
	}
	if code, env := call("POST", "/scripts/app/deployments", "application/json", strings.NewReader(`{"strategy":"percentage","versions":[{"version_id":"`+vid+`","percentage":50},{"version_id":"`+first+`","percentage":50}]}`)); code != 400 {
		t.Fatalf("split: %d %v", code, env)
	}
	if code, env := call("POST", "/scripts/app/deployments", "application/json", strings.NewReader(`{"strategy":"percentage","versions":[{"version_id":"`+vid+`","percentage":100}]}`)); code != 200 {
		t.Fatalf("deployment: %d %v", code, env)
	}
	if got := get(); got != "bonjour kiln" {
		t.Fatalf("after deployment: %q", got)
	}
	code, env = call("GET", "/scripts/app/deployments", "", nil)
	deps := env["result"].(map[string]any)["deployments"].([]any)
	if code != 200 || len(deps) != 1 || deps[0].(map[string]any)["versions"].([]any)[0].(map[string]any)["version_id"] != vid {
		t.Fatalf("deployments: %d %v", code, env)
	}
	// An inherit binding with nothing to inherit is refused.
	ct, body = curlForm(t, part{"metadata", "blob", "application/json", `{"main_module":"index.js","bindings":[{"type":"inherit","name":"NOPE"}]}`},
		part{"index.js", "index.js", "application/javascript+module", module("x")})
	if code, env := call("POST", "/scripts/app/versions", ct, body); code != 400 {
		t.Fatalf("bad inherit: %d %v", code, env)
	}

	// Settings wrangler writes after the upload.
	if code, env := call("GET", "/subdomain", "", nil); code != 200 || env["result"].(map[string]any)["subdomain"] != "kiln" {
		t.Fatalf("account subdomain: %d %v", code, env)
	}
	if code, env := call("PUT", "/subdomain", "application/json", strings.NewReader(`{"subdomain":"mine"}`)); code != 200 {
		t.Fatalf("put subdomain: %d %v", code, env)
	}
	if _, env := call("GET", "/subdomain", "", nil); env["result"].(map[string]any)["subdomain"] != "mine" {
		t.Fatalf("account subdomain after PUT: %v", env)
	}
	if code, env := call("POST", "/scripts/app/subdomain", "application/json", strings.NewReader(`{"enabled":true,"previews_enabled":false}`)); code != 200 || env["result"].(map[string]any)["enabled"] != true {
		t.Fatalf("script subdomain: %d %v", code, env)
	}
	if code, env := call("PUT", "/scripts/app/schedules", "application/json", strings.NewReader(`[{"cron":"*/5 * * * *"}]`)); code != 200 || len(env["result"].(map[string]any)["schedules"].([]any)) != 1 {
		t.Fatalf("schedules: %d %v", code, env)
	}
	if code, env := call("PATCH", "/scripts/app/script-settings", "application/json", strings.NewReader(`{"logpush":true,"tags":["a"]}`)); code != 200 || env["result"].(map[string]any)["logpush"] != true {
		t.Fatalf("script-settings: %d %v", code, env)
	}
	code, env = call("GET", "/scripts/app/settings", "", nil)
	res := env["result"].(map[string]any)
	if code != 200 || res["logpush"] != true || res["bindings"].([]any)[0].(map[string]any)["name"] != "WHO" {
		t.Fatalf("settings: %d %v", code, env)
	}

	// The settings survive a restart and a redeploy.
	h.Close()
	h2, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	s, _ := h2.lookup("app")
	if s.Subdomain == nil || !s.Subdomain.Enabled || len(s.Schedules) != 1 || s.Settings["logpush"] != true || s.VersionID != vid {
		t.Fatalf("after restart: %+v", s)
	}
}
