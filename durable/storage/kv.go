package storage

import (
	"slices"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// Entry is a key and its value. Values are opaque bytes here (the
// structured-clone encoding is the caller's business).
type Entry struct {
	Key   string
	Value []byte
}

// The KV API lives in the table
//
//	_cf_KV(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID
//
// created on the first put. Keys compare as bytes (BINARY collation), which
// for UTF-8 is code point order: the order the platform lists keys in.
const (
	sqlCreateKV = "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID"
	sqlGet      = "SELECT value FROM _cf_KV WHERE key = ?"
	sqlPut      = "INSERT INTO _cf_KV VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"
	sqlDelete   = "DELETE FROM _cf_KV WHERE key = ?"
	sqlCountKV  = "SELECT count(*) FROM _cf_KV"
	sqlDeleteKV = "DELETE FROM _cf_KV"
)

func (db *DB) checkKey(key string) error {
	if !db.opts.SQL && len(key) > maxKeyBytes {
		return errKeyTooLarge(len(key))
	}
	return nil
}

// checkValue applies the KV-backed path's value limit to the serialized
// value: 128 KiB advertised, 34 bytes of slack for the serializer's
// header and tags (workerd ActorStorageLimits). SQLite-backed objects are
// limited only by SQLite's LIMIT_LENGTH on the row (4 MiB).
func (db *DB) checkValue(v []byte) error {
	if !db.opts.SQL && len(v) > enforcedMaxValue {
		return errValueTooLarge(len(v))
	}
	return nil
}

func checkCount(n int) error {
	if n > maxKeysPerCall {
		return errTooManyKeys(n)
	}
	return nil
}

// kvReadable reports whether there is a KV table to read from.
func (db *DB) kvReadable() (bool, error) {
	if db.closed {
		return false, errClosed()
	}
	if db.conn == nil {
		return false, nil
	}
	return db.tableExists(&db.kvTable, "_cf_KV")
}

// kvWritable opens the turn's transaction and creates the KV table if
// needed.
func (db *DB) kvWritable() error {
	if err := db.beginWrite(); err != nil {
		return err
	}
	if db.kvTable == tablePresent {
		return nil
	}
	if err := db.exec(sqlCreateKV); err != nil {
		return db.lostTransaction(internal("create _cf_KV", err))
	}
	db.kvTable = tablePresent
	return nil
}

// Get returns the value of key, and whether it exists.
func (db *DB) Get(key string) (value []byte, ok bool, err error) {
	defer catch(&err)
	if err := db.checkKey(key); err != nil {
		return nil, false, err
	}
	if readable, err := db.kvReadable(); err != nil || !readable {
		return nil, false, err
	}
	return db.get(key)
}

func (db *DB) get(key string) (value []byte, ok bool, err error) {
	ok, err = db.queryRow(sqlGet, func(s *sqlite3.Stmt) { value = s.ColumnBlob(0, []byte{}) }, key)
	if err != nil {
		return nil, false, sqliteError(err, "")
	}
	return value, ok, nil
}

// GetMany returns the entries of the keys that exist, sorted by key
// (UTF-8 byte order); missing keys are left out. At most 128 keys.
func (db *DB) GetMany(keys []string) (entries []Entry, err error) {
	defer catch(&err)
	if err := checkCount(len(keys)); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := db.checkKey(k); err != nil {
			return nil, err
		}
	}
	if readable, err := db.kvReadable(); err != nil || !readable {
		return nil, err
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for _, k := range sorted {
		v, ok, err := db.get(k)
		if err != nil {
			return nil, err
		}
		if ok {
			entries = append(entries, Entry{k, v})
		}
	}
	return entries, nil
}

// Put stores value under key, in the turn's transaction.
func (db *DB) Put(key string, value []byte) (err error) {
	defer catch(&err)
	if err := db.checkKey(key); err != nil {
		return err
	}
	if err := db.checkValue(value); err != nil {
		return err
	}
	if err := db.kvWritable(); err != nil {
		return err
	}
	if err := db.exec(sqlPut, key, value); err != nil {
		return db.lostTransaction(sqliteError(err, ""))
	}
	db.wrote = true
	return nil
}

// PutMany stores up to 128 entries: all of them, or (on error) none.
// Entries are applied in order, so of two with the same key the later
// wins.
func (db *DB) PutMany(entries []Entry) (err error) {
	defer catch(&err)
	if err := checkCount(len(entries)); err != nil {
		return err
	}
	for _, e := range entries {
		if err := db.checkKey(e.Key); err != nil {
			return err
		}
		if err := db.checkValue(e.Value); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if err := db.kvWritable(); err != nil {
		return err
	}
	err = db.atomically(func() error {
		for _, e := range entries {
			if err := db.exec(sqlPut, e.Key, e.Value); err != nil {
				return sqliteError(err, "")
			}
		}
		return nil
	})
	if err == nil {
		db.wrote = true
	}
	return err
}

// Delete deletes key and reports whether it existed.
func (db *DB) Delete(key string) (existed bool, err error) {
	defer catch(&err)
	if err := db.checkKey(key); err != nil {
		return false, err
	}
	if readable, err := db.kvReadable(); err != nil || !readable {
		return false, err // nothing stored: nothing to write either
	}
	n, err := db.deleteKeys([]string{key})
	return n > 0, err
}

// DeleteMany deletes up to 128 keys and returns how many existed. On
// error none is deleted.
func (db *DB) DeleteMany(keys []string) (n int, err error) {
	defer catch(&err)
	if err := checkCount(len(keys)); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := db.checkKey(k); err != nil {
			return 0, err
		}
	}
	if readable, err := db.kvReadable(); err != nil || !readable || len(keys) == 0 {
		return 0, err
	}
	return db.deleteKeys(keys)
}

func (db *DB) deleteKeys(keys []string) (n int, err error) {
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	del := func() error {
		for _, k := range keys {
			if err := db.exec(sqlDelete, k); err != nil {
				return sqliteError(err, "")
			}
			n += int(db.conn.Changes())
		}
		return nil
	}
	if len(keys) == 1 {
		err = del()
		if err != nil {
			err = db.lostTransaction(err)
		}
	} else {
		err = db.atomically(del)
	}
	if err != nil {
		return 0, err
	}
	if n > 0 {
		db.wrote = true
	}
	return n, nil
}

// DeleteAll deletes every KV entry and, as on SQLite-backed objects, every
// table, view, index and trigger of the SQL API, atomically within the
// turn's transaction. It returns the number of KV entries deleted. Whether
// the alarm goes too depends on the compatibility date
// (delete_all_deletes_alarm, from 2026-02-24): deleteAlarm says.
func (db *DB) DeleteAll(deleteAlarm bool) (n int, err error) {
	defer catch(&err)
	if db.closed {
		return 0, errClosed()
	}
	if db.conn == nil {
		return 0, nil // nothing was ever stored
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	for c := range db.cursors {
		c.materialize() // a running statement would keep its table from being dropped
	}
	hasKV, err := db.kvReadable()
	if err != nil {
		return 0, err
	}
	if hasKV {
		if _, err := db.queryRow(sqlCountKV, func(s *sqlite3.Stmt) { n = int(s.ColumnInt64(0)) }); err != nil {
			return 0, db.lostTransaction(internal("count KV entries", err))
		}
	}
	dropped := 0
	err = db.atomically(func() error {
		if n > 0 {
			if err := db.exec(sqlDeleteKV); err != nil {
				return internal("delete KV entries", err)
			}
		}
		if deleteAlarm {
			if err := db.writeAlarm(0, false); err != nil { // writes only if one is set
				return err
			}
		}
		var err error
		dropped, err = db.dropUserObjects()
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 || dropped > 0 {
		db.wrote = true
	}
	return n, nil
}

// dropUserObjects drops the user's tables and views (their indexes and
// triggers go with them). Foreign keys are deferred meanwhile, and a DROP
// that an ON DELETE RESTRICT key refuses is retried once the tables that
// reference it are gone.
func (db *DB) dropUserObjects() (dropped int, err error) {
	objs, err := db.userObjects()
	if err != nil || len(objs) == 0 {
		return 0, err
	}
	for _, o := range objs {
		if isVirtual(o) {
			if err := db.ensureFTS5(); err != nil { // to drop full-text tables
				return 0, err
			}
			break
		}
	}
	var deferred int64
	if _, err := db.queryRow("PRAGMA defer_foreign_keys", func(s *sqlite3.Stmt) { deferred = s.ColumnInt64(0) }); err != nil {
		return 0, internal("read defer_foreign_keys", err)
	}
	if err := db.conn.Exec("PRAGMA defer_foreign_keys=ON"); err != nil {
		return 0, internal("defer foreign keys", err)
	}
	for {
		objs, err := db.userObjects()
		if err != nil {
			return dropped, err
		}
		objs = slices.DeleteFunc(objs, func(o schemaObject) bool { return o.typ != "table" && o.typ != "view" })
		if len(objs) == 0 {
			break
		}
		rank := func(o schemaObject) int {
			switch {
			case isVirtual(o):
				return 0 // drops its shadow tables with it
			case o.typ == "view":
				return 1
			}
			return 2
		}
		slices.SortStableFunc(objs, func(a, b schemaObject) int { return rank(a) - rank(b) })
		var lastErr error
		progress := false
		for _, o := range objs {
			q := "DROP " + strings.ToUpper(o.typ) + " IF EXISTS " + quoteIdent(o.name)
			if err := db.conn.Exec(q); err != nil {
				lastErr = sqliteError(err, "")
				continue
			}
			progress = true
			dropped++
		}
		if !progress {
			return dropped, lastErr
		}
	}
	if found, err := db.queryRow("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'", func(*sqlite3.Stmt) {}); err != nil {
		return dropped, internal("read schema", err)
	} else if found {
		if err := db.conn.Exec("DELETE FROM sqlite_sequence"); err != nil {
			return dropped, internal("reset AUTOINCREMENT", err)
		}
	}
	if deferred == 0 {
		if err := db.conn.Exec("PRAGMA defer_foreign_keys=OFF"); err != nil {
			return dropped, internal("restore defer_foreign_keys", err)
		}
	}
	return dropped, nil
}

func isVirtual(o schemaObject) bool {
	f := strings.Fields(o.sql[:min(len(o.sql), 64)])
	return o.typ == "table" && len(f) >= 2 && strings.EqualFold(f[0], "CREATE") && strings.EqualFold(f[1], "VIRTUAL")
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ListOptions select the keys of a list. Nil fields are not given.
type ListOptions struct {
	Start      *string // first key, inclusive
	StartAfter *string // keys after this one (exclusive); not with Start
	End        *string // keys before this one (exclusive)
	Prefix     *string // keys beginning with this
	// Reverse lists in descending order; Start and End keep their
	// meaning, and with Limit the last keys of the range come back.
	Reverse bool
	Limit   *int // at most this many (must be positive)
}

// keyRange is start <= key < end (no end when hasEnd is false).
type keyRange struct {
	start  string
	end    string
	hasEnd bool
}

// compileList turns list options into a key range, as workerd's
// DurableObjectStorageOperations::list does; empty reports a range no key
// can be in (nothing needs to be read).
func compileList(o ListOptions) (r keyRange, empty bool, err error) {
	if o.Start != nil && o.StartAfter != nil {
		return r, false, newError(ClassTypeError, ErrListOptions, msgStartAndStartAfter)
	}
	if o.Limit != nil && *o.Limit <= 0 {
		return r, false, newError(ClassTypeError, ErrListOptions, msgListLimit)
	}
	if o.Start != nil {
		r.start = *o.Start
	}
	if o.StartAfter != nil {
		// The first key after s is s + "\x00": an inclusive bound.
		r.start = *o.StartAfter + "\x00"
	}
	if o.End != nil {
		r.end, r.hasEnd = *o.End, true
	}
	if o.Prefix != nil && *o.Prefix != "" {
		p := *o.Prefix
		switch {
		case r.start < p:
			r.start = p
		case strings.HasPrefix(r.start, p):
		default:
			return r, true, nil // start is past every key with the prefix
		}
		after, ok := prefixEnd(p)
		switch {
		case !r.hasEnd:
			if ok {
				r.end, r.hasEnd = after, true
			}
		case r.end <= p:
			return r, true, nil
		case strings.HasPrefix(r.end, p):
		case ok:
			r.end = after
		}
	}
	if r.hasEnd && r.end <= r.start {
		return r, true, nil
	}
	return r, false, nil
}

// prefixEnd is the first key after every key beginning with p; false if
// there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false
	}
	b[len(b)-1]++
	return string(b), true
}

// List returns the entries in a key range, in key order (descending with
// Reverse). An empty range returns nothing without reading.
func (db *DB) List(o ListOptions) (entries []Entry, err error) {
	defer catch(&err)
	r, empty, err := compileList(o)
	if err != nil || empty {
		return nil, err
	}
	if readable, err := db.kvReadable(); err != nil || !readable {
		return nil, err
	}
	q := "SELECT key, value FROM _cf_KV WHERE key >= ?"
	args := []any{r.start}
	if r.hasEnd {
		q += " AND key < ?"
		args = append(args, r.end)
	}
	q += " ORDER BY key"
	if o.Reverse {
		q += " DESC"
	}
	if o.Limit != nil {
		q += " LIMIT ?"
		args = append(args, int64(*o.Limit))
	}
	s, err := db.stmt(q)
	if err != nil {
		return nil, internal("list", err)
	}
	defer func() {
		s.Reset()
		s.ClearBindings()
	}()
	if err := bindAll(s, args); err != nil {
		return nil, sqliteError(err, "")
	}
	db.listQueries++
	for s.Step() {
		entries = append(entries, Entry{s.ColumnText(0), s.ColumnBlob(1, []byte{})})
	}
	if err := s.Err(); err != nil {
		return nil, sqliteError(err, "")
	}
	return entries, nil
}
