package webapi

import (
	"fmt"
	"strconv"

	"github.com/dop251/goja"
)

// hostObject is the DynamicObject behind every Go-backed Web API instance
// (Headers, Request, Response, URL, ...). It carries the Go implementation
// value and, lazily, any expando properties that script code sets on it.
type hostObject struct {
	impl  any
	props map[string]goja.Value
	keys  []string
}

func (h *hostObject) Get(key string) goja.Value {
	if h.props == nil {
		return nil
	}
	return h.props[key]
}

func (h *hostObject) Set(key string, val goja.Value) bool {
	if h.props == nil {
		h.props = make(map[string]goja.Value)
	}
	if _, ok := h.props[key]; !ok {
		h.keys = append(h.keys, key)
	}
	h.props[key] = val
	return true
}

func (h *hostObject) Has(key string) bool {
	_, ok := h.props[key]
	return ok
}

func (h *hostObject) Delete(key string) bool {
	if _, ok := h.props[key]; !ok {
		return true
	}
	delete(h.props, key)
	for i, k := range h.keys {
		if k == key {
			h.keys = append(h.keys[:i], h.keys[i+1:]...)
			break
		}
	}
	return true
}

func (h *hostObject) Keys() []string { return h.keys }

// NewHostObject returns a script-visible object whose prototype is proto and
// whose Go implementation is impl. Impl recovers impl from the object.
func NewHostObject(vm *goja.Runtime, proto *goja.Object, impl any) *goja.Object {
	o := vm.NewDynamicObject(&hostObject{impl: impl})
	if proto != nil {
		_ = o.SetPrototype(proto)
	}
	return o
}

// Impl returns the Go implementation behind v if v is a host object whose
// implementation has type T.
func Impl[T any](v goja.Value) (T, bool) {
	var zero T
	o, ok := v.(*goja.Object)
	if !ok || o == nil {
		return zero, false
	}
	h, ok := o.Export().(*hostObject)
	if !ok {
		return zero, false
	}
	t, ok := h.impl.(T)
	return t, ok
}

// IllegalInvocation is workerd's message for a method of a runtime class
// called on something that is not of the class (a detached method, say).
const IllegalInvocation = "Illegal invocation: function called with incorrect `this` reference. " +
	"See https://developers.cloudflare.com/workers/observability/errors/#illegal-invocation-errors for details."

// MustImpl is Impl for method receivers: it throws workerd's TypeError
// (IllegalInvocation) when this is not of the class.
func MustImpl[T any](vm *goja.Runtime, v goja.Value) T {
	t, ok := Impl[T](v)
	if !ok {
		panic(vm.NewTypeError(IllegalInvocation))
	}
	return t
}

// Class is a Web API class defined from Go: a constructor function and its
// prototype object.
type Class struct {
	vm    *goja.Runtime
	Name  string
	Ctor  *goja.Object
	Proto *goja.Object
}

// Constructor builds the Go implementation of a new instance. It receives the
// call and returns the impl stored in the host object; it throws (panics with
// a goja value) on bad arguments.
type Constructor func(call goja.ConstructorCall) any

// classFactory makes a JavaScript class (so that calling it without new
// throws, and new.target is known) whose constructor hands over to Go. It is
// compiled once per process; a compiled program is immutable.
//
// The arguments are passed one by one with their count, not spread: a
// spread call runs the iterator protocol (an iterator and a result object
// per argument), which made up a third of the cost of a "new Response(s)".
// Web API constructors take at most three arguments; more arrive as the
// array itself.
var classFactory = goja.MustCompile("kiln:class", `(function (name, construct) {
  return { [name]: class { constructor(...args) {
    return construct(new.target, args.length, args[0], args[1], args[2], args[3], args.length > 4 ? args : undefined);
  } } }[name];
})`, true)

// DefineClass creates a class whose instances are host objects. If ctor is nil
// the class cannot be constructed from script ("Illegal constructor"), as with
// browser classes that only the platform creates. parent, if not nil, becomes
// the prototype of the new prototype (class X extends parent).
func DefineClass(vm *goja.Runtime, name string, ctor Constructor, parent *Class) *Class {
	c := &Class{vm: vm, Name: name}
	construct := func(call goja.FunctionCall) goja.Value {
		if ctor == nil {
			panic(vm.NewTypeError("Illegal constructor"))
		}
		newTarget, _ := call.Argument(0).(*goja.Object)
		cc := goja.ConstructorCall{NewTarget: newTarget, Arguments: constructorArgs(vm, call)}
		impl := ctor(cc)
		proto := c.Proto
		if newTarget != nil {
			if p, ok := newTarget.Get("prototype").(*goja.Object); ok && p != nil {
				proto = p
			}
		}
		return NewHostObject(vm, proto, impl)
	}
	factory, err := vm.RunProgram(classFactory)
	if err != nil {
		panic(err)
	}
	newClass, _ := goja.AssertFunction(factory)
	ctorVal, err := newClass(goja.Undefined(), vm.ToValue(name), vm.ToValue(construct))
	if err != nil {
		panic(err)
	}
	c.Ctor = ctorVal.(*goja.Object)
	c.Proto = c.Ctor.Get("prototype").(*goja.Object)
	if parent != nil {
		_ = c.Proto.SetPrototype(parent.Proto)
		_ = c.Ctor.SetPrototype(parent.Ctor)
	}
	_ = c.Proto.DefineDataPropertySymbol(goja.SymToStringTag, vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return c
}

// constructorArgs recovers the arguments of a constructor call from what
// classFactory's constructor passes: new.target, the count, the first
// four, and the whole array when there are more.
func constructorArgs(vm *goja.Runtime, call goja.FunctionCall) []goja.Value {
	n := int(call.Argument(1).ToInteger())
	if n <= 4 {
		return call.Arguments[2 : 2+n]
	}
	all := call.Argument(6).ToObject(vm)
	args := make([]goja.Value, n)
	for i := range args {
		args[i] = all.Get(strconv.Itoa(i))
	}
	return args
}

// Method adds a prototype method.
func (c *Class) Method(name string, length int, fn func(call goja.FunctionCall) goja.Value) {
	f := c.vm.ToValue(fn).(*goja.Object)
	_ = f.DefineDataProperty("name", c.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = f.DefineDataProperty("length", c.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = c.Proto.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// Static adds a static method on the constructor.
func (c *Class) Static(name string, length int, fn func(call goja.FunctionCall) goja.Value) {
	f := c.vm.ToValue(fn).(*goja.Object)
	_ = f.DefineDataProperty("name", c.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = f.DefineDataProperty("length", c.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = c.Ctor.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// Getter adds a read-only accessor property on the prototype.
func (c *Class) Getter(name string, get func(this goja.Value) goja.Value) {
	g := c.vm.ToValue(func(call goja.FunctionCall) goja.Value { return get(call.This) })
	_ = c.Proto.DefineAccessorProperty(name, g, nil, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// Accessor adds a read-write accessor property on the prototype.
func (c *Class) Accessor(name string, get func(this goja.Value) goja.Value, set func(this goja.Value, v goja.Value)) {
	g := c.vm.ToValue(func(call goja.FunctionCall) goja.Value { return get(call.This) })
	s := c.vm.ToValue(func(call goja.FunctionCall) goja.Value { set(call.This, call.Argument(0)); return goja.Undefined() })
	_ = c.Proto.DefineAccessorProperty(name, g, s, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// New constructs an instance from Go, bypassing the script constructor.
func (c *Class) New(impl any) *goja.Object {
	return NewHostObject(c.vm, c.Proto, impl)
}

// Expose installs the constructor as a non-enumerable global, as Web IDL
// interfaces are.
func (c *Class) Expose() {
	_ = c.vm.GlobalObject().DefineDataProperty(c.Name, c.Ctor, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// ThrowTypeError throws a JavaScript TypeError with the given message.
func ThrowTypeError(vm *goja.Runtime, format string, args ...any) {
	panic(vm.NewTypeError(fmt.Sprintf(format, args...)))
}

// ThrowRangeError throws a JavaScript RangeError with the given message.
func ThrowRangeError(vm *goja.Runtime, format string, args ...any) {
	ctor, _ := goja.AssertConstructor(vm.Get("RangeError"))
	e, err := ctor(nil, vm.ToValue(fmt.Sprintf(format, args...)))
	if err != nil {
		panic(err)
	}
	panic(e)
}

// ThrowDOMException throws a DOMException with the given message and name
// (e.g. "InvalidCharacterError", "DataCloneError"). DOMException is defined
// by the prelude; see prelude.js.
func ThrowDOMException(vm *goja.Runtime, message, name string) {
	panic(NewDOMException(vm, message, name))
}

// NewDOMException constructs a DOMException value.
func NewDOMException(vm *goja.Runtime, message, name string) *goja.Object {
	ctor, ok := goja.AssertConstructor(vm.Get("DOMException"))
	if !ok {
		return vm.NewGoError(fmt.Errorf("%s: %s", name, message))
	}
	e, err := ctor(nil, vm.ToValue(message), vm.ToValue(name))
	if err != nil {
		return vm.NewGoError(err)
	}
	return e
}

// BytesOf returns a copy of the bytes of an ArrayBuffer or ArrayBufferView
// (typed array or DataView), and false for any other value. It never runs
// script code and never walks other objects.
func BytesOf(vm *goja.Runtime, v goja.Value) ([]byte, bool) {
	b, ok := bufferSourceBytes(vm, v)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// NewUint8Array returns a new Uint8Array holding a copy of b.
func NewUint8Array(vm *goja.Runtime, b []byte) goja.Value {
	ab := vm.NewArrayBuffer(append([]byte(nil), b...))
	ctor, _ := goja.AssertConstructor(vm.Get("Uint8Array"))
	v, err := ctor(nil, vm.ToValue(ab))
	if err != nil {
		panic(err)
	}
	return v
}

// isView reports ArrayBuffer.isView(o).
func isView(vm *goja.Runtime, o *goja.Object) bool {
	ctor, ok := vm.Get("ArrayBuffer").(*goja.Object)
	if !ok {
		return false
	}
	fn, ok := goja.AssertFunction(ctor.Get("isView"))
	if !ok {
		return false
	}
	r, err := fn(goja.Undefined(), o)
	return err == nil && r.ToBoolean()
}
