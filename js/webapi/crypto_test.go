package webapi

import (
	"regexp"
	"testing"

	"github.com/dop251/goja"
)

// jsAwait runs body inside an async function and returns "ok: <value>" or
// "rejected: <name>: <message>". Promises of SubtleCrypto settle before
// RunString returns, since goja drains microtasks then.
func jsAwait(t *testing.T, vm *goja.Runtime, body string) string {
	t.Helper()
	v, err := vm.RunString(`(async () => {` + body + `})().then(v => "ok: " + String(v), e => "rejected: " + e.name + ": " + e.message)`)
	if err != nil {
		t.Fatalf("%s\n-> %v", body, err)
	}
	p, ok := v.Export().(*goja.Promise)
	if !ok || p.State() != goja.PromiseStateFulfilled {
		t.Fatalf("%s\n-> did not settle", body)
	}
	return p.Result().String()
}

const hexHelper = `const hex = b => Array.from(new Uint8Array(b), x => x.toString(16).padStart(2, "0")).join("");
const bytes = s => new TextEncoder().encode(s);`

func TestDigest(t *testing.T) {
	vm := newTestRuntime(t)
	vectors := []struct{ alg, input, want string }{
		{"SHA-1", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"SHA-1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"SHA-256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"SHA-256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"SHA-384", "", "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"},
		{"SHA-384", "abc", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
		{"SHA-512", "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{"SHA-512", "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{"MD5", "", "d41d8cd98f00b204e9800998ecf8427e"},
		{"md5", "abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"sha-256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, v := range vectors {
		got := jsAwait(t, vm, hexHelper+`return hex(await crypto.subtle.digest("`+v.alg+`", bytes("`+v.input+`")));`)
		expectText(t, got, "ok: "+v.want)
		got = jsAwait(t, vm, hexHelper+`return hex(await crypto.subtle.digest({name: "`+v.alg+`"}, bytes("`+v.input+`").buffer));`)
		expectText(t, got, "ok: "+v.want)
	}
	expectText(t, jsAwait(t, vm, `const b = new Uint8Array([0, 97, 98, 99, 0]); const d = await crypto.subtle.digest("SHA-1", new DataView(b.buffer, 1, 3)); return d instanceof ArrayBuffer && d.byteLength === 20;`), "ok: true")
	expectText(t, jsAwait(t, vm, `return await crypto.subtle.digest("SHA-3", new Uint8Array());`),
		"rejected: NotSupportedError: Unrecognized or unimplemented digest algorithm requested.")
	expectText(t, jsAwait(t, vm, `return await crypto.subtle.digest("SHA-256", "abc");`),
		"rejected: TypeError: Failed to execute 'digest' on 'SubtleCrypto': parameter 2 is not of type 'ArrayBuffer or ArrayBufferView'.")
	// A bad argument rejects rather than throws.
	jsCheck(t, vm, `crypto.subtle.digest("nope", null) instanceof Promise`)
}

func TestHMAC(t *testing.T) {
	vm := newTestRuntime(t)
	// RFC 4231 test cases 1 and 2 (HMAC-SHA-256).
	expectText(t, jsAwait(t, vm, hexHelper+`
		const key = await crypto.subtle.importKey("raw", new Uint8Array(20).fill(0x0b), {name: "HMAC", hash: "SHA-256"}, false, ["sign", "verify"]);
		return hex(await crypto.subtle.sign("HMAC", key, bytes("Hi There")));`),
		"ok: b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
	expectText(t, jsAwait(t, vm, hexHelper+`
		const key = await crypto.subtle.importKey("raw", bytes("Jefe"), {name: "hmac", hash: {name: "sha-256"}}, true, ["verify", "sign"]);
		const sig = await crypto.subtle.sign({name: "HMAC"}, key, bytes("what do ya want for nothing?"));
		const good = await crypto.subtle.verify("HMAC", key, sig, bytes("what do ya want for nothing?"));
		const bad = await crypto.subtle.verify("HMAC", key, sig, bytes("what do ya want for nothing!"));
		const short = await crypto.subtle.verify("HMAC", key, sig.slice(0, 31), bytes("what do ya want for nothing?"));
		return [hex(sig), good, bad, short].join(" ");`),
		"ok: 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 true false false")
	// The key object.
	expectText(t, jsAwait(t, vm, hexHelper+`
		const key = await crypto.subtle.importKey("raw", bytes("Jefe"), {name: "HMAC", hash: "SHA-1"}, true, ["verify", "sign"]);
		return [key instanceof CryptoKey, key.type, key.extractable, key.algorithm.name, key.algorithm.hash.name,
			key.algorithm.length, key.usages.join("+"), key.algorithm === key.algorithm].join(" ");`),
		"ok: true secret true HMAC SHA-1 32 sign+verify true")
	expectText(t, jsThrows(t, vm, `new CryptoKey()`), "TypeError: Illegal constructor")
	expectText(t, jsThrows(t, vm, `new SubtleCrypto()`), "TypeError: Illegal constructor")
	expectText(t, jsThrows(t, vm, `new Crypto()`), "TypeError: Illegal constructor")
	jsCheck(t, vm, `crypto instanceof Crypto && crypto.subtle instanceof SubtleCrypto && crypto.subtle === crypto.subtle`)
}

func TestHMACJWKAndExport(t *testing.T) {
	vm := newTestRuntime(t)
	expectText(t, jsAwait(t, vm, hexHelper+`
		const jwk = {kty: "oct", k: "SmVmZQ", alg: "HS256", ext: true};
		const key = await crypto.subtle.importKey("jwk", jwk, {name: "HMAC", hash: "SHA-256"}, true, ["sign"]);
		const raw = await crypto.subtle.exportKey("raw", key);
		const out = await crypto.subtle.exportKey("jwk", key);
		return [hex(raw), out.kty, out.k, out.alg, out.ext, out.key_ops.join(), Object.keys(out).join()].join(" ");`),
		"ok: 4a656665 oct SmVmZQ HS256 true sign kty,key_ops,alg,ext,k")
	cases := []struct{ body, want string }{
		{`await crypto.subtle.importKey("jwk", {kty: "RSA", k: "AA"}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: DataError: HMAC "jwk" key import requires a JSON Web Key with Key Type parameter ("kty") equal to "oct" (encountered "RSA").`},
		{`await crypto.subtle.importKey("jwk", {kty: "oct"}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: DataError: HMAC "jwk" key import requires a base64Url encoding of the key`},
		{`await crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ", alg: "HS1"}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: DataError: HMAC "jwk" key import specifies "alg" that is incompatible with the hash name (encountered "HS1", expected "HS256").`},
		{`await crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ", ext: false}, {name: "HMAC", hash: "SHA-256"}, true, ["sign"])`,
			`rejected: DataError: JWK ext field for "HMAC" is set to false but extractable is true`},
		{`await crypto.subtle.importKey("jwk", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: TypeError: Import data provided for "jwk" import format must be a JsonWebKey.`},
		{`await crypto.subtle.importKey("raw", {}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: TypeError: Import data provided for buffer-based import formats must be a buffer source.`},
		{`await crypto.subtle.importKey("pem", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: NotSupportedError: Unrecognized key import format "pem".`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "FOO"}, false, ["sign"])`,
			`rejected: NotSupportedError: Unrecognized key import algorithm "FOO" requested.`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", false, ["encrypt"])`,
			`rejected: NotSupportedError: AES-GCM keys are not implemented in kiln yet; HMAC keys are.`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC"}, false, ["sign"])`,
			`rejected: TypeError: Missing field "hash" in "algorithm".`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-3"}, false, ["sign"])`,
			`rejected: NotSupportedError: Unrecognized or unimplemented digest algorithm requested.`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["encrypt"])`,
			`rejected: SyntaxError: Attempt to import secret HMAC key with invalid usage "encrypt".`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, [])`,
			`rejected: SyntaxError: Secret/private CryptoKeys must have at least one usage.`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(0), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])`,
			`rejected: DataError: Imported HMAC key length (0) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (0).`},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256", length: 24}, false, ["sign"])`,
			`rejected: DataError: Imported HMAC key length (24) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (32).`},
		{`(await crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256", length: 25}, false, ["sign"])).algorithm.length`,
			`ok: 25`},
	}
	for _, c := range cases {
		expectText(t, jsAwait(t, vm, "return "+c.body+";"), c.want)
	}
	// length 25 keeps 25 bits: the unused low bits of the last byte are zero.
	expectText(t, jsAwait(t, vm, hexHelper+`
		const key = await crypto.subtle.importKey("raw", new Uint8Array([255, 255, 255, 255]), {name: "HMAC", hash: "SHA-256", length: 25}, true, ["sign"]);
		return hex(await crypto.subtle.exportKey("raw", key));`), "ok: ffffff80")
}

func TestHMACOperationErrors(t *testing.T) {
	vm := newTestRuntime(t)
	setup := `const k = await crypto.subtle.importKey("raw", new Uint8Array(8), {name: "HMAC", hash: "SHA-256"}, false, ["verify"]);`
	cases := []struct{ body, want string }{
		{`return await crypto.subtle.sign("HMAC", k, new Uint8Array(1));`,
			`rejected: InvalidAccessError: Requested key usage "sign" does not match any usage listed in this CryptoKey.`},
		{`return await crypto.subtle.verify("ECDSA", k, new Uint8Array(1), new Uint8Array(1));`,
			`rejected: InvalidAccessError: Requested algorithm "ECDSA" does not match this CryptoKey's algorithm "HMAC".`},
		{`return await crypto.subtle.exportKey("raw", k);`,
			`rejected: InvalidAccessError: Attempt to export non-extractable HMAC key.`},
		{`return await crypto.subtle.sign("HMAC", {}, new Uint8Array(1));`,
			`rejected: TypeError: Failed to execute 'sign' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'.`},
		{`return await crypto.subtle.verify("HMAC", k, "sig", new Uint8Array(1));`,
			`rejected: TypeError: Failed to execute 'verify' on 'SubtleCrypto': parameter 3 is not of type 'ArrayBuffer or ArrayBufferView'.`},
		{`const e = await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["sign"]); return await crypto.subtle.exportKey("spki", e);`,
			`rejected: NotSupportedError: Unimplemented key export format "spki".`},
		{`return await crypto.subtle.encrypt({name: "AES-GCM"}, k, new Uint8Array(1));`,
			`rejected: NotSupportedError: SubtleCrypto.encrypt() is not implemented in kiln yet; HMAC sign/verify and digest are.`},
	}
	for _, c := range cases {
		expectText(t, jsAwait(t, vm, setup+c.body), c.want)
	}
}

func TestGenerateKey(t *testing.T) {
	vm := newTestRuntime(t)
	expectText(t, jsAwait(t, vm, `
		const k = await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-512"}, true, ["sign", "verify"]);
		const raw = await crypto.subtle.exportKey("raw", k);
		const sig = await crypto.subtle.sign("HMAC", k, new Uint8Array([1]));
		return [k.algorithm.length, raw.byteLength, sig.byteLength, await crypto.subtle.verify("HMAC", k, sig, new Uint8Array([1]))].join(" ");`),
		"ok: 1024 128 64 true")
	expectText(t, jsAwait(t, vm, `
		const k = await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256", length: 12}, true, ["sign"]);
		const raw = new Uint8Array(await crypto.subtle.exportKey("raw", k));
		return [k.algorithm.length, raw.length, raw[1] & 0x0f].join(" ");`), "ok: 12 2 0")
	expectText(t, jsAwait(t, vm, `
		const a = new Uint8Array(await crypto.subtle.exportKey("raw", await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["sign"])));
		const b = new Uint8Array(await crypto.subtle.exportKey("raw", await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["sign"])));
		return a.length === 64 && a.join() !== b.join();`), "ok: true")
	cases := []struct{ body, want string }{
		{`await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["encrypt"])`,
			`rejected: SyntaxError: Attempt to generate HMAC key with invalid usage "encrypt".`},
		{`await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, [])`,
			`rejected: SyntaxError: Secret/private CryptoKeys must have at least one usage.`},
		{`await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256", length: 0}, true, ["sign"])`,
			`rejected: OperationError: HMAC key length must be a non-zero unsigned long integer (requested 0).`},
		{`await crypto.subtle.generateKey({name: "WAT"}, true, ["sign"])`,
			`rejected: NotSupportedError: Unrecognized key generation algorithm "WAT" requested.`},
		{`await crypto.subtle.generateKey({name: "HMAC"}, true, ["sign"])`,
			`rejected: TypeError: Missing field "hash" in "algorithm".`},
	}
	for _, c := range cases {
		expectText(t, jsAwait(t, vm, "return "+c.body+";"), c.want)
	}
}

func TestTimingSafeEqual(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]).buffer) === true`)
	jsCheck(t, vm, `crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])) === false`)
	jsCheck(t, vm, `crypto.subtle.timingSafeEqual(new ArrayBuffer(0), new Uint8Array(0)) === true`)
	expectText(t, jsThrows(t, vm, `crypto.subtle.timingSafeEqual(new Uint8Array(2), new Uint8Array(3))`), "TypeError: Input buffers must have the same byte length.")
	expectText(t, jsThrows(t, vm, `crypto.subtle.timingSafeEqual("a", new Uint8Array(3))`),
		"TypeError: Failed to execute 'timingSafeEqual' on 'SubtleCrypto': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView'.")
	expectText(t, jsThrows(t, vm, `const f = crypto.subtle.timingSafeEqual; f(new Uint8Array(1), new Uint8Array(1))`), "TypeError: "+IllegalInvocation)
}

func TestGetRandomValues(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `const a = new Uint8Array(64); const r = crypto.getRandomValues(a); r === a && a.some(x => x !== 0)`)
	// Writes land in the view's window of the buffer and nowhere else.
	jsCheck(t, vm, `const buf = new ArrayBuffer(64); const v = new Uint32Array(buf, 16, 8); crypto.getRandomValues(v);
		const all = new Uint8Array(buf); all.subarray(0, 16).every(x => x === 0) && all.subarray(48).every(x => x === 0) && all.subarray(16, 48).some(x => x !== 0)`)
	for _, k := range []string{"Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "BigInt64Array", "BigUint64Array"} {
		jsCheck(t, vm, `const a = new `+k+`(16); crypto.getRandomValues(a) === a && a.some(x => x != 0)`)
	}
	jsCheck(t, vm, `crypto.getRandomValues(new Uint8Array(65536)).length === 65536`)
	expectText(t, jsThrows(t, vm, `crypto.getRandomValues(new Uint8Array(65537))`),
		"QuotaExceededError: getRandomValues() only accepts buffers of size <= 64K but provided 65537 bytes.")
	expectText(t, jsThrows(t, vm, `crypto.getRandomValues(new Uint32Array(16385))`),
		"QuotaExceededError: getRandomValues() only accepts buffers of size <= 64K but provided 65540 bytes.")
	for _, bad := range []string{`new Float32Array(4)`, `new Float64Array(4)`, `new DataView(new ArrayBuffer(4))`} {
		expectText(t, jsThrows(t, vm, `crypto.getRandomValues(`+bad+`)`),
			"TypeMismatchError: ArrayBufferView argument to getRandomValues() must be an integer-typed view.")
	}
	for _, bad := range []string{`new ArrayBuffer(4)`, `[1, 2]`, `undefined`} {
		expectText(t, jsThrows(t, vm, `crypto.getRandomValues(`+bad+`)`),
			"TypeError: Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.")
	}
}

func TestRandomUUID(t *testing.T) {
	vm := newTestRuntime(t)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		u := evalString(t, vm, `crypto.randomUUID()`)
		if !re.MatchString(u) {
			t.Fatalf("%q is not a lowercase v4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("duplicate UUID %q", u)
		}
		seen[u] = true
	}
}
