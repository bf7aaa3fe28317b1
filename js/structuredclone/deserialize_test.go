package structuredclone

import (
	"errors"
	"testing"

	"github.com/dop251/goja"
)

// seedValues are scripts whose serializations seed the fuzzer and the
// truncation test.
var seedValues = []string{
	`undefined`, `null`, `true`, `-0`, `NaN`, `123456789`, `1.25`, `-(2n ** 70n)`,
	`"ascii"`, `"héllo"`, `"日本\ud800"`,
	`({a: 1, b: [1, , "x"], c: {d: null}})`,
	`(() => { const o = {}; o.self = o; return [o, o]; })()`,
	`new Map([["k", new Set([1, 2])], [{}, new Date(5)]])`,
	`[/ab+c/gi, new Boolean(false), new Number(3), new String("s"), Object(9n)]`,
	`(() => { const b = new ArrayBuffer(16); return [new Uint8Array(b, 2, 3), new DataView(b, 4), new Float64Array(b, 8, 1), b]; })()`,
	`new BigInt64Array([1n, -1n])`,
	`new Error("m", {cause: new TypeError("c")})`,
	`(() => { const a = []; a[70000] = 1; a.p = 2; return a; })()`,
	`({"k\ud800": "v"})`,
}

func seedCorpus(t testing.TB) [][]byte {
	t.Helper()
	vm := goja.New()
	var out [][]byte
	for _, src := range seedValues {
		v, err := vm.RunString(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		b, err := Serialize(vm, v, Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out = append(out, b)
	}
	return out
}

func TestDeserializeRejectsBadHeaders(t *testing.T) {
	vm := goja.New()
	cases := []struct {
		data []byte
		want error
	}{
		{nil, ErrInvalidData},
		{[]byte{Magic}, ErrInvalidData},
		{[]byte{0xFF, 0x0F, 'T'}, ErrInvalidData}, // V8's header is not ours
		{[]byte{Magic, 0, 'T'}, ErrUnsupportedVersion},
		{[]byte{Magic, Version + 1, 'T'}, ErrUnsupportedVersion},
		{[]byte{Magic, Version}, ErrInvalidData},
		{[]byte{Magic, Version, 'T', 'T'}, ErrInvalidData},          // trailing data
		{[]byte{Magic, Version, '?'}, ErrInvalidData},               // unknown tag
		{[]byte{Magic, Version, tagBackRef, 0}, ErrInvalidData},     // no object 0
		{[]byte{Magic, Version, tagLatin1, 5, 'a'}, ErrInvalidData}, // short string
		{[]byte{Magic, Version, tagInt, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, ErrInvalidData},
		{[]byte{Magic, Version, tagObject, tagEnd, 1}, ErrInvalidData},                            // count mismatch
		{[]byte{Magic, Version, tagObject, tagNull, tagNull, tagEnd, 1}, ErrInvalidData},          // key not a string
		{[]byte{Magic, Version, tagView, viewUint16, tagArrayBuffer, 1, 0, 0, 1}, ErrInvalidData}, // view outside buffer
		{[]byte{Magic, Version, tagView, viewUint8, tagNull, 0, 0}, ErrInvalidData},               // view over null
		{[]byte{Magic, Version, tagView, 99, tagArrayBuffer, 0, 0, 0}, ErrInvalidData},
		{[]byte{Magic, Version, tagRegExp, tagLatin1, 1, '(', tagLatin1, 0}, ErrInvalidData}, // invalid pattern
		{[]byte{Magic, Version, tagError, 9, 0}, ErrInvalidData},
		{[]byte{Magic, Version, tagDenseArray, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, tagEnd, 0}, ErrInvalidData},
		{[]byte{Magic, Version, tagSparseArray, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, tagEnd, 0}, ErrInvalidData}, // length > 2^32-1
	}
	for i, c := range cases {
		v, err := Deserialize(vm, c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("case %d (% x): got %v, %v; want %v", i, c.data, v, err, c.want)
		}
	}
}

// TestDeserializeTruncated feeds every proper prefix of valid data: each must
// fail cleanly.
func TestDeserializeTruncated(t *testing.T) {
	vm := goja.New()
	for _, data := range seedCorpus(t) {
		if _, err := Deserialize(vm, data); err != nil {
			t.Fatalf("full data % x: %v", data, err)
		}
		for n := 0; n < len(data); n++ {
			if _, err := Deserialize(vm, data[:n]); !errors.Is(err, ErrInvalidData) {
				t.Fatalf("prefix %d of % x: got %v, want ErrInvalidData", n, data, err)
			}
		}
	}
}

// FuzzDeserialize checks that Deserialize and DeserializeWith never panic,
// and that whatever they accept serializes again (in plain and RPC mode) and
// reads back.
func FuzzDeserialize(f *testing.F) {
	for _, b := range seedCorpus(f) {
		f.Add(b)
	}
	for _, b := range rpcSeedCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vm := goja.New()
		if v, ok := fuzzRead(t, vm, data, DeserializeOptions{}); ok {
			again, err := Serialize(vm, v, Options{})
			if err != nil {
				t.Fatalf("re-serializing an accepted value: %v", err)
			}
			if _, err := Deserialize(vm, again); err != nil {
				t.Fatalf("reading back a re-serialized value: %v", err)
			}
		}

		// RPC: capabilities resolve to Go functions and host objects, which
		// an RPC-mode Serialize captures again.
		resolve := DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
			if kind == CapabilityFunction {
				return vm.ToValue(func(goja.FunctionCall) goja.Value { return vm.ToValue(index) }), nil
			}
			return vm.NewDynamicObject(goHost{}), nil
		}}
		v, ok := fuzzRead(t, vm, data, resolve)
		if !ok {
			return
		}
		n := uint32(0)
		again, err := Serialize(vm, v, Options{RPC: true, Capture: func(*goja.Object, CapabilityKind) (uint32, error) {
			n++
			return n, nil
		}})
		if err != nil {
			t.Fatalf("re-serializing an accepted value in RPC mode: %v", err)
		}
		if _, err := DeserializeWith(vm, again, resolve); err != nil {
			t.Fatalf("reading back a value re-serialized in RPC mode: %v", err)
		}
	})
}

func fuzzRead(t *testing.T, vm *goja.Runtime, data []byte, opts DeserializeOptions) (goja.Value, bool) {
	v, err := DeserializeWith(vm, data, opts)
	if err != nil {
		if !errors.Is(err, ErrInvalidData) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrTooDeep) {
			t.Fatalf("unexpected error class: %v", err)
		}
		return nil, false
	}
	return v, true
}
