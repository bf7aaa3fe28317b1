package webapi

import (
	"reflect"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// workerd's texts (src/workerd/api/encoding.c++).
const decodeFailedMessage = "Failed to decode input."

// installEncoding defines TextEncoder and TextDecoder.
func installEncoding(vm *goja.Runtime, internal *goja.Object) error {
	enc := DefineClass(vm, "TextEncoder", func(call goja.ConstructorCall) any { return &textEncoder{} }, nil)
	enc.Getter("encoding", func(this goja.Value) goja.Value {
		MustImpl[*textEncoder](vm, this)
		return vm.ToValue("utf-8")
	})
	enc.Method("encode", 0, func(call goja.FunctionCall) goja.Value {
		MustImpl[*textEncoder](vm, call.This)
		in := call.Argument(0)
		if goja.IsUndefined(in) {
			return NewUint8Array(vm, nil)
		}
		return NewUint8Array(vm, encodeUTF8(toJSString(vm, in)))
	})
	enc.Method("encodeInto", 2, func(call goja.FunctionCall) goja.Value {
		MustImpl[*textEncoder](vm, call.This)
		src := toJSString(vm, call.Argument(0))
		dst, ok := uint8ArrayBytes(call.Argument(1))
		if !ok {
			ThrowTypeError(vm, "Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.")
		}
		read, written := encodeUTF8Into(src, dst)
		res := vm.NewObject()
		_ = res.Set("read", read)
		_ = res.Set("written", written)
		return res
	})
	enc.Expose()

	dec := DefineClass(vm, "TextDecoder", func(call goja.ConstructorCall) any {
		return newTextDecoder(vm, call.Argument(0), call.Argument(1))
	}, nil)
	dec.Getter("encoding", func(this goja.Value) goja.Value {
		return vm.ToValue(MustImpl[*textDecoder](vm, this).encoding)
	})
	dec.Getter("fatal", func(this goja.Value) goja.Value {
		return vm.ToValue(MustImpl[*textDecoder](vm, this).fatal)
	})
	dec.Getter("ignoreBOM", func(this goja.Value) goja.Value {
		return vm.ToValue(MustImpl[*textDecoder](vm, this).ignoreBOM)
	})
	dec.Method("decode", 0, func(call goja.FunctionCall) goja.Value {
		d := MustImpl[*textDecoder](vm, call.This)
		var input []byte
		if in := call.Argument(0); !goja.IsUndefined(in) {
			b, ok := bufferSourceBytes(vm, in)
			if !ok {
				ThrowTypeError(vm, "Failed to execute 'decode' on 'TextDecoder': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView'.")
			}
			input = b
		}
		stream := false
		if opts := call.Argument(1); !goja.IsUndefined(opts) && !goja.IsNull(opts) {
			o, ok := opts.(*goja.Object)
			if !ok {
				ThrowTypeError(vm, "Failed to execute 'decode' on 'TextDecoder': parameter 2 is not of type 'TextDecodeOptions'.")
			}
			if s := o.Get("stream"); s != nil {
				stream = s.ToBoolean()
			}
		}
		out, ok := d.decode(input, stream)
		if !ok {
			ThrowTypeError(vm, decodeFailedMessage)
		}
		return out.value(vm)
	})
	dec.Expose()
	return nil
}

type textEncoder struct{}

// toJSString is ECMAScript ToString, keeping the UTF-16 string intact
// (goja's Value.ToString leaves numbers, booleans, null and undefined as
// they are).
func toJSString(vm *goja.Runtime, v goja.Value) goja.String {
	for {
		switch x := v.(type) {
		case goja.String:
			return x
		case *goja.Symbol:
			ThrowTypeError(vm, "Cannot convert a Symbol value to a string")
		case *goja.Object:
			v = x.ToString()
			continue
		}
		if v == nil {
			v = goja.Undefined()
		}
		return vm.ToValue(v.String()).(goja.String)
	}
}

// encodeUTF8 converts a JavaScript string to UTF-8, replacing lone
// surrogates with U+FFFD as the Encoding Standard requires.
func encodeUTF8(s goja.String) []byte {
	// String() decodes UTF-16 with utf16.Decode, which already turns each
	// lone surrogate into U+FFFD; only strings created from invalid Go UTF-8
	// need the slow path.
	if gs := s.String(); utf8.ValidString(gs) {
		return []byte(gs)
	}
	n := s.Length()
	out := make([]byte, 0, n)
	for i := 0; i < n; {
		r, units := codePointAt(s, i, n)
		out = utf8.AppendRune(out, r)
		i += units
	}
	return out
}

// codePointAt returns the code point at code unit i (U+FFFD for a lone
// surrogate) and how many code units it spans.
func codePointAt(s goja.String, i, n int) (rune, int) {
	c := s.CharAt(i)
	switch {
	case c >= 0xD800 && c <= 0xDBFF:
		if i+1 < n {
			if d := s.CharAt(i + 1); d >= 0xDC00 && d <= 0xDFFF {
				return utf16.DecodeRune(rune(c), rune(d)), 2
			}
		}
		return utf8.RuneError, 1
	case c >= 0xDC00 && c <= 0xDFFF:
		return utf8.RuneError, 1
	}
	return rune(c), 1
}

// encodeUTF8Into writes as many whole code points of s as fit into dst and
// returns the UTF-16 code units read and the bytes written.
func encodeUTF8Into(s goja.String, dst []byte) (read, written int) {
	n := s.Length()
	for read < n {
		r, units := codePointAt(s, read, n)
		size := utf8.RuneLen(r)
		if written+size > len(dst) {
			break
		}
		utf8.EncodeRune(dst[written:], r)
		written += size
		read += units
	}
	return read, written
}

// uint8ArrayBytes returns the bytes a Uint8Array views (not a copy), and
// false for anything else, including Uint8ClampedArray.
func uint8ArrayBytes(v goja.Value) ([]byte, bool) {
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != reflect.TypeOf([]byte(nil)) {
		return nil, false
	}
	if tag := o.GetSymbol(goja.SymToStringTag); tag == nil || tag.String() != "Uint8Array" {
		return nil, false
	}
	b, ok := o.Export().([]byte)
	return b, ok
}

// Export types of typed arrays, by whether their elements are integers.
var typedArrayExportTypes = map[reflect.Type]bool{
	reflect.TypeOf([]byte(nil)):    true, // Uint8Array, Uint8ClampedArray
	reflect.TypeOf([]int8(nil)):    true,
	reflect.TypeOf([]uint16(nil)):  true,
	reflect.TypeOf([]int16(nil)):   true,
	reflect.TypeOf([]uint32(nil)):  true,
	reflect.TypeOf([]int32(nil)):   true,
	reflect.TypeOf([]int64(nil)):   true, // BigInt64Array
	reflect.TypeOf([]uint64(nil)):  true, // BigUint64Array
	reflect.TypeOf([]float32(nil)): false,
	reflect.TypeOf([]float64(nil)): false,
}

var arrayBufferExportType = reflect.TypeOf(goja.ArrayBuffer{})

// bufferSourceBytes returns the bytes of an ArrayBuffer, typed array or
// DataView without copying them: writes to the slice change the buffer.
// It never runs script.
func bufferSourceBytes(vm *goja.Runtime, v goja.Value) ([]byte, bool) {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, false
	}
	t := o.ExportType()
	if t == arrayBufferExportType {
		return o.Export().(goja.ArrayBuffer).Bytes(), true
	}
	if _, ok := typedArrayExportTypes[t]; !ok && !isView(vm, o) {
		return nil, false
	}
	var b []byte
	if err := vm.ExportTo(o, &b); err != nil {
		return nil, false
	}
	return b, true
}

// Encodings this decoder implements (Encoding Standard names).
const (
	encUTF8        = "utf-8"
	encUTF16LE     = "utf-16le"
	encUTF16BE     = "utf-16be"
	encWindows1252 = "windows-1252"
)

// encodingLabels lists, for each encoding of the Encoding Standard, its
// labels. Only the four above can be decoded; the others are recognised so
// that the error names them.
var encodingLabels = map[string]string{
	encUTF8:          "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
	"ibm866":         "866 cp866 csibm866 ibm866",
	"iso-8859-2":     "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
	"iso-8859-3":     "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3",
	"iso-8859-4":     "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4",
	"iso-8859-5":     "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988",
	"iso-8859-6":     "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
	"iso-8859-7":     "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
	"iso-8859-8":     "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual",
	"iso-8859-8-i":   "csiso88598i iso-8859-8-i logical",
	"iso-8859-10":    "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
	"iso-8859-13":    "iso-8859-13 iso8859-13 iso885913",
	"iso-8859-14":    "iso-8859-14 iso8859-14 iso885914",
	"iso-8859-15":    "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
	"iso-8859-16":    "iso-8859-16",
	"koi8-r":         "cskoi8r koi koi8 koi8-r koi8_r",
	"koi8-u":         "koi8-ru koi8-u",
	"macintosh":      "csmacintosh mac macintosh x-mac-roman",
	"windows-874":    "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
	"windows-1250":   "cp1250 windows-1250 x-cp1250",
	"windows-1251":   "cp1251 windows-1251 x-cp1251",
	encWindows1252:   "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
	"windows-1253":   "cp1253 windows-1253 x-cp1253",
	"windows-1254":   "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
	"windows-1255":   "cp1255 windows-1255 x-cp1255",
	"windows-1256":   "cp1256 windows-1256 x-cp1256",
	"windows-1257":   "cp1257 windows-1257 x-cp1257",
	"windows-1258":   "cp1258 windows-1258 x-cp1258",
	"x-mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
	"gbk":            "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
	"gb18030":        "gb18030",
	"big5":           "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
	"euc-jp":         "cseucpkdfmtjapanese euc-jp x-euc-jp",
	"iso-2022-jp":    "csiso2022jp iso-2022-jp",
	"shift_jis":      "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
	"euc-kr":         "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 windows-949",
	"replacement":    "csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement",
	encUTF16BE:       "unicodefffe utf-16be",
	encUTF16LE:       "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
	"x-user-defined": "x-user-defined",
}

// encodingForLabel returns the encoding name for a label, or "".
func encodingForLabel(label string) string {
	l := strings.ToLower(strings.Trim(label, "\t\n\f\r "))
	for name, labels := range encodingLabels {
		for _, candidate := range strings.Fields(labels) {
			if candidate == l {
				return name
			}
		}
	}
	return ""
}

// textDecoder is a TextDecoder with its streaming state.
type textDecoder struct {
	encoding  string
	fatal     bool
	ignoreBOM bool

	bomSeen bool
	// UTF-8 state (the Encoding Standard's decoder variables).
	cp, needed, seen int
	lower, upper     byte
	// UTF-16 state: a pending lead byte and lead surrogate, or -1.
	leadByte, leadSurrogate int
}

func newTextDecoder(vm *goja.Runtime, label, options goja.Value) *textDecoder {
	d := &textDecoder{encoding: encUTF8, leadByte: -1, leadSurrogate: -1}
	if !goja.IsUndefined(label) {
		l := label.String()
		d.encoding = encodingForLabel(l)
		if d.encoding == "" || d.encoding == "replacement" || d.encoding == "x-user-defined" {
			ThrowRangeError(vm, "\"%s\" is not a valid encoding.", l)
		}
		switch d.encoding {
		case encUTF8, encUTF16LE, encUTF16BE, encWindows1252:
		default:
			// A real encoding that kiln does not decode.
			ThrowRangeError(vm, "\"%s\" is not a valid encoding.", d.encoding)
		}
	}
	if !goja.IsUndefined(options) && !goja.IsNull(options) {
		o, ok := options.(*goja.Object)
		if !ok {
			ThrowTypeError(vm, "Failed to construct 'TextDecoder': constructor parameter 2 is not of type 'TextDecoderOptions'.")
		}
		if v := o.Get("fatal"); v != nil {
			d.fatal = v.ToBoolean()
		}
		if v := o.Get("ignoreBOM"); v != nil {
			d.ignoreBOM = v.ToBoolean()
		}
	}
	return d
}

func (d *textDecoder) reset() {
	d.bomSeen = false
	d.cp, d.needed, d.seen = 0, 0, 0
	d.lower, d.upper = 0x80, 0xBF
	d.leadByte, d.leadSurrogate = -1, -1
}

// decodeOutput is decoded text: a Go string when it is valid UTF-8, or
// UTF-16 code units.
type decodeOutput struct {
	s     string
	units []uint16
	isU16 bool
}

func (o decodeOutput) value(vm *goja.Runtime) goja.Value {
	if o.isU16 {
		return goja.StringFromUTF16(o.units)
	}
	return vm.ToValue(o.s)
}

// decode decodes one chunk; stream=false flushes the state. It reports
// false when the decoder is fatal and the input is malformed.
func (d *textDecoder) decode(in []byte, stream bool) (decodeOutput, bool) {
	var out decodeOutput
	var ok bool
	switch d.encoding {
	case encUTF16LE, encUTF16BE:
		out, ok = d.decodeUTF16(in, stream)
	case encWindows1252:
		// workerd decodes windows-1252 (and latin1, ascii ...) as ISO-8859-1:
		// each byte is the code point of the same value.
		r := make([]rune, len(in))
		for i, b := range in {
			r[i] = rune(b)
		}
		out, ok = decodeOutput{s: string(r)}, true
	default:
		out, ok = d.decodeUTF8(in, stream)
	}
	if !ok || !stream {
		d.reset()
	}
	return out, ok
}

// stripBOM drops a leading U+FEFF from the first output of a stream.
func (d *textDecoder) stripBOM(first rune) bool {
	if d.ignoreBOM || d.bomSeen {
		return false
	}
	d.bomSeen = true
	return first == 0xFEFF
}

func (d *textDecoder) decodeUTF8(in []byte, stream bool) (decodeOutput, bool) {
	if d.lower == 0 {
		d.lower, d.upper = 0x80, 0xBF
	}
	// Fast path: no pending sequence and the chunk is valid on its own.
	if d.needed == 0 && utf8.Valid(in) {
		s := string(in)
		if len(s) > 0 {
			r, size := utf8.DecodeRuneInString(s)
			if d.stripBOM(r) {
				s = s[size:]
			}
		}
		return decodeOutput{s: s}, true
	}
	var b strings.Builder
	b.Grow(len(in))
	emit := func(r rune) {
		if b.Len() == 0 && d.stripBOM(r) {
			return
		}
		b.WriteRune(r)
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		if d.needed == 0 {
			switch {
			case c <= 0x7F:
				emit(rune(c))
			case c >= 0xC2 && c <= 0xDF:
				d.needed, d.cp = 1, int(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					d.lower = 0xA0
				} else if c == 0xED {
					d.upper = 0x9F
				}
				d.needed, d.cp = 2, int(c&0xF)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					d.lower = 0x90
				} else if c == 0xF4 {
					d.upper = 0x8F
				}
				d.needed, d.cp = 3, int(c&0x7)
			default:
				if d.fatal {
					return decodeOutput{}, false
				}
				emit(utf8.RuneError)
			}
			continue
		}
		if c < d.lower || c > d.upper {
			// Malformed: drop the partial sequence and reprocess this byte.
			d.cp, d.needed, d.seen = 0, 0, 0
			d.lower, d.upper = 0x80, 0xBF
			if d.fatal {
				return decodeOutput{}, false
			}
			emit(utf8.RuneError)
			i--
			continue
		}
		d.lower, d.upper = 0x80, 0xBF
		d.cp = d.cp<<6 | int(c&0x3F)
		d.seen++
		if d.seen == d.needed {
			r := rune(d.cp)
			d.cp, d.needed, d.seen = 0, 0, 0
			emit(r)
		}
	}
	if !stream && d.needed != 0 {
		d.cp, d.needed, d.seen = 0, 0, 0
		if d.fatal {
			return decodeOutput{}, false
		}
		emit(utf8.RuneError)
	}
	return decodeOutput{s: b.String()}, true
}

func (d *textDecoder) decodeUTF16(in []byte, stream bool) (decodeOutput, bool) {
	units := make([]uint16, 0, len(in)/2+1)
	emit := func(u uint16) {
		if len(units) == 0 && d.stripBOM(rune(u)) {
			return
		}
		units = append(units, u)
	}
	be := d.encoding == encUTF16BE
	for _, c := range in {
		if d.leadByte < 0 {
			d.leadByte = int(c)
			continue
		}
		var u uint16
		if be {
			u = uint16(d.leadByte)<<8 | uint16(c)
		} else {
			u = uint16(c)<<8 | uint16(d.leadByte)
		}
		d.leadByte = -1
		if d.leadSurrogate >= 0 {
			lead := uint16(d.leadSurrogate)
			d.leadSurrogate = -1
			if u >= 0xDC00 && u <= 0xDFFF {
				emit(lead)
				emit(u)
				continue
			}
			if d.fatal {
				return decodeOutput{}, false
			}
			emit(0xFFFD)
			// u is processed below as a fresh code unit.
		}
		switch {
		case u >= 0xD800 && u <= 0xDBFF:
			d.leadSurrogate = int(u)
		case u >= 0xDC00 && u <= 0xDFFF:
			if d.fatal {
				return decodeOutput{}, false
			}
			emit(0xFFFD)
		default:
			emit(u)
		}
	}
	if !stream && (d.leadByte >= 0 || d.leadSurrogate >= 0) {
		d.leadByte, d.leadSurrogate = -1, -1
		if d.fatal {
			return decodeOutput{}, false
		}
		emit(0xFFFD)
	}
	return decodeOutput{units: units, isU16: true}, true
}
