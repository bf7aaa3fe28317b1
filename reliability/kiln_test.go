package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kilnBin is the kiln binary TestMain builds once for the package.
var kilnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kiln-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	kilnBin = filepath.Join(dir, "kiln")
	build := exec.Command("go", "build", "-o", kilnBin, "../cmd/kiln")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kiln:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var readyLine = regexp.MustCompile(`Ready on (http://\S+)`)

// kilnProc is one running kiln child process.
type kilnProc struct {
	URL    string
	cmd    *exec.Cmd
	done   chan struct{}
	output *lockedBuffer
	once   sync.Once
}

// lockedBuffer keeps a child's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startKiln runs `kiln <args>` and waits for its "Ready on" line. The
// process is killed (SIGKILL) when the test ends if it is still running.
func startKiln(t testing.TB, args ...string) *kilnProc {
	t.Helper()
	cmd := exec.Command(kilnBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &kilnProc{cmd: cmd, done: make(chan struct{}), output: out}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.Write([]byte(line + "\n"))
		if m := readyLine.FindStringSubmatch(line); m != nil {
			p.URL = m[1]
			go func() { _, _ = io.Copy(out, stdout) }()
			return p
		}
	}
	<-p.done
	t.Fatalf("kiln %s exited before it was ready:\n%s", strings.Join(args, " "), out.String())
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone: nothing it has not
// already written to disk survives, as in a power cut of the process.
func (p *kilnProc) Kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	})
}

// Stop asks for a clean shutdown (SIGINT), as a user's Ctrl-C.
func (p *kilnProc) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		<-p.done
	})
}

// Exited reports whether the process has ended on its own.
func (p *kilnProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is what the process wrote to stdout and stderr so far.
func (p *kilnProc) Output() string { return p.output.String() }

// writeProject writes files (path → content) under a new temporary directory
// and returns it.
func writeProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newClient returns an HTTP client with its own connection pool, so that
// connections of a killed process are never reused.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		},
	}
}
