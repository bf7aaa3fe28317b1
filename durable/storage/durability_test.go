package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// gate is a BeforeSync hook that holds every fsync round until released.
type gate struct {
	entered chan int      // receives the round number as each round starts
	release chan struct{} // one value lets one round go on
	rounds  atomic.Int32
}

func newGate() *gate {
	return &gate{entered: make(chan int, 16), release: make(chan struct{}, 16)}
}

func (g *gate) hook() {
	g.entered <- int(g.rounds.Add(1))
	<-g.release
}

func isClosed(ch <-chan error) (bool, error) {
	select {
	case err := <-ch:
		return true, err
	default:
		return false, nil
	}
}

// The barrier of a commit resolves only after the syncer's fsync, which
// runs on its own goroutine: Commit itself never waits for it.
func TestDurableWaitsForFsync(t *testing.T) {
	g := newGate()
	db := openAt(t, filepath.Join(t.TempDir(), "o.sqlite"), Options{SQL: true, BeforeSync: g.hook})
	put(t, db, "k", "v")
	seq := commit(t, db) // returns although no fsync has happened
	ch := db.Durable(seq)
	if round := <-g.entered; round != 1 {
		t.Fatalf("round %d", round)
	}
	if done, _ := isClosed(ch); done {
		t.Fatal("barrier resolved before the fsync")
	}
	// The event loop goes on meanwhile.
	put(t, db, "k2", "v2")
	seq2 := commit(t, db)
	g.release <- struct{}{}
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	ch2 := db.Durable(seq2) // commit 2 came after the first fsync began
	<-g.entered
	if done, _ := isClosed(ch2); done {
		t.Fatal("a later commit rode on an earlier fsync")
	}
	g.release <- struct{}{}
	if err := <-ch2; err != nil {
		t.Fatal(err)
	}
	if done, err := isClosed(db.Durable(seq)); !done || err != nil {
		t.Fatal("barrier of an old commit not resolved at once")
	}
}

// One fsync serves every commit written before it began.
func TestGroupCommit(t *testing.T) {
	g := newGate()
	db := openAt(t, filepath.Join(t.TempDir(), "o.sqlite"), Options{BeforeSync: g.hook})
	put(t, db, "a", "1")
	first := db.Durable(commit(t, db))
	<-g.entered // round 1 (for commit 1) is under way
	var waits []<-chan error
	for i := range 5 {
		put(t, db, fmt.Sprint("k", i), "v")
		waits = append(waits, db.Durable(commit(t, db)))
	}
	g.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-g.entered // round 2 covers commits 2..6
	g.release <- struct{}{}
	for _, w := range waits {
		if err := <-w; err != nil {
			t.Fatal(err)
		}
	}
	if n := g.rounds.Load(); n != 2 {
		t.Fatalf("%d fsync rounds for 6 commits, want 2", n)
	}
}

// Durable is safe from other goroutines.
func TestDurableFromOtherGoroutines(t *testing.T) {
	db := openAt(t, filepath.Join(t.TempDir(), "o.sqlite"), Options{SQL: true})
	var seqs []uint64
	for i := range 20 {
		put(t, db, fmt.Sprint(i), "v")
		seqs = append(seqs, commit(t, db))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(seqs))
	for _, s := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- <-db.Durable(s)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSyncNoneResolvesAtOnce(t *testing.T) {
	db := openSQL(t)
	put(t, db, "k", "v")
	if done, err := isClosed(db.Durable(commit(t, db))); !done || err != nil {
		t.Fatal("SyncNone barrier not resolved at once")
	}
	if done, _ := isClosed(db.Durable(0)); !done {
		t.Fatal("barrier of commit 0 not resolved")
	}
}

// Close waits for the barriers somebody waits on.
func TestCloseWaitsForBarriers(t *testing.T) {
	g := newGate()
	db, err := Open(filepath.Join(t.TempDir(), "o.sqlite"), Options{BeforeSync: g.hook})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	ch := db.Durable(commit(t, db))
	<-g.entered
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	g.release <- struct{}{}
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if done, err := isClosed(db.Durable(99)); !done || !errors.Is(err, ErrClosed) {
		t.Fatalf("barrier after close: %v %v", done, err)
	}
}

// A completed checkpoint fsyncs the WAL and the database file: it makes
// every commit durable without the syncer.
func TestCheckpointMakesDurable(t *testing.T) {
	var calls atomic.Int32
	db := openAt(t, filepath.Join(t.TempDir(), "o.sqlite"),
		Options{CheckpointPages: 1, BeforeSync: func() { calls.Add(1) }})
	put(t, db, "k", "v")
	seq := commit(t, db)
	if done, err := isClosed(db.Durable(seq)); !done || err != nil {
		t.Fatalf("barrier after checkpoint: %v %v", done, err)
	}
	if calls.Load() != 0 {
		t.Fatal("the syncer ran")
	}
	put(t, db, "k", "w")
	seq = commit(t, db)
	if err := <-db.Durable(seq); err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, db, "k"); got != "w" {
		t.Fatal(got)
	}
}

// A failed fsync is reported to every waiter, now and later.
func TestFsyncFailureIsSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.sqlite")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	seq := commit(t, db)
	loseWAL(t, db)
	err = <-db.Durable(seq)
	if !errors.Is(err, ErrDurability) {
		t.Fatalf("barrier error: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassError {
		t.Fatalf("not an *Error: %v", err)
	}
	put(t, db, "k2", "v")
	if err := <-db.Durable(commit(t, db)); !errors.Is(err, ErrDurability) {
		t.Fatalf("later barrier: %v", err)
	}
	if err := db.Close(); !errors.Is(err, ErrDurability) {
		t.Fatalf("close: %v", err)
	}
}

// crashChildEnv switches the test binary into the writer of TestCrash.
const crashChildEnv = "KILN_DO_STORAGE_CRASH_CHILD"

const crashBatch = 8 // keys per turn

func crashValue(batch, i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%d.%d;", batch, i)), 40)
}

// Commits acknowledged by the barrier survive a SIGKILL, and a turn's
// batch is never partly present: the child commits turns of several keys
// and a SQL row, prints each turn's number once its barrier resolved, and
// is killed.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "obj.sqlite")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const want = 300
	acked := -1
	sc := bufio.NewScanner(out)
	for acked < want && sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n != acked+1 {
				t.Fatalf("bad acknowledgement %q after %d", sc.Text(), acked)
			}
			acked = n
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, mid-write
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < want {
		t.Fatalf("child stopped after %d acknowledgements: %s", acked, stderr.String())
	}

	db := openAt(t, path, Options{SQL: true, Sync: SyncNone})
	entries, err := db.List(ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perBatch := map[int]int{}
	for _, e := range entries {
		var b, i int
		if _, err := fmt.Sscanf(e.Key, "b%06d-%d", &b, &i); err != nil {
			t.Fatalf("unexpected key %q", e.Key)
		}
		if !bytes.Equal(e.Value, crashValue(b, i)) {
			t.Fatalf("key %s has a wrong value", e.Key)
		}
		perBatch[b]++
	}
	rows := query(t, db, "SELECT batch FROM log")
	logged := map[int]bool{}
	for _, r := range rows {
		logged[int(r[0].(int64))] = true
	}
	last := -1
	for b, n := range perBatch {
		if n != crashBatch || !logged[b] {
			t.Fatalf("batch %d partly present: %d keys, SQL row %v", b, n, logged[b])
		}
		last = max(last, b)
	}
	if len(logged) != len(perBatch) {
		t.Fatalf("%d SQL rows for %d batches", len(logged), len(perBatch))
	}
	for b := 0; b <= acked; b++ {
		if perBatch[b] != crashBatch {
			t.Fatalf("acknowledged batch %d lost (%d acknowledged, last present %d)", b, acked, last)
		}
	}
	for b := 0; b <= last; b++ {
		if perBatch[b] != crashBatch {
			t.Fatalf("batch %d missing below batch %d", b, last)
		}
	}
	if ms, ok, _ := db.GetAlarm(); !ok || ms != int64(last+1) {
		t.Fatalf("alarm %d %v, want %d (set by the last batch)", ms, ok, last+1)
	}
	t.Logf("%d batches acknowledged, %d present after SIGKILL", acked+1, last+1)
}

// crashChild writes turns until it is killed: each turn puts crashBatch
// keys, inserts a SQL row and sets the alarm, commits, waits for the
// barrier, then prints "ack <turn>".
func crashChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(1)
	}
	db, err := Open(path, Options{SQL: true, CheckpointPages: 64})
	if err != nil {
		fail(err)
	}
	if _, err := db.Exec("CREATE TABLE log (batch INTEGER PRIMARY KEY)"); err != nil {
		fail(err)
	}
	w := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		entries := make([]Entry, crashBatch)
		for i := range entries {
			entries[i] = Entry{fmt.Sprintf("b%06d-%d", b, i), crashValue(b, i)}
		}
		if err := db.PutMany(entries); err != nil {
			fail(err)
		}
		if _, err := db.Exec("INSERT INTO log VALUES (?)", b); err != nil {
			fail(err)
		}
		if err := db.SetAlarm(int64(b + 1)); err != nil {
			fail(err)
		}
		seq, err := db.Commit()
		if err != nil {
			fail(err)
		}
		if err := <-db.Durable(seq); err != nil {
			fail(err)
		}
		fmt.Fprintf(w, "ack %d\n", b)
		w.Flush()
	}
}

// OnDurable calls back once the commit is on disk: not before the fsync,
// once, at once for a commit already durable, and with the error when the
// commit cannot be made durable.
func TestOnDurable(t *testing.T) {
	g := newGate()
	db := openAt(t, filepath.Join(t.TempDir(), "o.sqlite"), Options{BeforeSync: g.hook})
	put(t, db, "k", "v")
	seq := commit(t, db)
	called := make(chan error, 2)
	db.OnDurable(seq, func(err error) { called <- err })
	<-g.entered
	select {
	case err := <-called:
		t.Fatalf("called before the fsync: %v", err)
	default:
	}
	g.release <- struct{}{}
	if err := <-called; err != nil {
		t.Fatal(err)
	}
	now := false
	db.OnDurable(seq, func(err error) { now = err == nil })
	if !now {
		t.Fatal("a durable commit was not called back at once")
	}
	select {
	case err := <-called:
		t.Fatalf("called twice: %v", err)
	default:
	}

	failing := filepath.Join(t.TempDir(), "f.sqlite")
	fdb, err := Open(failing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := fdb.Close(); !errors.Is(err, ErrDurability) {
			t.Errorf("close: %v", err)
		}
	}()
	put(t, fdb, "k", "v")
	fseq := commit(t, fdb)
	loseWAL(t, fdb)
	fdb.OnDurable(fseq, func(err error) { called <- err })
	if err := <-called; !errors.Is(err, ErrDurability) {
		t.Fatalf("a failed fsync called back with %v", err)
	}
}

// loseWAL makes the barrier fail: the -wal file is removed and the
// descriptor kiln kept on it closed, so the next fsync round cannot open
// it. Call it while nobody waits for a commit (the barrier is idle).
func loseWAL(t *testing.T, db *DB) {
	t.Helper()
	if err := os.Remove(db.path + "-wal"); err != nil {
		t.Fatal(err)
	}
	db.walFile.close()
}
