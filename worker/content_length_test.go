package worker

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A response passed on unchanged (a Durable Object's, or one from fetch())
// keeps its length: the client gets Content-Length, not a chunked body,
// and the bytes are the same.
func TestPassedOnResponsesKeepTheirLength(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "8")
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(upstream.Close)
	script := module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const url = new URL(request.url);
		if (url.pathname === "/stream") {
			const enc = new TextEncoder();
			return new Response(new ReadableStream({ start(c) { c.enqueue(enc.encode("str")); c.enqueue(enc.encode("eamed")); c.close(); } }));
		}
		if (url.pathname === "/echo") return new Response(await request.arrayBuffer());
		return new Response("from the object");
	}
}
return { Obj, default: { async fetch(request, env) {
	const url = new URL(request.url);
	if (url.pathname === "/upstream") return fetch(url.searchParams.get("u"));
	if (url.pathname === "/read") {
		const r = await env.OBJ.getByName("a").fetch("http://do/");
		return new Response((await r.text()).toUpperCase());
	}
	return env.OBJ.getByName("a").fetch(request);
} } };`)
	srv := startObj(t, script)

	cases := []struct {
		method, path, body string
		want               string
		length             int64 // -1: chunked
	}{
		{"GET", "/", "", "from the object", 15},
		{"POST", "/echo", "posted bytes", "posted bytes", 12},
		{"GET", "/read", "", "FROM THE OBJECT", 15},
		{"GET", "/stream", "", "streamed", -1},
		{"GET", "/upstream?u=" + upstream.URL, "", "upstream", 8},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || string(got) != c.want {
			t.Errorf("%s %s: %d %q, want 200 %q", c.method, c.path, resp.StatusCode, got, c.want)
		}
		if resp.ContentLength != c.length {
			t.Errorf("%s %s: Content-Length %d (chunked: %v), want %d", c.method, c.path, resp.ContentLength, resp.TransferEncoding, c.length)
		}
	}
}

// Bytes handed between runtimes are shared, never copied: a caller that
// writes into the ArrayBuffer of a Durable Object's reply (a clone of a
// Response the object keeps) must not change the object's bytes.
func TestReplyBytesAreNotWritableByTheCaller(t *testing.T) {
	script := module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		if (!this.kept) this.kept = new Response("hello");
		if (new URL(request.url).pathname === "/clone") return this.kept.clone();
		return new Response(await this.kept.clone().text());
	}
}
return { Obj, default: { async fetch(request, env) {
	const stub = env.OBJ.getByName("a");
	if (new URL(request.url).pathname === "/mutate") {
		const ab = await (await stub.fetch("http://do/clone")).arrayBuffer();
		new Uint8Array(ab)[0] = 0x4a;
		return new Response(new TextDecoder().decode(ab));
	}
	return stub.fetch("http://do/read");
} } };`)
	srv := startObj(t, script)
	for _, c := range []struct{ path, want string }{{"/mutate", "Jello"}, {"/read", "hello"}} {
		code, body, _ := get(t, srv.URL+c.path)
		if code != 200 || body != c.want {
			t.Errorf("%s: %d %q, want 200 %q", c.path, code, body, c.want)
		}
	}
}

// startObj serves script, whose Durable Object class Obj is bound as OBJ.
func startObj(t *testing.T, script string) *httptest.Server {
	t.Helper()
	return startObjIn(t, NewRegistry(t.TempDir(), time.Minute), script)
}

// startObjIn is startObj with the objects in reg (for its test hooks).
func startObjIn(t *testing.T, reg *Registry, script string) *httptest.Server {
	t.Helper()
	return start(t, Spec{
		Name: "test", Script: script, Registry: reg,
		Classes:        []DOClass{{Name: "Obj", SQL: true}},
		DurableObjects: []DOBinding{{Name: "OBJ", ClassName: "Obj"}},
	})
}
