package webapi

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// newPreludeRuntime is newTestRuntime that also returns the internal object.
func newPreludeRuntime(t *testing.T) (*goja.Runtime, *goja.Object) {
	t.Helper()
	env := newTestEnv(t)
	return env.vm, env.apis.Internal
}

// runAsync runs body inside an async function and returns what it resolves
// to, as a string. goja drains microtasks when RunString returns, so any
// promise chain that does not wait for timers has settled by then.
func runAsync(t *testing.T, vm *goja.Runtime, body string) string {
	t.Helper()
	evalString(t, vm, `globalThis.__res = undefined; globalThis.__err = undefined; globalThis.__done = false;
(async () => {`+body+`
})().then((v) => { globalThis.__res = String(v); globalThis.__done = true; },
  (e) => { globalThis.__err = String(e && e.stack || e); globalThis.__done = true; });`)
	if !vm.Get("__done").ToBoolean() {
		t.Fatalf("async body did not settle:\n%s", body)
	}
	if e := vm.Get("__err"); !goja.IsUndefined(e) {
		t.Fatalf("async body threw: %v\n%s", e, body)
	}
	return vm.Get("__res").String()
}

func expect(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// recordReportedErrors makes internal.reportError push String(error) to
// globalThis.__reported.
func recordReportedErrors(t *testing.T, vm *goja.Runtime, internal *goja.Object) {
	t.Helper()
	evalString(t, vm, `globalThis.__reported = []`)
	if err := internal.Set("reportError", func(call goja.FunctionCall) goja.Value {
		arr := vm.Get("__reported").ToObject(vm)
		push, _ := goja.AssertFunction(arr.Get("push"))
		if _, err := push(arr, vm.ToValue(call.Argument(0).String())); err != nil {
			t.Fatal(err)
		}
		return goja.Undefined()
	}); err != nil {
		t.Fatal(err)
	}
}

func callInternal(t *testing.T, vm *goja.Runtime, internal *goja.Object, name string, args ...goja.Value) goja.Value {
	t.Helper()
	fn, ok := goja.AssertFunction(internal.Get(name))
	if !ok {
		t.Fatalf("internal.%s is not a function", name)
	}
	v, err := fn(goja.Undefined(), args...)
	if err != nil {
		t.Fatalf("internal.%s: %v", name, err)
	}
	return v
}

func newUint8Array(t *testing.T, vm *goja.Runtime, b []byte) goja.Value {
	t.Helper()
	o, err := vm.New(vm.Get("Uint8Array"), vm.ToValue(vm.NewArrayBuffer(append([]byte(nil), b...))))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// settled returns the state and value of a promise after the microtask
// queue has drained.
func settled(t *testing.T, v goja.Value) (goja.PromiseState, goja.Value) {
	t.Helper()
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		t.Fatalf("%v is not a promise", v)
	}
	return p.State(), p.Result()
}

// ---------------------------------------------------------------------------
// 10_polyfills.js

func TestPreludePolyfills(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `[
		Symbol.asyncIterator === Symbol.for("Symbol.asyncIterator"),
		typeof Symbol.dispose, typeof Symbol.asyncDispose,
		Object.keys(globalThis).includes("queueMicrotask"),
	].join()`), "true,symbol,symbol,false")
	expect(t, evalString(t, vm, `
		const g = Object.groupBy([1, 2, 3, 4, 5], (n) => (n % 2 ? "odd" : "even"));
		const m = Map.groupBy([-0, 0, 1], (n) => n);
		[String(Object.getPrototypeOf(g)), JSON.stringify(g), m.size, m.get(0).length].join("|")`),
		`null|{"odd":[1,3,5],"even":[2,4]}|2|2`)
	expect(t, evalString(t, vm, `
		["a\uD800", "a\uDC00b", "\uD83D\uDE00", "plain"].map((s) => s.isWellFormed() + ":" + encodeURIComponent(s.toWellFormed())).join(" ")`),
		"false:a%EF%BF%BD false:a%EF%BF%BDb true:%F0%9F%98%80 true:plain")
	expect(t, evalString(t, vm, `[navigator.userAgent, navigator.hardwareConcurrency, self === globalThis].join()`),
		"Cloudflare-Workers,1,true")
	expect(t, runAsync(t, vm, `
		const { promise, resolve } = Promise.withResolvers();
		resolve(7);
		const asyncIterable = { [Symbol.asyncIterator]() {
			let i = 0;
			return { next: () => Promise.resolve(i < 3 ? { value: i++, done: false } : { done: true }) };
		} };
		const a = await Array.fromAsync(asyncIterable, (x) => x * 10);
		const b = await Array.fromAsync([Promise.resolve(1), 2]);
		const c = await Array.fromAsync({ length: 2, 0: "x", 1: Promise.resolve("y") });
		let err;
		try { await Array.fromAsync([1], 5); } catch (e) { err = e.constructor.name; }
		return [await promise, a, b, c, err].join("|");`), "7|0,10,20|1,2|x,y|TypeError")
}

func TestPreludeQueueMicrotask(t *testing.T) {
	env := newTestEnv(t)
	vm := env.vm
	evalString(t, vm, `
		globalThis.log = [];
		queueMicrotask(() => log.push(1));
		Promise.resolve().then(() => log.push(2));
		queueMicrotask(() => { log.push(3); throw new Error("boom"); });
		Promise.resolve().then(() => log.push(4)).then(() => log.push(6));
		queueMicrotask(() => log.push(5));
		log.push(0);`)
	expect(t, evalString(t, vm, `log.join()`), "0,1,2,3,4,5,6")
	expect(t, evalString(t, vm, `try { queueMicrotask(5) } catch (e) { e instanceof TypeError }`), "true")
	evalString(t, vm, `reportError(new RangeError("direct"))`)
	// Both errors reach the loop through the internal.reportError hook Go installs.
	var got []string
	for _, err := range env.loop.reports {
		got = append(got, strings.SplitN(err.Error(), "\n", 2)[0])
	}
	expect(t, strings.Join(got, ","), "Error: boom,RangeError: direct")
}

func TestPreludeQueueMicrotaskUnreportedBecomesRejection(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	if err := internal.Delete("reportError"); err != nil {
		t.Fatal(err)
	}
	var rejected []string
	vm.SetPromiseRejectionTracker(func(p *goja.Promise, op goja.PromiseRejectionOperation) {
		if op == goja.PromiseRejectionReject {
			rejected = append(rejected, p.Result().String())
		}
	})
	evalString(t, vm, `queueMicrotask(() => { throw new Error("lost?") })`)
	if len(rejected) != 1 || rejected[0] != "Error: lost?" {
		t.Fatalf("rejections: %q", rejected)
	}
}

// ---------------------------------------------------------------------------
// 20_events.js

func TestPreludeEventDispatchOrder(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const t = new EventTarget(), log = [];
		const a = (e) => log.push("a:" + e.eventPhase + ":" + (e.target === t) + ":" + (e.currentTarget === t));
		t.addEventListener("x", a);
		t.addEventListener("x", a); // duplicate, ignored
		t.addEventListener("x", () => log.push("cap"), { capture: true });
		t.addEventListener("x", function () { log.push("b:" + (this === t)); });
		t.addEventListener("x", { handleEvent(e) { log.push("obj:" + (this.tag) + ":" + e.type); }, tag: "T" });
		t.addEventListener("y", () => log.push("other"));
		const ev = new Event("x");
		const r = t.dispatchEvent(ev);
		[log.join(" "), r, ev.eventPhase, String(ev.currentTarget), ev.target === t, ev.isTrusted].join("|")`),
		"cap a:2:true:true b:true obj:T:x|true|0|null|true|false")
}

func TestPreludeEventOnceRemoveAndSignal(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const t = new EventTarget(), log = [];
		t.addEventListener("x", () => log.push("once"), { once: true });
		const ac = new AbortController();
		t.addEventListener("x", () => log.push("sig"), { signal: ac.signal });
		const r = () => log.push("removed");
		t.addEventListener("x", r, true);
		t.removeEventListener("x", r); // wrong capture flag: not removed
		t.dispatchEvent(new Event("x"));
		t.removeEventListener("x", r, { capture: true });
		ac.abort();
		t.dispatchEvent(new Event("x"));
		t.addEventListener("x", () => log.push("late"), { signal: ac.signal }); // already aborted
		t.dispatchEvent(new Event("x"));
		log.join(" ")`), "removed once sig")
}

func TestPreludeEventCancelStopAndErrors(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	recordReportedErrors(t, vm, internal)
	expect(t, evalString(t, vm, `
		const t = new EventTarget(), log = [];
		t.addEventListener("x", (e) => { e.preventDefault(); throw new Error("listener failed"); });
		t.addEventListener("x", (e) => { log.push("second:" + e.defaultPrevented); e.stopImmediatePropagation(); });
		t.addEventListener("x", () => log.push("third"));
		const cancelable = t.dispatchEvent(new Event("x", { cancelable: true }));
		const plain = t.dispatchEvent(new Event("x"));
		const p = new EventTarget();
		p.addEventListener("x", (e) => e.preventDefault(), { passive: true });
		const passive = p.dispatchEvent(new Event("x", { cancelable: true }));
		[log.join(" "), cancelable, plain, passive, __reported.length, __reported[0]].join("|")`),
		"second:true second:false|false|true|true|2|Error: listener failed")
	expect(t, evalString(t, vm, `
		const t2 = new EventTarget();
		let inner;
		t2.addEventListener("x", (e) => { try { t2.dispatchEvent(e); } catch (err) { inner = err.name; } });
		t2.dispatchEvent(new Event("x"));
		let notEvent;
		try { t2.dispatchEvent({ type: "x" }); } catch (err) { notEvent = err instanceof TypeError; }
		[inner, notEvent].join()`), "InvalidStateError,true")
}

func TestPreludeEventSubclasses(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const c = new CustomEvent("c", { detail: { n: 1 } });
		const ce = new CloseEvent("close", { code: 1000, reason: "bye", wasClean: true });
		const ee = new ErrorEvent("error", { message: "m", error: 42, lineno: 3 });
		const me = new MessageEvent("message", { data: "d" });
		[c.detail.n, c instanceof Event, new CustomEvent("z").detail,
		 ce.code, ce.reason, ce.wasClean, new CloseEvent("close").code,
		 ee.message, ee.error, ee.lineno, ee.filename === "",
		 me.data, me.origin === "", me.ports.length, new MessageEvent("m").data,
		 Object.prototype.toString.call(ce), String(new Event("e").bubbles)].join("|")`),
		"1|true||1000|bye|true|0|m|42|3|true|d|true|0||[object CloseEvent]|false")
	expect(t, evalString(t, vm, `try { new Event() } catch (e) { e instanceof TypeError }`), "true")
}

// ---------------------------------------------------------------------------
// 30_abort.js

func TestPreludeAbortController(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const ac = new AbortController(), s = ac.signal, log = [];
		s.onabort = (e) => log.push("onabort:" + e.type);
		s.addEventListener("abort", () => log.push("listener:" + s.aborted));
		const before = s.aborted;
		ac.abort();
		ac.abort("again"); // no second event, reason unchanged
		let thrown;
		try { s.throwIfAborted(); } catch (e) { thrown = e; }
		[before, s.aborted, s.reason instanceof DOMException, s.reason.name, s.reason.message, s.reason.code,
		 thrown === s.reason, log.join(" ")].join("|")`),
		"false|true|true|AbortError|This operation was aborted|20|true|onabort:abort listener:true")
	expect(t, evalString(t, vm, `
		const r = { why: 1 };
		const s2 = AbortSignal.abort(r);
		let illegal;
		try { new AbortSignal(); } catch (e) { illegal = e instanceof TypeError && e.message; }
		const ac2 = new AbortController();
		ac2.signal.throwIfAborted();
		ac2.abort(undefined);
		[s2.aborted, s2.reason === r, illegal, ac2.signal.reason.name, s2 instanceof EventTarget].join("|")`),
		"true|true|Illegal constructor|AbortError|true")
}

func TestPreludeAbortSignalAny(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const a = new AbortController(), b = new AbortController(), log = [];
		const any = AbortSignal.any([a.signal, b.signal]);
		const anyOfAny = AbortSignal.any([any]);
		any.addEventListener("abort", () => log.push("any"));
		anyOfAny.addEventListener("abort", () => log.push("anyOfAny"));
		const pre = AbortSignal.any([AbortSignal.abort("early"), a.signal]);
		const before = any.aborted;
		b.abort("b-reason");
		a.abort("a-reason");
		[before, any.aborted, any.reason, anyOfAny.reason, log.join(" "), pre.aborted, pre.reason,
		 AbortSignal.any([]).aborted].join("|")`),
		"false|true|b-reason|b-reason|any anyOfAny|true|early|false")
}

func TestPreludeAbortSignalTimeout(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `globalThis.setTimeout = undefined; try { AbortSignal.timeout(10) } catch (e) { e instanceof TypeError }`), "true")
	// setTimeout is looked up when timeout() is called, not when the prelude ran.
	expect(t, evalString(t, vm, `
		const timers = [];
		globalThis.setTimeout = (fn, ms) => { timers.push([fn, ms]); return 1; };
		const s = AbortSignal.timeout(25);
		const before = s.aborted;
		timers[0][0]();
		[before, timers[0][1], s.aborted, s.reason.name, s.reason.code].join("|")`),
		"false|25|true|TimeoutError|23")
}

// ---------------------------------------------------------------------------
// 40_streams.js

func TestPreludeStreamReadEnqueued(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const rs = new ReadableStream({ start(c) { c.enqueue("a"); c.enqueue("b"); c.close(); } });
		const reader = rs.getReader();
		const out = [rs.locked];
		for (let i = 0; i < 3; i++) { const { value, done } = await reader.read(); out.push(value + ":" + done); }
		await reader.closed;
		reader.releaseLock();
		out.push(rs.locked);
		return out.join(" ");`), "true a:false b:false undefined:true false")
}

func TestPreludeStreamPullAndBackpressure(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let pulls = 0, ctrl;
		const rs = new ReadableStream({
			start(c) { ctrl = c; },
			pull(c) { pulls++; c.enqueue(pulls); if (pulls === 5) c.close(); },
		}, { highWaterMark: 2 });
		await null; await null; await null;
		const filled = [pulls, ctrl.desiredSize];
		const reader = rs.getReader();
		const first = await reader.read();
		await null; await null;
		const afterRead = pulls;
		const rest = [];
		for (;;) { const r = await reader.read(); if (r.done) break; rest.push(r.value); }
		return [filled.join(","), first.value, afterRead, rest.join(","), pulls].join("|");`),
		"2,0|1|3|2,3,4,5|5")
	expect(t, runAsync(t, vm, `
		let pulls = 0;
		const rs = new ReadableStream({ pull(c) { pulls++; c.enqueue(new Uint8Array(4)); } },
			new ByteLengthQueuingStrategy({ highWaterMark: 10 }));
		await null; await null; await null; await null;
		const cq = new CountQueuingStrategy({ highWaterMark: 3 });
		return [pulls, cq.highWaterMark, cq.size(), new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size(new Uint8Array(7))].join();`),
		"3,3,1,7")
}

func TestPreludeStreamErrors(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let ctrl;
		const rs = new ReadableStream({ start(c) { ctrl = c; } });
		rs.getReader();
		const out = [];
		try { rs.getReader(); } catch (e) { out.push("locked:" + (e instanceof TypeError)); }
		try { await rs.cancel(); } catch (e) { out.push("cancel:" + (e instanceof TypeError)); }
		ctrl.close();
		try { ctrl.enqueue("x"); } catch (e) { out.push("enqueue:" + (e instanceof TypeError)); }

		const boom = new Error("boom");
		const bad = new ReadableStream({ start(c) { c.enqueue(1); c.error(boom); } });
		const r = bad.getReader();
		try { await r.read(); } catch (e) { out.push("read:" + (e === boom)); }
		try { await r.closed; } catch (e) { out.push("closed:" + (e === boom)); }
		const failingPull = new ReadableStream({ pull() { throw boom; } });
		try { await failingPull.getReader().read(); } catch (e) { out.push("pull:" + (e === boom)); }
		try { new ReadableStream({ type: "nope" }); } catch (e) { out.push("type:" + (e instanceof TypeError)); }
		try { new ReadableStream({}).getReader({ mode: "byob" }); } catch (e) { out.push("byob:" + (e instanceof TypeError)); }
		return out.join(" ");`),
		"locked:true cancel:true enqueue:true read:true closed:true pull:true type:true byob:true")
}

func TestPreludeStreamCancel(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let reason;
		const rs = new ReadableStream({ start(c) { c.enqueue(1); }, cancel(r) { reason = r; } });
		const reader = rs.getReader();
		const pending = reader.closed.then(() => "closed");
		await reader.cancel("stop");
		const after = await reader.read();
		return [reason, await pending, after.done].join();`), "stop,closed,true")
}

func TestPreludeStreamTee(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let n = 0;
		const rs = new ReadableStream({ pull(c) { if (n < 3) c.enqueue(++n); else c.close(); } });
		const [a, b] = rs.tee();
		const drain = async (s) => { const r = s.getReader(), out = []; for (;;) { const x = await r.read(); if (x.done) return out.join(""); out.push(x.value); } };
		const [ra, rb] = await Promise.all([drain(a), drain(b)]);
		return [rs.locked, ra, rb].join("|");`), "true|123|123")
	expect(t, runAsync(t, vm, `
		let reason;
		const rs = new ReadableStream({ cancel(r) { reason = r; } });
		const [a, b] = rs.tee();
		// A branch's cancel settles only once both branches are canceled.
		let firstDone = false;
		const first = a.cancel("x").then(() => { firstDone = true; });
		await null; await null;
		const before = [reason, firstDone].join();
		await b.cancel("y");
		await first;
		return [before, JSON.stringify(reason), firstDone].join("|");`), `,false|["x","y"]|true`)
}

func TestPreludeStreamPipeTo(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const written = [];
		let closed = false;
		const ws = new WritableStream({ write(chunk) { written.push(chunk); }, close() { closed = true; } });
		const rs = new ReadableStream({ start(c) { ["a", "b", "c"].forEach((x) => c.enqueue(x)); c.close(); } });
		await rs.pipeTo(ws);
		return [written.join(""), closed, rs.locked, ws.locked].join("|");`), "abc|true|false|false")
	expect(t, runAsync(t, vm, `
		let closed = false;
		const ws = new WritableStream({ close() { closed = true; } });
		await new ReadableStream({ start(c) { c.close(); } }).pipeTo(ws, { preventClose: true });
		const w = ws.getWriter();
		await w.write("still open");
		return closed;`), "false")
	expect(t, runAsync(t, vm, `
		let abortReason, cancelReason;
		const ac = new AbortController();
		const ws = new WritableStream({ abort(r) { abortReason = r; } });
		const rs = new ReadableStream({ cancel(r) { cancelReason = r; } });
		const p = rs.pipeTo(ws, { signal: ac.signal });
		ac.abort("stop!");
		let err;
		try { await p; } catch (e) { err = e; }
		const pre = [];
		const rs2 = new ReadableStream({ cancel(r) { pre.push("cancel:" + r); } });
		try { await rs2.pipeTo(new WritableStream(), { signal: AbortSignal.abort("early") }); } catch (e) { pre.push("rejected:" + e); }
		return [err, abortReason, cancelReason, pre.join(" "), rs2.locked].join();`), "stop!,stop!,stop!,cancel:early rejected:early,false")
	expect(t, runAsync(t, vm, `
		const boom = new Error("sink failed");
		let cancelReason;
		const ws = new WritableStream({ write() { throw boom; } });
		const rs = new ReadableStream({ start(c) { c.enqueue(1); }, cancel(r) { cancelReason = r; } });
		let err;
		try { await rs.pipeTo(ws); } catch (e) { err = e; }
		return [err === boom, cancelReason === boom].join();`), "true,true")
}

func TestPreludeStreamPipeThroughUppercase(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let flushed = false;
		const upper = new TransformStream({
			transform(chunk, c) { c.enqueue(chunk.toUpperCase()); },
			flush(c) { flushed = true; c.enqueue("!"); },
		});
		const rs = new ReadableStream({ start(c) { c.enqueue("hello "); c.enqueue("world"); c.close(); } });
		const reader = rs.pipeThrough(upper).getReader();
		let s = "";
		for (;;) { const { value, done } = await reader.read(); if (done) break; s += value; }
		return s + "|" + flushed;`), "HELLO WORLD!|true")
}

func TestPreludeStreamAsyncIterator(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		let canceled;
		const rs = new ReadableStream({
			start(c) { c.enqueue(1); c.enqueue(2); c.enqueue(3); },
			cancel(r) { canceled = "canceled:" + r; },
		});
		const it = rs[Symbol.asyncIterator]();
		const out = [it[Symbol.asyncIterator]() === it];
		out.push((await it.next()).value, (await it.next()).value);
		const ret = await it.return("enough");
		out.push(ret.done, ret.value, canceled, rs.locked, (await it.next()).done);

		const rs2 = new ReadableStream({ start(c) { c.enqueue("x"); c.close(); }, cancel() { out.push("bad"); } });
		const it2 = rs2.values({ preventCancel: true });
		const p1 = it2.next(), p2 = it2.next(), p3 = it2.next(); // queued calls
		out.push((await p1).value, (await p2).done, (await p3).done, rs2.locked);
		return out.join(" ");`), "true 1 2 true enough canceled:enough false true x true true false")
}

func TestPreludeStreamFrom(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const drain = async (s) => { const out = []; const it = s.values(); for (;;) { const r = await it.next(); if (r.done) return out.join(","); out.push(r.value); } };
		const a = await drain(ReadableStream.from(["a", Promise.resolve("b")]));
		function* gen() { yield 1; yield 2; }
		const b = await drain(ReadableStream.from(gen()));
		const c = await drain(ReadableStream.from(ReadableStream.from([7, 8])));
		let err;
		try { ReadableStream.from(5); } catch (e) { err = e instanceof TypeError; }
		return [a, b, c, err].join("|");`), "a,b|1,2|7,8|true")
}

func TestPreludeStreamBYOB(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	// Bytes enqueued by the source fill the caller's views.
	expect(t, runAsync(t, vm, `
		const rs = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.close(); } });
		const reader = rs.getReader({ mode: "byob" });
		const out = [reader instanceof ReadableStreamBYOBReader];
		let r = await reader.read(new Uint8Array(3));
		out.push(r.value.join(","), r.done);
		r = await reader.read(new Uint8Array(3));
		out.push(r.value.join(","), r.done);
		r = await reader.read(new Uint8Array(3));
		out.push(r.value.length, r.done);
		return out.join(" ");`), "true 1,2,3 false 4,5 false 0 true")
	// A source that writes into byobRequest.view; Uint16Array views need whole elements.
	expect(t, runAsync(t, vm, `
		let n = 0;
		const rs = new ReadableStream({
			type: "bytes",
			pull(c) {
				const req = c.byobRequest;
				if (n >= 3) { c.close(); req.respond(0); return; }
				req.view[0] = 10 + n++;
				req.respond(1);
			},
		});
		const reader = rs.getReader({ mode: "byob" });
		const first = await reader.read(new Uint16Array(1));
		const bytes = new Uint8Array(first.value.buffer, first.value.byteOffset, 2);
		const second = await reader.read(new Uint8Array(4));
		const last = await reader.read(new Uint8Array(4));
		return [first.value.constructor.name, bytes.join(","), second.value.join(","), last.done].join(" ");`),
		"Uint16Array 10,11 12 true")
	// Bytes that do not fill a whole element stay queued for the next read.
	expect(t, runAsync(t, vm, `
		const rs = new ReadableStream({
			type: "bytes",
			pull(c) { c.byobRequest.view.set([1, 2, 3]); c.byobRequest.respond(3); },
		});
		const reader = rs.getReader({ mode: "byob" });
		const a = await reader.read(new Uint16Array(2));
		const b = await reader.read(new Uint8Array(1));
		return [a.value.length, new Uint8Array(a.value.buffer, 0, 2).join(","), b.value.join(",")].join("|");`), "1|1,2|3")
	// Queued bytes are not handed out until the read's minimum is met.
	expect(t, runAsync(t, vm, `
		let next = 2;
		const rs = new ReadableStream({
			type: "bytes",
			start(c) { c.enqueue(new Uint8Array([1])); },
			pull(c) { c.enqueue(new Uint8Array([next++])); },
		});
		const reader = rs.getReader({ mode: "byob" });
		const a = await reader.read(new Uint8Array(8), { min: 3 });
		const b = await reader.read(new Uint16Array(2));
		const c = await reader.readAtLeast(2, new Uint8Array(5));
		return [a.value.join(","), new Uint8Array(b.value.buffer, b.value.byteOffset, b.value.byteLength).join(","),
			c.value.length >= 2].join("|");`), "1,2,3|4,5|true")
	// Default reads on a byte stream with autoAllocateChunkSize go through byobRequest too.
	expect(t, runAsync(t, vm, `
		const rs = new ReadableStream({
			type: "bytes", autoAllocateChunkSize: 8,
			pull(c) { const v = c.byobRequest.view; v[0] = v.length; c.byobRequest.respond(1); },
		});
		const { value } = await rs.getReader().read();
		return value.constructor.name + ":" + value.join(",");`), "Uint8Array:8")
}

func TestPreludeWritableStream(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const log = [];
		let release;
		const ws = new WritableStream({
			write(chunk) { log.push("write:" + chunk); return new Promise((r) => (release = r)); },
			close() { log.push("close"); },
		}, { highWaterMark: 2 });
		const w = ws.getWriter();
		let ready = 0;
		const watchReady = () => w.ready.then(() => ready++);
		await watchReady();
		const sizes = [w.desiredSize];
		const p1 = w.write("a");
		const p2 = w.write("b");
		sizes.push(w.desiredSize);
		watchReady(); // backpressure: pending until a write finishes
		await null; await null;
		sizes.push(ready);
		release(); await p1;
		await null;
		sizes.push(ready);
		release(); await p2;
		sizes.push(w.desiredSize);
		await w.close();
		await w.closed;
		let late;
		try { await w.write("c"); } catch (e) { late = e instanceof TypeError; }
		return [sizes.join(","), log.join(" "), late].join("|");`), "2,0,1,2,2|write:a write:b close|true")
	expect(t, runAsync(t, vm, `
		const boom = new Error("boom");
		const ws = new WritableStream({ write() { throw boom; } });
		const w = ws.getWriter();
		const out = [];
		try { await w.write(1); } catch (e) { out.push(e === boom); }
		try { await w.closed; } catch (e) { out.push(e === boom); }
		let abortReason, sawSignal;
		const ws2 = new WritableStream({ write(c, ctrl) { sawSignal = ctrl.signal; }, abort(r) { abortReason = r; } });
		const w2 = ws2.getWriter();
		await w2.write(1);
		await w2.abort("nope");
		out.push(abortReason, sawSignal.aborted, sawSignal.reason);
		try { await w2.ready; } catch (e) { out.push("ready:" + e); }
		w2.releaseLock();
		try { new WritableStream().getWriter().releaseLock(); out.push("ok"); } catch (e) { out.push(e); }
		return out.join(" ");`), "true true nope true nope ready:nope ok")
}

func TestPreludeTransformStreamTerminateAndError(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const ts = new TransformStream({
			transform(chunk, c) { c.enqueue(chunk); if (chunk === "stop") c.terminate(); },
		});
		const w = ts.writable.getWriter(), r = ts.readable.getReader();
		w.write("go"); w.write("stop");
		const out = [(await r.read()).value, (await r.read()).value, (await r.read()).done];
		try { await w.write("more"); } catch (e) { out.push(e instanceof TypeError); }
		const boom = new Error("t");
		const ts2 = new TransformStream({ transform() { throw boom; } });
		const w2 = ts2.writable.getWriter();
		// Writes wait for backpressure to lift, i.e. for a read.
		const read = ts2.readable.getReader().read();
		try { await w2.write(1); } catch (e) { out.push(e === boom); }
		try { await read; } catch (e) { out.push(e === boom); }
		return out.join(" ");`), "go stop true true true true")
}

func TestPreludeIdentityTransformStream(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const { readable, writable } = new IdentityTransformStream();
		const w = writable.getWriter();
		const reader = readable.getReader();
		const src = new Uint8Array([1, 2, 3]);
		const firstRead = reader.read();
		await w.write(src);
		src[0] = 99; // allowed once the write settled: the readable side has its own copy
		const first = await firstRead;
		reader.releaseLock();
		const byob = readable.getReader({ mode: "byob" });
		w.write(new Uint8Array([4, 5, 6]).buffer);
		w.close();
		const a = await byob.read(new Uint8Array(2));
		const b = await byob.read(new Uint8Array(8));
		const d = await byob.read(new Uint8Array(8));
		const bad = new IdentityTransformStream();
		const badRead = bad.readable.getReader().read();
		let err;
		try { await bad.writable.getWriter().write("text"); } catch (e) { err = e instanceof TypeError; }
		try { await badRead; } catch (e) { err = err && e instanceof TypeError; }
		return [first.value.join(","), a.value.join(","), b.value.join(","), d.done, err].join("|");`),
		"1,2,3|4,5|6|true|true")
}

func TestPreludeEncodingStreams(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	script := `
		const drain = async (s) => { const r = s.getReader(), out = []; for (;;) { const x = await r.read(); if (x.done) return out; out.push(x.value); } };
		const enc = new TextEncoderStream();
		const ew = enc.writable.getWriter();
		ew.write("h\u00e9\uD83D"); ew.write("\uDE00!"); ew.close();
		const bytes = (await drain(enc.readable)).map((u) => Array.from(u).join(",")).join(" / ");
		const dec = new TextDecoderStream();
		const dw = dec.writable.getWriter();
		dw.write(new Uint8Array([0x68, 0xc3])); dw.write(new Uint8Array([0xa9, 0xf0, 0x9f])); dw.write(new Uint8Array([0x98, 0x80])); dw.close();
		const text = (await drain(dec.readable)).join("+");
		const bad = new TextDecoderStream();
		const badRead = bad.readable.getReader().read();
		let err = [];
		try { await bad.writable.getWriter().write("not bytes"); } catch (e) { err.push(e instanceof TypeError); }
		try { await badRead; } catch (e) { err.push(e instanceof TypeError); }
		return [enc.encoding, bytes, encodeURIComponent(text), dec.encoding, err.join()].join("|");`
	want := "utf-8|104,195,169 / 240,159,152,128,33|h%2B%C3%A9%2B%F0%9F%98%80|utf-8|true,true"
	t.Run("global codecs", func(t *testing.T) {
		if goja.IsUndefined(vm.Get("TextEncoder")) || goja.IsUndefined(vm.Get("TextDecoder")) {
			t.Skip("TextEncoder/TextDecoder not installed yet")
		}
		expect(t, runAsync(t, vm, script), want)
	})
	t.Run("fallback codec", func(t *testing.T) {
		vm, _ := newPreludeRuntime(t)
		evalString(t, vm, `globalThis.TextEncoder = undefined; globalThis.TextDecoder = undefined;`) // not configurable, so not deleted
		expect(t, runAsync(t, vm, script), want)
	})
}

func TestPreludeInternalStreamHooks(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	chunks := [][]byte{[]byte("hel"), {}, []byte("lo "), []byte("world")}
	pulls, canceled := 0, ""
	pull := vm.ToValue(func(goja.FunctionCall) goja.Value {
		p, resolve, _ := vm.NewPromise()
		if pulls < len(chunks) {
			_ = resolve(newUint8Array(t, vm, chunks[pulls]))
		} else {
			_ = resolve(goja.Null())
		}
		pulls++
		return vm.ToValue(p)
	})
	cancel := vm.ToValue(func(call goja.FunctionCall) goja.Value {
		canceled = call.Argument(0).String()
		return goja.Undefined()
	})
	stream := callInternal(t, vm, internal, "newReadableStreamFromPull", pull, cancel)
	if !callInternal(t, vm, internal, "isReadableStream", stream).ToBoolean() ||
		callInternal(t, vm, internal, "isReadableStream", vm.NewObject()).ToBoolean() {
		t.Fatal("isReadableStream is wrong")
	}
	if pulls != 0 {
		t.Fatalf("pulled %d times before anyone read", pulls)
	}
	if callInternal(t, vm, internal, "isDisturbed", stream).ToBoolean() {
		t.Fatal("a fresh stream is disturbed")
	}
	state, result := settled(t, callInternal(t, vm, internal, "readAll", stream))
	if !callInternal(t, vm, internal, "isDisturbed", stream).ToBoolean() {
		t.Fatal("a stream read by readAll is not disturbed")
	}
	if state != goja.PromiseStateFulfilled {
		t.Fatalf("readAll: %v %v", state, result)
	}
	if got := string(result.Export().([]byte)); got != "hello world" {
		t.Fatalf("readAll = %q", got)
	}

	// A BYOB reader works on the Go-backed stream, and cancel reaches Go.
	pulls = 0
	_ = vm.Set("goStream", callInternal(t, vm, internal, "newReadableStreamFromPull", pull, cancel))
	expect(t, runAsync(t, vm, `
		const r = goStream.getReader({ mode: "byob" });
		const a = await r.read(new Uint8Array(2));
		const b = await r.read(new Uint8Array(10));
		await r.cancel("client went away");
		return a.value.join(",") + "|" + b.value.join(",");`), "104,101|108")
	expect(t, canceled, "client went away")

	// Empty chunks from Go are skipped, never enqueued.
	pulls = 0
	_ = vm.Set("goStream2", callInternal(t, vm, internal, "newReadableStreamFromPull", pull, cancel))
	expect(t, runAsync(t, vm, `
		const r = goStream2.getReader(), sizes = [];
		for (;;) { const { value, done } = await r.read(); if (done) break; sizes.push(value.byteLength); }
		return sizes.join(",");`), "3,3,5")

	// Chunks of another type make readAll reject with the workerd message.
	v, err := vm.RunString(`new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.enqueue("text"); c.close(); } })`)
	if err != nil {
		t.Fatal(err)
	}
	state, result = settled(t, callInternal(t, vm, internal, "readAll", v))
	if state != goja.PromiseStateRejected || !strings.Contains(result.String(), "TypeError: This ReadableStream did not return bytes.") {
		t.Fatalf("readAll of strings: %v %v", state, result)
	}
	// Mixed BufferSource chunks are concatenated.
	v, _ = vm.RunString(`new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1, 2])); c.enqueue(new Uint16Array([0x0403]).buffer); c.enqueue(new DataView(new Uint8Array([9, 5, 9]).buffer, 1, 1)); c.close(); } })`)
	_, result = settled(t, callInternal(t, vm, internal, "readAll", v))
	if got := result.Export().([]byte); string(got) != "\x01\x02\x03\x04\x05" {
		t.Fatalf("readAll mixed = %v", got)
	}
	// A locked stream is rejected, not read.
	v, _ = vm.RunString(`const locked = new ReadableStream(); locked.getReader(); locked`)
	if state, _ = settled(t, callInternal(t, vm, internal, "readAll", v)); state != goja.PromiseStateRejected {
		t.Fatal("readAll of a locked stream did not reject")
	}
}

// ---------------------------------------------------------------------------
// 50_blob.js

func TestPreludeBlob(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const inner = new Blob(["in"]);
		const view = new DataView(new Uint8Array([0, 0x41, 0x42, 0]).buffer, 1, 2);
		const b = new Blob(["h\u00e9 ", new Uint8Array([0x78, 0x79]), new Uint8Array([0x2d]).buffer, view, inner, 7],
			{ type: "Text/Plain;Charset=UTF-8" });
		const ab = await b.arrayBuffer();
		const bytes = await b.bytes();
		return [b.size, b.type, await b.text(), ab instanceof ArrayBuffer, ab.byteLength, bytes.constructor.name, bytes[0],
			new Blob([], { type: "caf\u00e9" }).type === "", new Blob().size,
			Object.prototype.toString.call(b)].join("|");`),
		"12|text/plain;charset=utf-8|hé xy-ABin7|true|12|Uint8Array|104|true|0|[object Blob]")
	expect(t, runAsync(t, vm, `
		const b = new Blob(["0123456789"]);
		const s = b.slice(-4, -1, "X/Y");
		const t = [await s.text(), s.type, await b.slice(3).text(), await b.slice(8, 2).text() === "",
			await b.slice(-100, 2).text(), b.slice(1, 3).type === "", await b.slice(2, 6).slice(1, 3).text()];
		const readAll = async (st) => { const r = st.getReader(); let out = ""; for (;;) { const x = await r.read(); if (x.done) return out; out += String.fromCharCode(...x.value); } };
		t.push(await readAll(b.slice(5).stream()));
		t.push(await new Blob(["a\r\nb\rc"], { endings: "native" }).text() === "a\nb\nc");
		let err;
		try { new Blob("abc"); } catch (e) { err = e instanceof TypeError; }
		t.push(err);
		return t.join("|");`), "678|x/y|3456789|true|01|true|34|56789|true|true")
}

func TestPreludeBlobFallbackUTF8(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	evalString(t, vm, `globalThis.TextEncoder = undefined; globalThis.TextDecoder = undefined;`) // not configurable, so not deleted
	expect(t, runAsync(t, vm, `
		const b = new Blob(["a\u00e9\u20ac\uD83D\uDE00\uD800"]);
		const bytes = Array.from(await b.bytes()).map((x) => x.toString(16)).join(" ");
		const bad = await new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xc3, 0x28, 0xe2, 0x82])]).text();
		return bytes + "|" + encodeURIComponent(await b.text()) + "|" + encodeURIComponent(bad);`),
		"61 c3 a9 e2 82 ac f0 9f 98 80 ef bf bd|a%C3%A9%E2%82%AC%F0%9F%98%80%EF%BF%BD|a%EF%BF%BD(%EF%BF%BD")
}

func TestPreludeFile(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, runAsync(t, vm, `
		const f = new File(["abc"], "notes.txt", { type: "text/plain", lastModified: 1234 });
		const before = Date.now();
		const g = new File([f], "copy");
		let err;
		try { new File(["x"]); } catch (e) { err = e instanceof TypeError; }
		return [f instanceof Blob, f instanceof File, f.name, f.lastModified, f.type, f.size, await f.text(),
			g.lastModified >= before, g.type, await g.text(), err, Object.prototype.toString.call(f)].join("|");`),
		"true|true|notes.txt|1234|text/plain|3|abc|true||abc|true|[object File]")
}

func TestPreludeInternalBlobHooks(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	blob := callInternal(t, vm, internal, "newBlob", newUint8Array(t, vm, []byte("from go")), vm.ToValue("Application/JSON"))
	_ = vm.Set("goBlob", blob)
	expect(t, runAsync(t, vm, `return [goBlob instanceof Blob, goBlob.type, goBlob.size, await goBlob.text()].join("|");`),
		"true|application/json|7|from go")
	v, err := vm.RunString(`new Blob(["ab", new Uint8Array([99])]).slice(1)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := callInternal(t, vm, internal, "blobBytes", v).Export().([]byte); string(got) != "bc" {
		t.Fatalf("blobBytes = %q", got)
	}
	if !callInternal(t, vm, internal, "isBlob", v).ToBoolean() || callInternal(t, vm, internal, "isBlob", vm.ToValue("x")).ToBoolean() {
		t.Fatal("isBlob is wrong")
	}
	_ = vm.Set("goFile", callInternal(t, vm, internal, "newFile", newUint8Array(t, vm, []byte("f")), vm.ToValue("a.txt"), vm.ToValue("TEXT/PLAIN"), vm.ToValue(42)))
	expect(t, evalString(t, vm, `[goFile instanceof File, goFile.name, goFile.type, goFile.lastModified, goFile.size].join()`),
		"true,a.txt,text/plain,42,1")
}

// ---------------------------------------------------------------------------
// 60_formdata.js

func TestPreludeFormData(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const fd = new FormData();
		fd.append("a", "1");
		fd.append("b", 2);
		fd.append("a", "3");
		fd.append("lone\uD800", "x\uDC00");
		const out = [fd.get("a"), fd.getAll("a").join(","), fd.get("b"), typeof fd.get("b"), String(fd.get("zz")), fd.has("b"),
			encodeURIComponent([...fd.keys()][3]), encodeURIComponent(fd.get("lone\uFFFD"))];
		fd.set("a", "only");
		fd.delete("b");
		out.push([...fd].map(([k, v]) => k + "=" + v).slice(0, 1).join("&"), [...fd.values()].length);
		const seen = [];
		fd.forEach((v, k, self) => seen.push(k + ":" + (self === fd)));
		out.push(seen[0], Object.prototype.toString.call(fd.entries()), typeof fd.entries().next);
		out.join("|")`),
		"1|1,3|2|string|null|true|lone%EF%BF%BD|x%EF%BF%BD|a=only|2|a:true|[object FormData Iterator]|function")
	expect(t, runAsync(t, vm, `
		const fd = new FormData();
		const blob = new Blob(["data"], { type: "text/csv" });
		const file = new File(["f"], "orig.txt", { lastModified: 5 });
		fd.append("blob", blob);
		fd.append("named", blob, "report.csv");
		fd.append("file", file);
		fd.set("renamed", file, "new.txt");
		const b = fd.get("blob"), n = fd.get("named"), f = fd.get("file"), r = fd.get("renamed");
		const errs = [];
		try { fd.append("x", "not a blob", "name"); } catch (e) { errs.push(e instanceof TypeError); }
		try { new FormData({}); } catch (e) { errs.push(e instanceof TypeError); }
		try { fd.append("only-one"); } catch (e) { errs.push(e instanceof TypeError); }
		return [b instanceof File, b.name, b.type, await b.text(), n.name, f === file, r.name, r.lastModified, await r.text(),
			new FormData(undefined).has("x"), errs.join(",")].join("|");`),
		"true|blob|text/csv|data|report.csv|true|new.txt|5|f|false|true,true,true")
}

func TestPreludeInternalFormDataHooks(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	fd := callInternal(t, vm, internal, "newFormData")
	_ = vm.Set("goForm", fd)
	evalString(t, vm, `goForm.append("k", "v"); goForm.append("up", new Blob(["xyz"]), "u.bin");`)
	if !callInternal(t, vm, internal, "isFormData", fd).ToBoolean() ||
		callInternal(t, vm, internal, "isFormData", vm.NewObject()).ToBoolean() {
		t.Fatal("isFormData is wrong")
	}
	entries := callInternal(t, vm, internal, "formDataEntries", fd).ToObject(vm)
	if n := entries.Get("length").ToInteger(); n != 2 {
		t.Fatalf("%d entries", n)
	}
	first := entries.Get("0").ToObject(vm)
	if first.Get("0").String() != "k" || first.Get("1").Export() != "v" {
		t.Fatalf("first entry: %v", first)
	}
	second := entries.Get("1").ToObject(vm)
	file := second.Get("1")
	if second.Get("0").String() != "up" || !callInternal(t, vm, internal, "isBlob", file).ToBoolean() ||
		file.ToObject(vm).Get("name").String() != "u.bin" {
		t.Fatalf("second entry: %v", second)
	}
	if got := callInternal(t, vm, internal, "blobBytes", file).Export().([]byte); string(got) != "xyz" {
		t.Fatalf("file bytes: %q", got)
	}
}

// TestPreludeGlobalsAreNonEnumerable checks the Web IDL shape of the globals
// once they have been used.
func TestPreludeGlobalsAreNonEnumerable(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	expect(t, evalString(t, vm, `
		const names = ["Event", "EventTarget", "AbortController", "AbortSignal", "ReadableStream", "WritableStream",
			"TransformStream", "Blob", "File", "FormData", "queueMicrotask", "navigator", "self", "TextEncoderStream",
			"CloseEvent", "ByteLengthQueuingStrategy"];
		names.filter((n) => {
			const v = globalThis[n];
			const d = Object.getOwnPropertyDescriptor(globalThis, n);
			return !v || !d || d.value !== v || d.enumerable || !d.writable || !d.configurable;
		}).join()`), "")
}

// TestPreludeLazyModules checks that modules load on first use only, and that
// a global assigned before its module loaded keeps the assigned value.
func TestPreludeLazyModules(t *testing.T) {
	vm, internal := newPreludeRuntime(t)
	isAccessor := func(name string) bool {
		return evalString(t, vm, `typeof Object.getOwnPropertyDescriptor(globalThis, "`+name+`").get`) == "function"
	}
	for _, name := range []string{"ReadableStream", "Blob", "FormData", "AbortController", "Event"} {
		if !isAccessor(name) {
			t.Fatalf("%s was loaded by the prelude itself", name)
		}
	}
	obj := vm.NewObject()
	for _, hook := range []string{"isReadableStream", "isBlob", "isFormData", "isAbortSignal", "isEvent"} {
		if callInternal(t, vm, internal, hook, obj).ToBoolean() {
			t.Fatalf("%s(plain object) = true", hook)
		}
	}
	if !isAccessor("ReadableStream") || !isAccessor("Blob") {
		t.Fatal("a type check loaded its module")
	}
	evalString(t, vm, `globalThis.WritableStream = "mine"; new ReadableStream();`)
	if isAccessor("ReadableStream") || isAccessor("TransformStream") {
		t.Fatal("loading the streams module left accessors behind")
	}
	expect(t, evalString(t, vm, `[WritableStream, typeof TransformStream].join()`), "mine,function")
	for _, name := range []string{"Blob", "FormData", "AbortController", "Event"} {
		if !isAccessor(name) {
			t.Fatalf("loading the streams module loaded %s", name)
		}
	}
	// internal keeps the platform's class.
	if _, ok := goja.AssertConstructor(internal.Get("WritableStream")); !ok {
		t.Fatalf("internal.WritableStream = %v", internal.Get("WritableStream"))
	}
}

// BenchmarkPreludeRun measures what the prelude adds to every new runtime.
func BenchmarkPreludeRun(b *testing.B) {
	p, err := CompilePrelude()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		vm := goja.New()
		if err := p.run(vm, vm.NewObject()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreludeBareRuntime is the baseline for BenchmarkPreludeRun.
func BenchmarkPreludeBareRuntime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = goja.New()
	}
}

// TestLazyPreludeModulesCompile compiles every module of prelude/lazy, so a
// mistake in one shows even if no other test happens to load it.
func TestLazyPreludeModulesCompile(t *testing.T) {
	p, err := CompilePrelude()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.lazy) == 0 {
		t.Fatal("no lazy prelude modules found")
	}
	for name, m := range p.lazy {
		if _, err := m.compiled(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Single native calls that would allocate gigabytes throw V8's RangeErrors
// instead of taking the process down; ordinary uses behave as before.
func TestPreludeAllocationLimits(t *testing.T) {
	vm, _ := newPreludeRuntime(t)
	for _, src := range []string{
		`new ArrayBuffer(2 ** 40)`,
		`new Uint8Array(2 ** 33)`,
		`new Float64Array(2 ** 25)`,
		`new BigInt64Array({ length: 2 ** 31 })`,
		`"x".repeat(2 ** 31)`,
		`"ab".repeat(2 ** 28 + 1)`,
		`"".padStart(2 ** 32, "x")`,
		`"".padEnd(2 ** 30)`,
		`new Array(2 ** 32 - 1).fill(0)`,
		`[].fill.call({ length: 2 ** 31 }, 1)`,
		`new Array(2 ** 31).join("x")`,
	} {
		got := evalString(t, vm, `(() => { try { `+src+`; return "no error" } catch (e) { return e.constructor.name + ": " + e.message } })()`)
		if got != "RangeError: Invalid string length" && got != "RangeError: Array buffer allocation failed" && got != "RangeError: Invalid array length" {
			t.Errorf("%s: %s", src, got)
		}
	}
	expect(t, evalString(t, vm, `
		class Sub extends Uint8Array { sum() { return this.reduce((a, b) => a + b, 0) } }
		const s = new Sub([1, 2, 3]);
		const u = new Uint8Array(new ArrayBuffer(8), 2, 4);
		let notNew;
		try { Uint8Array(2) } catch (e) { notNew = e.constructor.name }
		[
			new Uint8Array(4).length, new Uint8Array([1, 2]).join(""), u.length, u.byteOffset,
			s.sum(), s instanceof Uint8Array, s instanceof Sub, s.subarray(1) instanceof Sub,
			new Uint8Array(2).constructor === Uint8Array, u.buffer instanceof ArrayBuffer,
			u.buffer.constructor === ArrayBuffer, ArrayBuffer.isView(u),
			Uint8Array.from([5, 6]).join(""), Uint16Array.of(7).length, Uint8Array.BYTES_PER_ELEMENT,
			Uint8Array.name, Uint8Array.length, Object.getPrototypeOf(Uint8Array) === Object.getPrototypeOf(Int8Array),
			new TextEncoder().encode("hé") instanceof Uint8Array, notNew,
			"ab".repeat(3), "7".padStart(3, "0"), "7".padEnd(2, "!"), [1, 2, 3].fill(0, 1).join(""),
			new Array(3).fill(1).join("-"), new ArrayBuffer(16).byteLength,
		].join()`),
		"4,12,4,2,6,true,true,true,true,true,true,true,56,1,1,Uint8Array,3,true,true,TypeError,ababab,007,7!,100,1-1-1,16")
}
