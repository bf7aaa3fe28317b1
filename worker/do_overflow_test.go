package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A Durable Object that overflows its stack or exceeds its CPU limit fails
// that call; the object's next event runs on a fresh runtime, with its
// storage intact. With one runtime the calling request shares the object's
// runtime and dies with it: it is answered 500 with the reason rather than
// left waiting. (Before, an overflow left the object on the broken engine,
// where its next event never completed, and a caller whose handler had
// returned its promise was never answered when the runtime died.)
func TestDOStackOverflowAndCPULimitResetTheObject(t *testing.T) {
	reg := NewRegistry(t.TempDir(), time.Minute)
	w, err := New(context.Background(), Spec{
		Name: "test",
		Script: module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Deep extends DurableObject {
	down(n) { return this.down(n + 1) + 1; }
	spin() { for (;;) {} }
	async fetch(request) { return new Response(String(this.down(0))); }
	async put(v) { await this.ctx.storage.put("v", v); return "stored"; }
	async get() { return await this.ctx.storage.get("v"); }
}
return { default: ` + evalHandler + `, Deep };`),
		Runtimes: 1, Registry: reg, Dev: true, CPULimit: 200 * time.Millisecond,
		Classes:        []DOClass{{Name: "Deep", SQL: true}},
		DurableObjects: []DOBinding{{Name: "DEEP", ClassName: "Deep"}},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() { srv.Close(); w.Close() })
	client := &http.Client{Timeout: 30 * time.Second}
	run := func(code string) (int, string) {
		t.Helper()
		resp, err := client.Post(srv.URL, "text/plain", strings.NewReader(code))
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, got := run(`return await env.DEEP.getByName("d").put("kept")`); got != `"stored"` {
		t.Fatalf("put: %s", got)
	}
	for _, c := range []struct{ call, want string }{
		{`return await (await env.DEEP.getByName("d").fetch("http://do/")).text()`, "Maximum call stack size exceeded"},
		{`return await env.DEEP.getByName("d").down(0)`, "Maximum call stack size exceeded"},
		{`return await env.DEEP.getByName("d").spin()`, "exceeded CPU time limit"},
	} {
		if code, got := run(c.call); code != 500 || !strings.Contains(got, c.want) {
			t.Fatalf("%s: %d %s, want 500 with %q", c.call, code, got, c.want)
		}
		if code, got := run(`return await env.DEEP.getByName("d").get()`); code != 200 || got != `"kept"` {
			t.Fatalf("after %s: get = %d %s", c.call, code, got)
		}
	}
}
