package sqlite

import (
	"bytes"
	"os"
	"sync"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// Bounds of the read cache: values larger than maxCachedValue are always
// read from the database, and the cache starts over once it holds
// maxCacheBytes.
const (
	maxCachedValue = 64 << 10
	maxCacheBytes  = 16 << 20
)

// walIndexHeaderSize is the size of the first copy of the WAL-index header
// at the start of the -shm file. Every commit, by any connection of any
// process, rewrites it (its change counter, frame count and checksums
// change), so an unchanged header means an unchanged database.
const walIndexHeaderSize = 48

// readCache keeps entries Get read, for as long as the database does not
// change. Before each lookup it reads the WAL-index header from the -shm
// file (one pread, against a SQLite query) and empties itself when the
// header differs from the one its entries were read under, so a write is
// seen by every read that starts after the write returned, whichever
// process made it (`kiln kv key put --local` while `kiln dev` serves). The
// writer of this process also empties it after each commit, before the
// writes are answered.
type readCache struct {
	shm *os.File // the -shm file, read only

	mu      sync.Mutex
	hdr     [walIndexHeaderSize]byte // header the entries were read under
	gen     uint64                   // bumped whenever the entries are dropped
	bytes   int
	entries map[cacheKey]*kv.Entry // nil: the key did not exist
}

type cacheKey struct{ ns, key string }

// openReadCache opens the cache of the database at path; nil if its -shm
// file cannot be read (the store then reads every value from the database).
func openReadCache(path string) *readCache {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil
	}
	c := &readCache{shm: f, entries: map[cacheKey]*kv.Entry{}}
	if _, ok := c.header(); !ok {
		f.Close()
		return nil
	}
	return c
}

func (c *readCache) close() error { return c.shm.Close() }

func (c *readCache) header() (h [walIndexHeaderSize]byte, ok bool) {
	n, err := c.shm.ReadAt(h[:], 0)
	return h, err == nil && n == len(h)
}

// lookup returns a copy of the cached entry of key (nil entry: known
// missing) if the database has not changed since it was read and it has
// not expired at now. On a miss, gen is what put needs; ok is false when
// the header cannot be read (do not cache).
func (c *readCache) lookup(ns, key string, now time.Time) (entry *kv.Entry, hit bool, gen uint64, ok bool) {
	h, ok := c.header()
	if !ok {
		return nil, false, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h != c.hdr {
		c.dropLocked()
		c.hdr = h
	}
	e, found := c.entries[cacheKey{ns, key}]
	switch {
	case !found:
		return nil, false, c.gen, true
	case e == nil:
		return nil, true, c.gen, true
	case e.Expiration != 0 && now.Unix() >= e.Expiration:
		return nil, false, c.gen, true // expired since it was read: ask the database
	}
	return &kv.Entry{Value: bytes.Clone(e.Value), Metadata: bytes.Clone(e.Metadata), Expiration: e.Expiration}, true, c.gen, true
}

// put caches what a read that started at generation gen found, unless the
// entries were dropped since (the read may predate a write).
func (c *readCache) put(ns, key string, entry *kv.Entry, gen uint64) {
	size := len(ns) + len(key) + 64
	if entry != nil {
		if len(entry.Value) > maxCachedValue {
			return
		}
		size += len(entry.Value) + len(entry.Metadata)
		entry = &kv.Entry{Value: bytes.Clone(entry.Value), Metadata: bytes.Clone(entry.Metadata), Expiration: entry.Expiration}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.bytes+size > maxCacheBytes {
		c.dropLocked()
	}
	k := cacheKey{ns, key}
	if _, dup := c.entries[k]; !dup {
		c.bytes += size
	}
	c.entries[k] = entry
}

// committed drops the entries: the writer calls it after every commit,
// before the writes are answered.
func (c *readCache) committed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
}

func (c *readCache) dropLocked() {
	c.gen++
	if len(c.entries) > 0 {
		clear(c.entries)
	}
	c.bytes = 0
}
