package storage

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ncruces/go-sqlite3"
)

// beginWrite opens the implicit transaction of the turn, if it is not
// open yet.
func (db *DB) beginWrite() error {
	if err := db.ensureConn(); err != nil {
		return err
	}
	if db.inTxn {
		return nil
	}
	if err := db.exec("BEGIN IMMEDIATE"); err != nil {
		return internal("begin transaction", err)
	}
	db.inTxn = true
	return nil
}

// lostTransaction checks, after a failed statement, whether SQLite rolled
// the whole transaction back (it does so on I/O errors, a full disk or no
// memory). The turn's earlier writes are then gone: the object must be
// reset.
func (db *DB) lostTransaction(cause error) error {
	if !db.inTxn || db.conn == nil || !db.conn.GetAutocommit() {
		return cause
	}
	db.resetTxnState()
	return &Error{Class: ClassError, kind: ErrTransactionLost, cause: cause,
		Message: "Durable Object storage rolled back the writes of this turn: " + cause.Error()}
}

// forgetCaches drops what is cached about the database's content; called
// whenever SQLite rolls something back.
func (db *DB) forgetCaches() {
	db.kvTable, db.metaTable = tableUnknown, tableUnknown
	db.alarmKnown = false
}

func (db *DB) resetTxnState() {
	db.inTxn = false
	db.wrote = false
	db.savepoints = nil
	db.forgetCaches()
}

// atomically runs fn, which may run several statements, so that on error
// none of its effects remain (a savepoint around it); the rest of the
// turn's transaction is untouched.
func (db *DB) atomically(fn func() error) error {
	if err := db.exec("SAVEPOINT _cf_op"); err != nil {
		return internal("savepoint", err)
	}
	if err := fn(); err != nil {
		if lost := db.lostTransaction(err); lost != err {
			return lost
		}
		if rerr := db.exec("ROLLBACK TO _cf_op"); rerr != nil {
			return db.lostTransaction(internal("rollback to savepoint", rerr))
		}
		db.forgetCaches()
		if rerr := db.exec("RELEASE _cf_op"); rerr != nil {
			return internal("release savepoint", rerr)
		}
		return err
	}
	if err := db.exec("RELEASE _cf_op"); err != nil {
		return db.lostTransaction(internal("release savepoint", err))
	}
	return nil
}

// Commit ends the turn: it commits the implicit transaction, if one is
// open, and returns its sequence number, or 0 if the turn wrote nothing.
// Sequence numbers increase by one with each commit that wrote. Commit
// does not wait for the disk; see [DB.Durable].
//
// Cursors still open are read to the end first and keep their rows in
// memory. A commit that fails (deferred foreign keys still violated) rolls
// the transaction back: the object must be reset.
func (db *DB) Commit() (seq uint64, err error) {
	defer catch(&err)
	if !db.inTxn {
		return 0, nil
	}
	if len(db.savepoints) > 0 {
		return 0, newError(ClassError, ErrSavepointOpen,
			"Cannot commit while a transaction() or transactionSync() is still open.")
	}
	for c := range db.cursors {
		c.materialize()
	}
	if db.conn.GetAutocommit() { // SQLite rolled the transaction back
		return 0, db.lostTransaction(errors.New("the transaction is no longer open"))
	}
	db.walCommitted = false
	if err := db.exec("COMMIT"); err != nil {
		cerr := sqliteError(err, "")
		db.Rollback()
		var e *Error
		if errors.As(cerr, &e) && e.Code == "SQLITE_CONSTRAINT" {
			return 0, &Error{Class: ClassError, Code: e.Code, kind: ErrConstraint, cause: err,
				Message: msgConstraintsViolated + e.Message}
		}
		return 0, cerr
	}
	// A commit that wrote frames wrote something, whatever db.wrote says
	// (a failed statement may have changed rows before failing).
	wrote := db.wrote || db.walCommitted
	db.inTxn, db.wrote = false, false
	if db.newWAL && db.walCommitted {
		// The WAL has its header now: from here on SQLite must sync it
		// when it restarts the log after a checkpoint.
		if err := db.exec("PRAGMA synchronous=NORMAL"); err != nil {
			return 0, fmt.Errorf("storage: synchronous=NORMAL after the first commit: %w", err)
		}
		db.newWAL = false
	}
	if !wrote {
		return 0, nil
	}
	db.seq++
	if s := db.sync.Load(); s != nil {
		s.commit(db.seq)
	}
	if db.walPages >= db.opts.CheckpointPages {
		db.checkpoint()
	} else if db.opts.Sync == SyncFull {
		db.reserveWAL()
	}
	return db.seq, nil
}

// reserveWAL extends the -wal file ahead of the frames written (see
// walReserve), as far as one checkpoint interval needs.
func (db *DB) reserveWAL() {
	if db.pageSize == 0 {
		if _, err := db.queryRow("PRAGMA page_size", func(s *sqlite3.Stmt) { db.pageSize = s.ColumnInt64(0) }); err != nil || db.pageSize <= 0 {
			db.pageSize = 0
			return
		}
	}
	const walHeader, frameHeader = 32, 24
	frame := db.pageSize + frameHeader
	end := walHeader + int64(db.walPages)*frame
	limit := walHeader + int64(db.opts.CheckpointPages+walReserveFrames)*frame
	if db.walFile != nil {
		db.wal.extend(db.walFile, end, frame, limit)
	}
}

// checkpoint copies the WAL into the database file. With
// synchronous=NORMAL SQLite fsyncs the WAL before and the database file
// after, so a complete checkpoint makes every commit so far durable. A
// failed or partial checkpoint is retried after the next commit: nothing
// is lost, the WAL only grows.
func (db *DB) checkpoint() {
	nLog, nCkpt, err := db.conn.WALCheckpoint("main", sqlite3.CHECKPOINT_PASSIVE)
	if err != nil || nLog != nCkpt {
		return
	}
	db.walPages = 0
	if s := db.sync.Load(); s != nil {
		s.markDurable(db.seq)
	}
}

// Rollback discards the implicit transaction of the turn and every open
// savepoint (the object is being reset). Open cursors are closed.
func (db *DB) Rollback() (err error) {
	defer catch(&err)
	for c := range db.cursors {
		c.abort(newError(ClassError, ErrCursorClosed, "SQL cursor was closed because the transaction was rolled back."))
	}
	if !db.inTxn || db.conn == nil {
		db.resetTxnState()
		return nil
	}
	if !db.conn.GetAutocommit() {
		err = db.exec("ROLLBACK")
	}
	db.resetTxnState()
	return internal("rollback", err)
}

// InTransaction reports whether the turn's implicit transaction is open.
func (db *DB) InTransaction() bool { return db.inTxn }

// MarkWritten makes the open transaction count as a write: its Commit
// returns a sequence number, which Durable and OnDurable then resolve, even
// if it changed nothing (a caller that promised a reply the commit's number
// needs one). No-op without an open transaction.
func (db *DB) MarkWritten() {
	if db.inTxn {
		db.wrote = true
	}
}

// LastSeq is the sequence number of the last commit that wrote.
func (db *DB) LastSeq() uint64 { return db.seq }

// Durable returns a channel that is closed once commit seq is on disk, or
// that receives the error that prevents it (a failed fsync: the object
// must be reset and its held output dropped). Safe from any goroutine.
func (db *DB) Durable(seq uint64) <-chan error {
	s := db.sync.Load()
	if s == nil || seq == 0 {
		ch := make(chan error)
		close(ch)
		return ch
	}
	return s.wait(seq)
}

// OnDurable calls fn once commit seq is on disk (err nil) or cannot be
// (the error Durable would yield). fn runs at once on this goroutine if
// that is known now, else later on the goroutine that makes the commit
// durable, which it holds up: fn must not block, and must not close the
// DB. It saves the goroutine and the wake-up that waiting on Durable's
// channel costs per commit.
func (db *DB) OnDurable(seq uint64, fn func(err error)) {
	s := db.sync.Load()
	if s == nil || seq == 0 {
		fn(nil)
		return
	}
	s.notify(seq, fn)
}

// Savepoint is a point inside the turn's transaction that can be rolled
// back to, for transaction() and transactionSync(). Savepoints nest.
type Savepoint struct {
	db    *DB
	depth int
	token uint64
}

// Savepoint opens a savepoint, starting the turn's implicit transaction
// if needed.
func (db *DB) Savepoint() (sp Savepoint, err error) {
	defer catch(&err)
	if err := db.beginWrite(); err != nil {
		return Savepoint{}, err
	}
	depth := len(db.savepoints)
	if err := db.exec(spSQL("SAVEPOINT", depth)); err != nil {
		return Savepoint{}, db.lostTransaction(internal("savepoint", err))
	}
	db.spToken++
	db.savepoints = append(db.savepoints, db.spToken)
	return Savepoint{db: db, depth: depth, token: db.spToken}, nil
}

func spSQL(verb string, depth int) string {
	return verb + " _cf_savepoint_" + strconv.Itoa(depth)
}

func (sp Savepoint) check() error {
	db := sp.db
	if db == nil || sp.depth >= len(db.savepoints) || db.savepoints[sp.depth] != sp.token {
		return newError(ClassError, ErrSavepointGone, "This transaction has already been committed or rolled back.")
	}
	return nil
}

// Release keeps the savepoint's writes as part of the enclosing
// transaction. Releasing a savepoint also releases those opened inside it.
func (sp Savepoint) Release() (err error) {
	defer catch(&err)
	if err := sp.check(); err != nil {
		return err
	}
	db := sp.db
	if err := db.exec(spSQL("RELEASE", sp.depth)); err != nil {
		return db.lostTransaction(internal("release savepoint", err))
	}
	db.savepoints = db.savepoints[:sp.depth]
	return nil
}

// Rollback undoes everything done since the savepoint (including inner
// savepoints) and closes it.
func (sp Savepoint) Rollback() (err error) {
	defer catch(&err)
	if err := sp.check(); err != nil {
		return err
	}
	db := sp.db
	if err := db.exec(spSQL("ROLLBACK TO", sp.depth)); err != nil {
		return db.lostTransaction(internal("rollback to savepoint", err))
	}
	db.forgetCaches()
	if err := db.exec(spSQL("RELEASE", sp.depth)); err != nil {
		return db.lostTransaction(internal("release savepoint", err))
	}
	db.savepoints = db.savepoints[:sp.depth]
	return nil
}
