package durable

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Case 63: workerd's test vectors.
func TestIDFromNameVectors(t *testing.T) {
	cases := []struct{ key, name, want string }{
		{"mykey", "http://foo/", "59002eb8cf872e541722977a258a12d6a93bbe8192b502e1c0cb250aa91af234"},
		{"mykey", "http://foo/bar", "02b496f65dd35cbac90e3e72dc5a398ee93926ea4a3821e26677082d2e6f9b79"},
		{"210bd0cbd803ef7883a1ee9d86cce06e", "actor-kv-test", "aa299662980ce671dbcb09a5d7ab26ab30e45465bcd12f263f2bdd7d5edd804a"},
	}
	for _, c := range cases {
		if got := NewIDSpace(c.key).FromName(c.name).String(); got != c.want {
			t.Errorf("%s/%s = %s, want %s", c.key, c.name, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	s := NewIDSpace("hello")
	// Case 65.
	for _, bad := range []string{"goodbye", "", strings.Repeat("z", 64), strings.Repeat("a", 63), strings.Repeat("a", 65)} {
		if _, err := s.Parse(bad); !errors.Is(err, ErrIDFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Case 66.
	if _, err := s.Parse(strings.Repeat("deadbeef", 8)); !errors.Is(err, ErrIDForNamespace) {
		t.Errorf("foreign id: %v", err)
	}
	// Round trips, including upper-case hex.
	id := s.FromName("foo")
	for _, str := range []string{id.String(), strings.ToUpper(id.String())} {
		back, err := s.Parse(str)
		if err != nil || back != id {
			t.Errorf("parse %s: %v %v", str, back, err)
		}
	}
	// An ID of another namespace is rejected.
	if _, err := NewIDSpace("other").Parse(id.String()); !errors.Is(err, ErrIDForNamespace) {
		t.Errorf("cross-namespace: %v", err)
	}
}

func TestUnique(t *testing.T) {
	s := NewIDSpace("k")
	a, b := s.Unique(), s.Unique()
	if a == b {
		t.Fatal("two unique ids are equal")
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a.String()) {
		t.Fatalf("bad form %s", a)
	}
	if _, err := s.Parse(a.String()); err != nil {
		t.Fatalf("a unique id does not parse in its namespace: %v", err)
	}
}

func BenchmarkFromName(b *testing.B) {
	s := NewIDSpace("bench-Counter")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.FromName("counter")
	}
}
