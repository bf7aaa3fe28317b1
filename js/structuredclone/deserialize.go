package structuredclone

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf16"

	"github.com/dop251/goja"
)

// Deserialize decodes data written by Serialize (any format version up to
// Version) into a new value of vm. It returns an error wrapping
// ErrInvalidData or ErrUnsupportedVersion for input it cannot read, and never
// panics on malformed input. It runs no script of its own, though it calls
// the runtime's built-in constructors (Map, Date, RegExp, typed arrays, ...)
// as found on the global object. Data holding capabilities (written in RPC
// mode) needs DeserializeWith and a Resolve hook; here it is invalid.
func Deserialize(vm *goja.Runtime, data []byte) (goja.Value, error) {
	return DeserializeWith(vm, data, DeserializeOptions{})
}

// DeserializeOptions tunes DeserializeWith. The zero value is Deserialize.
type DeserializeOptions struct {
	// Resolve returns the value that stands for capability index of the
	// given kind, as numbered by the Capture hook of the serializing side
	// (Options.Capture): typically a proxy function or an RPC stub made by
	// the caller. It is called once per capability in the data, in stream
	// order; back-references to a capability get the same value. An error
	// aborts DeserializeWith and is returned wrapped. Nil: data holding a
	// capability is invalid (ErrInvalidData).
	Resolve func(kind CapabilityKind, index uint32) (goja.Value, error)
}

// DeserializeWith is Deserialize with options: it also reads the capability
// values of RPC-mode data, through opts.Resolve.
func DeserializeWith(vm *goja.Runtime, data []byte, opts DeserializeOptions) (goja.Value, error) {
	d := &deserializer{decoder: decoder{data: data}, vm: vm, in: newIntrinsics(vm), resolve: opts.Resolve}
	if len(data) < 2 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a header", ErrInvalidData, len(data))
	}
	if data[0] != Magic {
		return nil, fmt.Errorf("%w: bad magic byte 0x%02x", ErrInvalidData, data[0])
	}
	if data[1] == 0 || data[1] > Version {
		return nil, fmt.Errorf("%w: version %d (this reader supports 1 to %d)", ErrUnsupportedVersion, data[1], Version)
	}
	d.off = 2
	var v goja.Value
	var err error
	if ex := vm.Try(func() { v, err = d.read() }); ex != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidData, ex)
	}
	if err != nil {
		return nil, err
	}
	if d.remaining() != 0 {
		return nil, d.corrupt("%d bytes of trailing data", d.remaining())
	}
	return v, nil
}

type deserializer struct {
	decoder
	vm    *goja.Runtime
	in    *intrinsics
	objs  []goja.Value // by object id; nil while a view's buffer is read
	depth int

	resolve func(CapabilityKind, uint32) (goja.Value, error)
}

// jsErr wraps an error returned by a built-in the decoder called: the data
// asked for something the runtime refused (an invalid RegExp, a view outside
// its buffer).
func (d *deserializer) jsErr(err error) error {
	return fmt.Errorf("%w: at offset %d: %w", ErrInvalidData, d.off, err)
}

// register gives o the next object id. o is an object, or whatever value
// Resolve returned for a capability.
func (d *deserializer) register(o goja.Value) { d.objs = append(d.objs, o) }

// reserve takes the next object id before the object exists (views need
// their buffer first) and returns a function that fills it in.
func (d *deserializer) reserve() func(*goja.Object) {
	i := len(d.objs)
	d.objs = append(d.objs, nil)
	return func(o *goja.Object) { d.objs[i] = o }
}

func (d *deserializer) read() (goja.Value, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagUndefined:
		return goja.Undefined(), nil
	case tagNull:
		return goja.Null(), nil
	case tagTrue:
		return d.vm.ToValue(true), nil
	case tagFalse:
		return d.vm.ToValue(false), nil
	case tagInt:
		u, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		i := int64(u>>1) ^ -int64(u&1)
		if i > maxSafeInteger || i < -maxSafeInteger {
			return nil, d.corrupt("integer %d out of range", i)
		}
		return d.vm.ToValue(i), nil
	case tagNumber:
		f, err := d.float()
		if err != nil {
			return nil, err
		}
		return d.vm.ToValue(f), nil
	case tagBigInt:
		b, err := d.readBigInt()
		if err != nil {
			return nil, err
		}
		return d.vm.ToValue(b), nil
	case tagLatin1, tagUTF16:
		s, err := d.readStringBody(tag)
		if err != nil {
			return nil, err
		}
		return s, nil
	case tagBackRef:
		id, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if id >= uint64(len(d.objs)) || d.objs[id] == nil {
			return nil, d.corrupt("reference to unknown object %d", id)
		}
		return d.objs[id], nil
	case tagCapability:
		return d.readCapability()
	}

	if d.depth >= MaxDepth {
		return nil, fmt.Errorf("%w: at offset %d", ErrTooDeep, d.off)
	}
	d.depth++
	defer func() { d.depth-- }()

	switch tag {
	case tagObject:
		o := d.vm.NewObject()
		d.register(o)
		if err := d.readProperties(o); err != nil {
			return nil, err
		}
		return o, nil
	case tagDenseArray, tagSparseArray:
		return d.readArray(tag)
	case tagDate:
		f, err := d.float()
		if err != nil {
			return nil, err
		}
		o, err := d.in.construct("Date", d.vm.ToValue(f))
		if err != nil {
			return nil, d.jsErr(err)
		}
		d.register(o)
		return o, nil
	case tagRegExp:
		fill := d.reserve()
		src, err := d.readString()
		if err != nil {
			return nil, err
		}
		flags, err := d.readString()
		if err != nil {
			return nil, err
		}
		o, err := d.in.construct("RegExp", src, flags)
		if err != nil {
			return nil, d.jsErr(err)
		}
		fill(o)
		return o, nil
	case tagMap:
		return d.readMap()
	case tagSet:
		return d.readSet()
	case tagArrayBuffer:
		n, err := d.length(1)
		if err != nil {
			return nil, err
		}
		b, err := d.bytes(n)
		if err != nil {
			return nil, err
		}
		o := d.vm.ToValue(d.vm.NewArrayBuffer(append([]byte(nil), b...))).(*goja.Object)
		d.register(o)
		return o, nil
	case tagView:
		return d.readView()
	case tagTrueObject, tagFalseObject:
		o := d.vm.ToValue(tag == tagTrueObject).ToObject(d.vm)
		d.register(o)
		return o, nil
	case tagNumberObj:
		f, err := d.float()
		if err != nil {
			return nil, err
		}
		o := d.vm.ToValue(f).ToObject(d.vm)
		d.register(o)
		return o, nil
	case tagStringObj:
		fill := d.reserve()
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		o := s.ToObject(d.vm)
		fill(o)
		return o, nil
	case tagBigIntObj:
		b, err := d.readBigInt()
		if err != nil {
			return nil, err
		}
		o := d.vm.ToValue(b).ToObject(d.vm)
		d.register(o)
		return o, nil
	case tagError:
		return d.readError()
	}
	d.off--
	return nil, d.corrupt("unknown tag 0x%02x", tag)
}

// readCapability reads the payload of tagCapability and asks the Resolve
// hook for the value.
func (d *deserializer) readCapability() (goja.Value, error) {
	k, err := d.byte()
	if err != nil {
		return nil, err
	}
	kind := CapabilityKind(k)
	if kind == 0 || kind > capabilityKindMax {
		return nil, d.corrupt("unknown capability kind %d", k)
	}
	idx, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if idx > math.MaxUint32 {
		return nil, d.corrupt("capability index %d out of range", idx)
	}
	if d.resolve == nil {
		return nil, d.corrupt("%s capability %d, but no Resolve hook was given (RPC data is not storage data)", kind, idx)
	}
	v, err := d.resolve(kind, uint32(idx))
	if err != nil {
		return nil, fmt.Errorf("structuredclone: resolving %s capability %d: %w", kind, idx, err)
	}
	if o, isObj := v.(*goja.Object); v == nil || (isObj && o == nil) {
		v = goja.Undefined()
	}
	d.register(v)
	return v, nil
}

func (d *deserializer) readBigInt() (*big.Int, error) {
	sign, err := d.byte()
	if err != nil {
		return nil, err
	}
	if sign > 1 {
		return nil, d.corrupt("bad BigInt sign %d", sign)
	}
	n, err := d.length(1)
	if err != nil {
		return nil, err
	}
	mag, err := d.bytes(n)
	if err != nil {
		return nil, err
	}
	b := new(big.Int).SetBytes(mag)
	if sign == 1 {
		b.Neg(b)
	}
	return b, nil
}

// readString reads a tagged string (tagLatin1 or tagUTF16).
func (d *deserializer) readString() (goja.String, error) {
	tag, err := d.stringTag()
	if err != nil {
		return nil, err
	}
	return d.readStringBody(tag)
}

func (d *deserializer) stringTag() (byte, error) {
	tag, err := d.byte()
	if err != nil {
		return 0, err
	}
	if tag != tagLatin1 && tag != tagUTF16 {
		d.off--
		return 0, d.corrupt("expected a string, found tag 0x%02x", tag)
	}
	return tag, nil
}

// readKey reads a tagged string used as a property key. It returns the key
// as a Go string, or, when the key holds a lone surrogate (which a Go string
// cannot carry), as a goja string with ok false.
func (d *deserializer) readKey() (key string, exact goja.String, ok bool, err error) {
	tag, err := d.stringTag()
	if err != nil {
		return "", nil, false, err
	}
	if tag == tagLatin1 {
		b, err := d.latin1Bytes()
		if err != nil {
			return "", nil, false, err
		}
		return latin1ToGo(b), nil, true, nil
	}
	units, err := d.utf16Units()
	if err != nil {
		return "", nil, false, err
	}
	if wellFormed(units) {
		return string(utf16.Decode(units)), nil, true, nil
	}
	return "", goja.StringFromUTF16(units), false, nil
}

func (d *deserializer) latin1Bytes() ([]byte, error) {
	n, err := d.length(1)
	if err != nil {
		return nil, err
	}
	return d.bytes(n)
}

func (d *deserializer) utf16Units() ([]uint16, error) {
	n, err := d.length(2)
	if err != nil {
		return nil, err
	}
	b, err := d.bytes(2 * n)
	if err != nil {
		return nil, err
	}
	units := make([]uint16, n)
	for i := range units {
		units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return units, nil
}

// latin1ToGo converts one-byte code units to a (UTF-8) Go string.
func latin1ToGo(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return string(r)
		}
	}
	return string(b)
}

func (d *deserializer) readStringBody(tag byte) (goja.String, error) {
	if tag == tagLatin1 {
		b, err := d.latin1Bytes()
		if err != nil {
			return nil, err
		}
		return d.vm.ToValue(latin1ToGo(b)).(goja.String), nil
	}
	units, err := d.utf16Units()
	if err != nil {
		return nil, err
	}
	return goja.StringFromUTF16(units), nil
}

// wellFormed reports whether units has no lone surrogate.
func wellFormed(units []uint16) bool {
	for i := 0; i < len(units); i++ {
		c := units[i]
		switch {
		case c >= 0xD800 && c <= 0xDBFF:
			if i+1 >= len(units) || units[i+1] < 0xDC00 || units[i+1] > 0xDFFF {
				return false
			}
			i++
		case c >= 0xDC00 && c <= 0xDFFF:
			return false
		}
	}
	return true
}

// readProperties reads key/value pairs up to tagEnd and the pair count, and
// defines them as own enumerable data properties of o.
func (d *deserializer) readProperties(o *goja.Object) error {
	n := uint64(0)
	for {
		t, err := d.peek()
		if err != nil {
			return err
		}
		if t == tagEnd {
			d.off++
			break
		}
		key, exact, ok, err := d.readKey()
		if err != nil {
			return err
		}
		v, err := d.read()
		if err != nil {
			return err
		}
		if ok {
			if err := o.DefineDataProperty(key, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return d.jsErr(err)
			}
		} else if err := d.defineExact(o, exact, v); err != nil {
			return err
		}
		n++
	}
	count, err := d.uvarint()
	if err != nil {
		return err
	}
	if count != n {
		return d.corrupt("property count %d does not match the %d properties read", count, n)
	}
	return nil
}

// defineExact creates an own data property whose key holds a lone
// surrogate, which only script can name. Like DefineDataProperty it never
// calls a setter (so "__proto__" is an ordinary key, as in V8).
func (d *deserializer) defineExact(o *goja.Object, key goja.String, v goja.Value) error {
	defineFn, err := d.in.method("Reflect", "defineProperty", true)
	if err != nil {
		return err
	}
	desc := d.vm.NewObject()
	for _, kv := range [...]struct {
		k string
		v goja.Value
	}{{"value", v}, {"writable", d.vm.ToValue(true)}, {"enumerable", d.vm.ToValue(true)}, {"configurable", d.vm.ToValue(true)}} {
		if err := desc.DefineDataProperty(kv.k, kv.v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return d.jsErr(err)
		}
	}
	if _, err := defineFn(goja.Undefined(), o, key, desc); err != nil {
		return d.jsErr(err)
	}
	return nil
}

func (d *deserializer) readArray(tag byte) (goja.Value, error) {
	length, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if length > math.MaxUint32 {
		return nil, d.corrupt("array length %d out of range", length)
	}
	if tag == tagDenseArray && length > uint64(d.remaining()) {
		return nil, d.corrupt("array length %d exceeds the remaining data", length)
	}
	arr := d.vm.NewArray()
	d.register(arr)
	if tag == tagDenseArray {
		for i := uint64(0); i < length; i++ {
			v, err := d.read()
			if err != nil {
				return nil, err
			}
			if err := arr.DefineDataProperty(strconv.FormatUint(i, 10), v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return nil, d.jsErr(err)
			}
		}
	}
	if err := d.readProperties(arr); err != nil {
		return nil, err
	}
	if cur := uint64(arr.Get("length").ToInteger()); cur < length {
		if err := arr.Set("length", length); err != nil {
			return nil, d.jsErr(err)
		}
	}
	return arr, nil
}

func (d *deserializer) readMap() (goja.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	set, err := d.in.method("Map", "set", false)
	if err != nil {
		return nil, err
	}
	m, err := d.in.construct("Map")
	if err != nil {
		return nil, d.jsErr(err)
	}
	d.register(m)
	for i := 0; i < n; i++ {
		k, err := d.read()
		if err != nil {
			return nil, err
		}
		v, err := d.read()
		if err != nil {
			return nil, err
		}
		if _, err := set(m, k, v); err != nil {
			return nil, d.jsErr(err)
		}
	}
	return m, nil
}

func (d *deserializer) readSet() (goja.Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	add, err := d.in.method("Set", "add", false)
	if err != nil {
		return nil, err
	}
	s, err := d.in.construct("Set")
	if err != nil {
		return nil, d.jsErr(err)
	}
	d.register(s)
	for i := 0; i < n; i++ {
		v, err := d.read()
		if err != nil {
			return nil, err
		}
		if _, err := add(s, v); err != nil {
			return nil, d.jsErr(err)
		}
	}
	return s, nil
}

func (d *deserializer) readView() (goja.Value, error) {
	kind, err := d.byte()
	if err != nil {
		return nil, err
	}
	if kind == 0 || int(kind) >= len(viewKinds) {
		return nil, d.corrupt("unknown view kind %d", kind)
	}
	fill := d.reserve()
	bv, err := d.read()
	if err != nil {
		return nil, err
	}
	buf, ok := bv.(*goja.Object)
	if !ok {
		return nil, d.corrupt("view over a non-object")
	}
	ab, ok := buf.Export().(goja.ArrayBuffer)
	if !ok {
		return nil, d.corrupt("view over something other than an ArrayBuffer")
	}
	off, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	length, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	info := viewKinds[kind]
	size := uint64(len(ab.Bytes()))
	if off > size || length > (size-off)/uint64(info.elemSize) || off%uint64(info.elemSize) != 0 {
		return nil, d.corrupt("view (offset %d, length %d) outside its %d-byte buffer", off, length, size)
	}
	o, err := d.in.construct(info.ctor, buf, d.vm.ToValue(off), d.vm.ToValue(length))
	if err != nil {
		return nil, d.jsErr(err)
	}
	fill(o)
	return o, nil
}

func (d *deserializer) readError() (goja.Value, error) {
	kind, err := d.byte()
	if err != nil {
		return nil, err
	}
	if kind >= errorKindCount {
		return nil, d.corrupt("unknown error kind %d", kind)
	}
	flags, err := d.byte()
	if err != nil {
		return nil, err
	}
	if flags&^errKnownFlags != 0 {
		return nil, d.corrupt("unknown error flags 0x%02x", flags)
	}
	e, err := d.in.construct(errorNames[kind])
	if err != nil {
		return nil, d.jsErr(err)
	}
	d.register(e)
	hidden := func(name string, v goja.Value) error {
		if err := e.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return d.jsErr(err)
		}
		return nil
	}
	if flags&errHasMessage != 0 {
		m, err := d.readString()
		if err != nil {
			return nil, err
		}
		if err := hidden("message", m); err != nil {
			return nil, err
		}
	}
	if flags&errHasStack != 0 {
		st, err := d.readString()
		if err != nil {
			return nil, err
		}
		if err := hidden("stack", st); err != nil {
			return nil, err
		}
	}
	if flags&errHasCause != 0 {
		c, err := d.read()
		if err != nil {
			return nil, err
		}
		if err := hidden("cause", c); err != nil {
			return nil, err
		}
	}
	return e, nil
}
