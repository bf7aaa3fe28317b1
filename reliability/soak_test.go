package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kiln-dev/kiln/internal/debugserver"
)

// The soak test: a bounded mixed workload against one kiln process — plain
// fetches, KV puts/gets/lists, Durable Object increments over many objects
// that are evicted as they go idle, alarms, WebSocket echo sessions, handlers
// that throw, and client disconnects in the middle of a request. Goroutines
// and memory are read from the process (--debug-listen) after a warm-up and
// again at the end, once the load has stopped and idle objects are evicted;
// the end may not exceed the start by more than the stated bounds.

const soakWorker = `
export class Counter {
	constructor(ctx) { this.ctx = ctx; }
	async fetch(req) {
		const url = new URL(req.url);
		if (url.searchParams.has("alarm")) await this.ctx.storage.setAlarm(Date.now() + 10);
		const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
		await this.ctx.storage.put("n", n);
		return new Response(String(n));
	}
	async alarm() { await this.ctx.storage.put("alarmed", Date.now()); }
}
export default {
	async fetch(req, env, ctx) {
		const url = new URL(req.url);
		const q = url.searchParams;
		switch (url.pathname) {
		case "/hello": return new Response("hello " + q.get("i"));
		case "/kv": {
			const key = "k" + (Number(q.get("i")) % 500);
			await env.KV.put(key, "v" + q.get("i"), { metadata: { i: q.get("i") } });
			const v = await env.KV.get(key);
			const list = await env.KV.list({ prefix: "k1", limit: 10 });
			return new Response(v === null ? "missing" : "ok " + list.keys.length);
		}
		case "/do": return env.COUNTER.get(env.COUNTER.idFromName("c" + q.get("o"))).fetch(req);
		case "/throw": throw new Error("boom " + q.get("i"));
		case "/slow": await scheduler.wait(50); return new Response("slow");
		case "/ws": {
			const [client, server] = Object.values(new WebSocketPair());
			server.accept();
			server.addEventListener("message", (e) => server.send("echo " + e.data));
			server.addEventListener("close", (e) => server.close(1000, "bye"));
			return new Response(null, { status: 101, webSocket: client });
		}
		}
		return new Response("not found", { status: 404 });
	},
};
`

const soakConfig = `name = "soak"
main = "index.js"
compatibility_date = "2026-11-01"
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
[[kv_namespaces]]
binding = "KV"
id = "soak-kv"
`

var debugLine = regexp.MustCompile(`Debug endpoints on (http://\S+)/debug/pprof/`)

// Growth allowed between the start and the end of the soak.
const (
	soakGoroutineBound = 4
	soakHeapBound      = 2 << 20
)

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a workload for a while")
	}
	duration := 40 * time.Second
	if s := os.Getenv("KILN_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("KILN_SOAK: %v", err)
		}
		duration = d
	}
	dir := writeProject(t, map[string]string{"wrangler.toml": soakConfig, "index.js": soakWorker})
	p := startKiln(t, "dev", "--port", "0", "--persist-to", t.TempDir(), "--config", dir+"/wrangler.toml",
		"--do-idle-timeout", "100ms", "--debug-listen", "127.0.0.1:0")
	m := debugLine.FindStringSubmatch(p.Output())
	if m == nil {
		t.Fatalf("no debug endpoint in the output:\n%s", p.Output())
	}
	debugURL := m[1]

	const clients = 12
	var ops, errs atomic.Int64
	run := func(until func(i int) bool) {
		client := newClient(clients)
		defer client.CloseIdleConnections()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !until(i); i++ {
					if err := soakOp(p.URL, client, rng, c*1_000_000+i); err != nil {
						errs.Add(1)
						t.Errorf("%v", err)
						return
					}
					ops.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	// Warm-up: every kind of operation, several times, before measuring.
	run(func(i int) bool { return i >= 50 })
	before := settledStats(t, debugURL)
	// Two halves, with a reading between them: growth that is a cache
	// filling shows in the first half only, a leak in both.
	start := time.Now()
	run(func(int) bool { return time.Since(start) >= duration/2 })
	mid := settledStats(t, debugURL)
	saveProfile(debugURL, "mid")
	half := time.Now()
	run(func(int) bool { return time.Since(half) >= duration/2 })
	if t.Failed() {
		t.Fatalf("kiln output:\n%s", p.Output())
	}
	after := settledStats(t, debugURL)
	saveProfile(debugURL, "end")
	t.Logf("soak: %d operations in %v, %d errors", ops.Load(), time.Since(start).Round(time.Second), errs.Load())
	t.Logf("start: %d goroutines, live heap %.1f MiB, Go memory %.1f MiB", before.Goroutines, mib(before.HeapLiveBytes), mib(before.TotalBytes))
	t.Logf("mid:   %d goroutines, live heap %.1f MiB, Go memory %.1f MiB", mid.Goroutines, mib(mid.HeapLiveBytes), mib(mid.TotalBytes))
	t.Logf("end:   %d goroutines, live heap %.1f MiB, Go memory %.1f MiB", after.Goroutines, mib(after.HeapLiveBytes), mib(after.TotalBytes))
	if after.Goroutines > before.Goroutines+soakGoroutineBound {
		t.Errorf("goroutines grew from %d to %d (bound +%d)", before.Goroutines, after.Goroutines, soakGoroutineBound)
	}
	if after.HeapLiveBytes > before.HeapLiveBytes+soakHeapBound {
		t.Errorf("live heap grew from %.1f to %.1f MiB (bound +%.0f MiB)", mib(before.HeapLiveBytes), mib(after.HeapLiveBytes), mib(soakHeapBound))
	}
	if p.Exited() {
		t.Fatalf("kiln exited:\n%s", p.Output())
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// soakOp does one operation of the mix and checks its answer.
func soakOp(base string, client *http.Client, rng *rand.Rand, i int) error {
	is := strconv.Itoa(i)
	get := func(path string, wantStatus int, wantPrefix string) error {
		resp, err := client.Get(base + path)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if resp.StatusCode != wantStatus || !strings.HasPrefix(string(b), wantPrefix) {
			return fmt.Errorf("GET %s: %d %q, want %d %q…", path, resp.StatusCode, b, wantStatus, wantPrefix)
		}
		return nil
	}
	switch k := rng.IntN(20); {
	case k < 6:
		return get("/hello?i="+is, 200, "hello "+is)
	case k < 10:
		return get("/kv?i="+is, 200, "ok ")
	case k < 15:
		alarm := ""
		if k == 14 {
			alarm = "&alarm=1"
		}
		return get(fmt.Sprintf("/do?o=%d%s", rng.IntN(200), alarm), 200, "")
	case k < 17:
		return get("/throw?i="+is, 500, "")
	case k < 18:
		// A client that gives up in the middle of a request.
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/slow", nil)
		if err != nil {
			cancel()
			return err
		}
		go cancel()
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return nil
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			return fmt.Errorf("websocket: %w", err)
		}
		defer c.CloseNow()
		for j := 0; j < 3; j++ {
			msg := is + "-" + strconv.Itoa(j)
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				return fmt.Errorf("websocket write: %w", err)
			}
			_, got, err := c.Read(ctx)
			if err != nil {
				return fmt.Errorf("websocket read: %w", err)
			}
			if string(got) != "echo "+msg {
				return fmt.Errorf("websocket echo: %q", got)
			}
		}
		return c.Close(websocket.StatusNormalClosure, "done")
	}
}

// settledStats reads the process's stats once the load is over: the reading
// (with a collection each time) is repeated until neither goroutines nor heap
// fell since the previous one — idle objects have been evicted, closed
// connections have ended. The deadline only bounds how long it tries.
func settledStats(t *testing.T, debugURL string) debugserver.Stats {
	t.Helper()
	var last debugserver.Stats
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(debugURL + "/debug/kiln/stats?gc=1")
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		var s debugserver.Stats
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		s.Goroutines-- // the stats request's own connection goroutine
		if last.GCCycles != 0 && s.Goroutines >= last.Goroutines && s.HeapLiveBytes >= last.HeapLiveBytes*99/100 {
			return s
		}
		if time.Now().After(deadline) {
			return s
		}
		last = s
		time.Sleep(300 * time.Millisecond)
	}
}

// saveProfile writes the child's heap and goroutine profiles beside
// $KILN_SOAK_PROFILE (a path prefix), when set, for chasing a failed bound.
func saveProfile(debugURL, name string) {
	prefix := os.Getenv("KILN_SOAK_PROFILE")
	if prefix == "" {
		return
	}
	for _, p := range []struct{ path, suffix string }{{"/debug/pprof/heap?gc=1", ".heap"}, {"/debug/pprof/goroutine?debug=1", ".goroutines"}} {
		resp, err := http.Get(debugURL + p.path)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = os.WriteFile(prefix+"-"+name+p.suffix, b, 0o644)
	}
}
