package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kiln-dev/kiln/kv"
)

// A request is one write operation queued for the writer.
type request struct {
	fn    func(*wtx) error
	size  int
	state atomic.Int32 // reqPending, then reqTaken by the writer or reqCancelled by the caller
	done  chan error   // buffered: the writer never blocks on it
}

const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// noWrite marks an error an operation found before writing anything (a
// namespace that does not exist, a title in use): the transaction is intact
// and the rest of the batch goes on.
type noWrite struct{ err error }

func (e noWrite) Error() string { return e.err.Error() }
func (e noWrite) Unwrap() error { return e.err }

// writer owns the write connection and applies queued operations in
// batches, one transaction and so one fsync per batch (group commit).
type writer struct {
	conn     *sql.Conn
	ctx      context.Context // of the SQL it runs: not a caller's, which must not abort a batch
	maxBatch int
	maxBytes int

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *request
	done   chan struct{}

	commits atomic.Int64 // transactions committed, for tests
	// onCommit runs after every commit, before its writes are answered
	// (the read cache drops its entries); nil: nothing.
	onCommit func()

	// Statements prepared on conn.
	nsSeq, put, del, purge *sql.Stmt
}

const (
	wNSSeq = `SELECT seq FROM namespaces WHERE id = ?`
	wPut   = `INSERT INTO entries (ns, key, expiration, metadata, value) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (ns, key) DO UPDATE SET expiration = excluded.expiration,
		metadata = excluded.metadata, value = excluded.value`
	wDel   = `DELETE FROM entries WHERE ns = ? AND key = ?`
	wPurge = `DELETE FROM entries WHERE (ns, key) IN
		(SELECT ns, key FROM entries WHERE expiration <= ? LIMIT ?)`
)

// queueLen is the number of operations that can wait for the writer before
// callers block on the send.
const queueLen = 1024

func newWriter(ctx context.Context, conn *sql.Conn, maxBatch, maxBytes int, onCommit func()) (*writer, error) {
	w := &writer{
		onCommit: onCommit,
		conn:     conn,
		ctx:      context.Background(),
		maxBatch: maxBatch,
		maxBytes: maxBytes,
		queue:    make(chan *request, queueLen),
		done:     make(chan struct{}),
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&w.nsSeq, wNSSeq}, {&w.put, wPut}, {&w.del, wDel}, {&w.purge, wPurge}} {
		st, err := conn.PrepareContext(ctx, p.q)
		if err != nil {
			_ = w.closeStmts()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return w, nil
}

func (w *writer) closeStmts() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.nsSeq, w.put, w.del, w.purge} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// submit queues fn and waits until the batch holding it has committed.
// size is the bytes fn writes, to bound batches. If ctx ends before the
// writer took the operation, it is dropped and ctx's error returned; once
// taken, submit waits for the commit, so its answer is always the truth.
func (w *writer) submit(ctx context.Context, size int, fn func(*wtx) error) error {
	r := &request{fn: fn, size: size, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return kv.ErrClosed
	}
	select {
	case w.queue <- r:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// close stops accepting operations and waits until the queued ones are
// committed.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*request, 0, w.maxBatch)
	for r := range w.queue {
		batch = batch[:0]
		size := 0
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			batch = append(batch, r)
			size += r.size
		}
	fill:
		for len(batch) < w.maxBatch && size < w.maxBytes {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break fill
				}
				if r.state.CompareAndSwap(reqPending, reqTaken) {
					batch = append(batch, r)
					size += r.size
				}
			default:
				break fill
			}
		}
		w.apply(batch)
		clear(batch)
	}
}

// apply commits batch, answering every request. An operation that fails
// with a SQL error poisons the transaction: it is rolled back, that
// operation is answered with its error, and the others are tried again.
func (w *writer) apply(batch []*request) {
	for len(batch) > 0 {
		batch = w.attempt(batch)
	}
}

// attempt runs batch in one transaction and returns the requests to retry.
func (w *writer) attempt(batch []*request) []*request {
	if _, err := w.conn.ExecContext(w.ctx, "BEGIN IMMEDIATE"); err != nil {
		w.answerAll(batch, fmt.Errorf("begin transaction: %w", err))
		return nil
	}
	tx := &wtx{w: w, ctx: w.ctx}
	errs := make([]error, len(batch))
	for i, r := range batch {
		err := r.fn(tx)
		if err == nil {
			continue
		}
		var nw noWrite
		if errors.As(err, &nw) {
			errs[i] = nw.err
			continue
		}
		w.rollback()
		r.done <- err
		rest := make([]*request, 0, len(batch)-1)
		rest = append(rest, batch[:i]...)
		return append(rest, batch[i+1:]...)
	}
	if _, err := w.conn.ExecContext(w.ctx, "COMMIT"); err != nil {
		w.rollback()
		w.answerAll(batch, fmt.Errorf("commit: %w", err))
		return nil
	}
	w.commits.Add(1)
	if w.onCommit != nil {
		w.onCommit()
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
	return nil
}

func (w *writer) rollback() {
	// Fails harmlessly when SQLite has already rolled the transaction back.
	_, _ = w.conn.ExecContext(w.ctx, "ROLLBACK")
}

func (w *writer) answerAll(batch []*request, err error) {
	for _, r := range batch {
		r.done <- err
	}
}

// wtx is the transaction an operation runs in. The transaction is the write
// connection's own (BEGIN and COMMIT run on it), so the statements prepared
// on that connection run inside it.
type wtx struct {
	w   *writer
	ctx context.Context
	// The namespace last resolved in this transaction: a batch of puts
	// usually goes to one namespace, and its sequence number cannot change
	// within the transaction except by a namespace operation, which runs
	// through exec and forgets it.
	lastNS  string
	lastSeq int64
	hasLast bool
}

// nsSeq resolves a namespace id; a missing namespace is a noWrite error.
func (tx *wtx) nsSeq(id string) (int64, error) {
	if tx.hasLast && tx.lastNS == id {
		return tx.lastSeq, nil
	}
	var seq int64
	err := tx.w.nsSeq.QueryRowContext(tx.ctx, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, noWrite{kv.ErrNamespaceNotFound}
	}
	if err != nil {
		return 0, err
	}
	tx.lastNS, tx.lastSeq, tx.hasLast = id, seq, true
	return seq, nil
}

// exec runs a statement of a namespace operation (create, rename, delete).
func (tx *wtx) exec(q string, args ...any) (sql.Result, error) {
	tx.hasLast = false
	return tx.w.conn.ExecContext(tx.ctx, q, args...)
}
