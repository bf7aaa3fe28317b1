package httplimit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readAll is a handler that reads the whole body and answers 200 with its
// length, or 500 if the read fails (as a Worker whose body read throws).
func readAll(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, "read failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Read", "yes")
	_, _ = io.WriteString(w, strings.Repeat("x", int(n%7)))
}

// chunked hides a body's length so the client sends it chunked.
type chunked struct{ io.Reader }

func TestLimitBody(t *testing.T) {
	srv := httptest.NewServer(LimitBody(http.HandlerFunc(readAll), 1000))
	defer srv.Close()
	for _, c := range []struct {
		name   string
		body   func() io.Reader
		length int64 // -1: chunked
		want   int
	}{
		{"declared at the limit", func() io.Reader { return strings.NewReader(strings.Repeat("a", 1000)) }, 1000, 200},
		{"declared over the limit", func() io.Reader { return strings.NewReader(strings.Repeat("a", 1001)) }, 1001, 413},
		{"chunked at the limit", func() io.Reader { return chunked{strings.NewReader(strings.Repeat("a", 1000))} }, -1, 200},
		{"chunked over the limit", func() io.Reader { return chunked{strings.NewReader(strings.Repeat("a", 5000))} }, -1, 413},
	} {
		req, err := http.NewRequest("POST", srv.URL, c.body())
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = c.length
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s: status %d (%q), want %d", c.name, resp.StatusCode, body, c.want)
		}
		if c.want == 413 && (string(body) != TooLargeText || resp.Header.Get("X-Read") != "") {
			t.Fatalf("%s: body %q, headers %v; want only the 413 text", c.name, body, resp.Header)
		}
	}
}

// A handler that has started its answer keeps it; the body read fails.
func TestLimitBodyAfterResponseStarted(t *testing.T) {
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, err := io.Copy(io.Discard, r.Body)
		readErr <- err
	})
	srv := httptest.NewServer(LimitBody(h, 10))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, chunked{strings.NewReader(strings.Repeat("a", 100))})
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want the handler's 202", resp.StatusCode)
	}
	var tooBig *http.MaxBytesError
	if err := <-readErr; !errors.As(err, &tooBig) {
		t.Fatalf("body read error %v, want *http.MaxBytesError", err)
	}
}

func TestNewServer(t *testing.T) {
	s := NewServer(http.NotFoundHandler())
	if s.MaxHeaderBytes != MaxHeaderBytes || s.ReadHeaderTimeout != ReadHeaderTimeout || s.IdleTimeout != IdleTimeout {
		t.Fatalf("limits not set: %+v", s)
	}
}
