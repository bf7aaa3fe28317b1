package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/ext/fts5"
)

// SyncMode says when a commit counts as durable.
type SyncMode int

const (
	// SyncFull (the default): [DB.Durable] resolves once an fsync of the
	// write-ahead log that started after the commit has returned.
	SyncFull SyncMode = iota
	// SyncNone: no fsync at all (synchronous=OFF); Durable resolves at
	// once. Committed data survives a crash of the process but not of the
	// machine. For tests and benchmarks.
	SyncNone
)

// Options configure a database.
type Options struct {
	// SQL marks an object of a SQLite-backed class (new_sqlite_classes):
	// the SQL API is enabled and the KV API has SQLite's limits. When
	// false the object is of a KV-backed class (new_classes): Exec fails
	// and the KV API enforces the 2048-byte key and 128 KiB value limits.
	SQL bool
	// Sync is the durability mode; the zero value is SyncFull.
	Sync SyncMode
	// CheckpointPages: Commit checkpoints the write-ahead log into the
	// database file once it holds at least this many pages. 0 means 1000
	// (SQLite's own default).
	CheckpointPages int

	// BeforeSync, for tests and fault injection, is called by the
	// durability barrier before each fsync round. It may block: the
	// database's commits are then held back from being durable.
	BeforeSync func()

	busyTimeout int // test hook: busy timeout in ms (0: 2000)
}

// Limits set on every connection (workerd src/workerd/util/sqlite.c++
// setupSecurity, as listed in the spec for workerd @6552d99, case 126).
// kiln's own statements stay within them: batch operations are repeated
// single-row statements.
const sqlLengthLimit = 100000

var connLimits = [...]struct {
	id sqlite3.LimitCategory
	v  int
}{
	{sqlite3.LIMIT_LENGTH, 4 << 20},
	{sqlite3.LIMIT_SQL_LENGTH, sqlLengthLimit},
	{sqlite3.LIMIT_COLUMN, 100},
	{sqlite3.LIMIT_EXPR_DEPTH, 100},
	{sqlite3.LIMIT_COMPOUND_SELECT, 5},
	{sqlite3.LIMIT_VDBE_OP, 25000},
	{sqlite3.LIMIT_FUNCTION_ARG, 127},
	{sqlite3.LIMIT_ATTACHED, 0},
	{sqlite3.LIMIT_LIKE_PATTERN_LENGTH, 50},
	{sqlite3.LIMIT_VARIABLE_NUMBER, 100},
	{sqlite3.LIMIT_TRIGGER_DEPTH, 10},
	{sqlite3.LIMIT_WORKER_THREADS, 0},
}

type tableState uint8

const (
	tableUnknown tableState = iota
	tableAbsent
	tablePresent
)

// DB is the storage of one Durable Object: one SQLite database file.
//
// A DB is used by one goroutine at a time, the object's event loop; only
// [DB.Durable] may be called from any goroutine.
type DB struct {
	path string
	opts Options
	// dirs Open created, parents first; their parents are fsynced with
	// the first barrier.
	newDirs []string

	conn   *sqlite3.Conn          // nil until the object first needs its file
	sync   atomic.Pointer[syncer] // nil with SyncNone, and until conn is open
	closed bool

	user    bool  // a user statement is being prepared or stepped
	authErr error // set by the authorizer for a refused transaction statement

	inTxn      bool     // the implicit transaction of this turn is open (BEGIN ran)
	wrote      bool     // something was written in it
	seq        uint64   // sequence number of the last commit
	savepoints []uint64 // open savepoints, innermost last: their tokens
	spToken    uint64

	fts5 bool // the fts5 module is registered on conn

	kvTable, metaTable tableState
	alarmKnown         bool
	alarm              int64 // ms since the epoch; valid when alarmKnown && alarmSet
	alarmSet           bool

	stmts     map[string]*sqlite3.Stmt // kiln's own prepared statements
	userStmts *stmtCache
	cursors   map[*Cursor]struct{} // open cursors
	walPages  int                  // pages in the WAL after the last commit
	// walCommitted is set by the WAL hook: a COMMIT wrote frames. It
	// catches writes db.wrote misses (a statement that failed after
	// changing rows, as INSERT OR FAIL does).
	walCommitted bool
	// newWAL: the -wal file was absent or empty when the connection
	// opened, and no commit has been made since; the connection runs with
	// synchronous=OFF until the first one (see openConn).
	newWAL bool
	// pageSize of the database (frames are pageSize+24 bytes); 0 until
	// read after the first commit.
	pageSize int64
	wal      walReserve
	walFile  *walFile // the -wal file's descriptor, made with the barrier (SyncFull)

	interrupt context.Context // applied to conn when it opens

	listQueries int // number of list queries run (tests: an empty range reads nothing)
}

// Open opens the storage of one object at path (conventionally
// "<dir>/<id>.sqlite"). The file and its directories are created only
// when the object first writes, runs SQL or starts a transaction; an
// object that only reads through the KV API never leaves a file, and
// Close removes a file left without data.
func Open(path string, opts Options) (_ *DB, err error) {
	defer catch(&err)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: resolve %s: %w", path, err)
	}
	if opts.CheckpointPages <= 0 {
		opts.CheckpointPages = 1000
	}
	db := &DB{
		path:      abs,
		opts:      opts,
		stmts:     map[string]*sqlite3.Stmt{},
		userStmts: newStmtCache(),
		cursors:   map[*Cursor]struct{}{},
	}
	_, err = os.Stat(abs)
	switch {
	case err == nil:
		if err := db.ensureConn(); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("storage: %w", err)
	}
	return db, nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

func errClosed() error {
	return newError(ClassError, ErrClosed, "Durable Object storage is closed.")
}

// ensureConn opens (creating it if needed) the database file.
func (db *DB) ensureConn() (err error) {
	if db.conn != nil {
		return nil
	}
	if db.closed {
		return errClosed()
	}
	created, err := mkdirAll(filepath.Dir(db.path))
	if err != nil {
		return fmt.Errorf("storage: create directory: %w", err)
	}
	db.newDirs = append(db.newDirs, created...)

	fi, statErr := os.Stat(db.path)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	// Judged before opening: a failed open may remove the -wal file.
	mayBeTorn := statErr == nil && db.neverHeldData(fi)
	err = db.openConn(fresh)
	if err != nil && mayBeTorn && (errors.Is(err, sqlite3.NOTADB) || errors.Is(err, sqlite3.CORRUPT)) {
		// A file that never held data, whose first page a crash tore while
		// it was being made a WAL database: start it again.
		if rmErr := os.Remove(db.path); rmErr != nil {
			return fmt.Errorf("storage: %w (and removing the torn new file: %w)", err, rmErr)
		}
		err = db.openConn(true)
	}
	if err != nil {
		return err
	}
	if db.opts.Sync == SyncFull && db.sync.Load() == nil {
		dirs := []string{filepath.Dir(db.path)}
		for _, d := range db.newDirs {
			dirs = append(dirs, filepath.Dir(d))
		}
		// Made here, not in Open: an object that never writes keeps
		// nothing for it (idle objects are many).
		db.walFile = &walFile{path: db.path + "-wal"}
		db.sync.Store(newSyncer(db.path, db.walFile, dirs, db.opts.BeforeSync))
	}
	return nil
}

// neverHeldData reports whether the file (fi) cannot hold an acknowledged write:
// at most one page long, with no -wal file (or an empty one). Every
// acknowledged write is in the -wal file until a checkpoint, and a
// checkpointed database holds at least two pages (its schema and a table).
// Such a file that SQLite cannot read is one a crash interrupted while
// openConn(true) was writing its first page.
func (db *DB) neverHeldData(fi fs.FileInfo) bool {
	if fi.Size() > 4096 {
		return false
	}
	wal, walErr := os.Stat(db.path + "-wal")
	return errors.Is(walErr, fs.ErrNotExist) || (walErr == nil && wal.Size() == 0)
}

// openConn opens the database file (creating it when fresh) and sets the
// connection up.
func (db *DB) openConn(fresh bool) (err error) {
	conn, err := sqlite3.OpenFlags(db.path, sqlite3.OPEN_READWRITE|sqlite3.OPEN_CREATE|sqlite3.OPEN_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", db.path, err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	// Defensive mode as workerd sets it. Double-quoted string literals and
	// a trusted schema as in SQLite's default build, which workerd uses and
	// user SQL relies on (the driver's build turns both off).
	for _, c := range []sqlite3.DBConfig{sqlite3.DBCONFIG_DEFENSIVE, sqlite3.DBCONFIG_DQS_DML,
		sqlite3.DBCONFIG_DQS_DDL, sqlite3.DBCONFIG_TRUSTED_SCHEMA} {
		if _, err := conn.Config(c, true); err != nil {
			return fmt.Errorf("storage: db_config %d: %w", c, err)
		}
	}
	for _, l := range connLimits {
		conn.Limit(l.id, l.v)
	}
	if err := conn.SetAuthorizer(db.authorize); err != nil {
		return fmt.Errorf("storage: authorizer: %w", err)
	}
	busy := 2000
	if db.opts.busyTimeout > 0 {
		busy = db.opts.busyTimeout
	}
	synchronous := "NORMAL"
	if db.opts.Sync == SyncNone {
		synchronous = "OFF"
	}
	// A WAL that starts empty gets its header written by the first
	// commit, which under synchronous=NORMAL fsyncs it (and the directory,
	// the file being new) on this thread before writing any frame: two
	// synchronous fsyncs on every activation that writes, with the
	// object's runtime blocked. That sync exists for a WAL restarted over
	// old frames (SQLite ticket ff5be73dee); an empty one has none, and
	// the durability barrier fsyncs the header, the frames and the
	// directory before the commit is acknowledged. So until the first
	// commit the connection runs with synchronous=OFF (Commit restores
	// NORMAL).
	db.newWAL = false
	if db.opts.Sync == SyncFull {
		if fi, err := os.Stat(db.path + "-wal"); errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
			db.newWAL = true
			synchronous = "OFF"
		}
	}
	// One process owns an object's file: the exclusive locking mode takes
	// the lock at the first access and keeps it until Close, so a second
	// process opening the same object fails (after the busy timeout)
	// instead of sharing it; it also keeps the WAL index in memory (no
	// -shm file, no lock system calls per transaction).
	pragmas := []string{
		"PRAGMA busy_timeout=" + strconv.Itoa(busy),
		"PRAGMA locking_mode=EXCLUSIVE",
	}
	if fresh {
		// A new file becomes a WAL database by a write of its first page.
		// With the default journal that write costs a journal file, its
		// creation and removal, and four fsyncs, on every new object. None
		// of it is needed: the file holds nothing yet, the first durability
		// barrier fsyncs it and its directory before any write is
		// acknowledged (syncer), and a first page torn by a crash is
		// recognised at the next open (neverHeldData). So the conversion runs
		// with an in-memory journal and without syncs.
		pragmas = append(pragmas, "PRAGMA journal_mode=MEMORY", "PRAGMA synchronous=OFF")
	}
	pragmas = append(pragmas,
		"PRAGMA journal_mode=WAL",
		"PRAGMA synchronous="+synchronous,
		"PRAGMA foreign_keys=ON",
	)
	for _, q := range pragmas {
		if err := conn.Exec(q); err != nil {
			return fmt.Errorf("storage: %s: %w", q, err)
		}
	}
	if err := checkWAL(conn); err != nil {
		return err
	}
	// Checkpoints happen in Commit, never inside COMMIT (see doc.go).
	if err := conn.WALAutoCheckpoint(0); err != nil {
		return fmt.Errorf("storage: wal_autocheckpoint: %w", err)
	}
	conn.WALHook(func(_ *sqlite3.Conn, _ string, pages int) error {
		db.walPages = pages
		db.walCommitted = true
		return nil
	})
	if db.interrupt != nil {
		conn.SetInterrupt(db.interrupt)
	}
	db.conn = conn
	return nil
}

func checkWAL(conn *sqlite3.Conn) error {
	stmt, _, err := conn.Prepare("PRAGMA journal_mode")
	if err != nil {
		return fmt.Errorf("storage: journal_mode: %w", err)
	}
	defer stmt.Close()
	mode := ""
	if stmt.Step() {
		mode = stmt.ColumnText(0)
	}
	if err := stmt.Err(); err != nil {
		return fmt.Errorf("storage: journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("storage: journal mode is %q, not wal", mode)
	}
	return nil
}

// mkdirAll creates dir and its missing parents and returns those it
// created, outermost first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	created := make([]string, 0, len(missing))
	for i := len(missing) - 1; i >= 0; i-- {
		created = append(created, missing[i])
	}
	return created, nil
}

// SetInterrupt makes SQLite stop what it runs, with an "interrupted:
// SQLITE_INTERRUPT" error, once ctx is done: a CPU-time watchdog cancels
// ctx to end a runaway query, which the JavaScript engine's own interrupt
// cannot reach. Until ctx is replaced, every statement fails at once,
// kiln's own included; an interrupted write may roll back the turn
// (ErrTransactionLost). Call it from the owning goroutine, typically once
// per event; ctx may be cancelled from anywhere. It returns the previous
// context.
func (db *DB) SetInterrupt(ctx context.Context) context.Context {
	old := db.interrupt
	db.interrupt = ctx
	if db.conn != nil {
		if ctx == nil {
			ctx = context.Background()
		}
		db.conn.SetInterrupt(ctx)
	}
	return old
}

// ensureFTS5 registers full-text search (fts5, fts5vocab) on the
// connection. It costs about 0.2 ms, so only objects that use SQL pay it,
// on their first Exec.
func (db *DB) ensureFTS5() error {
	if db.fts5 {
		return nil
	}
	if err := fts5.Register(db.conn); err != nil {
		return fmt.Errorf("storage: register fts5: %w", err)
	}
	db.fts5 = true
	return nil
}

// stmt returns kiln's own prepared statement for sql, preparing it on
// first use. Such statements are trusted (the authorizer lets them through).
func (db *DB) stmt(sql string) (*sqlite3.Stmt, error) {
	if s, ok := db.stmts[sql]; ok {
		return s, nil
	}
	s, _, err := db.conn.PrepareFlags(sql, sqlite3.PREPARE_PERSISTENT)
	if err != nil {
		return nil, err
	}
	db.stmts[sql] = s
	return s, nil
}

// exec runs one of kiln's statements to completion.
func (db *DB) exec(sql string, args ...any) error {
	s, err := db.stmt(sql)
	if err != nil {
		return err
	}
	if err := bindAll(s, args); err != nil {
		s.ClearBindings()
		return err
	}
	err = s.Exec()
	s.ClearBindings()
	return err
}

// queryRow runs one of kiln's statements and hands its first row, if any,
// to row.
func (db *DB) queryRow(sql string, row func(*sqlite3.Stmt), args ...any) (bool, error) {
	s, err := db.stmt(sql)
	if err != nil {
		return false, err
	}
	defer func() {
		s.Reset()
		s.ClearBindings()
	}()
	if err := bindAll(s, args); err != nil {
		return false, err
	}
	if s.Step() {
		row(s)
		return true, nil
	}
	return false, s.Err()
}

func bindAll(s *sqlite3.Stmt, args []any) error {
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case nil:
			err = s.BindNull(i + 1)
		case int64:
			err = s.BindInt64(i+1, v)
		case int:
			err = s.BindInt64(i+1, int64(v))
		case float64:
			err = s.BindFloat(i+1, v)
		case string:
			err = s.BindText(i+1, v)
		case []byte:
			if v == nil {
				v = []byte{} // the driver binds a nil slice as NULL
			}
			err = s.BindBlob(i+1, v)
		default:
			return newError(ClassTypeError, ErrBindings,
				fmt.Sprintf("Unsupported type of SQL binding %d: %T. Use null, a number, a string or an ArrayBuffer.", i+1, a))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// HasData reports whether the object has stored data: KV entries, SQL
// tables or views of its own, or an alarm. It sees the current
// transaction, so call it after Commit.
func (db *DB) HasData() (has bool, err error) {
	defer catch(&err)
	if db.closed {
		return false, errClosed()
	}
	if db.conn == nil {
		return false, nil
	}
	if ok, err := db.tableExists(&db.kvTable, "_cf_KV"); err != nil {
		return false, err
	} else if ok {
		found, err := db.queryRow("SELECT 1 FROM _cf_KV LIMIT 1", func(*sqlite3.Stmt) {})
		if err != nil || found {
			return found, internal("look for KV data", err)
		}
	}
	if _, set, err := db.GetAlarm(); err != nil || set {
		return set, err
	}
	objs, err := db.userObjects()
	return len(objs) > 0, err
}

// schemaObject is a table, view, index or trigger of the user.
type schemaObject struct {
	typ, name, sql string
}

// userObjects lists the schema objects that are the user's (not SQLite's
// nor kiln's).
func (db *DB) userObjects() ([]schemaObject, error) {
	s, err := db.stmt("SELECT type, name, coalesce(sql, '') FROM sqlite_schema")
	if err != nil {
		return nil, internal("read schema", err)
	}
	defer s.Reset()
	var objs []schemaObject
	for s.Step() {
		o := schemaObject{s.ColumnText(0), s.ColumnText(1), s.ColumnText(2)}
		if strings.HasPrefix(strings.ToLower(o.name), "sqlite_") || !allowedName(o.name) {
			continue
		}
		objs = append(objs, o)
	}
	return objs, internal("read schema", s.Err())
}

// tableExists reports, caching the answer in *st, whether one of kiln's
// tables exists.
func (db *DB) tableExists(st *tableState, name string) (bool, error) {
	if *st == tableUnknown {
		found, err := db.queryRow("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?",
			func(*sqlite3.Stmt) {}, name)
		if err != nil {
			return false, internal("read schema", err)
		}
		*st = tableAbsent
		if found {
			*st = tablePresent
		}
	}
	return *st == tablePresent, nil
}

// DatabaseSize is sql.databaseSize: the bytes of the pages in use,
// (page_count - freelist_count) * page_size. An object that has no file
// yet reports one page, as a new SQLite database does.
func (db *DB) DatabaseSize() (n int64, err error) {
	defer catch(&err)
	if !db.opts.SQL {
		return 0, newError(ClassError, ErrSQLDisabled, msgSQLNotEnabled)
	}
	if db.closed {
		return 0, errClosed()
	}
	if db.conn == nil {
		return 4096, nil
	}
	var pages, free, size int64
	for _, p := range []struct {
		sql string
		v   *int64
	}{{"PRAGMA page_count", &pages}, {"PRAGMA freelist_count", &free}, {"PRAGMA page_size", &size}} {
		if _, err := db.queryRow(p.sql, func(s *sqlite3.Stmt) { *p.v = s.ColumnInt64(0) }); err != nil {
			return 0, internal("database size", err)
		}
	}
	if pages == 0 { // nothing written yet: the first page is still to come
		pages = 1
	}
	return (pages - free) * size, nil
}

// Close closes the database. It commits nothing: a transaction still open
// is rolled back, so commit first. It waits until every commit somebody
// waits for (Durable) is on disk. A file left without data is removed.
func (db *DB) Close() (err error) {
	defer catch(&err)
	if db.closed {
		return nil
	}
	if db.conn == nil {
		db.closed = true
		return nil
	}
	rerr := db.Rollback()
	var serr error
	if s := db.sync.Load(); s != nil {
		serr = s.close()
	}
	hasData, herr := db.HasData()
	for c := range db.cursors {
		c.abort(newError(ClassError, ErrCursorClosed, "SQL cursor was closed because Durable Object storage was closed."))
	}
	db.userStmts.closeAll()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = nil
	db.wal.reset()
	if db.walFile != nil {
		db.walFile.close()
	}
	var perr error
	if db.newWAL {
		// Closing checkpoints the WAL into the database file: with its
		// syncs, whatever the WAL holds.
		perr = db.conn.Exec("PRAGMA synchronous=NORMAL")
		if perr == nil {
			db.newWAL = false
		}
	}
	cerr := db.conn.Close()
	db.conn = nil
	db.closed = true
	if cerr == nil && herr == nil && !hasData {
		for _, suffix := range []string{"-wal", "-shm", ""} {
			if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) && cerr == nil {
				cerr = err
			}
		}
	}
	if cerr != nil {
		cerr = fmt.Errorf("storage: close %s: %w", db.path, cerr)
	}
	if perr != nil {
		perr = fmt.Errorf("storage: synchronous=NORMAL before close: %w", perr)
	}
	return errors.Join(rerr, serr, herr, perr, cerr)
}
