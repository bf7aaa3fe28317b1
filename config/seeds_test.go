package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func loadSeed(t *testing.T, name, env string) (*Config, []Warning) {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "seeds", name))
	if err != nil {
		t.Fatal(err)
	}
	ext := filepath.Ext(name)
	writeFile(t, filepath.Join(dir, "wrangler"+ext), string(data))
	cfg, warnings, err := Load(LoadOptions{Dir: dir, Env: env})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg, warnings
}

func TestSeedConfigsLoad(t *testing.T) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, path := range seeds {
		if filepath.Ext(path) == ".md" {
			continue
		}
		count++
		cfg, _ := loadSeed(t, filepath.Base(path), "")
		if cfg.Name == "" || len(cfg.KVNamespaces) == 0 {
			t.Errorf("%s: name %q kv %v", path, cfg.Name, cfg.KVNamespaces)
		}
	}
	if count != 5 {
		t.Fatalf("found %d seed configs, want 5", count)
	}
}

// Seed 000 shows the same configuration as wrangler.jsonc and wrangler.toml,
// "$schema" included in both.
func TestSeed000FormsAgree(t *testing.T) {
	fromJSONC, jw := loadSeed(t, "000-kv-from-do.jsonc", "")
	fromTOML, tw := loadSeed(t, "000-kv-from-do.toml", "")
	a, b := comparable(fromJSONC), comparable(fromTOML)
	a.Dir, b.Dir, a.Main, b.Main = "", "", filepath.Base(a.Main), filepath.Base(b.Main)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("forms differ:\n jsonc %+v\n toml  %+v", a, b)
	}
	if !reflect.DeepEqual(fromTOML.DurableObjects, []DurableObjectBinding{{Name: "YOUR_DO_CLASS", ClassName: "YourDurableObject"}}) {
		t.Fatalf("durable objects %+v", fromTOML.DurableObjects)
	}
	// The page configures a Durable Object without migrations: wrangler's
	// advice is the only warning.
	for _, w := range append(jw, tw...) {
		if !strings.Contains(w.Message, "but no `migrations` for them") {
			t.Errorf("unexpected warning %q", w)
		}
	}
	if len(jw) != 1 || len(tw) != 1 {
		t.Fatalf("warnings %q / %q", jw, tw)
	}
}

func TestSeed001DurableObjectsTableWithBindingsArray(t *testing.T) {
	cfg, _ := loadSeed(t, "001-kv-from-do-old.toml", "")
	if !reflect.DeepEqual(cfg.DurableObjects, []DurableObjectBinding{{Name: "YOUR_DO_CLASS", ClassName: "YourDurableObject"}}) {
		t.Fatalf("durable objects %+v", cfg.DurableObjects)
	}
	if !reflect.DeepEqual(cfg.KVNamespaces, []KVNamespace{{Binding: "YOUR_KV_NAMESPACE", ID: "<id_of_your_namespace>"}}) {
		t.Fatalf("kv %+v", cfg.KVNamespaces)
	}
}

func TestSeed004LegacyKeysOnlyWarn(t *testing.T) {
	cfg, warnings := loadSeed(t, "004-kv-environments.toml", "production")
	if cfg.Name != "my-worker-production" || cfg.AccountID != "<account id here>" {
		t.Fatalf("name %q account %q", cfg.Name, cfg.AccountID)
	}
	if !reflect.DeepEqual(cfg.KVNamespaces, []KVNamespace{{Binding: "MY_KV", ID: "07bc1f3d1f2a4fd8a45a7e026e2681c6"}}) {
		t.Fatalf("kv %+v", cfg.KVNamespaces)
	}
	if !reflect.DeepEqual(cfg.Routes, []string{"*"}) {
		t.Fatalf("routes %v", cfg.Routes)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0].Message, `Unexpected fields found in top-level field: "type"`) {
		t.Fatalf("warnings %q", warnings)
	}

	top, _ := loadSeed(t, "004-kv-environments.toml", "")
	if top.KVNamespaces[0].ID != "06779da6940b431db6e566b4846d64db" {
		t.Fatalf("top-level kv %+v", top.KVNamespaces)
	}
}
