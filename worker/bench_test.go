package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

const helloScript = `return { default: { fetch(request) { return new Response("Hello World"); } } };`

func benchWorker(b *testing.B, runtimes int) *Worker {
	b.Helper()
	w, err := New(context.Background(), Spec{Script: module(helloScript), Runtimes: runtimes,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	return w
}

// BenchmarkDispatchHello measures the per-request path without the network:
// build the Request object, call the handler, read the Response back.
func BenchmarkDispatchHello(b *testing.B) {
	w := benchWorker(b, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "http://localhost/", nil)
			resp, err := w.Fetch(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				b.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	})
}

// BenchmarkHTTPHello adds a real loopback HTTP server and client.
func BenchmarkHTTPHello(b *testing.B) { benchHTTP(b, benchWorker(b, 0)) }

// BenchmarkHTTPEmptyHandler is BenchmarkHTTPHello's floor: the same loopback
// server and client around a handler that does nothing but answer, so the
// difference between the two is what kiln adds to a request.
func BenchmarkHTTPEmptyHandler(b *testing.B) {
	benchHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "Hello World!")
	}))
}

// benchHTTP serves h on a loopback server and sends it GETs from parallel
// keep-alive clients.
func benchHTTP(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
