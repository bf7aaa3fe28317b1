package kv

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzValidate feeds the key, metadata and put checks arbitrary keys,
// metadata texts, expirations and value sizes. Properties:
//
//   - ValidateKey accepts exactly the keys of 1 to MaxKeyBytes bytes other
//     than "." and ".."; it refuses the others with a *Error of status 414
//     (too long) or 400 (empty, "." or ".."), and a non-empty message;
//   - ValidateMetadata accepts exactly the valid JSON texts of at most
//     MaxMetadataBytes bytes and gives back the text unchanged (nil for none
//     or null); it refuses the others with 413 (too long) or 400;
//   - ValidatePut agrees with the separate checks, in the platform's order
//     (key, expiration, metadata, value size), and an accepted expiration is
//     at least MinExpirationTTL seconds ahead;
//   - the bulk checks agree with the single-key ones.
func FuzzValidate(f *testing.F) {
	f.Add("k", []byte(`{"a":1}`), int64(0), int64(0), 1)
	f.Add("", []byte(nil), int64(60), int64(0), 0)
	f.Add(".", []byte("null"), int64(0), int64(0), 0)
	f.Add("..", []byte(" null "), int64(-1), int64(0), 0)
	f.Add("...", []byte("{"), int64(59), int64(0), MaxValueBytes)
	f.Add(string(bytes.Repeat([]byte("x"), MaxKeyBytes)), []byte(`"`+string(bytes.Repeat([]byte("m"), MaxMetadataBytes-2))+`"`), int64(0), int64(1_000_000_060), MaxValueBytes+1)
	f.Add(string(bytes.Repeat([]byte("€"), 171)), []byte(`"`+string(bytes.Repeat([]byte("m"), MaxMetadataBytes-1))+`"`), int64(math.MaxInt64), int64(0), -1)
	f.Add("to-do:123", []byte("[1, 2, {\"x\": \"\\u00e9\"}]"), int64(0), int64(1_000_000_059), 100)
	f.Add("\xff\xfe", []byte("\"\xff\""), int64(0), int64(-5), 0)
	now := time.Unix(1_000_000_000, 0)
	f.Fuzz(func(t *testing.T, key string, md []byte, ttl, exp int64, valueLen int) {
		keyErr := ValidateKey(OpPut, key)
		keyOK := key != "" && key != "." && key != ".." && len(key) <= MaxKeyBytes
		if (keyErr == nil) != keyOK {
			t.Fatalf("ValidateKey(%q) = %v, want accepted %v", key, keyErr, keyOK)
		}
		if keyErr != nil {
			want := 400
			if len(key) > MaxKeyBytes {
				want = 414
			}
			checkError(t, keyErr, want)
		}
		if err := ValidateGetMany([]string{key}); (err == nil) != keyOK {
			t.Fatalf("ValidateGetMany([%q]) = %v, want accepted %v", key, err, keyOK)
		} else if err != nil {
			checkError(t, err, 0)
		}
		if err := ValidateDeleteMany([]string{"a", key}); (err == nil) != keyOK {
			t.Fatalf("ValidateDeleteMany = %v, want accepted %v", err, keyOK)
		} else if err != nil {
			var be *BulkItemError
			if !errors.As(err, &be) || be.Index != 1 || be.Key != key {
				t.Fatalf("ValidateDeleteMany: %v does not name item 1", err)
			}
		}

		norm, mdErr := ValidateMetadata(md)
		mdOK := len(md) == 0 || len(md) <= MaxMetadataBytes && json.Valid(md)
		if (mdErr == nil) != mdOK {
			t.Fatalf("ValidateMetadata(%q) = %v, want accepted %v", md, mdErr, mdOK)
		}
		switch {
		case mdErr != nil:
			want := 400
			if len(md) > MaxMetadataBytes {
				want = 413
			}
			checkError(t, mdErr, want)
		case len(md) == 0 || string(bytes.TrimSpace(md)) == "null":
			if norm != nil {
				t.Fatalf("ValidateMetadata(%q) = %q, want none", md, norm)
			}
		default:
			if !bytes.Equal(norm, md) {
				t.Fatalf("ValidateMetadata(%q) = %q, want it unchanged", md, norm)
			}
		}

		opts := PutOptions{ExpirationTTL: ttl, Expiration: exp, Metadata: md}
		expOnly, expErr := ValidatePutOptions(now, PutOptions{ExpirationTTL: ttl, Expiration: exp})
		if expErr != nil {
			checkError(t, expErr, 400)
		} else if expOnly != 0 && expOnly-now.Unix() < MinExpirationTTL {
			t.Fatalf("ttl %d, expiration %d: accepted expiration %d is less than %d s ahead", ttl, exp, expOnly, MinExpirationTTL)
		} else if expOnly == 0 && (ttl != 0 || exp != 0) {
			t.Fatalf("ttl %d, expiration %d: accepted without an expiration", ttl, exp)
		}
		sizeErr := ValidateValueSize(valueLen)
		if (sizeErr == nil) != (valueLen <= MaxValueBytes) {
			t.Fatalf("ValidateValueSize(%d) = %v", valueLen, sizeErr)
		}
		var want error
		for _, err := range []error{keyErr, expErr, mdErr, sizeErr} {
			if err != nil {
				want = err
				break
			}
		}
		gotExp, gotMD, err := ValidatePut(now, key, valueLen, opts)
		if (err == nil) != (want == nil) || err != nil && err.Error() != want.Error() {
			t.Fatalf("ValidatePut = %v, want %v", err, want)
		}
		if err == nil && (gotExp != expOnly || !bytes.Equal(gotMD, norm)) {
			t.Fatalf("ValidatePut = %d, %q; want %d, %q", gotExp, gotMD, expOnly, norm)
		}
		items, err := ValidatePutMany(now, []BulkItem{{Key: key, Value: make([]byte, min(max(valueLen, 0), 64)), PutOptions: opts}})
		if err == nil && len(items) != 1 {
			t.Fatalf("ValidatePutMany returned %d items for 1", len(items))
		}
		if valueLen <= 64 && (err == nil) != (want == nil) {
			t.Fatalf("ValidatePutMany = %v, want %v", err, want)
		}
	})
}

// checkError checks that err is a *Error with a non-empty text and, if
// status is not 0, that status.
func checkError(t *testing.T, err error, status int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is a %T, want *kv.Error", err, err)
	}
	if e.Message == "" || err.Error() == "" {
		t.Fatalf("error %#v has an empty message", e)
	}
	if status != 0 && e.Status != status {
		t.Fatalf("error %q has status %d, want %d", err, e.Status, status)
	}
}
