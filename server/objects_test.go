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

func TestListObjects(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	deploy(t, h, "example-script",
		part{"metadata", "m.json", "application/json", `{"main_module": "do.mjs"}`},
		part{"script", "do.mjs", "application/javascript+module", readSeed003(t, "durable-object-example.mjs")})
	ns, err := h.DeclareNamespace(context.Background(), "example-class", "example-script", "DurableObjectExample")
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, h, "caller",
		part{"metadata", "m.json", "application/json", `{"main_module": "c.mjs", "bindings": [{"type": "durable_object_namespace", "name": "NS", "namespace_id": "` + ns.ID + `"}]}`},
		part{"script", "c.mjs", "application/javascript+module", `export default { async fetch(req, env) {
			return env.NS.getByName(new URL(req.url).pathname.slice(1)).fetch(req); } };`})
	pub := httptest.NewServer(h)
	defer pub.Close()
	for _, name := range []string{"a", "b", "c"} {
		req, _ := http.NewRequest("POST", pub.URL+"/"+name, strings.NewReader("data"))
		req.Host = "caller.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	api, err := mgmt.New(mgmt.Options{DataDir: dir, KV: h.KV()})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(api)
	_, token, err := api.Tokens().CreateToken(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	list := func(query string) (ids []string, cursor string) {
		req, _ := http.NewRequest("GET", srv.URL+"/client/v4/accounts/"+api.Account().ID+"/workers/durable_objects/namespaces/"+ns.ID+"/objects"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Result []struct {
				ID            string `json:"id"`
				HasStoredData bool   `json:"hasStoredData"`
			} `json:"result"`
			ResultInfo struct {
				Cursor string `json:"cursor"`
			} `json:"result_info"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Result {
			if !o.HasStoredData {
				t.Errorf("%s without data listed", o.ID)
			}
			ids = append(ids, o.ID)
		}
		return ids, env.ResultInfo.Cursor
	}
	ids, cursor := list("")
	if len(ids) != 3 || cursor != "" || !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("ids %v cursor %q", ids, cursor)
	}
}
