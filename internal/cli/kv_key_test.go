package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/internal/localstate"
	"github.com/kiln-dev/kiln/kv"
	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
)

// Case numbers refer to spec/behaviour.md, group B.

// Case 37, in kiln's (local) mode; and case 48: local is the default, a
// missing value is "Value not found", and --namespace-id needs no
// configuration file.
func TestKVKeyPutGetByNamespaceIDWithoutConfig(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.run("kv", "key", "get", "val", "--namespace-id", "some-namespace-id", "--text").
		expect(t, 0, "Value not found\n", "")
	e.run("kv", "key", "put", "my-key", "my-value", "--namespace-id", "some-namespace-id").
		expect(t, 0, localWithHint+`Writing the value "my-value" to key "my-key" on namespace id: "some-namespace-id".`+"\n", "")
	e.run("kv", "key", "get", "my-key", "--namespace-id", "some-namespace-id", "--text").
		expect(t, 0, "my-value\n", "")
	// Without --text the raw bytes, without a newline.
	e.run("kv", "key", "get", "my-key", "--namespace-id", "some-namespace-id").
		expect(t, 0, "my-value", "")
}

// The exact rendering of an error: wrangler's logger format on stderr,
// nothing on stdout, exit code 1.
func TestKVErrorRendering(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	r := e.run("kv", "key", "put")
	r.expect(t, 1, "", "✘ [ERROR] Not enough non-option arguments: got 0, need at least 1\n\n")

	// A multi-line message: the first line, then the others as notes.
	r = e.run("kv", "namespace", "delete", "--binding", "otherBinding")
	want := "✘ [ERROR] Not able to delete namespace.\n\n" +
		"  No KV namespace with binding \"otherBinding\" was found in the \"kv_namespaces\" section of your wrangler config. Check the binding name is correct, or use `--namespace-id` instead.\n\n"
	r.expect(t, 1, localOnly, want)
}

// Case 44: argument errors, as wrangler 4 words them.
func TestKVKeyArgumentErrors(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"kv", "key", "put"}, "Not enough non-option arguments: got 0, need at least 1"},
		{[]string{"kv", "key", "get"}, "Not enough non-option arguments: got 0, need at least 1"},
		{[]string{"kv", "key", "delete"}, "Not enough non-option arguments: got 0, need at least 1"},
		{[]string{"kv", "key", "put", "foo", "bar"}, "Missing required option: exactly one of --binding and --namespace-id must be provided"},
		{[]string{"kv", "key", "get", "foo"}, "Missing required option: exactly one of --binding and --namespace-id must be provided"},
		{[]string{"kv", "key", "list"}, "Missing required option: exactly one of --binding and --namespace-id must be provided"},
		{[]string{"kv", "key", "put", "foo", "bar", "--binding", "x", "--namespace-id", "y"}, "Conflicting options: --binding and --namespace-id cannot be used together. Please provide only one."},
		{[]string{"kv", "key", "get", "foo", "--binding", "x", "--namespace-id", "y"}, "Conflicting options: --binding and --namespace-id cannot be used together. Please provide only one."},
		{[]string{"kv", "key", "put", "key", "--namespace-id", "12345"}, "Missing required option: exactly one of <value> and --path must be provided"},
		{[]string{"kv", "key", "put", "key", "value", "--path", "xyz", "--namespace-id", "12345"}, "Conflicting options: <value> and --path cannot be used together. Please provide only one."},
		{[]string{"kv", "key", "put", "--remote", "--local", "key", "value"}, "Arguments remote and local are mutually exclusive"},
		{[]string{"kv", "key", "put", "k", "v", "extra", "--namespace-id", "n"}, "Unknown argument: extra"},
		{[]string{"kv", "key", "get", "k", "x", "y", "--namespace-id", "n"}, "Unknown arguments: x, y"},
		{[]string{"kv", "key", "get", "k", "--namespace-id", "n", "--bogus"}, "Unknown argument: bogus"},
		{[]string{"kv", "key", "put", "dKey", "dVal", "--namespace-id", "n", "--metadata", "not-valid-json"}, "--metadata must be valid JSON. Received: not-valid-json"},
		{[]string{"kv", "key", "put", "dKey", "dVal", "--namespace-id", "n", "--metadata", `"a-string"`}, `--metadata must be a JSON object. Received: "a-string"`},
		{[]string{"kv", "key", "put", "dKey", "dVal", "--namespace-id", "n", "--metadata", "[1,2,3]"}, "--metadata must be a JSON object. Received: [1,2,3]"},
		{[]string{"kv", "key", "put", "dKey", "dVal", "--namespace-id", "n", "--metadata", "null"}, "--metadata must be a JSON object. Received: null"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			e.run(tc.args...).expectError(t, "", tc.msg)
		})
	}
	// An unknown subcommand.
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"kv", "asdf"}, strings.NewReader(""), &out, &errOut); code != 1 ||
		errOut.String() != "✘ [ERROR] Unknown argument: asdf\n\n" {
		t.Errorf("kv asdf: exit %d, stderr %q", code, errOut.String())
	}
	// Nothing was stored by any of them.
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")
}

// Case 40: a binding with both ids needs --preview or --preview false; the
// `--preview false` form (value as the next argument) is understood.
func TestKVKeyBindingPreviewSelection(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	e.run("kv", "key", "put", "my-key", "my-value", "--binding", "someBinding").expectError(t, localWithHint,
		"The binding \"someBinding\" has both an \"id\" and a \"preview_id\" configured. Pass `--preview` to target the preview namespace, or `--preview false` to target the production namespace.")
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")

	for _, tc := range []struct {
		args []string
		id   string
	}{
		{[]string{"--preview", "false"}, "bound-id"},
		{[]string{"--preview=false"}, "bound-id"},
		{[]string{"--preview"}, "preview-bound-id"},
		{[]string{"--preview", "true"}, "preview-bound-id"},
		{[]string{"--env", "some-environment", "--preview", "false"}, "env-bound-id"},
		{[]string{"-e", "some-environment", "--preview"}, "preview-env-bound-id"},
	} {
		args := append([]string{"kv", "key", "put", "my-key", "value-for-" + tc.id, "--binding", "someBinding"}, tc.args...)
		e.run(args...).expect(t, 0,
			localWithHint+`Writing the value "value-for-`+tc.id+`" to key "my-key" on namespace binding: "someBinding" (id: "`+tc.id+`").`+"\n", "")
	}
	for _, id := range []string{"bound-id", "preview-bound-id", "env-bound-id", "preview-env-bound-id"} {
		e.run("kv", "key", "get", "my-key", "--namespace-id", id, "--text").expect(t, 0, "value-for-"+id+"\n", "")
	}
	// get and list default to --preview false, as in wrangler.
	e.run("kv", "key", "get", "my-key", "--binding", "someBinding", "--text").expect(t, 0, "value-for-bound-id\n", "")
	e.run("kv", "key", "list", "--binding", "someBinding", "--preview").expect(t, 0, "[\n  {\n    \"name\": \"my-key\"\n  }\n]\n", "")

	// Namespaces were created on first write, titled as kiln dev titles them.
	got := e.mustRun("kv", "namespace", "list")
	for _, want := range []string{
		`"id": "bound-id",` + "\n    \"title\": \"other-worker-someBinding\"",
		`"id": "env-bound-id",` + "\n    \"title\": \"other-worker-some-environment-someBinding\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("namespace list lacks %q:\n%s", want, got)
		}
	}
}

// Case 45: an unknown binding.
func TestKVKeyUnknownBinding(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	msg := "No KV namespace with binding \"otherBinding\" was found in the \"kv_namespaces\" section of your wrangler config. Check the binding name is correct, or use `--namespace-id` instead."
	e.run("kv", "key", "put", "key", "value", "--binding", "otherBinding").expectError(t, localWithHint, msg)
	e.run("kv", "key", "get", "key", "--binding", "otherBinding").expectError(t, "", msg)
	e.run("kv", "key", "list", "--binding", "otherBinding").expectError(t, "", msg)
	e.run("kv", "key", "delete", "someKey", "--binding", "otherBinding").expectError(t, localWithHint, msg)
}

// Case 41: --ttl and --expiration reach the store; the TTL wins when both
// are given; out-of-range values get the platform's texts.
func TestKVKeyPutExpiration(t *testing.T) {
	e := newKVEnv(t, "", "")
	now := time.Now().Unix()
	abs := strconv.FormatInt(now+7200, 10)
	e.mustRun("kv", "key", "put", "exp-key", "v", "--namespace-id", "ns", "--expiration", abs)
	e.mustRun("kv", "key", "put", "ttl-key", "v", "--namespace-id", "ns", "--ttl", "3600")
	e.mustRun("kv", "key", "put", "both-key", "v", "--namespace-id", "ns", "--expiration", abs, "--ttl", "600")
	e.mustRun("kv", "key", "put", "plain-key", "v", "--namespace-id", "ns")

	var keys []struct {
		Name       string `json:"name"`
		Expiration int64  `json:"expiration"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("kv", "key", "list", "--namespace-id", "ns")), &keys); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, k := range keys {
		got[k.Name] = k.Expiration
	}
	within := func(name string, lo, hi int64) {
		if got[name] < lo || got[name] > hi {
			t.Errorf("%s expires at %d, want in [%d, %d]", name, got[name], lo, hi)
		}
	}
	within("exp-key", now+7200, now+7200)
	within("ttl-key", now+3600, now+3600+30)
	within("both-key", now+600, now+600+30)
	within("plain-key", 0, 0)

	write := localWithHint + `Writing the value "v" to key "k" on namespace id: "ns".` + "\n"
	e.run("kv", "key", "put", "k", "v", "--namespace-id", "ns", "--ttl", "20").
		expectError(t, write, "KV PUT failed: 400 Invalid expiration_ttl of 20. Expiration TTL must be at least 60.")
	e.run("kv", "key", "put", "k", "v", "--namespace-id", "ns", "--expiration", "10").
		expectError(t, write, "KV PUT failed: 400 Invalid expiration of 10. Please specify integer greater than the current number of seconds since the UNIX epoch.")
	e.run("kv", "key", "put", "k", "v", "--namespace-id", "ns", "--ttl", "soon").
		expectError(t, "", "--ttl must be a number. Received: soon")
	e.run("kv", "key", "get", "k", "--namespace-id", "ns").expect(t, 0, "Value not found\n", "")
}

// Case 42: --path reads the value from a file, bytes as they are; get
// without --text writes them back unchanged.
func TestKVKeyPutFromPath(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("foo.txt", "file-contents")
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0x00, 0x80, 0xff, 0xfe}
	e.write("test.png", string(png))

	e.run("kv", "key", "put", "my-key", "--namespace-id", "some-namespace-id", "--path", filepath.Join(e.dir, "foo.txt")).
		expect(t, 0, localWithHint+`Writing the contents of `+filepath.Join(e.dir, "foo.txt")+` to the key "my-key" on namespace id: "some-namespace-id".`+"\n", "")
	// A relative path is read from the working directory, as given.
	e.run("kv", "key", "put", "bin", "--namespace-id", "another-namespace-id", "--path", "test.png").
		expect(t, 0, localWithHint+`Writing the contents of test.png to the key "bin" on namespace id: "another-namespace-id".`+"\n", "")

	e.run("kv", "key", "get", "my-key", "--namespace-id", "some-namespace-id").expect(t, 0, "file-contents", "")
	r := e.run("kv", "key", "get", "bin", "--namespace-id", "another-namespace-id")
	if r.code != 0 || !bytes.Equal([]byte(r.stdout), png) {
		t.Errorf("binary get: exit %d, % x, want % x", r.code, r.stdout, png)
	}
	// --text decodes as UTF-8, replacing what is not.
	r = e.run("kv", "key", "get", "bin", "--namespace-id", "another-namespace-id", "--text")
	if want := "\uFFFDPNG\r\n\x1a\n\x00\uFFFD\uFFFD\uFFFD\n"; r.stdout != want {
		t.Errorf("--text: %q, want %q", r.stdout, want)
	}

	r = e.run("kv", "key", "put", "k", "--namespace-id", "n", "--path", "missing.txt")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "✘ [ERROR] Could not read file: missing.txt\n\n  open missing.txt: ") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --metadata is stored with the value and shown in the put line and in the
// listing.
func TestKVKeyPutMetadata(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.run("kv", "key", "put", "dKey", "dVal", "--namespace-id", "some-namespace-id", "--metadata", `{"mKey":"mValue"}`).
		expect(t, 0, localWithHint+`Writing the value "dVal" to key "dKey" on namespace id: "some-namespace-id" with metadata "{"mKey":"mValue"}".`+"\n", "")
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id").expect(t, 0,
		"[\n  {\n    \"name\": \"dKey\",\n    \"metadata\": {\n      \"mKey\": \"mValue\"\n    }\n  }\n]\n", "")
}

// Case 46: the listing is a JSON array with 2-space indentation and the
// fields name, expiration and metadata, the latter as JavaScript orders an
// object's keys.
func TestKVKeyListFormat(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.mustRun("kv", "key", "put", "key-1", "a", "--namespace-id", "some-namespace-id")
	e.mustRun("kv", "key", "put", "key-2", "b", "--namespace-id", "some-namespace-id", "--expiration", "4102444800")
	e.mustRun("kv", "key", "put", "key-3", "c", "--namespace-id", "some-namespace-id", "--metadata", `{"a":1,"10":2,"2":3.50,"s":"<&>"}`)
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id").expect(t, 0, `[
  {
    "name": "key-1"
  },
  {
    "name": "key-2",
    "expiration": 4102444800
  },
  {
    "name": "key-3",
    "metadata": {
      "2": 3.5,
      "10": 2,
      "a": 1,
      "s": "<&>"
    }
  }
]
`, "")
	e.run("kv", "key", "list", "--namespace-id", "never-written").expect(t, 0, "[]\n", "")
}

// Case 50: delete, then the value is gone.
func TestKVKeyDelete(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.mustRun("kv", "key", "put", "val", "value", "--namespace-id", "some-namespace-id")
	e.run("kv", "key", "delete", "val", "--namespace-id", "some-namespace-id").
		expect(t, 0, localWithHint+`Deleting the key "val" on namespace id: "some-namespace-id".`+"\n", "")
	e.run("kv", "key", "get", "val", "--namespace-id", "some-namespace-id", "--text").expect(t, 0, "Value not found\n", "")
	// Deleting what does not exist succeeds, as on the platform.
	e.run("kv", "key", "delete", "/NCC-74656", "--namespace-id", "voyager").
		expect(t, 0, localWithHint+`Deleting the key "/NCC-74656" on namespace id: "voyager".`+"\n", "")
}

// What the CLI writes is in the file kiln dev serves from: a second store
// opened on it (another process, in real use) reads it. Without
// --persist-to that file is .kiln/state/kv.sqlite beside the configuration.
func TestKVWritesAreVisibleToAnotherStore(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wrangler.jsonc")
	e := &kvEnv{t: t, dir: dir}
	e.write("wrangler.jsonc", `{
  // comments are allowed
  "name": "app",
  "kv_namespaces": [{ "binding": "CACHE", "id": "cache-id" }]
}`)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"kv", "key", "put", "greeting", "hello", "--binding", "CACHE", "--config", cfg},
		strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("put: exit %d: %s", code, errOut.String())
	}

	ctx := context.Background()
	store, err := kvsqlite.Open(ctx, localstate.KVPath(localstate.Dir(dir, "")), kvsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	entry, err := store.Get(ctx, "cache-id", "greeting")
	if err != nil || entry == nil || string(entry.Value) != "hello" {
		t.Fatalf("second store: %+v, %v", entry, err)
	}
	ns, err := store.GetNamespace(ctx, "cache-id")
	if err != nil || ns.Title != "app-CACHE" {
		t.Fatalf("namespace %+v, %v; want the title kiln dev gives it, app-CACHE", ns, err)
	}

	// And the other way: what the other store writes, the CLI reads.
	if err := store.Put(ctx, "cache-id", "from-dev", []byte("written by kiln dev"), kv.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code = Main(ctx, []string{"kv", "key", "get", "from-dev", "--binding", "CACHE", "--config", cfg, "--text"},
		strings.NewReader(""), &out, &errOut)
	if code != 0 || out.String() != "written by kiln dev\n" {
		t.Fatalf("get: exit %d, %q, %s", code, out.String(), errOut.String())
	}
}
