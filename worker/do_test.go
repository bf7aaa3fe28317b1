package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/js/webapi"
)

// doScript is a module with Durable Object classes and an eval entry point
// like evalWorker's.
const doClasses = `
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Counter extends DurableObject {
	constructor(ctx, env) {
		super(ctx, env);
		this.count = 0;
		this.made = Math.random();
	}
	increment(by = 1) { return this.count += by; }
	next() { return this.count++; }
	thisCheck() { return this instanceof Counter; }
	made_() { return this.made; }
	async slowAdd(a, b) { await null; return a + b; }
	fail() { throw new RangeError("ACTOR METHOD THREW"); }
	nonFunction = 42;
	whoami() { return [this.ctx.id.toString(), String(this.ctx.id.name), this.ctx.id.constructor.name]; }
	breakMe(reason) { this.ctx.abort(reason); }
	async fetch(request) {
		const url = new URL(request.url);
		if (url.pathname === "/moved") return Response.redirect(new URL("/target", url).href, 302);
		if (url.pathname === "/see-other") return new Response(null, {status: 303, headers: {location: "/target?from=303"}});
		if (url.pathname === "/temp") return new Response(null, {status: 307, headers: {location: "/target"}});
		if (url.pathname === "/loop") return Response.redirect(url.href, 301);
		return new Response(request.method + " " + url.pathname + " " + (await request.text()) + " " + this.count, {headers: {"x-from": "object"}});
	}
}
const { RpcTarget } = globalThis[Symbol.for("kiln.host")];
class Tally extends RpcTarget {
	n = 0;
	add(k) { return this.n += k; }
}
class NonRpcClass { constructor() { this.x = 1; } }
class Callbacks extends DurableObject {
	async twice(fn) { return await fn(21) + await fn(1); }
	tally() { return new Tally(); }
	plain() { return new NonRpcClass(); }
	echo(v) { return v; }
}
class Gate extends DurableObject {
	constructor(ctx, env) {
		super(ctx, env);
		this.log = [];
		ctx.blockConcurrencyWhile(async () => {
			this.log.push(1);
			await new Promise(r => setTimeout(r, 5));
			this.log.push(2);
		});
	}
	read() { this.log.push(3); return this.log; }
}
`

// evalHandler is evalWorker's default export.
const evalHandler = `{ async fetch(request, env) {
	const code = await request.text();
	try {
		const value = await (new Function("env", "return (async () => {" + code + "})()"))(env);
		return new Response(JSON.stringify(value === undefined ? null : value));
	} catch (e) {
		return new Response(e.name + ": " + e.message, { status: 500 });
	}
} }`

func startDO(t *testing.T, idle time.Duration) (*kvHarness, *Registry) {
	t.Helper()
	reg := NewRegistry(t.TempDir(), idle)
	w, err := New(context.Background(), Spec{
		Name:     "test",
		Script:   module(doClasses + "\nreturn { default: " + evalHandler + ", Counter, Gate, Callbacks };"),
		Runtimes: 2, Registry: reg,
		Classes:        []DOClass{{Name: "Counter", SQL: true}, {Name: "Gate", SQL: true}, {Name: "Callbacks", SQL: true}},
		DurableObjects: []DOBinding{{Name: "COUNTER", ClassName: "Counter"}, {Name: "GATE", ClassName: "Gate"}, {Name: "CB", ClassName: "Callbacks"}},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() { srv.Close(); w.Close() })
	return &kvHarness{url: srv.URL}, reg
}

func TestDORPC(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Case 197.
	h.expect(t, `const s = env.COUNTER.getByName("a"); return [await s.increment(5), await s.increment(2), await s.increment(8), await s.thisCheck()]`, `[5,7,15,true]`)
	// The same name reaches the same object, through a new stub.
	h.expect(t, `return await env.COUNTER.get(env.COUNTER.idFromName("a")).increment(0)`, `15`)
	// Case 142 and 204: unawaited calls are applied in call order.
	h.expect(t, `const s = env.COUNTER.getByName("order"); const ps = [s.next(), s.next(), s.next()]; return await Promise.all(ps)`, `[0,1,2]`)
	h.expect(t, `const s = env.COUNTER.getByName("order2"); await s.increment(9); return await Promise.all([s.increment(6), s.increment(4), s.increment(3)])`, `[15,19,22]`)
	// Promises in the object resolve before the reply.
	h.expect(t, `return await env.COUNTER.getByName("x").slowAdd(2, 3)`, `5`)
	// Property reads are awaitable.
	h.expect(t, `return await env.COUNTER.getByName("x").nonFunction`, `42`)
}

func TestDORPCErrors(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Case 199.
	h.expect(t, `const s = env.COUNTER.getByName("e");
		try { await s.fail(); } catch (e) { return [e.name, e.message, e.remote, e.durableObjectId === s.id.toString(), e instanceof RangeError]; }`,
		`["RangeError","ACTOR METHOD THREW",true,true,true]`)
	// Case 200.
	h.expect(t, `try { await env.COUNTER.getByName("e").alarm(); } catch (e) { return e.message }`, `"'alarm' is a reserved method and cannot be called over RPC."`)
	h.expect(t, `try { await env.COUNTER.getByName("e").hasOwnProperty("x"); } catch (e) { return e.message }`, `"The RPC receiver does not implement the method \"hasOwnProperty\"."`)
	h.expect(t, `try { await env.COUNTER.getByName("e").nonFunction(); } catch (e) { return e.message }`, `"\"nonFunction\" is not a function."`)
	h.expect(t, `try { await env.COUNTER.getByName("e").missing(); } catch (e) { return e.message }`, `"The RPC receiver does not implement the method \"missing\"."`)
}

func TestDOFetch(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	h.expect(t, `const s = env.COUNTER.getByName("f"); await s.increment(3);
		const r = await s.fetch("http://do/path", {method: "POST", body: "payload"});
		return [r.status, await r.text(), r.headers.get("x-from")]`, `[200,"POST /path payload 3","object"]`)
	h.expect(t, `const r = await env.COUNTER.getByName("f").fetch(new Request("https://any.host/q?x=1")); return await r.text()`, `"GET /q  3"`)
}

// A stub's fetch is one method shared by all stubs, as on workerd's stub
// prototype: it serves the stub it is called on, and a detached call is an
// illegal invocation.
func TestDOStubFetchIsAMethod(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	h.expect(t, `const a = env.COUNTER.getByName("m1"), b = env.COUNTER.getByName("m2");
		await a.increment(1); await b.increment(2);
		const viaB = await a.fetch.call(b, "http://do/x");
		let detached; const f = a.fetch; try { await f("http://do/x"); } catch (e) { detached = e.name + ": " + e.message.split(".")[0] }
		let other; try { await a.fetch.call({}, "http://do/x"); } catch (e) { other = e.message }
		return [a.fetch === b.fetch, "fetch" in a, await viaB.text(), detached, other]`,
		`[true,true,"GET /x  2","TypeError: Illegal invocation: function called with incorrect `+"`this`"+` reference",`+strconv.Quote(webapi.IllegalInvocation)+`]`)
}

func TestDOFetchFollowsRedirects(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	h.expect(t, `const s = env.COUNTER.getByName("r");
		const a = await s.fetch("http://do/moved");
		const b = await s.fetch("http://do/see-other", {method: "POST", body: "dropped"});
		const c = await s.fetch("http://do/temp", {method: "PUT", body: "kept"});
		const m = await s.fetch("http://do/moved", {redirect: "manual"});
		let loop; try { await s.fetch("http://do/loop"); } catch (e) { loop = e.message }
		return [await a.text(), await b.text(), await c.text(), m.status, m.headers.get("location"), loop]`,
		`["GET /target  0","GET /target  0","PUT /target kept 0",302,"http://do/target","Too many redirects."]`)
}

func TestDOIDs(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Cases 67, 68, 69, 71, 73.
	h.expect(t, `const a = env.COUNTER.idFromName("foo"); const b = env.COUNTER.idFromString(a.toString());
		const u1 = env.COUNTER.newUniqueId(), u2 = env.COUNTER.newUniqueId();
		return [a.name, b.name === undefined, a.equals(b), b.toString() === a.toString(), u1.equals(u2), /^[0-9a-f]{64}$/.test(u1.toString()),
			env.COUNTER.idFromName("foo").toString() === a.toString(), env.GATE.idFromName("foo").toString() === a.toString()]`,
		`["foo",true,true,true,false,true,true,false]`)
	h.expect(t, `const s = env.COUNTER.getByName("named"); return [s.name, ...(await s.whoami()).slice(1)]`, `["named","named","DurableObjectId"]`)
	h.expect(t, `const id = env.COUNTER.newUniqueId(); const s = env.COUNTER.get(id); const w = await s.whoami(); return [s.name === undefined, w[0] === id.toString(), w[1]]`,
		`[true,true,"undefined"]`)
	// Case 72: long names are not kept.
	h.expect(t, `const s = env.COUNTER.getByName("a".repeat(1025)); return (await s.whoami())[1]`, `"undefined"`)
	// Case 65/66 through the binding.
	h.expect(t, `try { env.COUNTER.idFromString("goodbye") } catch (e) { return e.name + ": " + e.message }`, `"TypeError: Invalid Durable Object ID: must be 64 hex digits"`)
	h.expect(t, `try { env.COUNTER.idFromString("deadbeef".repeat(8)) } catch (e) { return e.message }`, `"Durable Object ID is not valid for this namespace."`)
	h.expect(t, `try { env.COUNTER.get(env.GATE.idFromName("x")) } catch (e) { return e.message }`, `"Durable Object ID is not valid for this namespace."`)
}

func TestDOBlockConcurrencyWhileInConstructor(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Case 146: the event waits for the constructor's critical section.
	h.expect(t, `return await env.GATE.getByName("g").read()`, `[1,2,3]`)
}

func TestDOAbortBreaksTheStub(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Cases 149 and 150.
	h.expect(t, `const s = env.COUNTER.getByName("ab"); const first = await s.increment(1);
		let err; try { await s.breakMe("test abort reason"); } catch (e) { err = [e.message, e.durableObjectReset]; }
		let again; try { await s.increment(1); again = "worked"; } catch (e) { again = e.message; }
		const fresh = await env.COUNTER.getByName("ab").increment(1);
		return [first, err, again, fresh]`,
		`[1,["test abort reason",true],"test abort reason",1]`)
}

func TestDOEvictionRerunsTheConstructor(t *testing.T) {
	h, _ := startDO(t, time.Millisecond)
	first := h.run(t, `return await env.COUNTER.getByName("ev").made_()`)
	// Each request is a round trip; the idle timer is 1 ms, so within a
	// bounded number of trips the object has been evicted and rebuilt.
	for i := 0; ; i++ {
		if got := h.run(t, `await new Promise(r => setTimeout(r, 2)); return await env.COUNTER.getByName("ev").made_()`); got != first {
			break
		}
		if i > 1000 {
			t.Fatal("the object was never evicted")
		}
	}
}

func TestDORPCCapabilities(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	// Functions passed as arguments are called back on the caller's runtime.
	h.expect(t, `let calls = 0; const r = await env.CB.getByName("c").twice((x) => { calls++; return x * 2; }); return [r, calls]`, `[44,2]`)
	// An RpcTarget returned by a method is a stub to the object's instance.
	h.expect(t, `const t = await env.CB.getByName("c").tally(); return [await t.add(2), await t.add(3)]`, `[2,5]`)
	// Case 201: other class instances cannot cross.
	h.expect(t, `try { await env.CB.getByName("c").plain(); } catch (e) { return e.message }`,
		`"Could not serialize object of type \"NonRpcClass\". This type does not support serialization."`)
	h.expect(t, `try { await env.CB.getByName("c").echo(new (class Local {})()); } catch (e) { return [e.name, e.message] }`,
		`["DataCloneError","Could not serialize object of type \"Local\". This type does not support serialization."]`)
	// Structured-clone values round trip.
	h.expect(t, `const v = await env.CB.getByName("c").echo({d: new Date(5), m: new Map([[1, "a"]]), b: 10n});
		return [v.d.getTime(), v.m.get(1), typeof v.b]`, `[5,"a","bigint"]`)
}

func TestDOJurisdictions(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	h.expect(t, `const eu = env.COUNTER.jurisdiction("eu");
		const a = env.COUNTER.idFromName("x"), b = eu.idFromName("x");
		const back = env.COUNTER.idFromString(b.toString());
		let foreign; try { eu.idFromString(a.toString()) } catch (e) { foreign = e.message }
		let wrong; try { eu.get(a) } catch (e) { wrong = e.message }
		await eu.get(b).increment(4);
		return [a.equals(b), back.jurisdiction, a.jurisdiction === undefined, foreign, wrong, await env.COUNTER.get(back).increment(0),
			env.COUNTER.newUniqueId({jurisdiction: "eu"}).jurisdiction]`,
		`[false,"eu",true,"Durable Object ID is not valid for this namespace.","Durable Object ID is not valid for this namespace.",4,"eu"]`)
}

// idFromName is cached per binding: a name maps to the same ID when cached,
// after the cache was emptied, and through a jurisdiction made from a
// binding that cached the name (which must not share its cache).
func TestDOIdFromNameCache(t *testing.T) {
	h, _ := startDO(t, time.Minute)
	h.expect(t, `const first = env.COUNTER.idFromName("n").toString();
		const again = env.COUNTER.idFromName("n").toString();
		for (let i = 0; i < 2500; i++) env.COUNTER.idFromName("other" + i);
		const later = env.COUNTER.idFromName("n").toString();
		const eu = env.COUNTER.jurisdiction("eu").idFromName("n").toString();
		const euAgain = env.COUNTER.jurisdiction("eu").idFromName("n").toString();
		const long = "L".repeat(5000), longID = env.COUNTER.idFromName(long).toString();
		return [first === again, first === later, eu !== first, eu === euAgain, first.length,
			longID === env.COUNTER.idFromName(long).toString(), longID !== first]`,
		`[true,true,true,true,64,true,true]`)
	// The same name gives the same object whichever way it was derived.
	h.expect(t, `await env.COUNTER.get(env.COUNTER.idFromName("n")).increment(3);
		for (let i = 0; i < 2500; i++) env.COUNTER.idFromName("more" + i);
		return await env.COUNTER.getByName("n").increment(0)`, `3`)
}

// A binding to another script's class keeps deriving the IDs of the class it
// resolves to now: when that script is redeployed with the class transferred
// from another key (another ID space), names cached before map anew.
func TestDOIdFromNameCacheFollowsRedeploy(t *testing.T) {
	reg := NewRegistry(t.TempDir(), time.Minute)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	server := func(key string) Spec {
		return Spec{Name: "srv", Script: module(doClasses + "\nreturn { default: " + evalHandler + ", Counter };"),
			Runtimes: 1, Registry: reg, Logger: logger,
			Classes: []DOClass{{Name: "Counter", SQL: true, Key: key}}}
	}
	first, err := New(context.Background(), server(""))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	client, err := New(context.Background(), Spec{Name: "client", Script: module("return { default: " + evalHandler + " };"),
		Runtimes: 1, Registry: reg, Logger: logger,
		DurableObjects: []DOBinding{{Name: "COUNTER", ClassName: "Counter", ScriptName: "srv"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	hs := httptest.NewServer(client)
	defer hs.Close()
	h := &kvHarness{url: hs.URL}
	before := durable.NewIDSpace("srv-Counter").FromName("n").String()
	h.expect(t, `return env.COUNTER.idFromName("n").toString()`, `"`+before+`"`)

	second, err := New(context.Background(), server("other-X"))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	after := durable.NewIDSpace("other-X").FromName("n").String()
	h.expect(t, `const id = env.COUNTER.idFromName("n");
		let back; try { back = env.COUNTER.idFromString(id.toString()).toString() } catch (e) { back = e.message }
		return [id.toString(), back === id.toString()]`, `["`+after+`",true]`)
}
