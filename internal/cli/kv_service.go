package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kiln-dev/kiln/kv"
	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
)

// kvService is what the kv commands need from where KV data lives. The local
// implementation works on kiln's embedded store, the file `kiln dev` serves
// from; the remote one (kv_remote.go) is an HTTP client of a kiln server's
// Cloudflare v4 API (/accounts/{a}/storage/kv/...), chosen by --remote.
//
// Errors use the kv package's sentinels (kv.ErrNamespaceNotFound,
// kv.ErrNamespaceExists) and *kv.Error for rejected operations, so that the
// commands print the same texts whichever implementation answered.
type kvService interface {
	CreateNamespace(ctx context.Context, title string) (kv.Namespace, error)
	// ListNamespaces returns every namespace ordered by title.
	ListNamespaces(ctx context.Context) ([]kv.Namespace, error)
	RenameNamespace(ctx context.Context, id, title string) (kv.Namespace, error)
	DeleteNamespace(ctx context.Context, id string) error

	PutValue(ctx context.Context, ns kvNamespaceRef, key string, value []byte, opts kv.PutOptions) error
	// GetValue returns found false for a missing or expired key.
	GetValue(ctx context.Context, ns kvNamespaceRef, key string) (value []byte, found bool, err error)
	// ListKeys returns every key starting with prefix, following cursors.
	ListKeys(ctx context.Context, ns kvNamespaceRef, prefix string) ([]kv.KeyInfo, error)
	DeleteValue(ctx context.Context, ns kvNamespaceRef, key string) error
	// PutBulk writes items; progress is called with the number written so
	// far after each batch.
	PutBulk(ctx context.Context, ns kvNamespaceRef, items []kv.BulkItem, progress func(done int)) error
	DeleteBulk(ctx context.Context, ns kvNamespaceRef, keys []string, progress func(done int)) error
	// GetBulk returns an entry, or nil, for every key.
	GetBulk(ctx context.Context, ns kvNamespaceRef, keys []string) (map[string]*kv.Entry, error)

	Close() error
}

// kvNamespaceRef names the namespace a key operation works on. Title is
// used only by the local store, which creates a namespace on first write
// (as `kiln dev` does for the namespaces a configuration binds).
type kvNamespaceRef struct {
	ID    string
	Title string
}

// localKVService is kvService on a kv.Store.
type localKVService struct {
	store kv.Store
}

var _ kvService = (*localKVService)(nil)

// openLocalKV opens the store at path. The CLI is short-lived, so it does
// not run the background purge of expired keys (reads never return them).
func openLocalKV(ctx context.Context, path string) (*localKVService, error) {
	store, err := kvsqlite.Open(ctx, path, kvsqlite.Options{PurgeInterval: -1})
	if err != nil {
		return nil, fmt.Errorf("opening the local KV store: %w", err)
	}
	return &localKVService{store: store}, nil
}

func (l *localKVService) Close() error { return l.store.Close() }

func (l *localKVService) CreateNamespace(ctx context.Context, title string) (kv.Namespace, error) {
	return l.store.CreateNamespace(ctx, title)
}

func (l *localKVService) ListNamespaces(ctx context.Context) ([]kv.Namespace, error) {
	return l.store.ListNamespaces(ctx)
}

func (l *localKVService) RenameNamespace(ctx context.Context, id, title string) (kv.Namespace, error) {
	if err := l.store.RenameNamespace(ctx, id, title); err != nil {
		return kv.Namespace{}, err
	}
	return l.store.GetNamespace(ctx, id)
}

func (l *localKVService) DeleteNamespace(ctx context.Context, id string) error {
	return l.store.DeleteNamespace(ctx, id)
}

// ensure creates the namespace if it does not exist yet, as `kiln dev`
// does.
func (l *localKVService) ensure(ctx context.Context, ns kvNamespaceRef) error {
	title := ns.Title
	if title == "" {
		title = ns.ID
	}
	if _, err := kv.EnsureBound(ctx, l.store, ns.ID, title); err != nil {
		return fmt.Errorf("creating the local namespace %s: %w", ns.ID, err)
	}
	return nil
}

func (l *localKVService) PutValue(ctx context.Context, ns kvNamespaceRef, key string, value []byte, opts kv.PutOptions) error {
	// Check before creating the namespace, so that a rejected put leaves
	// nothing behind.
	if _, _, err := kv.ValidatePut(time.Now(), key, len(value), opts); err != nil {
		return err
	}
	if err := l.ensure(ctx, ns); err != nil {
		return err
	}
	return l.store.Put(ctx, ns.ID, key, value, opts)
}

// A read or delete on a namespace that was never written is answered as on
// an empty one, without creating it.

func (l *localKVService) GetValue(ctx context.Context, ns kvNamespaceRef, key string) ([]byte, bool, error) {
	e, err := l.store.Get(ctx, ns.ID, key)
	if errors.Is(err, kv.ErrNamespaceNotFound) {
		return nil, false, nil
	}
	if err != nil || e == nil {
		return nil, false, err
	}
	return e.Value, true, nil
}

func (l *localKVService) ListKeys(ctx context.Context, ns kvNamespaceRef, prefix string) ([]kv.KeyInfo, error) {
	keys := []kv.KeyInfo{}
	cursor := ""
	for {
		page, err := l.store.List(ctx, ns.ID, kv.ListOptions{Prefix: prefix, Cursor: cursor})
		if errors.Is(err, kv.ErrNamespaceNotFound) {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, page.Keys...)
		if page.ListComplete || page.Cursor == "" {
			return keys, nil
		}
		cursor = page.Cursor
	}
}

func (l *localKVService) DeleteValue(ctx context.Context, ns kvNamespaceRef, key string) error {
	err := l.store.Delete(ctx, ns.ID, key)
	if errors.Is(err, kv.ErrNamespaceNotFound) {
		return nil
	}
	return err
}

// PutBulk validates every item before it writes any, then writes them in
// batches of kv.MaxBulkWriteItems, each one transaction; a file of up to
// that many items is written all or nothing.
func (l *localKVService) PutBulk(ctx context.Context, ns kvNamespaceRef, items []kv.BulkItem, progress func(done int)) error {
	now := time.Now()
	for start := 0; start < len(items); start += kv.MaxBulkWriteItems {
		batch := items[start:min(start+kv.MaxBulkWriteItems, len(items))]
		if _, err := kv.ValidatePutMany(now, batch); err != nil {
			return offsetBulkItemError(err, start)
		}
	}
	progress(0)
	if len(items) == 0 {
		return nil
	}
	if err := l.ensure(ctx, ns); err != nil {
		return err
	}
	for start := 0; start < len(items); start += kv.MaxBulkWriteItems {
		end := min(start+kv.MaxBulkWriteItems, len(items))
		if err := l.store.PutMany(ctx, ns.ID, items[start:end]); err != nil {
			return offsetBulkItemError(err, start)
		}
		progress(end)
	}
	return nil
}

// DeleteBulk deletes keys the same way PutBulk writes.
func (l *localKVService) DeleteBulk(ctx context.Context, ns kvNamespaceRef, keys []string, progress func(done int)) error {
	for start := 0; start < len(keys); start += kv.MaxBulkWriteItems {
		if err := kv.ValidateDeleteMany(keys[start:min(start+kv.MaxBulkWriteItems, len(keys))]); err != nil {
			return offsetBulkItemError(err, start)
		}
	}
	progress(0)
	for start := 0; start < len(keys); start += kv.MaxBulkWriteItems {
		end := min(start+kv.MaxBulkWriteItems, len(keys))
		err := l.store.DeleteMany(ctx, ns.ID, keys[start:end])
		if errors.Is(err, kv.ErrNamespaceNotFound) {
			err = nil // nothing to delete in a namespace never written
		}
		if err != nil {
			return offsetBulkItemError(err, start)
		}
		progress(end)
	}
	return nil
}

// GetBulk reads keys in batches of kv.MaxBulkGetKeys.
func (l *localKVService) GetBulk(ctx context.Context, ns kvNamespaceRef, keys []string) (map[string]*kv.Entry, error) {
	out := make(map[string]*kv.Entry, len(keys))
	for start := 0; start < len(keys); start += kv.MaxBulkGetKeys {
		batch := keys[start:min(start+kv.MaxBulkGetKeys, len(keys))]
		entries, err := l.store.GetMany(ctx, ns.ID, batch)
		if errors.Is(err, kv.ErrNamespaceNotFound) {
			for _, k := range batch {
				out[k] = nil
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		for k, e := range entries {
			out[k] = e
		}
	}
	return out, nil
}

// offsetBulkItemError makes the index of a *kv.BulkItemError count from the
// start of the whole file rather than of its batch.
func offsetBulkItemError(err error, offset int) error {
	var item *kv.BulkItemError
	if offset == 0 || !errors.As(err, &item) {
		return err
	}
	shifted := *item
	shifted.Index += offset
	return &shifted
}
