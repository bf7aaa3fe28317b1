package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindSearchesUpwardFromNestedDirectory(t *testing.T) {
	root := t.TempDir()
	want := writeFile(t, filepath.Join(root, "project", "wrangler.toml"), `name = "w"`)
	nested := filepath.Join(root, "project", "src", "deep")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(nested)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Find = %s, want %s", got, want)
	}
}

func TestFindPrefersTheNearestFileOfOneName(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "wrangler.toml"), "")
	want := writeFile(t, filepath.Join(root, "a", "wrangler.toml"), "")
	got, err := Find(filepath.Join(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Find = %s, want %s", got, want)
	}
}

func TestFindPrecedenceInOneDirectory(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"wrangler.json", "wrangler.jsonc", "wrangler.toml"}, "wrangler.json"},
		{[]string{"wrangler.json", "wrangler.toml"}, "wrangler.json"},
		{[]string{"wrangler.jsonc", "wrangler.toml"}, "wrangler.jsonc"},
		{[]string{"wrangler.json", "wrangler.jsonc"}, "wrangler.json"},
	} {
		t.Run(strings.Join(tc.files, "+"), func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				writeFile(t, filepath.Join(dir, f), "{}")
			}
			got, err := Find(dir)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(got) != tc.want {
				t.Fatalf("Find = %s, want %s", got, tc.want)
			}
		})
	}
}

// wrangler searches all the way up for wrangler.json before it looks for
// wrangler.jsonc, then wrangler.toml: a JSON file in a parent wins over a
// TOML file next to the working directory.
func TestFindPrecedenceAcrossDirectoriesFollowsWrangler(t *testing.T) {
	root := t.TempDir()
	want := writeFile(t, filepath.Join(root, "wrangler.json"), "{}")
	writeFile(t, filepath.Join(root, "foo", "wrangler.toml"), "")
	got, err := Find(filepath.Join(root, "foo"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Find = %s, want %s", got, want)
	}
}

func TestFindIgnoresDirectoriesNamedLikeConfigFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", "wrangler.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := writeFile(t, filepath.Join(root, "a", "wrangler.toml"), "")
	got, err := Find(filepath.Join(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Find = %s, want %s", got, want)
	}
}

func TestFindNotFound(t *testing.T) {
	dir := t.TempDir()
	_, err := Find(dir)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not say where it searched (%s)", err, dir)
	}
	if _, _, err := Load(LoadOptions{Dir: dir}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load err = %v, want ErrNotFound", err)
	}
}

func TestLoadConfigPathOverridesSearch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wrangler.toml"), `name = "searched"`)
	writeFile(t, filepath.Join(dir, "other", "custom.jsonc"), `{"name": "explicit", "main": "index.js"}`)

	cfg, _, err := Load(LoadOptions{Dir: dir, ConfigPath: "other/custom.jsonc"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "explicit" || cfg.Format != "jsonc" {
		t.Fatalf("got name %q format %q, want the --config file", cfg.Name, cfg.Format)
	}
	if want := filepath.Join(dir, "other", "custom.jsonc"); cfg.Path != want {
		t.Fatalf("Path = %s, want %s", cfg.Path, want)
	}
	if want := filepath.Join(dir, "other", "index.js"); cfg.Main != want {
		t.Fatalf("Main = %s, want %s (relative to the config file)", cfg.Main, want)
	}

	cfg, _, err = Load(LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "searched" {
		t.Fatalf("without --config got %q, want the searched file", cfg.Name)
	}
}

func TestLoadMissingConfigPath(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(LoadOptions{Dir: dir, ConfigPath: "nope.toml"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, "nope.toml")) {
		t.Fatalf("error %q does not name the file", err)
	}
}

func TestLoadResolvesMainAgainstConfigDirectory(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "wrangler.toml"), "name = \"w\"\nmain = \"src/index.ts\"\n")
	nested := filepath.Join(root, "src")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(LoadOptions{Dir: nested})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "src", "index.ts"); cfg.Main != want {
		t.Fatalf("Main = %s, want %s", cfg.Main, want)
	}
	if cfg.Dir != root || cfg.Format != "toml" {
		t.Fatalf("Dir = %s Format = %s", cfg.Dir, cfg.Format)
	}
}
