package storage

import (
	"container/list"
	"slices"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// Exec runs SQL of the object (sql.exec). The query may hold several
// statements separated by ";": every statement but the last runs to
// completion at once (none of them may take parameters); args bind to the
// last one, whose results the cursor returns. Like workerd, Exec steps the
// last statement to its first row before returning, so its effects happen
// now even if the cursor is never read. Each statement is atomic; as in
// workerd, an error in a later statement leaves the effects of the earlier
// ones in the turn. (workerd steps a statement that is not the last only
// once; kiln runs it to its end, which differs only for a SELECT of
// several rows, whose rows are discarded either way.)
//
// Arguments are nil, int64 or int, float64, string and []byte (an
// ArrayBuffer). Results come back as nil, int64 (INTEGER), float64 (REAL),
// string (TEXT) and []byte (BLOB); the JavaScript layer makes numbers of
// the int64s, as workerd does.
//
// A statement that is not read-only (sqlite3_stmt_readonly) opens the
// turn's implicit transaction first.
func (db *DB) Exec(query string, args ...any) (c *Cursor, err error) {
	defer catch(&err)
	if !db.opts.SQL {
		return nil, newError(ClassError, ErrSQLDisabled, msgSQLNotEnabled)
	}
	if err := db.ensureConn(); err != nil {
		return nil, err
	}
	if err := db.ensureFTS5(); err != nil {
		return nil, err
	}
	if s := db.userStmts.take(query); s != nil {
		return db.start(s, query, args)
	}
	rest := query
	for {
		s, tail, err := db.prepareUser(rest)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return nil, newError(ClassError, ErrNoStatement, msgNoStatement)
		}
		tail = strings.TrimLeft(tail, " \t\n\r\v\f")
		if tail == "" {
			if rest == query {
				db.userStmts.add(query, s)
				return db.start(s, query, args)
			}
			return db.start(s, "", args)
		}
		if s.BindCount() != 0 {
			s.Close()
			return nil, newError(ClassError, ErrBindings, msgMultiParams)
		}
		err = db.runToEnd(s)
		s.Close()
		if err != nil {
			return nil, err
		}
		rest = tail
	}
}

// prepareUser compiles the first statement of sql under the authorizer.
func (db *DB) prepareUser(sql string) (*sqlite3.Stmt, string, error) {
	// workerd hands SQLite the length of the text, which SQLite checks
	// against LIMIT_SQL_LENGTH with this message; the driver passes a
	// NUL-terminated string, for which the parser only says TOOBIG.
	if len(sql) > sqlLengthLimit {
		return nil, "", &Error{Class: ClassError, Message: "statement too long: SQLITE_TOOBIG",
			Code: "SQLITE_TOOBIG", kind: ErrSQLite}
	}
	db.user, db.authErr = true, nil
	s, tail, err := db.conn.Prepare(sql)
	db.user = false
	if err != nil {
		if db.authErr != nil {
			return nil, "", db.authErr
		}
		return nil, "", sqliteError(err, sql)
	}
	return s, tail, nil
}

// runToEnd runs a statement that is not the last of an Exec.
func (db *DB) runToEnd(s *sqlite3.Stmt) error {
	readOnly := s.ReadOnly()
	if !readOnly {
		if err := db.beginWrite(); err != nil {
			return err
		}
	}
	db.user = true
	for s.Step() {
	}
	db.user = false
	if err := s.Err(); err != nil {
		return db.lostTransaction(sqliteError(err, ""))
	}
	if !readOnly {
		db.wrote = true
	}
	return nil
}

// start binds and runs the last statement of an Exec up to its first row.
// key is its statement cache key ("" if it is not cached).
func (db *DB) start(s *sqlite3.Stmt, key string, args []any) (*Cursor, error) {
	c := &Cursor{db: db, stmt: s, key: key}
	if s.BindCount() != len(args) {
		c.finish()
		return nil, newError(ClassError, ErrBindings, msgWrongBindings)
	}
	if err := bindAll(s, args); err != nil {
		c.finish()
		return nil, sqliteError(err, "")
	}
	readOnly := s.ReadOnly()
	if !readOnly {
		if err := db.beginWrite(); err != nil {
			c.finish()
			return nil, err
		}
	}
	n := s.ColumnCount()
	c.cols = make([]string, n)
	for i := range n {
		c.cols[i] = s.ColumnName(i)
	}
	s.Status(sqlite3.STMTSTATUS_FULLSCAN_STEP, true) // reset the counter of a reused statement
	db.cursors[c] = struct{}{}
	if err := c.step(); err != nil {
		return nil, err
	}
	if !readOnly {
		db.wrote = true
	}
	return c, nil
}

// Cursor iterates over the rows of a statement run by [DB.Exec]. Rows are
// produced as they are asked for, except when the turn commits or the
// object calls DeleteAll while the cursor is open: the rest of the rows
// are then read at once and kept in memory.
type Cursor struct {
	db   *DB
	stmt *sqlite3.Stmt // nil once the statement is done
	key  string        // statement cache key, "" if not cached
	cols []string

	hasRow bool    // stmt is on a row not yet returned
	rows   [][]any // rows read ahead (materialized), to return first
	err    error   // to report on the next call of Next

	produced, fullScan int64
	written            int64
}

// step advances the statement (under the authorizer: SQLite may compile
// it again if the schema changed).
func (c *Cursor) step() error {
	db := c.db
	before := db.conn.TotalChanges()
	db.user = true
	ok := c.stmt.Step()
	db.user = false
	c.written += db.conn.TotalChanges() - before
	c.fullScan = int64(c.stmt.Status(sqlite3.STMTSTATUS_FULLSCAN_STEP, false))
	if ok {
		c.produced++
		c.hasRow = true
		return nil
	}
	c.hasRow = false
	err := c.stmt.Err()
	c.finish()
	if err != nil {
		return db.lostTransaction(sqliteError(err, ""))
	}
	return nil
}

// finish gives the statement back (to the cache, or closes it).
func (c *Cursor) finish() {
	if c.stmt == nil {
		return
	}
	c.db.userStmts.giveBack(c.key, c.stmt)
	c.stmt = nil
	c.hasRow = false
	delete(c.db.cursors, c)
}

func (c *Cursor) readRow() []any {
	s := c.stmt
	row := make([]any, len(c.cols))
	for i := range row {
		switch s.ColumnType(i) {
		case sqlite3.INTEGER:
			row[i] = s.ColumnInt64(i)
		case sqlite3.FLOAT:
			row[i] = s.ColumnFloat(i)
		case sqlite3.TEXT:
			row[i] = s.ColumnText(i)
		case sqlite3.BLOB:
			row[i] = s.ColumnBlob(i, []byte{})
		default:
			row[i] = nil
		}
	}
	return row
}

// Next returns the next row (values in column order), or ok == false at
// the end. An error met while reading ahead is returned by the call after
// the row it followed.
func (c *Cursor) Next() (row []any, ok bool, err error) {
	defer catch(&err)
	if len(c.rows) > 0 {
		row = c.rows[0]
		c.rows[0] = nil
		c.rows = c.rows[1:]
		return row, true, nil
	}
	if c.err != nil {
		err, c.err = c.err, nil
		return nil, false, err
	}
	if !c.hasRow {
		return nil, false, nil
	}
	row = c.readRow()
	if err := c.step(); err != nil {
		c.err = err
	}
	return row, true, nil
}

// materialize reads the remaining rows into memory and gives the
// statement back, so that nothing is left running.
func (c *Cursor) materialize() {
	for c.hasRow {
		c.rows = append(c.rows, c.readRow())
		if err := c.step(); err != nil {
			c.err = err
		}
	}
	c.finish()
}

// abort ends the cursor; Next then reports err (if not nil) once.
func (c *Cursor) abort(err error) {
	c.finish()
	c.rows = nil
	if err != nil {
		c.err = err
	}
}

// Close ends the cursor early; Next then reports the end.
func (c *Cursor) Close() {
	c.abort(nil)
	c.err = nil
}

// ColumnNames are the names of the result columns, duplicates included;
// empty for a statement without results. Readable at any time.
func (c *Cursor) ColumnNames() []string { return slices.Clone(c.cols) }

// RowsRead counts rows read so far: the rows the statement produced, or
// the steps of its full table scans when more (stock SQLite has no exact
// counter of rows read; workerd's patched SQLite does). Like workerd's,
// the cursor reads one row ahead of what it returned.
func (c *Cursor) RowsRead() int64 { return max(c.produced, c.fullScan) }

// RowsWritten counts the rows inserted, updated or deleted so far,
// triggers included (sqlite3_total_changes() across the statement's
// steps; SQLite counts them when the statement finishes, which for
// statements without RETURNING is at the first step).
func (c *Cursor) RowsWritten() int64 { return c.written }

// stmtCache keeps compiled single-statement queries of user code, by
// text, like workerd's statement cache (which is bounded by 1 MiB of SQL
// text); kiln also bounds the count. A statement in use by a live cursor
// is not handed out twice: a second Exec of the same text compiles a
// one-off copy.
type stmtCache struct {
	m    map[string]*list.Element
	lru  list.List // of *cachedStmt, most recent first
	size int       // bytes of SQL text
}

type cachedStmt struct {
	sql  string
	s    *sqlite3.Stmt
	busy bool
}

const (
	stmtCacheMaxSize  = 1 << 20
	stmtCacheMaxCount = 64
)

func newStmtCache() *stmtCache {
	return &stmtCache{m: map[string]*list.Element{}}
}

// take returns the cached statement for sql, now busy, or nil.
func (sc *stmtCache) take(sql string) *sqlite3.Stmt {
	e, ok := sc.m[sql]
	if !ok {
		return nil
	}
	cs := e.Value.(*cachedStmt)
	if cs.busy {
		return nil
	}
	cs.busy = true
	sc.lru.MoveToFront(e)
	return cs.s
}

// add caches a freshly compiled statement, busy, unless sql is cached
// already (the statement is then a one-off).
func (sc *stmtCache) add(sql string, s *sqlite3.Stmt) {
	if _, ok := sc.m[sql]; ok || len(sql) > stmtCacheMaxSize {
		return
	}
	sc.m[sql] = sc.lru.PushFront(&cachedStmt{sql: sql, s: s, busy: true})
	sc.size += len(sql)
	sc.evict()
}

// giveBack returns a statement after use: reset if it is the cached one,
// closed otherwise.
func (sc *stmtCache) giveBack(sql string, s *sqlite3.Stmt) {
	if e, ok := sc.m[sql]; ok && sql != "" {
		if cs := e.Value.(*cachedStmt); cs.s == s {
			s.Reset()
			s.ClearBindings()
			cs.busy = false
			sc.evict()
			return
		}
	}
	s.Close()
}

func (sc *stmtCache) evict() {
	for e := sc.lru.Back(); e != nil && (sc.size > stmtCacheMaxSize || sc.lru.Len() > stmtCacheMaxCount); {
		prev := e.Prev()
		if cs := e.Value.(*cachedStmt); !cs.busy {
			cs.s.Close()
			sc.lru.Remove(e)
			delete(sc.m, cs.sql)
			sc.size -= len(cs.sql)
		}
		e = prev
	}
}

func (sc *stmtCache) closeAll() {
	for e := sc.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).s.Close()
	}
	sc.m = map[string]*list.Element{}
	sc.lru.Init()
	sc.size = 0
}
