package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kiln-dev/kiln/kv"
)

// Get returns the entry of key, or nil for a missing or expired key.
func (s *Store) Get(ctx context.Context, ns, key string) (*kv.Entry, error) {
	if err := kv.ValidateKey(kv.OpGet, key); err != nil {
		return nil, err
	}
	if s.cache == nil {
		return s.getFromDB(ctx, ns, key)
	}
	e, hit, gen, ok := s.cache.lookup(ns, key, s.now())
	if hit {
		return e, nil
	}
	e, err := s.getFromDB(ctx, ns, key)
	if err == nil && ok {
		s.cache.put(ns, key, e, gen)
	}
	return e, err
}

// GetCached is Get answered from the read cache only, without touching
// the database: ok is false if the cache cannot answer (a miss, the
// database changed, the cache is off, or the key is invalid; Get then
// reports why). It does not block.
func (s *Store) GetCached(ns, key string) (entry *kv.Entry, ok bool) {
	if s.cache == nil || kv.ValidateKey(kv.OpGet, key) != nil {
		return nil, false
	}
	e, hit, _, _ := s.cache.lookup(ns, key, s.now())
	return e, hit
}

// getFromDB is Get without the read cache.
func (s *Store) getFromDB(ctx context.Context, ns, key string) (*kv.Entry, error) {
	var (
		found bool
		exp   sql.NullInt64
		md    sql.NullString
		val   []byte
	)
	err := s.stmtGet.QueryRowContext(ctx, []byte(key), s.now().Unix(), ns).Scan(&found, &exp, &md, &val)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("kv/sqlite: get from namespace %s: %w", ns, kv.ErrNamespaceNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: get: %w", err)
	}
	if !found {
		return nil, nil
	}
	return newEntry(val, md, exp), nil
}

func newEntry(val []byte, md sql.NullString, exp sql.NullInt64) *kv.Entry {
	if val == nil {
		val = []byte{}
	}
	e := &kv.Entry{Value: val, Expiration: exp.Int64}
	if md.Valid {
		e.Metadata = json.RawMessage(md.String)
	}
	return e
}

// GetMany returns an entry, or nil, for every key asked for.
func (s *Store) GetMany(ctx context.Context, ns string, keys []string) (map[string]*kv.Entry, error) {
	if err := kv.ValidateGetMany(keys); err != nil {
		return nil, err
	}
	seq, err := s.nsSeq(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*kv.Entry, len(keys))
	args := make([]any, 0, len(keys)+2)
	args = append(args, seq, s.now().Unix())
	for _, k := range keys {
		if _, dup := out[k]; !dup {
			out[k] = nil
			args = append(args, []byte(k))
		}
	}
	q := `SELECT key, expiration, metadata, value FROM entries
		WHERE ns = ? AND (expiration IS NULL OR expiration > ?) AND key IN (?` +
		strings.Repeat(", ?", len(args)-3) + `)`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: get many: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k   []byte
			exp sql.NullInt64
			md  sql.NullString
			val []byte
		)
		if err := rows.Scan(&k, &exp, &md, &val); err != nil {
			return nil, fmt.Errorf("kv/sqlite: get many: %w", err)
		}
		out[string(k)] = newEntry(val, md, exp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kv/sqlite: get many: %w", err)
	}
	return out, nil
}

// nsSeq resolves a namespace id on a read connection.
func (s *Store) nsSeq(ctx context.Context, ns string) (int64, error) {
	var seq int64
	err := s.stmtNSSeq.QueryRowContext(ctx, ns).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("kv/sqlite: namespace %s: %w", ns, kv.ErrNamespaceNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("kv/sqlite: namespace %s: %w", ns, err)
	}
	return seq, nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullJSON(md json.RawMessage) any {
	if md == nil {
		return nil
	}
	return string(md)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Put writes key. It returns once the write is durable.
func (s *Store) Put(ctx context.Context, ns, key string, value []byte, opts kv.PutOptions) error {
	exp, md, err := kv.ValidatePut(s.now(), key, len(value), opts)
	if err != nil {
		return err
	}
	k, v, e, m := []byte(key), nonNil(value), nullInt(exp), nullJSON(md)
	err = s.w.submit(ctx, len(k)+len(v), func(tx *wtx) error {
		seq, err := tx.nsSeq(ns)
		if err != nil {
			return err
		}
		_, err = tx.w.put.ExecContext(tx.ctx, seq, k, e, m, v)
		return err
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: put into namespace %s: %w", ns, err)
	}
	return nil
}

// PutMany writes all items in one transaction: all or nothing. An invalid
// item gives a *kv.BulkItemError naming it, and nothing is written.
func (s *Store) PutMany(ctx context.Context, ns string, items []kv.BulkItem) error {
	vs, err := kv.ValidatePutMany(s.now(), items)
	if err != nil {
		return err
	}
	size := 0
	for i := range vs {
		vs[i].Value = nonNil(vs[i].Value)
		size += len(vs[i].Key) + len(vs[i].Value)
	}
	err = s.w.submit(ctx, size, func(tx *wtx) error {
		seq, err := tx.nsSeq(ns)
		if err != nil {
			return err
		}
		for _, it := range vs {
			if _, err := tx.w.put.ExecContext(tx.ctx, seq, []byte(it.Key), nullInt(it.Expiration), nullJSON(it.Metadata), it.Value); err != nil {
				return fmt.Errorf("key %q: %w", it.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: bulk put into namespace %s: %w", ns, err)
	}
	return nil
}

// Delete deletes key; a missing key is no error.
func (s *Store) Delete(ctx context.Context, ns, key string) error {
	if err := kv.ValidateKey(kv.OpDelete, key); err != nil {
		return err
	}
	k := []byte(key)
	err := s.w.submit(ctx, len(k), func(tx *wtx) error {
		seq, err := tx.nsSeq(ns)
		if err != nil {
			return err
		}
		_, err = tx.w.del.ExecContext(tx.ctx, seq, k)
		return err
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: delete from namespace %s: %w", ns, err)
	}
	return nil
}

// DeleteMany deletes keys in one transaction.
func (s *Store) DeleteMany(ctx context.Context, ns string, keys []string) error {
	if err := kv.ValidateDeleteMany(keys); err != nil {
		return err
	}
	err := s.w.submit(ctx, 0, func(tx *wtx) error {
		seq, err := tx.nsSeq(ns)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.w.del.ExecContext(tx.ctx, seq, []byte(k)); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: bulk delete from namespace %s: %w", ns, err)
	}
	return nil
}

// cursorVersion is the first byte of every cursor, so that a string that
// is not one of ours is recognised rather than read as a position.
const cursorVersion = 1

func encodeCursor(key []byte) string {
	b := make([]byte, 0, len(key)+1)
	b = append(b, cursorVersion)
	return base64.RawURLEncoding.EncodeToString(append(b, key...))
}

func decodeCursor(c string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != cursorVersion {
		return nil, false
	}
	return b[1:], true
}

// prefixEnd returns the smallest byte string greater than every string
// starting with prefix, or false when there is none (an empty prefix, or
// one of 0xFF bytes only).
func prefixEnd(prefix string) ([]byte, bool) {
	b := []byte(prefix)
	for len(b) > 0 {
		if last := len(b) - 1; b[last] < 0xFF {
			b[last]++
			return b, true
		}
		b = b[:len(b)-1]
	}
	return nil, false
}

// List returns a page of the keys starting with opts.Prefix, in byte order,
// after the position opts.Cursor.
func (s *Store) List(ctx context.Context, ns string, opts kv.ListOptions) (kv.ListResult, error) {
	limit, err := kv.ValidateListOptions(opts)
	if err != nil {
		return kv.ListResult{}, err
	}
	seq, err := s.nsSeq(ctx, ns)
	if err != nil {
		return kv.ListResult{}, err
	}
	empty := kv.ListResult{Keys: []kv.KeyInfo{}, ListComplete: true}
	lo := nonNil([]byte(opts.Prefix))
	if opts.Cursor != "" {
		after, ok := decodeCursor(opts.Cursor)
		if !ok {
			return empty, nil
		}
		// The least key greater than after is after+0x00.
		if next := append(after, 0); string(next) > string(lo) {
			lo = next
		}
	}
	now := s.now().Unix()
	var rows *sql.Rows
	if hi, ok := prefixEnd(opts.Prefix); ok {
		if string(lo) >= string(hi) {
			return empty, nil
		}
		rows, err = s.stmtListHi.QueryContext(ctx, seq, lo, hi, now, limit+1)
	} else {
		rows, err = s.stmtListOpen.QueryContext(ctx, seq, lo, now, limit+1)
	}
	if err != nil {
		return kv.ListResult{}, fmt.Errorf("kv/sqlite: list: %w", err)
	}
	defer rows.Close()
	res := kv.ListResult{Keys: make([]kv.KeyInfo, 0, min(limit, 64))}
	var last []byte
	more := false
	for rows.Next() {
		if len(res.Keys) == limit {
			more = true
			break
		}
		var (
			k   []byte
			exp sql.NullInt64
			md  sql.NullString
		)
		if err := rows.Scan(&k, &exp, &md); err != nil {
			return kv.ListResult{}, fmt.Errorf("kv/sqlite: list: %w", err)
		}
		ki := kv.KeyInfo{Name: string(k), Expiration: exp.Int64}
		if md.Valid {
			ki.Metadata = json.RawMessage(md.String)
		}
		res.Keys = append(res.Keys, ki)
		last = k
	}
	if err := rows.Err(); err != nil {
		return kv.ListResult{}, fmt.Errorf("kv/sqlite: list: %w", err)
	}
	if more {
		res.Cursor = encodeCursor(last)
	} else {
		res.ListComplete = true
	}
	return res, nil
}
