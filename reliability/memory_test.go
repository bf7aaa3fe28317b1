package reliability

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const memoryWorker = `
export class Box {
  constructor(ctx) { this.ctx = ctx; }
  async fetch(req) {
    const url = new URL(req.url);
    if (req.method === "PUT") { await this.ctx.storage.put("v", url.searchParams.get("v")); return new Response("stored"); }
    if (url.pathname.endsWith("/hog")) { const a = []; for (;;) a.push(new Uint8Array(16 << 20).fill(a.length)); }
    return new Response(String(await this.ctx.storage.get("v")));
  }
}
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/hog": { const a = []; for (;;) a.push("x".repeat(1000000) + a.length); }
      case "/huge-buffer": new Uint8Array(new ArrayBuffer(2 ** 40)); return new Response("allocated");
      case "/huge-string": return new Response("x".repeat(2 ** 33));
      case "/huge-fill": return new Response(String(new Array(2 ** 32 - 1).fill(0).length));
      case "/ok": return new Response("ok");
    }
    return env.BOX.get(env.BOX.idFromName("box")).fetch(req);
  },
};
`

// TestUnboundedAllocationIsStopped: a script that allocates without bound,
// or asks for gigabytes in one call, fails that request with a clear error;
// the process keeps serving and stored data is intact.
func TestUnboundedAllocationIsStopped(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.toml": `name = "memory"
main = "index.js"
compatibility_date = "2026-11-01"
[[durable_objects.bindings]]
name = "BOX"
class_name = "Box"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Box"]
`,
		"index.js": memoryWorker,
	})
	p := startKiln(t, "dev", "--port", "0", "--persist-to", t.TempDir(), "--config", dir+"/wrangler.toml")
	client := newClient(4)
	call := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, p.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v\nkiln output:\n%s", method, path, err, p.Output())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	if code, body := call("PUT", "/box?v=kept"); code != 200 || body != "stored" {
		t.Fatalf("PUT: %d %q", code, body)
	}
	cases := []struct{ path, want string }{
		{"/hog", "Worker exceeded memory limit."},
		{"/box/hog", "Worker exceeded memory limit."},
		{"/huge-buffer", "RangeError: Array buffer allocation failed"},
		{"/huge-string", "RangeError: Invalid string length"},
		{"/huge-fill", "RangeError: Invalid array length"},
	}
	for _, c := range cases {
		start := time.Now()
		code, body := call("GET", c.path)
		t.Logf("%s took %v", c.path, time.Since(start))
		if code != 500 || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d %q, want 500 with %q", c.path, code, firstLine(body), c.want)
		}
		if code, body := call("GET", "/ok"); code != 200 || body != "ok" {
			t.Fatalf("after %s: /ok answered %d %q", c.path, code, body)
		}
		if code, body := call("GET", "/box"); code != 200 || body != "kept" {
			t.Fatalf("after %s: the object's value is %d %q", c.path, code, body)
		}
	}
	if p.Exited() {
		t.Fatalf("kiln exited:\n%s", p.Output())
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
