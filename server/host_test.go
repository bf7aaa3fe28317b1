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
	"os"
	"path/filepath"
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

// readSeed003 reads a script of the Durable Objects beta guide (seeds/003),
// kept verbatim in testdata/seed003 (the binary's end-to-end test reads them
// too): durable-object-example.mjs or calling-worker.js.
func readSeed003(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "seed003", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSeed003Flow is the seeds/003 walkthrough minus the HTTP API layer:
// upload the object's module script, declare its namespace, upload the
// calling service worker bound to it, POST data.
func TestSeed003Flow(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, h, "example-script",
		part{"metadata", "durable-object-example.json", "application/json", `{"main_module": "durable-object-example.mjs"}`},
		part{"script", "durable-object-example.mjs", "application/javascript+module", readSeed003(t, "durable-object-example.mjs")})
	ns, err := h.DeclareNamespace(context.Background(), "example-class", "example-script", "DurableObjectExample")
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, h, "calling-worker",
		part{"metadata", "calling-worker.json", "application/json", `{"body_part": "script", "bindings": [{"type": "durable_object_namespace", "name": "EXAMPLE_CLASS", "namespace_id": "` + ns.ID + `"}]}`},
		part{"script", "calling-worker.js", "application/javascript", readSeed003(t, "calling-worker.js")})
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
