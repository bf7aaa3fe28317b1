package webapi

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// Headers made from a net/http map keep it until first used; reading,
// cloning, changing and converting back all behave as if the list had
// been built at once, and the map itself is never changed.
func TestHeadersFromHTTPAreBuiltOnFirstUse(t *testing.T) {
	src := http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a", "b"}, "Accept": {"*/*"}}
	snapshot := src.Clone()

	untouched := headersFromHTTP(src, guardImmutable)
	out := untouched.httpHeader()
	if !reflect.DeepEqual(out, snapshot) {
		t.Fatalf("untouched headers converted back to %v, want %v", out, snapshot)
	}
	out["X-Multi"][0] = "changed" // the copy does not share the map's slices
	if src["X-Multi"][0] != "a" {
		t.Fatal("httpHeader shared a value slice with the source map")
	}

	h := headersFromHTTP(src, guardImmutable)
	cp := h.clone()
	cp.set("x-multi", "c")
	cp.add("x-new", "n")
	cp.del("accept")
	if v, _ := h.get("x-multi"); v != "a, b" {
		t.Fatalf("original x-multi = %q after the clone changed", v)
	}
	if got := fmt.Sprint(h.sorted()); got != "[[accept */*] [content-type text/plain] [x-multi a, b]]" {
		t.Fatalf("original iterates as %s", got)
	}
	if got := fmt.Sprint(cp.sorted()); got != "[[content-type text/plain] [x-multi c] [x-new n]]" {
		t.Fatalf("clone iterates as %s", got)
	}
	if !reflect.DeepEqual(src, snapshot) {
		t.Fatalf("the source map changed: %v", src)
	}
	out = cp.httpHeader()
	want := http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"c"}, "X-New": {"n"}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("changed clone converted to %v, want %v", out, want)
	}

	// A map with names not in canonical form reads the same either way.
	odd := http.Header{"x-lower": {"1"}}
	out = headersFromHTTP(odd, guardNone).httpHeader()
	if out.Get("X-Lower") != "1" || len(out) != 1 {
		t.Fatalf("non-canonical name converted to %v", out)
	}
	if v, ok := headersFromHTTP(odd, guardNone).get("x-lower"); !ok || v != "1" {
		t.Fatalf("get(x-lower) = %q, %v", v, ok)
	}
}

// Maps built by hand (not by net/http) may hold names that differ only in
// case, names that are not valid, or names without values: converted
// back, they come out as the sorted, lower-cased list would give them,
// every time.
func TestHeadersFromHandBuiltMapsConvertDeterministically(t *testing.T) {
	src := http.Header{"X-Foo": {"a"}, "x-foo": {"b"}, "Bad Name": {"c"}, "Empty": nil}
	for i := 0; i < 20; i++ { // map order varies between runs
		out := headersFromHTTP(src, guardNone).httpHeader()
		want := http.Header{"X-Foo": {"a", "b"}, "bad name": {"c"}}
		if !reflect.DeepEqual(out, want) {
			t.Fatalf("converted to %v, want %v", out, want)
		}
	}
}

// httpHeader copies all values into one array; appending to one name's values
// in the result must not overwrite the values of another name, whichever
// way the headers were built.
func TestHeadersToNetHTTPKeepNamesApart(t *testing.T) {
	fromMap := headersFromHTTP(http.Header{"A": {"1"}, "B": {"2"}, "C": {"3", "4"}}, guardNone)
	fromList := &headers{}
	fromList.add("a", "1")
	fromList.add("b", "2")
	fromList.add("c", "3")
	fromList.add("c", "4")
	for name, h := range map[string]*headers{"map": fromMap, "list": fromList} {
		out := h.httpHeader()
		for _, k := range []string{"A", "B", "C"} {
			out[k] = append(out[k], "appended")
		}
		want := http.Header{"A": {"1", "appended"}, "B": {"2", "appended"}, "C": {"3", "4", "appended"}}
		if !reflect.DeepEqual(out, want) {
			t.Errorf("%s: after appending, %v, want %v", name, out, want)
		}
		if v, _ := h.get("b"); v != "2" {
			t.Errorf("%s: the headers changed to b=%q", name, v)
		}
	}
}
