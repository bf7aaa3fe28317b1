package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// schemaVersion is the PRAGMA user_version this package writes and reads.
const schemaVersion = 1

var schema = []string{
	`CREATE TABLE namespaces (
		seq        INTEGER PRIMARY KEY,
		id         TEXT NOT NULL UNIQUE,
		title      TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	)`,
	// Keys are BLOBs so that the primary key orders them by bytes (memcmp);
	// the small columns precede the value so that listing never reads it.
	`CREATE TABLE entries (
		ns         INTEGER NOT NULL REFERENCES namespaces(seq) ON DELETE CASCADE,
		key        BLOB NOT NULL,
		expiration INTEGER,
		metadata   TEXT,
		value      BLOB NOT NULL,
		PRIMARY KEY (ns, key)
	) WITHOUT ROWID`,
	`CREATE INDEX entries_expiration ON entries(expiration) WHERE expiration IS NOT NULL`,
}

// Options configure a Store. The zero value is usable.
type Options struct {
	// Now is the clock of expirations; default time.Now.
	Now func() time.Time
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process before failing; default 10 s.
	BusyTimeout time.Duration
	// PurgeInterval is the period of the background purge of expired keys;
	// default one minute; negative disables it.
	PurgeInterval time.Duration
	// MaxReaders is the number of read connections; default 4.
	MaxReaders int
	// MaxBatch bounds the operations of one group commit; default 1024.
	// 1 commits every write on its own (no group commit).
	MaxBatch int
	// MaxBatchBytes stops adding operations to a batch once their values
	// reach this size; default 64 MiB.
	MaxBatchBytes int

	// driver is the SQLite driver; zero means ncrucesDriver. Only the
	// driver benchmark sets it.
	driver sqlDriver
	// noReadCache turns the read cache off: the benchmarks that measure
	// the database read (and the drivers) set it.
	noReadCache bool
	// noSync turns fsync off (synchronous=OFF): never durable. Only the
	// driver benchmark sets it, to measure the cost of an operation apart
	// from the disk's.
	noSync bool
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = time.Minute
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = 4
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 64 << 20
	}
	if o.driver.connector == nil {
		o.driver = ncrucesDriver
	}
}

// Store is the SQLite implementation of kv.Store.
type Store struct {
	opts Options
	path string

	wdb   *sql.DB   // the single write connection's pool
	wconn *sql.Conn // pinned: owned by the writer goroutine
	rdb   *sql.DB   // query-only readers
	w     *writer
	cache *readCache // nil: every Get reads the database

	stmtGet      *sql.Stmt
	stmtNSSeq    *sql.Stmt
	stmtListHi   *sql.Stmt
	stmtListOpen *sql.Stmt

	stopPurge  context.CancelFunc
	purgeDone  chan struct{}
	closeOnce  sync.Once
	closeError error
}

var _ kv.Store = (*Store)(nil)

// Open opens (creating if needed) the KV database at path and starts its
// writer and its background purge; Close stops them.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts.setDefaults()
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("kv/sqlite: create directory of %s: %w", path, err)
		}
	}
	uri, err := fileURI(path)
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: %w", err)
	}
	busy := "PRAGMA busy_timeout = " + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)

	s := &Store{opts: opts, path: path}
	ok := false
	defer func() {
		if !ok {
			_ = s.closeDBs()
		}
	}()

	wc, err := opts.driver.connector(uri)
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}
	// FULL: the WAL is synced at every commit, so an acknowledged write
	// survives power loss, not only a crash of the process.
	syncMode := "PRAGMA synchronous = FULL"
	if opts.noSync {
		syncMode = "PRAGMA synchronous = OFF"
	}
	s.wdb = sql.OpenDB(&initConnector{inner: wc, stmts: []string{
		busy,
		"PRAGMA foreign_keys = ON",
		syncMode,
		// The WAL file is reused after a checkpoint and cut back to 64 MiB
		// when a large write made it bigger.
		"PRAGMA journal_size_limit = 67108864",
	}})
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}
	if err := s.setup(ctx); err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}

	rc, err := opts.driver.connector(uri)
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}
	s.rdb = sql.OpenDB(&initConnector{inner: rc, stmts: []string{busy, "PRAGMA query_only = ON"}})
	s.rdb.SetMaxOpenConns(opts.MaxReaders)
	s.rdb.SetMaxIdleConns(opts.MaxReaders)
	s.rdb.SetConnMaxIdleTime(0)
	if err := s.prepareReads(ctx); err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}

	var onCommit func()
	if !opts.noReadCache {
		if s.cache = openReadCache(path); s.cache != nil {
			onCommit = s.cache.committed
		}
	}
	if s.w, err = newWriter(ctx, s.wconn, opts.MaxBatch, opts.MaxBatchBytes, onCommit); err != nil {
		return nil, fmt.Errorf("kv/sqlite: open %s: %w", path, err)
	}
	go s.w.run()

	pctx, cancel := context.WithCancel(context.Background())
	s.stopPurge = cancel
	s.purgeDone = make(chan struct{})
	go s.purgeLoop(pctx)
	ok = true
	return s, nil
}

// setup switches the file to WAL and creates or checks the schema.
func (s *Store) setup(ctx context.Context) error {
	var mode string
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("set WAL mode: the database stays in %q mode", mode)
	}
	if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("lock for schema: %w", err)
	}
	err := s.migrate(ctx)
	if err != nil {
		_, _ = s.wconn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = s.wconn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this kiln supports (%d): upgrade kiln", v, schemaVersion)
	case v != 0:
		return fmt.Errorf("unknown schema version %d", v)
	}
	for _, q := range schema {
		if _, err := s.wconn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(schemaVersion)); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}

const (
	qGet = `SELECT e.ns IS NOT NULL, e.expiration, e.metadata, e.value
		FROM namespaces n LEFT JOIN entries e
		ON e.ns = n.seq AND e.key = ? AND (e.expiration IS NULL OR e.expiration > ?)
		WHERE n.id = ?`
	qNSSeq  = `SELECT seq FROM namespaces WHERE id = ?`
	qListHi = `SELECT key, expiration, metadata FROM entries
		WHERE ns = ? AND key >= ? AND key < ? AND (expiration IS NULL OR expiration > ?)
		ORDER BY key LIMIT ?`
	qListOpen = `SELECT key, expiration, metadata FROM entries
		WHERE ns = ? AND key >= ? AND (expiration IS NULL OR expiration > ?)
		ORDER BY key LIMIT ?`
)

func (s *Store) prepareReads(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.stmtGet, qGet}, {&s.stmtNSSeq, qNSSeq}, {&s.stmtListHi, qListHi}, {&s.stmtListOpen, qListOpen}} {
		st, err := s.rdb.PrepareContext(ctx, p.q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// Close stops the purge and the writer (after it has committed every write
// already queued) and closes the database. Operations after Close fail with
// kv.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopPurge()
		<-s.purgeDone
		s.w.close()
		s.closeError = s.closeDBs()
	})
	return s.closeError
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.stmtGet, s.stmtNSSeq, s.stmtListHi, s.stmtListOpen} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.w != nil {
		errs = append(errs, s.w.closeStmts())
	}
	if s.cache != nil {
		errs = append(errs, s.cache.close())
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kv/sqlite: close %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) now() time.Time { return s.opts.Now() }

// Purge deletes the expired keys of every namespace and returns how many it
// deleted. The background purge calls it; tests call it directly.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		now := s.now().Unix()
		err := s.w.submit(ctx, 0, func(tx *wtx) error {
			res, err := tx.w.purge.ExecContext(tx.ctx, now, purgeChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("kv/sqlite: purge: %w", err)
		}
		total += n
		if n < purgeChunk {
			return total, nil
		}
	}
}

// purgeChunk is the number of expired rows one purge transaction deletes, so
// that a purge never holds the writer for long.
const purgeChunk = 1000

func (s *Store) purgeLoop(ctx context.Context) {
	defer close(s.purgeDone)
	if s.opts.PurgeInterval < 0 {
		return
	}
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An error (disk full, lock timeout) is retried at the next tick;
			// expired keys stay invisible meanwhile.
			_, _ = s.Purge(ctx)
		}
	}
}
