package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kiln-dev/kiln/kv"
	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
)

// kvBenchScript: /get reads one key, /put writes one, /list lists 100.
const kvBenchScript = `return { default: { async fetch(request, env) {
	const url = new URL(request.url);
	switch (url.pathname) {
	case "/get": return new Response(await env.KV.get("hot"));
	case "/put": await env.KV.put("k" + url.search, "value"); return new Response("ok");
	case "/list": return new Response(String((await env.KV.list({prefix: "l", limit: 100})).keys.length));
	}
	return new Response("?", {status: 404});
} } };`

func benchKVWorker(b *testing.B) *Worker {
	b.Helper()
	store, err := kvsqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kv.sqlite"), kvsqlite.Options{PurgeInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	const ns = "0123456789abcdef0123456789abcdef"
	ctx := context.Background()
	if _, err := store.EnsureNamespace(ctx, ns, "bench"); err != nil {
		b.Fatal(err)
	}
	_ = store.Put(ctx, ns, "hot", []byte("a value of moderate size"), noOpts)
	for i := 0; i < 100; i++ {
		_ = store.Put(ctx, ns, fmt.Sprintf("l%03d", i), []byte("v"), noOpts)
	}
	w, err := New(ctx, Spec{Script: module(kvBenchScript), KV: store, KVNamespaces: []KVBinding{{Name: "KV", NamespaceID: ns}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	return w
}

func benchPath(b *testing.B, w *Worker, path func(i int) string) {
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", "http://kv"+path(i), nil))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

func BenchmarkKVGetThroughWorker(b *testing.B) {
	benchPath(b, benchKVWorker(b), func(int) string { return "/get" })
}

func BenchmarkKVPutThroughWorker(b *testing.B) {
	var seq atomicCounter
	benchPath(b, benchKVWorker(b), func(int) string { return fmt.Sprintf("/put?%d", seq.next()) })
}

func BenchmarkKVList100ThroughWorker(b *testing.B) {
	benchPath(b, benchKVWorker(b), func(int) string { return "/list" })
}

var noOpts = kv.PutOptions{}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }
