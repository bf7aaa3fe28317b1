package storage

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// openAt opens a database at path; it is closed when the test ends.
func openAt(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// openSQL opens a SQLite-backed object's database (SQL enabled) without
// fsyncs; openLegacy one of a KV-backed class.
func openSQL(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "obj.sqlite"), Options{SQL: true, Sync: SyncNone})
}

func openLegacy(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "obj.sqlite"), Options{Sync: SyncNone})
}

func ptr[T any](v T) *T { return &v }

func commit(t testing.TB, db *DB) uint64 {
	t.Helper()
	seq, err := db.Commit()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return seq
}

func put(t testing.TB, db *DB, key, value string) {
	t.Helper()
	if err := db.Put(key, []byte(value)); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

// getStr returns the value of key as a string, "<none>" if missing.
func getStr(t testing.TB, db *DB, key string) string {
	t.Helper()
	v, ok, err := db.Get(key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if !ok {
		return "<none>"
	}
	return string(v)
}

func keysOf(entries []Entry) []string {
	keys := []string{}
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}

func listKeys(t testing.TB, db *DB, o ListOptions) []string {
	t.Helper()
	entries, err := db.List(o)
	if err != nil {
		t.Fatalf("list %+v: %v", o, err)
	}
	return keysOf(entries)
}

// query runs SQL and returns all its rows.
func query(t testing.TB, db *DB, sql string, args ...any) [][]any {
	t.Helper()
	c, err := db.Exec(sql, args...)
	if err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
	return drain(t, c)
}

func drain(t testing.TB, c *Cursor) [][]any {
	t.Helper()
	rows := [][]any{}
	for {
		row, ok, err := c.Next()
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if !ok {
			return rows
		}
		rows = append(rows, row)
	}
}

func wantRows(t testing.TB, got [][]any, want ...[]any) {
	t.Helper()
	if want == nil {
		want = [][]any{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %#v, want %#v", got, want)
	}
}

// wantErr checks that err is an *Error of class with exactly msg.
func wantErr(t testing.TB, err error, class, msg string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error %s: %q", err, err, class, msg)
	}
	if e.Class != class || e.Message != msg {
		t.Fatalf("error %s: %q, want %s: %q", e.Class, e.Message, class, msg)
	}
	return e
}

// wantErrContains checks that err is an *Error whose message contains sub.
func wantErrContains(t testing.TB, err error, sub string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error containing %q", err, err, sub)
	}
	if !strings.Contains(e.Message, sub) {
		t.Fatalf("error %q, want it to contain %q", e.Message, sub)
	}
	return e
}

func execErr(t testing.TB, db *DB, sql string, args ...any) error {
	t.Helper()
	c, err := db.Exec(sql, args...)
	if err == nil {
		c.Close()
		t.Fatalf("exec %q succeeded, want an error", sql)
	}
	return err
}
