package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse in every format. Parse must never
// panic, must return either a Config or an error with a message, and must
// be deterministic: the same input gives the same Config, warnings and error.
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
			cfg, warnings, err := Parse("/fuzz/"+name, data, env)
			if (cfg == nil) == (err == nil) {
				t.Fatalf("%s: cfg %v err %v: want exactly one", name, cfg, err)
			}
			if err != nil && err.Error() == "" {
				t.Fatalf("%s: an error without a message", name)
			}
			cfg2, warnings2, err2 := Parse("/fuzz/"+name, data, env)
			// Compared as Go syntax: a TOML nan in vars is not DeepEqual to itself.
			if a, b := fmt.Sprintf("%#v %#v %v", cfg, warnings, err), fmt.Sprintf("%#v %#v %v", cfg2, warnings2, err2); a != b {
				t.Fatalf("%s: two parses differ:\n%s\n%s", name, a, b)
			}
		}
	})
}
