package webapi

import (
	"strconv"
	"strings"
	"testing"
)

func TestAtob(t *testing.T) {
	vm := newTestRuntime(t)
	cases := map[string]string{
		`atob("aGVsbG8=")`:           "hello",
		`atob("aGVsbG8")`:            "hello", // padding is optional
		`atob(" aG Vs\nbG\t8=\f\r")`: "hello", // ASCII whitespace is ignored
		`atob("YQ==")`:               "a",
		`atob("YQ")`:                 "a",
		`atob("YR==")`:               "a", // non-zero trailing bits are accepted
		`atob("")`:                   "",
		`atob("+/+/")`:               "\xfb\xff\xbf",
	}
	for src, want := range cases {
		got := evalString(t, vm, `Array.from(`+src+`, c => c.charCodeAt(0)).join()`)
		codes := make([]string, len(want))
		for i := 0; i < len(want); i++ {
			codes[i] = strconv.Itoa(int(want[i]))
		}
		expectText(t, got, strings.Join(codes, ","))
	}
	jsCheck(t, vm, `const s = atob("/w=="); s.length === 1 && s.charCodeAt(0) === 255`)
	jsCheck(t, vm, `atob(null) === "\x9e\xe9e"`) // ToString(null) is "null"
	const invalid = "InvalidCharacterError: atob() called with invalid base64-encoded data. (Only whitespace, '+', '/', alphanumeric ASCII, and up to two terminal '=' signs when the input data length is divisible by 4 are allowed.)"
	for _, bad := range []string{`"a"`, `"abcde"`, `"ab=c"`, `"ab==="`, `"a==="`, `"YQ="`, `"aGVsbG8-"`, `"aGVs_G8="`, `"é123"`, `"YQ==YQ=="`, `undefined`} {
		expectText(t, jsThrows(t, vm, `atob(`+bad+`)`), invalid)
	}
	jsCheck(t, vm, `try { atob("*"); false } catch (e) { e instanceof DOMException && e.code === 5 }`)
	expectText(t, jsThrows(t, vm, `atob()`), "TypeError: Failed to execute 'atob' on 'ServiceWorkerGlobalScope': 1 argument required, but only 0 present.")
}

func TestBtoa(t *testing.T) {
	vm := newTestRuntime(t)
	expectText(t, evalString(t, vm, `btoa("hello")`), "aGVsbG8=")
	expectText(t, evalString(t, vm, `btoa("")`), "")
	expectText(t, evalString(t, vm, `btoa("\xff\xfe\x00")`), "//4A")
	expectText(t, evalString(t, vm, `btoa(12)`), "MTI=")
	expectText(t, evalString(t, vm, `atob(btoa("any\u00e9thing"))`), "any\u00e9thing")
	const latin1 = "InvalidCharacterError: btoa() can only operate on characters in the Latin1 (ISO/IEC 8859-1) range."
	expectText(t, jsThrows(t, vm, `btoa("€")`), latin1)
	expectText(t, jsThrows(t, vm, `btoa("a\ud800")`), latin1)
	expectText(t, jsThrows(t, vm, `btoa()`), "TypeError: Failed to execute 'btoa' on 'ServiceWorkerGlobalScope': 1 argument required, but only 0 present.")
	jsCheck(t, vm, `btoa.length === 1 && atob.length === 1 && btoa.name === "btoa"`)
}
