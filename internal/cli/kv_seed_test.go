package cli

import (
	"strings"
	"testing"
)

// The walkthrough of seeds/004 (the Workers KV page of wrangler 1-3 days),
// end to end, in the deprecated spelling it uses: create a namespace (titled
// after the Worker), bind it, write by binding and by id, read back, and
// keep the namespaces of two environments apart.
func TestKVSeed004Walkthrough(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", "name = \"my-worker\"\n")
	deprecated := func(group string) string {
		return diagnostic("▲", "WARNING", "The `kiln kv:"+group+"` command is deprecated and will be removed in a future major version. Please use `kiln kv "+group+"` instead which behaves the same.")
	}

	// 1. wrangler kv:namespace create <YOUR_NAMESPACE>
	r := e.run("kv:namespace", "create", "MY_KV")
	id := createdID(t, r.stdout)
	r.expect(t, 0, "🌀 Creating namespace with title \"my-worker-MY_KV\"\n"+
		"✨ Success!\n"+
		"Add the following to your configuration file in your kv_namespaces array:\n"+
		"[[kv_namespaces]]\nbinding = \"MY_KV\"\nid = \""+id+"\"\n\n", deprecated("namespace"))

	// 2. Add it to wrangler.toml, with a staging and a production
	// environment that bind the same name to their own namespaces.
	e.write("wrangler.toml", `name = "my-worker"
kv_namespaces = [
  { binding = "MY_KV", id = "`+id+`" }
]

[env.staging]
kv_namespaces = [
  { binding = "MY_KV", id = "e29b263ab50e42ce9b637fa8370175e8" }
]

[env.production]
kv_namespaces = [
  { binding = "MY_KV", id = "a825455ce00f4f7282403da85269f8ea" }
]
`)

	// 3. wrangler kv:key put --binding=<YOUR_BINDING> "<KEY>" "<VALUE>"
	e.run("kv:key", "put", "--binding=MY_KV", "KEY", "VALUE").
		expect(t, 0, `Writing the value "VALUE" to key "KEY" on namespace `+id+".\n", deprecated("key"))
	// 4. ... or --namespace-id.
	e.run("kv:key", "put", "--namespace-id="+id, "OTHER", "OTHER VALUE").
		expect(t, 0, `Writing the value "OTHER VALUE" to key "OTHER" on namespace `+id+".\n", deprecated("key"))
	// 5. wrangler kv:key get --binding=<YOUR_BINDING> "<KEY>", and by id.
	e.run("kv:key", "get", "--binding=MY_KV", "KEY").expect(t, 0, "VALUE", deprecated("key"))
	e.run("kv:key", "get", "--namespace-id="+id, "OTHER").expect(t, 0, "OTHER VALUE", deprecated("key"))

	// 6. wrangler kv:key put --env=staging --binding=<YOUR_BINDING> ...
	e.run("kv:key", "put", "--env=staging", "--binding=MY_KV", "KEY", "staging value").
		expect(t, 0, `Writing the value "staging value" to key "KEY" on namespace e29b263ab50e42ce9b637fa8370175e8.`+"\n", deprecated("key"))
	// 7. wrangler kv:key get --binding "MY_KV" --env=production "<KEY>"
	e.run("kv:key", "get", "--binding", "MY_KV", "--env=production", "KEY").expect(t, 0, "Value not found\n", deprecated("key"))
	e.mustRun("kv:key", "put", "--binding", "MY_KV", "--env", "production", "KEY", "production value")
	e.run("kv:key", "get", "--binding", "MY_KV", "--env=production", "KEY").expect(t, 0, "production value", deprecated("key"))

	// The three namespaces stay apart, whichever spelling reads them.
	for _, tc := range []struct{ env, want string }{
		{"", "VALUE\n"}, {"staging", "staging value\n"}, {"production", "production value\n"},
	} {
		args := []string{"kv", "key", "get", "KEY", "--binding", "MY_KV", "--text"}
		if tc.env != "" {
			args = append(args, "--env", tc.env)
		}
		e.run(args...).expect(t, 0, tc.want, "")
	}
	e.run("kv", "key", "get", "KEY", "--namespace-id", "e29b263ab50e42ce9b637fa8370175e8", "--text").expect(t, 0, "staging value\n", "")
	e.run("kv", "key", "list", "--binding", "MY_KV", "--env", "staging").expect(t, 0, "[\n  {\n    \"name\": \"KEY\"\n  }\n]\n", "")
	e.run("kv", "key", "list", "--binding", "MY_KV").expect(t, 0, "[\n  {\n    \"name\": \"KEY\"\n  },\n  {\n    \"name\": \"OTHER\"\n  }\n]\n", "")

	// The namespace list shows them with the titles they got: the created
	// one, and the two environments' created on first write after the
	// Worker name of their environment.
	list := e.mustRun("kv:namespace", "list")
	for _, want := range []string{
		`"id": "` + id + `",` + "\n    \"title\": \"my-worker-MY_KV\"",
		`"id": "e29b263ab50e42ce9b637fa8370175e8",` + "\n    \"title\": \"my-worker-staging-MY_KV\"",
		`"id": "a825455ce00f4f7282403da85269f8ea",` + "\n    \"title\": \"my-worker-production-MY_KV\"",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("namespace list lacks %q:\n%s", want, list)
		}
	}

	// wrangler 3's titles with an environment put the Worker name first; the
	// new spelling uses wrangler 4's rule.
	r = e.run("kv:namespace", "create", "CACHE", "--env", "staging", "--preview")
	r.expect(t, 0, "🌀 Creating namespace with title \"my-worker-staging-CACHE_preview\"\n"+
		"✨ Success!\n"+
		"Add the following to your configuration file in your kv_namespaces array under [env.staging]:\n"+
		"[[kv_namespaces]]\nbinding = \"CACHE\"\npreview_id = \""+createdID(t, r.stdout)+"\"\n\n", deprecated("namespace"))
	r = e.run("kv", "namespace", "create", "CACHE", "--env", "staging")
	if !strings.Contains(r.stdout, "🌀 Creating namespace with title \"staging-CACHE\"\n") {
		t.Errorf("kv namespace create --env: %s", r.stdout)
	}
}

// Without a name in the configuration, wrangler 3 titled namespaces after
// "worker" and said so.
func TestKVLegacyCreateWithoutName(t *testing.T) {
	e := newKVEnv(t, "", "")
	r := e.run("kv:namespace", "create", "ns")
	r.expect(t, 0, "🌀 Creating namespace with title \"worker-ns\"\n"+
		"✨ Success!\n"+
		"Add the following to your configuration file in your kv_namespaces array:\n"+
		"{\n  \"kv_namespaces\": [\n    {\n      \"binding\": \"ns\",\n      \"id\": \""+createdID(t, r.stdout)+"\"\n    }\n  ]\n}\n",
		diagnostic("▲", "WARNING", "The `kiln kv:namespace` command is deprecated and will be removed in a future major version. Please use `kiln kv namespace` instead which behaves the same.")+
			diagnostic("▲", "WARNING", "No configured name present, using `worker` as a prefix for the title"))
}
