package storage

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Commits are numbered 1, 2, 3, ...; a turn that wrote nothing gets 0.
func TestCommitSequence(t *testing.T) {
	db := openSQL(t)
	if seq := commit(t, db); seq != 0 {
		t.Fatalf("empty turn: %d", seq)
	}
	put(t, db, "a", "1")
	if seq := commit(t, db); seq != 1 {
		t.Fatalf("first commit: %d", seq)
	}
	getStr(t, db, "a")
	db.List(ListOptions{})
	if seq := commit(t, db); seq != 0 {
		t.Fatalf("read-only turn: %d", seq)
	}
	if _, err := db.Delete("missing"); err != nil {
		t.Fatal(err)
	}
	if seq := commit(t, db); seq != 0 {
		t.Fatalf("turn that deleted nothing: %d", seq)
	}
	put(t, db, "b", "2")
	put(t, db, "c", "3")
	if seq := commit(t, db); seq != 2 {
		t.Fatalf("second commit: %d", seq)
	}
	if db.LastSeq() != 2 {
		t.Fatalf("LastSeq = %d", db.LastSeq())
	}
	// A savepoint that stays open blocks the commit.
	sp, _ := db.Savepoint()
	put(t, db, "d", "4")
	if _, err := db.Commit(); !errors.Is(err, ErrSavepointOpen) {
		t.Fatalf("commit with an open savepoint: %v", err)
	}
	sp.Release()
	if seq := commit(t, db); seq != 3 {
		t.Fatalf("third commit: %d", seq)
	}
}

// Rollback discards the turn.
func TestRollbackDiscards(t *testing.T) {
	db := openSQL(t)
	put(t, db, "kept", "1")
	commit(t, db)
	put(t, db, "kept", "2")
	put(t, db, "new", "x")
	db.SetAlarm(12345)
	query(t, db, "CREATE TABLE t (x)")
	sp, _ := db.Savepoint()
	put(t, db, "inner", "y")
	_ = sp
	if err := db.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, db, "kept"); got != "1" {
		t.Fatalf("kept = %q", got)
	}
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, []string{"kept"}) {
		t.Fatalf("keys = %q", got)
	}
	if _, ok, _ := db.GetAlarm(); ok {
		t.Fatal("alarm survived the rollback")
	}
	wantRows(t, query(t, db, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), []any{int64(0)})
	if seq := commit(t, db); seq != 0 {
		t.Fatalf("commit after rollback: %d", seq)
	}
	if err := sp.Release(); !errors.Is(err, ErrSavepointGone) {
		t.Fatalf("savepoint after rollback: %v", err)
	}
}

// Committed data survives Close and Open; what was not committed does
// not (Close commits nothing).
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db, err := Open(path, Options{SQL: true})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "committed", "yes")
	if err := db.SetAlarm(777); err != nil {
		t.Fatal(err)
	}
	query(t, db, "CREATE TABLE t (x); INSERT INTO t VALUES (42)")
	seq := commit(t, db)
	if err := <-db.Durable(seq); err != nil {
		t.Fatal(err)
	}
	put(t, db, "rolledback", "no")
	db.Rollback()
	put(t, db, "uncommitted", "no")
	query(t, db, "INSERT INTO t VALUES (43)")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("exec after close: %v", err)
	}
	if _, _, err := db.Get("committed"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := db.Put("k", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}

	db = openAt(t, path, Options{SQL: true})
	if got := listKeys(t, db, ListOptions{}); !reflect.DeepEqual(got, []string{"committed"}) {
		t.Fatalf("keys after reopen = %q", got)
	}
	if ms, ok, _ := db.GetAlarm(); !ok || ms != 777 {
		t.Fatalf("alarm after reopen = %d, %v", ms, ok)
	}
	wantRows(t, query(t, db, "SELECT x FROM t"), []any{int64(42)})
	// sequence numbers restart with the DB value; they are per open DB
	put(t, db, "more", "1")
	if seq := commit(t, db); seq != 1 {
		t.Fatalf("first commit after reopen = %d", seq)
	}
}

// The file and its directories appear with the first write; an object
// that never stored anything leaves no file, and Close removes a file
// left empty.
func TestLazyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ns", "objects")
	path := filepath.Join(dir, "obj.sqlite")
	exists := func() bool {
		_, err := os.Stat(path)
		return err == nil
	}

	db, err := Open(path, Options{SQL: true})
	if err != nil {
		t.Fatal(err)
	}
	getStr(t, db, "k")
	db.GetMany([]string{"a", "b"})
	listKeys(t, db, ListOptions{})
	db.GetAlarm()
	db.DeleteAlarm()
	db.Delete("k")
	db.DeleteMany([]string{"a"})
	db.DeleteAll(true)
	db.DatabaseSize()
	if has, err := db.HasData(); has || err != nil {
		t.Fatal(has, err)
	}
	if seq := commit(t, db); seq != 0 {
		t.Fatal(seq)
	}
	if exists() {
		t.Fatal("reads created the file")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("reads created the directory")
	}
	query(t, db, "SELECT 1") // SQL needs the file
	if !exists() {
		t.Fatal("no file after Exec")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatal("file without data kept after Close")
	}

	db, _ = Open(path, Options{SQL: true})
	put(t, db, "k", "v")
	commit(t, db)
	if has, err := db.HasData(); !has || err != nil {
		t.Fatal(has, err)
	}
	db.Close()
	if !exists() {
		t.Fatal("file with data removed")
	}

	db, _ = Open(path, Options{SQL: true})
	if _, err := db.DeleteAll(true); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	db.Close()
	if exists() {
		t.Fatal("file emptied by DeleteAll kept after Close")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Fatalf("%s left behind", suffix)
		}
	}
}

func TestHasData(t *testing.T) {
	for name, setup := range map[string]func(*DB){
		"kv":    func(db *DB) { db.Put("k", nil) },
		"alarm": func(db *DB) { db.SetAlarm(1) },
		"table": func(db *DB) { db.Exec("CREATE TABLE t (x)") },
		"view":  func(db *DB) { db.Exec("CREATE VIEW v AS SELECT 1") },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o.sqlite")
			db := openAt(t, path, Options{SQL: true, Sync: SyncNone})
			setup(db)
			commit(t, db)
			if has, err := db.HasData(); !has || err != nil {
				t.Fatal(has, err)
			}
			db.Close()
			db = openAt(t, path, Options{SQL: true, Sync: SyncNone})
			if has, err := db.HasData(); !has || err != nil {
				t.Fatal("after reopen", has, err)
			}
		})
	}
}

// One process owns an object's file: a second opener is refused while the
// first has it open, and gets it once the first closed it.
func TestExclusiveOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.sqlite")
	first, err := Open(path, Options{SQL: true, Sync: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	put(t, first, "k", "v")
	commit(t, first)
	if _, err := Open(path, Options{SQL: true, Sync: SyncNone, busyTimeout: 1}); err == nil ||
		!strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open: %v", err)
	}
	if _, err := os.Stat(path + "-shm"); err == nil {
		t.Fatal("a -shm file exists: the WAL index is shared")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path, Options{SQL: true, Sync: SyncNone})
	if got := getStr(t, second, "k"); got != "v" {
		t.Fatal(got)
	}
}
