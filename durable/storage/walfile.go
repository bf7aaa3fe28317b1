package storage

import (
	"fmt"
	"os"
	"sync"
)

// walFile is the one descriptor kiln keeps on a database's -wal file: the
// durability barrier fsyncs it and the reserve writes zeros through it.
// SQLite creates the file when its connection first uses the WAL and
// keeps that same file (rewriting it from the start after a checkpoint,
// never replacing it) until the connection closes, which happens only
// after the barrier has stopped; so the file is opened once, after the
// first commit, and never needs to be looked up again. (Were someone to
// delete it meanwhile, the fsyncs would go to the unlinked file; so would
// SQLite's writes.)
type walFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// open returns the descriptor, opening the file the first time. The
// barrier's goroutine and the object's may both call it.
func (w *walFile) open() (*os.File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", w.path, err)
		}
		w.f = f
	}
	return w.f, nil
}

// close releases the descriptor; a later open opens the file again.
func (w *walFile) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}
