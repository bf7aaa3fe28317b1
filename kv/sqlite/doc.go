// Package sqlite is the embedded backend of Workers KV: one SQLite database
// file holds every namespace of a kiln process (or of several processes:
// `kiln dev` serving while `kiln kv key put --local` writes to the same
// file).
//
// # Layout
//
// The database runs in WAL mode with foreign keys on. Its schema version is
// PRAGMA user_version; Open creates the schema on first use and refuses a
// file written by a newer kiln. Namespaces are rows of `namespaces` (a
// surrogate integer seq, the 32-hex-digit id, a unique title); values are
// rows of `entries`, a WITHOUT ROWID table keyed by (ns, key) with keys
// stored as BLOBs, so the primary key orders them by their UTF-8 bytes as
// the platform lists them. The small columns (expiration, metadata) come
// before the value, so a listing never reads a value's overflow pages.
//
// # Durability and group commit
//
// Every write goes through one writer goroutine that owns the only write
// connection. It takes all the writes queued while the previous commit was
// syncing and applies them in one transaction (BEGIN IMMEDIATE ... COMMIT)
// with synchronous=FULL, so a batch costs one fsync of the WAL however many
// callers it serves. A caller is answered only after that commit returned:
// a nil error means the write is on disk. Writes are validated before they
// are queued; an operation that still fails inside a batch (a namespace
// deleted meanwhile, an I/O error) is answered with its error and the rest
// of the batch is applied again without it, so one bad write never takes
// the others down. A bulk put is one operation: all of it or nothing.
//
// Readers use a separate pool of query-only connections and never wait for
// the writer. Other processes on the same file take turns for the write
// lock through SQLite's busy timeout.
//
// # Read cache
//
// Get keeps what it read in memory (values up to 64 KiB, 16 MiB in all) for
// as long as the database is unchanged. Before each lookup it reads the
// WAL-index header at the start of the -shm file, which every commit of
// every connection rewrites, and drops its entries when the header changed;
// the writer of this process drops them too after each commit, before
// answering. So a read that starts after a write returned sees it, from
// this process or another: the cache only saves the SQLite query (a pread
// of 48 bytes instead). Expired entries are never served from it. A store
// whose -shm file cannot be read has no cache.
//
// # Expiry
//
// A key is expired once now >= its expiration (seconds since the epoch,
// from Options.Now). Reads compare with the clock at read time, so an
// expired key is never returned; a background goroutine deletes expired
// rows (Purge) every Options.PurgeInterval.
//
// # Driver
//
// The store speaks database/sql; the driver is github.com/ncruces/go-sqlite3
// (SQLite translated to Go, no cgo), the driver of the Durable Object
// storage too, whose Go VFS the cluster design needs. The benchmark in
// driverbench_test.go (build tag kvdriverbench) compares it with
// modernc.org/sqlite and the cgo github.com/mattn/go-sqlite3 on the store's
// own operations: per operation they are within about 2x of each other,
// while a durable commit is dominated by its fsync, which group commit
// shares.
//
// # Listing
//
// A listing is a key range (prefix <= key < successor(prefix)), never LIKE,
// so %, _ and \ in a prefix are literal. The cursor is the base64url of a
// version byte and the last key returned: a position, not a snapshot, so
// keys inserted after it show up on later pages. A cursor that does not
// decode gives an empty, complete page.
package sqlite
