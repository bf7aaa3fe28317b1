package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// encodeSet names one of the percent-encode sets of the URL Standard. Every
// set contains all code points above U+007E, so only ASCII needs a table.
type encodeSet uint8

const (
	c0ControlSet encodeSet = 1 << iota
	fragmentSet
	querySet
	specialQuerySet
	pathSet
	userinfoSet
	componentSet
	formSet
)

// encodeTable maps each ASCII code point to the sets that contain it. It is
// computed once and never written afterwards.
var encodeTable = buildEncodeTable()

func buildEncodeTable() [128]encodeSet {
	var t [128]encodeSet
	add := func(set encodeSet, chars string) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= set
		}
	}
	// C0 control percent-encode set: C0 controls (and everything above ~).
	var c0 encodeSet = c0ControlSet | fragmentSet | querySet | specialQuerySet | pathSet | userinfoSet | componentSet | formSet
	for c := 0; c < 0x20; c++ {
		t[c] |= c0
	}
	t[0x7f] |= c0
	// Fragment: C0 control set and space " < > `.
	add(fragmentSet, " \"<>`")
	// Query: C0 control set and space " # < >; each wider set includes it.
	add(querySet|specialQuerySet|pathSet|userinfoSet|componentSet|formSet, " \"#<>")
	// Special-query: query set and '.
	add(specialQuerySet, "'")
	// Path: query set and ? ^ ` { }.
	add(pathSet|userinfoSet|componentSet|formSet, "?^`{}")
	// Userinfo: path set and / : ; = @ [ \ ] |.
	add(userinfoSet|componentSet|formSet, "/:;=@[\\]|")
	// Component: userinfo set and $ % & + ,.
	add(componentSet|formSet, "$%&+,")
	// application/x-www-form-urlencoded: component set and ! ' ( ) ~.
	add(formSet, "!'()~")
	return t
}

// inSet reports whether code point r is in the percent-encode set s. U+007F is
// above U+007E and so belongs to every set.
func inSet(r rune, s encodeSet) bool {
	if r >= 0x7f || r < 0 {
		return true
	}
	return encodeTable[r]&s != 0
}

const upperHex = "0123456789ABCDEF"

// appendPercentEncoded appends the UTF-8 percent-encoding of r in set s to b.
// With spaceAsPlus, U+0020 becomes "+" (the form-urlencoded serializer).
func appendPercentEncoded(b *strings.Builder, r rune, s encodeSet, spaceAsPlus bool) {
	if spaceAsPlus && r == ' ' {
		b.WriteByte('+')
		return
	}
	if !inSet(r, s) {
		b.WriteRune(r)
		return
	}
	var buf [utf8.UTFMax]byte
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	n := utf8.EncodeRune(buf[:], r)
	for _, c := range buf[:n] {
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0xf])
	}
}

// percentEncodeString UTF-8 percent-encodes every code point of s in set s.
// Invalid UTF-8 in s is treated as U+FFFD.
func percentEncodeString(s string, set encodeSet, spaceAsPlus bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || encodeTable[c]&set != 0 || (spaceAsPlus && c == ' ') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		appendPercentEncoded(&b, r, set, spaceAsPlus)
	}
	return b.String()
}

func isHexDigit(c rune) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// percentDecode turns "%XX" sequences of s into bytes, leaving any other "%"
// as it is.
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHexDigit(rune(s[i+1])) && isHexDigit(rune(s[i+2])) {
			out = append(out, hexValue(s[i+1])<<4|hexValue(s[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

// decodeUTF8 is "UTF-8 decode without BOM" of the Encoding Standard: every
// maximal invalid subsequence becomes one U+FFFD.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	out.Grow(len(b) + 8)
	var (
		cp           rune
		needed, seen int
		lower, upper byte = 0x80, 0xbf
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if needed == 0 {
			switch {
			case c < 0x80:
				out.WriteByte(c)
			case 0xc2 <= c && c <= 0xdf:
				needed, cp = 1, rune(c&0x1f)
			case 0xe0 <= c && c <= 0xef:
				if c == 0xe0 {
					lower = 0xa0
				} else if c == 0xed {
					upper = 0x9f
				}
				needed, cp = 2, rune(c&0xf)
			case 0xf0 <= c && c <= 0xf4:
				if c == 0xf0 {
					lower = 0x90
				} else if c == 0xf4 {
					upper = 0x8f
				}
				needed, cp = 3, rune(c&0x7)
			default:
				out.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			cp, needed, seen = 0, 0, 0
			lower, upper = 0x80, 0xbf
			out.WriteRune(utf8.RuneError)
			i-- // process this byte again
			continue
		}
		lower, upper = 0x80, 0xbf
		cp = cp<<6 | rune(c&0x3f)
		seen++
		if seen == needed {
			out.WriteRune(cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		out.WriteRune(utf8.RuneError)
	}
	return out.String()
}
