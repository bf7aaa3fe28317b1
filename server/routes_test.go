package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kiln-dev/kiln/server/mgmt"
)

func TestRouteMatch(t *testing.T) {
	cases := []struct {
		pattern, host, path string
		want                bool
	}{
		{"example.com/*", "example.com", "/a/b", true},
		{"example.com/*", "www.example.com", "/", false},
		{"*.example.com/*", "www.example.com", "/", true},
		{"*.example.com/*", "example.com", "/", false},
		{"*example.com/*", "example.com", "/x", true},
		{"*example.com/*", "a.example.com", "/x", true},
		{"example.com/api/*", "example.com", "/api/v1", true},
		{"example.com/api/*", "example.com", "/app", false},
		{"example.com/exact", "example.com", "/exact", true},
		{"example.com/exact", "example.com", "/exact/more", false},
		{"https://Example.COM/*", "example.com", "/", true},
	}
	for _, c := range cases {
		if got, _ := match(c.pattern, c.host, c.path); got != c.want {
			t.Errorf("match(%q, %q, %q) = %v", c.pattern, c.host, c.path, got)
		}
	}
	_, broad := match("example.com/*", "example.com", "/api/x")
	_, narrow := match("example.com/api/*", "example.com", "/api/x")
	if narrow <= broad {
		t.Errorf("the more specific pattern does not win: %d <= %d", narrow, broad)
	}
}

func TestRoutesThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	open := func() *Host {
		h, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := open()
	for _, name := range []string{"site", "api"} {
		deploy(t, h, name,
			part{"metadata", "m.json", "application/json", `{"main_module": "w.mjs"}`},
			part{"script", "w.mjs", "application/javascript+module", `export default { fetch(r) { return new Response("` + name + ` " + new URL(r.url).pathname); } };`})
	}
	api, err := mgmt.New(mgmt.Options{DataDir: dir, KV: h.KV()})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(api)
	_, token, _ := api.Tokens().CreateToken(context.Background(), "t")
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+"/client/v4"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	zone := zoneID("example.com")
	if code := call("POST", "/zones/"+zone+"/workers/routes", `{"pattern": "example.com/*", "script": "site"}`); code != 200 {
		t.Fatalf("create route: %d", code)
	}
	if code := call("PUT", "/accounts/"+api.Account().ID+"/workers/scripts/api/routes", `[{"pattern": "example.com/api/*", "zone_name": "example.com"}]`); code != 200 {
		t.Fatalf("script routes: %d", code)
	}
	if code := call("POST", "/zones/"+zone+"/workers/routes", `{"pattern": "no-path", "script": "site"}`); code != 400 {
		t.Fatalf("bad pattern: %d", code)
	}
	get := func(h *Host, host, path string) string {
		pub := httptest.NewServer(h)
		defer pub.Close()
		req, _ := http.NewRequest("GET", pub.URL+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(h, "example.com", "/home"); got != "site /home" {
		t.Fatalf("%q", got)
	}
	if got := get(h, "example.com", "/api/users"); got != "api /api/users" {
		t.Fatalf("the most specific route: %q", got)
	}
	if got := get(h, "site.localhost", "/"); got != "site /" {
		t.Fatalf("subdomain routing still works: %q", got)
	}
	_ = h.Close()
	h2 := open()
	defer h2.Close()
	if got := get(h2, "example.com", "/api/x"); got != "api /api/x" {
		t.Fatalf("after restart: %q", got)
	}
}
