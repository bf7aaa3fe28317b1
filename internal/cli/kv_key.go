package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/kv"
	"github.com/spf13/cobra"
)

// optionalString is a string flag that remembers whether it was given.
type optionalString struct {
	set   bool
	value string
}

func (s *optionalString) Set(v string) error { s.set, s.value = true, v; return nil }
func (s *optionalString) String() string     { return s.value }
func (s *optionalString) Type() string       { return "string" }

type keyPutFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
	path     string
	ttl      optionalString
	expires  optionalString
	metadata optionalString
}

func (b kvBuilder) keyPut() *cobra.Command {
	var f keyPutFlags
	cmd := &cobra.Command{
		Use:   "put <key> [value]",
		Short: "Write one value under a key",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	fs.StringVar(&f.path, "path", "", "read the value from this file (any bytes)")
	fs.Var(&f.ttl, "ttl", "seconds until the key expires (at least 60)")
	fs.Var(&f.expires, "expiration", "when the key expires, in seconds since the Unix epoch")
	fs.Var(&f.metadata, "metadata", "metadata to store with the key: a JSON object")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runKeyPut(ctx, c, &f, args) })
}

func runKeyPut(ctx context.Context, c *kvCall, f *keyPutFlags, args []string) error {
	if err := checkPositionals(args, 1, 2); err != nil {
		return err
	}
	if err := f.location.check(); err != nil {
		return err
	}
	key, value := args[0], ""
	if len(args) == 2 {
		value = args[1]
	}
	if err := f.selector.demand(c); err != nil {
		return err
	}
	err := c.demandOneOf(
		kvOption{name: "value", positional: true, given: value != ""},
		kvOption{name: "path", given: f.path != ""},
	)
	if err != nil {
		return err
	}
	metadata, err := parseMetadataFlag(f.metadata)
	if err != nil {
		return err
	}
	var opts kv.PutOptions
	if opts.ExpirationTTL, opts.ExpirationTTLSet, err = parseSecondsFlag("ttl", f.ttl); err != nil {
		return err
	}
	if opts.Expiration, opts.ExpirationSet, err = parseSecondsFlag("expiration", f.expires); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewUnset, true)
	if err != nil {
		return err
	}
	data := []byte(value)
	if f.path != "" {
		if data, err = os.ReadFile(f.path); err != nil {
			return fmt.Errorf("Could not read file: %s\n%w", f.path, err)
		}
	}
	metadataLog := ""
	if metadata != nil {
		compact := metadata.stringify("")
		opts.Metadata = json.RawMessage(compact)
		metadataLog = ` with metadata "` + compact + `"`
	}
	if f.path != "" {
		c.out.line(`Writing the contents of ` + f.path + ` to the key "` + key + `" on namespace ` + target.display + metadataLog + `.`)
	} else {
		c.out.line(`Writing the value "` + value + `" to key "` + key + `" on namespace ` + target.display + metadataLog + `.`)
	}

	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.PutValue(ctx, target.ref, key, data, opts)
}

// parseMetadataFlag reads --metadata, which must be a JSON object (wrangler
// 4's check and texts).
func parseMetadataFlag(f optionalString) (*jsValue, error) {
	if !f.set {
		return nil, nil
	}
	v, err := parseJS([]byte(f.value))
	if err != nil {
		return nil, fmt.Errorf("--metadata must be valid JSON. Received: %s", f.value)
	}
	if v.kind != jsObject {
		return nil, fmt.Errorf("--metadata must be a JSON object. Received: %s", f.value)
	}
	return v, nil
}

// parseSecondsFlag reads --ttl or --expiration. A fraction is cut off, as
// the runtime's integer conversion does; the kv package checks the range
// with the platform's texts.
func parseSecondsFlag(name string, f optionalString) (seconds int64, set bool, err error) {
	if !f.set {
		return 0, false, nil
	}
	text := strings.TrimSpace(f.value)
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, true, nil
	}
	if x, err := strconv.ParseFloat(text, 64); err == nil && !math.IsNaN(x) {
		return jsNumberToInt64(x), true, nil
	}
	return 0, false, fmt.Errorf("--%s must be a number. Received: %s", name, f.value)
}

// jsNumberToInt64 truncates a number toward zero, saturating at the int64
// range.
func jsNumberToInt64(x float64) int64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt64:
		return math.MaxInt64
	case x <= math.MinInt64:
		return math.MinInt64
	}
	return int64(x)
}

type keyGetFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
	text     optionalBool
}

func (b kvBuilder) keyGet() *cobra.Command {
	var f keyGetFlags
	cmd := &cobra.Command{
		Use:   "get <key>",
		Short: "Read one value (raw bytes to stdout, or text with --text)",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	addOptionalBool(fs, &f.text, "text", "", "decode the value as UTF-8 text and end it with a newline")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runKeyGet(ctx, c, &f, args) })
}

func runKeyGet(ctx context.Context, c *kvCall, f *keyGetFlags, args []string) error {
	if err := c.checkKeyCommand(args, &f.location, &f.selector); err != nil {
		return err
	}
	// Reading defaults to the production namespace, as in wrangler.
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewOff, false)
	if err != nil {
		return err
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	value, found, err := svc.GetValue(ctx, target.ref, args[0])
	if err != nil {
		return err
	}
	if !found {
		c.out.line("Value not found")
		return nil
	}
	if f.text.value {
		c.out.line(decodeUTF8Lossy(value))
		return nil
	}
	if _, err := c.out.out.Write(value); err != nil {
		return fmt.Errorf("writing the value: %w", err)
	}
	return nil
}

type keyListFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
	prefix   string
}

func (b kvBuilder) keyList() *cobra.Command {
	var f keyListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every key of a namespace as JSON",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	fs.StringVar(&f.prefix, "prefix", "", "list only the keys that start with this prefix")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runKeyList(ctx, c, &f, args) })
}

func runKeyList(ctx context.Context, c *kvCall, f *keyListFlags, args []string) error {
	if err := checkPositionals(args, 0, 0); err != nil {
		return err
	}
	if err := f.location.check(); err != nil {
		return err
	}
	if err := f.selector.demand(c); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewOff, false)
	if err != nil {
		return err
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	keys, err := svc.ListKeys(ctx, target.ref, f.prefix)
	if err != nil {
		return err
	}
	c.out.line(keyListJSON(keys).stringify("  "))
	return nil
}

// keyListJSON is the listing as wrangler prints it: {name, expiration?,
// metadata?} per key.
func keyListJSON(keys []kv.KeyInfo) *jsValue {
	list := jsArrayValue()
	for _, k := range keys {
		item := jsObjectValue().set("name", jsStringValue(k.Name))
		if k.Expiration != 0 {
			item.set("expiration", jsNumberValue(float64(k.Expiration)))
		}
		if len(k.Metadata) > 0 {
			md, err := parseJS(k.Metadata)
			if err != nil {
				md = jsStringValue(string(k.Metadata))
			}
			item.set("metadata", md)
		}
		list.items = append(list.items, item)
	}
	return list
}

type keyDeleteFlags struct {
	common   kvCommonFlags
	selector kvSelectorFlags
	location kvLocationFlags
}

func (b kvBuilder) keyDelete() *cobra.Command {
	var f keyDeleteFlags
	cmd := &cobra.Command{
		Use:   "delete <key>",
		Short: "Delete one key",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	f.location.register(fs)
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runKeyDelete(ctx, c, &f, args) })
}

func runKeyDelete(ctx context.Context, c *kvCall, f *keyDeleteFlags, args []string) error {
	if err := c.checkKeyCommand(args, &f.location, &f.selector); err != nil {
		return err
	}
	p, target, err := c.keyTarget(&f.location, &f.common, &f.selector, config.PreviewUnset, true)
	if err != nil {
		return err
	}
	key := args[0]
	c.out.line(`Deleting the key "` + key + `" on namespace ` + target.display + `.`)
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.DeleteValue(ctx, target.ref, key)
}
