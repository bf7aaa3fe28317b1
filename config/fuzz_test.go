package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse in every format. Parse must never
// panic, and must return either a Config or an error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specTOML), "staging")
	f.Add([]byte(specJSONC), "staging")
	f.Add([]byte(envTOML), "bare")
	f.Add([]byte(`{"env": {"a": 1}, "vars": [], "routes": [{"pattern": 1}]}`), "a")
	f.Add([]byte("[[migrations]]\nrenamed_classes = [1, {from = 2}]\n"), "")
	seeds, _ := filepath.Glob(filepath.Join("testdata", "seeds", "*.*"))
	for _, path := range seeds {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data, "production")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		for _, name := range []string{"wrangler.toml", "wrangler.json", "wrangler.jsonc"} {
			cfg, _, err := Parse("/fuzz/"+name, data, env)
			if (cfg == nil) == (err == nil) {
				t.Fatalf("%s: cfg %v err %v: want exactly one", name, cfg, err)
			}
			if err != nil {
				_ = err.Error()
			}
		}
	})
}
