package whatwgurl

import (
	"errors"
	"strings"
	"testing"
)

// parseCase is one URL parser expectation. href "" means parsing must fail.
// parts, when set, is protocol|username|password|hostname|port|pathname|search|hash.
type parseCase struct {
	in, base string
	href     string
	parts    string
	origin   string
}

const xbase = "https://x.test/a/b/c"

var parseCases = []parseCase{
	// Components and serialization.
	{in: "https://example.com", href: "https://example.com/", parts: "https:|||example.com||/||", origin: "https://example.com"},
	{in: "http://user:pass@EXAMPLE.com:8080/p/a/t/h?query=1#frag", href: "http://user:pass@example.com:8080/p/a/t/h?query=1#frag",
		parts: "http:|user|pass|example.com|8080|/p/a/t/h|?query=1|#frag", origin: "http://example.com:8080"},
	{in: "HTTPS://Example.COM/Path?Q#F", href: "https://example.com/Path?Q#F"},
	{in: "http://h/?", href: "http://h/?", parts: "http:|||h||/||"},
	{in: "http://h/#", href: "http://h/#", parts: "http:|||h||/||"},

	// Ports.
	{in: "http://example.com:80/", href: "http://example.com/", parts: "http:|||example.com||/||"},
	{in: "https://example.com:443/x", href: "https://example.com/x"},
	{in: "ws://h:80/", href: "ws://h/", origin: "ws://h"},
	{in: "wss://h:443", href: "wss://h/"},
	{in: "ftp://h:21/", href: "ftp://h/"},
	{in: "http://h:443/", href: "http://h:443/"},
	{in: "http://h:0/", href: "http://h:0/"},
	{in: "http://h:0080/", href: "http://h/"},
	{in: "http://h:/", href: "http://h/"},
	{in: "http://h:65535/", href: "http://h:65535/"},
	{in: "https://a:99999", href: ""},
	{in: "http://h:65536/", href: ""},
	{in: "http://h:8a/", href: ""},
	{in: "sc://h:1/p?q#f", href: "sc://h:1/p?q#f", parts: "sc:|||h|1|/p|?q|#f", origin: "null"},

	// Failures.
	{in: "http://exa mple.com", href: ""},
	{in: "http://[::1", href: ""},
	{in: "http://%", href: ""},
	{in: "http://%zz/", href: ""},
	{in: "http://%25/", href: ""},
	{in: "", href: ""},
	{in: "foo", href: ""},
	{in: "//h/p", href: ""},
	{in: "http://", href: ""},
	{in: "http://user@/", href: ""},
	{in: "https://ex<ample.com", href: ""},
	{in: "http://a^b/", href: ""},
	{in: "http://a|b/", href: ""},
	{in: "sc://a^b/", href: ""},
	{in: "sc://a b/", href: ""},
	{in: "http://\x00.com/", href: ""},
	{in: "git+ssh://git@github.com:kiln/x.git", href: ""},
	{in: "1http://h/", href: ""},
	{in: "http://h/", base: "mailto:x", href: "http://h/"},
	{in: "x", base: "mailto:a@b", href: ""},

	// IPv4.
	{in: "http://0x7f.1/", href: "http://127.0.0.1/"},
	{in: "http://127.1", href: "http://127.0.0.1/"},
	{in: "http://2130706433/", href: "http://127.0.0.1/"},
	{in: "http://0177.0.0.1/", href: "http://127.0.0.1/"},
	{in: "http://0x7F000001/", href: "http://127.0.0.1/"},
	{in: "http://1.2.3.4./", href: "http://1.2.3.4/"},
	{in: "http://0/", href: "http://0.0.0.0/"},
	{in: "http://0x/", href: "http://0.0.0.0/"},
	{in: "http://4294967295", href: "http://255.255.255.255/"},
	{in: "http://192.168.0.257", href: ""},
	{in: "http://4294967296", href: ""},
	{in: "http://256.0.0.1", href: ""},
	{in: "http://1.2.3.4.5", href: ""},
	{in: "http://999999999999999999999999", href: ""},
	{in: "http://08/", href: ""},
	{in: "http://foo.09", href: ""},
	{in: "http://foo.0x", href: ""},
	{in: "http://foo.1a/", href: "http://foo.1a/"},
	{in: "http://1.2.3.4.5.example/", href: "http://1.2.3.4.5.example/"},
	{in: "http://%30x7f.1/", href: "http://127.0.0.1/"},
	{in: "sc://0x7f.1/", href: "sc://0x7f.1/"},

	// IPv6.
	{in: "http://[0:0:0:0:0:0:0:1]", href: "http://[::1]/", parts: "http:|||[::1]||/||"},
	{in: "http://[::]", href: "http://[::]/"},
	{in: "http://[1:0:0:2:0:0:0:3]", href: "http://[1:0:0:2::3]/"},
	{in: "http://[1:0:0:2:0:0:3:4]", href: "http://[1::2:0:0:3:4]/"},
	{in: "http://[1:2:3:4:5:6:7:0]", href: "http://[1:2:3:4:5:6:7:0]/"},
	{in: "http://[2001:DB8::1]", href: "http://[2001:db8::1]/"},
	{in: "http://[0001:0002::0003]/", href: "http://[1:2::3]/"},
	{in: "http://[::ffff:192.168.0.1]", href: "http://[::ffff:c0a8:1]/"},
	{in: "http://[::127.0.0.1]", href: "http://[::7f00:1]/"},
	{in: "http://[::1]:8080/", href: "http://[::1]:8080/", parts: "http:|||[::1]|8080|/||"},
	{in: "sc://[::1]/", href: "sc://[::1]/"},
	{in: "http://[1::2::3]", href: ""},
	{in: "http://[:1]", href: ""},
	{in: "http://[1:2:3:4:5:6:7:8:9]", href: ""},
	{in: "http://[1:2:3:4:5:6:7]", href: ""},
	{in: "http://[::1.2.3]", href: ""},
	{in: "http://[::01.2.3.4]", href: ""},
	{in: "http://[::1.2.3.256]", href: ""},
	{in: "http://[12345::]", href: ""},
	{in: "http://[::1]:x/", href: ""},
	{in: "http://[::1]x/", href: ""},

	// IDNA and domains.
	{in: "http://EXAMPLE.com", href: "http://example.com/"},
	{in: "http://xn--nxasmq6b.com", href: "http://xn--nxasmq6b.com/"},
	{in: "http://bücher.example/", href: "http://xn--bcher-kva.example/"},
	{in: "http://BÜCHER.example/", href: "http://xn--bcher-kva.example/"},
	{in: "http://faß.de/", href: "http://xn--fa-hia.de/"},
	{in: "http://日本語.jp/", href: "http://xn--wgv71a119e.jp/"},
	{in: "http://example\u3002com/", href: "http://example.com/"},
	{in: "http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/", href: "http://example.com/"},
	{in: "http://a\u00adb.com/", href: "http://ab.com/"},
	{in: "http://ex%41mple.com/", href: "http://example.com/"},
	{in: "http://%C3%BC.com/", href: "http://xn--tda.com/"},
	{in: "http://a..b/", href: "http://a..b/"},
	{in: "http://example.com./", href: "http://example.com./"},
	{in: "http://r3---sn-apo3qvuoxuxbt-j5pe.example/", href: "http://r3---sn-apo3qvuoxuxbt-j5pe.example/"},
	{in: "http://under_score.test/", href: "http://under_score.test/"},
	{in: "http://xn--/", href: ""},
	{in: "http://a.xn--.com/", href: ""},
	{in: "http://XN--.ü/", href: ""},
	{in: "http://xn--ss-/", href: ""},
	{in: "http://xn--a.com/", href: ""},
	{in: "http://xn--zca.com/", href: "http://xn--zca.com/"},
	{in: "http://\uff05\uff14\uff11.com/", href: ""},
	{in: "http://GOO\u200b\u2060\ufeffgoo.com/", href: "http://googoo.com/"},
	{in: "http://\ufdd0zyx.com/", href: ""},
	{in: "http://1\u0627.com/", href: ""},
	{in: "http://ab--c.com/", href: "http://ab--c.com/"},
	{in: "http://xn--ls8h.la/", href: "http://xn--ls8h.la/"},
	{in: "http://\U0001F4A9.la/", href: "http://xn--ls8h.la/"},
	{in: "http://\ufffd/", href: ""},

	// Spaces, controls, tabs and newlines.
	{in: "  https://example.com/  ", href: "https://example.com/"},
	{in: "\t\nhttps://exa\nmple.com/pa\tth\r", href: "https://example.com/path"},
	{in: "\x00\x1fhttps://example.com\x01", href: "https://example.com/"},
	{in: "https://example.com/a b", href: "https://example.com/a%20b"},
	{in: "https://example.com/?a b", href: "https://example.com/?a%20b"},
	{in: "https://example.com/#a b", href: "https://example.com/#a%20b"},
	{in: "https://h/a\x01b", href: "https://h/a%01b"},

	// Percent-encode sets.
	{in: "https://h/a\"<>`{}^b", href: "https://h/a%22%3C%3E%60%7B%7D%5Eb"},
	{in: "https://h/?\"<>`'", href: "https://h/?%22%3C%3E`%27"},
	{in: "sc://h/?\"<>`'", href: "sc://h/?%22%3C%3E`'"},
	{in: "https://h/#\"<>`'#", href: "https://h/#%22%3C%3E%60'#"},
	{in: "https://h/ä?ä#ä", href: "https://h/%C3%A4?%C3%A4#%C3%A4"},
	{in: "https://h/%zz%", href: "https://h/%zz%"},
	{in: "https://h/%41", href: "https://h/%41", parts: "https:|||h||/%41||"},
	{in: "https://h/[]|", href: "https://h/[]|"},

	// Backslashes.
	{in: "https:\\\\example.com\\a\\b", href: "https://example.com/a/b"},
	{in: "https:/\\/\\example.com/", href: "https://example.com/"},
	{in: "http:///example.com/", href: "http://example.com/"},
	{in: "sc://h/a\\b", href: "sc://h/a\\b"},
	{in: "sc:\\\\x\\y", href: "sc:\\\\x\\y", parts: "sc:|||||\\\\x\\y||"},

	// Relative resolution.
	{in: "../d?q", base: xbase, href: "https://x.test/a/d?q"},
	{in: "d", base: xbase, href: "https://x.test/a/b/d"},
	{in: "./d", base: xbase, href: "https://x.test/a/b/d"},
	{in: "/d", base: xbase, href: "https://x.test/d"},
	{in: "//other.test/p", base: xbase, href: "https://other.test/p"},
	{in: "\\\\other.test\\p", base: xbase, href: "https://other.test/p"},
	{in: "?q", base: xbase, href: "https://x.test/a/b/c?q"},
	{in: "#f", base: xbase, href: "https://x.test/a/b/c#f"},
	{in: "", base: xbase + "?x#y", href: "https://x.test/a/b/c?x"},
	{in: "../../../../d", base: xbase, href: "https://x.test/d"},
	{in: ".", base: xbase, href: "https://x.test/a/b/"},
	{in: "..", base: xbase, href: "https://x.test/a/"},
	{in: "%2e%2E/d", base: xbase, href: "https://x.test/a/d"},
	{in: "%2e", base: xbase, href: "https://x.test/a/b/"},
	{in: "d/./e/../f", base: xbase, href: "https://x.test/a/b/d/f"},
	{in: "http:d", base: xbase, href: "http://d/"},
	{in: "https:d", base: xbase, href: "https://x.test/a/b/d"},
	{in: "https://u@x.test/", base: xbase, href: "https://u@x.test/"},
	{in: "http::@c:29", base: "http://example.org/foo/bar", href: "http://example.org/foo/:@c:29"},
	{in: "http::@c:29", href: "http://c:29/"},
	{in: "mailto:x", base: xbase, href: "mailto:x"},
	{in: "#frag", base: "mailto:a@b", href: "mailto:a@b#frag"},
	{in: "a", base: "sc://h/p/q", href: "sc://h/p/a"},
	{in: "../x", base: "sc://h/", href: "sc://h/x"},
	{in: "/x", base: "sc://h/a", href: "sc://h/x"},
	{in: "?q", base: "file:///C:/a/b", href: "file:///C:/a/b?q"},
	{in: "/d", base: "file:///C:/a/b", href: "file:///C:/d"},
	{in: "x", base: "file:///a/b", href: "file:///a/x"},
	{in: "/D:/y", base: "file:///C:/a/b", href: "file:///D:/y"},
	{in: "D:/y", base: "file:///C:/a/b", href: "d:/y"},

	{in: "https:example.org", base: "https://example.com/", href: "https://example.com/example.org"},
	{in: "https:example.org", href: "https://example.org/"},
	{in: "\\example\\..\\demo/.\\", base: "https://example.com/", href: "https://example.com/demo/"},
	{in: "..", base: "file:///C:/demo", href: "file:///C:/"},
	{in: "hello:world", base: "https://example.com/", href: "hello:world"},

	// Dot segments.
	{in: "https://////example.com///", href: "https://example.com///"},
	{in: "https://example.com/././foo", href: "https://example.com/foo"},
	{in: "http://h/a/b/../../../c", href: "http://h/c"},
	{in: "http://h/a/%2e%2e/b", href: "http://h/b"},
	{in: "http://h/a/./b/.", href: "http://h/a/b/"},
	{in: "http://h/.%2E/", href: "http://h/"},
	{in: "http://h/a/..%2f", href: "http://h/a/..%2f"},
	{in: "sc:/a/../b", href: "sc:/b"},
	{in: "sc:/.//p", href: "sc:/.//p", parts: "sc:|||||//p||"},
	{in: "web+demo:/..//not-a-host/", href: "web+demo:/.//not-a-host/"},

	// Opaque paths.
	{in: "mailto:User@Example.COM", href: "mailto:User@Example.COM", parts: "mailto:|||||User@Example.COM||", origin: "null"},
	{in: "data:text/plain,hello world", href: "data:text/plain,hello world"},
	{in: "data:text/plain,a b ?q", href: "data:text/plain,a b%20?q"},
	{in: "sc:a  #f", href: "sc:a %20#f"},
	{in: "sc:a é", href: "sc:a %C3%A9"},
	{in: "javascript:alert(1)", href: "javascript:alert(1)"},
	{in: "mailto:a\tb", href: "mailto:ab"},

	// Non-special hosts and credentials.
	{in: "sc://", href: "sc://", parts: "sc:|||||||"},
	{in: "sc:///p", href: "sc:///p"},
	{in: "sc://ñ.com/", href: "sc://%C3%B1.com/"},
	{in: "sc://H/", href: "sc://H/"},
	{in: "sc://@h", href: "sc://h"},
	{in: "sc://u:@h/", href: "sc://u@h/"},
	{in: "http://:@h/", href: "http://h/"},
	{in: "http://a@b@c/", href: "http://a%40b@c/", parts: "http:|a%40b||c||/||"},
	{in: "http://us er:p@ss@h", href: "http://us%20er:p%40ss@h/"},
	{in: "http://a:b:c@h", href: "http://a:b%3Ac@h/"},

	// File URLs.
	{in: "file:///C:/x", href: "file:///C:/x", parts: "file:|||||/C:/x||", origin: "null"},
	{in: "file:C|/x", href: "file:///C:/x"},
	{in: "file:///c|/x", href: "file:///c:/x"},
	{in: "file://C:/x", href: "file:///C:/x"},
	{in: "file://localhost/etc", href: "file:///etc"},
	{in: "file://LOCALHOST/x", href: "file:///x"},
	{in: "file://host/share/f", href: "file://host/share/f", parts: "file:|||host||/share/f||"},
	{in: "file:///a/../../b", href: "file:///b"},
	{in: "file:///C:/../..", href: "file:///C:/"},
	{in: "file:\\\\server\\share", href: "file://server/share"},
	{in: "file:", href: "file:///"},
	{in: "file:/a/b", href: "file:///a/b"},
	{in: "file://h:80/", href: ""},
	{in: "file://user@h/", href: ""},

	// Origins.
	{in: "blob:https://a.test:8443/uuid", href: "blob:https://a.test:8443/uuid", origin: "https://a.test:8443"},
	{in: "blob:d3958f5c-0777-0845-9dcf-2cb28783acaf", href: "blob:d3958f5c-0777-0845-9dcf-2cb28783acaf", origin: "null"},
	{in: "blob:ftp://h/", href: "blob:ftp://h/", origin: "null"},
	{in: "http://ex.test:81", href: "http://ex.test:81/", origin: "http://ex.test:81"},
}

func TestURLParse(t *testing.T) {
	if len(parseCases) < 80 {
		t.Fatalf("only %d parse cases", len(parseCases))
	}
	for _, tc := range parseCases {
		var base *URL
		if tc.base != "" {
			b, err := Parse(tc.base, nil)
			if err != nil {
				t.Errorf("base %q: %v", tc.base, err)
				continue
			}
			base = b
		}
		u, err := Parse(tc.in, base)
		if tc.href == "" {
			if err == nil {
				t.Errorf("Parse(%q, %q) = %q, want failure", tc.in, tc.base, u.Href())
			} else if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("Parse(%q): error %v does not wrap ErrInvalidURL", tc.in, err)
			}
			if CanParse(tc.in, base) {
				t.Errorf("CanParse(%q, %q) = true", tc.in, tc.base)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q, %q): %v, want %q", tc.in, tc.base, err, tc.href)
			continue
		}
		if got := u.Href(); got != tc.href {
			t.Errorf("Parse(%q, %q).Href() = %q, want %q", tc.in, tc.base, got, tc.href)
		}
		if tc.parts != "" {
			got := strings.Join([]string{u.Protocol(), u.Username(), u.Password(), u.Hostname(), u.Port(), u.Pathname(), u.Search(), u.Hash()}, "|")
			if got != tc.parts {
				t.Errorf("Parse(%q) parts = %q, want %q", tc.in, got, tc.parts)
			}
		}
		if tc.origin != "" {
			if got := u.Origin(); got != tc.origin {
				t.Errorf("Parse(%q).Origin() = %q, want %q", tc.in, got, tc.origin)
			}
		}
		again, err := Parse(u.Href(), nil)
		if err != nil || again.Href() != u.Href() {
			t.Errorf("reparsing %q: %v %v", u.Href(), again, err)
		}
	}
}

func TestURLHostGetter(t *testing.T) {
	u, err := Parse("https://user:pw@[::1]:8443/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host() != "[::1]:8443" || u.Hostname() != "[::1]" || u.Port() != "8443" || u.PortNumber() != 8443 {
		t.Fatalf("host %q hostname %q port %q", u.Host(), u.Hostname(), u.Port())
	}
	m, _ := Parse("mailto:x", nil)
	if m.Host() != "" || !m.HasOpaquePath() {
		t.Fatalf("mailto host %q opaque %v", m.Host(), m.HasOpaquePath())
	}
}

type setterCase struct {
	href, setter, value, want string
}

var setterCases = []setterCase{
	{"https://h/", "protocol", "http", "http://h/"},
	{"https://h/", "protocol", "HTTP:", "http://h/"},
	{"https://h/", "protocol", "ftp:junk", "ftp://h/"},
	{"https://h/", "protocol", "sc", "https://h/"},
	{"sc://h/", "protocol", "https", "sc://h/"},
	{"sc://h/", "protocol", "other", "other://h/"},
	{"http://h:443/", "protocol", "https", "https://h/"},
	{"http://u@h/", "protocol", "file", "http://u@h/"},
	{"file:///x", "protocol", "http", "file:///x"},
	{"https://h/", "protocol", "ht tp", "https://h/"},
	{"https://h/", "protocol", "", "https://h/"},

	{"http://h/", "username", "us er", "http://us%20er@h/"},
	{"http://h/", "username", "a@b:c", "http://a%40b%3Ac@h/"},
	{"http://u@h/", "username", "", "http://h/"},
	{"file:///x", "username", "u", "file:///x"},
	{"mailto:x", "username", "u", "mailto:x"},
	{"http://u@h/", "password", "p:w", "http://u:p%3Aw@h/"},
	{"http://u:p@h/", "password", "", "http://u@h/"},
	{"sc:///p", "password", "p", "sc:///p"},

	{"http://h/p", "host", "example.com:8080", "http://example.com:8080/p"},
	{"http://h/p", "host", "example.com:65536", "http://example.com/p"},
	{"https://h:444/", "host", "EX.com", "https://ex.com:444/"},
	{"http://h/", "host", "x/y", "http://x/"},
	{"http://h/", "host", "", "http://h/"},
	{"http://h/", "host", "a b", "http://h/"},
	{"sc://h/", "host", "", "sc:///"},
	{"sc://u@h/", "host", "", "sc://u@h/"},
	{"mailto:x", "host", "h", "mailto:x"},
	{"file:///x", "host", "srv", "file://srv/x"},
	{"file://srv/x", "host", "localhost", "file:///x"},
	{"http://h/", "host", "[::0:1]:81", "http://[::1]:81/"},
	{"http://h:8/", "hostname", "ex.com:99", "http://h:8/"},
	{"http://h:8/", "hostname", "ex.com", "http://ex.com:8/"},
	{"http://h/", "hostname", "0x7f.1", "http://127.0.0.1/"},

	{"http://h/", "port", "8080", "http://h:8080/"},
	{"http://h:1/", "port", "80", "http://h/"},
	{"http://h/", "port", "8080abc", "http://h:8080/"},
	{"http://h:1/", "port", "abc", "http://h:1/"},
	{"http://h:8/", "port", "", "http://h/"},
	{"http://h/", "port", "99999", "http://h/"},
	{"file:///x", "port", "1", "file:///x"},

	{"http://h/a", "pathname", "b c/d", "http://h/b%20c/d"},
	{"http://h/a", "pathname", "/../x", "http://h/x"},
	{"http://h/a", "pathname", "\\a\\b", "http://h/a/b"},
	{"http://h/a", "pathname", "?x#y", "http://h/%3Fx%23y"},
	{"sc://h/a", "pathname", "x", "sc://h/x"},
	{"http://h/abc", "pathname", "", "http://h/"},
	{"file:///", "pathname", "/a:/..", "file:///a:/"},
	{"file:///", "pathname", "/a/..", "file:///"},
	{"sc:/a", "pathname", "//b", "sc:/.//b"},
	{"sc://h", "pathname", "", "sc://h"},
	{"mailto:x", "pathname", "y", "mailto:x"},

	{"http://h/?a", "search", "b=c", "http://h/?b=c"},
	{"http://h/?a", "search", "?x y", "http://h/?x%20y"},
	{"http://h/?a", "search", "", "http://h/"},
	{"http://h/", "search", "#", "http://h/?%23"},
	{"http://h/#f", "search", "q", "http://h/?q#f"},
	{"sc://h/", "search", "'", "sc://h/?'"},
	{"https://h/", "search", "'", "https://h/?%27"},
	{"sc:space ?q", "search", "", "sc:space%20"},

	{"http://h/", "hash", "x y", "http://h/#x%20y"},
	{"http://h/", "hash", "#a", "http://h/#a"},
	{"http://h/#a", "hash", "", "http://h/"},
	{"mailto:x", "hash", "h", "mailto:x#h"},

	{"http://h/", "href", "https://z/", "https://z/"},
	{"http://h/", "href", "nope", "http://h/"},
}

func TestURLSetters(t *testing.T) {
	for _, tc := range setterCases {
		u, err := Parse(tc.href, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.href, err)
		}
		switch tc.setter {
		case "protocol":
			u.SetProtocol(tc.value)
		case "username":
			u.SetUsername(tc.value)
		case "password":
			u.SetPassword(tc.value)
		case "host":
			u.SetHost(tc.value)
		case "hostname":
			u.SetHostname(tc.value)
		case "port":
			u.SetPort(tc.value)
		case "pathname":
			u.SetPathname(tc.value)
		case "search":
			u.SetSearch(tc.value)
		case "hash":
			u.SetHash(tc.value)
		case "href":
			if err := u.SetHref(tc.value); (err != nil) != (tc.want == tc.href) {
				t.Errorf("SetHref(%q): %v", tc.value, err)
			}
		}
		if got := u.Href(); got != tc.want {
			t.Errorf("%q.%s = %q: got %q, want %q", tc.href, tc.setter, tc.value, got, tc.want)
		}
	}
}

func TestURLClone(t *testing.T) {
	u, _ := Parse("http://h/a/b", nil)
	c := u.Clone()
	c.SetPathname("/x")
	c.SetHost("other")
	if u.Href() != "http://h/a/b" || c.Href() != "http://other/x" {
		t.Fatalf("clone not independent: %q %q", u.Href(), c.Href())
	}
}

func TestURLQuery(t *testing.T) {
	got := ParseQuery("a=b+c&d=%20e&&f&=g&h=1=2&%zz=%F0%9F%98&%C3%A4=%E2%82%AC")
	want := [][2]string{{"a", "b c"}, {"d", " e"}, {"f", ""}, {"", "g"}, {"h", "1=2"}, {"%zz", "\ufffd"}, {"ä", "€"}}
	if len(got) != len(want) {
		t.Fatalf("ParseQuery = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pair %d = %q, want %q", i, got[i], want[i])
		}
	}
	if s := SerializeQuery([][2]string{{"a b", "c&d"}, {"é", "~*-._!'()"}, {"", "="}}); s != "a+b=c%26d&%C3%A9=%7E*-._%21%27%28%29&=%3D" {
		t.Errorf("SerializeQuery = %q", s)
	}
	if s := SerializeQuery(nil); s != "" {
		t.Errorf("SerializeQuery(nil) = %q", s)
	}
	if ParseQuery("") != nil {
		t.Error("ParseQuery(\"\") not empty")
	}
}

func TestURLCompareUTF16(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"a", "b", -1},
		{"b", "a", 1},
		{"a", "a", 0},
		{"a", "ab", -1},
		{"\U0001F600", "\ufffd", -1}, // surrogate pair sorts before U+FFFD
		{"\ufffd", "\U0001F600", 1},
		{"\U0001F600", "\U0001F601", -1},
		{"\u00e9", "z", 1},
	}
	for _, c := range cases {
		if got := CompareUTF16(c.a, c.b); got != c.want {
			t.Errorf("CompareUTF16(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestURLDecodeUTF8(t *testing.T) {
	cases := map[string]string{
		"\xf0\x9f\x98":      "\ufffd",
		"\xff":              "\ufffd",
		"a\xc3b":            "a\ufffdb",
		"\xed\xa0\x80":      "\ufffd\ufffd\ufffd",
		"\xe2\x82\xac\x80x": "€\ufffdx",
	}
	for in, want := range cases {
		if got := decodeUTF8([]byte(in)); got != want {
			t.Errorf("decodeUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in, tc.base)
	}
	for _, tc := range setterCases {
		f.Add(tc.value, tc.href)
	}
	f.Fuzz(func(t *testing.T, input, baseInput string) {
		checkCommonAgrees(t, input)
		var base *URL
		if b, err := Parse(baseInput, nil); err == nil {
			base = b
			checkIdempotent(t, b)
		}
		u, err := Parse(input, base)
		if err != nil {
			return
		}
		checkIdempotent(t, u)
		// The setters must not panic either.
		c := u.Clone()
		c.SetHost(input)
		c.SetPort(input)
		c.SetPathname(input)
		c.SetSearch(input)
		c.SetHash(input)
		c.SetProtocol(input)
		_ = c.Href()
	})
}

func checkIdempotent(t *testing.T, u *URL) {
	t.Helper()
	href := u.Href()
	again, err := Parse(href, nil)
	if err != nil {
		t.Fatalf("href %q does not parse again: %v", href, err)
	}
	if again.Href() != href {
		t.Fatalf("href %q reparses as %q", href, again.Href())
	}
}

// BenchmarkParse parses the URLs a Worker typically sees: every incoming
// request's URL is parsed again by `new URL(request.url)`.
func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"http://127.0.0.1:8787/inc?name=A", "https://example.com/api/items/42?sort=asc"} {
		b.Run(in[:strings.Index(in, ":")]+"-"+in[strings.Index(in, "//")+2:strings.IndexAny(in[8:], ":/")+8], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
