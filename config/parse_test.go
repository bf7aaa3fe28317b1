package config

import (
	"reflect"
	"strings"
	"testing"
)

// The two forms of spec/platform.md §8.
const specTOML = `name = "my-worker"
main = "src/index.ts"
compatibility_date = "2025-01-01"
[vars]
GREETING = "hi"
[[kv_namespaces]]
binding = "KV"
id = "<32-hex id>"
preview_id = "<id>"
[[durable_objects.bindings]]
name = "MY_DO"
class_name = "MyDO"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["MyDO"]
[env.staging]
vars = { GREETING = "staging" }
kv_namespaces = [{ binding = "KV", id = "<id>" }]
durable_objects = { bindings = [{ name = "MY_DO", class_name = "MyDO" }] }
`

const specJSONC = `{
  "name": "my-worker", "main": "src/index.ts", "compatibility_date": "2025-01-01",
  "vars": { "GREETING": "hi" },
  "kv_namespaces": [{ "binding": "KV", "id": "<32-hex id>", "preview_id": "<id>" }],
  "durable_objects": { "bindings": [{ "name": "MY_DO", "class_name": "MyDO" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["MyDO"] }],
  "env": { "staging": { "vars": { "GREETING": "staging" },
    "kv_namespaces": [{ "binding": "KV", "id": "<id>" }],
    "durable_objects": { "bindings": [{ "name": "MY_DO", "class_name": "MyDO" }] } } }
}
`

func mustParse(t *testing.T, path, src, env string) (*Config, []Warning) {
	t.Helper()
	cfg, warnings, err := Parse(path, []byte(src), env)
	if err != nil {
		t.Fatalf("Parse(%s, env %q): %v", path, env, err)
	}
	return cfg, warnings
}

// comparable drops the fields that name the file.
func comparable(c *Config) Config {
	out := *c
	out.Path, out.Format = "", ""
	return out
}

func TestTOMLAndJSONCFormsAreEquivalent(t *testing.T) {
	for _, env := range []string{"", "staging"} {
		fromTOML, tw := mustParse(t, "/w/wrangler.toml", specTOML, env)
		fromJSONC, jw := mustParse(t, "/w/wrangler.jsonc", specJSONC, env)
		if !reflect.DeepEqual(comparable(fromTOML), comparable(fromJSONC)) {
			t.Fatalf("env %q: TOML and JSONC differ:\n toml:  %+v\n jsonc: %+v", env, comparable(fromTOML), comparable(fromJSONC))
		}
		if len(tw) != 0 || len(jw) != 0 {
			t.Fatalf("env %q: unexpected warnings: %v / %v", env, tw, jw)
		}
	}
	top, _ := mustParse(t, "/w/wrangler.toml", specTOML, "")
	want := Config{
		Dir: "/w", Name: "my-worker", Main: "/w/src/index.ts", CompatibilityDate: "2025-01-01",
		CompatibilityFlags: []string{},
		Vars:               []Var{{Name: "GREETING", Value: "hi"}},
		KVNamespaces:       []KVNamespace{{Binding: "KV", ID: "<32-hex id>", PreviewID: "<id>"}},
		DurableObjects:     []DurableObjectBinding{{Name: "MY_DO", ClassName: "MyDO"}},
		Migrations:         []Migration{{Tag: "v1", NewSQLiteClasses: []string{"MyDO"}}},
		Environments:       []string{"staging"},
	}
	if got := comparable(top); !reflect.DeepEqual(got, want) {
		t.Fatalf("top level:\n got  %+v\n want %+v", got, want)
	}
	staging, _ := mustParse(t, "/w/wrangler.toml", specTOML, "staging")
	if staging.Name != "my-worker-staging" || staging.EnvName != "staging" {
		t.Fatalf("staging name %q env %q", staging.Name, staging.EnvName)
	}
	if !reflect.DeepEqual(staging.Vars, []Var{{Name: "GREETING", Value: "staging"}}) {
		t.Fatalf("staging vars %+v", staging.Vars)
	}
	if !reflect.DeepEqual(staging.KVNamespaces, []KVNamespace{{Binding: "KV", ID: "<id>"}}) {
		t.Fatalf("staging kv %+v", staging.KVNamespaces)
	}
	if !reflect.DeepEqual(staging.Migrations, top.Migrations) {
		t.Fatalf("migrations are inheritable: got %+v", staging.Migrations)
	}
}

func TestCommentsAndTrailingCommasInJSONAndJSONC(t *testing.T) {
	src := `// leading comment
{
  "$schema": "./node_modules/wrangler/config-schema.json",
  /* block
     comment */
  "name": "w", // trailing comment
  "compatibility_flags": ["nodejs_compat",],
  "vars": { "A": "1", },
}
`
	for _, path := range []string{"/w/wrangler.json", "/w/wrangler.jsonc"} {
		cfg, warnings := mustParse(t, path, src, "")
		if cfg.Name != "w" || !reflect.DeepEqual(cfg.CompatibilityFlags, []string{"nodejs_compat"}) {
			t.Fatalf("%s: got %+v", path, cfg)
		}
		if len(warnings) != 0 {
			t.Fatalf("%s: $schema must not warn, got %v", path, warnings)
		}
	}
}

func TestUTF8ByteOrderMarkIsAccepted(t *testing.T) {
	cfg, _ := mustParse(t, "/w/wrangler.toml", "\xef\xbb\xbfname = \"w\"\n", "")
	if cfg.Name != "w" {
		t.Fatalf("name %q", cfg.Name)
	}
	_, _, err := Parse("/w/wrangler.json", []byte("\xff\xfe{}"), "")
	if err == nil || !strings.Contains(err.Error(), "Configuration file contains UTF-16 LE byte order marker") {
		t.Fatalf("err = %v", err)
	}
}

func TestVarsKeepFileOrderAndJSONValues(t *testing.T) {
	toml := `[vars]
ZED = "z"
ALPHA = "a"
NUM = 42
FLAG = true
OBJ = { nested = [1, "two"] }
`
	jsonc := `{"vars": {"ZED": "z", "ALPHA": "a", "NUM": 42, "FLAG": true, "OBJ": {"nested": [1, "two"]}}}`
	want := []Var{
		{Name: "ZED", Value: "z"},
		{Name: "ALPHA", Value: "a"},
		{Name: "NUM", Value: float64(42)},
		{Name: "FLAG", Value: true},
		{Name: "OBJ", Value: map[string]any{"nested": []any{float64(1), "two"}}},
	}
	for path, src := range map[string]string{"/w/wrangler.toml": toml, "/w/wrangler.jsonc": jsonc} {
		cfg, _ := mustParse(t, path, src, "")
		if !reflect.DeepEqual(cfg.Vars, want) {
			t.Fatalf("%s: vars\n got  %#v\n want %#v", path, cfg.Vars, want)
		}
	}
}

const envTOML = `name = "app"
main = "src/index.ts"
compatibility_date = "2025-01-01"
compatibility_flags = ["nodejs_compat"]
account_id = "acc"
routes = ["example.com/*"]
[limits]
cpu_ms = 50
[vars]
A = "top"
B = "top"
[[kv_namespaces]]
binding = "KV"
id = "top-id"
[[r2_buckets]]
binding = "R2"
bucket_name = "bucket"
[[migrations]]
tag = "v1"
new_classes = ["Counter"]

[env.bare]

[env.custom]
name = "custom-name"
main = "other.ts"
compatibility_date = "2025-06-01"
limits = { cpu_ms = 100 }
vars = { A = "custom" }
kv_namespaces = [{ binding = "KV", id = "custom-id" }]
routes = []
`

func TestEnvironmentInheritsInheritableKeys(t *testing.T) {
	cfg, _ := mustParse(t, "/w/wrangler.toml", envTOML, "bare")
	if cfg.Name != "app-bare" {
		t.Fatalf("name %q, want app-bare", cfg.Name)
	}
	if cfg.Main != "/w/src/index.ts" || cfg.CompatibilityDate != "2025-01-01" || cfg.AccountID != "acc" {
		t.Fatalf("inherited main %q date %q account %q", cfg.Main, cfg.CompatibilityDate, cfg.AccountID)
	}
	if !reflect.DeepEqual(cfg.CompatibilityFlags, []string{"nodejs_compat"}) || cfg.Limits.CPUMs != 50 {
		t.Fatalf("inherited flags %v limits %+v", cfg.CompatibilityFlags, cfg.Limits)
	}
	if !reflect.DeepEqual(cfg.Routes, []string{"example.com/*"}) {
		t.Fatalf("inherited routes %v", cfg.Routes)
	}
	if len(cfg.Migrations) != 1 || cfg.Migrations[0].Tag != "v1" {
		t.Fatalf("inherited migrations %+v", cfg.Migrations)
	}
}

func TestEnvironmentDoesNotInheritBindings(t *testing.T) {
	cfg, warnings := mustParse(t, "/w/wrangler.toml", envTOML, "bare")
	if len(cfg.Vars) != 0 || len(cfg.KVNamespaces) != 0 {
		t.Fatalf("bindings leaked into env.bare: vars %v kv %v", cfg.Vars, cfg.KVNamespaces)
	}
	if cfg.Vars == nil || cfg.KVNamespaces == nil || cfg.DurableObjects == nil {
		t.Fatal("empty defaults must be empty slices, not nil")
	}
	for _, field := range []string{"vars", "kv_namespaces", "r2_buckets"} {
		want := Warning{Path: "/w/wrangler.toml", Message: `"` + field + `" exists at the top level, but not on "env.bare".` + "\n" +
			`This is not what you probably want, since "` + field + `" is not inherited by environments.` + "\n" +
			`Please add "` + field + `" to "env.bare".`}
		if !containsWarning(warnings, want) {
			t.Errorf("missing warning %q in %v", want.Message, warnings)
		}
	}
	if got := warnings[0].String(); !strings.HasPrefix(got, "/w/wrangler.toml: ") {
		t.Errorf("Warning.String() = %q, want file: message", got)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	cfg, warnings := mustParse(t, "/w/wrangler.toml", envTOML, "custom")
	if cfg.Name != "custom-name" {
		t.Fatalf("name %q: an explicit env name is used as is", cfg.Name)
	}
	if cfg.Main != "/w/other.ts" || cfg.CompatibilityDate != "2025-06-01" || cfg.Limits.CPUMs != 100 {
		t.Fatalf("overrides: main %q date %q limits %+v", cfg.Main, cfg.CompatibilityDate, cfg.Limits)
	}
	if !reflect.DeepEqual(cfg.Vars, []Var{{Name: "A", Value: "custom"}}) {
		t.Fatalf("vars %+v", cfg.Vars)
	}
	if !reflect.DeepEqual(cfg.KVNamespaces, []KVNamespace{{Binding: "KV", ID: "custom-id"}}) {
		t.Fatalf("kv %+v", cfg.KVNamespaces)
	}
	if len(cfg.Routes) != 0 {
		t.Fatalf("routes = [] must stop inheritance, got %v", cfg.Routes)
	}
	wantVars := "The following vars exist at the top level, but not on \"env.custom.vars\".\n" +
		"This is probably not what you want, since \"vars\" configuration is not inherited by environments.\n" +
		"Please add these vars to \"env.custom.vars\":\n- B"
	if !containsWarning(warnings, Warning{Path: "/w/wrangler.toml", Message: wantVars}) {
		t.Fatalf("missing per-var warning in %v", warnings)
	}
}

func TestTopLevelIsUnaffectedByEnvironments(t *testing.T) {
	cfg, warnings := mustParse(t, "/w/wrangler.toml", envTOML, "")
	if cfg.Name != "app" || cfg.EnvName != "" || len(cfg.Vars) != 2 {
		t.Fatalf("top level %+v", cfg)
	}
	if len(warnings) != 0 {
		t.Fatalf("no warnings expected, got %v", warnings)
	}
	if !reflect.DeepEqual(cfg.Environments, []string{"bare", "custom"}) {
		t.Fatalf("environments %v", cfg.Environments)
	}
}

func TestMissingEnvironmentWithOtherEnvironmentsIsAnError(t *testing.T) {
	_, _, err := Parse("/w/wrangler.toml", []byte(envTOML), "prod")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		`No environment found in configuration with name "prod".`,
		"Before using `--env=prod` there should be an equivalent environment section in the configuration.",
		`The available configured environment names are: ["bare","custom"]`,
		"Consider adding an environment configuration section to the wrangler.toml file:",
		"[env.prod]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestMissingEnvironmentWithoutEnvironmentsWarns(t *testing.T) {
	cfg, warnings := mustParse(t, "/w/wrangler.jsonc", `{"name": "app", "vars": {"A": "1"}}`, "prod")
	if cfg.Name != "app-prod" || cfg.EnvName != "prod" {
		t.Fatalf("name %q env %q", cfg.Name, cfg.EnvName)
	}
	if len(cfg.Vars) != 1 {
		t.Fatalf("bindings of the top level are kept, got %v", cfg.Vars)
	}
	want := "No environment found in configuration with name \"prod\".\n" +
		"Before using `--env=prod` there should be an equivalent environment section in the configuration.\n\n" +
		"Consider adding an environment configuration section to the wrangler.jsonc file:\n```\n[env.prod]\n```"
	if !containsWarning(warnings, Warning{Path: "/w/wrangler.jsonc", Message: want}) {
		t.Fatalf("warnings %q", warnings)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	src := `type = "webpack"
name = "w"
zzz = 1
[env.staging]
keep_vars = true
bogus = "x"
`
	cfg, warnings := mustParse(t, "/w/wrangler.toml", src, "staging")
	if cfg.Name != "w-staging" {
		t.Fatalf("name %q", cfg.Name)
	}
	for _, want := range []string{
		`Unexpected fields found in top-level field: "type","zzz"`,
		`Unexpected fields found in env.staging field: "keep_vars","bogus"`,
	} {
		found := false
		for _, w := range warnings {
			found = found || strings.HasPrefix(w.Message, want+"\n")
		}
		if !found {
			t.Errorf("no warning starting with %q in %q", want, warnings)
		}
	}
}

func TestUnknownKeysInBindingsWarn(t *testing.T) {
	src := `{
  "kv_namespaces": [{"binding": "KV", "id": "x", "extra": 1}],
  "durable_objects": {"bindings": [{"name": "D", "class_name": "C", "other": true}]},
  "migrations": [{"tag": "v1", "new_classes": ["C"], "sqlite_classes": ["C"]}]
}`
	_, warnings := mustParse(t, "/w/wrangler.json", src, "")
	for _, want := range []string{
		`Unexpected fields found in kv_namespaces[0] field: "extra"`,
		`Unexpected fields found in durable_objects.bindings[0] field: "other"`,
		`Unexpected fields found in migrations field: "sqlite_classes"`,
	} {
		found := false
		for _, w := range warnings {
			found = found || strings.HasPrefix(w.Message, want)
		}
		if !found {
			t.Errorf("no warning %q in %q", want, warnings)
		}
	}
}

func TestDurableObjectsWithoutMigrationsWarn(t *testing.T) {
	_, warnings := mustParse(t, "/w/wrangler.toml", "[[durable_objects.bindings]]\nname = \"D\"\nclass_name = \"Counter\"\n", "")
	want := "In your wrangler.toml file, you have configured `durable_objects` exported by this Worker (Counter), but no `migrations` for them."
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0].Message, want) ||
		!strings.Contains(warnings[0].Message, "[[migrations]]\ntag = \"v1\"\nnew_classes = [ \"Counter\" ]") {
		t.Fatalf("warnings %q", warnings)
	}
	_, warnings = mustParse(t, "/w/wrangler.toml",
		"[[durable_objects.bindings]]\nname = \"D\"\nclass_name = \"Counter\"\nscript_name = \"other\"\n", "")
	if len(warnings) != 0 {
		t.Fatalf("a class of another script needs no migration, got %q", warnings)
	}
}

func TestRoutesAndRoute(t *testing.T) {
	cfg, _ := mustParse(t, "/w/wrangler.jsonc",
		`{"routes": ["a.com/*", {"pattern": "b.com", "custom_domain": true}, {"pattern": "c.com/*", "zone_name": "c.com"}]}`, "")
	if !reflect.DeepEqual(cfg.Routes, []string{"a.com/*", "b.com", "c.com/*"}) {
		t.Fatalf("routes %v", cfg.Routes)
	}
	cfg, _ = mustParse(t, "/w/wrangler.toml", `route = { pattern = "d.com/*", zone_id = "z" }`, "")
	if !reflect.DeepEqual(cfg.Routes, []string{"d.com/*"}) {
		t.Fatalf("route %v", cfg.Routes)
	}
}

func TestInheritedCustomDomainWarns(t *testing.T) {
	src := `{"routes": [{"pattern": "b.com", "custom_domain": true}], "env": {"dev": {}}}`
	cfg, warnings := mustParse(t, "/w/wrangler.json", src, "dev")
	if !reflect.DeepEqual(cfg.Routes, []string{"b.com"}) {
		t.Fatalf("routes %v", cfg.Routes)
	}
	want := "The \"env.dev\" environment inherits the top-level `routes` configuration, which includes the custom domain(s): b.com."
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0].Message, want) {
		t.Fatalf("warnings %q", warnings)
	}
}

func TestEmptyAccountIDAndRouteAreIgnoredWithWarnings(t *testing.T) {
	cfg, warnings := mustParse(t, "/w/wrangler.toml", "account_id = \"\"\nroute = \"\"\n", "")
	if cfg.AccountID != "" || len(cfg.Routes) != 0 {
		t.Fatalf("cfg %+v", cfg)
	}
	if len(warnings) != 2 ||
		!strings.HasPrefix(warnings[0].Message, `The "route" field in your configuration is an empty string and will be ignored.`) ||
		!strings.HasPrefix(warnings[1].Message, `The "account_id" field in your configuration is an empty string and will be ignored.`) {
		t.Fatalf("warnings %q", warnings)
	}
}

func TestMigrationsAreParsed(t *testing.T) {
	src := `[[migrations]]
tag = "v1"
new_classes = ["A"]
[[migrations]]
tag = "v2"
renamed_classes = [{ from = "A", to = "B" }]
deleted_classes = ["C"]
transferred_classes = [{ from = "X", from_script = "other", to = "Y" }]
`
	cfg, _ := mustParse(t, "/w/wrangler.toml", src, "")
	want := []Migration{
		{Tag: "v1", NewClasses: []string{"A"}},
		{Tag: "v2", DeletedClasses: []string{"C"},
			RenamedClasses:     []RenamedClass{{From: "A", To: "B"}},
			TransferredClasses: []TransferredClass{{From: "X", FromScript: "other", To: "Y"}}},
	}
	if !reflect.DeepEqual(cfg.Migrations, want) {
		t.Fatalf("migrations\n got  %+v\n want %+v", cfg.Migrations, want)
	}
}

func containsWarning(warnings []Warning, want Warning) bool {
	for _, w := range warnings {
		if w == want {
			return true
		}
	}
	return false
}
