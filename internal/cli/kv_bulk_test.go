package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// Case 52: a bulk put writes every item (base64 values decoded) and says
// "Success!".
func TestKVBulkPut(t *testing.T) {
	e := newKVEnv(t, "", "")
	future := time.Now().Unix() + 3600
	e.write("keys.json", fmt.Sprintf(`[
		{"key": "someKey1", "value": "someValue1"},
		{"key": "ns:someKey2", "value": "MTIz", "base64": true},
		{"key": "someKey3", "value": "someValue3", "expiration": %d},
		{"key": "someKey4", "value": "someValue4", "expiration_ttl": 500, "metadata": {"m": 1}},
		{"key": "binary", "value": "iVBORw0KGgoAgP/+", "base64": true}
	]`, future))
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "some-namespace-id").
		expect(t, 0, localWithHint+"Success!\n", "")
	e.run("kv", "key", "get", "ns:someKey2", "--namespace-id", "some-namespace-id").expect(t, 0, "123", "")
	e.run("kv", "key", "get", "binary", "--namespace-id", "some-namespace-id").
		expect(t, 0, "\x89PNG\r\n\x1a\n\x00\x80\xff\xfe", "")

	var keys []struct {
		Name       string          `json:"name"`
		Expiration int64           `json:"expiration"`
		Metadata   json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("kv", "key", "list", "--namespace-id", "some-namespace-id")), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 {
		t.Fatalf("%d keys: %+v", len(keys), keys)
	}
	for _, k := range keys {
		switch k.Name {
		case "someKey3":
			if k.Expiration != future {
				t.Errorf("someKey3 expiration %d, want %d", k.Expiration, future)
			}
		case "someKey4":
			var md bytes.Buffer
			if err := json.Compact(&md, k.Metadata); err != nil || k.Expiration < future-3600+500 || md.String() != `{"m":1}` {
				t.Errorf("someKey4 %+v (%v)", k, err)
			}
		}
	}
}

// Case 49: local listing of a bulk-written namespace, with prefixes.
func TestKVBulkPutThenListWithPrefix(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("keys.json", `[{"key":"a","value":"value"},{"key":"a/b","value":"value"},{"key":"a/c","value":"value"},{"key":"b","value":"value"}]`)
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id").expect(t, 0, "[]\n", "")
	e.mustRun("kv", "bulk", "put", "keys.json", "--namespace-id", "some-namespace-id")
	names := func(names ...string) string {
		if len(names) == 0 {
			return "[]\n"
		}
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = "  {\n    \"name\": \"" + n + "\"\n  }"
		}
		return "[\n" + strings.Join(parts, ",\n") + "\n]\n"
	}
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id").expect(t, 0, names("a", "a/b", "a/c", "b"), "")
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id", "--prefix", "a").expect(t, 0, names("a", "a/b", "a/c"), "")
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id", "--prefix", "a/b").expect(t, 0, names("a/b"), "")
	e.run("kv", "key", "list", "--namespace-id", "some-namespace-id", "--prefix", "abc").expect(t, 0, names(), "")
}

// 5,000 keys written by one bulk put are all listed, in key order (the
// listing follows the store's cursors).
func TestKVBulkPut5000ThenList(t *testing.T) {
	e := newKVEnv(t, "", "")
	const n = 5000
	items := make([]map[string]string, n)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("key-%05d", i)
		items[i] = map[string]string{"key": want[i], "value": fmt.Sprint(i)}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { items[i], items[j] = items[j], items[i] })
	e.writeJSON("keys.json", items)
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "big").expect(t, 0, localWithHint+"Success!\n", "")

	var keys []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("kv", "key", "list", "--namespace-id", "big")), &keys); err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(keys))
	for i, k := range keys {
		got[i] = k.Name
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %d keys, want %d in order; first %v", len(got), n, got[:min(5, len(got))])
	}
	e.run("kv", "key", "get", "key-04321", "--namespace-id", "big", "--text").expect(t, 0, "4321\n", "")
}

// Case 52: progress lines for more than 1,000 items, on a terminal only.
func TestKVBulkProgress(t *testing.T) {
	if got := bulkProgressLine("Uploaded", 1000, 12000); got != "Uploaded 8% (1,000 out of 12,000)" {
		t.Errorf("progress line %q", got)
	}
	if got := bulkProgressLine("Deleted", 11000, 12000); got != "Deleted 91% (11,000 out of 12,000)" {
		t.Errorf("progress line %q", got)
	}
	if got := groupThousands(1234567); got != "1,234,567" {
		t.Errorf("groupThousands %q", got)
	}

	e := newKVEnv(t, "", "")
	items := make([]map[string]string, 12000)
	keys := make([]string, len(items))
	for i := range items {
		keys[i] = fmt.Sprintf("k%d", i)
		items[i] = map[string]string{"key": keys[i], "value": "v"}
	}
	e.writeJSON("keys.json", items)
	e.writeJSON("delete.json", keys)
	onTerminal := kvTerminal{stdoutIsTerminal: true}
	e.runOnTerminal(onTerminal, "", "kv", "bulk", "put", "keys.json", "--namespace-id", "n").expect(t, 0, localWithHint+
		"Uploaded 0% (0 out of 12,000)\n"+
		"Uploaded 83% (10,000 out of 12,000)\n"+
		"Uploaded 100% (12,000 out of 12,000)\n"+
		"Success!\n", "")
	// Not on a terminal: no progress.
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "n").expect(t, 0, localWithHint+"Success!\n", "")
	e.runOnTerminal(onTerminal, "", "kv", "bulk", "delete", "delete.json", "--namespace-id", "n", "--force").expect(t, 0, localWithHint+
		"Deleted 0% (0 out of 12,000)\n"+
		"Deleted 83% (10,000 out of 12,000)\n"+
		"Deleted 100% (12,000 out of 12,000)\n"+
		"Success!\n", "")
	e.run("kv", "key", "list", "--namespace-id", "n").expect(t, 0, "[]\n", "")

	// 1,000 items are one batch for wrangler: no progress even on a terminal.
	e.writeJSON("small.json", items[:1000])
	e.runOnTerminal(onTerminal, "", "kv", "bulk", "put", "small.json", "--namespace-id", "n").expect(t, 0, localWithHint+"Success!\n", "")
}

// Case 53: the file must be an array.
func TestKVBulkPutNotAnArray(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("keys.json", `{"key":"someKey1","value":"someValue1"}`)
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "some-namespace-id").expectError(t, localWithHint,
		"Unexpected JSON input from \"keys.json\".\nExpected an array of key-value objects but got type \"object\".")
	e.write("broken.json", `[{"key": "a", "value": }]`)
	r := e.run("kv", "bulk", "put", "broken.json", "--namespace-id", "some-namespace-id")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "✘ [ERROR] Could not parse \"broken.json\" as JSON.\n") {
		t.Errorf("broken JSON: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Case 54: every item is checked before anything is written; bad items are
// named, unexpected properties only warned about.
func TestKVBulkPutItemValidation(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("keys.json", `[
		123,
		"a string",
		{"key": "someKey"},
		{"value": "someValue"},
		{"key": "someKey1", "value": "someValue1"},
		{"key": "someKey1", "value": "someValue1", "invalid": true},
		{"key": 123, "value": "somevalue"},
		{"key": "somekey", "value": 123},
		{"key": "someKey1", "value": "someValue1", "expiration": "string"},
		{"key": "someKey1", "value": "someValue1", "expiration_ttl": "string"},
		{"key": 123, "value": {"a": {"nested": "object"}}},
		{"key": "someKey1", "value": "someValue1", "metadata": 123},
		{"key": "someKey1", "value": "someValue1", "base64": "string"}
	]`)
	warning := "▲ [WARNING] Unexpected key-value properties in \"keys.json\".\n\n" +
		"  The item at index 5 contains unexpected properties: [\"invalid\"].\n\n"
	wantErr := "Unexpected JSON input from \"keys.json\".\n" +
		"Each item in the array should be an object that matches:\n\n" +
		"interface KeyValue {\n" +
		"  key: string;\n" +
		"  value: string;\n" +
		"  expiration?: number;\n" +
		"  expiration_ttl?: number;\n" +
		"  metadata?: object;\n" +
		"  base64?: boolean;\n" +
		"}\n\n" +
		"The item at index 0 is 123\n" +
		"The item at index 1 is \"a string\"\n" +
		"The item at index 2 is {\"key\":\"someKey\"}\n" +
		"The item at index 3 is {\"value\":\"someValue\"}\n" +
		"The item at index 6 is {\"key\":123,\"value\":\"somevalue\"}\n" +
		"The item at index 7 is {\"key\":\"somekey\",\"value\":123}\n" +
		"The item at index 8 is {\"key\":\"someKey1\",\"value\":\"someValue1\",\"expiration\":\"string\"}\n" +
		"The item at index 9 is {\"key\":\"someKey1\",\"value\":\"someValue1\",\"expiration_ttl\":\"string\"}\n" +
		"The item at index 10 is {\"key\":123,\"value\":{\"a\":{\"nested\":\"object\"}}}\n" +
		"The item at index 11 is {\"key\":\"someKey1\",\"value\":\"someValue1\",\"metadata\":123}\n" +
		"The item at index 12 is {\"key\":\"someKey1\",\"value\":\"someValue1\",\"base64\":\"string\"}"
	r := e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "some-namespace-id")
	r.expect(t, 1, localWithHint, warning+diagnostic("✘", "ERROR", wantErr))
	// The rendering of the error keeps the interface block as notes.
	if !strings.Contains(r.stderr, "\n  interface KeyValue {\n    key: string;\n") {
		t.Errorf("error rendering:\n%s", r.stderr)
	}
	// Nothing was written, not even the good items.
	e.run("kv", "key", "get", "someKey1", "--namespace-id", "some-namespace-id").expect(t, 0, "Value not found\n", "")
	e.run("kv", "namespace", "list").expect(t, 0, "[]\n", "")
}

// Case 54: errors and warnings are each capped at 12 lines, then "...".
func TestKVBulkPutCaps(t *testing.T) {
	e := newKVEnv(t, "", "")
	numbers := make([]int, maxBulkFileProblems+5)
	for i := range numbers {
		numbers[i] = i
	}
	e.writeJSON("keys.json", numbers)
	var lines []string
	for i := range maxBulkFileProblems {
		lines = append(lines, fmt.Sprintf("The item at index %d is %d", i, i))
	}
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "n").expectError(t, localWithHint,
		"Unexpected JSON input from \"keys.json\".\nEach item in the array should be an object that matches:\n\n"+
			keyValueInterface+"\n\n"+strings.Join(lines, "\n")+"\n...")

	odd := make([]map[string]any, maxBulkFileProblems+5)
	for i := range odd {
		odd[i] = map[string]any{"key": fmt.Sprint("k", i), "value": "v", "invalid": true}
	}
	e.writeJSON("odd.json", odd)
	lines = lines[:0]
	for i := range maxBulkFileProblems {
		lines = append(lines, fmt.Sprintf(`The item at index %d contains unexpected properties: ["invalid"].`, i))
	}
	e.run("kv", "bulk", "put", "odd.json", "--namespace-id", "n").expect(t, 0, localWithHint+"Success!\n",
		diagnostic("▲", "WARNING", "Unexpected key-value properties in \"odd.json\".\n"+strings.Join(lines, "\n")+"\n..."))
	e.run("kv", "key", "get", "k16", "--namespace-id", "n").expect(t, 0, "v", "")
}

// One item the store rejects: the platform's text, the item named, and
// nothing written, also when the item is in a later batch of a large file.
func TestKVBulkPutRejectedItemWritesNothing(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("keys.json", `[
		{"key": "a", "value": "1"},
		{"key": "b", "value": "2", "expiration_ttl": 20},
		{"key": "c", "value": "3"}
	]`)
	e.run("kv", "bulk", "put", "keys.json", "--namespace-id", "n").expectError(t, localWithHint,
		"KV PUT failed: 400 Invalid expiration_ttl of 20. Expiration TTL must be at least 60.\n"+
			"The item at index 1 (key \"b\") of \"keys.json\" was rejected: nothing was written.")
	e.run("kv", "key", "get", "a", "--namespace-id", "n").expect(t, 0, "Value not found\n", "")

	items := make([]map[string]string, 10600)
	for i := range items {
		items[i] = map[string]string{"key": fmt.Sprint("k", i), "value": "v"}
	}
	items[10500]["key"] = ".."
	e.writeJSON("large.json", items)
	e.run("kv", "bulk", "put", "large.json", "--namespace-id", "n").expectError(t, localWithHint,
		"\"..\" is not allowed as a key name.\n"+
			"The item at index 10500 (key \"..\") of \"large.json\" was rejected: nothing was written.")
	e.run("kv", "key", "list", "--namespace-id", "n").expect(t, 0, "[]\n", "")
}

// Case 56: bulk delete asks first; outside a terminal it answers yes as
// wrangler does; --force and -f skip the question; {name} items work.
func TestKVBulkDelete(t *testing.T) {
	e := newKVEnv(t, "", "")
	seed := func() {
		e.write("seed.json", `[{"key":"someKey1","value":"1"},{"key":"ns:someKey2","value":"2"},{"key":"kept","value":"3"}]`)
		e.mustRun("kv", "bulk", "put", "seed.json", "--namespace-id", "some-namespace-id")
	}
	list := func() string { return e.mustRun("kv", "key", "list", "--namespace-id", "some-namespace-id") }
	onlyKept := "[\n  {\n    \"name\": \"kept\"\n  }\n]\n"
	question := `Are you sure you want to delete all the keys read from "keys.json" from kv-namespace id: "some-namespace-id"?`
	e.write("keys.json", `["someKey1", "ns:someKey2"]`)

	seed()
	e.run("kv", "bulk", "delete", "keys.json", "--namespace-id", "some-namespace-id").expect(t, 0,
		localWithHint+"? "+question+"\n🤖 Using fallback value in non-interactive context: yes\nSuccess!\n", "")
	if got := list(); got != onlyKept {
		t.Errorf("after delete: %s", got)
	}

	seed()
	interactive := kvTerminal{interactive: true, stdoutIsTerminal: true}
	e.runOnTerminal(interactive, "n\n", "kv", "bulk", "delete", "keys.json", "--namespace-id", "some-namespace-id").expect(t, 0,
		localWithHint+"? "+question+" › (Y/n) "+`Not deleting keys read from "keys.json".`+"\n", "")
	if got := list(); strings.Count(got, "name") != 3 {
		t.Errorf("declined delete removed keys: %s", got)
	}
	e.runOnTerminal(interactive, "y\n", "kv", "bulk", "delete", "keys.json", "--namespace-id", "some-namespace-id").expect(t, 0,
		localWithHint+"? "+question+" › (Y/n) Success!\n", "")
	if got := list(); got != onlyKept {
		t.Errorf("after confirmed delete: %s", got)
	}

	for _, force := range []string{"--force", "-f"} {
		seed()
		e.runOnTerminal(interactive, "", "kv", "bulk", "delete", "keys.json", "--namespace-id", "some-namespace-id", force).
			expect(t, 0, localWithHint+"Success!\n", "")
		if got := list(); got != onlyKept {
			t.Errorf("after %s delete: %s", force, got)
		}
	}

	seed()
	e.write("names.json", `[{"name": "someKey1"}, {"name": "ns:someKey2"}]`)
	e.run("kv", "bulk", "delete", "names.json", "--namespace-id", "some-namespace-id", "-f").expect(t, 0, localWithHint+"Success!\n", "")
	if got := list(); got != onlyKept {
		t.Errorf("after {name} delete: %s", got)
	}
}

// Case 56 with --binding: the question names the binding.
func TestKVBulkDeleteByBindingQuestion(t *testing.T) {
	e := newKVEnv(t, "wrangler.toml", wranglerKVConfig)
	keys := e.write("keys.json", `["a"]`)
	e.run("kv", "bulk", "delete", keys, "--binding", "someBinding", "--preview", "false").expect(t, 0, localWithHint+
		`? Are you sure you want to delete all the keys read from "`+keys+`" from kv-namespace binding: "someBinding" (id: "bound-id")?`+
		"\n🤖 Using fallback value in non-interactive context: yes\nSuccess!\n", "")
}

// Case 57: the key files of bulk delete and bulk get are checked, with
// wrangler's texts.
func TestKVBulkKeyFileValidation(t *testing.T) {
	e := newKVEnv(t, "", "")
	beta := diagnostic("▲", "WARNING", "🚧 `kiln kv bulk get` is an open beta command. Please report any issues to https://github.com/cloudflare/workers-sdk/issues/new/choose")
	e.write("number.json", `12354`)
	notArray := "Unexpected JSON input from \"number.json\".\nExpected an array of strings but got:\n12354"
	e.run("kv", "bulk", "delete", "number.json", "--namespace-id", "n", "--force").expectError(t, localWithHint, notArray)
	r := e.run("kv", "bulk", "get", "number.json", "--namespace-id", "n")
	r.expect(t, 1, "", beta+diagnostic("✘", "ERROR", notArray))

	e.write("object.json", `{"a": 1}`)
	e.run("kv", "bulk", "delete", "object.json", "--namespace-id", "n", "--force").expectError(t, localWithHint,
		"Unexpected JSON input from \"object.json\".\nExpected an array of strings but got:\n[object Object]")

	e.write("mixed.json", `["good", 12354, {"key": "someKey"}, null]`)
	mixed := "Unexpected JSON input from \"mixed.json\".\n" +
		"Expected an array of strings or objects with a \"name\" key.\n" +
		"The item at index 1 is type: \"number\" - 12354\n" +
		"The item at index 2 is type: \"object\" - {\"key\":\"someKey\"}\n" +
		"The item at index 3 is type: \"object\" - null"
	e.run("kv", "bulk", "delete", "mixed.json", "--namespace-id", "n", "--force").expectError(t, localWithHint, mixed)
	e.run("kv", "bulk", "get", "mixed.json", "--namespace-id", "n").expect(t, 1, "", beta+diagnostic("✘", "ERROR", mixed))
}

// Case 58: bulk get, local shape {key: {value}}, with the open-beta warning.
func TestKVBulkGet(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("seed.json", `[{"key":"hello","value":"world"},{"key":"test","value":"value"},{"key":"2","value":"two"}]`)
	e.mustRun("kv", "bulk", "put", "seed.json", "--namespace-id", "bulk-namespace-id")
	e.write("keys.json", `["hello", {"name": "test"}, "missing", "2"]`)
	e.run("kv", "bulk", "get", "keys.json", "--namespace-id", "bulk-namespace-id").expect(t, 0, `{
  "2": {
    "value": "two"
  },
  "hello": {
    "value": "world"
  },
  "test": {
    "value": "value"
  },
  "missing": {
    "value": null
  }
}
`, diagnostic("▲", "WARNING", "🚧 `kiln kv bulk get` is an open beta command. Please report any issues to https://github.com/cloudflare/workers-sdk/issues/new/choose"))

	e.write("bad.json", `["ok", ""]`)
	r := e.run("kv", "bulk", "get", "bad.json", "--namespace-id", "bulk-namespace-id")
	if r.code != 1 || !strings.HasSuffix(r.stderr, "✘ [ERROR] Key name cannot be empty.\n\n") {
		t.Errorf("empty key: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The wrangler 3 spelling: the deprecation warning, no resource location
// line, and wrangler 3's question.
func TestKVLegacyBulk(t *testing.T) {
	e := newKVEnv(t, "", "")
	e.write("keys.json", `[{"key":"a","value":"1"}]`)
	e.write("delete.json", `["a"]`)
	warnPut := diagnostic("▲", "WARNING", "The `kiln kv:bulk` command is deprecated and will be removed in a future major version. Please use `kiln kv bulk` instead which behaves the same.")
	e.run("kv:bulk", "put", "keys.json", "--namespace-id", "legacy").expect(t, 0, "Success!\n", warnPut)
	e.run("kv:bulk", "delete", "delete.json", "--namespace-id", "legacy").expect(t, 0,
		`? Are you sure you want to delete all the keys read from "delete.json" from kv-namespace with id "legacy"?`+"\n"+
			"🤖 Using fallback value in non-interactive context: yes\nSuccess!\n", warnPut)
	e.run("kv:key", "get", "a", "--namespace-id", "legacy").expect(t, 0, "Value not found\n",
		diagnostic("▲", "WARNING", "The `kiln kv:key` command is deprecated and will be removed in a future major version. Please use `kiln kv key` instead which behaves the same."))
	// kv:bulk has no get, as in wrangler 3.
	if r := e.run("kv:bulk", "get", "delete.json", "--namespace-id", "legacy"); r.code != 1 {
		t.Errorf("kv:bulk get: exit %d", r.code)
	}
}
