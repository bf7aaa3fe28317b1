package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
