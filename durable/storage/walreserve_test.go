package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
)

// The -wal file is kept a few frames longer than what SQLite wrote, never
// longer than a checkpoint interval plus the reserve, and a copy of the
// files taken while open (what a crash leaves, zeros included) recovers
// every commit.
func TestWALIsReservedAheadAndRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	const checkpointPages = 40
	db, err := Open(path, Options{Sync: SyncFull, CheckpointPages: checkpointPages})
	if err != nil {
		t.Fatal(err)
	}
	frame := int64(4096 + 24)
	limit := 32 + (checkpointPages+walReserveFrames)*frame
	for i := 0; i < 100; i++ {
		put(t, db, "k"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		if err := <-db.Durable(commit(t, db)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		written := 32 + int64(db.walPages)*frame
		if db.walPages > 0 && fi.Size() <= written {
			t.Fatalf("commit %d: -wal is %d bytes, %d written: nothing reserved", i, fi.Size(), written)
		}
		if fi.Size() > limit {
			t.Fatalf("commit %d: -wal is %d bytes, more than the %d one interval needs", i, fi.Size(), limit)
		}
	}
	crashed := crashCopy(t, path)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, crashed} {
		again := openAt(t, p, Options{Sync: SyncFull})
		for i := 0; i < 100; i++ {
			if got := getStr(t, again, "k"+strconv.Itoa(i)); got != "v"+strconv.Itoa(i) {
				t.Fatalf("%s: k%d = %q", filepath.Base(p), i, got)
			}
		}
	}
}

// BenchmarkFrameFsync measures what walReserve is for: a WAL-sized frame
// (4 KiB page + 24-byte header) written and fsynced, appended to a file
// or written over zeros reserved ahead (16 frames at a time), with one
// file and goroutine per parallel worker.
func BenchmarkFrameFsync(b *testing.B) {
	const frame = 4096 + 24
	for _, mode := range []string{"append", "reserved"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				f, err := os.Create(filepath.Join(dir, strconv.FormatInt(n.Add(1), 10)))
				if err != nil {
					b.Error(err)
					return
				}
				defer f.Close()
				buf := bytes.Repeat([]byte{1}, frame)
				var w walReserve
				wal := &walFile{f: f}
				var off int64
				for pb.Next() {
					if mode == "reserved" {
						w.extend(wal, off+frame, frame, 1<<40)
					}
					if _, err := f.WriteAt(buf, off); err != nil {
						b.Error(err)
						return
					}
					if err := f.Sync(); err != nil {
						b.Error(err)
						return
					}
					off += frame
				}
			})
		})
	}
}
