package sqlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// Case 1.
func TestGetPutMissing(t *testing.T) {
	f := newFixture(t, Options{})
	if _, ok := f.get("key"); ok {
		t.Fatal("missing key found")
	}
	f.put("key", "value", kv.PutOptions{})
	if v, ok := f.get("key"); !ok || v != "value" {
		t.Fatalf("get = %q, %v", v, ok)
	}
	f.put("key", "second", kv.PutOptions{})
	if v, _ := f.get("key"); v != "second" {
		t.Fatalf("overwrite: get = %q", v)
	}
}

// Case 4: the store checks keys before any I/O, with workerd's texts.
func TestKeyValidation(t *testing.T) {
	f := newFixture(t, Options{})
	long := strings.Repeat("x", 513)
	ops := map[string]func(key string) error{
		"GET": func(k string) error { _, err := f.s.Get(f.ctx, f.ns, k); return err },
		"PUT": func(k string) error { return f.s.Put(f.ctx, f.ns, k, []byte("v"), kv.PutOptions{}) },
		"DELETE": func(k string) error {
			return f.s.Delete(f.ctx, f.ns, k)
		},
	}
	for op, call := range ops {
		wantKVError(t, call(""), "Key name cannot be empty.")
		wantKVError(t, call("."), `"." is not allowed as a key name.`)
		wantKVError(t, call(".."), `".." is not allowed as a key name.`)
		wantKVError(t, call(long), "KV "+op+" failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.")
		if err := call(strings.Repeat("y", 512)); err != nil {
			t.Fatalf("%s of a 512-byte key: %v", op, err)
		}
	}
}

// Case 5.
func TestKeysCaseSensitive(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "lower", kv.PutOptions{})
	f.put("KEY", "upper", kv.PutOptions{})
	if v, _ := f.get("key"); v != "lower" {
		t.Fatalf("key = %q", v)
	}
	if v, _ := f.get("KEY"); v != "upper" {
		t.Fatalf("KEY = %q", v)
	}
}

// Case 6.
func TestEmptyValue(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "", kv.PutOptions{})
	if err := f.s.Put(f.ctx, f.ns, "nil", nil, kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"key", "nil"} {
		if v, ok := f.get(k); !ok || v != "" {
			t.Fatalf("%s = %q, %v; want empty string", k, v, ok)
		}
	}
}

// Case 8: with now = 1000 s.
func TestPutExpirationAndMetadata(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "value", kv.PutOptions{Expiration: 1500, Metadata: json.RawMessage(`{"testing":true}`)})
	e, err := f.s.Get(f.ctx, f.ns, "key")
	if err != nil || e == nil {
		t.Fatalf("get = %v, %v", e, err)
	}
	if string(e.Value) != "value" || string(e.Metadata) != `{"testing":true}` || e.Expiration != 1500 {
		t.Fatalf("entry = %q %s %d", e.Value, e.Metadata, e.Expiration)
	}
	r := f.list(kv.ListOptions{})
	if len(r.Keys) != 1 || r.Keys[0].Expiration != 1500 || string(r.Keys[0].Metadata) != `{"testing":true}` {
		t.Fatalf("list = %+v", r)
	}
}

// Case 9.
func TestMetadataAnyJSON(t *testing.T) {
	f := newFixture(t, Options{})
	for key, c := range map[string]struct{ value, md string }{
		"int":    {"v", `123`},
		"string": {"v", `"example"`},
		"object": {"", `{"testing":true}`},
		"zero":   {"0", `{"a":1}`},
		"false":  {"false", `false`},
	} {
		f.put(key, c.value, kv.PutOptions{Metadata: json.RawMessage(c.md)})
		e, err := f.s.Get(f.ctx, f.ns, key)
		if err != nil || e == nil || string(e.Value) != c.value || string(e.Metadata) != c.md {
			t.Fatalf("%s: entry = %+v, %v", key, e, err)
		}
	}
	// No metadata, and the JSON null, read back as none.
	f.put("none", "v", kv.PutOptions{})
	f.put("null", "v", kv.PutOptions{Metadata: json.RawMessage(`null`)})
	for _, k := range []string{"none", "null"} {
		if e, _ := f.s.Get(f.ctx, f.ns, k); e.Metadata != nil {
			t.Fatalf("%s: metadata = %s, want nil", k, e.Metadata)
		}
	}
	for _, k := range f.list(kv.ListOptions{Prefix: "n"}).Keys {
		if k.Metadata != nil {
			t.Fatalf("list %s: metadata = %s, want nil", k.Name, k.Metadata)
		}
	}
}

func TestMetadataLimit(t *testing.T) {
	f := newFixture(t, Options{})
	ok := json.RawMessage(`"` + strings.Repeat("m", 1022) + `"`)
	f.put("ok", "v", kv.PutOptions{Metadata: ok})
	err := f.s.Put(f.ctx, f.ns, "big", []byte("v"), kv.PutOptions{Metadata: append(ok[:len(ok)-1:len(ok)-1], 'm', '"')})
	wantKVError(t, err, "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.")
	if _, found := f.get("big"); found {
		t.Fatal("rejected put was written")
	}
}

// Case 12 and the absolute expiration checks.
func TestExpirationValidation(t *testing.T) {
	f := newFixture(t, Options{})
	for _, c := range []struct {
		opts kv.PutOptions
		want string
	}{
		{kv.PutOptions{ExpirationTTLSet: true}, "KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0."},
		{kv.PutOptions{ExpirationTTL: 30}, "KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60."},
		{kv.PutOptions{Expiration: 1000}, "KV PUT failed: 400 Invalid expiration of 1000. Please specify integer greater than the current number of seconds since the UNIX epoch."},
		{kv.PutOptions{Expiration: 1030}, "KV PUT failed: 400 Invalid expiration of 1030. Expiration times must be at least 60 seconds in the future."},
	} {
		wantKVError(t, f.s.Put(f.ctx, f.ns, "k", []byte("v"), c.opts), c.want)
	}
	if _, found := f.get("k"); found {
		t.Fatal("a rejected put was written")
	}
	f.put("ttl60", "v", kv.PutOptions{ExpirationTTL: 60})
	// Both given: the TTL wins.
	f.put("both", "v", kv.PutOptions{ExpirationTTL: 120, Expiration: 5000})
	if e, _ := f.s.Get(f.ctx, f.ns, "both"); e.Expiration != 1120 {
		t.Fatalf("both: expiration = %d, want 1120", e.Expiration)
	}
}

// Case 14 (the binding turns the strings into numbers; the store keeps
// what it is given, the TTL made absolute).
func TestExpirationStored(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("abs", "v", kv.PutOptions{Expiration: 4000})
	f.put("ttl", "v", kv.PutOptions{ExpirationTTL: 1000})
	for k, want := range map[string]int64{"abs": 4000, "ttl": 2000} {
		if e, _ := f.s.Get(f.ctx, f.ns, k); e == nil || e.Expiration != want {
			t.Fatalf("%s: entry %+v, want expiration %d", k, e, want)
		}
	}
}

// Case 15.
func TestExpiredKeysHidden(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "value", kv.PutOptions{ExpirationTTL: 60})
	f.clk.Advance(59999 * time.Millisecond)
	if _, ok := f.get("key"); !ok {
		t.Fatal("key expired early")
	}
	f.clk.Advance(time.Millisecond) // now == expiration: expired
	if _, ok := f.get("key"); ok {
		t.Fatal("expired key returned by get")
	}
	m, err := f.s.GetMany(f.ctx, f.ns, []string{"key"})
	if err != nil || m["key"] != nil {
		t.Fatalf("expired key returned by get many: %v, %v", m, err)
	}

	g := newFixture(t, Options{}) // now = 1000
	g.put("key1", "v", kv.PutOptions{Expiration: 1060})
	g.put("key2", "v", kv.PutOptions{Expiration: 1120})
	g.put("key3", "v", kv.PutOptions{Expiration: 1180})
	g.clk.Advance(130 * time.Second)
	r := g.list(kv.ListOptions{})
	if len(r.Keys) != 1 || r.Keys[0].Name != "key3" || r.Keys[0].Expiration != 1180 || !r.ListComplete {
		t.Fatalf("list = %+v", r)
	}
}

// Case 17.
func TestValueSizeLimit(t *testing.T) {
	f := newFixture(t, Options{})
	big := bytes.Repeat([]byte{0xA5}, kv.MaxValueBytes+1)
	wantKVError(t, f.s.Put(f.ctx, f.ns, "over", big, kv.PutOptions{}),
		"KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.")
	if err := f.s.Put(f.ctx, f.ns, "exact", big[:kv.MaxValueBytes], kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := f.s.Get(f.ctx, f.ns, "exact")
	if err != nil || e == nil || !bytes.Equal(e.Value, big[:kv.MaxValueBytes]) {
		t.Fatalf("25 MiB value did not read back: %v", err)
	}
	if _, ok := f.get("over"); ok {
		t.Fatal("rejected value was written")
	}
}

// Case 21.
func TestDelete(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key", "value", kv.PutOptions{})
	if err := f.s.Delete(f.ctx, f.ns, "key"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.get("key"); ok {
		t.Fatal("deleted key found")
	}
	if err := f.s.Delete(f.ctx, f.ns, "missing"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	f.put("a", "1", kv.PutOptions{})
	f.put("b", "2", kv.PutOptions{})
	if err := f.s.DeleteMany(f.ctx, f.ns, []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	if got := names(f.list(kv.ListOptions{})); len(got) != 0 {
		t.Fatalf("after delete many: %v", got)
	}
	var be *kv.BulkItemError
	if err := f.s.DeleteMany(f.ctx, f.ns, []string{"a", ""}); !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("delete many with an empty key: %v", err)
	}
}

// Case 22.
func TestListOrderAndPrefix(t *testing.T) {
	f := newFixture(t, Options{})
	for _, k := range []string{"key3", "key1", "key2"} {
		f.put(k, "v", kv.PutOptions{})
	}
	r := f.list(kv.ListOptions{})
	if got := names(r); !slices.Equal(got, []string{"key1", "key2", "key3"}) || !r.ListComplete {
		t.Fatalf("list = %v", got)
	}
	for _, k := range r.Keys {
		if k.Expiration != 0 || k.Metadata != nil {
			t.Fatalf("%s: expiration or metadata set: %+v", k.Name, k)
		}
	}

	g := newFixture(t, Options{})
	for _, k := range []string{"section1key1", "section1key2", "section2key1", "KEY1", "KEY2", "key1",
		`key\_%1`, `key\_%2`, `keyA_%`, `key\x%`, `key\_`, "sectio", "section1"} {
		g.put(k, "v", kv.PutOptions{})
	}
	for prefix, want := range map[string][]string{
		"section1":      {"section1", "section1key1", "section1key2"},
		"KEY":           {"KEY1", "KEY2"},
		`key\_%`:        {`key\_%1`, `key\_%2`},
		"nothing":       {},
		"section1k":     {"section1key1", "section1key2"},
		"section1k\xff": {},
	} {
		if got := names(g.list(kv.ListOptions{Prefix: prefix})); !slices.Equal(got, want) {
			t.Fatalf("prefix %q: %v, want %v", prefix, got, want)
		}
	}
}

// Prefixes that end in 0xFF bytes have no plain successor.
func TestListPrefixFF(t *testing.T) {
	f := newFixture(t, Options{})
	for _, k := range []string{"a\xff", "a\xff\xff1", "a\xff\xff\xff", "b", "a\xfe"} {
		f.put(k, "v", kv.PutOptions{})
	}
	for prefix, want := range map[string][]string{
		"a\xff":     {"a\xff", "a\xff\xff1", "a\xff\xff\xff"},
		"a\xff\xff": {"a\xff\xff1", "a\xff\xff\xff"},
		"\xff":      {},
		"":          {"a\xfe", "a\xff", "a\xff\xff1", "a\xff\xff\xff", "b"},
	} {
		if got := names(f.list(kv.ListOptions{Prefix: prefix})); !slices.Equal(got, want) {
			t.Fatalf("prefix %q: %q, want %q", prefix, got, want)
		}
	}
}

// Case 24.
func TestCursorIsPosition(t *testing.T) {
	f := newFixture(t, Options{})
	for _, k := range []string{"key1", "key3", "key5"} {
		f.put(k, "v", kv.PutOptions{})
	}
	r := f.list(kv.ListOptions{Limit: 2})
	if got := names(r); !slices.Equal(got, []string{"key1", "key3"}) || r.ListComplete || r.Cursor == "" {
		t.Fatalf("page 1 = %v complete=%v", got, r.ListComplete)
	}
	f.put("key2", "v", kv.PutOptions{})
	f.put("key4", "v", kv.PutOptions{})
	r = f.list(kv.ListOptions{Limit: 2, Cursor: r.Cursor})
	if got := names(r); !slices.Equal(got, []string{"key4", "key5"}) || !r.ListComplete {
		t.Fatalf("page 2 = %v complete=%v", got, r.ListComplete)
	}
}

// Case 25.
func TestListByteOrder(t *testing.T) {
	f := newFixture(t, Options{})
	for _, k := range []string{", ", "!", "é", "z", "Z", "\u00a0", "😀", "\uffff"} {
		f.put(k, "v", kv.PutOptions{})
	}
	want := []string{"!", ", ", "Z", "z", "\u00a0", "é", "\uffff", "😀"} // UTF-8 bytes, not UTF-16 units
	if got := names(f.list(kv.ListOptions{})); !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}
}

// Case 26.
func TestListLimitValidation(t *testing.T) {
	f := newFixture(t, Options{})
	_, err := f.s.List(f.ctx, f.ns, kv.ListOptions{Limit: 1001})
	wantKVError(t, err, "KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.")
	items := make([]kv.BulkItem, 1001)
	for i := range items {
		items[i] = kv.BulkItem{Key: fmt.Sprintf("k%04d", i), Value: []byte("v")}
	}
	if err := f.s.PutMany(f.ctx, f.ns, items); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 1000} {
		r := f.list(kv.ListOptions{Limit: limit})
		if len(r.Keys) != 1000 || r.ListComplete {
			t.Fatalf("limit %d: %d keys, complete=%v", limit, len(r.Keys), r.ListComplete)
		}
		if r2 := f.list(kv.ListOptions{Limit: limit, Cursor: r.Cursor}); len(r2.Keys) != 1 || !r2.ListComplete {
			t.Fatalf("limit %d, page 2: %v", limit, names(r2))
		}
	}
	// Exactly limit keys left: complete, no cursor.
	if r := f.list(kv.ListOptions{Prefix: "k000", Limit: 10}); len(r.Keys) != 10 || !r.ListComplete {
		t.Fatalf("exact page: %d keys, complete=%v", len(r.Keys), r.ListComplete)
	}
}

// Case 28.
func TestListEmptyAndBadCursor(t *testing.T) {
	f := newFixture(t, Options{})
	if r := f.list(kv.ListOptions{}); len(r.Keys) != 0 || !r.ListComplete {
		t.Fatalf("empty namespace: %+v", r)
	}
	f.put("key", "v", kv.PutOptions{})
	if r := f.list(kv.ListOptions{Prefix: "nope"}); len(r.Keys) != 0 || !r.ListComplete {
		t.Fatalf("no match: %+v", r)
	}
	for _, c := range []string{"invalid", "!!!", "AA", encodeCursor([]byte("key"))[1:]} {
		if r := f.list(kv.ListOptions{Cursor: c}); len(r.Keys) != 0 || !r.ListComplete {
			t.Fatalf("cursor %q: %+v", c, r)
		}
	}
}

// Case 29.
func TestGetMany(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key1", "value1", kv.PutOptions{})
	f.put(`key"2`, "quoted", kv.PutOptions{})
	m, err := f.s.GetMany(f.ctx, f.ns, []string{"key1", "key2", `key"2`, "key1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || string(m["key1"].Value) != "value1" || m["key2"] != nil || string(m[`key"2`].Value) != "quoted" {
		t.Fatalf("get many = %v", m)
	}
	if _, present := m["key2"]; !present {
		t.Fatal("missing key absent from the map")
	}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
		if i%2 == 0 {
			f.put(keys[i], keys[i], kv.PutOptions{})
		}
	}
	m, err = f.s.GetMany(f.ctx, f.ns, keys)
	if err != nil || len(m) != 100 {
		t.Fatalf("100 keys: %d entries, %v", len(m), err)
	}
	for i, k := range keys {
		if (m[k] != nil) != (i%2 == 0) || (m[k] != nil && string(m[k].Value) != k) {
			t.Fatalf("%s: %+v", k, m[k])
		}
	}
}

// Case 30.
func TestGetManyLimits(t *testing.T) {
	f := newFixture(t, Options{})
	keys := make([]string, 101)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	_, err := f.s.GetMany(f.ctx, f.ns, keys)
	wantKVError(t, err, "KV GET_BULK failed: 400 You can request a maximum of 100 keys")
	_, err = f.s.GetMany(f.ctx, f.ns, nil)
	wantKVError(t, err, "KV GET_BULK failed: 400 You must request a minimum of 1 key")
}

// Case 32.
func TestGetManyMetadata(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("key1", "value1", kv.PutOptions{Metadata: json.RawMessage(`{"testing":true}`), ExpirationTTL: 600})
	f.put("key2", "value2", kv.PutOptions{})
	m, err := f.s.GetMany(f.ctx, f.ns, []string{"key1", "key2", "key3"})
	if err != nil {
		t.Fatal(err)
	}
	if e := m["key1"]; e == nil || string(e.Value) != "value1" || string(e.Metadata) != `{"testing":true}` || e.Expiration != 1600 {
		t.Fatalf("key1 = %+v", e)
	}
	if e := m["key2"]; e == nil || string(e.Value) != "value2" || e.Metadata != nil {
		t.Fatalf("key2 = %+v", e)
	}
	if m["key3"] != nil {
		t.Fatalf("key3 = %+v", m["key3"])
	}
}

func TestMissingNamespace(t *testing.T) {
	f := newFixture(t, Options{})
	const ns = "0123456789abcdef0123456789abcdef"
	checks := map[string]error{
		"get": func() error { _, err := f.s.Get(f.ctx, ns, "k"); return err }(),
		"get many": func() error {
			_, err := f.s.GetMany(f.ctx, ns, []string{"k"})
			return err
		}(),
		"list":        func() error { _, err := f.s.List(f.ctx, ns, kv.ListOptions{}); return err }(),
		"put":         f.s.Put(f.ctx, ns, "k", []byte("v"), kv.PutOptions{}),
		"put many":    f.s.PutMany(f.ctx, ns, []kv.BulkItem{{Key: "k"}}),
		"delete":      f.s.Delete(f.ctx, ns, "k"),
		"delete many": f.s.DeleteMany(f.ctx, ns, []string{"k"}),
	}
	for name, err := range checks {
		if !errors.Is(err, kv.ErrNamespaceNotFound) {
			t.Errorf("%s: %v, want ErrNamespaceNotFound", name, err)
		}
	}
}

// TestPutOverwritesWithTheSameValue: rewriting a key with what it already
// holds succeeds, and a put of the same key into another namespace leaves
// it alone.
func TestPutOverwritesWithTheSameValue(t *testing.T) {
	f := newFixture(t, Options{})
	for range 3 {
		f.put("k", "same", kv.PutOptions{Metadata: json.RawMessage(`{"a":1}`)})
	}
	if v, ok := f.get("k"); !ok || v != "same" {
		t.Fatalf("k = %q, %v", v, ok)
	}
	other, err := f.s.CreateNamespace(f.ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Put(f.ctx, other.ID, "k", []byte("there"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.get("k"); v != "same" {
		t.Fatalf("a put into another namespace changed k to %q", v)
	}
}
