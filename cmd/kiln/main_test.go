package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// builtKiln is the kiln binary TestMain builds for this package's tests.
var builtKiln string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kiln-bin-")
	if err != nil {
		panic(err)
	}
	builtKiln = filepath.Join(dir, "kiln")
	cmd := exec.Command("go", "build", "-o", builtKiln, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building kiln: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func kilnBinary(t *testing.T) string {
	t.Helper()
	return builtKiln
}

var readyLine = regexp.MustCompile(`Ready on (http://\S+)`)

// startKiln runs kiln with args and returns the URL it reports being ready on.
func startKiln(t *testing.T, bin string, args ...string) string {
	t.Helper()
	return startKilnCmd(t, bin, args...).url
}

type kilnProcess struct {
	url  string
	stop func()
}

// startKilnCmd runs kiln and returns its URL and a function that stops it
// (SIGINT, then wait) — a clean shutdown, as a user's Ctrl-C.
func startKilnCmd(t *testing.T, bin string, args ...string) *kilnProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &kilnProcess{url: m[1], stop: stop}
		}
	}
	t.Fatalf("kiln exited before it was ready: %v", sc.Err())
	return nil
}

func fetch(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestDevServesExamplesHello(t *testing.T) {
	bin := kilnBinary(t)
	base := startKiln(t, bin, "dev", "--port", "0", "../../examples/hello")

	if code, _, body := fetch(t, "GET", base+"/?name=tester", ""); code != 200 || body != "Hello, tester! This is kiln.\n" {
		t.Fatalf("/: %d %q", code, body)
	}
	if code, h, body := fetch(t, "GET", base+"/json", ""); code != 200 || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"greeting":"Hello, world! This is kiln."`) {
		t.Fatalf("/json: %d %q", code, body)
	}
	if code, _, body := fetch(t, "POST", base+"/echo", "round trip"); code != 200 || body != "round trip" {
		t.Fatalf("/echo: %d %q", code, body)
	}
	if code, _, body := fetch(t, "GET", base+"/stream", ""); code != 200 || body != "chunk 1\nchunk 2\nchunk 3\n" {
		t.Fatalf("/stream: %d %q", code, body)
	}
	if _, _, body := fetch(t, "GET", base+"/digest?text=abc", ""); body != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n" {
		t.Fatalf("/digest: %q", body)
	}
	if code, _, body := fetch(t, "GET", base+"/error", ""); code != 500 || !strings.Contains(body, "this route fails on purpose") || !strings.Contains(body, "src/index.ts:") {
		t.Fatalf("/error: %d %q", code, body)
	}
	if code, _, _ := fetch(t, "GET", base+"/missing", ""); code != 404 {
		t.Fatalf("/missing: %d", code)
	}
}

func TestDevStagingEnv(t *testing.T) {
	bin := kilnBinary(t)
	base := startKiln(t, bin, "dev", "--port", "0", "--env", "staging", "--var", "SITE:kiln-staging", "../../examples/hello")
	// SITE is a top-level JSON var: not inherited by env.staging, so the
	// --var string stands in and SITE.name is undefined.
	if code, _, body := fetch(t, "GET", base+"/", ""); code != 200 || body != "Hello from staging, world! This is undefined.\n" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestBadVarFlagExits2(t *testing.T) {
	bin := kilnBinary(t)
	out, err := exec.Command(bin, "dev", "--var", "novalue", "../../examples/hello").CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "expected KEY:VALUE") {
		t.Fatalf("err=%v out=%s", err, out)
	}
}
