package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// eof is the EOF code point of the parser: the position after the last code
// point of the input.
const eof rune = -1

// state is a state of the basic URL parser.
type state int

const (
	stateNone state = iota
	stateSchemeStart
	stateScheme
	stateNoScheme
	stateSpecialRelativeOrAuthority
	statePathOrAuthority
	stateRelative
	stateRelativeSlash
	stateSpecialAuthoritySlashes
	stateSpecialAuthorityIgnoreSlashes
	stateAuthority
	stateHost
	stateHostname
	statePort
	stateFile
	stateFileSlash
	stateFileHost
	statePathStart
	statePath
	stateOpaquePath
	stateQuery
	stateFragment
)

// parser holds the variables of one run of the basic URL parser.
type parser struct {
	in       []rune
	p        int
	base     *URL
	url      *URL
	override state
	state    state
	buf      []rune
	// sb collects the opaque path or the fragment, flushed to url when the
	// state ends.
	sb strings.Builder

	atSignSeen, insideBrackets, passwordTokenSeen bool
}

// basicParse is the basic URL parser. With url == nil it parses a new URL;
// otherwise it modifies url in place, starting in override (the setters'
// state override). A nil error with a non-nil override means the parser
// returned without failure.
func basicParse(input string, base, url *URL, override state) (*URL, error) {
	if url == nil {
		url = &URL{port: -1}
		input = strings.TrimFunc(input, func(r rune) bool { return r >= 0 && r <= 0x20 })
	}
	if strings.ContainsAny(input, "\t\n\r") {
		input = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, input)
	}
	ps := &parser{
		base:     base,
		url:      url,
		override: override,
		state:    override,
	}
	// in and buf share one allocation. buf holds at most a component of
	// the input, so it grows only when percent-encoding lengthens one.
	n := utf8.RuneCountInString(input)
	runes := make([]rune, 0, 2*n)
	for _, r := range input {
		runes = append(runes, r)
	}
	ps.in, ps.buf = runes[:n:n], runes[n:n]
	if ps.state == stateNone {
		ps.state = stateSchemeStart
	}
	for ps.p = 0; ; ps.p++ {
		done, err := ps.step(ps.at(ps.p))
		if err != nil {
			return nil, err
		}
		if done {
			return url, nil
		}
		if ps.p >= len(ps.in) {
			break
		}
	}
	return url, nil
}

func (ps *parser) at(i int) rune {
	if i >= 0 && i < len(ps.in) {
		return ps.in[i]
	}
	return eof
}

// remainingStartsWith reports whether the code points after the pointer begin
// with s (ASCII).
func (ps *parser) remainingStartsWith(s string) bool {
	rest := ps.in[min(ps.p+1, len(ps.in)):]
	if len(rest) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if rest[i] != rune(s[i]) {
			return false
		}
	}
	return true
}

func isASCIIAlpha(c rune) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIDigit(c rune) bool { return '0' <= c && c <= '9' }

func toLowerASCII(c rune) rune {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isWindowsDriveLetter: an ASCII alpha followed by ":" or "|".
func isWindowsDriveLetter(s []rune) bool {
	return len(s) == 2 && isASCIIAlpha(s[0]) && (s[1] == ':' || s[1] == '|')
}

// isNormalizedWindowsDriveLetter: an ASCII alpha followed by ":".
func isNormalizedWindowsDriveLetter(s string) bool {
	return len(s) == 2 && isASCIIAlpha(rune(s[0])) && s[1] == ':'
}

// startsWithWindowsDriveLetter checks the code points from index i on.
func startsWithWindowsDriveLetter(in []rune, i int) bool {
	if i < 0 || len(in)-i < 2 || !isWindowsDriveLetter(in[i:i+2]) {
		return false
	}
	if len(in)-i == 2 {
		return true
	}
	switch in[i+2] {
	case '/', '\\', '?', '#':
		return true
	}
	return false
}

func isSingleDot(s string) bool {
	return s == "." || strings.EqualFold(s, "%2e")
}

func isDoubleDot(s string) bool {
	switch strings.ToLower(s) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}

// shortenPath removes the last path segment, except a lone normalized
// Windows drive letter of a file URL.
func (u *URL) shortenPath() {
	if u.scheme == "file" && len(u.path) == 1 && isNormalizedWindowsDriveLetter(u.path[0]) {
		return
	}
	if len(u.path) > 0 {
		u.path = u.path[:len(u.path)-1]
	}
}

// step runs the current state on code point c. done means the parser returned
// (only possible with a state override).
func (ps *parser) step(c rune) (done bool, err error) {
	u := ps.url
	switch ps.state {
	case stateSchemeStart:
		switch {
		case isASCIIAlpha(c):
			ps.buf = append(ps.buf, toLowerASCII(c))
			ps.state = stateScheme
		case ps.override == stateNone:
			ps.state = stateNoScheme
			ps.p--
		default:
			return false, invalid("scheme")
		}

	case stateScheme:
		switch {
		case isASCIIAlpha(c) || isASCIIDigit(c) || c == '+' || c == '-' || c == '.':
			ps.buf = append(ps.buf, toLowerASCII(c))
		case c == ':':
			scheme := string(ps.buf)
			if ps.override != stateNone {
				if u.isSpecial() != isSpecialScheme(scheme) {
					return true, nil
				}
				if (u.includesCredentials() || u.port >= 0) && scheme == "file" {
					return true, nil
				}
				if u.scheme == "file" && u.hasHost && u.host == "" {
					return true, nil
				}
			}
			u.scheme = scheme
			if ps.override != stateNone {
				if u.port == defaultPort(u.scheme) {
					u.port = -1
				}
				return true, nil
			}
			ps.buf = ps.buf[:0]
			switch {
			case u.scheme == "file":
				ps.state = stateFile
			case u.isSpecial() && ps.base != nil && ps.base.scheme == u.scheme:
				ps.state = stateSpecialRelativeOrAuthority
			case u.isSpecial():
				ps.state = stateSpecialAuthoritySlashes
			case ps.remainingStartsWith("/"):
				ps.state = statePathOrAuthority
				ps.p++
			default:
				u.opaque, u.opaquePath, u.path = true, "", nil
				ps.state = stateOpaquePath
			}
		case ps.override == stateNone:
			ps.buf = ps.buf[:0]
			ps.state = stateNoScheme
			ps.p = -1
		default:
			return false, invalid("scheme")
		}

	case stateNoScheme:
		b := ps.base
		switch {
		case b == nil || (b.opaque && c != '#'):
			return false, invalid("missing-scheme-non-relative-URL")
		case b.opaque && c == '#':
			u.scheme = b.scheme
			u.opaque, u.opaquePath, u.path = true, b.opaquePath, nil
			u.query, u.hasQuery = b.query, b.hasQuery
			u.fragment, u.hasFragment = "", true
			ps.state = stateFragment
		case b.scheme != "file":
			ps.state = stateRelative
			ps.p--
		default:
			ps.state = stateFile
			ps.p--
		}

	case stateSpecialRelativeOrAuthority:
		if c == '/' && ps.remainingStartsWith("/") {
			ps.state = stateSpecialAuthorityIgnoreSlashes
			ps.p++
		} else {
			ps.state = stateRelative
			ps.p--
		}

	case statePathOrAuthority:
		if c == '/' {
			ps.state = stateAuthority
		} else {
			ps.state = statePath
			ps.p--
		}

	case stateRelative:
		b := ps.base
		u.scheme = b.scheme
		switch {
		case c == '/':
			ps.state = stateRelativeSlash
		case u.isSpecial() && c == '\\':
			ps.state = stateRelativeSlash
		default:
			u.username, u.password = b.username, b.password
			u.host, u.hasHost, u.port = b.host, b.hasHost, b.port
			u.path = append([]string(nil), b.path...)
			u.query, u.hasQuery = b.query, b.hasQuery
			switch {
			case c == '?':
				u.query, u.hasQuery = "", true
				ps.state = stateQuery
			case c == '#':
				u.fragment, u.hasFragment = "", true
				ps.state = stateFragment
			case c != eof:
				u.query, u.hasQuery = "", false
				u.shortenPath()
				ps.state = statePath
				ps.p--
			}
		}

	case stateRelativeSlash:
		switch {
		case u.isSpecial() && (c == '/' || c == '\\'):
			ps.state = stateSpecialAuthorityIgnoreSlashes
		case c == '/':
			ps.state = stateAuthority
		default:
			b := ps.base
			u.username, u.password = b.username, b.password
			u.host, u.hasHost, u.port = b.host, b.hasHost, b.port
			ps.state = statePath
			ps.p--
		}

	case stateSpecialAuthoritySlashes:
		ps.state = stateSpecialAuthorityIgnoreSlashes
		if c == '/' && ps.remainingStartsWith("/") {
			ps.p++
		} else {
			ps.p--
		}

	case stateSpecialAuthorityIgnoreSlashes:
		if c != '/' && c != '\\' {
			ps.state = stateAuthority
			ps.p--
		}

	case stateAuthority:
		switch {
		case c == '@':
			if ps.atSignSeen {
				ps.buf = append([]rune("%40"), ps.buf...)
			}
			ps.atSignSeen = true
			var user, pass strings.Builder
			user.WriteString(u.username)
			pass.WriteString(u.password)
			for _, r := range ps.buf {
				if r == ':' && !ps.passwordTokenSeen {
					ps.passwordTokenSeen = true
					continue
				}
				if ps.passwordTokenSeen {
					appendPercentEncoded(&pass, r, userinfoSet, false)
				} else {
					appendPercentEncoded(&user, r, userinfoSet, false)
				}
			}
			u.username, u.password = user.String(), pass.String()
			ps.buf = ps.buf[:0]
		case c == eof || c == '/' || c == '?' || c == '#' || (u.isSpecial() && c == '\\'):
			if ps.atSignSeen && len(ps.buf) == 0 {
				return false, invalid("host-missing")
			}
			ps.p -= len(ps.buf) + 1
			ps.buf = ps.buf[:0]
			ps.state = stateHost
		default:
			ps.buf = append(ps.buf, c)
		}

	case stateHost, stateHostname:
		switch {
		case ps.override != stateNone && u.scheme == "file":
			ps.p--
			ps.state = stateFileHost
		case c == ':' && !ps.insideBrackets:
			if len(ps.buf) == 0 {
				return false, invalid("host-missing")
			}
			if ps.override == stateHostname {
				return false, invalid("port-not-allowed")
			}
			host, err := parseHost(string(ps.buf), !u.isSpecial())
			if err != nil {
				return false, err
			}
			u.host, u.hasHost = host, true
			ps.buf = ps.buf[:0]
			ps.state = statePort
		case c == eof || c == '/' || c == '?' || c == '#' || (u.isSpecial() && c == '\\'):
			ps.p--
			if u.isSpecial() && len(ps.buf) == 0 {
				return false, invalid("host-missing")
			}
			if ps.override != stateNone && len(ps.buf) == 0 && (u.includesCredentials() || u.port >= 0) {
				return false, invalid("host-missing")
			}
			host, err := parseHost(string(ps.buf), !u.isSpecial())
			if err != nil {
				return false, err
			}
			u.host, u.hasHost = host, true
			ps.buf = ps.buf[:0]
			ps.state = statePathStart
			if ps.override != stateNone {
				return true, nil
			}
		default:
			if c == '[' {
				ps.insideBrackets = true
			} else if c == ']' {
				ps.insideBrackets = false
			}
			ps.buf = append(ps.buf, c)
		}

	case statePort:
		switch {
		case isASCIIDigit(c):
			ps.buf = append(ps.buf, c)
		case c == eof || c == '/' || c == '?' || c == '#' || (u.isSpecial() && c == '\\') || ps.override != stateNone:
			if len(ps.buf) > 0 {
				port := 0
				for _, d := range ps.buf {
					port = port*10 + int(d-'0')
					if port > 0xffff {
						return false, invalid("port-out-of-range")
					}
				}
				if port == defaultPort(u.scheme) {
					u.port = -1
				} else {
					u.port = port
				}
				ps.buf = ps.buf[:0]
				if ps.override != stateNone {
					return true, nil
				}
			}
			if ps.override != stateNone {
				return false, invalid("port-invalid")
			}
			ps.state = statePathStart
			ps.p--
		default:
			return false, invalid("port-invalid")
		}

	case stateFile:
		u.scheme = "file"
		u.host, u.hasHost = "", true
		b := ps.base
		switch {
		case c == '/' || c == '\\':
			ps.state = stateFileSlash
		case b != nil && b.scheme == "file":
			u.host, u.hasHost = b.host, b.hasHost
			u.path = append([]string(nil), b.path...)
			u.query, u.hasQuery = b.query, b.hasQuery
			switch {
			case c == '?':
				u.query, u.hasQuery = "", true
				ps.state = stateQuery
			case c == '#':
				u.fragment, u.hasFragment = "", true
				ps.state = stateFragment
			case c != eof:
				u.query, u.hasQuery = "", false
				if !startsWithWindowsDriveLetter(ps.in, ps.p) {
					u.shortenPath()
				} else {
					u.path = nil
				}
				ps.state = statePath
				ps.p--
			}
		default:
			ps.state = statePath
			ps.p--
		}

	case stateFileSlash:
		if c == '/' || c == '\\' {
			ps.state = stateFileHost
			break
		}
		if b := ps.base; b != nil && b.scheme == "file" {
			u.host, u.hasHost = b.host, b.hasHost
			if !startsWithWindowsDriveLetter(ps.in, ps.p) && len(b.path) > 0 && isNormalizedWindowsDriveLetter(b.path[0]) {
				u.path = append(u.path, b.path[0])
			}
		}
		ps.state = statePath
		ps.p--

	case stateFileHost:
		switch c {
		case eof, '/', '\\', '?', '#':
			ps.p--
			switch {
			case ps.override == stateNone && isWindowsDriveLetter(ps.buf):
				// The buffer is kept and becomes the first path segment.
				ps.state = statePath
			case len(ps.buf) == 0:
				u.host, u.hasHost = "", true
				if ps.override != stateNone {
					return true, nil
				}
				ps.state = statePathStart
			default:
				host, err := parseHost(string(ps.buf), !u.isSpecial())
				if err != nil {
					return false, err
				}
				if host == "localhost" {
					host = ""
				}
				u.host, u.hasHost = host, true
				if ps.override != stateNone {
					return true, nil
				}
				ps.buf = ps.buf[:0]
				ps.state = statePathStart
			}
		default:
			ps.buf = append(ps.buf, c)
		}

	case statePathStart:
		switch {
		case u.isSpecial():
			ps.state = statePath
			if c != '/' && c != '\\' {
				ps.p--
			}
		case ps.override == stateNone && c == '?':
			u.query, u.hasQuery = "", true
			ps.state = stateQuery
		case ps.override == stateNone && c == '#':
			u.fragment, u.hasFragment = "", true
			ps.state = stateFragment
		case c != eof:
			ps.state = statePath
			if c != '/' {
				ps.p--
			}
		case ps.override != stateNone && !u.hasHost:
			u.path = append(u.path, "")
		}

	case statePath:
		slash := c == '/' || (u.isSpecial() && c == '\\')
		if c == eof || slash || (ps.override == stateNone && (c == '?' || c == '#')) {
			seg := string(ps.buf)
			switch {
			case isDoubleDot(seg):
				u.shortenPath()
				if !slash {
					u.path = append(u.path, "")
				}
			case isSingleDot(seg):
				if !slash {
					u.path = append(u.path, "")
				}
			default:
				if u.scheme == "file" && len(u.path) == 0 && isWindowsDriveLetter(ps.buf) {
					seg = string(ps.buf[0]) + ":"
				}
				u.path = append(u.path, seg)
			}
			ps.buf = ps.buf[:0]
			if c == '?' {
				u.query, u.hasQuery = "", true
				ps.state = stateQuery
			}
			if c == '#' {
				u.fragment, u.hasFragment = "", true
				ps.state = stateFragment
			}
		} else {
			ps.buf = appendEncodedRunes(ps.buf, c, pathSet)
		}

	case stateOpaquePath:
		if c == '?' || c == '#' || c == eof {
			u.opaquePath += ps.sb.String()
			ps.sb.Reset()
		}
		switch {
		case c == '?':
			u.query, u.hasQuery = "", true
			ps.state = stateQuery
		case c == '#':
			u.fragment, u.hasFragment = "", true
			ps.state = stateFragment
		case c == ' ':
			if next := ps.at(ps.p + 1); next == '?' || next == '#' {
				ps.sb.WriteString("%20")
			} else {
				ps.sb.WriteByte(' ')
			}
		case c != eof:
			appendPercentEncoded(&ps.sb, c, c0ControlSet, false)
		}

	case stateQuery:
		if (ps.override == stateNone && c == '#') || c == eof {
			set := querySet
			if u.isSpecial() {
				set = specialQuerySet
			}
			var b strings.Builder
			b.WriteString(u.query)
			for _, r := range ps.buf {
				appendPercentEncoded(&b, r, set, false)
			}
			u.query = b.String()
			ps.buf = ps.buf[:0]
			if c == '#' {
				u.fragment, u.hasFragment = "", true
				ps.state = stateFragment
			}
		} else if c != eof {
			ps.buf = append(ps.buf, c)
		}

	case stateFragment:
		if c != eof {
			appendPercentEncoded(&ps.sb, c, fragmentSet, false)
		} else {
			u.fragment += ps.sb.String()
			ps.sb.Reset()
		}
	}
	return false, nil
}

// appendEncodedRunes appends the percent-encoding of c in set to buf.
func appendEncodedRunes(buf []rune, c rune, set encodeSet) []rune {
	if !inSet(c, set) {
		return append(buf, c)
	}
	var b strings.Builder
	appendPercentEncoded(&b, c, set, false)
	for i := 0; i < b.Len(); i++ {
		buf = append(buf, rune(b.String()[i]))
	}
	return buf
}
