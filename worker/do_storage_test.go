package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/durable/storage"
)

// storageClasses: Eval runs code inside the object (SQLite-backed), Legacy
// is a KV-backed class, Unique is the blog's getUniqueNumber object.
const storageClasses = `
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
const run = async (self, code) => {
	try {
		const v = await (new Function("ctx", "storage", "self", "return (async () => {" + code + "})()"))(self.ctx, self.ctx.storage, self);
		return JSON.stringify(v === undefined ? null : v, (k, x) => x instanceof Map ? {map: [...x]} : typeof x === "bigint" ? x + "n" : x);
	} catch (e) {
		return e.name + ": " + e.message;
	}
};
class Eval extends DurableObject {
	run(code) { return run(this, code); }
	alarm(info) { return this.ctx.storage.put("alarm-ran", {at: Date.now(), retryCount: info.retryCount, isRetry: info.isRetry, scheduled: info.scheduledTime, during: null}); }
}
class Legacy extends DurableObject {
	run(code) { return run(this, code); }
}
class Unique extends DurableObject {
	async fetch(request) {
		const v = (await this.ctx.storage.get("counter")) ?? 0;
		await this.ctx.storage.put("counter", v + 1);
		return new Response(String(v));
	}
}
class Flaky extends DurableObject {
	run(code) { return run(this, code); }
	async alarm(info) {
		const n = ((await this.ctx.storage.get("attempts")) ?? 0) + 1;
		await this.ctx.storage.put("attempts", n);
		await this.ctx.storage.put("seen", [...((await this.ctx.storage.get("seen")) ?? []), [info.retryCount, info.isRetry]]);
		if (n < 3) throw new Error("not yet");
	}
}
`

type doHarness struct {
	url   string
	reg   *Registry
	dir   string
	close func()
}

func startStorage(t *testing.T, dir string, idle time.Duration) *doHarness {
	t.Helper()
	reg := NewRegistry(dir, idle)
	reg.Sync = storage.SyncFull
	w, err := New(context.Background(), Spec{
		Name:     "st",
		Script:   module(storageClasses + "\nreturn { default: " + evalHandler + ", Eval, Legacy, Unique, Flaky };"),
		Runtimes: 2, Registry: reg, CompatibilityDate: "2026-03-01",
		Classes: []DOClass{{Name: "Eval", SQL: true}, {Name: "Legacy"}, {Name: "Unique", SQL: true}, {Name: "Flaky", SQL: true}},
		DurableObjects: []DOBinding{{Name: "EVAL", ClassName: "Eval"}, {Name: "LEGACY", ClassName: "Legacy"},
			{Name: "UNIQUE", ClassName: "Unique"}, {Name: "FLAKY", ClassName: "Flaky"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	var once sync.Once
	closeAll := func() { once.Do(func() { srv.Close(); w.Close(); reg.closeAlarms() }) }
	t.Cleanup(closeAll)
	return &doHarness{url: srv.URL, reg: reg, dir: dir, close: closeAll}
}

// in runs code inside the object named name of class binding and returns
// its JSON result (Maps as {"map": [...]}) or "<Error>: <message>".
func (h *doHarness) in(t *testing.T, binding, name, code string) string {
	t.Helper()
	js := fmt.Sprintf(`return await env.%s.getByName(%q).run(%q)`, binding, name, code)
	resp, err := http.Post(h.url, "text/plain", strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s string
	if _, err := fmt.Sscanf(string(b), "%q", &s); err != nil {
		return string(b)
	}
	return s
}

func (h *doHarness) expectIn(t *testing.T, binding, name, code, want string) {
	t.Helper()
	if got := h.in(t, binding, name, code); got != want {
		t.Errorf("%s\n got %s\nwant %s", code, got, want)
	}
}

func TestStorageKV(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	e := func(code, want string) { t.Helper(); h.expectIn(t, "EVAL", "kv", code, want) }
	// Case 79.
	e(`return [await storage.get("nope") === undefined, await storage.put("a", 1), await storage.get("a"), await storage.delete("a"), await storage.delete("a")]`, `[true,null,1,true,false]`)
	// Case 80 and 82: sorted Map, missing keys omitted, undefined keys skipped.
	e(`await storage.put({key1: 1, key2: 2, key3: 3, skip: undefined}); return [await storage.get(["key2", "key3", undefined, "key1", "none"]), await storage.get("skip") === undefined]`, `[{"map":[["key1",1],["key2",2],["key3",3]]},true]`)
	// Case 81.
	e(`return [await storage.delete(["key1", "key3"]), await storage.delete(["key1", "key2", "key3"])]`, `[2,1]`)
	// Case 83.
	e(`try { storage.put("k") } catch (e) { return e.name + ": " + e.message }`, `"TypeError: put() called with undefined value."`)
	e(`try { storage.put({a: 1}, 5) } catch (e) { return e.message.startsWith("put() may only be called") }`, `true`)
	// Case 94: values are structured clones.
	e(`await storage.put("v", {s: new Set(["a", "b"]), d: new Date(1000), n: 10n, m: new Map([[1, {x: [1, 2]}]]), u: new Uint8Array([1, 2, 3])});
		const v = await storage.get("v"); return [v.s instanceof Set, [...v.s], v.d.getTime(), v.n, v.m.get(1).x, [...v.u], v.u instanceof Uint8Array]`,
		`[true,["a","b"],1000,"10n",[1,2],[1,2,3],true]`)
	// Case 92: reads see writes at once, without awaiting them.
	e(`storage.put("foo", "bar"); const g = await storage.get("foo"); storage.delete("foo"); return [g, await storage.get("foo") === undefined]`, `["bar",true]`)
}

func TestStorageList(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	h.in(t, "EVAL", "list", `await storage.put(Object.fromEntries(["section1key1","section1key2","section2key1","section2key2","section3key1","section3key2"].map(k => [k, k])))`)
	names := func(opts string) string {
		return h.in(t, "EVAL", "list", `return [...(await storage.list(`+opts+`)).keys()].join()`)
	}
	// Case 85.
	cases := map[string]string{
		`{}`:                           "section1key1,section1key2,section2key1,section2key2,section3key1,section3key2",
		`{start: "section2key2"}`:      "section2key2,section3key1,section3key2",
		`{startAfter: "section2key2"}`: "section3key1,section3key2",
		`{end: "section2key1"}`:        "section1key1,section1key2",
		`{reverse: true}`:              "section3key2,section3key1,section2key2,section2key1,section1key2,section1key1",
		`{limit: 3}`:                   "section1key1,section1key2,section2key1",
		`{prefix: "section2"}`:         "section2key1,section2key2",
		`{start: "section2", prefix: "section", limit: 2, reverse: true}`: "section3key2,section3key1",
		`{startAfter: "section2key1", limit: 2}`:                          "section2key2,section3key1",
		`{startAfter: "section2", limit: 2}`:                              "section2key1,section2key2",
		`{start: "section4"}`:                                             "",
		`{start: "section3", end: "section1"}`:                            "",
	}
	for opts, want := range cases {
		if got := names(opts); got != `"`+want+`"` {
			t.Errorf("list(%s) = %s, want %q", opts, got, want)
		}
	}
	// Case 86.
	h.expectIn(t, "EVAL", "list", `try { await storage.list({start: "a", startAfter: "b"}) } catch (e) { return e.name + ": " + e.message }`, `"TypeError: list() cannot be called with both start and startAfter values."`)
	h.expectIn(t, "EVAL", "list", `try { await storage.list({limit: 0}) } catch (e) { return e.name + ": " + e.message }`, `"TypeError: List limit must be positive."`)
	// Case 88: UTF-8 byte order.
	h.expectIn(t, "EVAL", "order", `await storage.put({"Z": 1, "\u{1D655}": 2, "\uFF3A": 3, "!": 4, ", ": 5}); return [...(await storage.list()).keys()]`, `["!",", ","Z","Ｚ","𝙕"]`)
}

func TestStorageLimitsOfKVBackedClass(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	// Case 96.
	h.expectIn(t, "LEGACY", "l", `try { storage.put("x".repeat(2049), 1) } catch (e) { return e.name + ": " + e.message }`, `"RangeError: Keys cannot be larger than 2048 bytes. A key of size 2049 was provided."`)
	h.expectIn(t, "LEGACY", "l", `const keys = Array.from({length: 129}, (_, i) => "k" + i); try { await storage.get(keys) } catch (e) { return e.name + ": " + e.message }`, `"RangeError: Maximum number of key value pairs is 128. 129 pairs were provided."`)
	h.expectIn(t, "LEGACY", "l", `await storage.put("ok", new Uint8Array(128 * 1024)); try { storage.put("big", new Uint8Array(128 * 1024 + 32)) } catch (e) { return e.name }`, `"RangeError"`)
	// Case 134: no SQL on a KV-backed class.
	if got := h.in(t, "LEGACY", "l", `return storage.sql.databaseSize`); !strings.HasPrefix(got, "Error: SQL is not enabled for this Durable Object class.") {
		t.Errorf("sql on legacy: %s", got)
	}
}

func TestStorageTransactions(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	e := func(code, want string) { t.Helper(); h.expectIn(t, "EVAL", "txn", code, want) }
	// Case 101.
	e(`return [await storage.transaction(async (txn) => { await txn.put("txnTest", 1); return "foo"; }), await storage.get("txnTest")]`, `["foo",1]`)
	e(`await storage.put("txnTest", 3); await storage.transaction(async (txn) => { await txn.put("txnTest", 4); txn.rollback(); }); return await storage.get("txnTest")`, `3`)
	e(`try { await storage.transaction(async (txn) => { await txn.put("txnTest", 5); throw new Error("txn failure"); }); } catch (e) { return [e.message, await storage.get("txnTest")] }`, `["txn failure",3]`)
	e(`let inner; await storage.transaction(async (txn) => { await txn.put("txnTest", 6); inner = await txn.get("txnTest"); txn.rollback(); }); return [inner, await storage.get("txnTest")]`, `[6,3]`)
	// Case 121.
	e(`return storage.transactionSync(() => { storage.sql.exec("CREATE TABLE should_succeed (i)"); return "some data"; })`, `"some data"`)
	e(`try { storage.transactionSync(() => { storage.sql.exec("CREATE TABLE rolled_back (i)"); storage.sql.exec("SELECT * FROM misspelled_table_name"); }); } catch (e) {}
		return storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'rolled_back'").one().n`, `0`)
	// Case 136: a put inside a rolled-back transactionSync leaves nothing.
	e(`try { storage.transactionSync(() => { storage.put("inside", 1); throw new Error("no"); }); } catch (e) {} return await storage.get("inside") === undefined`, `true`)
	// Case 106/107: the synchronous KV API.
	e(`const kv = storage.kv; kv.put("foo", 123); kv.put("bar", "abc");
		const c1 = kv.list({prefix: "ba"}); const c2 = kv.list({limit: 1, reverse: true});
		let err; try { [...c1] } catch (e) { err = e.message.startsWith("kv.list() iterator was invalidated") }
		return [kv.get("foo"), kv.delete("qux"), err, [...c2]]`, `[123,false,true,[["txnTest",3]]]`)
}

func TestStorageSQL(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	e := func(code, want string) { t.Helper(); h.expectIn(t, "EVAL", "sql", code, want) }
	// Cases 112, 114, 115.
	e(`const sql = storage.sql; return [[...sql.exec("SELECT 123")], [...sql.exec("SELECT 123").raw()], sql.exec("SELECT ? + ?", 123, 456).one()]`, `[[{"123":123}],[[123]],{"? + ?":579}]`)
	e(`const c = storage.sql.exec("SELECT 1 AS col UNION ALL SELECT 'foo' UNION ALL SELECT 3"); return [c.next(), c.next(), c.next(), c.next()]`,
		`[{"done":false,"value":{"col":1}},{"done":false,"value":{"col":"foo"}},{"done":false,"value":{"col":3}},{"done":true}]`)
	e(`try { storage.sql.exec("SELECT 1 UNION ALL SELECT 2").one() } catch (e) { return e.message }`, `"Expected exactly one result from SQL query, but got multiple results."`)
	// Case 116, 120, 122.
	e(`try { storage.sql.exec("") } catch (e) { return e.message }`, `"SQL code did not contain a statement."`)
	e(`try { storage.sql.exec("BEGIN TRANSACTION") } catch (e) { return /please use the state.storage.transaction\(\) or state.storage.transactionSync\(\) APIs/.test(e.message) }`, `true`)
	e(`try { storage.sql.exec("CREATE TABLE _cf_invalid (x)") } catch (e) { return /not authorized/.test(e.message) }`, `true`)
	// Case 119: only the last statement's rows.
	e(`return storage.sql.exec("CREATE TABLE items (i INTEGER, s TEXT); INSERT INTO items VALUES (123, 'abc'); INSERT INTO items VALUES (456, 'def'); SELECT i FROM items WHERE s = 'abc';").toArray()`, `[{"i":123}]`)
	// Case 118.
	e(`storage.sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); try { storage.sql.exec("INSERT INTO t VALUES ('yeah')") } catch (e) { return e.message }`, `"datatype mismatch: SQLITE_MISMATCH"`)
	// ArrayBuffer values, databaseSize.
	e(`storage.sql.exec("CREATE TABLE b (v BLOB)"); storage.sql.exec("INSERT INTO b VALUES (?)", new Uint8Array([1, 2, 3])); const v = storage.sql.exec("SELECT v FROM b").one().v; return [v instanceof ArrayBuffer, [...new Uint8Array(v)], storage.sql.databaseSize > 0]`, `[true,[1,2,3],true]`)
	// KV and SQL share the database.
	e(`await storage.put("shared", 1); try { storage.sql.exec("SELECT * FROM _cf_KV") } catch (e) { return /_cf_KV/.test(e.message) }`, `true`)
}

// Case 140: the input gate serialises read-modify-write. 64 concurrent
// requests from separate connections increment one counter to exactly 64.
func TestStorageConcurrentIncrementsAreNotLost(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	code := `return await (await env.UNIQUE.getByName("c").fetch("http://do/")).text()`
	var wg sync.WaitGroup
	seen := make([]string, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Post(h.url, "text/plain", strings.NewReader(code))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen[i] = string(b)
		}(i)
	}
	wg.Wait()
	got := map[string]bool{}
	for _, s := range seen {
		if got[s] {
			t.Fatalf("two requests read the same value %s: %v", s, seen)
		}
		got[s] = true
	}
	for i := 0; i < 64; i++ {
		if !got[fmt.Sprintf(`"%d"`, i)] {
			t.Fatalf("value %d missing: %v", i, seen)
		}
	}
	if v := h.in(t, "UNIQUE", "c", ``); v == "" {
		t.Fatal("no answer")
	}
}

// Case 143: when the caller has the response, the write is committed: a
// separate connection to the object's file sees it.
func TestOutputGateReleasesAfterCommit(t *testing.T) {
	dir := t.TempDir()
	h := startStorage(t, dir, time.Minute)
	id := h.in(t, "EVAL", "gate", `storage.put("key", "value"); return ctx.id.toString()`)
	var hex string
	if _, err := fmt.Sscanf(id, "%q", &hex); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	// Shut everything down at once: an uncommitted write would be rolled
	// back now and be missing below.
	h.close()
	db, err := storage.Open(filepath.Join(dir, "st-Eval", hex+".sqlite"), storage.Options{SQL: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok, err := db.Get("key"); err != nil || !ok {
		t.Fatalf("the reply was released before its write was committed: ok=%v err=%v", ok, err)
	}
}

// forwardPathOrError is the default export of a test Worker whose Obj
// object "x" gets each request's path; it answers "status body", or
// "error: message" when the call throws.
const forwardPathOrError = `return { default: { async fetch(request, env) {
	try {
		const r = await env.OBJ.getByName("x").fetch("http://x" + new URL(request.url).pathname);
		return new Response(r.status + " " + await r.text());
	} catch (e) { return new Response("error: " + e.message); }
} }, Obj };`

// A reply that a handler gives after its turn's commit failed (here a
// deferred foreign key that COMMIT rejects) is never released as if the
// writes had been kept: the caller gets the reset error. The handler's
// promise settles in a later job (after a timer) on purpose: that job's
// commit then runs before the reply is handed to the output gate. The
// tables are made by an earlier request, whose reply waited for them to be
// durable, so the reply could otherwise go out at once.
func TestReplyAfterAFailedCommitIsNotReleased(t *testing.T) {
	srv := startObj(t, module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const sql = this.ctx.storage.sql;
		if (new URL(request.url).pathname === "/setup") {
			sql.exec("CREATE TABLE parent(id INTEGER PRIMARY KEY)");
			sql.exec("CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
			return new Response("set up");
		}
		await new Promise(resolve => setTimeout(resolve, 1));
		sql.exec("INSERT INTO child VALUES (42)");
		return new Response("kept");
	}
}
`+forwardPathOrError))
	if _, body, _ := get(t, srv.URL+"/setup"); body != "200 set up" {
		t.Fatalf("setup: %q", body)
	}
	_, body, _ := get(t, srv.URL+"/violate")
	if !strings.HasPrefix(body, "error: ") || !strings.Contains(body, "FOREIGN KEY constraint failed") {
		t.Fatalf("caller got %q", body)
	}
}

// A storage transaction whose closure waits across turns (a timer between
// its writes) commits when it ends, and its caller gets the reply.
func TestTransactionSpanningTurnsCommits(t *testing.T) {
	srv := startObj(t, module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const s = this.ctx.storage;
		if (new URL(request.url).pathname === "/get") return new Response(JSON.stringify([await s.get("a"), await s.get("b")]));
		await s.transaction(async txn => {
			await txn.put("a", 1);
			await new Promise(resolve => setTimeout(resolve, 1));
			await txn.put("b", 2);
		});
		return new Response("done");
	}
}
return { default: { async fetch(request, env) {
	const r = await env.OBJ.getByName("x").fetch("http://x" + new URL(request.url).pathname);
	return new Response(r.status + " " + await r.text());
} }, Obj };`))
	if body := getWithin(t, srv, "/txn"); body != "200 done" {
		t.Fatalf("transaction answered %q", body)
	}
	if _, body, _ := get(t, srv.URL+"/get"); body != "200 [1,2]" {
		t.Fatalf("after the transaction: %q", body)
	}
}

// When a commit fails, a reply already waiting for an earlier commit's
// fsync still goes out once that commit is durable (its write is kept),
// while the reply of the failed turn gets the error. The earlier commit's
// fsync is held until the failure and the object's reset have happened.
func TestFailedCommitKeepsRepliesToEarlierWrites(t *testing.T) {
	reg := NewRegistry(t.TempDir(), time.Minute)
	holdNextSync, reached, release := syncHolder(reg)
	srv := startObjIn(t, reg, module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const s = this.ctx.storage;
		switch (new URL(request.url).pathname) {
		case "/setup":
			s.sql.exec("CREATE TABLE parent(id INTEGER PRIMARY KEY)");
			s.sql.exec("CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
			return new Response("set up");
		case "/put":
			s.put("k", 1);
			return new Response("put");
		case "/violate":
			s.sql.exec("INSERT INTO child VALUES (42)");
			return new Response("kept");
		}
		return new Response(JSON.stringify(await s.get("k")));
	}
}
`+forwardPathOrError))
	if _, body, _ := get(t, srv.URL+"/setup"); body != "200 set up" {
		t.Fatalf("setup: %q", body)
	}
	holdNextSync()
	put := make(chan string, 1)
	go func() { put <- bodyOf(srv.URL + "/put") }()
	<-reached // /put's commit is made; its fsync waits
	if _, body, _ := get(t, srv.URL+"/violate"); !strings.HasPrefix(body, "error: ") || !strings.Contains(body, "FOREIGN KEY constraint failed") {
		release()
		t.Fatalf("the failed turn answered %q", body)
	}
	release()
	if body := <-put; body != "200 put" {
		t.Fatalf("the reply to the earlier, kept write: %q", body)
	}
	if _, body, _ := get(t, srv.URL+"/get"); body != "200 1" {
		t.Fatalf("after the reset: %q", body)
	}
}

// getWithin returns the body of GET url, or fails the test if no answer
// comes within a minute (a bound on a failure only: answers take
// milliseconds); the stuck request is then cancelled so that srv closes.
func getWithin(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	answered := make(chan string, 1)
	go func() { answered <- bodyOf(srv.URL + path) }()
	select {
	case body := <-answered:
		return body
	case <-time.After(time.Minute):
		srv.CloseClientConnections()
		t.Fatalf("GET %s: no answer", path)
		return ""
	}
}

// bodyOf is GET url's body, or the error's text; usable off the test's
// goroutine.
func bodyOf(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// syncHolder makes the next fsync round of reg's objects, once armed by
// holdNextSync, signal reached and wait for release.
func syncHolder(reg *Registry) (holdNextSync func(), reached <-chan struct{}, release func()) {
	var armed atomic.Bool
	reachedCh, hold := make(chan struct{}, 1), make(chan struct{})
	reg.beforeSync = func() {
		if armed.CompareAndSwap(true, false) {
			reachedCh <- struct{}{}
			<-hold
		}
	}
	var once sync.Once
	return func() { armed.Store(true) }, reachedCh, func() { once.Do(func() { close(hold) }) }
}

const readOnlyTxnObj = `
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const s = this.ctx.storage;
		switch (new URL(request.url).pathname) {
		case "/put":
			s.put("k", Number(new URL(request.url).searchParams.get("v") ?? 1));
			return new Response("put");
		case "/txn":
			await s.transaction(async txn => { await txn.get("nothing"); });
			return new Response("txn");
		case "/txnsync":
			s.transactionSync(() => s.sql.exec("SELECT 1").toArray());
			await new Promise(resolve => setTimeout(resolve, 1));
			return new Response(JSON.stringify(await s.get("k")));
		}
		return new Response("?");
	}
}
return { default: { async fetch(request, env) {
	const url = new URL(request.url);
	const r = await env.OBJ.getByName("x").fetch("http://x" + url.pathname + url.search);
	return new Response(r.status + " " + await r.text());
} }, Obj };`

// Transactions that only read change nothing, yet their turn promised its
// reply the commit's number: the commit still gets one, so the replies go
// (they used to wait for the next write, forever for an object that made
// none), and the object's last confirmed commit never falls back to 0.
func TestReadOnlyTransactionsAnswer(t *testing.T) {
	srv := startObj(t, module(readOnlyTxnObj))
	for _, c := range []struct{ path, want string }{
		{"/put?v=1", "200 put"}, {"/txn", "200 txn"}, {"/txnsync", "200 1"}, {"/txnsync", "200 1"},
	} {
		if body := getWithin(t, srv, c.path); body != c.want {
			t.Fatalf("%s answered %q, want %q", c.path, body, c.want)
		}
	}
}

func TestStoragePersistsAcrossEvictionAndRestart(t *testing.T) {
	dir := t.TempDir()
	h := startStorage(t, dir, time.Millisecond)
	h.expectIn(t, "EVAL", "p", `self.mem = "in memory"; await storage.put("n", 2); return 0`, `0`)
	// Case 187: after eviction the constructor runs again; storage stays.
	for i := 0; ; i++ {
		got := h.in(t, "EVAL", "p", `await new Promise(r => setTimeout(r, 2)); return [self.mem ?? "fresh", await storage.get("n")]`)
		if got == `["fresh",2]` {
			break
		}
		if got != `["in memory",2]` || i > 1000 {
			t.Fatalf("got %s", got)
		}
	}
	// Case 190: a new process (here: a new Worker and registry on the same
	// directory) continues from the stored value.
	h.close()
	h2 := startStorage(t, dir, time.Minute)
	h2.expectIn(t, "EVAL", "p", `return await storage.get("n")`, `2`)
}

func TestAlarms(t *testing.T) {
	dir := t.TempDir()
	h := startStorage(t, dir, time.Minute)
	// Cases 156, 157, 158, 159.
	h.expectIn(t, "EVAL", "a", `await storage.setAlarm(new Date(4102444800000)); const a = await storage.getAlarm(); await storage.setAlarm(5000000000000); const b = await storage.getAlarm(); await storage.deleteAlarm(); return [a, b, await storage.getAlarm()]`,
		`[4102444800000,5000000000000,null]`)
	h.expectIn(t, "LEGACY", "a", `try { await storage.setAlarm(Date.now() + 10) } catch (e) { return e.message }`, `"Your Durable Object class must have an alarm() handler in order to call setAlarm()"`)
	// The handler runs once the alarm is due, and the alarm is consumed.
	h.in(t, "EVAL", "fire", `await storage.setAlarm(Date.now() + 20); return 0`)
	for i := 0; ; i++ {
		got := h.in(t, "EVAL", "fire", `await new Promise(r => setTimeout(r, 5)); const r = await storage.get("alarm-ran"); return r ? [r.retryCount, r.isRetry, typeof r.scheduled, await storage.getAlarm()] : "waiting"`)
		if got == `[0,false,"number",null]` {
			break
		}
		if got != `"waiting"` || i > 2000 {
			t.Fatalf("alarm: %s", got)
		}
	}
}

// An alarm handler whose turn cannot commit (it breaks a deferred foreign
// key) had its writes and the alarm's consumption rolled back: the alarm is
// retried (after the platform's 2 s backoff) rather than lost.
func TestAlarmWhoseCommitFailsIsRetried(t *testing.T) {
	reg := NewRegistry(t.TempDir(), time.Minute)
	t.Cleanup(reg.closeAlarms)
	srv := startObjIn(t, reg, module(`
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Obj extends DurableObject {
	async fetch(request) {
		const s = this.ctx.storage;
		if (new URL(request.url).pathname === "/setup") {
			s.sql.exec("CREATE TABLE parent(id INTEGER PRIMARY KEY)");
			s.sql.exec("CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
			s.sql.exec("CREATE TABLE runs(retry INTEGER)");
			await s.setAlarm(Date.now());
			return new Response("set up");
		}
		await new Promise(resolve => setTimeout(resolve, 20));
		return new Response(JSON.stringify([s.sql.exec("SELECT retry FROM runs").toArray(), await s.getAlarm()]));
	}
	async alarm(info) {
		const sql = this.ctx.storage.sql;
		sql.exec("INSERT INTO runs VALUES (?)", info.retryCount);
		if (info.retryCount === 0) sql.exec("INSERT INTO child VALUES (42)"); // COMMIT fails
	}
}
return { default: { async fetch(request, env) {
	const r = await env.OBJ.getByName("x").fetch("http://x" + new URL(request.url).pathname);
	return new Response(await r.text());
} }, Obj };`))
	if _, body, _ := get(t, srv.URL+"/setup"); body != "set up" {
		t.Fatalf("setup: %q", body)
	}
	// The first run's row was rolled back with its commit; the retry's stays.
	for i := 0; ; i++ {
		_, body, _ := get(t, srv.URL+"/state")
		if body == `[[{"retry":1}],null]` {
			break
		}
		if body != `[[],null]` && !strings.HasPrefix(body, `[[],`) || i > 2000 {
			t.Fatalf("state %s", body)
		}
	}
}

func TestAlarmSetBeforeRestartFiresAfterIt(t *testing.T) {
	dir := t.TempDir()
	h := startStorage(t, dir, time.Minute)
	// Far enough ahead that it cannot fire before the "restart".
	h.in(t, "EVAL", "restart", `await storage.setAlarm(Date.now() + 300); return 0`)
	h.close()
	h2 := startStorage(t, dir, time.Minute)
	for i := 0; ; i++ {
		got := h2.in(t, "EVAL", "restart", `await new Promise(r => setTimeout(r, 10)); return (await storage.get("alarm-ran")) ? "ran" : "waiting"`)
		if got == `"ran"` {
			break
		}
		if got != `"waiting"` || i > 2000 {
			t.Fatalf("got %s", got)
		}
	}
}

func TestAlarmRetries(t *testing.T) {
	h := startStorage(t, t.TempDir(), time.Minute)
	// Case 165: a throwing handler is retried with retryCount and isRetry.
	// The first retry waits 2-2.5 s, the second 4-5 s (the platform's backoff).
	h.in(t, "FLAKY", "r", `await storage.setAlarm(Date.now()); return 0`)
	for i := 0; ; i++ {
		got := h.in(t, "FLAKY", "r", `await new Promise(r => setTimeout(r, 20)); return [await storage.get("attempts"), await storage.get("seen"), await storage.getAlarm()]`)
		if got == `[3,[[0,false],[1,true],[2,true]],null]` {
			break
		}
		if i > 2000 {
			t.Fatalf("got %s", got)
		}
	}
}

// The output gate holds an object's outgoing request until the write made
// before it is durable.
func TestOutputGateHoldsOutgoingFetch(t *testing.T) {
	var released atomic.Bool
	arrivedEarly := make(chan bool, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrivedEarly <- !released.Load():
		default:
		}
		_, _ = io.WriteString(w, "upstream")
	}))
	defer upstream.Close()
	h := startStorage(t, t.TempDir(), time.Minute)
	hold := make(chan struct{})
	h.reg.beforeDurable = func() { <-hold }
	done := make(chan string, 1)
	go func() {
		done <- h.in(t, "EVAL", "out", `storage.put("k", 1); return await (await fetch(`+"`"+`${"`+upstream.URL+`"}/`+"`"+`)).text()`)
	}()
	// Let the object run up to the gate: a second request to another object
	// makes a full round trip through the same Worker meanwhile.
	h.in(t, "EVAL", "other", `return 1`)
	released.Store(true)
	close(hold)
	if got := <-done; got != `"upstream"` {
		t.Fatalf("got %s", got)
	}
	if early := <-arrivedEarly; early {
		t.Fatal("the object's request reached the network before its write was durable")
	}
}
