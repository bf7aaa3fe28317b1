package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	workersLine = regexp.MustCompile(`Workers answer on (http://\S+) as`)
	apiLine     = regexp.MustCompile(`Management API: (http://\S+/client/v4)`)
	accountLine = regexp.MustCompile(`Account ID: ([0-9a-f]{32})`)
)

type serveProcess struct{ public, api, account, token string }

func startServe(t *testing.T, data string) *serveProcess {
	t.Helper()
	bin := kilnBinary(t)
	out, err := exec.Command(bin, "token", "create", "--data", data).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	p := &serveProcess{token: lines[len(lines)-1]}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", data, "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := workersLine.FindStringSubmatch(line); m != nil {
			p.public = m[1]
		}
		if m := apiLine.FindStringSubmatch(line); m != nil {
			p.api = m[1]
		}
		if m := accountLine.FindStringSubmatch(line); m != nil {
			p.account = m[1]
		}
		if strings.Contains(line, "Ready on") {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return p
		}
	}
	t.Fatal("kiln serve exited before it was ready")
	return nil
}

// call sends an API request and decodes the envelope.
func (p *serveProcess) call(t *testing.T, method, path, contentType string, body io.Reader, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, p.api+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: not an envelope: %s", method, path, b)
	}
	return resp.StatusCode, env
}

// curlF builds what curl -F "field=@file;type=..." sends.
func curlF(parts ...[4]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p[0]+`"; filename="`+p[1]+`"`)
		h.Set("Content-Type", p[2])
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(p[3]))
	}
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

// seedScript reads a script of seeds/003, kept verbatim in the server
// package's testdata.
func seedScript(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "server", "testdata", "seed003", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestServeSeed003CurlFlow(t *testing.T) {
	seedDOScript := seedScript(t, "durable-object-example.mjs")
	seedCallingWorker := seedScript(t, "calling-worker.js")
	p := startServe(t, t.TempDir())
	acct := "/accounts/" + p.account
	// No token, no access.
	if code, env := p.call(t, "GET", acct+"/workers/scripts", "", nil, ""); code != 401 || env["success"] != false {
		t.Fatalf("no token: %d %v", code, env)
	}
	if code, _ := p.call(t, "GET", acct+"/workers/scripts", "", nil, "wrong"); code != 401 && code != 403 {
		t.Fatalf("bad token: %d", code)
	}
	ct, body := curlF([4]string{"metadata", "durable-object-example.json", "application/json", `{"main_module": "durable-object-example.mjs"}`},
		[4]string{"script", "durable-object-example.mjs", "application/javascript+module", seedDOScript})
	if code, env := p.call(t, "PUT", acct+"/workers/scripts/example-script", ct, body, p.token); code != 200 || env["success"] != true {
		t.Fatalf("upload: %d %v", code, env)
	}
	code, env := p.call(t, "POST", acct+"/workers/durable_objects/namespaces", "application/json",
		strings.NewReader(`{"name": "example-class", "script": "example-script", "class": "DurableObjectExample"}`), p.token)
	if code != 200 {
		t.Fatalf("namespace: %d %v", code, env)
	}
	nsID := env["result"].(map[string]any)["id"].(string)
	ct, body = curlF([4]string{"metadata", "calling-worker.json", "application/json", `{"body_part": "script", "bindings": [{"type": "durable_object_namespace", "name": "EXAMPLE_CLASS", "namespace_id": "` + nsID + `"}]}`},
		[4]string{"script", "calling-worker.js", "application/javascript", seedCallingWorker})
	if code, env := p.call(t, "PUT", acct+"/workers/scripts/calling-worker", ct, body, p.token); code != 200 {
		t.Fatalf("calling worker: %d %v", code, env)
	}
	post := func() string {
		req, _ := http.NewRequest("POST", p.public, strings.NewReader("important data!"))
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
	// A malformed upload is refused with 400 and a message, and the
	// previous version keeps serving.
	ct, body = curlF([4]string{"script", "calling-worker.js", "application/javascript", "broken"})
	if code, env := p.call(t, "PUT", acct+"/workers/scripts/calling-worker", ct, body, p.token); code != 400 || !strings.Contains(env["errors"].([]any)[0].(map[string]any)["message"].(string), "metadata") {
		t.Fatalf("malformed: %d %v", code, env)
	}
	ct, body = curlF([4]string{"metadata", "m.json", "application/json", `{"body_part": "script", "bindings": [{"type": "r2_bucket", "name": "R2"}]}`},
		[4]string{"script", "calling-worker.js", "application/javascript", seedCallingWorker})
	if code, _ := p.call(t, "PUT", acct+"/workers/scripts/calling-worker", ct, body, p.token); code != 400 {
		t.Fatalf("unknown binding: %d", code)
	}
	if got := post(); got != "127.0.0.1 stored important data!" {
		t.Fatalf("after refused uploads: %q", got)
	}
	if code, env := p.call(t, "GET", acct+"/workers/durable_objects/namespaces", "", nil, p.token); code != 200 || len(env["result"].([]any)) != 1 {
		t.Fatalf("namespaces: %d %v", code, env)
	}
}
