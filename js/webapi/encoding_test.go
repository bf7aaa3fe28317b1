package webapi

import (
	"testing"

	"github.com/dop251/goja"
)

// jsCheck runs src in a block (so checks can declare constants) and fails
// unless it evaluates to true.
func jsCheck(t *testing.T, vm *goja.Runtime, src string) {
	t.Helper()
	v, err := vm.RunString("{\n" + src + "\n}")
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	if v.Export() != true {
		t.Fatalf("%s\n-> %v, want true", src, v)
	}
}

// jsThrows runs src and returns "Name: message" of what it threw.
func jsThrows(t *testing.T, vm *goja.Runtime, src string) string {
	t.Helper()
	v, err := vm.RunString(`{ let r = "no exception"; try { ` + src + ` } catch (e) { r = e.name + ": " + e.message; } r }`)
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	return v.String()
}

func TestTextEncoder(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `const e = new TextEncoder(); e.encoding === "utf-8" && e instanceof TextEncoder`)
	jsCheck(t, vm, `const b = new TextEncoder().encode("a€😀"); b instanceof Uint8Array && b.join() === "97,226,130,172,240,159,152,128"`)
	jsCheck(t, vm, `new TextEncoder().encode().length === 0 && new TextEncoder().encode(undefined).length === 0`)
	jsCheck(t, vm, `new TextEncoder().encode(null).join() === "110,117,108,108"`)
	// Lone surrogates become U+FFFD (EF BF BD); a valid pair does not.
	jsCheck(t, vm, `new TextEncoder().encode("a\ud800b").join() === "97,239,191,189,98"`)
	jsCheck(t, vm, `new TextEncoder().encode("\udc00\ud800").join() === "239,191,189,239,191,189"`)
	jsCheck(t, vm, `new TextEncoder().encode("\ud83d\ude00").join() === "240,159,152,128"`)
	jsCheck(t, vm, `new TextEncoder().encode("é").join() === "195,169"`)
}

func TestTextEncoderEncodeInto(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `const u = new Uint8Array(10); const r = new TextEncoder().encodeInto("hé", u); r.read === 2 && r.written === 3 && u.slice(0, 3).join() === "104,195,169" && u[3] === 0`)
	// Never a partial code point: "😀" needs 4 bytes and counts 2 code units.
	jsCheck(t, vm, `const u = new Uint8Array(5); const r = new TextEncoder().encodeInto("a😀b", u); r.read === 3 && r.written === 5`)
	jsCheck(t, vm, `const u = new Uint8Array(4); const r = new TextEncoder().encodeInto("a😀", u); r.read === 1 && r.written === 1 && u[1] === 0`)
	jsCheck(t, vm, `const u = new Uint8Array(2); const r = new TextEncoder().encodeInto("€", u); r.read === 0 && r.written === 0`)
	jsCheck(t, vm, `const u = new Uint8Array(3); const r = new TextEncoder().encodeInto("\ud800", u); r.read === 1 && r.written === 3 && u.join() === "239,191,189"`)
	// Writes go into the view's window of its buffer.
	jsCheck(t, vm, `const buf = new ArrayBuffer(8); const u = new Uint8Array(buf, 2, 3); new TextEncoder().encodeInto("xyzw", u); new Uint8Array(buf).join() === "0,0,120,121,122,0,0,0"`)
	expectText(t, jsThrows(t, vm, `new TextEncoder().encodeInto("x", new Uint16Array(2))`),
		"TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.")
	expectText(t, jsThrows(t, vm, `new TextEncoder().encodeInto("x", new ArrayBuffer(2))`),
		"TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.")
}

func expectText(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestTextDecoderLabels(t *testing.T) {
	vm := newTestRuntime(t)
	cases := map[string]string{
		"":                    "utf-8",
		`"utf8"`:              "utf-8",
		`" UTF-8\n"`:          "utf-8",
		`"unicode-1-1-utf-8"`: "utf-8",
		`"utf-16"`:            "utf-16le",
		`"UTF-16LE"`:          "utf-16le",
		`"ucs-2"`:             "utf-16le",
		`"utf-16be"`:          "utf-16be",
		`"latin1"`:            "windows-1252",
		`"iso-8859-1"`:        "windows-1252",
		`"ascii"`:             "windows-1252",
		`"us-ascii"`:          "windows-1252",
		`"windows-1252"`:      "windows-1252",
		`undefined`:           "utf-8",
	}
	for label, want := range cases {
		expectText(t, evalString(t, vm, `new TextDecoder(`+label+`).encoding`), want)
	}
	expectText(t, jsThrows(t, vm, `new TextDecoder("nope")`), `RangeError: "nope" is not a valid encoding.`)
	expectText(t, jsThrows(t, vm, `new TextDecoder("replacement")`), `RangeError: "replacement" is not a valid encoding.`)
	expectText(t, jsThrows(t, vm, `new TextDecoder("x-user-defined")`), `RangeError: "x-user-defined" is not a valid encoding.`)
	// A real encoding kiln cannot decode is named by its canonical name.
	expectText(t, jsThrows(t, vm, `new TextDecoder("sjis")`), `RangeError: "shift_jis" is not a valid encoding.`)
	jsCheck(t, vm, `const d = new TextDecoder("utf-8", {fatal: 1, ignoreBOM: "yes"}); d.fatal === true && d.ignoreBOM === true`)
	jsCheck(t, vm, `const d = new TextDecoder(); d.fatal === false && d.ignoreBOM === false`)
}

func TestTextDecoderUTF8(t *testing.T) {
	vm := newTestRuntime(t)
	dec := func(bytes string, extra string) string {
		return evalString(t, vm, `Array.from(new TextDecoder("utf-8"`+extra+`).decode(new Uint8Array([`+bytes+`])), c => c.codePointAt(0).toString(16)).join(" ")`)
	}
	expectText(t, dec("104,195,169,240,159,152,128", ""), "68 e9 1f600")
	// BOM stripped unless ignoreBOM.
	expectText(t, dec("0xEF,0xBB,0xBF,0x61", ""), "61")
	expectText(t, dec("0xEF,0xBB,0xBF,0x61", `, {ignoreBOM: true}`), "feff 61")
	// Maximal subparts: a truncated 3-byte sequence is one U+FFFD.
	expectText(t, dec("0xE2,0x82,0x41", ""), "fffd 41")
	expectText(t, dec("0xFF,0x41,0xC0,0x80", ""), "fffd 41 fffd fffd")
	expectText(t, dec("0xED,0xA0,0x80", ""), "fffd fffd fffd") // an encoded surrogate
	expectText(t, dec("0xF0,0x9F,0x98", ""), "fffd")
	jsCheck(t, vm, `new TextDecoder().decode() === "" && new TextDecoder().decode(new ArrayBuffer(0)) === ""`)
	jsCheck(t, vm, `new TextDecoder().decode(new Uint8Array([104, 105]).buffer) === "hi"`)
	jsCheck(t, vm, `const b = new Uint8Array([0, 104, 105, 0]); new TextDecoder().decode(new DataView(b.buffer, 1, 2)) === "hi"`)
	jsCheck(t, vm, `new TextDecoder().decode(new Uint16Array([0x6968])) === "hi"`)
	expectText(t, jsThrows(t, vm, `new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0x61, 0xFF]))`), "TypeError: Failed to decode input.")
	expectText(t, jsThrows(t, vm, `new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xE2, 0x82]))`), "TypeError: Failed to decode input.")
	expectText(t, jsThrows(t, vm, `new TextDecoder().decode("str")`),
		"TypeError: Failed to execute 'decode' on 'TextDecoder': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView'.")
}

func TestTextDecoderStreaming(t *testing.T) {
	vm := newTestRuntime(t)
	// "€😀" split at every position decodes the same in stream mode.
	jsCheck(t, vm, `
		const bytes = new TextEncoder().encode("a€😀b");
		let ok = true;
		for (let i = 0; i <= bytes.length; i++) {
			for (let j = i; j <= bytes.length; j++) {
				const d = new TextDecoder();
				const s = d.decode(bytes.subarray(0, i), {stream: true}) + d.decode(bytes.subarray(i, j), {stream: true}) + d.decode(bytes.subarray(j));
				if (s !== "a€😀b") ok = false;
			}
		}
		ok`)
	// An incomplete sequence at the end of a stream becomes U+FFFD; the
	// decoder then starts afresh (BOM handling included).
	jsCheck(t, vm, `const d = new TextDecoder(); d.decode(new Uint8Array([0xE2, 0x82]), {stream: true}) === "" && d.decode() === "\ufffd"`)
	jsCheck(t, vm, `const d = new TextDecoder(); d.decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x61])) === "a" && d.decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x62])) === "b"`)
	// Only the first BOM of a stream is removed.
	jsCheck(t, vm, `const d = new TextDecoder(); d.decode(new Uint8Array([0xEF, 0xBB]), {stream: true}) === "" && d.decode(new Uint8Array([0xBF, 0xEF, 0xBB, 0xBF])) === "\ufeff"`)
	jsCheck(t, vm, `const d = new TextDecoder("utf-8", {fatal: true}); d.decode(new Uint8Array([0xF0, 0x9F]), {stream: true}) === "" && d.decode(new Uint8Array([0x98, 0x80])) === "😀"`)
}

func TestTextDecoderUTF16AndLatin1(t *testing.T) {
	vm := newTestRuntime(t)
	jsCheck(t, vm, `new TextDecoder("utf-16le").decode(new Uint8Array([0xFF, 0xFE, 0x68, 0, 0x3D, 0xD8, 0x00, 0xDE])) === "h😀"`)
	jsCheck(t, vm, `new TextDecoder("utf-16be").decode(new Uint8Array([0xFE, 0xFF, 0, 0x68, 0xD8, 0x3D, 0xDE, 0x00])) === "h😀"`)
	jsCheck(t, vm, `new TextDecoder("utf-16le", {ignoreBOM: true}).decode(new Uint8Array([0xFF, 0xFE, 0x68, 0])) === "\ufeffh"`)
	// Lone surrogates and an odd trailing byte become U+FFFD.
	jsCheck(t, vm, `new TextDecoder("utf-16le").decode(new Uint8Array([0x00, 0xD8, 0x61, 0x00])) === "\ufffda"`)
	jsCheck(t, vm, `new TextDecoder("utf-16le").decode(new Uint8Array([0x00, 0xDC, 0x61])) === "\ufffd\ufffd"`)
	jsCheck(t, vm, `const d = new TextDecoder("utf-16le"); d.decode(new Uint8Array([0x3D]), {stream: true}) === "" && d.decode(new Uint8Array([0xD8, 0x00]), {stream: true}) === "" && d.decode(new Uint8Array([0xDE])) === "😀"`)
	expectText(t, jsThrows(t, vm, `new TextDecoder("utf-16le", {fatal: true}).decode(new Uint8Array([0x00, 0xD8]))`), "TypeError: Failed to decode input.")
	// windows-1252 decodes as ISO-8859-1, as workerd does.
	jsCheck(t, vm, `const s = new TextDecoder("latin1").decode(new Uint8Array([0x41, 0x80, 0xE9, 0xFF])); s.length === 4 && s.charCodeAt(1) === 0x80 && s.charCodeAt(2) === 0xE9 && s.charCodeAt(3) === 0xFF`)
}

func TestTextDecoderIllegalInvocation(t *testing.T) {
	vm := newTestRuntime(t)
	got := jsThrows(t, vm, `Object.getOwnPropertyDescriptor(TextDecoder.prototype, "encoding").get.call({})`)
	expectText(t, got, "TypeError: "+IllegalInvocation)
}
