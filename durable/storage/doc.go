// Package storage is the storage of one Durable Object: one SQLite
// database file per object, as Cloudflare's SQLite-backed objects have.
// It serves the KV API (get, put, delete, list, deleteAll), the SQL API
// (sql.exec, cursors, databaseSize) and the alarm, and knows nothing about
// JavaScript: values are opaque bytes (the structured-clone codec lives
// elsewhere) and failures are *Error values that carry the JavaScript
// error class and the platform's exact message.
//
// A *DB belongs to the object's event loop: one goroutine at a time.
// Only Durable may be called from any goroutine.
//
// # File layout (the byte-level contract)
//
// The file is an ordinary SQLite 3 database in WAL mode (page size 4096,
// the default), driven by github.com/ncruces/go-sqlite3. Next to it lives
// SQLite's "-wal" file while it is open (SQLite checkpoints it into the
// database and deletes it on Close). The connection uses the exclusive
// locking mode: one process owns an object's file from the first access
// to Close, a second opener is refused ("database is locked"), and the
// WAL index lives in memory (no "-shm" file). It holds:
//
//   - _cf_KV(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID: the KV API.
//     key is the key's UTF-8 bytes, compared with the BINARY collation
//     (memcmp), which is the order the platform lists keys in; value is
//     the encoded value, stored as given. Created by the first put.
//   - _cf_METADATA(key INTEGER PRIMARY KEY, value BLOB): row 1 is the
//     alarm, an INTEGER of nanoseconds since the Unix epoch, or NULL for
//     none (the API speaks milliseconds). Created by the first setAlarm.
//   - the user's own tables, indexes, views and triggers (SQL API).
//
// These are the names and shapes workerd uses (src/workerd/util/sqlite-kv
// and sqlite-metadata), so a file moves between workerd and kiln as long
// as the values use the same encoding. Names beginning with _cf_, in any
// case, are refused to user SQL.
//
// The file and its directories are created lazily: by the first write,
// transaction or Exec. Reads of an object without a file return nothing
// and databaseSize reports one page (4096). Close deletes a file left
// without data (no KV entry, no alarm, no table of the user), so objects
// that never stored anything leave nothing on disk; HasData answers the
// same question for listings ("objects with stored data").
//
// # Transactions
//
// The caller runs one implicit transaction per JavaScript turn. The first
// write of a turn (put, delete, deleteAll, setAlarm, deleteAlarm, a
// Savepoint, or an Exec statement that is not read-only according to
// sqlite3_stmt_readonly) runs BEGIN IMMEDIATE; reads before it are plain
// autocommit reads; Commit at the end of the turn commits and returns the
// commit's sequence number (1, 2, 3, ... from each Open; 0 when the turn
// wrote nothing);
// Rollback discards the turn (object reset). A write that changes nothing
// (setAlarm to the current time, delete of a missing key) writes nothing.
//
// Every KV and alarm call is atomic on its own: a multi-key put or delete
// and deleteAll run inside a savepoint, so a failure in the middle leaves
// none of their effects and the rest of the turn intact (a failing single
// statement is undone by SQLite's statement journal). An Exec of several
// statements is atomic statement by statement, as in workerd. Savepoint gives
// transaction() and transactionSync() their nesting scopes.
//
// Exec's cursors are lazy: rows are stepped as they are read. Commit first
// reads every open cursor to its end, keeping the rows in memory, so that
// COMMIT never meets a running statement.
//
// # Durability
//
// Commit does not wait for the disk. The connection runs with
// synchronous=NORMAL, under which SQLite's COMMIT only appends the
// transaction's pages ("frames") to the -wal file; it calls fsync only
// when checkpointing. Durable(seq) returns a channel that is closed once
// commit seq is on disk: a goroutine of the DB fsyncs the -wal file and
// then releases every commit that was written before that fsync began, so
// one fsync serves all the commits that piled up meanwhile (group commit)
// and the event loop never blocks on the disk. The object's output gate
// waits on this channel: a response leaves only once the writes made
// before it are durable.
//
// This gives the durability of synchronous=FULL, which differs from
// NORMAL only in fsyncing the -wal file at the end of every COMMIT, on
// the committing thread (https://sqlite.org/pragma.html#pragma_synchronous,
// https://sqlite.org/wal.html). Why the delayed fsync is as safe:
//
//   - Each WAL frame carries the salts of the WAL header and a running
//     checksum over the header and every frame before it; the last frame
//     of a transaction is a commit frame (it records the database size).
//     Recovery after a crash replays frames from the start while salts
//     and checksums hold and keeps everything up to the last valid commit
//     frame (https://sqlite.org/fileformat2.html#walformat). A commit is
//     therefore visible after a crash if and only if all of its frames,
//     and all frames before them, reached the disk.
//   - fsync of a file, through any descriptor, makes durable all data
//     written to it before the call. The frames of commit seq were written
//     (pwrite, no buffering in the VFS) before COMMIT returned, and the
//     barrier counts only commits whose COMMIT returned before its fsync
//     began. So when the channel closes, the commit and everything before
//     it are durable, exactly as if COMMIT had fsynced. A later commit's
//     frames, not yet synced, can be lost or torn by a crash; the
//     checksums make recovery stop before them, so a batch is never
//     partly present: atomicity is SQLite's, durability the barrier's.
//     (Like FULL, this assumes SQLite's default "powersafe overwrite":
//     writing a frame does not damage the synced bytes beside it.)
//   - Names must be durable too: a -wal file that is new (first commit,
//     or recreated after a clean close) needs its directory entry on
//     disk. Before its first fsync the barrier fsyncs the database file
//     and the directories (the database's and those Open created); it
//     does so again whenever the -wal file at the path is not the one it
//     holds open. The database file's first page matters: SQLite ignores
//     (and deletes) a WAL beside a database file of zero pages.
//   - A WAL that is empty when the connection opens gets its header from
//     the first commit. SQLite would fsync that header (and the new
//     file's directory) inside COMMIT, on the object's thread; the sync
//     guards a WAL restarted over old frames, and an empty one has none.
//     Such a connection runs synchronous=OFF until its first commit and
//     NORMAL from then on; the barrier fsyncs header, frames and
//     directory before the first acknowledgement.
//   - Checkpoints copy frames into the database file and later let a
//     writer restart the WAL from its beginning, overwriting old frames.
//     kiln disables automatic checkpoints (wal_autocheckpoint=0) and
//     checkpoints itself, PASSIVE, in Commit on the event loop once the
//     WAL holds CheckpointPages pages. Under synchronous=NORMAL SQLite
//     fsyncs the WAL before copying, fsyncs the database file after
//     copying and before it records the frames as backfilled, and a WAL
//     is only restarted once every frame is backfilled; the new WAL
//     header is fsynced before the first new frame is written (the
//     ff5be73dee fix: "the WAL file header is synchronized when a WAL file
//     begins to be reused after a checkpoint"). So a frame is only ever
//     overwritten after its content is durable in the database file, and
//     an acknowledged commit survives every checkpoint and restart. A
//     complete checkpoint also makes every commit so far durable, and
//     releases the barrier's waiters at once.
//   - The -wal file is kept up to 16 frames longer than what SQLite wrote
//     (walReserve: zeros past the file's end, written on the object's
//     thread), so that most fsyncs flush overwritten blocks instead of
//     an append's new size and blocks. Zeros are not valid frames: recovery
//     stops at the first frame whose salt and checksum do not match, as it
//     does over the old frames of a WAL it reuses.
//   - A failed fsync is sticky: the barrier reports the error to every
//     waiter, now and later, and the object must be reset (Linux may drop
//     the dirty pages of a failed write, so retrying proves nothing).
//
// With SyncNone (tests, benchmarks) the connection runs with
// synchronous=OFF and Durable resolves at once: commits survive a crash of
// the process (the data is in the OS), not of the machine.
//
// # SQL API
//
// Exec mirrors workerd's sql.exec: several statements in one call (every
// one but the last runs at once), bindings for the last, the statement
// stepped to its first row before Exec returns, a statement cache. User
// statements run under an authorizer that mirrors workerd's
// (src/workerd/util/sqlite.c++ isAuthorized, src/workerd/api/sql.c++):
// no transaction statements, no _cf_ names, no ATTACH nor temporary
// objects, an allowlist of pragmas and functions, fts5 as the only virtual
// table module; limits are set with sqlite3_limit as workerd sets them.
// Foreign keys are enforced (PRAGMA foreign_keys=ON). Errors read like
// workerd's: the SQLite message, " at offset N" when SQLite located the
// error, then ": " and the primary result code's name, as in
// "no such table: x: SQLITE_ERROR". kiln's own statements are trusted and
// bypass the authorizer.
package storage
