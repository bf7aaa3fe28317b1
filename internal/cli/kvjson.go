package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The kv commands print JSON the way wrangler does: JSON.stringify of what
// JSON.parse gave. Go's encoding/json differs in ways a user can see (key
// order of decoded objects, number formatting, escaping of <, > and &), so
// the commands keep decoded JSON in jsValue, which remembers what JavaScript
// would.

// jsKind is the JSON type of a jsValue.
type jsKind int

const (
	jsNull jsKind = iota
	jsBool
	jsNumber
	jsString
	jsArray
	jsObject
)

// jsValue is a JSON value as JavaScript holds it after JSON.parse.
type jsValue struct {
	kind    jsKind
	boolean bool
	number  float64
	text    string
	items   []*jsValue
	// keys are an object's property names in insertion order (a repeated
	// name keeps its first place and its last value, as JSON.parse does).
	keys   []string
	fields map[string]*jsValue
}

func jsStringValue(s string) *jsValue  { return &jsValue{kind: jsString, text: s} }
func jsNumberValue(f float64) *jsValue { return &jsValue{kind: jsNumber, number: f} }
func jsNullValue() *jsValue            { return &jsValue{kind: jsNull} }
func jsArrayValue(items ...*jsValue) *jsValue {
	if items == nil {
		items = []*jsValue{}
	}
	return &jsValue{kind: jsArray, items: items}
}
func jsObjectValue() *jsValue { return &jsValue{kind: jsObject, fields: map[string]*jsValue{}} }

// set adds or replaces a property.
func (v *jsValue) set(name string, value *jsValue) *jsValue {
	if _, ok := v.fields[name]; !ok {
		v.keys = append(v.keys, name)
	}
	v.fields[name] = value
	return v
}

// get returns a property, or nil when v is not an object or lacks it.
func (v *jsValue) get(name string) *jsValue {
	if v == nil || v.kind != jsObject {
		return nil
	}
	return v.fields[name]
}

// typeOf is JavaScript's typeof of the value.
func (v *jsValue) typeOf() string {
	switch v.kind {
	case jsBool:
		return "boolean"
	case jsNumber:
		return "number"
	case jsString:
		return "string"
	}
	return "object" // null, arrays and objects
}

// propertyOrder returns an object's keys in JavaScript's own-property order:
// array indices ascending first, then the other names in insertion order.
func (v *jsValue) propertyOrder() []string {
	var indices, names []string
	for _, k := range v.keys {
		if isArrayIndex(k) {
			indices = append(indices, k)
		} else {
			names = append(names, k)
		}
	}
	sort.Slice(indices, func(i, j int) bool {
		a, _ := strconv.ParseUint(indices[i], 10, 64)
		b, _ := strconv.ParseUint(indices[j], 10, 64)
		return a < b
	})
	return append(indices, names...)
}

// isArrayIndex reports whether a property name is a canonical array index
// (0 to 2^32-2), which JavaScript orders before other names.
func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < math.MaxUint32
}

// parseJS decodes one JSON document.
func parseJS(data []byte) (*jsValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJS(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, fmt.Errorf("unexpected data after the JSON value at offset %d", dec.InputOffset())
		}
		return nil, err
	}
	return v, nil
}

func decodeJS(dec *json.Decoder) (*jsValue, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return jsNullValue(), nil
	case bool:
		return &jsValue{kind: jsBool, boolean: t}, nil
	case string:
		return jsStringValue(t), nil
	case json.Number:
		// Out of range numbers become Infinity in JavaScript; JSON.stringify
		// then writes null, as formatJSNumber does.
		f, _ := strconv.ParseFloat(string(t), 64)
		return jsNumberValue(f), nil
	case json.Delim:
		switch t {
		case '[':
			arr := jsArrayValue()
			for dec.More() {
				item, err := decodeJS(dec)
				if err != nil {
					return nil, err
				}
				arr.items = append(arr.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		case '{':
			obj := jsObjectValue()
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := keyTok.(string)
				val, err := decodeJS(dec)
				if err != nil {
					return nil, err
				}
				obj.set(key, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// stringify is JSON.stringify(v, null, indent); indent "" gives the compact
// form.
func (v *jsValue) stringify(indent string) string {
	var b strings.Builder
	v.write(&b, indent, "")
	return b.String()
}

func (v *jsValue) write(b *strings.Builder, indent, prefix string) {
	switch v.kind {
	case jsNull:
		b.WriteString("null")
	case jsBool:
		b.WriteString(strconv.FormatBool(v.boolean))
	case jsNumber:
		b.WriteString(formatJSNumber(v.number))
	case jsString:
		b.WriteString(quoteJS(v.text))
	case jsArray:
		if len(v.items) == 0 {
			b.WriteString("[]")
			return
		}
		inner := prefix + indent
		b.WriteByte('[')
		for i, item := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			if indent != "" {
				b.WriteString("\n" + inner)
			}
			item.write(b, indent, inner)
		}
		if indent != "" {
			b.WriteString("\n" + prefix)
		}
		b.WriteByte(']')
	case jsObject:
		if len(v.keys) == 0 {
			b.WriteString("{}")
			return
		}
		inner := prefix + indent
		b.WriteByte('{')
		for i, k := range v.propertyOrder() {
			if i > 0 {
				b.WriteByte(',')
			}
			if indent != "" {
				b.WriteString("\n" + inner)
			}
			b.WriteString(quoteJS(k))
			b.WriteByte(':')
			if indent != "" {
				b.WriteByte(' ')
			}
			v.fields[k].write(b, indent, inner)
		}
		if indent != "" {
			b.WriteString("\n" + prefix)
		}
		b.WriteByte('}')
	}
}

// quoteJS quotes a string as JSON.stringify does: only the quote, the
// backslash and control characters are escaped. Bytes that are not UTF-8
// are written as U+FFFD, as they would have been decoded.
func quoteJS(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatJSNumber formats a number as JavaScript's Number.prototype.toString
// (ECMAScript Number::toString), with JSON.stringify's null for NaN and the
// infinities.
func formatJSNumber(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if f == 0 {
		return "0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	// Shortest round-tripping digits d.ddd and exponent e: f = 0.ddd × 10^n
	// with n = e + 1, k digits.
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	digits := strings.Replace(mantissa, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	k, n := len(digits), e+1
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		expSign := "+"
		if n-1 < 0 {
			expSign = "-"
		}
		expDigits := strconv.Itoa(n - 1)
		if n-1 < 0 {
			expDigits = strconv.Itoa(1 - n)
		}
		if k == 1 {
			out = digits + "e" + expSign + expDigits
		} else {
			out = digits[:1] + "." + digits[1:] + "e" + expSign + expDigits
		}
	}
	return sign + out
}

// decodeUTF8Lossy decodes bytes as UTF-8 text the way a JavaScript decoder
// does: every byte that does not start a valid sequence becomes U+FFFD.
func decodeUTF8Lossy(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	s.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		s.WriteRune(r) // RuneError is U+FFFD
		b = b[size:]
	}
	return s.String()
}
