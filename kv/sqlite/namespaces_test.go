package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/kiln-dev/kiln/kv"
)

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "kv.sqlite"), Options{PurgeInterval: -1})

	b, err := s.CreateNamespace(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(b.ID) || b.Title != "beta" {
		t.Fatalf("created %+v", b)
	}
	if _, err := s.CreateNamespace(ctx, "beta"); !errors.Is(err, kv.ErrNamespaceExists) {
		t.Fatalf("duplicate title: %v", err)
	}
	if _, err := s.CreateNamespace(ctx, " "); !errors.Is(err, kv.ErrInvalidTitle) {
		t.Fatalf("blank title: %v", err)
	}
	a, err := s.EnsureNamespace(ctx, "local-id", "alpha")
	if err != nil || a != (kv.Namespace{ID: "local-id", Title: "alpha"}) {
		t.Fatalf("ensure = %+v, %v", a, err)
	}
	// Ensure again: the existing namespace, title unchanged.
	if again, err := s.EnsureNamespace(ctx, "local-id", "other"); err != nil || again != a {
		t.Fatalf("ensure again = %+v, %v", again, err)
	}
	if _, err := s.EnsureNamespace(ctx, "new-id", "beta"); !errors.Is(err, kv.ErrNamespaceExists) {
		t.Fatalf("ensure with a title in use: %v", err)
	}
	list, err := s.ListNamespaces(ctx)
	if err != nil || !slices.Equal(list, []kv.Namespace{a, b}) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if got, err := s.GetNamespace(ctx, b.ID); err != nil || got != b {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := s.GetNamespace(ctx, "nope"); !errors.Is(err, kv.ErrNamespaceNotFound) {
		t.Fatalf("get missing: %v", err)
	}

	if err := s.RenameNamespace(ctx, b.ID, "alpha"); !errors.Is(err, kv.ErrNamespaceExists) {
		t.Fatalf("rename onto a title in use: %v", err)
	}
	if err := s.RenameNamespace(ctx, b.ID, "beta"); err != nil {
		t.Fatalf("rename to its own title: %v", err)
	}
	if err := s.RenameNamespace(ctx, b.ID, "gamma"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameNamespace(ctx, "nope", "delta"); !errors.Is(err, kv.ErrNamespaceNotFound) {
		t.Fatalf("rename missing: %v", err)
	}
	if got, _ := s.GetNamespace(ctx, b.ID); got.Title != "gamma" {
		t.Fatalf("after rename: %+v", got)
	}
	// The old title is free again.
	if _, err := s.CreateNamespace(ctx, "beta"); err != nil {
		t.Fatal(err)
	}

	// Delete takes the keys with it; a namespace of the same id starts empty.
	if err := s.Put(ctx, a.ID, "k", []byte("v"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNamespace(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNamespace(ctx, a.ID); !errors.Is(err, kv.ErrNamespaceNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	var rows int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM entries`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("entries left after delete: %d, %v", rows, err)
	}
	if _, err := s.EnsureNamespace(ctx, a.ID, "alpha"); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, a.ID, "k"); err != nil || e != nil {
		t.Fatalf("recreated namespace: %+v, %v", e, err)
	}
	if _, err := s.EnsureNamespace(ctx, "", "x"); err == nil {
		t.Fatal("ensure with an empty id succeeded")
	}
}
