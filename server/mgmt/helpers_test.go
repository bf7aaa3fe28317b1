package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
)

type testEnv struct {
	t     *testing.T
	api   *API
	srv   *httptest.Server
	token string
	dir   string
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := kvsqlite.Open(ctx, filepath.Join(dir, "kv.sqlite"), kvsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	api, err := New(Options{DataDir: dir, KV: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := api.Tokens().CreateToken(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api) // loopback
	t.Cleanup(srv.Close)
	return &testEnv{t: t, api: api, srv: srv, token: secret, dir: dir}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the test token unless hdr sets Authorization
// (an empty value sends none).
func (e *testEnv) do(method, path string, body []byte, hdr map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *testEnv) acct(path string) string {
	return "/client/v4/accounts/" + e.api.Account().ID + path
}

type envelope struct {
	Success    bool            `json:"success"`
	Errors     []ErrorItem     `json:"errors"`
	Messages   []Message       `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo json.RawMessage `json:"result_info"`
}

// env decodes an envelope and checks its status and that every field of the
// v4 envelope is there.
func (r resp) env(t *testing.T, status int) envelope {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	for _, k := range []string{"success", "errors", "messages", "result"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("envelope without %q: %s", k, r.body)
		}
	}
	if string(m["errors"]) == "null" || string(m["messages"]) == "null" {
		t.Fatalf("errors/messages must be arrays: %s", r.body)
	}
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Success != (status < 300) {
		t.Fatalf("success %v with status %d", e.Success, status)
	}
	return e
}

// fail checks a failure envelope with one error of code and message.
func (r resp) fail(t *testing.T, status, code int, message string) envelope {
	t.Helper()
	e := r.env(t, status)
	if len(e.Errors) == 0 || e.Errors[0].Code != code || (message != "" && e.Errors[0].Message != message) {
		t.Fatalf("errors %+v, want code %d %q", e.Errors, code, message)
	}
	if string(e.Result) != "null" {
		t.Fatalf("result %s on failure, want null", e.Result)
	}
	return e
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return v
}
