package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/kv"
	"github.com/spf13/cobra"
)

// maxBulkFileProblems is how many bad items (and, separately, items with
// unexpected properties) a bulk put reports before "..."; wrangler's
// BATCH_MAX_ERRORS_WARNINGS.
const maxBulkFileProblems = 12

// keyValueInterface is how wrangler describes a bulk put item.
const keyValueInterface = "interface KeyValue {\n" +
	"  key: string;\n" +
	"  value: string;\n" +
	"  expiration?: number;\n" +
	"  expiration_ttl?: number;\n" +
	"  metadata?: object;\n" +
	"  base64?: boolean;\n" +
	"}"

type bulkPutFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
	// Accepted as wrangler accepts them; each item carries its own.
	ttl, expires, metadata optionalString
}

func (b kvBuilder) bulkPut() *cobra.Command {
	var f bulkPutFlags
	cmd := &cobra.Command{
		Use:   "put <filename>",
		Short: "Write the key-value pairs of a JSON file",
		Long: "Write the key-value pairs of a JSON file: an array of\n" +
			"{key, value, expiration?, expiration_ttl?, metadata?, base64?} objects.\n" +
			"Every item is checked before any is written; locally, a file of up to 10,000\n" +
			"items is written all or nothing.",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	fs.Var(&f.ttl, "ttl", "ignored: items carry their own expiration_ttl")
	fs.Var(&f.expires, "expiration", "ignored: items carry their own expiration")
	fs.Var(&f.metadata, "metadata", "ignored: items carry their own metadata")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runBulkPut(ctx, c, &f, args) })
}

func runBulkPut(ctx context.Context, c *kvCall, f *bulkPutFlags, args []string) error {
	if err := c.checkKeyCommand(args, &f.location, &f.selector); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewUnset, true)
	if err != nil {
		return err
	}
	filename := args[0]
	content, err := readJSONFile(filename)
	if err != nil {
		return err
	}
	items, warning, err := bulkPutItems(content, filename)
	if warning != "" {
		c.out.warn(warning)
	}
	if err != nil {
		return err
	}

	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	progress := &bulkProgress{out: c.out, verb: "Uploaded", total: len(items)}
	if err := svc.PutBulk(ctx, target.ref, items, progress.report); err != nil {
		return bulkItemFailure(err, filename, "written")
	}
	c.out.line("Success!")
	return nil
}

// readJSONFile reads and parses a bulk command's file.
func readJSONFile(filename string) (*jsValue, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("Could not read file: %s\n%w", filename, err)
	}
	v, err := parseJS(data)
	if err != nil {
		return nil, fmt.Errorf("Could not parse %q as JSON.\n%w", filename, err)
	}
	return v, nil
}

// bulkPutItems checks a bulk put file as wrangler does, all of it before
// anything is written: bad items are an error naming each (the first
// twelve), unexpected properties of good items a warning.
func bulkPutItems(content *jsValue, filename string) (items []kv.BulkItem, warning string, err error) {
	if content.kind != jsArray {
		return nil, "", fmt.Errorf("Unexpected JSON input from %q.\nExpected an array of key-value objects but got type %q.", filename, content.typeOf())
	}
	var problems, oddities []string
	for i, item := range content.items {
		if !isKVKeyValue(item) {
			problems = appendCapped(problems, fmt.Sprintf("The item at index %d is %s", i, item.stringify("")))
			continue
		}
		if props := unexpectedKeyValueProps(item); len(props) > 0 {
			names := jsArrayValue()
			for _, p := range props {
				names.items = append(names.items, jsStringValue(p))
			}
			oddities = appendCapped(oddities, fmt.Sprintf("The item at index %d contains unexpected properties: %s.", i, names.stringify("")))
		}
		items = append(items, bulkItemOf(item))
	}
	if len(oddities) > 0 {
		warning = "Unexpected key-value properties in \"" + filename + "\".\n" + strings.Join(oddities, "\n")
	}
	if len(problems) > 0 {
		return nil, warning, errors.New("Unexpected JSON input from \"" + filename + "\".\n" +
			"Each item in the array should be an object that matches:\n\n" +
			keyValueInterface + "\n\n" + strings.Join(problems, "\n"))
	}
	return items, warning, nil
}

// appendCapped appends line unless maxBulkFileProblems lines are there
// already, in which case it appends "..." once.
func appendCapped(lines []string, line string) []string {
	switch {
	case len(lines) < maxBulkFileProblems:
		return append(lines, line)
	case len(lines) == maxBulkFileProblems:
		return append(lines, "...")
	}
	return lines
}

// isKeyValueProp reports whether name is a property of wrangler's KeyValue.
func isKeyValueProp(name string) bool {
	switch name {
	case "key", "value", "expiration", "expiration_ttl", "metadata", "base64":
		return true
	}
	return false
}

// isKVKeyValue is wrangler's item check: key and value strings, optional
// numbers expiration and expiration_ttl, optional boolean base64, optional
// metadata of typeof "object" (so null and arrays pass).
func isKVKeyValue(v *jsValue) bool {
	if v.kind != jsObject {
		return false
	}
	has := func(name, typ string, required bool) bool {
		p := v.get(name)
		if p == nil {
			return !required
		}
		return p.typeOf() == typ
	}
	return has("key", "string", true) && has("value", "string", true) &&
		has("expiration", "number", false) && has("expiration_ttl", "number", false) &&
		has("base64", "boolean", false) && has("metadata", "object", false)
}

func unexpectedKeyValueProps(v *jsValue) []string {
	var out []string
	for _, k := range v.propertyOrder() {
		if !isKeyValueProp(k) {
			out = append(out, k)
		}
	}
	return out
}

// bulkItemOf converts a checked item. A base64 value is decoded, so binary
// values round-trip.
func bulkItemOf(v *jsValue) kv.BulkItem {
	it := kv.BulkItem{Key: v.get("key").text, Value: []byte(v.get("value").text)}
	if b := v.get("base64"); b != nil && b.boolean {
		it.Value = decodeBase64Lenient(v.get("value").text)
	}
	if e := v.get("expiration"); e != nil {
		it.Expiration, it.ExpirationSet = jsNumberToInt64(e.number), true
	}
	if t := v.get("expiration_ttl"); t != nil {
		it.ExpirationTTL, it.ExpirationTTLSet = jsNumberToInt64(t.number), true
	}
	if m := v.get("metadata"); m != nil && m.kind != jsNull {
		it.Metadata = json.RawMessage(m.stringify(""))
	}
	return it
}

// decodeBase64Lenient decodes base64 as Node's Buffer.from(s, "base64")
// does: both alphabets, padding optional, other characters skipped, and
// decoding stops at the first "=".
func decodeBase64Lenient(s string) []byte {
	var clean strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=':
			i = len(s)
		case c == '-':
			clean.WriteByte('+')
		case c == '_':
			clean.WriteByte('/')
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean.WriteByte(c)
		}
	}
	text := clean.String()
	if len(text)%4 == 1 {
		text = text[:len(text)-1] // a lone character carries no whole byte
	}
	// Only valid characters are left, in a valid number: this cannot fail
	// (non-strict decoding ignores unused trailing bits).
	out, _ := base64.RawStdEncoding.DecodeString(text)
	return out
}

// bulkItemFailure explains a bulk operation the store rejected because of
// one item: the platform's text, then which item, and that the file was not
// applied.
func bulkItemFailure(err error, filename, done string) error {
	var item *kv.BulkItemError
	if !errors.As(err, &item) {
		return err
	}
	return fmt.Errorf("%s\nThe item at index %d (key %s) of %q was rejected: nothing was %s.",
		kvErrorText(item.Err), item.Index, quoteJS(item.Key), filename, done)
}

type bulkDeleteFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
	force    optionalBool
}

func (b kvBuilder) bulkDelete() *cobra.Command {
	var f bulkDeleteFlags
	cmd := &cobra.Command{
		Use:   "delete <filename>",
		Short: "Delete the keys listed in a JSON file",
		Long: "Delete the keys listed in a JSON file: an array of key names or of {name}\n" +
			"objects. It asks first, unless --force is given or the terminal is not\n" +
			"interactive (then it goes ahead, as wrangler does).",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	addOptionalBool(fs, &f.force, "force", "f", "do not ask for confirmation")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runBulkDelete(ctx, c, &f, args) })
}

func runBulkDelete(ctx context.Context, c *kvCall, f *bulkDeleteFlags, args []string) error {
	if err := c.checkKeyCommand(args, &f.location, &f.selector); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewUnset, true)
	if err != nil {
		return err
	}
	filename := args[0]
	if !f.force.value {
		question := `Are you sure you want to delete all the keys read from "` + filename + `" from kv-namespace ` + target.display + `?`
		if c.dialect == kvWrangler3 {
			question = `Are you sure you want to delete all the keys read from "` + filename + `" from kv-namespace with id "` + target.ref.ID + `"?`
		}
		ok, err := c.out.confirm(question)
		if err != nil {
			return err
		}
		if !ok {
			c.out.line(`Not deleting keys read from "` + filename + `".`)
			return nil
		}
	}
	content, err := readJSONFile(filename)
	if err != nil {
		return err
	}
	keys, err := bulkKeyNames(content, filename)
	if err != nil {
		return err
	}

	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	progress := &bulkProgress{out: c.out, verb: "Deleted", total: len(keys)}
	if err := svc.DeleteBulk(ctx, target.ref, keys, progress.report); err != nil {
		return bulkItemFailure(err, filename, "deleted")
	}
	c.out.line("Success!")
	return nil
}

// bulkKeyNames reads the keys of a bulk delete or get file: strings or
// objects with a string "name".
func bulkKeyNames(content *jsValue, filename string) ([]string, error) {
	if content.kind != jsArray {
		return nil, errors.New("Unexpected JSON input from \"" + filename + "\".\nExpected an array of strings but got:\n" + jsToString(content))
	}
	var keys, problems []string
	for i, item := range content.items {
		name := item
		if item.kind != jsString {
			name = item.get("name")
		}
		if name == nil || name.kind != jsString {
			problems = append(problems, fmt.Sprintf("The item at index %d is type: %q - %s", i, item.typeOf(), item.stringify("")))
			continue
		}
		keys = append(keys, name.text)
	}
	if len(problems) > 0 {
		return nil, errors.New("Unexpected JSON input from \"" + filename + "\".\n" +
			"Expected an array of strings or objects with a \"name\" key.\n" + strings.Join(problems, "\n"))
	}
	return keys, nil
}

// jsToString is JavaScript's String(v), which a template literal applies.
func jsToString(v *jsValue) string {
	switch v.kind {
	case jsNull:
		return "null"
	case jsBool:
		if v.boolean {
			return "true"
		}
		return "false"
	case jsNumber:
		if s := formatJSNumber(v.number); s != "null" {
			return s
		}
		if v.number < 0 {
			return "-Infinity"
		}
		return "Infinity"
	case jsString:
		return v.text
	case jsArray:
		parts := make([]string, len(v.items))
		for i, item := range v.items {
			if item.kind != jsNull {
				parts[i] = jsToString(item)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

type bulkGetFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
}

func (b kvBuilder) bulkGet() *cobra.Command {
	var f bulkGetFlags
	cmd := &cobra.Command{
		Use:   "get <filename>",
		Short: "Read the keys listed in a JSON file (open beta in wrangler)",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runBulkGet(ctx, c, &f, args) })
}

func runBulkGet(ctx context.Context, c *kvCall, f *bulkGetFlags, args []string) error {
	c.out.warn("🚧 `" + c.program + " kv bulk get` is an open beta command. Please report any issues to https://github.com/cloudflare/workers-sdk/issues/new/choose")
	if err := c.checkKeyCommand(args, &f.location, &f.selector); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewUnset, false)
	if err != nil {
		return err
	}
	filename := args[0]
	content, err := readJSONFile(filename)
	if err != nil {
		return err
	}
	keys, err := bulkKeyNames(content, filename)
	if err != nil {
		return err
	}
	// Each key is checked as a single read checks it, as wrangler's local
	// mode reads them one by one.
	for _, k := range keys {
		if err := kv.ValidateKey(kv.OpGet, k); err != nil {
			return err
		}
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	entries, err := svc.GetBulk(ctx, target.ref, keys)
	if err != nil {
		return err
	}
	// Locally, wrangler prints {key: {value}} (text, or null when missing).
	result := jsObjectValue()
	for _, k := range keys {
		value := jsNullValue()
		if e := entries[k]; e != nil {
			value = jsStringValue(decodeUTF8Lossy(e.Value))
		}
		result.set(k, jsObjectValue().set("value", value))
	}
	c.out.line(result.stringify("  "))
	return nil
}
