package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kiln-dev/kiln/kv"
)

// CreateNamespace creates a namespace with a fresh id. A title already in
// use gives kv.ErrNamespaceExists.
func (s *Store) CreateNamespace(ctx context.Context, title string) (kv.Namespace, error) {
	title, err := kv.ValidateTitle(title)
	if err != nil {
		return kv.Namespace{}, err
	}
	ns := kv.Namespace{ID: kv.NewNamespaceID(), Title: title}
	err = s.w.submit(ctx, 0, func(tx *wtx) error { return tx.insertNamespace(ns, s.now().Unix()) })
	if err != nil {
		return kv.Namespace{}, fmt.Errorf("kv/sqlite: create namespace %q: %w", title, err)
	}
	return ns, nil
}

// EnsureNamespace returns the namespace with id, creating it with title if
// it does not exist.
func (s *Store) EnsureNamespace(ctx context.Context, id, title string) (kv.Namespace, error) {
	if id == "" {
		return kv.Namespace{}, errors.New("kv/sqlite: ensure namespace: the id is empty")
	}
	if ns, err := s.GetNamespace(ctx, id); err == nil || !errors.Is(err, kv.ErrNamespaceNotFound) {
		return ns, err
	}
	title, err := kv.ValidateTitle(title)
	if err != nil {
		return kv.Namespace{}, err
	}
	var ns kv.Namespace
	err = s.w.submit(ctx, 0, func(tx *wtx) error {
		// Another process may have created it since the read above.
		err := tx.w.conn.QueryRowContext(tx.ctx, `SELECT id, title FROM namespaces WHERE id = ?`, id).Scan(&ns.ID, &ns.Title)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		ns = kv.Namespace{ID: id, Title: title}
		return tx.insertNamespace(ns, s.now().Unix())
	})
	if err != nil {
		return kv.Namespace{}, fmt.Errorf("kv/sqlite: ensure namespace %s: %w", id, err)
	}
	return ns, nil
}

func (tx *wtx) insertNamespace(ns kv.Namespace, now int64) error {
	if err := tx.titleFree(ns.Title, ""); err != nil {
		return err
	}
	_, err := tx.exec(`INSERT INTO namespaces (id, title, created_at) VALUES (?, ?, ?)`, ns.ID, ns.Title, now)
	return err
}

// titleFree fails with kv.ErrNamespaceExists if a namespace other than
// except has title.
func (tx *wtx) titleFree(title, except string) error {
	var id string
	err := tx.w.conn.QueryRowContext(tx.ctx, `SELECT id FROM namespaces WHERE title = ?`, title).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case id == except:
		return nil
	}
	return noWrite{fmt.Errorf("title %q: %w", title, kv.ErrNamespaceExists)}
}

// ListNamespaces returns every namespace, ordered by title.
func (s *Store) ListNamespaces(ctx context.Context) ([]kv.Namespace, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, title FROM namespaces ORDER BY title`)
	if err != nil {
		return nil, fmt.Errorf("kv/sqlite: list namespaces: %w", err)
	}
	defer rows.Close()
	out := []kv.Namespace{}
	for rows.Next() {
		var ns kv.Namespace
		if err := rows.Scan(&ns.ID, &ns.Title); err != nil {
			return nil, fmt.Errorf("kv/sqlite: list namespaces: %w", err)
		}
		out = append(out, ns)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kv/sqlite: list namespaces: %w", err)
	}
	return out, nil
}

// GetNamespace returns the namespace with id, or kv.ErrNamespaceNotFound.
func (s *Store) GetNamespace(ctx context.Context, id string) (kv.Namespace, error) {
	var ns kv.Namespace
	err := s.rdb.QueryRowContext(ctx, `SELECT id, title FROM namespaces WHERE id = ?`, id).Scan(&ns.ID, &ns.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return kv.Namespace{}, fmt.Errorf("kv/sqlite: namespace %s: %w", id, kv.ErrNamespaceNotFound)
	}
	if err != nil {
		return kv.Namespace{}, fmt.Errorf("kv/sqlite: get namespace %s: %w", id, err)
	}
	return ns, nil
}

// RenameNamespace gives the namespace id a new title.
func (s *Store) RenameNamespace(ctx context.Context, id, title string) error {
	title, err := kv.ValidateTitle(title)
	if err != nil {
		return err
	}
	err = s.w.submit(ctx, 0, func(tx *wtx) error {
		if _, err := tx.nsSeq(id); err != nil {
			return err
		}
		if err := tx.titleFree(title, id); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE namespaces SET title = ? WHERE id = ?`, title, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: rename namespace %s: %w", id, err)
	}
	return nil
}

// DeleteNamespace deletes the namespace id and all its keys.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	err := s.w.submit(ctx, 0, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM namespaces WHERE id = ?`, id) // entries: ON DELETE CASCADE
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return noWrite{kv.ErrNamespaceNotFound}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kv/sqlite: delete namespace %s: %w", id, err)
	}
	return nil
}
