package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// The barrier and the reserve share kiln's descriptor on the -wal file:
// an active object holds SQLite's descriptors plus one, not two.
func TestOneDescriptorOfOursOnTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.sqlite")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 3; i++ {
		put(t, db, "k", "v")
		if err := <-db.Durable(commit(t, db)); err != nil {
			t.Fatal(err)
		}
	}
	if db.wal.reserved == 0 {
		t.Fatal("nothing was reserved: the reserve did not open the -wal file")
	}
	if n := descriptorsOn(t, path+"-wal"); n != 2 {
		t.Fatalf("%d descriptors on the -wal file, want 2 (SQLite's and kiln's)", n)
	}
}

func descriptorsOn(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}
