package whatwgurl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidURL is wrapped by every error Parse and SetHref return. The text
// after it names the URL Standard's validation error that made parsing fail.
var ErrInvalidURL = errors.New("invalid URL")

func invalid(kind string) error {
	return fmt.Errorf("%w: %s", ErrInvalidURL, kind)
}

// URL is a URL record of the URL Standard. The zero value is not a valid URL;
// obtain one from Parse.
type URL struct {
	scheme   string
	username string
	password string

	// host is the serialized host; hasHost is false when the host is null.
	// The empty host is hasHost && host == "".
	host    string
	hasHost bool

	// port is -1 when null.
	port int

	// opaque selects opaquePath over path.
	opaque     bool
	opaquePath string
	path       []string

	query    string
	hasQuery bool

	fragment    string
	hasFragment bool
}

// Parse runs the URL parser on input, resolving it against base if base is not
// nil. It returns an error wrapping ErrInvalidURL when input (or its
// resolution) is not a valid URL.
func Parse(input string, base *URL) (*URL, error) {
	if base == nil {
		if u, ok := parseCommon(input); ok {
			return u, nil
		}
	}
	u, err := basicParse(input, base, nil, stateNone)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CanParse reports whether Parse(input, base) would succeed.
func CanParse(input string, base *URL) bool {
	if base == nil {
		if _, ok := parseCommon(input); ok {
			return true
		}
	}
	_, err := basicParse(input, base, nil, stateNone)
	return err == nil
}

// Clone returns a deep copy of u.
func (u *URL) Clone() *URL {
	c := *u
	if u.path != nil {
		c.path = append([]string(nil), u.path...)
	}
	return &c
}

// String returns the href.
func (u *URL) String() string { return u.Href() }

// Href is the URL serializer's output.
func (u *URL) Href() string { return u.serialize(false) }

// HrefNoFragment serializes u without its fragment ("exclude fragment").
func (u *URL) HrefNoFragment() string { return u.serialize(true) }

func (u *URL) serialize(excludeFragment bool) string {
	var b strings.Builder
	b.WriteString(u.scheme)
	b.WriteByte(':')
	if u.hasHost {
		b.WriteString("//")
		if u.includesCredentials() {
			b.WriteString(u.username)
			if u.password != "" {
				b.WriteByte(':')
				b.WriteString(u.password)
			}
			b.WriteByte('@')
		}
		b.WriteString(u.host)
		if u.port >= 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(u.port))
		}
	}
	if !u.hasHost && !u.opaque && len(u.path) > 1 && u.path[0] == "" {
		b.WriteString("/.")
	}
	b.WriteString(u.pathname())
	if u.hasQuery {
		b.WriteByte('?')
		b.WriteString(u.query)
	}
	if !excludeFragment && u.hasFragment {
		b.WriteByte('#')
		b.WriteString(u.fragment)
	}
	return b.String()
}

// pathname is the URL path serializer.
func (u *URL) pathname() string {
	if u.opaque {
		return u.opaquePath
	}
	var b strings.Builder
	for _, seg := range u.path {
		b.WriteByte('/')
		b.WriteString(seg)
	}
	return b.String()
}

func (u *URL) isSpecial() bool { return isSpecialScheme(u.scheme) }

func (u *URL) includesCredentials() bool { return u.username != "" || u.password != "" }

// cannotHaveCredentialsOrPort is the standard's "cannot have a
// username/password/port".
func (u *URL) cannotHaveCredentialsOrPort() bool {
	return !u.hasHost || u.host == "" || u.scheme == "file"
}

func isSpecialScheme(s string) bool {
	return defaultPort(s) != -1 || s == "file"
}

// defaultPort returns the default port of a special scheme, -1 otherwise.
func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	case "ftp":
		return 21
	}
	return -1
}

// Origin returns the serialization of u's origin: "scheme://host[:port]" for
// tuple origins and "null" for opaque ones.
func (u *URL) Origin() string {
	switch u.scheme {
	case "http", "https", "ws", "wss", "ftp":
		s := u.scheme + "://" + u.host
		if u.port >= 0 {
			s += ":" + strconv.Itoa(u.port)
		}
		return s
	case "blob":
		inner, err := Parse(u.pathname(), nil)
		if err == nil && (inner.scheme == "http" || inner.scheme == "https" || inner.scheme == "file") {
			return inner.Origin()
		}
	}
	return "null"
}

// Protocol returns the scheme followed by ":".
func (u *URL) Protocol() string { return u.scheme + ":" }

// Scheme returns the scheme without the ":".
func (u *URL) Scheme() string { return u.scheme }

// Username returns the (percent-encoded) username.
func (u *URL) Username() string { return u.username }

// Password returns the (percent-encoded) password.
func (u *URL) Password() string { return u.password }

// Host returns the serialized host and, if there is one, ":" and the port.
func (u *URL) Host() string {
	if !u.hasHost {
		return ""
	}
	if u.port < 0 {
		return u.host
	}
	return u.host + ":" + strconv.Itoa(u.port)
}

// Hostname returns the serialized host ("" when there is none).
func (u *URL) Hostname() string { return u.host }

// Port returns the port in decimal, or "" when it is null (including when it
// is the scheme's default port).
func (u *URL) Port() string {
	if u.port < 0 {
		return ""
	}
	return strconv.Itoa(u.port)
}

// PortNumber returns the port, or -1 when it is null.
func (u *URL) PortNumber() int { return u.port }

// Pathname returns the serialized path.
func (u *URL) Pathname() string { return u.pathname() }

// HasOpaquePath reports whether u's path is opaque (as in "mailto:x").
func (u *URL) HasOpaquePath() bool { return u.opaque }

// Search returns "?" and the query, or "" when the query is null or empty.
func (u *URL) Search() string {
	if !u.hasQuery || u.query == "" {
		return ""
	}
	return "?" + u.query
}

// Query returns the query without "?" and whether it is non-null.
func (u *URL) Query() (string, bool) { return u.query, u.hasQuery }

// Hash returns "#" and the fragment, or "" when it is null or empty.
func (u *URL) Hash() string {
	if !u.hasFragment || u.fragment == "" {
		return ""
	}
	return "#" + u.fragment
}

// SetHref replaces u with the result of parsing href (without a base). On
// failure u is unchanged and the error wraps ErrInvalidURL.
func (u *URL) SetHref(href string) error {
	parsed, err := Parse(href, nil)
	if err != nil {
		return err
	}
	*u = *parsed
	return nil
}

// SetProtocol is the protocol setter: it parses value followed by ":" with the
// scheme start state as state override. Changes that the standard forbids
// (special to non-special, a file URL with credentials, ...) are ignored.
func (u *URL) SetProtocol(value string) {
	_, _ = basicParse(value+":", nil, u, stateSchemeStart)
}

// SetUsername is the username setter.
func (u *URL) SetUsername(value string) {
	if u.cannotHaveCredentialsOrPort() {
		return
	}
	u.username = percentEncodeString(value, userinfoSet, false)
}

// SetPassword is the password setter.
func (u *URL) SetPassword(value string) {
	if u.cannotHaveCredentialsOrPort() {
		return
	}
	u.password = percentEncodeString(value, userinfoSet, false)
}

// SetHost is the host setter (host state override; a port may follow).
func (u *URL) SetHost(value string) {
	if u.opaque {
		return
	}
	_, _ = basicParse(value, nil, u, stateHost)
}

// SetHostname is the hostname setter (hostname state override).
func (u *URL) SetHostname(value string) {
	if u.opaque {
		return
	}
	_, _ = basicParse(value, nil, u, stateHostname)
}

// SetPort is the port setter: "" clears the port, otherwise the leading digits
// of value are parsed with the port state override.
func (u *URL) SetPort(value string) {
	if u.cannotHaveCredentialsOrPort() {
		return
	}
	if value == "" {
		u.port = -1
		return
	}
	_, _ = basicParse(value, nil, u, statePort)
}

// SetPathname is the pathname setter.
func (u *URL) SetPathname(value string) {
	if u.opaque {
		return
	}
	u.path = nil
	_, _ = basicParse(value, nil, u, statePathStart)
}

// SetSearch is the search setter: "" makes the query null, otherwise a single
// leading "?" is dropped and the rest is parsed with the query state override.
func (u *URL) SetSearch(value string) {
	if value == "" {
		u.query, u.hasQuery = "", false
		return
	}
	value = strings.TrimPrefix(value, "?")
	u.query, u.hasQuery = "", true
	_, _ = basicParse(value, nil, u, stateQuery)
}

// SetHash is the hash setter: "" makes the fragment null, otherwise a single
// leading "#" is dropped and the rest is parsed with the fragment state
// override.
func (u *URL) SetHash(value string) {
	if value == "" {
		u.fragment, u.hasFragment = "", false
		return
	}
	value = strings.TrimPrefix(value, "#")
	u.fragment, u.hasFragment = "", true
	_, _ = basicParse(value, nil, u, stateFragment)
}
