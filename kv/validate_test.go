package kv

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// errText checks that err is an *Error of the JS class typ with text want.
func errText(t *testing.T, err error, typ, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *kv.Error %q", err, err, want)
	}
	if e.Type != typ || err.Error() != want {
		t.Fatalf("error = %s %q, want %s %q", e.Type, err.Error(), typ, want)
	}
}

// Case 4.
func TestValidateKey(t *testing.T) {
	long := strings.Repeat("x", 513)
	for _, op := range []string{OpGet, OpPut, OpDelete} {
		errText(t, ValidateKey(op, ""), JSTypeError, "Key name cannot be empty.")
		errText(t, ValidateKey(op, "."), JSTypeError, `"." is not allowed as a key name.`)
		errText(t, ValidateKey(op, ".."), JSTypeError, `".." is not allowed as a key name.`)
		errText(t, ValidateKey(op, long), JSError, "KV "+op+" failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.")
		for _, ok := range []string{strings.Repeat("x", 512), "...", "a.", "/"} {
			if err := ValidateKey(op, ok); err != nil {
				t.Fatalf("ValidateKey(%q) = %v", ok, err)
			}
		}
	}
	// Bytes, not characters: 171 three-byte runes are 513 bytes.
	errText(t, ValidateKey(OpGet, strings.Repeat("€", 171)), JSError,
		"KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.")
}

// Case 12 and the absolute expiration checks of miniflare's validator.
func TestValidatePutOptions(t *testing.T) {
	now := time.Unix(1000, 500_000_000)
	for _, c := range []struct {
		name string
		opts PutOptions
		want string // error text, "" for none
		exp  int64
	}{
		{"none", PutOptions{}, "", 0},
		{"ttl nan coerced to 0", PutOptions{ExpirationTTLSet: true}, "KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0.", 0},
		{"ttl negative", PutOptions{ExpirationTTL: -5}, "KV PUT failed: 400 Invalid expiration_ttl of -5. Please specify integer greater than 0.", 0},
		{"ttl 30", PutOptions{ExpirationTTL: 30}, "KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60.", 0},
		{"ttl 60", PutOptions{ExpirationTTL: 60}, "", 1060},
		{"ttl 1000", PutOptions{ExpirationTTL: 1000}, "", 2000},
		{"ttl wins", PutOptions{ExpirationTTL: 60, Expiration: 5}, "", 1060},
		{"ttl wins even if invalid", PutOptions{ExpirationTTL: 30, Expiration: 5000}, "KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60.", 0},
		{"expiration 0 given", PutOptions{ExpirationSet: true}, "KV PUT failed: 400 Invalid expiration of 0. Please specify integer greater than the current number of seconds since the UNIX epoch.", 0},
		{"expiration now", PutOptions{Expiration: 1000}, "KV PUT failed: 400 Invalid expiration of 1000. Please specify integer greater than the current number of seconds since the UNIX epoch.", 0},
		{"expiration 59 s ahead", PutOptions{Expiration: 1059}, "KV PUT failed: 400 Invalid expiration of 1059. Expiration times must be at least 60 seconds in the future.", 0},
		{"expiration 60 s ahead", PutOptions{Expiration: 1060}, "", 1060},
		{"huge ttl saturates", PutOptions{ExpirationTTL: math.MaxInt64}, "", math.MaxInt64},
		{"metadata 1024", PutOptions{Metadata: json.RawMessage(`"` + strings.Repeat("m", 1022) + `"`)}, "", 0},
		{"metadata 1025", PutOptions{Metadata: json.RawMessage(`"` + strings.Repeat("m", 1023) + `"`)}, "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.", 0},
		{"metadata not JSON", PutOptions{Metadata: json.RawMessage(`{`)}, "KV PUT failed: 400 Metadata is not valid JSON.", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			exp, err := ValidatePutOptions(now, c.opts)
			if c.want != "" {
				errText(t, err, JSError, c.want)
				return
			}
			if err != nil || exp != c.exp {
				t.Fatalf("= %d, %v; want %d, nil", exp, err, c.exp)
			}
		})
	}
}

func TestValidatePut(t *testing.T) {
	now := time.Unix(1000, 0)
	_, _, err := ValidatePut(now, "k", MaxValueBytes+1, PutOptions{})
	errText(t, err, JSError, "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.")
	if _, _, err := ValidatePut(now, "k", MaxValueBytes, PutOptions{}); err != nil {
		t.Fatalf("value of exactly 25 MiB: %v", err)
	}
	// The key is checked first, then the options, then the value.
	_, _, err = ValidatePut(now, "", MaxValueBytes+1, PutOptions{ExpirationTTL: 1})
	errText(t, err, JSTypeError, "Key name cannot be empty.")
	_, _, err = ValidatePut(now, "k", MaxValueBytes+1, PutOptions{ExpirationTTL: 1})
	errText(t, err, JSError, "KV PUT failed: 400 Invalid expiration_ttl of 1. Expiration TTL must be at least 60.")
	_, md, err := ValidatePut(now, "k", 1, PutOptions{Metadata: json.RawMessage(" null ")})
	if err != nil || md != nil {
		t.Fatalf("null metadata = %q, %v; want none", md, err)
	}
}

// Case 16.
func TestValidateCacheTTL(t *testing.T) {
	errText(t, ValidateCacheTTL(OpGet, math.NaN()), JSError, "KV GET failed: 400 Invalid cache_ttl of 0. Cache TTL must be at least 30.")
	errText(t, ValidateCacheTTL(OpGet, 10), JSError, "KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.")
	errText(t, ValidateCacheTTL(OpGet, 29.9), JSError, "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.")
	errText(t, ValidateCacheTTL(OpGetBulk, -1), JSError, "KV GET_BULK failed: 400 Invalid cache_ttl of -1. Cache TTL must be at least 30.")
	for _, ok := range []float64{30, 60, 1e12} {
		if err := ValidateCacheTTL(OpGet, ok); err != nil {
			t.Fatalf("cacheTtl %v: %v", ok, err)
		}
	}
}

// Case 26.
func TestListLimit(t *testing.T) {
	_, err := ValidateListOptions(ListOptions{Limit: 1001})
	errText(t, err, JSError, "KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.")
	for in, want := range map[int]int{0: 1000, -3: 1000, 1: 1, 1000: 1000} {
		if got, err := ListLimit(in); err != nil || got != want {
			t.Fatalf("ListLimit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	_, err = ValidateListOptions(ListOptions{Prefix: strings.Repeat("p", 513)})
	errText(t, err, JSError, "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.")
}

// Case 30.
func TestValidateGetMany(t *testing.T) {
	keys := make([]string, 101)
	for i := range keys {
		keys[i] = "k"
	}
	errText(t, ValidateGetMany(keys), JSError, "KV GET_BULK failed: 400 You can request a maximum of 100 keys")
	errText(t, ValidateGetMany(nil), JSError, "KV GET_BULK failed: 400 You must request a minimum of 1 key")
	if err := ValidateGetMany(keys[:100]); err != nil {
		t.Fatalf("100 keys: %v", err)
	}
	errText(t, ValidateGetMany([]string{"a", ""}), JSError, "KV GET_BULK failed: 400 Key names must not be empty")
	errText(t, ValidateGetMany([]string{".."}), JSError, `KV GET_BULK failed: 400 Illegal key name "..". Please use a different name.`)
	errText(t, ValidateGetMany([]string{strings.Repeat("x", 600)}), JSError, "KV GET_BULK failed: 414 UTF-8 encoded length of 600 exceeds key length limit of 512.")
}

func TestValidatePutMany(t *testing.T) {
	items := []BulkItem{{Key: "a"}, {Key: "b", PutOptions: PutOptions{ExpirationTTL: 120}}, {Key: "."}}
	_, err := ValidatePutMany(time.Unix(1000, 0), items)
	var be *BulkItemError
	if !errors.As(err, &be) || be.Index != 2 || be.Key != "." {
		t.Fatalf("error = %v, want item 2 named", err)
	}
	errText(t, err, JSTypeError, `bulk item 2 (key "."): "." is not allowed as a key name.`)
	vs, err := ValidatePutMany(time.Unix(1000, 0), items[:2])
	if err != nil || len(vs) != 2 || vs[1].Expiration != 1120 || vs[0].Expiration != 0 {
		t.Fatalf("= %+v, %v", vs, err)
	}
	_, err = ValidatePutMany(time.Unix(1000, 0), make([]BulkItem, MaxBulkWriteItems+1))
	errText(t, err, JSError, "KV PUT failed: 400 You can write maximum of 10000 keys per request")
	err = ValidateDeleteMany([]string{"a", ""})
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("delete many error = %v, want item 1 named", err)
	}
}

func TestValidateTitle(t *testing.T) {
	for _, bad := range []string{"", "  \t"} {
		if _, err := ValidateTitle(bad); !errors.Is(err, ErrInvalidTitle) {
			t.Fatalf("ValidateTitle(%q) = %v", bad, err)
		}
	}
	if got, err := ValidateTitle("my-ns"); err != nil || got != "my-ns" {
		t.Fatalf("ValidateTitle = %q, %v", got, err)
	}
}

func TestNewNamespaceID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewNamespaceID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q: malformed or repeated", id)
		}
		seen[id] = true
	}
}
