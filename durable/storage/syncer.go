package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// syncer is the durability barrier of one database: a goroutine that
// fsyncs the -wal file so that commits made with synchronous=NORMAL (which
// do not fsync) become durable, without blocking the goroutine that
// commits. One fsync covers every commit made before it started, so the
// waiters of all those commits are released together (group commit).
// See doc.go for why this is as safe as synchronous=FULL.
type syncer struct {
	wal    *walFile
	dbPath string
	// dirs to fsync, once, before the first barrier resolves: the parent
	// directory of the database (so the -wal file's name is durable), and
	// the parents of directories Open created.
	dirs       []string
	beforeSync func() // test hook, called before every fsync round

	mu        sync.Mutex
	cond      *sync.Cond
	committed uint64 // highest sequence number committed (frames written)
	durable   uint64 // highest sequence number known to be on disk
	waiters   []waiter
	err       error // sticky: once an fsync failed nothing is trusted again
	closing   bool
	done      chan struct{}

	// owned by the goroutine
	dirsSynced bool
}

// waiter is a commit somebody waits for: through ch, or fn (called
// without the lock held).
type waiter struct {
	seq uint64
	ch  chan error
	fn  func(error)
}

// settle delivers err (nil: durable) to the waiter. Callbacks are
// collected in calls, to be run once the lock is released.
func (w waiter) settle(err error, calls *[]func()) {
	if w.fn != nil {
		fn := w.fn
		*calls = append(*calls, func() { fn(err) })
		return
	}
	if err != nil {
		w.ch <- err
	}
	close(w.ch)
}

func runAll(calls []func()) {
	for _, c := range calls {
		c()
	}
}

func newSyncer(dbPath string, wal *walFile, dirs []string, hook func()) *syncer {
	s := &syncer{
		wal:        wal,
		dbPath:     dbPath,
		dirs:       dirs,
		beforeSync: hook,
		done:       make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s
}

// commit records that the frames of commit seq are written to the -wal
// file (COMMIT returned).
func (s *syncer) commit(seq uint64) {
	s.mu.Lock()
	if seq > s.committed {
		s.committed = seq
	}
	s.mu.Unlock()
}

// markDurable records that every commit up to seq is on disk without the
// goroutine's help (a completed checkpoint fsynced the WAL and the
// database file).
func (s *syncer) markDurable(seq uint64) {
	var calls []func()
	s.mu.Lock()
	if seq > s.durable && s.err == nil {
		s.durable = seq
		s.releaseLocked(&calls)
	}
	s.mu.Unlock()
	runAll(calls)
}

// wait returns a channel that is closed once commit seq is durable, or
// receives the error that prevents it.
func (s *syncer) wait(seq uint64) <-chan error {
	ch := make(chan error, 1)
	s.add(waiter{seq: seq, ch: ch})
	return ch
}

// notify calls fn once commit seq is durable (nil) or cannot be: now if
// that is known, else on the goroutine that settles it.
func (s *syncer) notify(seq uint64, fn func(error)) {
	s.add(waiter{seq: seq, fn: fn})
}

func (s *syncer) add(w waiter) {
	var calls []func()
	s.mu.Lock()
	switch {
	case w.seq <= s.durable:
		w.settle(nil, &calls)
	case s.err != nil:
		w.settle(s.err, &calls)
	case s.closing:
		w.settle(fmt.Errorf("commit %d: %w", w.seq, ErrClosed), &calls)
	default:
		s.waiters = append(s.waiters, w)
		s.cond.Signal()
	}
	s.mu.Unlock()
	runAll(calls)
}

// releaseLocked resolves the waiters whose commit is durable; callbacks
// are added to calls.
func (s *syncer) releaseLocked(calls *[]func()) {
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if w.seq <= s.durable {
			w.settle(nil, calls)
		} else {
			kept = append(kept, w)
		}
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

func (s *syncer) needSyncLocked() bool {
	return s.err == nil && s.durable < s.committed && len(s.waiters) > 0
}

func (s *syncer) run() {
	var calls []func()
	s.mu.Lock()
	for {
		for !s.closing && !s.needSyncLocked() {
			s.cond.Wait()
		}
		if s.needSyncLocked() {
			target := s.committed
			s.mu.Unlock()
			err := s.syncOnce()
			s.mu.Lock()
			if err != nil {
				s.err = &Error{Class: ClassError, kind: ErrDurability, cause: err,
					Message: "Durable Object storage could not make a write durable: " + err.Error()}
				for _, w := range s.waiters {
					w.settle(s.err, &calls)
				}
				s.waiters = nil
			} else {
				if target > s.durable {
					s.durable = target
				}
				s.releaseLocked(&calls)
			}
			if len(calls) > 0 {
				// Callbacks run without the lock, before waiting again.
				s.mu.Unlock()
				runAll(calls)
				clear(calls)
				calls = calls[:0]
				s.mu.Lock()
			}
			continue
		}
		break // closing, nothing left to make durable
	}
	for _, w := range s.waiters {
		if s.err != nil {
			w.settle(s.err, &calls)
		} else {
			w.settle(fmt.Errorf("commit %d: %w", w.seq, ErrClosed), &calls)
		}
	}
	s.waiters = nil
	s.mu.Unlock()
	runAll(calls)
	close(s.done)
}

// syncOnce fsyncs the -wal file, first making the names of the files
// durable (directory fsyncs) and the database file's first page, which
// SQLite needs to find the WAL again after a crash.
func (s *syncer) syncOnce() error {
	if s.beforeSync != nil {
		s.beforeSync()
	}
	wal, err := s.wal.open()
	if err != nil {
		return err
	}
	if !s.dirsSynced {
		if err := syncPath(s.dbPath, false); err != nil {
			return err
		}
		for _, d := range s.dirs {
			if err := syncPath(d, true); err != nil {
				return err
			}
		}
		s.dirsSynced = true
	}
	if err := wal.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.wal.path, err)
	}
	return nil
}

// close waits until every commit someone waits for is durable, then stops
// the goroutine. Waiters for commits that were never made get ErrClosed.
func (s *syncer) close() error {
	s.mu.Lock()
	s.closing = true
	s.cond.Signal()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func syncPath(path string, dir bool) error {
	if dir && runtime.GOOS == "windows" {
		return nil // directories cannot be flushed there; NTFS journals names
	}
	flag := os.O_RDWR // Windows flushes only handles open for writing
	if dir {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return fmt.Errorf("open %s for fsync: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !(dir && errors.Is(err, syscall.EINVAL)) { // some systems cannot fsync a directory
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
