package storage

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Case 79: single get, put and delete.
func TestGetPutDelete(t *testing.T) {
	for name, db := range map[string]*DB{"sqlite": openSQL(t), "legacy": openLegacy(t)} {
		t.Run(name, func(t *testing.T) {
			if got := getStr(t, db, "foo"); got != "<none>" {
				t.Fatalf("missing key = %q", got)
			}
			put(t, db, "foo", "bar")
			if got := getStr(t, db, "foo"); got != "bar" {
				t.Fatalf("get = %q", got)
			}
			put(t, db, "empty", "")
			v, ok, err := db.Get("empty")
			if err != nil || !ok || v == nil || len(v) != 0 {
				t.Fatalf("empty value: %v %v %v", v, ok, err)
			}
			existed, err := db.Delete("foo")
			if err != nil || !existed {
				t.Fatalf("delete existing = %v, %v", existed, err)
			}
			existed, err = db.Delete("foo")
			if err != nil || existed {
				t.Fatalf("delete missing = %v, %v", existed, err)
			}
			commit(t, db)
		})
	}
}

// Case 80: a multi-key get returns the entries sorted by key, missing keys
// left out.
func TestGetManySorted(t *testing.T) {
	db := openSQL(t)
	for _, k := range []string{"key1", "key2", "key3"} {
		put(t, db, k, "v"+k)
	}
	got, err := db.GetMany([]string{"key2", "nope", "key3", "key1", "key2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"key1", []byte("vkey1")}, {"key2", []byte("vkey2")}, {"key3", []byte("vkey3")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetMany = %q", got)
	}
	if got, err := db.GetMany(nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v", got, err)
	}
}

// Case 81: multi-key put and delete; the count omits missing keys.
func TestPutManyDeleteMany(t *testing.T) {
	db := openSQL(t)
	if err := db.PutMany([]Entry{{"key1", []byte("1")}, {"key2", []byte("2")}, {"key3", []byte("3")}}); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, []string{"key1", "key2", "key3"}) {
		t.Fatalf("keys = %q", got)
	}
	n, err := db.DeleteMany([]string{"key1", "key3"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteMany = %d, %v", n, err)
	}
	put(t, db, "key1", "again")
	n, err = db.DeleteMany([]string{"key1", "key2", "key3"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteMany = %d, %v (key1 and key2 existed)", n, err)
	}
	// the later of two entries with one key wins
	if err := db.PutMany([]Entry{{"k", []byte("a")}, {"k", []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, db, "k"); got != "b" {
		t.Fatalf("k = %q", got)
	}
}

// Cases 83 and 96: the limits of the KV-backed path, with the platform's
// texts, checked before anything is written.
func TestLegacyLimits(t *testing.T) {
	db := openLegacy(t)
	key := strings.Repeat("k", 2049)
	const keyMsg = "Keys cannot be larger than 2048 bytes. A key of size 2049 was provided."
	wantErr(t, db.Put(key, nil), ClassRangeError, keyMsg)
	_, _, err := db.Get(key)
	wantErr(t, err, ClassRangeError, keyMsg)
	_, err = db.Delete(key)
	wantErr(t, err, ClassRangeError, keyMsg)
	_, err = db.GetMany([]string{"a", key})
	wantErr(t, err, ClassRangeError, keyMsg)
	if !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("%v is not ErrKeyTooLarge", err)
	}
	put(t, db, strings.Repeat("k", 2048), "fits")

	// 128 KiB plus the 34 bytes of slack workerd grants the serializer.
	if err := db.Put("v", make([]byte, 131072+34)); err != nil {
		t.Fatalf("value at the limit: %v", err)
	}
	err = db.Put("v", make([]byte, 131072+35))
	wantErr(t, err, ClassRangeError, "Values cannot be larger than 131072 bytes. A value of size 131107 was provided.")
	err = db.PutMany([]Entry{{"ok", []byte("x")}, {"big", make([]byte, 200000)}})
	wantErr(t, err, ClassRangeError, "Values cannot be larger than 131072 bytes. A value of size 200000 was provided.")
	if got := getStr(t, db, "ok"); got != "<none>" {
		t.Fatalf("a refused batch wrote %q", got)
	}
}

func TestMaxKeysPerCall(t *testing.T) {
	for name, db := range map[string]*DB{"sqlite": openSQL(t), "legacy": openLegacy(t)} {
		t.Run(name, func(t *testing.T) {
			keys := make([]string, 129)
			entries := make([]Entry, 129)
			for i := range keys {
				keys[i] = fmt.Sprint("k", i)
				entries[i] = Entry{keys[i], []byte("v")}
			}
			const msg = "Maximum number of key value pairs is 128. 129 pairs were provided."
			_, err := db.GetMany(keys)
			wantErr(t, err, ClassRangeError, msg)
			wantErr(t, db.PutMany(entries), ClassRangeError, msg)
			_, err = db.DeleteMany(keys)
			wantErr(t, err, ClassRangeError, msg)
			if err := db.PutMany(entries[:128]); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetMany(keys[:128])
			if err != nil || len(got) != 128 {
				t.Fatalf("GetMany(128) = %d entries, %v", len(got), err)
			}
			n, err := db.DeleteMany(keys[:128])
			if err != nil || n != 128 {
				t.Fatalf("DeleteMany(128) = %d, %v", n, err)
			}
		})
	}
}

// Case 97: on SQLite-backed objects the row limit is SQLite's
// (LIMIT_LENGTH 4 MiB); a multi-put with a key over it stores nothing, and
// the rest of the turn survives.
func TestSQLiteLimitsAndAtomicMultiPut(t *testing.T) {
	db := openSQL(t)
	put(t, db, strings.Repeat("k", 4000000), "hello")
	tooBig := strings.Repeat("x", 4<<20+1)
	e := wantErr(t, db.Put(tooBig, []byte("hello")), ClassError, "string or blob too big: SQLITE_TOOBIG")
	if e.Code != "SQLITE_TOOBIG" || !errors.Is(e, ErrSQLite) {
		t.Fatalf("code %q", e.Code)
	}

	put(t, db, "before", "1") // same implicit transaction
	err := db.PutMany([]Entry{{"foo", []byte("a")}, {"foo2", []byte("b")}, {tooBig, []byte("c")}, {"foo3", []byte("d")}})
	wantErr(t, err, ClassError, "string or blob too big: SQLITE_TOOBIG")
	for _, k := range []string{"foo", "foo2", "foo3"} {
		if got := getStr(t, db, k); got != "<none>" {
			t.Fatalf("%s = %q after a failed multi-put", k, got)
		}
	}
	if got := getStr(t, db, "before"); got != "1" {
		t.Fatalf("earlier put of the turn lost: %q", got)
	}
	if commit(t, db) == 0 {
		t.Fatal("the turn's writes were not committed")
	}
	if got := getStr(t, db, "before"); got != "1" {
		t.Fatalf("after commit: %q", got)
	}
}

func listFixture(t *testing.T) *DB {
	db := openSQL(t)
	for _, k := range []string{"section1key1", "section1key2", "section2key1", "section2key2", "section3key1", "section3key2"} {
		put(t, db, k, "v")
	}
	return db
}

// Case 85: the list options matrix.
func TestListOptions(t *testing.T) {
	db := listFixture(t)
	all := []string{"section1key1", "section1key2", "section2key1", "section2key2", "section3key1", "section3key2"}
	rev := []string{"section3key2", "section3key1", "section2key2", "section2key1", "section1key2", "section1key1"}
	for _, tc := range []struct {
		name string
		o    ListOptions
		want []string
	}{
		{"none", ListOptions{}, all},
		{"start", ListOptions{Start: ptr("section2key2")}, []string{"section2key2", "section3key1", "section3key2"}},
		{"startAfter", ListOptions{StartAfter: ptr("section2key2")}, []string{"section3key1", "section3key2"}},
		{"end", ListOptions{End: ptr("section2key1")}, []string{"section1key1", "section1key2"}},
		{"reverse", ListOptions{Reverse: true}, rev},
		{"limit", ListOptions{Limit: ptr(3)}, all[:3]},
		{"prefix", ListOptions{Prefix: ptr("section2")}, []string{"section2key1", "section2key2"}},
		{"start prefix limit reverse", ListOptions{Start: ptr("section2"), Prefix: ptr("section"), Limit: ptr(2), Reverse: true},
			[]string{"section3key2", "section3key1"}},
		{"startAfter limit", ListOptions{StartAfter: ptr("section2key1"), Limit: ptr(2)}, []string{"section2key2", "section3key1"}},
		{"startAfter prefix-like", ListOptions{StartAfter: ptr("section2"), Limit: ptr(2)}, []string{"section2key1", "section2key2"}},
		{"reverse limit: the last keys", ListOptions{Reverse: true, Limit: ptr(2)}, []string{"section3key2", "section3key1"}},
		{"reverse start end", ListOptions{Start: ptr("section1key2"), End: ptr("section2key2"), Reverse: true},
			[]string{"section2key1", "section1key2"}},
		{"prefix and end inside", ListOptions{Prefix: ptr("section2"), End: ptr("section2key2")}, []string{"section2key1"}},
		{"prefix and end after", ListOptions{Prefix: ptr("section2"), End: ptr("zzz")}, []string{"section2key1", "section2key2"}},
		{"empty prefix", ListOptions{Prefix: ptr("")}, all},
		{"limit over count", ListOptions{Limit: ptr(100)}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listKeys(t, db, tc.o); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("list = %q, want %q", got, tc.want)
			}
		})
	}
}

// Case 106: the synchronous KV API's list has the same semantics.
func TestSyncKVListSemantics(t *testing.T) {
	db := openSQL(t)
	put(t, db, "foo", "123")
	put(t, db, "bar", "abc")
	put(t, db, "baz", "x")
	for _, tc := range []struct {
		o    ListOptions
		want []string
	}{
		{ListOptions{}, []string{"bar", "baz", "foo"}},
		{ListOptions{Reverse: true}, []string{"foo", "baz", "bar"}},
		{ListOptions{Prefix: ptr("ba")}, []string{"bar", "baz"}},
		{ListOptions{Limit: ptr(1)}, []string{"bar"}},
		{ListOptions{Limit: ptr(1), Reverse: true}, []string{"foo"}},
		{ListOptions{Start: ptr("b"), End: ptr("c")}, []string{"bar", "baz"}},
		{ListOptions{Start: ptr("b"), End: ptr("baz")}, []string{"bar"}},
		{ListOptions{StartAfter: ptr("bar"), End: ptr("c")}, []string{"baz"}},
	} {
		if got := listKeys(t, db, tc.o); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("list %+v = %q, want %q", tc.o, got, tc.want)
		}
	}
	if existed, _ := db.Delete("qux"); existed {
		t.Fatal("delete qux = true")
	}
	if existed, _ := db.Delete("bar"); !existed {
		t.Fatal("delete bar = false")
	}
}

// Case 86: list option errors.
func TestListOptionErrors(t *testing.T) {
	db := listFixture(t)
	_, err := db.List(ListOptions{Start: ptr("a"), StartAfter: ptr("b")})
	wantErr(t, err, ClassTypeError, "list() cannot be called with both start and startAfter values.")
	for _, l := range []int{0, -1} {
		_, err = db.List(ListOptions{Limit: ptr(l)})
		wantErr(t, err, ClassTypeError, "List limit must be positive.")
	}
}

// Case 87: empty ranges return nothing, without reading.
func TestListEmptyRanges(t *testing.T) {
	db := listFixture(t)
	for _, o := range []ListOptions{
		{Start: ptr("section4")},
		{End: ptr("section0")},
		{Start: ptr("section3"), End: ptr("section1")},
	} {
		if got := listKeys(t, db, o); len(got) != 0 {
			t.Fatalf("list %+v = %q", o, got)
		}
	}
	before := db.listQueries
	for _, o := range []ListOptions{
		{Start: ptr("section3"), End: ptr("section1")},
		{Start: ptr("b"), End: ptr("b")},
		{End: ptr("")},
		{Prefix: ptr("section2"), Start: ptr("section3")},
		{Prefix: ptr("section2"), End: ptr("section1")},
		{Prefix: ptr("section2"), End: ptr("section2")},
		{Prefix: ptr("a"), StartAfter: ptr("b")},
	} {
		if got := listKeys(t, db, o); len(got) != 0 {
			t.Fatalf("list %+v = %q", o, got)
		}
	}
	if db.listQueries != before {
		t.Fatalf("empty ranges ran %d queries", db.listQueries-before)
	}
}

// Case 88: keys are ordered by their UTF-8 bytes, not UTF-16 code units.
func TestListByteOrder(t *testing.T) {
	db := openSQL(t)
	for _, k := range []string{", ", "!", "Z", "\U0001D655", "\uFF3A", "a\x00b", "a"} {
		put(t, db, k, "v")
	}
	want := []string{"!", ", ", "Z", "a", "a\x00b", "\uFF3A", "\U0001D655"}
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}
	if got := listKeys(t, db, ListOptions{StartAfter: ptr("a")}); !reflect.DeepEqual(got, want[4:]) {
		t.Fatalf("startAfter a = %q", got)
	}
	if got := listKeys(t, db, ListOptions{Prefix: ptr("\xef")}); !reflect.DeepEqual(got, []string{"\uFF3A"}) {
		t.Fatalf("prefix of a raw byte = %q", got)
	}
	put(t, db, "\xff\xff", "v")
	if got := listKeys(t, db, ListOptions{Prefix: ptr("\xff")}); !reflect.DeepEqual(got, []string{"\xff\xff"}) {
		t.Fatalf("prefix 0xff = %q", got)
	}
}

// Cases 90 and 92: reads see the turn's uncommitted writes at once, and
// those of an open savepoint (a transaction()).
func TestReadsSeeUncommittedWrites(t *testing.T) {
	db := openSQL(t)
	put(t, db, "key1", "1")
	put(t, db, "key3", "3")
	put(t, db, "gone", "x")
	commit(t, db)

	put(t, db, "foo", "bar")
	if got := getStr(t, db, "foo"); got != "bar" {
		t.Fatalf("get after put = %q", got)
	}
	if _, err := db.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, []string{"foo", "key1", "key3"}) {
		t.Fatalf("list = %q", got)
	}
	sp, err := db.Savepoint()
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "key2", "2")
	if got := listKeys(t, db, ListOptions{Prefix: ptr("key")}); !reflect.DeepEqual(got, []string{"key1", "key2", "key3"}) {
		t.Fatalf("list in transaction = %q", got)
	}
	if err := sp.Release(); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if got := getStr(t, db, "key2"); got != "2" {
		t.Fatalf("key2 = %q", got)
	}
}

// Case 98: deleteAll removes every key, including those put earlier in the
// turn, keeps those put after it, returns the count, and on SQLite-backed
// objects wipes the SQL tables too.
func TestDeleteAll(t *testing.T) {
	db := openSQL(t)
	for _, k := range []string{"a", "b", "counter"} {
		put(t, db, k, "1")
	}
	commit(t, db)
	put(t, db, "c", "3")
	put(t, db, "counter", "888")
	n, err := db.DeleteAll(false)
	if err != nil || n != 4 {
		t.Fatalf("DeleteAll = %d, %v; want 4", n, err)
	}
	if got := getStr(t, db, "counter"); got != "<none>" {
		t.Fatalf("counter = %q", got)
	}
	put(t, db, "after", "kept")
	commit(t, db)
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, []string{"after"}) {
		t.Fatalf("keys = %q", got)
	}
	if n, _ := db.DeleteAll(false); n != 1 {
		t.Fatalf("first DeleteAll = %d", n)
	}
	if n, _ := db.DeleteAll(false); n != 0 {
		t.Fatalf("second DeleteAll = %d", n)
	}
	commit(t, db)
	if n, _ := db.DeleteAll(true); n != 0 {
		t.Fatalf("DeleteAll of nothing = %d", n)
	}
	if seq := commit(t, db); seq != 0 {
		t.Fatalf("DeleteAll of nothing committed %d", seq)
	}
}

func TestDeleteAllWipesSQL(t *testing.T) {
	db := openSQL(t)
	query(t, db, `CREATE TABLE parent (id INTEGER PRIMARY KEY)`)
	query(t, db, `CREATE TABLE child (id INTEGER PRIMARY KEY,
		p INTEGER NOT NULL REFERENCES parent (id) ON DELETE RESTRICT)`)
	query(t, db, `CREATE TABLE loose (p INTEGER REFERENCES parent (id))`)
	query(t, db, `INSERT INTO parent VALUES (1), (2)`)
	query(t, db, `INSERT INTO child VALUES (1, 1)`)
	query(t, db, `INSERT INTO loose VALUES (2)`)
	query(t, db, `CREATE INDEX child_p ON child (p)`)
	query(t, db, `CREATE VIEW v AS SELECT * FROM child`)
	query(t, db, `CREATE TRIGGER tr AFTER INSERT ON parent BEGIN INSERT INTO loose VALUES (NEW.id); END`)
	query(t, db, `CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, x)`)
	query(t, db, `INSERT INTO seq (x) VALUES (1)`)
	query(t, db, `CREATE VIRTUAL TABLE docs USING fts5(body)`)
	query(t, db, `INSERT INTO docs VALUES ('hello world')`)
	put(t, db, "k", "v")
	commit(t, db)

	if _, err := db.DeleteAll(false); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	wantRows(t, query(t, db, `SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite%' AND name NOT LIKE '\_cf\_%' ESCAPE '\'`))
	has, err := db.HasData()
	if err != nil || has {
		t.Fatalf("HasData after DeleteAll = %v, %v", has, err)
	}
	// The object starts again from nothing, foreign keys still enforced.
	query(t, db, `CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, x)`)
	query(t, db, `INSERT INTO seq (x) VALUES (1)`)
	wantRows(t, query(t, db, `SELECT id FROM seq`), []any{int64(1)})
	wantRows(t, query(t, db, `PRAGMA defer_foreign_keys`), []any{int64(0)})
	commit(t, db)
}

// Case 100: whether deleteAll removes the alarm depends on the
// compatibility date, so it is the caller's choice; an alarm set after it
// is kept.
func TestDeleteAllAndAlarm(t *testing.T) {
	db := openSQL(t)
	if err := db.SetAlarm(1_000_000); err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	commit(t, db)
	if _, err := db.DeleteAll(false); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if ms, ok, _ := db.GetAlarm(); !ok || ms != 1_000_000 {
		t.Fatalf("alarm after DeleteAll(false) = %d, %v", ms, ok)
	}
	if _, err := db.DeleteAll(true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.GetAlarm(); ok {
		t.Fatal("alarm kept by DeleteAll(true)")
	}
	if err := db.SetAlarm(2_000_000); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if ms, ok, _ := db.GetAlarm(); !ok || ms != 2_000_000 {
		t.Fatalf("alarm set after DeleteAll = %d, %v", ms, ok)
	}
	if _, ok, err := db.GetAlarm(); !ok || err != nil {
		t.Fatal(ok, err)
	}
}

// Cases 156-159 and 164 at this level: the alarm round-trips, a same-time
// set writes nothing, and alarm writes are part of the turn.
func TestAlarm(t *testing.T) {
	db := openSQL(t)
	if _, ok, err := db.GetAlarm(); ok || err != nil {
		t.Fatalf("fresh alarm = %v, %v", ok, err)
	}
	if err := db.DeleteAlarm(); err != nil {
		t.Fatal(err)
	}
	if db.InTransaction() {
		t.Fatal("deleting no alarm opened a transaction")
	}
	if err := db.SetAlarm(4102444800000); err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	seq := commit(t, db)
	if ms, ok, _ := db.GetAlarm(); !ok || ms != 4102444800000 {
		t.Fatalf("alarm = %d, %v", ms, ok)
	}
	// the same time again: nothing to write (case 158)
	if err := db.SetAlarm(4102444800000); err != nil {
		t.Fatal(err)
	}
	if db.InTransaction() {
		t.Fatal("same-time setAlarm opened a transaction")
	}
	if s := commit(t, db); s != 0 {
		t.Fatalf("same-time setAlarm committed %d", s)
	}
	if err := db.SetAlarm(5); err != nil {
		t.Fatal(err)
	}
	if s := commit(t, db); s != seq+1 {
		t.Fatalf("overwrite committed %d, want %d", s, seq+1)
	}
	if ms, _, _ := db.GetAlarm(); ms != 5 {
		t.Fatalf("alarm = %d", ms)
	}
	// Inside a transaction the new value shows; rolled back, the old one.
	sp, _ := db.Savepoint()
	if err := db.SetAlarm(2); err != nil {
		t.Fatal(err)
	}
	if ms, _, _ := db.GetAlarm(); ms != 2 {
		t.Fatalf("alarm in transaction = %d", ms)
	}
	if err := db.DeleteAlarm(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.GetAlarm(); ok {
		t.Fatal("alarm after deleteAlarm in transaction")
	}
	if err := sp.Rollback(); err != nil {
		t.Fatal(err)
	}
	if ms, ok, _ := db.GetAlarm(); !ok || ms != 5 {
		t.Fatalf("alarm after rollback = %d, %v", ms, ok)
	}
	wantErr(t, db.SetAlarm(0), ClassTypeError, "setAlarm() cannot be called with an alarm time <= 0")
	if err := db.SetAlarm(maxAlarmMs + 1); !errors.Is(err, ErrAlarmRange) {
		t.Fatalf("far alarm: %v", err)
	}
	if err := db.DeleteAlarm(); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if _, ok, _ := db.GetAlarm(); ok {
		t.Fatal("alarm survived deleteAlarm")
	}
}

// Case 101 at this level: transaction() is a savepoint: released it
// keeps its writes, rolled back (explicitly or by a throw) it drops them,
// and an inner transaction's writes go with the outer one's rollback.
func TestTransactionsViaSavepoints(t *testing.T) {
	db := openSQL(t)
	put(t, db, "txnTest", "0")
	commit(t, db)

	sp, err := db.Savepoint()
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "txnTest", "1")
	if got := getStr(t, db, "txnTest"); got != "1" {
		t.Fatalf("inside = %q", got)
	}
	if err := sp.Release(); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if got := getStr(t, db, "txnTest"); got != "1" {
		t.Fatalf("after release = %q", got)
	}

	put(t, db, "txnTest", "3") // the implicit transaction is open first
	sp, _ = db.Savepoint()
	put(t, db, "txnTest", "4")
	if err := sp.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, db, "txnTest"); got != "3" {
		t.Fatalf("after rollback = %q", got)
	}

	outer, _ := db.Savepoint()
	put(t, db, "txnTest", "6")
	inner, _ := db.Savepoint()
	put(t, db, "txnTest", "7")
	if err := inner.Release(); err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, db, "txnTest"); got != "7" {
		t.Fatalf("after inner = %q", got)
	}
	if err := outer.Rollback(); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if got := getStr(t, db, "txnTest"); got != "3" {
		t.Fatalf("after outer rollback = %q", got)
	}

	// A used savepoint cannot be used again.
	if err := outer.Release(); !errors.Is(err, ErrSavepointGone) {
		t.Fatalf("release twice: %v", err)
	}
	// Releasing an outer savepoint releases the inner ones.
	outer, _ = db.Savepoint()
	inner, _ = db.Savepoint()
	put(t, db, "nested", "x")
	if err := outer.Release(); err != nil {
		t.Fatal(err)
	}
	if err := inner.Rollback(); !errors.Is(err, ErrSavepointGone) {
		t.Fatalf("inner after outer release: %v", err)
	}
	commit(t, db)
	if got := getStr(t, db, "nested"); got != "x" {
		t.Fatalf("nested = %q", got)
	}
}

// List agrees with a plain filter over random keys and options, bytes
// 0x00 and 0xff included.
func TestListMatchesFilter(t *testing.T) {
	db := openSQL(t)
	alphabet := []string{"a", "b", "\x00", "\xff", "ab", "\u00e9"}
	rng := rand.New(rand.NewPCG(1, 2))
	randKey := func() string {
		var sb strings.Builder
		for range rng.IntN(4) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	keys := map[string]bool{}
	for range 60 {
		k := randKey()
		keys[k] = true
		put(t, db, k, "v")
	}
	sorted := slices.Sorted(maps.Keys(keys))
	maybe := func() *string {
		if rng.IntN(2) == 0 {
			return nil
		}
		return ptr(randKey())
	}
	for range 3000 {
		o := ListOptions{Start: maybe(), End: maybe(), Prefix: maybe(), Reverse: rng.IntN(2) == 0}
		if o.Start == nil {
			o.StartAfter = maybe()
		}
		if rng.IntN(2) == 0 {
			o.Limit = ptr(1 + rng.IntN(5))
		}
		want := []string{}
		for _, k := range sorted {
			if (o.Start == nil || k >= *o.Start) && (o.StartAfter == nil || k > *o.StartAfter) &&
				(o.End == nil || k < *o.End) && (o.Prefix == nil || strings.HasPrefix(k, *o.Prefix)) {
				want = append(want, k)
			}
		}
		if o.Reverse {
			slices.Reverse(want)
		}
		if o.Limit != nil && len(want) > *o.Limit {
			want = want[:*o.Limit]
		}
		if got := listKeys(t, db, o); !reflect.DeepEqual(got, want) {
			t.Fatalf("list %s = %q, want %q", fmtOpts(o), got, want)
		}
	}
}

func fmtOpts(o ListOptions) string {
	s := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	l := "nil"
	if o.Limit != nil {
		l = fmt.Sprint(*o.Limit)
	}
	return fmt.Sprintf("{start %s startAfter %s end %s prefix %s reverse %v limit %s}",
		s(o.Start), s(o.StartAfter), s(o.End), s(o.Prefix), o.Reverse, l)
}
