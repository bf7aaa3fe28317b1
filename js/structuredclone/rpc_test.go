package structuredclone

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// capTable is a caller's side table of captured objects, as a Durable Object
// stub would keep one per call.
type capTable struct {
	objs  []*goja.Object
	kinds []CapabilityKind
	calls int
	// host reports whether a host-object candidate is one the caller knows
	// (a stub, a Request); nil accepts none.
	host func(*goja.Object) bool
}

func (c *capTable) capture(o *goja.Object, kind CapabilityKind) (uint32, error) {
	c.calls++
	if kind == CapabilityHostObject && (c.host == nil || !c.host(o)) {
		return 0, fmt.Errorf("unknown object: %w", ErrNotCapturable)
	}
	c.objs = append(c.objs, o)
	c.kinds = append(c.kinds, kind)
	return uint32(len(c.objs) - 1), nil
}

// rpcVM returns a runtime with an RpcTarget class and rpcOpts for it.
func rpcVM(t testing.TB) (*goja.Runtime, *capTable, Options) {
	t.Helper()
	vm := goja.New()
	v, err := vm.RunString(`class RpcTarget {}; RpcTarget`)
	if err != nil {
		t.Fatal(err)
	}
	tab := &capTable{}
	return vm, tab, Options{RPC: true, RpcTarget: v.(*goja.Object), Capture: tab.capture}
}

func run(t testing.TB, vm *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := vm.RunString(src)
	if err != nil {
		t.Fatalf("%s -> %v", src, err)
	}
	return v
}

func wantCloneError(t *testing.T, err error, want string) {
	t.Helper()
	var dce *DataCloneError
	if !errors.As(err, &dce) {
		t.Fatalf("got %v, want DataCloneError %q", err, want)
	}
	if dce.Message != want {
		t.Fatalf("message %q, want %q", dce.Message, want)
	}
}

func TestRPCRejectsClassInstances(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	run(t, vm, `class NonRpcClass { constructor() { this.x = 1; } }`)
	const want = `Could not serialize object of type "NonRpcClass". This type does not support serialization.`
	for _, src := range []string{
		`new NonRpcClass()`,
		`({deep: [1, {v: new NonRpcClass()}]})`,
		`new Map([["k", new NonRpcClass()]])`,
	} {
		v := run(t, vm, src)
		_, err := Serialize(vm, v, opts)
		wantCloneError(t, err, want)
		// Plain structured clone copies it as a plain object.
		b, err := Serialize(vm, v, Options{})
		if err != nil {
			t.Fatalf("plain mode %s: %v", src, err)
		}
		if _, err := Deserialize(vm, b); err != nil {
			t.Fatal(err)
		}
	}
	// The hook was asked (as for a host object) and declined.
	if len(tab.objs) != 0 || tab.calls != 3 {
		t.Fatalf("captured %d objects in %d calls", len(tab.objs), tab.calls)
	}
	// Without a hook, the same error.
	_, err := Serialize(vm, run(t, vm, `new NonRpcClass()`), Options{RPC: true})
	wantCloneError(t, err, want)
	// An object inheriting from a non-class prototype: the inherited
	// constructor names it, as in workerd.
	_, err = Serialize(vm, run(t, vm, `Object.create({a: 1})`), opts)
	wantCloneError(t, err, `Could not serialize object of type "Object". This type does not support serialization.`)
}

func TestRPCAcceptsBuiltins(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	srcs := []string{
		`({a: 1, b: "x", c: null, d: undefined, e: 2n})`,
		`Object.create(null)`,
		`[1, , [2]]`,
		`new Date(5)`, `/re/g`, `new Map([[1, 2]])`, `new Set([1])`,
		`new ArrayBuffer(4)`, `new Uint8Array(4)`, `new DataView(new ArrayBuffer(2))`,
		`new TypeError("t")`, `new Boolean(true)`, `new Number(1)`, `new String("s")`, `Object(1n)`,
		`class A extends Array {}; new A(1, 2)`,
		`class M extends Map {}; new M([[1, 2]])`,
		`class E extends RangeError {}; new E("e")`,
		`class U extends Uint8Array {}; new U(2)`,
	}
	for _, src := range srcs {
		v := run(t, vm, src)
		rpc, err := Serialize(vm, v, opts)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		plain, err := Serialize(vm, v, Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		// Same bytes as plain mode.
		if !bytes.Equal(rpc, plain) {
			t.Errorf("%s: RPC bytes % x differ from plain % x", src, rpc, plain)
		}
	}
	if tab.calls != 0 {
		t.Fatalf("Capture called %d times for built-ins", tab.calls)
	}
}

func TestRPCCapturesFunction(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	v := run(t, vm, `({double: x => x * 2, n: 7})`)
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.objs) != 1 || tab.kinds[0] != CapabilityFunction {
		t.Fatalf("captured %v", tab.kinds)
	}
	if !bytes.Contains(data, []byte{tagCapability, byte(CapabilityFunction), 0}) {
		t.Fatalf("no capability in % x", data)
	}

	// The receiving runtime resolves the capability to a Go function that
	// calls the original in its runtime, as a stub would.
	vm2 := goja.New()
	var resolved []uint32
	got, err := DeserializeWith(vm2, data, DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
		resolved = append(resolved, index)
		if kind != CapabilityFunction {
			return nil, fmt.Errorf("kind %s", kind)
		}
		target, ok := goja.AssertFunction(tab.objs[index])
		if !ok {
			return nil, errors.New("not callable")
		}
		return vm2.ToValue(func(call goja.FunctionCall) goja.Value {
			r, err := target(goja.Undefined(), vm.ToValue(call.Argument(0).Export()))
			if err != nil {
				panic(vm2.NewGoError(err))
			}
			return vm2.ToValue(r.Export())
		}), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resolved) != 1 || resolved[0] != 0 {
		t.Fatalf("resolved %v", resolved)
	}
	_ = vm2.Set("got", got)
	check(t, vm2, `typeof got.double === "function" && got.double(21) === 42 && got.n === 7`)
}

func TestRPCFunctionsWithoutHook(t *testing.T) {
	vm, _, opts := rpcVM(t)
	f := run(t, vm, `(function foo() {})`)
	const want = `function foo() {} could not be cloned.`
	_, err := Serialize(vm, f, Options{RPC: true})
	wantCloneError(t, err, want)
	// A hook outside RPC mode is not used.
	calls := 0
	_, err = Serialize(vm, f, Options{Capture: func(*goja.Object, CapabilityKind) (uint32, error) { calls++; return 0, nil }})
	wantCloneError(t, err, want)
	if calls != 0 {
		t.Fatal("Capture called outside RPC mode")
	}
	// A hook that declines.
	opts.Capture = func(*goja.Object, CapabilityKind) (uint32, error) { return 0, ErrNotCapturable }
	_, err = Serialize(vm, f, opts)
	wantCloneError(t, err, want)
	// A hook that fails: its error, wrapped.
	boom := errors.New("table full")
	opts.Capture = func(*goja.Object, CapabilityKind) (uint32, error) { return 0, boom }
	_, err = Serialize(vm, run(t, vm, `[1, () => 2]`), opts)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want wrapped %v", err, boom)
	}
}

func TestRPCCapturesRpcTarget(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	v := run(t, vm, `
		class Counter extends RpcTarget { constructor() { super(); this.n = 0; } inc() { return ++this.n; } }
		class Sub extends Counter {}
		[new Counter(), new Sub(), new RpcTarget()]`)
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.kinds) != 3 {
		t.Fatalf("captured %v", tab.kinds)
	}
	for _, k := range tab.kinds {
		if k != CapabilityRpcTarget {
			t.Fatalf("kinds %v", tab.kinds)
		}
	}
	vm2 := goja.New()
	got, err := DeserializeWith(vm2, data, DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
		stub := vm2.NewObject()
		_ = stub.Set("kind", kind.String())
		_ = stub.Set("index", index)
		return stub, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = vm2.Set("got", got)
	check(t, vm2, `got.length === 3 && got.every((s, i) => s.kind === "rpc-target" && s.index === i)`)

	// Without a hook an RpcTarget is a class instance like any other.
	_, err = Serialize(vm, run(t, vm, `new Counter()`), Options{RPC: true, RpcTarget: opts.RpcTarget})
	wantCloneError(t, err, `Could not serialize object of type "Counter". This type does not support serialization.`)
	// Symbol.hasInstance cannot fake it.
	_, err = Serialize(vm, run(t, vm, `Object.defineProperty(RpcTarget, Symbol.hasInstance, {value: () => true}); class Fake {}; new Fake()`), opts)
	wantCloneError(t, err, `Could not serialize object of type "Fake". This type does not support serialization.`)
}

// TestRPCNestedCaptures checks captures inside objects, arrays, maps, sets and
// error causes, with stream-order indices, and a round trip.
func TestRPCNestedCaptures(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	v := run(t, vm, `
		class T extends RpcTarget {}
		const f = () => "f", g = function g() {}, h = async () => 1;
		({
			list: [1, f, {inner: [g]}],
			map: new Map([[h, new T()], ["k", [f]]]),
			set: new Set([new T()]),
			err: new Error("e", {cause: g}),
		})`)
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	F, R := CapabilityFunction, CapabilityRpcTarget
	wantKinds := []CapabilityKind{F, F, F, R, R}
	if fmt.Sprint(tab.kinds) != fmt.Sprint(wantKinds) {
		t.Fatalf("kinds %v, want %v", tab.kinds, wantKinds)
	}
	if tab.calls != 5 {
		t.Fatalf("%d Capture calls for 5 distinct objects", tab.calls)
	}
	vm2 := goja.New()
	calls := 0
	got, err := DeserializeWith(vm2, data, DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
		calls++
		return vm2.ToValue(fmt.Sprintf("%s#%d", kind, index)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 5 {
		t.Fatalf("Resolve called %d times", calls)
	}
	_ = vm2.Set("got", got)
	check(t, vm2, `
		got.list[1] === "function#0" && got.list[2].inner[0] === "function#1" &&
		got.map.get("function#2") === "rpc-target#3" && got.map.get("k")[0] === "function#0" &&
		[...got.set][0] === "rpc-target#4" && got.err.cause === "function#1"`)
}

func TestRPCCaptureIdentity(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	v := run(t, vm, `const f = () => 1; const t = new (class extends RpcTarget {})(); ({a: f, b: [f, t], c: new Map([[t, f]])})`)
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if tab.calls != 2 || len(tab.objs) != 2 {
		t.Fatalf("%d Capture calls, %d captured; want one per object", tab.calls, len(tab.objs))
	}
	vm2 := goja.New()
	calls := 0
	got, err := DeserializeWith(vm2, data, DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
		calls++
		o := vm2.NewObject()
		_ = o.Set("index", index)
		return o, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("Resolve called %d times", calls)
	}
	_ = vm2.Set("got", got)
	check(t, vm2, `got.a === got.b[0] && got.b[1] === [...got.c.keys()][0] && got.c.get(got.b[1]) === got.a && got.a.index === 0 && got.b[1].index === 1`)
}

func TestRPCHostObjects(t *testing.T) {
	vm, tab, opts := rpcVM(t)
	proto := run(t, vm, `(function Request() {}).prototype`).(*goja.Object)
	req := vm.NewDynamicObject(goHost{})
	_ = req.SetPrototype(proto)
	other := vm.NewDynamicObject(goHost{})
	_ = other.SetPrototype(proto)
	stub := vm.NewProxy(vm.NewObject(), &goja.ProxyTrapConfig{})
	stubObj := vm.ToValue(stub).(*goja.Object)
	tab.host = func(o *goja.Object) bool { return o == req || o == stubObj }

	v := vm.NewArray(req, stubObj, req)
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tab.kinds) != fmt.Sprint([]CapabilityKind{CapabilityHostObject, CapabilityHostObject}) {
		t.Fatalf("kinds %v", tab.kinds)
	}
	vm2 := goja.New()
	got, err := DeserializeWith(vm2, data, DeserializeOptions{Resolve: func(kind CapabilityKind, index uint32) (goja.Value, error) {
		return vm2.ToValue(fmt.Sprintf("%s#%d", kind, index)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = vm2.Set("got", got)
	check(t, vm2, `got.join() === "host object#0,host object#1,host object#0"`)

	// A host object the caller does not know keeps today's error.
	_, err = Serialize(vm, vm.NewArray(other), opts)
	wantCloneError(t, err, `Could not serialize object of type "Request". This type does not support serialization.`)
	// So does an unknown proxy.
	_, err = Serialize(vm, vm.ToValue(vm.NewProxy(vm.NewObject(), &goja.ProxyTrapConfig{})), opts)
	wantCloneError(t, err, `#<Object> could not be cloned.`)
	// In plain mode the hook is not asked.
	_, err = Serialize(vm, req, Options{Capture: opts.Capture})
	wantCloneError(t, err, `Could not serialize object of type "Request". This type does not support serialization.`)
}

func TestRPCDecodeWithoutResolver(t *testing.T) {
	vm, _, opts := rpcVM(t)
	data, err := Serialize(vm, run(t, vm, `({f() {}, g: [() => 1]})`), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Deserialize(vm, data); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("Deserialize of RPC data: got %v, want ErrInvalidData", err)
	}
	resolve := func(CapabilityKind, uint32) (goja.Value, error) { return goja.Undefined(), nil }
	// A resolver's error is returned, wrapped.
	boom := errors.New("no such capability")
	if _, err := DeserializeWith(vm, data, DeserializeOptions{Resolve: func(CapabilityKind, uint32) (goja.Value, error) { return nil, boom }}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want wrapped %v", err, boom)
	}
	// A nil result stands for undefined.
	v, err := DeserializeWith(vm, data, DeserializeOptions{Resolve: func(CapabilityKind, uint32) (goja.Value, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	_ = vm.Set("nilres", v)
	check(t, vm, `nilres.f === undefined && "f" in nilres && nilres.g[0] === undefined`)

	bad := [][]byte{
		{Magic, Version, tagCapability},
		{Magic, Version, tagCapability, 0, 0},
		{Magic, Version, tagCapability, 4, 0},
		{Magic, Version, tagCapability, byte(CapabilityFunction)},
		{Magic, Version, tagCapability, byte(CapabilityFunction), 0x80},
		{Magic, Version, tagCapability, byte(CapabilityFunction), 0x80, 0x80, 0x80, 0x80, 0x10}, // 2^32
		{Magic, Version, tagCapability, byte(CapabilityFunction), 0, 0},                         // trailing
	}
	for _, b := range bad {
		for _, opt := range []DeserializeOptions{{}, {Resolve: resolve}} {
			if _, err := DeserializeWith(vm, b, opt); !errors.Is(err, ErrInvalidData) {
				t.Errorf("% x: got %v, want ErrInvalidData", b, err)
			}
		}
	}
	// Largest index is fine.
	maxIdx := binary.AppendUvarint([]byte{Magic, Version, tagCapability, byte(CapabilityHostObject)}, 1<<32-1)
	if _, err := DeserializeWith(vm, maxIdx, DeserializeOptions{Resolve: resolve}); err != nil {
		t.Fatal(err)
	}
	// Every prefix of RPC data fails cleanly.
	for _, data := range rpcSeedCorpus(t) {
		for n := 0; n < len(data); n++ {
			if _, err := DeserializeWith(vm, data[:n], DeserializeOptions{Resolve: resolve}); !errors.Is(err, ErrInvalidData) {
				t.Fatalf("prefix %d of % x: got %v", n, data, err)
			}
		}
	}
}

func TestRPCMessageSize(t *testing.T) {
	vm, _, opts := rpcVM(t)
	// Header, tag B, varint length, then the bytes: exactly MaxRPCMessage.
	overhead := 3 + len(binary.AppendUvarint(nil, MaxRPCMessage))
	n := MaxRPCMessage - overhead
	v := vm.ToValue(vm.NewArrayBuffer(make([]byte, n)))
	data, err := Serialize(vm, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != MaxRPCMessage {
		t.Fatalf("size %d, want %d", len(data), MaxRPCMessage)
	}
	// One byte more fails, with workerd's message and the full size.
	v = vm.ToValue(vm.NewArrayBuffer(make([]byte, n+1)))
	_, err = Serialize(vm, v, opts)
	var se *RPCSizeError
	if !errors.As(err, &se) || !errors.Is(err, ErrRPCMessageTooLarge) {
		t.Fatalf("got %v, want *RPCSizeError", err)
	}
	want := fmt.Sprintf("Serialized RPC arguments or return values are limited to 32MiB, but the size of this value was: %d bytes.", MaxRPCMessage+1)
	if se.Size != MaxRPCMessage+1 || se.Message != want {
		t.Fatalf("size %d, message %q", se.Size, se.Message)
	}
	// Plain mode has no limit.
	if _, err := Serialize(vm, v, Options{}); err != nil {
		t.Fatal(err)
	}
	// Many small pieces: the size is still counted exactly once the limit
	// has been passed.
	_ = vm.Set("big", vm.NewArrayBuffer(make([]byte, 1<<20)))
	v = run(t, vm, `const parts = []; for (let i = 0; i < 40; i++) parts.push(big.slice(0), "s".repeat(1000)); parts`)
	plain, err := Serialize(vm, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Serialize(vm, v, opts)
	if !errors.As(err, &se) || se.Size != len(plain) {
		t.Fatalf("got %v, want size %d", err, len(plain))
	}
	if !strings.HasSuffix(se.Error(), " bytes.") {
		t.Fatalf("Error() %q", se.Error())
	}
}

// rpcSeedValues are scripts whose RPC-mode serializations (with every
// capability captured) seed the fuzzer.
var rpcSeedValues = []string{
	`() => 1`,
	`({f: () => 1, t: new (class extends RpcTarget {})(), n: [1, "x"]})`,
	`(() => { const f = function f() {}; return [f, f, new Map([[f, {g: f}]])]; })()`,
	`new Set([() => 1, new RpcTarget(), new Error("e", {cause: () => 2})])`,
	`(() => { const o = {}; o.self = o; o.cb = async () => {}; return o; })()`,
}

func rpcSeedCorpus(t testing.TB) [][]byte {
	t.Helper()
	vm, tab, opts := rpcVM(t)
	host := vm.NewDynamicObject(goHost{})
	tab.host = func(o *goja.Object) bool { return o == host }
	var out [][]byte
	for _, src := range rpcSeedValues {
		b, err := Serialize(vm, run(t, vm, src), opts)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out = append(out, b)
	}
	b, err := Serialize(vm, vm.NewArray(host, 1, host), opts)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, b)
}
