package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// module wraps ES module source the way the bundler's IIFE output does: the
// exports object is assigned to GlobalName.
func module(body string) string {
	return "var " + GlobalName + " = (() => {\n" + body + "\n})();"
}

func start(t *testing.T, spec Spec) *httptest.Server {
	t.Helper()
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if spec.Runtimes == 0 {
		spec.Runtimes = 2
	}
	w, err := New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() {
		srv.Close()
		w.Close()
	})
	return srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestModuleFetchWithVars(t *testing.T) {
	srv := start(t, Spec{
		Script: module(`return { default: { async fetch(request, env, ctx) {
			const url = new URL(request.url);
			return new Response(env.GREETING + " " + url.pathname + " " + env.CONFIG.n + " " + typeof ctx.waitUntil, {headers: {"x-kiln": "1"}});
		} } };`),
		Vars: []Var{{"GREETING", "hello"}, {"CONFIG", map[string]any{"n": 3.0}}},
	})
	code, body, h := get(t, srv.URL+"/path")
	if code != 200 || body != "hello /path 3 function" || h.Get("X-Kiln") != "1" {
		t.Fatalf("%d %q %v", code, body, h)
	}
}

func TestServiceWorkerSyntaxWithGlobalBindings(t *testing.T) {
	srv := start(t, Spec{
		Format: FormatServiceWorker,
		Script: `let later = 0;
		addEventListener("fetch", event => {
			event.waitUntil(Promise.resolve().then(() => later++));
			event.respondWith(handle(event.request));
		});
		async function handle(request) {
			return new Response(GREETING + " from " + request.method);
		}`,
		Vars: []Var{{"GREETING", "hi"}},
	})
	code, body, _ := get(t, srv.URL)
	if code != 200 || body != "hi from GET" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestRequestBodyAndHeaders(t *testing.T) {
	srv := start(t, Spec{Script: module(`return { default: { async fetch(request) {
		const text = await request.text();
		return Response.json({text, ip: request.headers.get("cf-connecting-ip"), method: request.method, ct: request.headers.get("content-type")});
	} } };`)})
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("important data!"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := `{"text":"important data!","ip":"127.0.0.1","method":"POST","ct":"text/plain"}`
	if string(b) != want || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %s (%s)", b, resp.Header.Get("Content-Type"))
	}
}

func TestThrowAnswers500WithStackInDev(t *testing.T) {
	srv := start(t, Spec{Dev: true, ScriptName: "src/index.js", Script: module(`
function explode() { throw new TypeError("kaboom"); }
return { default: { fetch() { explode(); } } };`)})
	code, body, _ := get(t, srv.URL)
	if code != 500 || !strings.Contains(body, "TypeError: kaboom") || !strings.Contains(body, "explode") || !strings.Contains(body, "src/index.js") {
		t.Fatalf("%d %q", code, body)
	}
	srv2 := start(t, Spec{Script: module(`return { default: { async fetch() { throw new Error("secret detail"); } } };`)})
	code, body, _ = get(t, srv2.URL)
	if code != 500 || strings.Contains(body, "secret") {
		t.Fatalf("production 500 leaked the error: %d %q", code, body)
	}
}

func TestCPULimitAnswers500AndTheNextRequestSucceeds(t *testing.T) {
	srv := start(t, Spec{Dev: true, Runtimes: 1, CPULimit: 100 * time.Millisecond, Script: module(`
let served = 0;
return { default: { fetch(request) {
	served++;
	if (new URL(request.url).pathname === "/spin") { for (;;) {} }
	return new Response("ok " + served);
} } };`)})
	if code, body, _ := get(t, srv.URL+"/"); code != 200 || body != "ok 1" {
		t.Fatalf("%d %q", code, body)
	}
	code, body, _ := get(t, srv.URL+"/spin")
	if code != 500 || !strings.Contains(body, "exceeded CPU time limit") {
		t.Fatalf("%d %q", code, body)
	}
	// The runtime was replaced: the Worker serves again, with fresh state.
	if code, body, _ := get(t, srv.URL+"/"); code != 200 || body != "ok 1" {
		t.Fatalf("after the limit: %d %q", code, body)
	}
}

func TestStackOverflowAnswers500(t *testing.T) {
	srv := start(t, Spec{Dev: true, Runtimes: 1, Script: module(`
function down(n) { return down(n + 1) + 1; }
return { default: { fetch(request) {
	if (new URL(request.url).pathname === "/deep") down(0);
	return new Response("fine");
} } };`)})
	if code, body, _ := get(t, srv.URL+"/deep"); code != 500 || !strings.Contains(body, "Maximum call stack size exceeded") {
		t.Fatalf("%d %q", code, body)
	}
	if code, body, _ := get(t, srv.URL+"/"); code != 200 || body != "fine" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestWaitUntilRunsAfterTheResponse(t *testing.T) {
	srv := start(t, Spec{Runtimes: 1, Script: module(`
let log = [];
return { default: { fetch(request, env, ctx) {
	if (new URL(request.url).pathname === "/log") return new Response(log.join(","));
	ctx.waitUntil(new Promise(resolve => setTimeout(() => { log.push("later"); resolve(); }, 1)));
	log.push("now");
	return new Response("queued");
} } };`)})
	if code, body, _ := get(t, srv.URL+"/"); code != 200 || body != "queued" {
		t.Fatalf("%d %q", code, body)
	}
	// The timer completes on the same runtime; poll the log through requests
	// (each one is a full round trip, no sleeping on a guess).
	for i := 0; ; i++ {
		_, body, _ := get(t, srv.URL+"/log")
		if body == "now,later" {
			break
		}
		if body != "now" || i > 10000 {
			t.Fatalf("log = %q", body)
		}
	}
}

func TestTopLevelThrowFailsToLoad(t *testing.T) {
	_, err := New(context.Background(), Spec{Runtimes: 1, Script: module(`throw new Error("bad start");`),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "bad start") {
		t.Fatalf("got %v", err)
	}
	_, err = New(context.Background(), Spec{Runtimes: 1, Script: "let x = ;"})
	if err == nil || !strings.Contains(err.Error(), "compiling") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestHandlerReturningNonResponse(t *testing.T) {
	srv := start(t, Spec{Dev: true, Script: module(`return { default: { fetch() { return "just a string"; } } };`)})
	code, body, _ := get(t, srv.URL)
	if code != 500 || !strings.Contains(body, "Response") {
		t.Fatalf("%d %q", code, body)
	}
}

func TestClassBasedEntrypoint(t *testing.T) {
	srv := start(t, Spec{Script: module(`
const host = globalThis[Symbol.for("kiln.host")];
class App extends host.WorkerEntrypoint {
	fetch(request) { return new Response("entry " + this.env.NAME); }
}
return { default: App };`), Vars: []Var{{"NAME", "ok"}}})
	if code, body, _ := get(t, srv.URL); code != 200 || body != "entry ok" {
		t.Fatalf("%d %q", code, body)
	}
}

// A handler or waitUntil promise that rejects after it was returned is
// answered (500) or logged once, and never also reported as an unhandled
// rejection: kiln waits on those promises.
func TestLateRejectionsOfAwaitedPromisesAreHandled(t *testing.T) {
	logs := newLogCapture()
	srv := start(t, Spec{Runtimes: 1, Logger: slog.New(slog.NewTextHandler(logs, nil)), Script: module(`
return { default: { async fetch(request, env, ctx) {
	const tick = () => new Promise(resolve => setTimeout(resolve, 0));
	if (new URL(request.url).pathname === "/later") {
		ctx.waitUntil(tick().then(() => { throw new Error("late waitUntil failure"); }));
		return new Response("ok");
	}
	await tick();
	throw new Error("late handler failure");
} } };`)})
	if code, _, _ := get(t, srv.URL+"/"); code != 500 {
		t.Fatalf("late handler failure answered %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/later"); code != 200 {
		t.Fatalf("/later answered %d", code)
	}
	out := logs.waitFor("late waitUntil failure")
	if strings.Count(out, "late waitUntil failure") != 1 || strings.Contains(out, "Uncaught (in promise) Error: late handler") {
		t.Fatalf("log:\n%s", out)
	}
	if strings.Contains(out, "Uncaught (in promise)") && !strings.Contains(out, "error in waitUntil()") {
		t.Fatalf("an awaited rejection was reported as unhandled:\n%s", out)
	}
}

// logCapture is a log destination that tests can wait on.
type logCapture struct {
	mu      sync.Mutex
	text    strings.Builder
	written chan struct{} // signalled after each write
}

func newLogCapture() *logCapture { return &logCapture{written: make(chan struct{}, 1)} }

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.text.Write(p)
	c.mu.Unlock()
	select {
	case c.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

// waitFor returns the log once it contains s.
func (c *logCapture) waitFor(s string) string {
	for {
		c.mu.Lock()
		out := c.text.String()
		c.mu.Unlock()
		if strings.Contains(out, s) {
			return out
		}
		<-c.written
	}
}
