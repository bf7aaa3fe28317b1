package whatwgurl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// idnaProfile is UTS #46 ToASCII with the flags the URL Standard's "domain to
// ASCII" uses when beStrict is false: CheckHyphens=false, CheckBidi=true,
// CheckJoiners=true, UseSTD3ASCIIRules=false, Transitional_Processing=false,
// VerifyDnsLength=false. Options apply in order, so the overrides follow
// MapForLookup. A Profile is immutable and safe for concurrent use.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.CheckJoiners(true),
	idna.CheckHyphens(false),
	idna.StrictDomainName(false),
	idna.Transitional(false),
	idna.VerifyDNSLength(false),
)

// isForbiddenHost reports whether r is a forbidden host code point.
func isForbiddenHost(r rune) bool {
	switch r {
	case 0x00, '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|':
		return true
	}
	return false
}

// isForbiddenDomain reports whether r is a forbidden domain code point.
func isForbiddenDomain(r rune) bool {
	return isForbiddenHost(r) || r <= 0x1f || r == '%' || r == 0x7f
}

// parseHost is the host parser. It returns the serialized host.
func parseHost(input string, isOpaque bool) (string, error) {
	if strings.HasPrefix(input, "[") {
		if !strings.HasSuffix(input, "]") || len(input) < 2 {
			return "", invalid("IPv6-unclosed")
		}
		addr, err := parseIPv6([]rune(input[1 : len(input)-1]))
		if err != nil {
			return "", err
		}
		return "[" + serializeIPv6(addr) + "]", nil
	}
	if isOpaque {
		return parseOpaqueHost(input)
	}
	domain := input
	if strings.IndexByte(input, '%') >= 0 || !utf8.ValidString(input) {
		domain = decodeUTF8(percentDecode(input))
	}
	ascii, err := domainToASCII(domain)
	if err != nil {
		return "", err
	}
	if endsInNumber(ascii) {
		v4, err := parseIPv4(ascii)
		if err != nil {
			return "", err
		}
		return serializeIPv4(v4, ascii), nil
	}
	return ascii, nil
}

// domainToASCII is "domain to ASCII" with beStrict false, followed by the host
// parser's check for forbidden domain code points.
func domainToASCII(domain string) (string, error) {
	result, fast := asciiLowerFastPath(domain)
	if !fast {
		var err error
		result, err = idnaProfile.ToASCII(domain)
		if err != nil {
			return "", fmt.Errorf("%w: domain-to-ASCII: %w", ErrInvalidURL, err)
		}
		if emptyACELabel(domain, result) {
			return "", invalid("domain-to-ASCII")
		}
	}
	if result == "" {
		return "", invalid("domain-to-ASCII")
	}
	for _, r := range result {
		if isForbiddenDomain(r) {
			return "", invalid("domain-invalid-code-point")
		}
	}
	return result, nil
}

// asciiLowerFastPath implements the note of "domain to ASCII": an ASCII domain
// none of whose labels starts with "xn--" only needs lowercasing.
func asciiLowerFastPath(domain string) (string, bool) {
	for i := 0; i < len(domain); i++ {
		if domain[i] >= 0x80 {
			return "", false
		}
	}
	for rest := domain; ; {
		label, after, more := strings.Cut(rest, ".")
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return "", false
		}
		if !more {
			break
		}
		rest = after
	}
	return strings.ToLower(domain), true
}

// emptyACELabel catches what x/net/idna accepts but UTS #46 rejects: a label
// that maps to exactly "xn--", whose empty Punycode part idna turns into an
// empty label. It is only consulted when the result has an empty label. Each
// raw label is mapped behind an "a", so that "xn--" stops being an ACE prefix
// and survives as "axn--", while a label of ignorable code points maps to "a".
func emptyACELabel(domain, result string) bool {
	if !strings.HasPrefix(result, ".") && !strings.HasSuffix(result, ".") && !strings.Contains(result, "..") && result != "" {
		return false
	}
	labels := strings.FieldsFunc(domain, func(r rune) bool {
		// The code points UTS #46 maps to U+002E FULL STOP.
		return r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61'
	})
	for _, label := range labels {
		if mapped, err := idnaProfile.ToASCII("a" + label); err == nil && mapped == "axn--" {
			return true
		}
	}
	return false
}

// parseOpaqueHost is the opaque-host parser.
func parseOpaqueHost(input string) (string, error) {
	for _, r := range input {
		if isForbiddenHost(r) {
			return "", invalid("host-invalid-code-point")
		}
	}
	return percentEncodeString(input, c0ControlSet, false), nil
}

// endsInNumber is the "ends in a number" checker.
func endsInNumber(s string) bool {
	last := s
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		last = s[i+1:]
		if last == "" {
			// A trailing dot is ignored: the number is the label before it.
			rest := s[:i]
			last = rest[strings.LastIndexByte(rest, '.')+1:]
		}
	} else if s == "" {
		return false
	}
	if last != "" && allDigits(last) {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ipv4Cap bounds IPv4 numbers while parsing: anything at or above 2^32 is
// already an error, so larger values are saturated to avoid overflow.
const ipv4Cap = 1 << 40

// parseIPv4Number is the IPv4 number parser; ok is false on failure.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	radix := uint64(10)
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, radix = s[2:], 16
	} else if len(s) >= 2 && s[0] == '0' {
		s, radix = s[1:], 8
	}
	if s == "" {
		return 0, true
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case radix == 16 && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case radix == 16 && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= radix {
			return 0, false
		}
		v = v*radix + d
		if v > ipv4Cap {
			v = ipv4Cap
		}
	}
	return v, true
}

// parseIPv4 is the IPv4 parser.
func parseIPv4(s string) (uint32, error) {
	if strings.HasSuffix(s, ".") && len(s) > 1 {
		s = s[:len(s)-1] // one trailing dot is ignored
	}
	parts := strings.Count(s, ".") + 1
	if parts > 4 {
		return 0, invalid("IPv4-too-many-parts")
	}
	var nums [4]uint64
	for i, rest := 0, s; i < parts; i++ {
		part, after, _ := strings.Cut(rest, ".")
		n, ok := parseIPv4Number(part)
		if !ok {
			return 0, invalid("IPv4-non-numeric-part")
		}
		nums[i], rest = n, after
	}
	for _, n := range nums[:parts-1] {
		if n > 255 {
			return 0, invalid("IPv4-out-of-range-part")
		}
	}
	last := nums[parts-1]
	if last >= uint64(1)<<(8*(5-parts)) {
		return 0, invalid("IPv4-out-of-range-part")
	}
	ipv4 := last
	for i, n := range nums[:parts-1] {
		ipv4 += n << (8 * (3 - i))
	}
	return uint32(ipv4), nil
}

// serializeIPv4 is the IPv4 serializer. When text, the host as written, is
// already the serialization (the common "127.0.0.1"), it is returned as is.
func serializeIPv4(a uint32, text string) string {
	var buf [len("255.255.255.255")]byte
	b := buf[:0]
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(a>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	if string(b) == text {
		return text
	}
	return string(b)
}

// parseIPv6 is the IPv6 parser; in is the text between the brackets.
func parseIPv6(in []rune) ([8]uint16, error) {
	var addr [8]uint16
	pieceIndex, compress, p := 0, -1, 0
	at := func(i int) rune {
		if i < len(in) {
			return in[i]
		}
		return eof
	}
	if at(p) == ':' {
		if at(p+1) != ':' {
			return addr, invalid("IPv6-invalid-compression")
		}
		p += 2
		pieceIndex++
		compress = pieceIndex
	}
	for at(p) != eof {
		if pieceIndex == 8 {
			return addr, invalid("IPv6-too-many-pieces")
		}
		if at(p) == ':' {
			if compress != -1 {
				return addr, invalid("IPv6-multiple-compression")
			}
			p++
			pieceIndex++
			compress = pieceIndex
			continue
		}
		value, length := 0, 0
		for length < 4 && isHexDigit(at(p)) {
			value = value*16 + int(hexValue(byte(at(p))))
			p++
			length++
		}
		if at(p) == '.' {
			if length == 0 {
				return addr, invalid("IPv4-in-IPv6-invalid-code-point")
			}
			p -= length
			if pieceIndex > 6 {
				return addr, invalid("IPv4-in-IPv6-too-many-pieces")
			}
			numbersSeen := 0
			for at(p) != eof {
				ipv4Piece := -1
				if numbersSeen > 0 {
					if at(p) == '.' && numbersSeen < 4 {
						p++
					} else {
						return addr, invalid("IPv4-in-IPv6-invalid-code-point")
					}
				}
				if c := at(p); c < '0' || c > '9' {
					return addr, invalid("IPv4-in-IPv6-invalid-code-point")
				}
				for c := at(p); '0' <= c && c <= '9'; c = at(p) {
					n := int(c - '0')
					switch ipv4Piece {
					case -1:
						ipv4Piece = n
					case 0:
						return addr, invalid("IPv4-in-IPv6-invalid-code-point")
					default:
						ipv4Piece = ipv4Piece*10 + n
					}
					if ipv4Piece > 255 {
						return addr, invalid("IPv4-in-IPv6-out-of-range-part")
					}
					p++
				}
				addr[pieceIndex] = addr[pieceIndex]<<8 | uint16(ipv4Piece)
				numbersSeen++
				if numbersSeen == 2 || numbersSeen == 4 {
					pieceIndex++
				}
			}
			if numbersSeen != 4 {
				return addr, invalid("IPv4-in-IPv6-too-few-parts")
			}
			break
		} else if at(p) == ':' {
			p++
			if at(p) == eof {
				return addr, invalid("IPv6-invalid-code-point")
			}
		} else if at(p) != eof {
			return addr, invalid("IPv6-invalid-code-point")
		}
		addr[pieceIndex] = uint16(value)
		pieceIndex++
	}
	if compress != -1 {
		swaps := pieceIndex - compress
		pieceIndex = 7
		for pieceIndex != 0 && swaps > 0 {
			addr[pieceIndex], addr[compress+swaps-1] = addr[compress+swaps-1], addr[pieceIndex]
			pieceIndex--
			swaps--
		}
	} else if pieceIndex != 8 {
		return addr, invalid("IPv6-too-few-pieces")
	}
	return addr, nil
}

// serializeIPv6 is the IPv6 serializer (without brackets): the first longest
// run of two or more zero pieces is compressed to "::".
func serializeIPv6(a [8]uint16) string {
	compress, best := -1, 1
	for i := 0; i < 8; {
		if a[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && a[j] == 0 {
			j++
		}
		if j-i > best {
			compress, best = i, j-i
		}
		i = j
	}
	var b strings.Builder
	ignore0 := false
	for i := 0; i < 8; i++ {
		if ignore0 && a[i] == 0 {
			continue
		}
		ignore0 = false
		if compress == i {
			if i == 0 {
				b.WriteString("::")
			} else {
				b.WriteByte(':')
			}
			ignore0 = true
			continue
		}
		b.WriteString(strconv.FormatUint(uint64(a[i]), 16))
		if i != 7 {
			b.WriteByte(':')
		}
	}
	return b.String()
}
