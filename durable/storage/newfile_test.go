package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
)

// A new object's file is made a WAL database without a journal file; the
// result must be an ordinary WAL database that keeps its data.
func TestNewFileIsAWALDatabaseAndKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db, err := Open(path, Options{Sync: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	seq := commit(t, db)
	if err := <-db.Durable(seq); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-journal"); !os.IsNotExist(err) {
		t.Fatalf("a rollback journal was left: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Bytes 18 and 19 of the header are 2 in a WAL database.
	if !bytes.HasPrefix(head, []byte("SQLite format 3\x00")) || head[18] != 2 || head[19] != 2 {
		t.Fatalf("header % x is not a WAL database's", head)
	}
	again := openAt(t, path, Options{Sync: SyncFull})
	if got := getStr(t, again, "k"); got != "v" {
		t.Fatalf("after reopening: %q", got)
	}
}

// A crash while a new file's first page was being written leaves a file of
// at most one page and no -wal file; it never held data, so the next open
// starts it again instead of failing for ever.
func TestTornNewFileIsStartedAgain(t *testing.T) {
	for name, content := range map[string][]byte{
		"zeros":   make([]byte, 4096),
		"garbage": bytes.Repeat([]byte("torn"), 1024),
		"partial": []byte("SQLite format 3\x00\x10\x00\x02\x02"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "obj.sqlite")
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			db := openAt(t, path, Options{Sync: SyncFull})
			put(t, db, "k", "v")
			if err := <-db.Durable(commit(t, db)); err != nil {
				t.Fatal(err)
			}
			if got := getStr(t, db, "k"); got != "v" {
				t.Fatalf("%q", got)
			}
		})
	}
}

// A damaged file that may hold acknowledged writes (it has a -wal file, or
// more than one page) is never discarded: opening it fails and the database
// file is left as it was. (A -wal file whose header is invalid holds no
// frames SQLite would use; SQLite itself removes it.)
func TestDamagedFileWithPossibleDataIsKept(t *testing.T) {
	for name, tc := range map[string]struct {
		db, wal []byte
	}{
		"one page and a wal": {bytes.Repeat([]byte("torn"), 1024), bytes.Repeat([]byte("w"), 4152)},
		"two pages":          {bytes.Repeat([]byte("torn"), 2048), nil},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "obj.sqlite")
			if err := os.WriteFile(path, tc.db, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.wal != nil {
				if err := os.WriteFile(path+"-wal", tc.wal, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(path, Options{Sync: SyncFull})
			if err == nil {
				db.Close()
				t.Fatal("a damaged database opened")
			}
			if !strings.Contains(err.Error(), "not a database") && !strings.Contains(err.Error(), "malformed") {
				t.Errorf("error %q does not say what is wrong", err)
			}
			got, readErr := os.ReadFile(path)
			if readErr != nil || !bytes.Equal(got, tc.db) {
				t.Fatalf("the file was changed or removed (%v)", readErr)
			}
		})
	}
}

// synchronousLevel reads the connection's PRAGMA synchronous (0 OFF, 1
// NORMAL, 2 FULL).
func synchronousLevel(t *testing.T, db *DB) int64 {
	t.Helper()
	var level int64 = -1
	if _, err := db.queryRow("PRAGMA synchronous", func(s *sqlite3.Stmt) { level = s.ColumnInt64(0) }); err != nil {
		t.Fatal(err)
	}
	return level
}

// A WAL that starts empty is written without SQLite's header fsync (the
// barrier makes it durable), but only until the first commit: from then
// on the connection must be back to synchronous=NORMAL, which a WAL
// restarted after a checkpoint needs. Each reopen starts a new WAL (the
// clean close removed it) and does the same; data survives throughout.
func TestNewWALIsUnsyncedOnlyUntilTheFirstCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	for round := 0; round < 3; round++ {
		db, err := Open(path, Options{Sync: SyncFull, CheckpointPages: 2})
		if err != nil {
			t.Fatal(err)
		}
		put(t, db, "k"+strconv.Itoa(round), "v")
		if got := synchronousLevel(t, db); got != 0 {
			t.Fatalf("round %d: synchronous=%d before the first commit of a new WAL, want 0 (OFF)", round, got)
		}
		if err := <-db.Durable(commit(t, db)); err != nil {
			t.Fatal(err)
		}
		if got := synchronousLevel(t, db); got != 1 {
			t.Fatalf("round %d: synchronous=%d after the first commit, want 1 (NORMAL)", round, got)
		}
		for i := 0; i < 5; i++ { // through checkpoints and WAL restarts
			put(t, db, "more", strconv.Itoa(i))
			if err := <-db.Durable(commit(t, db)); err != nil {
				t.Fatal(err)
			}
			if got := synchronousLevel(t, db); got != 1 {
				t.Fatalf("round %d: synchronous=%d after commit %d", round, got, i+2)
			}
		}
		for r := 0; r <= round; r++ {
			if got := getStr(t, db, "k"+strconv.Itoa(r)); got != "v" {
				t.Fatalf("round %d: k%d = %q", round, r, got)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// With SyncFull and a WAL that already holds frames (left by a crash), the
// connection is synchronous=NORMAL from the start.
func TestExistingWALKeepsSynchronousNormal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db, err := Open(path, Options{Sync: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	if err := <-db.Durable(commit(t, db)); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, path)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again := openAt(t, crashed, Options{Sync: SyncFull})
	if got := getStr(t, again, "k"); got != "v" {
		t.Fatalf("k = %q after the crash copy", got)
	}
	if got := synchronousLevel(t, again); got != 1 {
		t.Fatalf("synchronous=%d with a WAL holding frames, want 1 (NORMAL)", got)
	}
}

// A statement that fails after changing rows (INSERT OR FAIL keeps the
// rows before the failing one) still wrote: its commit gets a sequence
// number (so replies wait for it to be durable), and the first such
// commit on a new WAL brings the connection back to synchronous=NORMAL.
func TestPartialWriteOfAFailedStatementIsACommit(t *testing.T) {
	path := closedWithTable(t, "CREATE TABLE t(x UNIQUE)")
	db := openAt(t, path, Options{SQL: true, Sync: SyncFull})
	if _, err := db.Exec("INSERT OR FAIL INTO t VALUES (2), (2)"); err == nil {
		t.Fatal("the duplicate did not fail")
	}
	if got := synchronousLevel(t, db); got != 0 {
		t.Fatalf("synchronous=%d before the first commit of the new WAL", got)
	}
	seq := commit(t, db)
	if seq == 0 {
		t.Fatal("the commit of a row kept by a failed statement got no sequence number")
	}
	if err := <-db.Durable(seq); err != nil {
		t.Fatal(err)
	}
	if got := synchronousLevel(t, db); got != 1 {
		t.Fatalf("synchronous=%d after the first commit, want 1 (NORMAL)", got)
	}
	wantRows(t, query(t, db, "SELECT x FROM t"), []any{int64(2)})
}

// A connection closed while still unsynced (no commit wrote its new WAL)
// is brought back to synchronous=NORMAL first, so the checkpoint of the
// close syncs whatever the WAL holds.
func TestCloseBeforeTheFirstCommitRestoresSynchronous(t *testing.T) {
	path := closedWithTable(t, "CREATE TABLE t(x)")
	db, err := Open(path, Options{SQL: true, Sync: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SELECT count(*) FROM t"); err != nil {
		t.Fatal(err)
	}
	if !db.newWAL {
		t.Fatal("a reopened database with no -wal file is not unsynced")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db.newWAL {
		t.Fatal("closed while still synchronous=OFF")
	}
}

// crashCopy copies an open database's file and -wal file beside it, as a
// crash would leave them, and returns the copy's path.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	crashed := filepath.Join(filepath.Dir(path), "crashed-"+filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return crashed
}

// closedWithTable creates a database holding the table of ddl, durably,
// and closes it cleanly (which removes its -wal file).
func closedWithTable(t *testing.T, ddl string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	db, err := Open(path, Options{SQL: true, Sync: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	if err := <-db.Durable(commit(t, db)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
