package structuredclone

import (
	"fmt"
	"math/big"
	"reflect"

	"github.com/dop251/goja"
)

// Export types of goja's built-in objects, used to recognise them without
// running script (goja classifies Map, Set, typed arrays and Promise objects
// as class "Object"). These are constants of goja's API, not mutable state.
var (
	typeMapExport   = reflect.TypeOf([][2]any{})
	typeSetExport   = reflect.TypeOf([]any{})
	typePlainObject = reflect.TypeOf(map[string]any{})
	typeArrayBuffer = reflect.TypeOf(goja.ArrayBuffer{})
	typePromise     = reflect.TypeOf((*goja.Promise)(nil))
	typeProxy       = reflect.TypeOf(goja.Proxy{})
	typeBigInt      = reflect.TypeOf((*big.Int)(nil))
	typeSymbol      = reflect.TypeOf("") // Object(Symbol()): a class-"Object" wrapper exporting a string
	typeBytes       = reflect.TypeOf([]byte(nil))
	typeBool        = reflect.TypeOf(false)
	typeInt64       = reflect.TypeOf(int64(0))
	typeFloat64     = reflect.TypeOf(float64(0))

	// typedArrayKinds maps a typed array's export type to its view kind.
	// []byte is both Uint8Array and Uint8ClampedArray; the toStringTag
	// getter tells them apart.
	typedArrayKinds = map[reflect.Type]byte{
		typeBytes:                      viewUint8,
		reflect.TypeOf([]int8(nil)):    viewInt8,
		reflect.TypeOf([]uint16(nil)):  viewUint16,
		reflect.TypeOf([]int16(nil)):   viewInt16,
		reflect.TypeOf([]uint32(nil)):  viewUint32,
		reflect.TypeOf([]int32(nil)):   viewInt32,
		reflect.TypeOf([]float32(nil)): viewFloat32,
		reflect.TypeOf([]float64(nil)): viewFloat64,
		reflect.TypeOf([]int64(nil)):   viewBigInt64,
		reflect.TypeOf([]uint64(nil)):  viewBigUint64,
	}
)

// intrinsics looks up built-in functions of one runtime the first time a
// Serialize or Deserialize call needs them. They are read from the global
// object, so a script that replaces a global (say, Map) changes what the
// codec calls; the built-ins themselves check their receivers.
type intrinsics struct {
	vm      *goja.Runtime
	funcs   map[string]goja.Callable
	objects map[string]*goja.Object
}

func newIntrinsics(vm *goja.Runtime) *intrinsics {
	return &intrinsics{vm: vm}
}

// global returns the global constructor or namespace called name.
func (in *intrinsics) global(name string) (*goja.Object, error) {
	if o, ok := in.objects[name]; ok {
		return o, nil
	}
	o, ok := in.vm.Get(name).(*goja.Object)
	if !ok || o == nil {
		return nil, fmt.Errorf("structuredclone: the global %s is missing", name)
	}
	if in.objects == nil {
		in.objects = make(map[string]*goja.Object)
	}
	in.objects[name] = o
	return o, nil
}

// proto returns ctor.prototype.
func (in *intrinsics) proto(ctor string) (*goja.Object, error) {
	key := ctor + ".prototype"
	if o, ok := in.objects[key]; ok {
		return o, nil
	}
	c, err := in.global(ctor)
	if err != nil {
		return nil, err
	}
	p, ok := c.Get("prototype").(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("structuredclone: %s.prototype is not an object", ctor)
	}
	in.objects[key] = p
	return p, nil
}

// method returns ctor.prototype[name] (or ctor[name] when static is true).
func (in *intrinsics) method(ctor, name string, static bool) (goja.Callable, error) {
	key := ctor + "." + name
	if static {
		key = ctor + ".static." + name
	}
	if f, ok := in.funcs[key]; ok {
		return f, nil
	}
	var holder *goja.Object
	var err error
	if static {
		holder, err = in.global(ctor)
	} else {
		holder, err = in.proto(ctor)
	}
	if err != nil {
		return nil, err
	}
	f, ok := goja.AssertFunction(holder.Get(name))
	if !ok {
		return nil, fmt.Errorf("structuredclone: %s is not a function", key)
	}
	in.cache(key, f)
	return f, nil
}

func (in *intrinsics) cache(key string, f goja.Callable) {
	if in.funcs == nil {
		in.funcs = make(map[string]goja.Callable)
	}
	in.funcs[key] = f
}

// getter returns the accessor function of proto's own property key, which may
// be a string or a symbol.
func (in *intrinsics) getter(cacheKey string, proto *goja.Object, key goja.Value) (goja.Callable, error) {
	if f, ok := in.funcs[cacheKey]; ok {
		return f, nil
	}
	gopd, err := in.method("Object", "getOwnPropertyDescriptor", true)
	if err != nil {
		return nil, err
	}
	obj, err := in.global("Object")
	if err != nil {
		return nil, err
	}
	desc, err := gopd(obj, proto, key)
	if err != nil {
		return nil, err
	}
	d, ok := desc.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("structuredclone: no accessor %s", cacheKey)
	}
	f, ok := goja.AssertFunction(d.Get("get"))
	if !ok {
		return nil, fmt.Errorf("structuredclone: no accessor %s", cacheKey)
	}
	in.cache(cacheKey, f)
	return f, nil
}

// typedArrayGetter returns a getter of %TypedArray%.prototype: "buffer",
// "byteOffset", "length" or "@@toStringTag".
func (in *intrinsics) typedArrayGetter(name string) (goja.Callable, error) {
	key := "%TypedArray%." + name
	if f, ok := in.funcs[key]; ok {
		return f, nil
	}
	u8, err := in.proto("Uint8Array")
	if err != nil {
		return nil, err
	}
	ta := u8.Prototype()
	if ta == nil {
		return nil, fmt.Errorf("structuredclone: %%TypedArray%%.prototype is missing")
	}
	var k goja.Value = in.vm.ToValue(name)
	if name == "@@toStringTag" {
		k = goja.SymToStringTag
	}
	return in.getter(key, ta, k)
}

// dataViewGetter returns a getter of DataView.prototype.
func (in *intrinsics) dataViewGetter(name string) (goja.Callable, error) {
	p, err := in.proto("DataView")
	if err != nil {
		return nil, err
	}
	return in.getter("DataView."+name, p, in.vm.ToValue(name))
}

// construct calls new ctor(args...).
func (in *intrinsics) construct(ctor string, args ...goja.Value) (*goja.Object, error) {
	c, err := in.global(ctor)
	if err != nil {
		return nil, err
	}
	return in.vm.New(c, args...)
}
