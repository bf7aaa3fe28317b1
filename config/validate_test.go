package config

import (
	"errors"
	"strings"
	"testing"
)

// parseError parses src expecting a validation error, and returns it.
func parseError(t *testing.T, path, src, env string) *ValidationError {
	t.Helper()
	cfg, _, err := Parse(path, []byte(src), env)
	if err == nil {
		t.Fatalf("Parse succeeded with %+v, want an error", cfg)
	}
	if cfg != nil {
		t.Fatal("a failed Parse must not return a Config")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err is %T, want *ValidationError", err)
	}
	return verr
}

func TestValidationMessages(t *testing.T) {
	for _, tc := range []struct {
		name, path, src, env, want string
	}{
		{"name type", "wrangler.toml", `name = 42`, "",
			`Expected "name" to be of type string, alphanumeric and lowercase with dashes only but got 42.`},
		{"name characters", "wrangler.json", `{"name": "My.Worker"}`, "",
			`Expected "name" to be of type string, alphanumeric and lowercase with dashes only but got "My.Worker".`},
		{"main", "wrangler.json", `{"main": ["x"]}`, "",
			`Expected "main" to be of type string but got ["x"].`},
		{"compatibility_date format", "wrangler.toml", `compatibility_date = "2025-13-01"`, "",
			`"compatibility_date" field should be a valid ISO-8601 date (YYYY-MM-DD), but got "2025-13-01".`},
		{"compatibility_date en dash", "wrangler.toml", `compatibility_date = "2025–01–01"`, "",
			`"compatibility_date" field should use ISO-8601 accepted hyphens (-) rather than en-dashes (–) or em-dashes (—).`},
		{"compatibility_date TOML date", "wrangler.toml", `compatibility_date = 2025-01-01`, "",
			`Expected "compatibility_date" to be of type string but got "2025-01-01T00:00:00.000Z".`},
		{"compatibility_flags", "wrangler.json", `{"compatibility_flags": ["a", 1]}`, "",
			`Expected "compatibility_flags" to be of type string array but got ["a",1].`},
		{"account_id", "wrangler.json", `{"account_id": 7}`, "",
			`Expected "account_id" to be of type string but got 7.`},
		{"$schema", "wrangler.json", `{"$schema": false}`, "",
			`Expected "$schema" to be of type string but got false.`},
		{"workers_dev", "wrangler.toml", `workers_dev = "yes"`, "",
			`Expected "workers_dev" to be of type boolean but got "yes".`},
		{"kv_namespaces not array", "wrangler.json", `{"kv_namespaces": {"binding": "KV"}}`, "",
			`The field "kv_namespaces" should be an array but got {"binding":"KV"}.`},
		{"kv entry not object", "wrangler.json", `{"kv_namespaces": ["KV"]}`, "",
			`"kv_namespaces" bindings should be objects, but got "KV"`},
		{"kv binding", "wrangler.toml", "[[kv_namespaces]]\nbinding = \"A\"\nid = \"1\"\n[[kv_namespaces]]\nbinding = 42\n", "",
			`"kv_namespaces[1]" bindings should have a string "binding" field but got {"binding":42}.`},
		{"kv missing binding", "wrangler.json", `{"kv_namespaces": [{"id": "x"}]}`, "",
			`"kv_namespaces[0]" bindings should have a string "binding" field but got {"id":"x"}.`},
		{"kv id", "wrangler.json", `{"kv_namespaces": [{"binding": "KV", "id": 5}]}`, "",
			`"kv_namespaces[0]" bindings should have a string "id" field but got {"binding":"KV","id":5}.`},
		{"kv empty id", "wrangler.json", `{"kv_namespaces": [{"binding": "KV", "id": ""}]}`, "",
			`"kv_namespaces[0]" bindings should have a string "id" field but got {"binding":"KV","id":""}.`},
		{"kv preview_id", "wrangler.json", `{"kv_namespaces": [{"binding": "KV", "preview_id": true}]}`, "",
			`"kv_namespaces[0]" bindings should, optionally, have a string "preview_id" field but got {"binding":"KV","preview_id":true}.`},
		{"kv in env", "wrangler.json", `{"env": {"staging": {"kv_namespaces": [{"id": "x"}]}}}`, "staging",
			`"env.staging.kv_namespaces[0]" bindings should have a string "binding" field but got {"id":"x"}.`},
		{"durable_objects not object", "wrangler.json", `{"durable_objects": []}`, "",
			`The field "durable_objects" should be an object but got [].`},
		{"durable_objects without bindings", "wrangler.json", `{"durable_objects": {}}`, "",
			`The field "durable_objects" is missing the required "bindings" property.`},
		{"durable_objects bindings not array", "wrangler.json", `{"durable_objects": {"bindings": {}}}`, "",
			`The field "durable_objects.bindings" should be an array but got {}.`},
		{"do name", "wrangler.toml", "[[durable_objects.bindings]]\nclass_name = \"C\"\n", "",
			`"durable_objects.bindings[0]": binding should have a string "name" field.`},
		{"do class_name", "wrangler.toml", "[[durable_objects.bindings]]\nname = \"D\"\n", "",
			`"durable_objects.bindings[0]": binding should have a string "class_name" field.`},
		{"do environment without script_name", "wrangler.json",
			`{"durable_objects": {"bindings": [{"name": "D", "class_name": "C", "environment": "prod"}]}}`, "",
			`"durable_objects.bindings[0]": binding should have a "script_name" field if "environment" is present.`},
		{"do script_name type", "wrangler.json",
			`{"durable_objects": {"bindings": [{"name": "D", "class_name": "C", "script_name": 1}]}}`, "",
			`"durable_objects.bindings[0]": the field "script_name", when present, should be a string.`},
		{"do in env", "wrangler.json", `{"env": {"prod": {"durable_objects": {"bindings": [{"name": "D"}]}}}}`, "prod",
			`"env.prod.durable_objects.bindings[0]": binding should have a string "class_name" field.`},
		{"vars not object", "wrangler.json", `{"vars": "A=1"}`, "",
			`The field "vars" should be an object but got "A=1".`},
		{"vars in env", "wrangler.json", `{"env": {"staging": {"vars": 3}}}`, "staging",
			`The field "env.staging.vars" should be an object but got 3.`},
		{"vars TOML date", "wrangler.toml", "[vars]\nWHEN = 2025-12-19\n", "",
			`The field "vars.WHEN" is a TOML date, which is not supported. Please use a string instead, e.g. WHEN = "2025-12-19".`},
		{"migrations not array", "wrangler.json", `{"migrations": {"tag": "v1"}}`, "",
			`The optional "migrations" field should be an array, but got {"tag":"v1"}`},
		{"migration tag required", "wrangler.toml", "[[migrations]]\nnew_classes = [\"A\"]\n", "",
			`"migrations[0].tag" is a required field.`},
		{"migration tag type", "wrangler.json", `{"migrations": [{"tag": "v1"}, {"tag": 2}]}`, "",
			`Expected "migrations[1].tag" to be of type string but got 2.`},
		{"migration new_classes", "wrangler.json", `{"migrations": [{"tag": "v1", "new_classes": "A"}]}`, "",
			`Expected "migrations[0].new_classes" to be an array of strings but got "A"`},
		{"migration new_sqlite_classes element", "wrangler.json", `{"migrations": [{"tag": "v1", "new_sqlite_classes": ["A", 3]}]}`, "",
			`Expected "migrations[0].new_sqlite_classes.[1]" to be of type string but got 3.`},
		{"migration renamed_classes", "wrangler.json", `{"migrations": [{"tag": "v1", "renamed_classes": [{"from": "A"}]}]}`, "",
			`Expected "migrations[0].renamed_classes" to be an array of "{from: string, to: string}" objects but got [{"from":"A"}].`},
		{"migration transferred_classes", "wrangler.json",
			`{"migrations": [{"tag": "v1", "transferred_classes": [{"from": "A", "to": "B"}]}]}`, "",
			`Expected "migrations[0].transferred_classes" to be an array of "{from: string, from_script: string, to: string}" objects but got [{"from":"A","to":"B"}].`},
		{"limits cpu_ms type", "wrangler.toml", "[limits]\ncpu_ms = \"50\"\n", "",
			`Expected "limits.cpu_ms" to be of type number but got "50".`},
		{"limits cpu_ms positive", "wrangler.toml", "[limits]\ncpu_ms = -1\n", "",
			`Expected "limits.cpu_ms" to be a positive integer but got -1.`},
		{"limits cpu_ms integer", "wrangler.json", `{"limits": {"cpu_ms": 1.5}}`, "",
			`Expected "limits.cpu_ms" to be a positive integer but got 1.5.`},
		{"route", "wrangler.json", `{"route": {"pattern": "a.com/*"}}`, "",
			`Expected "route" to be either a string, or an object with shape { pattern, custom_domain, zone_id | zone_name, enabled, previews_enabled }, but got {"pattern":"a.com/*"}.`},
		{"routes and route", "wrangler.json", `{"route": "a.com/*", "routes": ["b.com/*"]}`, "",
			`Expected exactly one of the following fields ["routes","route"].`},
		{"env not object", "wrangler.json", `{"env": {"staging": 1}}`, "staging",
			`The field "env.staging" should be an object but got 1.`},
		{"node_compat removed", "wrangler.toml", `node_compat = true`, "",
			`The "node_compat" field is no longer supported as of Wrangler v4.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/proj/" + tc.path
			verr := parseError(t, path, tc.src, tc.env)
			msg := verr.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error does not contain\n  %s\ngot:\n%s", tc.want, msg)
			}
			if !strings.Contains(msg, path) {
				t.Fatalf("error does not name the file %s:\n%s", path, msg)
			}
			if verr.Path != path {
				t.Fatalf("Path = %q", verr.Path)
			}
		})
	}
}

func TestValidationCollectsAllErrors(t *testing.T) {
	src := `name = "Bad Name"
compatibility_date = "yesterday"
[[kv_namespaces]]
id = "x"
[[durable_objects.bindings]]
name = "D"
[[migrations]]
new_classes = ["C"]
[env.staging]
vars = 1
`
	verr := parseError(t, "/p/wrangler.toml", src, "staging")
	if len(verr.Problems) != 6 {
		t.Fatalf("got %d problems, want 6:\n%s", len(verr.Problems), verr)
	}
	last := verr.Problems[len(verr.Problems)-1]
	if last.Env != "staging" || last.Message != `The field "env.staging.vars" should be an object but got 1.` {
		t.Fatalf("last problem %+v", last)
	}
	msg := verr.Error()
	for _, want := range []string{
		"Processing /p/wrangler.toml configuration:\n  - \"compatibility_date\" field should be",
		"\n  - \"env.staging\" environment configuration\n    - The field \"env.staging.vars\"",
	} {
		if !strings.Contains(msg, want) {
			t.Fatalf("rendering lacks %q:\n%s", want, msg)
		}
	}
}

func TestTopLevelErrorsFailEvenWhenAnEnvironmentIsSelected(t *testing.T) {
	src := `{"kv_namespaces": [{"id": "x"}], "env": {"prod": {"kv_namespaces": [{"binding": "KV"}]}}}`
	verr := parseError(t, "/p/wrangler.json", src, "prod")
	if len(verr.Problems) != 1 || verr.Problems[0].Env != "" {
		t.Fatalf("problems %+v", verr.Problems)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ path, src, want string }{
		{"/p/wrangler.toml", "name = \n", "/p/wrangler.toml"},
		{"/p/wrangler.json", `{"name": }`, "/p/wrangler.json"},
		{"/p/wrangler.jsonc", ``, "/p/wrangler.jsonc"},
		{"/p/wrangler.json", `[]`, "the configuration must be an object"},
		{"/p/wrangler.yaml", `name: x`, "must end in .json, .jsonc or .toml"},
	} {
		_, _, err := Parse(tc.path, []byte(tc.src), "")
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s %q: err = %v, want ErrSyntax", tc.path, tc.src, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: err %q lacks %q", tc.path, tc.src, err, tc.want)
		}
	}
}

func TestNameRule(t *testing.T) {
	for name, valid := range map[string]bool{
		"": true, "my-worker": true, "w_1": true, "_w": true, "0abc": true,
		"-w": false, "My-Worker": false, "my.worker": false, "my worker": false, "wörker": false,
	} {
		if got := validName(name); got != valid {
			t.Errorf("validName(%q) = %v, want %v", name, got, valid)
		}
	}
}

func TestEnDashIsReportedOnce(t *testing.T) {
	verr := parseError(t, "/p/wrangler.toml", `compatibility_date = "2025–01–01"`, "")
	if len(verr.Problems) != 1 {
		t.Fatalf("problems %+v", verr.Problems)
	}
}
