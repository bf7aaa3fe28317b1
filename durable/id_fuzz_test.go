package durable

import (
	"errors"
	"strings"
	"testing"
)

// isHex64 reports whether s is exactly 64 hex digits (either case): the
// strings idFromString does not reject as malformed.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// FuzzIDParse feeds idFromString (IDSpace.Parse) arbitrary strings and IDs
// built from arbitrary bytes. Properties:
//
//   - a malformed string (not 64 hex digits) fails with ErrIDFormat, a well
//     formed one whose MAC is not the namespace's with ErrIDForNamespace;
//     every error has a non-empty message;
//   - an accepted string's ID prints as the lowercase input, re-parses to the
//     same ID and carries the namespace's MAC;
//   - an ID the namespace made (from a name or from 16 arbitrary bytes)
//     parses back in any mix of letter case, and is refused by another
//     namespace and after any change of one hex digit.
func FuzzIDParse(f *testing.F) {
	f.Add("hello", "goodbye", []byte("0123456789abcdef"))
	f.Add("hello", NewIDSpace("hello").FromName("foo").String(), []byte{})
	f.Add("hello", strings.ToUpper(NewIDSpace("hello").FromName("foo").String()), []byte{0xff})
	f.Add("mykey", "59002eb8cf872e541722977a258a12d6a93bbe8192b502e1c0cb250aa91af234", []byte("http://foo/"))
	f.Add("", strings.Repeat("deadbeef", 8), []byte{})
	f.Add("k", strings.Repeat("z", 64), []byte{0})
	f.Add("k", strings.Repeat("a", 63), []byte{1, 2, 3})
	f.Add("k", strings.Repeat("a", 65), bytesOf(0x80, 40))
	f.Add("worker-Counter", "0x"+strings.Repeat("0", 62), []byte("name"))
	f.Fuzz(func(t *testing.T, key, str string, body []byte) {
		space := NewIDSpace(key)

		// An arbitrary string.
		id, err := space.Parse(str)
		switch {
		case err == nil:
			if !isHex64(str) {
				t.Fatalf("Parse(%q) accepted a string that is not 64 hex digits", str)
			}
			if got := id.String(); got != strings.ToLower(str) {
				t.Fatalf("Parse(%q).String() = %q, want the lowercase input", str, got)
			}
			if again, err := space.Parse(id.String()); err != nil || again != id {
				t.Fatalf("re-parsing %s = %v, %v", id, again, err)
			}
			if space.seal(id[:16]) != id {
				t.Fatalf("Parse(%q) accepted an ID without this namespace's MAC", str)
			}
		case err.Error() == "":
			t.Fatalf("Parse(%q): error with an empty message", str)
		case errors.Is(err, ErrIDFormat):
			if isHex64(str) {
				t.Fatalf("Parse(%q) = ErrIDFormat for 64 hex digits", str)
			}
		case errors.Is(err, ErrIDForNamespace):
			if !isHex64(str) {
				t.Fatalf("Parse(%q) = ErrIDForNamespace for a malformed string", str)
			}
			if space.seal(id[:16]) == id {
				t.Fatalf("Parse(%q) refused an ID with this namespace's MAC", str)
			}
		default:
			t.Fatalf("Parse(%q): unexpected error %v", str, err)
		}

		// IDs of this namespace: from 16 arbitrary bytes and from a name.
		var raw [16]byte
		copy(raw[:], body)
		for _, made := range []ID{space.seal(raw[:]), space.FromName(str)} {
			s := made.String()
			if !isHex64(s) || s != strings.ToLower(s) {
				t.Fatalf("ID prints as %q, want 64 lowercase hex digits", s)
			}
			for _, form := range []string{s, strings.ToUpper(s), mixCase(s, body)} {
				if got, err := space.Parse(form); err != nil || got != made {
					t.Fatalf("Parse(%q) = %v, %v; want %s", form, got, err, made)
				}
			}
			other := NewIDSpace(key + "\x00other")
			if _, err := other.Parse(s); !errors.Is(err, ErrIDForNamespace) {
				t.Fatalf("another namespace parsed %s: %v", s, err)
			}
			i := int(raw[0]) % 64
			changed := []byte(s)
			if changed[i] == '0' {
				changed[i] = '1'
			} else {
				changed[i] = '0'
			}
			if _, err := space.Parse(string(changed)); !errors.Is(err, ErrIDForNamespace) {
				t.Fatalf("Parse(%s) with digit %d changed: %v, want ErrIDForNamespace", changed, i, err)
			}
		}
		if space.FromName(str) != space.FromName(str) {
			t.Fatal("FromName is not deterministic")
		}
	})
}

// mixCase upper-cases the letters of s where the bits of mask are set.
func mixCase(s string, mask []byte) string {
	b := []byte(s)
	for i := range b {
		if len(mask) > 0 && mask[i/8%len(mask)]&(1<<(i%8)) != 0 && 'a' <= b[i] && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
