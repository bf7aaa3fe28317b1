package whatwgurl

import "strings"

// parseCommon parses, without the state machine, the kind of URL every
// request carries: http or https, a host of lowercase ASCII letters, digits,
// hyphens and dots (or a dotted-decimal IPv4 address written canonically),
// an optional port, and a path, query and fragment that need neither
// percent-encoding nor dot-segment removal. Anything else makes it report
// false, and basicParse runs instead. For what it accepts, it returns the
// URL record basicParse would (TestParseCommonAgrees, FuzzParse).
//
// `new URL(request.url)` runs on nearly every request a Worker serves; the
// state machine walks a rune slice one code point at a time, which made
// parsing such a URL 4% of a Durable Object counter's CPU.
func parseCommon(input string) (*URL, bool) {
	u := &URL{hasHost: true, port: -1}
	var rest string
	switch {
	case strings.HasPrefix(input, "http://"):
		u.scheme, rest = "http", input[len("http://"):]
	case strings.HasPrefix(input, "https://"):
		u.scheme, rest = "https", input[len("https://"):]
	default:
		return nil, false
	}

	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	rest = rest[end:]
	host, port, hasPort := strings.Cut(authority, ":")
	if !commonHost(host) {
		return nil, false
	}
	u.host = host
	if hasPort {
		p, ok := commonPort(port)
		if !ok {
			return nil, false
		}
		if p != defaultPort(u.scheme) {
			u.port = p
		}
	}

	path := rest
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		path, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	if !commonPath(path, u) {
		return nil, false
	}

	if strings.HasPrefix(rest, "?") {
		query := rest[1:]
		if i := strings.IndexByte(query, '#'); i >= 0 {
			query, rest = query[:i], query[i:]
		} else {
			rest = ""
		}
		if !plainRun(query, specialQuerySet) {
			return nil, false
		}
		u.query, u.hasQuery = query, true
	}
	if strings.HasPrefix(rest, "#") {
		fragment := rest[1:]
		if !plainRun(fragment, fragmentSet) {
			return nil, false
		}
		u.fragment, u.hasFragment = fragment, true
	}
	return u, true
}

// commonHost accepts a host the host parser returns unchanged: lowercase
// ASCII letters, digits, hyphens and dots, no label an ACE ("xn--") label
// that IDNA would have to check, and, if it ends in a number (so that it
// must be an IPv4 address), four decimal parts without leading zeros, each
// at most 255.
func commonHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	if strings.Contains(host, "xn--") {
		return false
	}
	if !endsInNumber(host) {
		return true
	}
	parts := 0
	for rest := host; ; parts++ {
		part, after, more := strings.Cut(rest, ".")
		if part == "" || len(part) > 3 || (len(part) > 1 && part[0] == '0') || !allDigits(part) {
			return false
		}
		n := 0
		for i := 0; i < len(part); i++ {
			n = n*10 + int(part[i]-'0')
		}
		if n > 255 {
			return false
		}
		if !more {
			return parts == 3
		}
		rest = after
	}
}

// commonPort accepts an empty port (the URL then has none) or one to five
// digits up to 65535.
func commonPort(s string) (int, bool) {
	if s == "" {
		return -1, true
	}
	if len(s) > 5 || !allDigits(s) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= 65535
}

// commonPath splits path, empty or starting with "/", into u's segments,
// accepting only segments that need no percent-encoding and are not dot
// segments (".", "..", or their percent-encoded spellings).
func commonPath(path string, u *URL) bool {
	if path == "" {
		u.path = []string{""}
		return true
	}
	if !plainRun(path, pathSet) || strings.IndexByte(path, '\\') >= 0 {
		return false
	}
	path = path[1:]
	n := strings.Count(path, "/") + 1
	u.path = make([]string, 0, n)
	for {
		seg, after, more := strings.Cut(path, "/")
		if seg == "." || seg == ".." || strings.Contains(seg, "%2e") || strings.Contains(seg, "%2E") {
			return false
		}
		u.path = append(u.path, seg)
		if !more {
			return true
		}
		path = after
	}
}

// plainRun reports whether s is printable ASCII none of which is in set, so
// that the parser copies it unchanged.
func plainRun(s string, set encodeSet) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || encodeTable[c]&set != 0 {
			return false
		}
	}
	return true
}
