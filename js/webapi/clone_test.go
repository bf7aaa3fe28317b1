package webapi

import "testing"

func TestStructuredClone(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `const o = {a: 1, d: new Date(3), m: new Map([[1, {}]]), s: new Set(["x"]), r: /x/g, u: new Uint8Array([1, 2]), e: new TypeError("t"), big: 10n, neg: -0, str: "\ud800"};
		o.self = o; o.shared = o.m;
		const c = structuredClone(o);
		c !== o && c.self === c && c.shared === c.m && c.m instanceof Map && c.d.getTime() === 3 && c.r.flags === "g" &&
			c.u.join() === "1,2" && c.e instanceof TypeError && c.big === 10n && Object.is(c.neg, -0) && c.str === "\ud800"`)
	jsCheck(t, vm, `structuredClone() === undefined && structuredClone(null) === null && structuredClone.length === 1`)
	jsCheck(t, vm, `const o = {}; const c = structuredClone({a: o, b: o}); c.a === c.b`)
}

func TestStructuredCloneErrors(t *testing.T) {
	vm := newTestRuntime(t)
	cases := map[string]string{
		`structuredClone(function foo() {})`:                                      "DataCloneError: function foo() {} could not be cloned.",
		`structuredClone({p: Promise.resolve()})`:                                 "DataCloneError: #<Promise> could not be cloned.",
		`structuredClone(Symbol("q"))`:                                            "DataCloneError: Symbol(q) could not be cloned.",
		`structuredClone([new WeakMap()])`:                                        "DataCloneError: #<WeakMap> could not be cloned.",
		`structuredClone(new TextEncoder())`:                                      `DataCloneError: Could not serialize object of type "TextEncoder". This type does not support serialization.`,
		`structuredClone(1, {transfer: [{}]})`:                                    "TypeError: Object is not transferable",
		`structuredClone(1, 5)`:                                                   "TypeError: Failed to execute 'structuredClone' on 'ServiceWorkerGlobalScope': parameter 2 is not of type 'StructuredSerializeOptions'.",
		`let a = []; for (let i = 0; i < 20000; i++) a = [a]; structuredClone(a)`: "RangeError: Maximum call stack size exceeded",
	}
	for src, want := range cases {
		expectText(t, jsThrows(t, vm, src), want)
	}
	jsCheck(t, vm, `try { structuredClone(() => 1); false } catch (e) { e instanceof DOMException && e.code === 25 && e.name === "DataCloneError" }`)
	// An exception from a getter is rethrown as is.
	jsCheck(t, vm, `const boom = new RangeError("mine"); try { structuredClone({get x() { throw boom; }}); false } catch (e) { e === boom }`)
}

func TestStructuredCloneTransfer(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `const b = new Uint8Array([1, 2, 3]).buffer; const c = structuredClone(b, {transfer: [b]});
		b.byteLength === 0 && c.byteLength === 3 && new Uint8Array(c).join() === "1,2,3"`)
	jsCheck(t, vm, `const u = new Uint8Array([7, 8]); const c = structuredClone({u}, {transfer: [u.buffer, u.buffer]});
		u.buffer.byteLength === 0 && c.u.join() === "7,8"`)
	// A failed clone transfers nothing.
	jsCheck(t, vm, `const b = new ArrayBuffer(4); try { structuredClone({b, f() {}}, {transfer: [b]}); } catch (e) {} b.byteLength === 4`)
	jsCheck(t, vm, `const b = new ArrayBuffer(4); structuredClone(1, {transfer: []}); structuredClone(1, {}); b.byteLength === 4`)
}
