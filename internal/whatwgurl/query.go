package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// ParseQuery is the application/x-www-form-urlencoded parser: it splits s on
// "&", drops empty sequences, splits each at the first "=", turns "+" into a
// space and percent-decodes name and value (invalid UTF-8 becomes U+FFFD).
// It never fails. A leading "?" is not special here; callers such as
// URLSearchParams strip it themselves.
func ParseQuery(s string) [][2]string {
	var out [][2]string
	for s != "" {
		seq := s
		if i := strings.IndexByte(s, '&'); i >= 0 {
			seq, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if seq == "" {
			continue
		}
		name, value, _ := strings.Cut(seq, "=")
		out = append(out, [2]string{formDecode(name), formDecode(value)})
	}
	return out
}

func formDecode(s string) string {
	if strings.IndexByte(s, '+') >= 0 {
		s = strings.ReplaceAll(s, "+", " ")
	}
	if strings.IndexByte(s, '%') < 0 {
		return decodeUTF8([]byte(s))
	}
	return decodeUTF8(percentDecode(s))
}

// SerializeQuery is the application/x-www-form-urlencoded serializer: names
// and values are percent-encoded with the form-urlencoded set, spaces become
// "+", pairs are joined by "&". An empty list serializes to "".
func SerializeQuery(list [][2]string) string {
	var b strings.Builder
	for i, kv := range list {
		if i > 0 {
			b.WriteByte('&')
		}
		for _, r := range kv[0] {
			appendPercentEncoded(&b, r, formSet, true)
		}
		b.WriteByte('=')
		for _, r := range kv[1] {
			appendPercentEncoded(&b, r, formSet, true)
		}
	}
	return b.String()
}

// EncodeComponent percent-encodes s with the component percent-encode set
// (the set encodeURIComponent uses, minus a few marks).
func EncodeComponent(s string) string {
	return percentEncodeString(s, componentSet, false)
}

// CompareUTF16 compares a and b by their UTF-16 code units, the order
// JavaScript strings sort in (URLSearchParams.prototype.sort). It differs from
// Go's byte order only between code points above U+FFFF and those in
// U+E000..U+FFFF.
func CompareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ka, kb := utf16Key(ra, rb), utf16Key(rb, ra)
			if ka < kb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	default:
		return 1
	}
}

// utf16Key returns the value r is compared by against other, which differs
// from it: a code point above U+FFFF starts with a high surrogate
// (U+D800..U+DBFF), below every BMP code point from U+E000 on. Two
// supplementary code points compare like their code points.
func utf16Key(r, other rune) rune {
	if r >= 0x10000 && other < 0x10000 {
		return 0xd800 + (r-0x10000)>>10
	}
	return r
}
