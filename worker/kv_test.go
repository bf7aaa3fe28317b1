package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
)

// evalWorker runs the JavaScript in each request body as the body of an async
// function of env, and answers its JSON result, or "<Name>: <message>" with
// status 500 when it throws.
const evalWorker = `return { default: { async fetch(request, env) {
	const code = await request.text();
	try {
		const value = await (new Function("env", "return (async () => {" + code + "})()"))(env);
		return new Response(JSON.stringify(value === undefined ? null : value));
	} catch (e) {
		return new Response(e.name + ": " + e.message, { status: 500 });
	}
} } };`

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type kvHarness struct {
	url   string
	clock *fakeClock
}

func newKVHarness(t *testing.T) *kvHarness {
	t.Helper()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	store, err := kvsqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kv.sqlite"), kvsqlite.Options{Now: clock.Now, PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	const ns = "0123456789abcdef0123456789abcdef"
	if _, err := store.EnsureNamespace(context.Background(), ns, "test"); err != nil {
		t.Fatal(err)
	}
	w, err := New(context.Background(), Spec{
		Script: module(evalWorker), Runtimes: 1,
		KV: store, KVNamespaces: []KVBinding{{Name: "KV", NamespaceID: ns}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() { srv.Close(); w.Close() })
	return &kvHarness{url: srv.URL, clock: clock}
}

func (h *kvHarness) run(t *testing.T, code string) string {
	t.Helper()
	resp, err := http.Post(h.url, "text/plain", strings.NewReader(code))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (h *kvHarness) expect(t *testing.T, code, want string) {
	t.Helper()
	if got := h.run(t, code); got != want {
		t.Errorf("%s\n got %s\nwant %s", code, got, want)
	}
}

func TestKVGetPutDelete(t *testing.T) {
	h := newKVHarness(t)
	// Case 1: a value, then null for a missing key.
	h.expect(t, `await env.KV.put("key", "value"); return [await env.KV.get("key"), await env.KV.get("missing")]`, `["value",null]`)
	// Case 5: keys are case-sensitive. Case 6: an empty value is a value.
	h.expect(t, `await env.KV.put("KEY", "upper"); await env.KV.put("empty", ""); return [await env.KV.get("key"), await env.KV.get("KEY"), await env.KV.get("empty")]`, `["value","upper",""]`)
	// Case 21: delete, and deleting a missing key resolves undefined.
	h.expect(t, `await env.KV.delete("key"); return [await env.KV.get("key"), await env.KV.delete("never") === undefined]`, `[null,true]`)
	// seeds/000 calls put("some-key") with no value: the runtime stores "undefined".
	h.expect(t, `await env.KV.put("some-key"); await env.KV.put("n", 42); return [await env.KV.get("some-key"), await env.KV.get("n")]`, `["undefined","42"]`)
}

func TestKVGetTypes(t *testing.T) {
	h := newKVHarness(t)
	// Case 2.
	h.expect(t, `await env.KV.put("j", JSON.stringify({a: [1, 2]}));
		return [await env.KV.get("j"), await env.KV.get("j", "json"), await env.KV.get("j", {type: "json"})]`, `["{\"a\":[1,2]}",{"a":[1,2]},{"a":[1,2]}]`)
	h.expect(t, `await env.KV.put("b", new Uint8Array([0,1,2,127,128,254,255]).buffer);
		return [...new Uint8Array(await env.KV.get("b", "arrayBuffer"))]`, `[0,1,2,127,128,254,255]`)
	h.expect(t, `const s = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([255,0,10])); c.enqueue(new Uint8Array([20,30,200])); c.close(); } });
		await env.KV.put("s", s);
		const r = await env.KV.get("s", "stream");
		return [...new Uint8Array(await new Response(r).arrayBuffer())]`, `[255,0,10,20,30,200]`)
	// Case 3: an unknown type fails for a value that exists.
	h.expect(t, `await env.KV.get("j", {type: "banana"})`, `TypeError: Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`)
	// Case 19: only strings, buffers and streams; a DataView stores its bytes.
	h.expect(t, `await env.KV.put("m", new Map())`, `TypeError: KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.`)
	h.expect(t, `await env.KV.put("dv", new DataView(new Uint8Array([1,2,3]).buffer)); return [...new Uint8Array(await env.KV.get("dv", "arrayBuffer"))]`, `[1,2,3]`)
	// Case 20: the bytes are copied when put is called.
	h.expect(t, `const buf = new TextEncoder().encode("initial"); const p = env.KV.put("copy", buf); buf.set(new TextEncoder().encode("changed")); await p; return await env.KV.get("copy")`, `"initial"`)
}

func TestKVKeyValidation(t *testing.T) {
	h := newKVHarness(t)
	// Case 4, for get, put and delete.
	for _, c := range []struct{ op, call string }{{"GET", `get(K)`}, {"PUT", `put(K, "v")`}, {"DELETE", `delete(K)`}} {
		run := func(key string) string { return h.run(t, `const K = `+key+`; return await env.KV.`+c.call) }
		if got := run(`""`); got != "TypeError: Key name cannot be empty." {
			t.Errorf("%s empty: %s", c.op, got)
		}
		if got := run(`"."`); got != `TypeError: "." is not allowed as a key name.` {
			t.Errorf("%s dot: %s", c.op, got)
		}
		if got := run(`".."`); got != `TypeError: ".." is not allowed as a key name.` {
			t.Errorf("%s dotdot: %s", c.op, got)
		}
		if got := run(`"x".repeat(513)`); got != "Error: KV "+c.op+" failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512." {
			t.Errorf("%s long: %s", c.op, got)
		}
	}
	h.expect(t, `await env.KV.put("é".repeat(256), "v"); return await env.KV.get("é".repeat(256))`, `"v"`)
	h.expect(t, `return await env.KV.get("é".repeat(257))`, `Error: KV GET failed: 414 UTF-8 encoded length of 514 exceeds key length limit of 512.`)
}

func TestKVMetadataAndExpiration(t *testing.T) {
	h := newKVHarness(t)
	// Case 8 (now = 1000 s).
	h.expect(t, `await env.KV.put("key", "value", {expiration: 1500, metadata: {testing: true}});
		const r = await env.KV.getWithMetadata("key");
		const l = await env.KV.list();
		return [r, l]`, `[{"value":"value","metadata":{"testing":true},"cacheStatus":null},{"keys":[{"name":"key","expiration":1500,"metadata":{"testing":true}}],"list_complete":true,"cacheStatus":null}]`)
	// Case 9: any JSON metadata; falsy values survive.
	h.expect(t, `await env.KV.put("a", "1", {metadata: 123}); await env.KV.put("b", "", {metadata: "example"});
		await env.KV.put("z", "0", {metadata: {x: 1}}); await env.KV.put("f", "false", {metadata: {x: 2}});
		return [(await env.KV.getWithMetadata("a")).metadata, await env.KV.getWithMetadata("b", "text"), await env.KV.get("z", "json"), await env.KV.get("f", "json")]`,
		`[123,{"value":"","metadata":"example","cacheStatus":null},0,false]`)
	// Case 10.
	h.expect(t, `return await env.KV.getWithMetadata("missing")`, `{"value":null,"metadata":null,"cacheStatus":null}`)
	// Case 12.
	h.expect(t, `await env.KV.put("k", "v", {expirationTtl: "nan"})`, `Error: KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0.`)
	h.expect(t, `await env.KV.put("k", "v", {expirationTtl: 0})`, `Error: KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0.`)
	h.expect(t, `await env.KV.put("k", "v", {expirationTtl: 30})`, `Error: KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60.`)
	h.expect(t, `await env.KV.put("ttl60", "v", {expirationTtl: 60}); return (await env.KV.list({prefix: "ttl"})).keys`, `[{"name":"ttl60","expiration":1060}]`)
	// Case 14: strings are accepted.
	h.expect(t, `await env.KV.put("s1", "v", {expiration: "2000"}); await env.KV.put("s2", "v", {expirationTtl: "1000"}); return (await env.KV.list({prefix: "s"})).keys`,
		`[{"name":"s1","expiration":2000},{"name":"s2","expiration":2000}]`)
	// Metadata over 1024 bytes.
	if got := h.run(t, `await env.KV.put("big", "v", {metadata: "x".repeat(1100)})`); !strings.HasPrefix(got, "Error: KV PUT failed: 413 ") {
		t.Errorf("oversized metadata: %s", got)
	}
}

func TestKVExpiry(t *testing.T) {
	h := newKVHarness(t)
	// Case 15.
	h.expect(t, `await env.KV.put("key", "value", {expirationTtl: 60}); return await env.KV.get("key")`, `"value"`)
	h.clock.Advance(60 * time.Second)
	h.expect(t, `return await env.KV.get("key")`, `null`)
	h.expect(t, `await env.KV.put("key1", "v", {expiration: 1120}); await env.KV.put("key2", "v", {expiration: 1180}); await env.KV.put("key3", "v", {expiration: 1240}); return 0`, `0`)
	h.clock.Advance(130 * time.Second) // now 1190
	h.expect(t, `return await env.KV.list()`, `{"keys":[{"name":"key3","expiration":1240}],"list_complete":true,"cacheStatus":null}`)
}

func TestKVCacheTTLAndLimits(t *testing.T) {
	h := newKVHarness(t)
	// Case 16.
	h.expect(t, `await env.KV.get("k", {cacheTtl: "not a number"})`, `Error: KV GET failed: 400 Invalid cache_ttl of 0. Cache TTL must be at least 30.`)
	h.expect(t, `await env.KV.get("k", {cacheTtl: 10})`, `Error: KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.`)
	h.expect(t, `return [await env.KV.get("k", {cacheTtl: 30}), await env.KV.get("k", {cacheTtl: 60})]`, `[null,null]`)
	// Case 17: exactly 25 MiB is accepted; one byte more is not.
	h.expect(t, `await env.KV.put("max", new Uint8Array(25 * 1024 * 1024)); return (await env.KV.get("max", "arrayBuffer")).byteLength`, `26214400`)
	h.expect(t, `await env.KV.put("over", new Uint8Array(25 * 1024 * 1024 + 1))`, `Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.`)
	// Case 26.
	h.expect(t, `await env.KV.list({limit: 1001})`, `Error: KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.`)
}

func TestKVList(t *testing.T) {
	h := newKVHarness(t)
	// Case 22.
	h.expect(t, `for (const k of ["key3", "key1", "key2", "section1a", "section2b", "KEY1", "key\\_%x", "key_%x"]) await env.KV.put(k, "v");
		const names = async (o) => (await env.KV.list(o)).keys.map(k => k.name);
		return [await names({prefix: "key"}), await names({prefix: "section1"}), await names({prefix: "KEY"}), await names({prefix: "key\\_%"})]`,
		`[["key1","key2","key3","key\\_%x","key_%x"],["section1a"],["KEY1"],["key\\_%x"]]`)
	// Case 25: byte order.
	h2 := newKVHarness(t)
	h2.expect(t, `await env.KV.put(", ", "v"); await env.KV.put("!", "v"); await env.KV.put("\uFF3A", "v"); await env.KV.put("\u{1D655}", "v"); await env.KV.put("Z", "v"); return await env.KV.list()`,
		`{"keys":[{"name":"!"},{"name":", "},{"name":"Z"},{"name":"Ｚ"},{"name":"𝙕"}],"list_complete":true,"cacheStatus":null}`)
	// Case 24: a cursor is a position.
	h3 := newKVHarness(t)
	h3.expect(t, `for (const k of ["key1", "key3", "key5"]) await env.KV.put(k, "v");
		const first = await env.KV.list({limit: 2});
		await env.KV.put("key2", "v"); await env.KV.put("key4", "v");
		const rest = await env.KV.list({cursor: first.cursor});
		return [first.keys.map(k => k.name), first.list_complete, typeof first.cursor, rest.keys.map(k => k.name), rest.list_complete, "cursor" in rest]`,
		`[["key1","key3"],false,"string",["key4","key5"],true,false]`)
	// Case 28.
	h3.expect(t, `return [await env.KV.list({prefix: "nope"}), await env.KV.list({cursor: "not-a-cursor"})]`,
		`[{"keys":[],"list_complete":true,"cacheStatus":null},{"keys":[],"list_complete":true,"cacheStatus":null}]`)
}

func TestKVBulkGet(t *testing.T) {
	h := newKVHarness(t)
	// Case 29.
	h.expect(t, `await env.KV.put("key1", "value1"); await env.KV.put('key"2', JSON.stringify({n: 2}));
		const m = await env.KV.get(["key1", "nope"]);
		const j = await env.KV.get(['key"2'], "json");
		return [m instanceof Map, [...m], [...j]]`, `[true,[["key1","value1"],["nope",null]],[["key\"2",{"n":2}]]]`)
	h.expect(t, `const keys = Array.from({length: 100}, (_, i) => "k" + i); return (await env.KV.get(keys)).size`, `100`)
	// Case 30.
	h.expect(t, `await env.KV.get(Array.from({length: 101}, (_, i) => "k" + i))`, `Error: KV GET_BULK failed: 400 You can request a maximum of 100 keys`)
	h.expect(t, `await env.KV.get([])`, `Error: KV GET_BULK failed: 400 You must request a minimum of 1 key`)
	h.expect(t, `await env.KV.get(["key1"], "arrayBuffer")`, `Error: KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use "json" or "text"`)
	h.expect(t, `await env.KV.get(["key1"], "json")`, `Error: KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value`)
	// Case 32.
	h.expect(t, `await env.KV.put("m1", "v1", {metadata: {testing: true}}); await env.KV.put("m2", "v2");
		return [...await env.KV.getWithMetadata(["m1", "m2", "m3"])]`,
		`[["m1",{"value":"v1","metadata":{"testing":true}}],["m2",{"value":"v2","metadata":null}],["m3",null]]`)
}

func TestKVOperationLimitPerInvocation(t *testing.T) {
	h := newKVHarness(t)
	// A bulk get of 100 keys counts as one operation.
	h.expect(t, `const keys = Array.from({length: 100}, (_, i) => "k" + i);
		for (let i = 0; i < 999; i++) await env.KV.get(keys);
		await env.KV.get("one-more");
		try { await env.KV.get("too-many"); return "no limit" } catch (e) { return e.message }`,
		`"Too many API requests by single Worker invocation."`)
	// Reads answered from the read cache count too.
	h.expect(t, `for (let i = 0; i < 1000; i++) await env.KV.get("hot");
		try { await env.KV.get("hot"); return "no limit" } catch (e) { return e.message }`,
		`"Too many API requests by single Worker invocation."`)
	// The count is per invocation.
	h.expect(t, `return await env.KV.get("fresh")`, `null`)
}
