package structuredclone

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// Options tunes Serialize. The zero value gives structuredClone() semantics
// and the bytes pinned by TestFormatIsStable.
type Options struct {
	// RPC selects the rules of workerd's RPC serializer (platform §2a),
	// used for the arguments and results of Durable Object stub calls:
	//
	//   - An object whose prototype is neither Object.prototype nor null and
	//     that is not a cloneable built-in (Array, Date, RegExp, Map, Set,
	//     ArrayBuffer and views, errors, wrapper objects, or subclasses of
	//     them) is rejected with workerd's DataCloneError, `Could not
	//     serialize object of type "C". This type does not support
	//     serialization.`, where structured clone copies it as a plain object.
	//   - Functions, RpcTarget instances and objects the Capture hook accepts
	//     are written as capabilities (FORMAT.md, tag C).
	//   - An encoding larger than MaxRPCMessage fails with *RPCSizeError.
	//
	// A value that holds none of these encodes to the same bytes in both
	// modes.
	RPC bool
	// RpcTarget is the runtime's RpcTarget constructor. In RPC mode an object
	// with RpcTarget.prototype on its prototype chain is offered to Capture
	// with CapabilityRpcTarget. Nil: no object is an RpcTarget.
	RpcTarget *goja.Object
	// Capture stores obj in the caller's table of capabilities and returns
	// its index there, which DeserializeWith hands to
	// DeserializeOptions.Resolve. In RPC mode it is offered functions
	// (CapabilityFunction), RpcTarget instances (CapabilityRpcTarget), and,
	// with CapabilityHostObject, every object that would otherwise be
	// rejected for its type: Go-backed host objects (Request, Response, an
	// RPC stub), proxies and class instances. It returns ErrNotCapturable for
	// an object it does not take, which is then rejected as without a hook;
	// any other error aborts Serialize, wrapped. It is called once per
	// object: a second reference is written as a back-reference. Nil, or
	// outside RPC mode: nothing is captured and functions fail with V8's
	// DataCloneError as in structuredClone().
	Capture func(obj *goja.Object, kind CapabilityKind) (uint32, error)
}

// Serialize encodes v in the format described by FORMAT.md. A value that
// cannot be cloned yields a *DataCloneError; an exception thrown by script
// during serialization (a getter, say) is returned as the *goja.Exception.
// In RPC mode an oversized encoding yields an *RPCSizeError, and an error of
// the Capture hook is returned wrapped.
func Serialize(vm *goja.Runtime, v goja.Value, opts Options) ([]byte, error) {
	s := &serializer{
		vm:   vm,
		in:   newIntrinsics(vm),
		ids:  make(map[*goja.Object]uint32),
		opts: opts,
	}
	s.buf = make([]byte, 0, 64)
	s.byte(Magic)
	s.byte(Version)
	var err error
	if ex := vm.Try(func() { err = s.write(v) }); ex != nil {
		return nil, ex
	}
	if err != nil {
		return nil, err
	}
	if size := s.spilled + len(s.buf); opts.RPC && size > MaxRPCMessage {
		return nil, newRPCSizeError(size)
	}
	return s.buf, nil
}

type serializer struct {
	encoder
	vm          *goja.Runtime
	in          *intrinsics
	ids         map[*goja.Object]uint32
	depth       int
	objectProto *goja.Object

	opts           Options
	rpcTargetProto *goja.Object // opts.RpcTarget.prototype, looked up once
	spilled        int          // RPC mode: bytes counted and dropped (see spill)
}

func cloneError(msg string) error { return &DataCloneError{Message: msg} }

func (s *serializer) write(v goja.Value) error {
	s.spill()
	if v == nil || goja.IsUndefined(v) {
		s.byte(tagUndefined)
		return nil
	}
	if goja.IsNull(v) {
		s.byte(tagNull)
		return nil
	}
	switch x := v.(type) {
	case *goja.Object:
		return s.writeObject(x)
	case *goja.Symbol:
		return cloneError("Symbol(" + x.String() + ")" + msgCouldNotBeCloned)
	case goja.String:
		s.writeString(x)
		return nil
	}
	switch v.ExportType() {
	case typeBool:
		if v.ToBoolean() {
			s.byte(tagTrue)
		} else {
			s.byte(tagFalse)
		}
	case typeInt64, typeFloat64:
		s.writeNumber(v.ToFloat())
	case typeBigInt:
		s.byte(tagBigInt)
		s.writeBigInt(v.Export().(*big.Int))
	default:
		return cloneError(v.String() + msgCouldNotBeCloned)
	}
	return nil
}

func (s *serializer) writeNumber(f float64) {
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger && !(f == 0 && math.Signbit(f)) {
		i := int64(f)
		s.byte(tagInt)
		s.uvarint(uint64(i<<1) ^ uint64(i>>63))
		return
	}
	s.byte(tagNumber)
	s.float(f)
}

// writeBigInt writes the payload of tagBigInt: sign, length, magnitude.
func (s *serializer) writeBigInt(b *big.Int) {
	if b.Sign() < 0 {
		s.byte(1)
	} else {
		s.byte(0)
	}
	mag := b.Bytes()
	s.uvarint(uint64(len(mag)))
	s.buf = append(s.buf, mag...)
}

// writeString writes a string without losing lone surrogates: goja strings
// are UTF-16, and only ASCII strings are read through Go strings.
func (s *serializer) writeString(str goja.String) {
	if gs := str.String(); isASCII(gs) {
		s.writeLatin1(gs)
		return
	}
	n := str.Length()
	units := make([]uint16, n)
	latin1 := true
	for i := 0; i < n; i++ {
		c := str.CharAt(i)
		units[i] = c
		if c > 0xFF {
			latin1 = false
		}
	}
	s.writeUnits(units, latin1)
}

// writeGoString writes a string known to be valid UTF-8 (a property key
// that round-tripped through Go without loss).
func (s *serializer) writeGoString(str string) {
	if isASCII(str) {
		s.writeLatin1(str)
		return
	}
	units := utf16.Encode([]rune(str))
	latin1 := true
	for _, c := range units {
		if c > 0xFF {
			latin1 = false
			break
		}
	}
	s.writeUnits(units, latin1)
}

func (s *serializer) writeLatin1(ascii string) {
	s.byte(tagLatin1)
	s.uvarint(uint64(len(ascii)))
	s.buf = append(s.buf, ascii...)
}

func (s *serializer) writeUnits(units []uint16, latin1 bool) {
	if latin1 {
		s.byte(tagLatin1)
		s.uvarint(uint64(len(units)))
		for _, c := range units {
			s.byte(byte(c))
		}
		return
	}
	s.byte(tagUTF16)
	s.uvarint(uint64(len(units)))
	for _, c := range units {
		s.buf = append(s.buf, byte(c), byte(c>>8))
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// assignID records o as the next object of the stream.
func (s *serializer) assignID(o *goja.Object) {
	s.ids[o] = uint32(len(s.ids))
}

func (s *serializer) writeObject(o *goja.Object) error {
	if id, ok := s.ids[o]; ok {
		s.byte(tagBackRef)
		s.uvarint(uint64(id))
		return nil
	}
	if s.depth >= MaxDepth {
		return ErrTooDeep
	}
	s.depth++
	defer func() { s.depth-- }()

	t := o.ExportType()
	if t == typeProxy {
		// Checked first: anything else might run the proxy's traps. In RPC
		// mode the caller may know it (a stub can be a proxy).
		return s.captureOr(o, CapabilityHostObject, func() string { return "#<Object>" + msgCouldNotBeCloned })
	}
	if _, ok := goja.AssertFunction(o); ok {
		return s.captureOr(o, CapabilityFunction, func() string { return s.functionSource(o) + msgCouldNotBeCloned })
	}
	if s.isRpcTarget(o) {
		return s.captureOr(o, CapabilityRpcTarget, func() string { return hostObjectMessage(s.constructorName(o)) })
	}
	switch o.ClassName() {
	case "Array":
		s.assignID(o)
		return s.writeArray(o)
	case "Date":
		s.assignID(o)
		s.byte(tagDate)
		ms := math.NaN()
		if tm, ok := o.Export().(interface{ UnixMilli() int64 }); ok {
			ms = float64(tm.UnixMilli())
		}
		s.float(ms)
		return nil
	case "RegExp":
		s.assignID(o)
		return s.writeRegExp(o)
	case "Error":
		s.assignID(o)
		return s.writeError(o)
	case "Boolean":
		s.assignID(o)
		if b, _ := o.Export().(bool); b {
			s.byte(tagTrueObject)
		} else {
			s.byte(tagFalseObject)
		}
		return nil
	case "Number":
		s.assignID(o)
		s.byte(tagNumberObj)
		f := math.NaN()
		switch n := o.Export().(type) {
		case int64:
			f = float64(n)
		case float64:
			f = n
		}
		s.float(f)
		return nil
	case "String":
		valueOf, err := s.in.method("String", "valueOf", false)
		if err != nil {
			return err
		}
		prim, err := valueOf(o)
		if err != nil {
			return err
		}
		str, ok := prim.(goja.String)
		if !ok {
			return cloneError("#<String>" + msgCouldNotBeCloned)
		}
		s.assignID(o)
		s.byte(tagStringObj)
		s.writeString(str)
		return nil
	case "Object", "Arguments", "Math", "JSON":
		// Classified by export type below.
	default:
		return cloneError("#<" + s.constructorName(o) + ">" + msgCouldNotBeCloned)
	}

	switch t {
	case typePlainObject:
		return s.writePlainOrSpecial(o)
	case typeMapExport:
		s.assignID(o)
		return s.writeMap(o)
	case typeSetExport:
		s.assignID(o)
		return s.writeSet(o)
	case typeArrayBuffer:
		ab := o.Export().(goja.ArrayBuffer)
		if ab.Detached() {
			return cloneError(msgDetachedBuffer)
		}
		s.assignID(o)
		data := ab.Bytes()
		s.byte(tagArrayBuffer)
		s.uvarint(uint64(len(data)))
		s.appendBulk(data)
		return nil
	case typeBigInt:
		s.assignID(o)
		s.byte(tagBigIntObj)
		s.writeBigInt(o.Export().(*big.Int))
		return nil
	case typePromise, typeSymbol:
		return cloneError("#<" + s.constructorName(o) + ">" + msgCouldNotBeCloned)
	}
	if kind, ok := typedArrayKinds[t]; ok {
		return s.writeTypedArray(o, kind)
	}
	// A Go-backed host object (Request, Headers, a reflected Go value).
	return s.captureOr(o, CapabilityHostObject, func() string { return hostObjectMessage(s.constructorName(o)) })
}

// writePlainOrSpecial handles objects goja exports as maps: plain objects and
// class instances, but also DataView, WeakMap and WeakSet, which are told
// apart by their prototype chain and then by a brand check.
func (s *serializer) writePlainOrSpecial(o *goja.Object) error {
	proto := o.Prototype()
	if proto != nil && proto != s.objectPrototype() {
		special, err := s.classifyInstance(o, proto)
		if err != nil {
			return err
		}
		switch special {
		case "DataView":
			return s.writeDataView(o)
		case "WeakMap", "WeakSet":
			return cloneError("#<" + s.constructorName(o) + ">" + msgCouldNotBeCloned)
		}
		if s.opts.RPC {
			// workerd's treatClassInstancesAsPlainObjects = false.
			return s.captureOr(o, CapabilityHostObject, func() string { return hostObjectMessage(s.constructorName(o)) })
		}
	}
	s.assignID(o)
	s.byte(tagObject)
	n, err := s.writeProperties(o, nil)
	if err != nil {
		return err
	}
	s.byte(tagEnd)
	s.uvarint(uint64(n))
	return nil
}

func (s *serializer) objectPrototype() *goja.Object {
	if s.objectProto == nil {
		s.objectProto = s.vm.NewObject().Prototype()
	}
	return s.objectProto
}

// classifyInstance reports "DataView", "WeakMap" or "WeakSet" when o is one,
// and "" for an ordinary object. Only objects whose prototype chain contains
// the matching built-in prototype are brand-checked.
func (s *serializer) classifyInstance(o, proto *goja.Object) (string, error) {
	for _, name := range [...]string{"DataView", "WeakMap", "WeakSet"} {
		p, err := s.in.proto(name)
		if err != nil {
			continue
		}
		found := false
		for q, hops := proto, 0; q != nil && hops < 64; q, hops = q.Prototype(), hops+1 {
			if q == p {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		var check goja.Callable
		var args []goja.Value
		switch name {
		case "DataView":
			check, err = s.dataViewGetter("byteLength")
		default:
			check, err = s.in.method(name, "has", false)
			args = []goja.Value{s.vm.NewObject()}
		}
		if err != nil {
			return "", err
		}
		if _, err := check(o, args...); err == nil {
			return name, nil
		}
	}
	return "", nil
}

func (s *serializer) dataViewGetter(name string) (goja.Callable, error) {
	return s.in.dataViewGetter(name)
}

// writeProperties writes the own enumerable string-keyed properties of o as
// key/value pairs, skipping the keys in skip, and returns how many it wrote.
// Getters run; a property deleted by an earlier getter is skipped.
func (s *serializer) writeProperties(o *goja.Object, skip func(string) bool) (int, error) {
	keys := o.Keys()
	for _, k := range keys {
		if strings.ContainsRune(k, utf8.RuneError) {
			// A key may hold a lone surrogate, which Go strings cannot carry:
			// take the keys and values through script instead.
			return s.writePropertiesExact(o, skip)
		}
	}
	n := 0
	for _, k := range keys {
		if skip != nil && skip(k) {
			continue
		}
		v := o.Get(k)
		if v == nil {
			continue
		}
		s.writeGoString(k)
		if err := s.write(v); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *serializer) writePropertiesExact(o *goja.Object, skip func(string) bool) (int, error) {
	keysFn, err := s.in.method("Object", "keys", true)
	if err != nil {
		return 0, err
	}
	getFn, err := s.in.method("Reflect", "get", true)
	if err != nil {
		return 0, err
	}
	kv, err := keysFn(goja.Undefined(), o)
	if err != nil {
		return 0, err
	}
	arr, ok := kv.(*goja.Object)
	if !ok {
		return 0, nil
	}
	count := int(arr.Get("length").ToInteger())
	n := 0
	for i := 0; i < count; i++ {
		key, ok := arr.Get(strconv.Itoa(i)).(goja.String)
		if !ok {
			continue
		}
		if skip != nil && skip(key.String()) {
			continue
		}
		v, err := getFn(goja.Undefined(), o, key)
		if err != nil {
			return n, err
		}
		s.writeString(key)
		if err := s.write(v); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// arrayIndex parses a canonical array index ("0", "17"; not "01" or "-1").
func arrayIndex(k string) (uint32, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	v, err := strconv.ParseUint(k, 10, 32)
	if err != nil || v == math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

func (s *serializer) writeArray(o *goja.Object) error {
	length := uint64(o.Get("length").ToInteger())
	keys := o.Keys()
	indexKeys := 0
	for _, k := range keys {
		if _, ok := arrayIndex(k); ok {
			indexKeys++
		}
	}
	if uint64(indexKeys) == length {
		s.byte(tagDenseArray)
		s.uvarint(length)
		for i := uint64(0); i < length; i++ {
			v := o.Get(strconv.FormatUint(i, 10))
			if err := s.write(v); err != nil {
				return err
			}
		}
		n, err := s.writeProperties(o, func(k string) bool { _, ok := arrayIndex(k); return ok })
		if err != nil {
			return err
		}
		s.byte(tagEnd)
		s.uvarint(uint64(n))
		return nil
	}
	s.byte(tagSparseArray)
	s.uvarint(length)
	n, err := s.writeProperties(o, nil)
	if err != nil {
		return err
	}
	s.byte(tagEnd)
	s.uvarint(uint64(n))
	return nil
}

func (s *serializer) writeRegExp(o *goja.Object) error {
	src, ok := o.Get("source").(goja.String)
	if !ok {
		return cloneError("#<RegExp>" + msgCouldNotBeCloned)
	}
	flags, ok := o.Get("flags").(goja.String)
	if !ok {
		return cloneError("#<RegExp>" + msgCouldNotBeCloned)
	}
	s.byte(tagRegExp)
	s.writeString(src)
	s.writeString(flags)
	return nil
}

// writeError follows V8: the name picks the prototype of the clone, and the
// own message, stack and cause are kept. Other properties are dropped.
func (s *serializer) writeError(o *goja.Object) error {
	kind := errorPlain
	if name := o.Get("name"); name != nil {
		n := name.String()
		for i, en := range errorNames {
			if en == n {
				kind = byte(i)
			}
		}
	}
	var hasMessage, hasStack, hasCause bool
	for _, k := range o.GetOwnPropertyNames() {
		switch k {
		case "message":
			hasMessage = true
		case "stack":
			hasStack = true
		case "cause":
			hasCause = true
		}
	}
	var message, stack goja.String
	if hasMessage {
		m := o.Get("message")
		if m == nil {
			hasMessage = false
		} else {
			message = s.toString(m)
		}
	}
	if hasStack {
		st, ok := o.Get("stack").(goja.String)
		if ok {
			stack = st
		} else {
			hasStack = false
		}
	}
	var flags byte
	if hasMessage {
		flags |= errHasMessage
	}
	if hasStack {
		flags |= errHasStack
	}
	if hasCause {
		flags |= errHasCause
	}
	s.byte(tagError)
	s.byte(kind)
	s.byte(flags)
	if hasMessage {
		s.writeString(message)
	}
	if hasStack {
		s.writeString(stack)
	}
	if hasCause {
		return s.write(o.Get("cause"))
	}
	return nil
}

func (s *serializer) writeMap(o *goja.Object) error {
	forEach, err := s.in.method("Map", "forEach", false)
	if err != nil {
		return err
	}
	var entries []goja.Value
	cb := s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		entries = append(entries, call.Argument(1), call.Argument(0))
		return goja.Undefined()
	})
	if _, err := forEach(o, cb); err != nil {
		return err
	}
	s.byte(tagMap)
	s.uvarint(uint64(len(entries) / 2))
	for _, v := range entries {
		if err := s.write(v); err != nil {
			return err
		}
	}
	return nil
}

func (s *serializer) writeSet(o *goja.Object) error {
	forEach, err := s.in.method("Set", "forEach", false)
	if err != nil {
		return err
	}
	var entries []goja.Value
	cb := s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		entries = append(entries, call.Argument(0))
		return goja.Undefined()
	})
	if _, err := forEach(o, cb); err != nil {
		return err
	}
	s.byte(tagSet)
	s.uvarint(uint64(len(entries)))
	for _, v := range entries {
		if err := s.write(v); err != nil {
			return err
		}
	}
	return nil
}

func (s *serializer) writeTypedArray(o *goja.Object, kind byte) error {
	if kind == viewUint8 {
		tagFn, err := s.in.typedArrayGetter("@@toStringTag")
		if err != nil {
			return err
		}
		tag, err := tagFn(o)
		if err != nil {
			return err
		}
		if tag.String() == "Uint8ClampedArray" {
			kind = viewUint8Clamped
		}
	}
	var vals [3]goja.Value
	for i, name := range [...]string{"buffer", "byteOffset", "length"} {
		get, err := s.in.typedArrayGetter(name)
		if err != nil {
			return err
		}
		if vals[i], err = get(o); err != nil {
			return err
		}
	}
	return s.writeView(o, kind, vals)
}

func (s *serializer) writeDataView(o *goja.Object) error {
	var vals [3]goja.Value
	for i, name := range [...]string{"buffer", "byteOffset", "byteLength"} {
		get, err := s.dataViewGetter(name)
		if err != nil {
			return err
		}
		var gerr error
		if vals[i], gerr = get(o); gerr != nil {
			if name == "buffer" {
				return gerr
			}
			// Reading byteOffset/byteLength of a view on a detached buffer
			// throws; report it as V8 does.
			return cloneError(msgDetachedBuffer)
		}
	}
	return s.writeView(o, viewDataView, vals)
}

// writeView writes tagView with the view's buffer (shared by reference when
// several views use one buffer), byte offset and length.
func (s *serializer) writeView(o *goja.Object, kind byte, vals [3]goja.Value) error {
	buf, ok := vals[0].(*goja.Object)
	if !ok {
		return cloneError("#<" + s.constructorName(o) + ">" + msgCouldNotBeCloned)
	}
	if ab, ok := buf.Export().(goja.ArrayBuffer); !ok || ab.Detached() {
		return cloneError(msgDetachedBuffer)
	}
	s.assignID(o)
	s.byte(tagView)
	s.byte(kind)
	if err := s.writeObject(buf); err != nil {
		return err
	}
	s.uvarint(uint64(vals[1].ToInteger()))
	s.uvarint(uint64(vals[2].ToInteger()))
	return nil
}

// functionSource is what V8 prints for a function: its source text.
func (s *serializer) functionSource(o *goja.Object) string {
	toString, err := s.in.method("Function", "toString", false)
	if err == nil {
		if src, err := toString(o); err == nil {
			return src.String()
		}
	}
	return "function"
}

// constructorName mimics V8's GetConstructorName: the name of the
// constructor on the prototype, or "Object".
func (s *serializer) constructorName(o *goja.Object) string {
	name := "Object"
	_ = s.vm.Try(func() {
		proto := o.Prototype()
		if proto == nil {
			return
		}
		c, ok := proto.Get("constructor").(*goja.Object)
		if !ok {
			return
		}
		if n, ok := c.Get("name").(goja.String); ok && n.Length() > 0 {
			name = n.String()
		}
	})
	return name
}

// toString is ECMAScript ToString (goja's Value.ToString leaves numbers,
// booleans, null and undefined unconverted). It panics with a TypeError for
// a symbol, as script would.
func (s *serializer) toString(v goja.Value) goja.String {
	for {
		switch x := v.(type) {
		case goja.String:
			return x
		case *goja.Symbol:
			panic(s.vm.NewTypeError("Cannot convert a Symbol value to a string"))
		case *goja.Object:
			v = x.ToString()
			continue
		}
		if v == nil {
			v = goja.Undefined()
		}
		return s.vm.ToValue(v.String()).(goja.String)
	}
}
