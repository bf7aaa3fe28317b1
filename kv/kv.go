package kv

import (
	"context"
	"encoding/json"
	"errors"
)

// Limits of the platform (spec/platform.md §6).
const (
	MaxKeyBytes        = 512
	MaxValueBytes      = 25 << 20 // 26,214,400
	MaxMetadataBytes   = 1024
	MinExpirationTTL   = 60 // seconds
	MaxListLimit       = 1000
	MaxBulkGetKeys     = 100
	MaxBulkWriteItems  = 10000
	MinCacheTTLSeconds = 30
)

// Namespace is a KV namespace: a 32-hex-digit id and a title unique in the
// account.
type Namespace struct {
	ID    string
	Title string
}

// Entry is a stored value. Metadata is nil when none was set; Expiration is
// seconds since the Unix epoch, 0 for none.
type Entry struct {
	Value      []byte
	Metadata   json.RawMessage
	Expiration int64
}

// KeyInfo is one key of a listing.
type KeyInfo struct {
	Name       string
	Expiration int64
	Metadata   json.RawMessage
}

// ListOptions select a page of keys. Limit 0 means MaxListLimit.
type ListOptions struct {
	Prefix string
	Limit  int
	Cursor string
}

// ListResult is a page of keys in UTF-8 byte order. Cursor is set only when
// ListComplete is false.
type ListResult struct {
	Keys         []KeyInfo
	ListComplete bool
	Cursor       string
}

// PutOptions are the options of a write. Expiration is absolute (seconds
// since the epoch); ExpirationTTL is relative and wins when both are set.
// A non-zero value counts as set; ExpirationSet and ExpirationTTLSet mark a
// zero that the caller was given explicitly (the platform rejects
// expirationTtl: 0 rather than ignoring it).
type PutOptions struct {
	Expiration       int64
	ExpirationTTL    int64
	ExpirationSet    bool
	ExpirationTTLSet bool
	Metadata         json.RawMessage
}

// BulkItem is one write of a bulk put.
type BulkItem struct {
	Key   string
	Value []byte
	PutOptions
}

// Store is a KV backend. Every method is safe for concurrent use. A write
// that returned nil is durable.
type Store interface {
	CreateNamespace(ctx context.Context, title string) (Namespace, error)
	// EnsureNamespace returns the namespace with id, creating it with title
	// if it does not exist (kiln dev creates configured namespaces on first
	// use).
	EnsureNamespace(ctx context.Context, id, title string) (Namespace, error)
	ListNamespaces(ctx context.Context) ([]Namespace, error)
	GetNamespace(ctx context.Context, id string) (Namespace, error)
	RenameNamespace(ctx context.Context, id, title string) error
	DeleteNamespace(ctx context.Context, id string) error

	// Get returns nil, nil for a missing or expired key.
	Get(ctx context.Context, ns, key string) (*Entry, error)
	// GetMany returns an entry (or nil) for every key asked for.
	GetMany(ctx context.Context, ns string, keys []string) (map[string]*Entry, error)
	Put(ctx context.Context, ns, key string, value []byte, opts PutOptions) error
	// PutMany writes all items atomically.
	PutMany(ctx context.Context, ns string, items []BulkItem) error
	// Delete succeeds for a missing key.
	Delete(ctx context.Context, ns, key string) error
	DeleteMany(ctx context.Context, ns string, keys []string) error
	List(ctx context.Context, ns string, opts ListOptions) (ListResult, error)
	Close() error
}

// EnsureBound makes sure the namespace a configuration binds exists, for
// local development where namespaces are created on first use. The title is
// preferred if free, else it is suffixed with the id to stay unique.
func EnsureBound(ctx context.Context, s Store, id, title string) (Namespace, error) {
	ns, err := s.EnsureNamespace(ctx, id, title)
	if errors.Is(err, ErrNamespaceExists) {
		return s.EnsureNamespace(ctx, id, title+"-"+id)
	}
	return ns, err
}
