package whatwgurl

import (
	"reflect"
	"testing"
)

// checkCommonAgrees fails if parseCommon accepts input but returns other
// than the state machine does.
func checkCommonAgrees(t *testing.T, input string) bool {
	t.Helper()
	got, ok := parseCommon(input)
	if !ok {
		return false
	}
	want, err := basicParse(input, nil, nil, stateNone)
	if err != nil {
		t.Fatalf("parseCommon(%q) accepted what the parser rejects: %v", input, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseCommon(%q) = %#v, the parser gives %#v", input, got, want)
	}
	return true
}

// Every combination of the parts below, the awkward ones included, parses
// the same with and without the fast path.
func TestParseCommonAgrees(t *testing.T) {
	schemes := []string{"http://", "https://", "HTTP://", "ws://", "http:/", "http:", "file://", " http://"}
	hosts := []string{"example.com", "127.0.0.1", "localhost", "a..b", ".", "a.", "xn--nxasmq6b.com", "xn--a.b",
		"1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "255.255.255.255", "0.0.0.0", "127.0.0.1.", "0x7f.0.0.1",
		"example.123", "EXAMPLE.com", "ex ample", "[::1]", "user@host", "a%2eb", "", "a\\b", "exa\tmple", "bücher.de", "-a-.b-"}
	ports := []string{"", ":", ":80", ":443", ":8787", ":080", ":65535", ":65536", ":000080", ":8x", ":-1"}
	paths := []string{"", "/", "/inc", "/a/b/", "//", "/a//b", "/./a", "/a/..", "/%2e/", "/a%2Eb", "/%2", "/a b",
		"/a\"b", "/a<b>", "/a^b", "/a`b", "/{x}", "/a\\b", "/é", "/a\x7fb", "/a%20b", "/~user/x.y", "/a;b=c", "/..a", "/a..", "/.a"}
	queries := []string{"", "?", "?name=A", "?a=b&c=d", "?a'b", "?a b", "?a\"b", "?<>", "?q=?x", "?%zz", "?a`b^{}"}
	fragments := []string{"", "#", "#top", "#a#b", "#a b", "#a`b", "#a'b", "#<x>"}
	accepted := 0
	for _, s := range schemes {
		for _, h := range hosts {
			for _, p := range ports {
				for _, pa := range paths {
					for _, q := range queries {
						for _, f := range fragments {
							if checkCommonAgrees(t, s+h+p+pa+q+f) {
								accepted++
							}
						}
					}
				}
			}
		}
	}
	for _, tc := range parseCases {
		checkCommonAgrees(t, tc.in)
	}
	// The fast path must take what requests carry, or it is dead code.
	for _, in := range []string{"http://127.0.0.1:8787/inc?name=A", "https://example.com/api/items/42?sort=asc", "http://localhost/", "https://a.b-c.example:8443/x/y/?q=1#frag"} {
		if !checkCommonAgrees(t, in) {
			t.Errorf("parseCommon(%q) fell back to the state machine", in)
		}
	}
	if accepted < 10000 {
		t.Errorf("parseCommon accepted only %d of the combinations", accepted)
	}
}
