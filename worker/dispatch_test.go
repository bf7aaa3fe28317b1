package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// A Worker sees the received headers with Host and CF-Connecting-IP set by
// kiln (a client cannot choose them), every other value kept, and the
// received map unchanged.
func TestWorkerHeaderSetsHostAndClientIP(t *testing.T) {
	received := http.Header{
		"Host":             {"spoofed.example"},
		"Cf-Connecting-Ip": {"203.0.113.9"},
		"Accept":           {"*/*"},
		"X-Multi":          {"a", "b"},
		"X-Empty":          {},
	}
	snapshot := received.Clone()

	got := workerHeader(received, "kiln.test:8787", "127.0.0.1", true)
	want := http.Header{
		"Host":             {"kiln.test:8787"},
		"Cf-Connecting-Ip": {"127.0.0.1"},
		"Accept":           {"*/*"},
		"X-Multi":          {"a", "b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("workerHeader = %v, want %v", got, want)
	}
	for name := range got { // each name's values are its own
		got[name] = append(got[name], "appended")
	}
	if v := got["X-Multi"]; !reflect.DeepEqual(v, []string{"a", "b", "appended"}) {
		t.Fatalf("X-Multi after appending to every name: %v", v)
	}
	if !reflect.DeepEqual(received, snapshot) {
		t.Fatalf("the received map changed: %v", received)
	}

	// Without a known client address, a client's own header stays.
	got = workerHeader(received, "kiln.test", "", false)
	if v := got.Get("CF-Connecting-IP"); v != "203.0.113.9" {
		t.Fatalf("CF-Connecting-IP without a known address = %q", v)
	}
	// A known but empty address (RemoteAddr ":1234") still replaces it.
	got = workerHeader(received, "kiln.test", "", true)
	if v, ok := got["Cf-Connecting-Ip"]; !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("CF-Connecting-IP for an empty known address = %q", v)
	}
	if v := got.Get("Host"); v != "kiln.test" {
		t.Fatalf("Host = %q", v)
	}
}

// request.cf of a received request says how it arrived, with its fields in
// a fixed order; a copy of the request keeps it.
func TestRequestCF(t *testing.T) {
	srv := start(t, Spec{Script: module(`return { default: { fetch(request) {
		const copy = new Request(request);
		return new Response(JSON.stringify(request.cf) + " " + (JSON.stringify(copy.cf) === JSON.stringify(request.cf)) + " " + (new Request("http://x/").cf === undefined));
	} } };`)})
	req, err := http.NewRequest("GET", srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "br, gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"httpProtocol":"HTTP/1.1","colo":"KLN","clientAcceptEncoding":"br, gzip"} true true`
	if body := readBody(t, resp.Body); body != want {
		t.Fatalf("got %s, want %s", body, want)
	}
}

// readBody reads and closes a response body.
func readBody(t *testing.T, body io.ReadCloser) string {
	t.Helper()
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A received request has a cf object even when what kiln knows of it is
// empty (a hand-built request with no protocol or Accept-Encoding).
func TestRequestCFWithEmptyFields(t *testing.T) {
	w, err := New(context.Background(), Spec{
		Script:   module(`return { default: { fetch(request) { return new Response(JSON.stringify(request.cf)); } } };`),
		Runtimes: 1,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	req := httptest.NewRequest("GET", "http://kiln.test/", nil)
	req.Proto = ""
	resp, err := w.Fetch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want, body := `{"httpProtocol":"","colo":"KLN","clientAcceptEncoding":""}`, readBody(t, resp.Body); body != want {
		t.Fatalf("request.cf = %s, want %s", body, want)
	}
}
