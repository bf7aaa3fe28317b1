package dev

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWriter records writes; its first write waits until release is closed.
type gatedWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	entered chan struct{}
	release chan struct{}
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	first := g.writes == 0
	g.writes++
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func TestOutputBatchesLinesInOrder(t *testing.T) {
	o := newOutput()
	defer o.close()
	w := &gatedWriter{entered: make(chan struct{}), release: make(chan struct{})}
	o.printf(w, "line %d\n", 0)
	<-w.entered // the writer is busy with line 0
	for i := 1; i <= 100; i++ {
		o.printf(w, "line %d\n", i)
	}
	close(w.release)
	o.flush()
	var want strings.Builder
	for i := 0; i <= 100; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := w.buf.String(); got != want.String() {
		t.Fatalf("written:\n%s\nwant:\n%s", got, want.String())
	}
	// Line 0 alone, then the 100 queued behind it in one write.
	if w.writes != 2 {
		t.Fatalf("%d writes, want 2", w.writes)
	}
}

func TestOutputKeepsEachStreamsOrderAndWritesOnClose(t *testing.T) {
	o := newOutput()
	var out, errOut syncBuffer
	for i := 0; i < 50; i++ {
		o.printf(&out, "o%d ", i)
		o.printf(&errOut, "e%d ", i)
	}
	o.close()
	var wantOut, wantErr strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&wantOut, "o%d ", i)
		fmt.Fprintf(&wantErr, "e%d ", i)
	}
	if out.String() != wantOut.String() || errOut.String() != wantErr.String() {
		t.Fatalf("stdout %q\nstderr %q", out.String(), errOut.String())
	}
	// After close, printing still works (directly).
	o.printf(&out, "late")
	if !strings.HasSuffix(out.String(), "late") {
		t.Fatalf("late text lost: %q", out.String())
	}
}

// A printer that finds more than maxQueuedOutput queued waits for the
// writer, and its text is still written, after what was queued before it.
func TestOutputPrinterOverTheBoundWaitsThenWrites(t *testing.T) {
	o := newOutput()
	defer o.close()
	w := &gatedWriter{entered: make(chan struct{}), release: make(chan struct{})}
	o.printf(w, "first\n")
	<-w.entered
	big := strings.Repeat("x", maxQueuedOutput)
	o.printf(w, "%s", big) // fills the queue past its bound
	printed := make(chan struct{})
	go func() {
		o.printf(w, "after\n") // must wait for the writer
		close(printed)
	}()
	close(w.release)
	<-printed
	o.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := w.buf.String(); got != "first\n"+big+"after\n" {
		t.Fatalf("written %d bytes, want %d", len(got), len("first\n"+big+"after\n"))
	}
}

// Each request is logged as wrangler dev logs it.
func TestRequestLine(t *testing.T) {
	for _, tc := range []struct {
		method, uri string
		status      int
		took        time.Duration
		want        string
	}{
		{"GET", "/", 200, 3 * time.Millisecond, "[kiln:info] GET / 200 OK (3ms)\n"},
		{"POST", "/a/b?q=1&r=%20", 404, 0, "[kiln:info] POST /a/b?q=1&r=%20 404 Not Found (0ms)\n"},
		{"GET", "/slow", 500, 12345*time.Millisecond + 999*time.Microsecond, "[kiln:info] GET /slow 500 Internal Server Error (12345ms)\n"},
		{"GET", "/odd", 599, time.Millisecond, "[kiln:info] GET /odd 599  (1ms)\n"},
	} {
		if got := string(requestLine(tc.method, tc.uri, tc.status, tc.took)); got != tc.want {
			t.Errorf("requestLine(%s %s %d %v) = %q, want %q", tc.method, tc.uri, tc.status, tc.took, got, tc.want)
		}
	}
}
