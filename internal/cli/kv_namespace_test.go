package cli

import (
	"regexp"
	"strings"
	"testing"
)

// createdID finds the id in a create command's snippet.
func createdID(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`(?:id = |"id": )"([0-9a-f]{32})"`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no namespace id in:\n%s", stdout)
	}
	return m[1]
}

// kv namespace create: wrangler 4's title rule ([env-]name[_preview]) and
// output, with the snippet in the configuration's format.
func TestKVNamespaceCreateTOML(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", `name = "worker"`+"\n\n[env.customEnv]\nname = \"worker\"\n")
	out := e.mustRun("kv", "namespace", "create", "UnitTestNamespace", "--binding", "MY_NS")
	id := createdID(t, out)
	want := localOnly +
		"🌀 Creating namespace with title \"UnitTestNamespace\"\n" +
		"✨ Success!\n" +
		"To access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n" +
		"[[kv_namespaces]]\nbinding = \"MY_NS\"\nid = \"" + id + "\"\n\n"
	if out != want {
		t.Errorf("create:\n%q\nwant\n%q", out, want)
	}

	out = e.mustRun("kv", "namespace", "create", "UnitTestNamespace", "--preview")
	want = localOnly +
		"🌀 Creating namespace with title \"UnitTestNamespace_preview\"\n" +
		"✨ Success!\n" +
		"To access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n" +
		"[[kv_namespaces]]\nbinding = \"UnitTestNamespace\"\npreview_id = \"" + createdID(t, out) + "\"\n\n"
	if out != want {
		t.Errorf("create --preview:\n%q\nwant\n%q", out, want)
	}

	out = e.mustRun("kv", "namespace", "create", "UnitTestNamespace", "--env", "customEnv")
	want = localOnly +
		"🌀 Creating namespace with title \"customEnv-UnitTestNamespace\"\n" +
		"✨ Success!\n" +
		"To access your new KV Namespace in your Worker, add the following snippet to your configuration file in the \"customEnv\" environment:\n" +
		"[[kv_namespaces]]\nbinding = \"UnitTestNamespace\"\nid = \"" + createdID(t, out) + "\"\n\n"
	if out != want {
		t.Errorf("create --env:\n%q\nwant\n%q", out, want)
	}

	// The title is taken now.
	e.run("kv", "namespace", "create", "UnitTestNamespace").expectError(t,
		localOnly+"🌀 Creating namespace with title \"UnitTestNamespace\"\n",
		"A KV namespace with the title \"UnitTestNamespace\" already exists.\n\n"+
			"You can list existing namespaces with their IDs by running:\n  kiln kv namespace list\n\n"+
			"Or choose a different namespace name.")

	// Case 60: the list, as JSON {id, title} ordered by title.
	list := e.mustRun("kv", "namespace", "list")
	if !strings.HasPrefix(list, "[\n  {\n    \"id\": \"") || !strings.Contains(list, "\"title\": \"UnitTestNamespace\"\n") ||
		strings.Index(list, `"UnitTestNamespace"`) > strings.Index(list, `"UnitTestNamespace_preview"`) ||
		strings.Index(list, `"UnitTestNamespace_preview"`) > strings.Index(list, `"customEnv-UnitTestNamespace"`) {
		t.Errorf("namespace list:\n%s", list)
	}
	if strings.Count(list, `"id"`) != 3 {
		t.Errorf("namespace list has %d namespaces, want 3:\n%s", strings.Count(list, `"id"`), list)
	}
}

// With a JSON configuration (or none) the snippet is JSON.
func TestKVNamespaceCreateJSONSnippet(t *testing.T) {
	for _, name := range []string{"wrangler.json", "wrangler.jsonc", ""} {
		t.Run("config "+name, func(t *testing.T) {
			content := `{"name": "worker"}`
			e := newKVEnv(t, name, content)
			out := e.mustRun("kv", "namespace", "create", "UnitTestNamespace")
			want := localOnly +
				"🌀 Creating namespace with title \"UnitTestNamespace\"\n" +
				"✨ Success!\n" +
				"To access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n" +
				"{\n  \"kv_namespaces\": [\n    {\n      \"binding\": \"UnitTestNamespace\",\n      \"id\": \"" + createdID(t, out) + "\"\n    }\n  ]\n}\n"
			if out != want {
				t.Errorf("create:\n%q\nwant\n%q", out, want)
			}
		})
	}
}

func TestValidBindingName(t *testing.T) {
	for in, want := range map[string]string{
		"UnitTestNamespace": "UnitTestNamespace",
		"my-ns name":        "my_ns_name",
		"a--b  c":           "a_b_c",
		"123abc":            "_123abc",
		"café.cache":        "cafcache",
		"!!!":               "KV",
		"--":                "KV",
	} {
		if got := validBindingName(in, "KV"); got != want {
			t.Errorf("validBindingName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Case 61: namespace delete, by title, binding or id, with its selector
// errors and the confirmation.
func TestKVNamespaceDelete(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	e.run("kv", "namespace", "delete").expectError(t, "",
		"No KV namespace specified. Provide a namespace name as a positional argument, or use `--binding` or `--namespace-id`.")
	e.run("kv", "namespace", "delete", "name", "--namespace-id", "x").expectError(t, "",
		"Only one namespace selector is allowed. Provide exactly one of: a positional namespace name, `--binding`, or `--namespace-id`.")
	e.run("kv", "namespace", "delete", "--binding", "b", "--namespace-id", "x").expectError(t, "",
		"Only one namespace selector is allowed. Provide exactly one of: a positional namespace name, `--binding`, or `--namespace-id`.")
	e.run("kv", "namespace", "delete", "nonexistent-namespace").expectError(t, localOnly,
		"Not able to delete namespace.\nNo KV namespace named \"nonexistent-namespace\" was found in your account. Use `--namespace-id` or `--binding` instead, or run `kiln kv namespace list` to see all available namespaces.")
	e.run("kv", "namespace", "delete", "--binding", "otherBinding").expectError(t, localOnly,
		"Not able to delete namespace.\nNo KV namespace with binding \"otherBinding\" was found in the \"kv_namespaces\" section of your wrangler config. Check the binding name is correct, or use `--namespace-id` instead.")
	e.run("kv", "namespace", "delete", "--namespace-id", "nonexistent-id").expectError(t, localOnly,
		"A request to the Cloudflare API (/accounts/local/storage/kv/namespaces/nonexistent-id) failed.\nUnknown namespace. [code: 10009]")

	// Namespaces to delete: one created by title, the env binding's (created
	// by a first write), and one by id.
	created := createdID(t, e.mustRun("kv", "namespace", "create", "doomed"))
	e.mustRun("kv", "key", "put", "k", "v", "--binding", "someBinding", "--env", "some-environment", "--preview", "false")
	e.mustRun("kv", "key", "put", "k", "v", "--namespace-id", "by-id")

	about := func(label string) string {
		return "About to delete local KV namespace '" + label + "'.\n" +
			"This action is irreversible and will permanently delete all data in the KV namespace.\n\n"
	}
	fallback := "? Ok to proceed?\n🤖 Using fallback value in non-interactive context: yes\n"

	// Outside a terminal it does not wait for an answer.
	e.run("kv", "namespace", "delete", "doomed").expect(t, 0, localOnly+about("doomed ("+created+")")+fallback+
		"Deleting KV namespace "+created+".\nDeleted KV namespace "+created+".\n", "")

	// Declined on a terminal, nothing happens.
	interactive := kvTerminal{interactive: true, stdoutIsTerminal: true}
	e.runOnTerminal(interactive, "no\n", "kv", "namespace", "delete", "--binding", "someBinding", "--env", "some-environment", "--preview", "false").
		expect(t, 0, localOnly+about("someBinding (env-bound-id)")+"? Ok to proceed? › (Y/n) Not deleting KV namespace env-bound-id.\n", "")
	e.run("kv", "key", "get", "k", "--namespace-id", "env-bound-id").expect(t, 0, "v", "")
	e.runOnTerminal(interactive, "\n", "kv", "namespace", "delete", "--binding", "someBinding", "--env", "some-environment", "--preview", "false").
		expect(t, 0, localOnly+about("someBinding (env-bound-id)")+"? Ok to proceed? › (Y/n) "+
			"Deleting KV namespace env-bound-id.\nDeleted KV namespace env-bound-id.\n", "")

	// -y skips the question; the keys go with the namespace.
	e.run("kv", "namespace", "delete", "--namespace-id", "by-id", "-y").expect(t, 0, localOnly+about("by-id ("+"by-id)")+
		"Deleting KV namespace by-id.\nDeleted KV namespace by-id.\n", "")
	e.run("kv", "key", "get", "k", "--namespace-id", "by-id").expect(t, 0, "Value not found\n", "")
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")
}

// Case 61: rename, by id or by current title.
func TestKVNamespaceRename(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.run("kv", "namespace", "rename").expectError(t, "", "Missing required argument: new-name")
	e.run("kv", "namespace", "rename", "--new-name", "new-name").expectError(t, "",
		"Either old-name (as first argument) or --namespace-id must be specified")
	e.run("kv", "namespace", "rename", "old", "--namespace-id", "x", "--new-name", "n").expectError(t, "",
		"Cannot specify both old-name and --namespace-id. Use either old-name (as first argument) or --namespace-id flag, not both.")
	e.run("kv", "namespace", "rename", "old", "--new-name", strings.Repeat("é", 513)).expectError(t, "",
		"new-name must be 512 characters or less (current: 513)")

	id := createdID(t, e.mustRun("kv", "namespace", "create", "old-namespace-name"))
	e.mustRun("kv", "namespace", "create", "other-namespace")

	e.run("kv", "namespace", "rename", "old-namespace-name", "--new-name", "new-namespace-name").expect(t, 0, localOnly+
		"Renaming KV namespace "+id+" to \"new-namespace-name\".\n✨ Successfully renamed namespace to \"new-namespace-name\"\n", "")
	e.run("kv", "namespace", "rename", "--namespace-id", id, "--new-name", "by-id").expect(t, 0, localOnly+
		"Renaming KV namespace "+id+" to \"by-id\".\n✨ Successfully renamed namespace to \"by-id\"\n", "")
	if list := e.mustRun("kv", "namespace", "list"); !strings.Contains(list, "\"id\": \""+id+"\",\n    \"title\": \"by-id\"") {
		t.Errorf("after rename:\n%s", list)
	}

	e.run("kv", "namespace", "rename", "nonexistent-name", "--new-name", "new-name").expectError(t, localOnly,
		`No namespace found with the name "nonexistent-name". Use --namespace-id instead or check available namespaces with "kiln kv namespace list".`)
	e.run("kv", "namespace", "rename", "--namespace-id", "nonexistent-id", "--new-name", "new-name").expectError(t,
		localOnly+"Renaming KV namespace nonexistent-id to \"new-name\".\n",
		"A request to the Cloudflare API (/accounts/local/storage/kv/namespaces/nonexistent-id) failed.\nUnknown namespace. [code: 10009]")
	e.run("kv", "namespace", "rename", "--namespace-id", id, "--new-name", "other-namespace").expectError(t,
		localOnly+"Renaming KV namespace "+id+" to \"other-namespace\".\n",
		"A request to the Cloudflare API (/accounts/local/storage/kv/namespaces/"+id+") failed.\nA namespace with this account ID and title already exists [code: 10014]")
}

// The wrangler 3 spelling of namespace delete: --binding or --namespace-id,
// no question, wrangler 3's texts.
func TestKVLegacyNamespaceDelete(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	warn := diagnostic("▲", "WARNING", "The `kiln kv:namespace` command is deprecated and will be removed in a future major version. Please use `kiln kv namespace` instead which behaves the same.")
	r := e.run("kv:namespace", "delete")
	r.expect(t, 1, "", warn+diagnostic("✘", "ERROR", "Exactly one of the arguments binding and namespace-id is required"))
	r = e.run("kv:namespace", "delete", "--binding", "otherBinding")
	r.expect(t, 1, "", warn+diagnostic("✘", "ERROR",
		"Not able to delete namespace.\nA namespace with binding name \"otherBinding\" was not found in the configured \"kv_namespaces\"."))
	r = e.run("kv:namespace", "delete", "--binding", "someBinding")
	r.expect(t, 1, "", warn+diagnostic("✘", "ERROR",
		"Not able to delete namespace.\nsomeBinding has both a namespace ID and a preview ID. Specify \"--preview\" or \"--preview false\" to avoid writing data to the wrong namespace."))

	e.mustRun("kv", "key", "put", "k", "v", "--binding", "someBinding", "--preview")
	e.run("kv:namespace", "delete", "--binding", "someBinding", "--preview").expect(t, 0,
		"Deleting KV namespace preview-bound-id.\nDeleted KV namespace preview-bound-id.\n", warn)
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")
}
