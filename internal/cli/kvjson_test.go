package cli

import (
	"math"
	"testing"
)

func TestFormatJSNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-42, "-42"},
		{1.5, "1.5"},
		{100, "100"},
		{123456789012, "123456789012"},
		{4102444800, "4102444800"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.5e21, "1.5e+21"},
		{0.000001, "0.000001"},
		{1e-7, "1e-7"},
		{-1.25e-7, "-1.25e-7"},
		{0.30000000000000004, "0.30000000000000004"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "null"},
		{math.NaN(), "null"},
	} {
		if got := formatJSNumber(tc.in); got != tc.want {
			t.Errorf("formatJSNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuoteJS(t *testing.T) {
	got := quoteJS("a\"b\\c\n\t\x01\x7f<>&\u2028é\xff")
	want := `"a\"b\\c\n\t\u0001` + "\x7f<>&\u2028é\uFFFD" + `"`
	if got != want {
		t.Errorf("quoteJS = %q, want %q", got, want)
	}
}

// JSON.stringify(JSON.parse(x)): array-index keys first, a repeated key
// keeps its first place and its last value, numbers re-formatted.
func TestJSValueRoundTrip(t *testing.T) {
	v, err := parseJS([]byte(`{"b":1,"a":[true,null,{},[]],"10":"x","2":1.50,"b":2e0,"01":"s","4294967295":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.stringify(""), `{"2":1.5,"10":"x","b":2,"a":[true,null,{},[]],"01":"s","4294967295":0}`; got != want {
		t.Errorf("compact:\n%s\nwant\n%s", got, want)
	}
	if got, want := v.get("a").stringify("  "), "[\n  true,\n  null,\n  {},\n  []\n]"; got != want {
		t.Errorf("pretty:\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{``, `{"a":1} x`, `[1,]`, `{"a"}`} {
		if _, err := parseJS([]byte(bad)); err == nil {
			t.Errorf("parseJS(%q) succeeded", bad)
		}
	}
	if huge, err := parseJS([]byte(`1e400`)); err != nil || huge.stringify("") != "null" || jsToString(huge) != "Infinity" {
		t.Errorf("1e400: %v, %v", huge, err)
	}
}

func TestJSTypeOfAndToString(t *testing.T) {
	for src, want := range map[string][2]string{
		`null`:         {"object", "null"},
		`true`:         {"boolean", "true"},
		`12354`:        {"number", "12354"},
		`"s"`:          {"string", "s"},
		`[1,null,"a"]`: {"object", "1,,a"},
		`{"a":1}`:      {"object", "[object Object]"},
	} {
		v, err := parseJS([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if v.typeOf() != want[0] || jsToString(v) != want[1] {
			t.Errorf("%s: typeof %q String %q, want %q %q", src, v.typeOf(), jsToString(v), want[0], want[1])
		}
	}
}

func TestDecodeBase64Lenient(t *testing.T) {
	for in, want := range map[string]string{
		"MTIz":         "123",
		"MTI=":         "12",
		"MTI":          "12",
		"MT":           "1",
		"M":            "",
		"MTIz\n":       "123",
		"MT Iz":        "123",
		"MTIz=MTIz":    "123",
		"-_8":          "\xfb\xff",
		"+/8=":         "\xfb\xff",
		"aGVsbG8gd29y": "hello wor",
	} {
		if got := string(decodeBase64Lenient(in)); got != want {
			t.Errorf("decodeBase64Lenient(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeUTF8Lossy(t *testing.T) {
	if got := decodeUTF8Lossy([]byte("ok é")); got != "ok é" {
		t.Errorf("valid: %q", got)
	}
	if got := decodeUTF8Lossy([]byte{'a', 0xff, 0xc3, 'b'}); got != "a\uFFFD\uFFFDb" {
		t.Errorf("invalid: %q", got)
	}
}

func TestYargsBooleans(t *testing.T) {
	cmd := kvBuilder{}.keyGet()
	fs := cmd.Flags()
	got := yargsBooleans(fs, []string{"k", "--preview", "false", "--text", "true", "--binding", "true", "--", "--local", "false"})
	want := []string{"k", "--preview=false", "--text=true", "--binding", "true", "--", "--local", "false"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
