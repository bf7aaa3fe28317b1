package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/kiln-dev/kiln/server/upload"
)

type part struct{ field, file, contentType, body string }

// curlForm builds the body curl -F sends.
func curlForm(t *testing.T, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.field+`"; filename="`+p.file+`"`)
		h.Set("Content-Type", p.contentType)
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.body))
	}
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

func deploy(t *testing.T, h *Host, name string, parts ...part) {
	t.Helper()
	ct, body := curlForm(t, parts...)
	up, err := upload.Parse(name, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Deploy(context.Background(), up); err != nil {
		t.Fatal(err)
	}
}

// The Durable Objects beta guide (seeds/003), minus the HTTP API layer:
// upload the object's module script, declare its namespace, upload the
// calling service worker bound to it, POST data.
const durableObjectExample = `export class DurableObjectExample {
    constructor(state, env) {
        this.state = state;
    }

    async fetch(request) {
        let ip = request.headers.get('CF-Connecting-IP');
        let data = await request.text() || "No data!";
        let storagePromise = this.state.storage.put(ip, data);
        await storagePromise;
        return new Response(ip + ' stored ' + data);
    }
}

// required for the script to be accepted by the API endpoint
export default {
    async fetch(request, env) {
        return new Response("Hello World");
    }
}
`

const callingWorker = `addEventListener("fetch", event => {
    return event.respondWith(handle(event.request));
});

async function handle(request) {
    let objectId = EXAMPLE_CLASS.idFromName("foo");
    let object = EXAMPLE_CLASS.get(objectId);
    return object.fetch(request);
}
`

func TestSeed003Flow(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, h, "example-script",
		part{"metadata", "durable-object-example.json", "application/json", `{"main_module": "durable-object-example.mjs"}`},
		part{"script", "durable-object-example.mjs", "application/javascript+module", durableObjectExample})
	ns, err := h.DeclareNamespace(context.Background(), "example-class", "example-script", "DurableObjectExample")
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, h, "calling-worker",
		part{"metadata", "calling-worker.json", "application/json", `{"body_part": "script", "bindings": [{"type": "durable_object_namespace", "name": "EXAMPLE_CLASS", "namespace_id": "` + ns.ID + `"}]}`},
		part{"script", "calling-worker.js", "application/javascript", callingWorker})
	srv := httptest.NewServer(h)
	post := func() string {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("important data!"))
		req.Host = "calling-worker.localhost"
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := post(); got != "127.0.0.1 stored important data!" {
		t.Fatalf("got %q", got)
	}
	// The module script's own default export answers on its own host.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Host = "example-script.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Hello World" {
		t.Fatalf("example-script: %q", b)
	}
	srv.Close()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// A restart on the same data directory serves the same Workers.
	h2, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	srv = httptest.NewServer(h2)
	defer srv.Close()
	if got := post(); got != "127.0.0.1 stored important data!" {
		t.Fatalf("after restart: %q", got)
	}
}
