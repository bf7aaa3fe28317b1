package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/kv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The kv commands are wrangler's, in both spellings:
//
//	kiln kv namespace create|list|delete|rename   (wrangler 4)
//	kiln kv key put|get|list|delete
//	kiln kv bulk get|put|delete
//	kiln kv:namespace create|list|delete          (wrangler 3, deprecated)
//	kiln kv:key put|get|list|delete
//	kiln kv:bulk put|delete
//
// Both spellings behave the same; each prints the texts of the wrangler
// version that had it (the colon spelling was removed in wrangler 4), so a
// script written against either keeps working. Key and bulk commands are
// local by default, as in wrangler 4, and work on the store `kiln dev`
// serves from; --remote talks to a kiln server. Namespace commands, which
// in wrangler always talk to the API, work on the local store unless given
// --remote.
//
// Every failure exits with code 1, as wrangler does for its own errors and
// for argument errors alike.

// kvDialect is which wrangler's texts a command prints.
type kvDialect int

const (
	kvWrangler4 kvDialect = iota // `kv namespace`, `kv key`, `kv bulk`
	kvWrangler3                  // `kv:namespace`, `kv:key`, `kv:bulk`
)

// newKVCmd is `kiln kv`.
func newKVCmd(s *streams) *cobra.Command {
	return newKVCmdFor(s, detectKVTerminal(s))
}

func newKVCmdFor(s *streams, term kvTerminal) *cobra.Command {
	b := kvBuilder{s: s, term: term, dialect: kvWrangler4}
	cmd := b.group("kv", "Manage Workers KV namespaces, keys and values (wrangler's kv commands)", false)
	namespace := b.group("namespace", "Create, list, rename and delete KV namespaces", false)
	namespace.AddCommand(b.namespaceCreate(), b.namespaceList(), b.namespaceDelete(), b.namespaceRename())
	key := b.group("key", "Write, read, list and delete single keys", false)
	key.AddCommand(b.keyPut(), b.keyGet(), b.keyList(), b.keyDelete())
	bulk := b.group("bulk", "Write, read and delete many keys from a JSON file", false)
	bulk.AddCommand(b.bulkGet(), b.bulkPut(), b.bulkDelete())
	cmd.AddCommand(namespace, key, bulk)
	return cmd
}

// newLegacyKVNamespaceCmd is `kiln kv:namespace`, wrangler 3's spelling.
func newLegacyKVNamespaceCmd(s *streams) *cobra.Command {
	b := kvBuilder{s: s, term: detectKVTerminal(s), dialect: kvWrangler3, legacyGroup: "kv:namespace"}
	cmd := b.group("kv:namespace", "Deprecated spelling of `kiln kv namespace`", true)
	cmd.AddCommand(b.namespaceCreate(), b.namespaceList(), b.namespaceDelete())
	return cmd
}

// newLegacyKVKeyCmd is `kiln kv:key`, wrangler 3's spelling.
func newLegacyKVKeyCmd(s *streams) *cobra.Command {
	b := kvBuilder{s: s, term: detectKVTerminal(s), dialect: kvWrangler3, legacyGroup: "kv:key"}
	cmd := b.group("kv:key", "Deprecated spelling of `kiln kv key`", true)
	cmd.AddCommand(b.keyPut(), b.keyGet(), b.keyList(), b.keyDelete())
	return cmd
}

// newLegacyKVBulkCmd is `kiln kv:bulk`, wrangler 3's spelling.
func newLegacyKVBulkCmd(s *streams) *cobra.Command {
	b := kvBuilder{s: s, term: detectKVTerminal(s), dialect: kvWrangler3, legacyGroup: "kv:bulk"}
	cmd := b.group("kv:bulk", "Deprecated spelling of `kiln kv bulk`", true)
	cmd.AddCommand(b.bulkPut(), b.bulkDelete())
	return cmd
}

// kvBuilder makes the commands of one spelling.
type kvBuilder struct {
	s       *streams
	term    kvTerminal
	dialect kvDialect
	// legacyGroup is the deprecated group name ("kv:key"), "" for the
	// wrangler 4 spelling.
	legacyGroup string
}

// group is a command that only holds subcommands. Without one it prints
// its help; an unknown one is wrangler's "Unknown argument".
func (b kvBuilder) group(name, short string, hidden bool) *cobra.Command {
	return &cobra.Command{
		Use:    name,
		Short:  short,
		Hidden: hidden,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			out := b.output()
			out.printError(unknownArguments(args))
			return &exitError{code: 1}
		},
	}
}

func (b kvBuilder) output() *kvOutput {
	return &kvOutput{out: b.s.out, err: b.s.err, stdin: b.s.in, terminal: b.term}
}

// kvCall is one run of a kv command.
type kvCall struct {
	out     *kvOutput
	dialect kvDialect
	program string // the binary's name, for the commands messages suggest
	// remote: the command talks to a kiln server's API (--remote, or
	// --local false) rather than the local store.
	remote bool
}

// leaf finishes a command: kv commands parse their own flags so that a
// boolean flag takes a following "true" or "false" as yargs does
// (`--preview false`), and print errors as wrangler does.
func (b kvBuilder) leaf(cmd *cobra.Command, run func(ctx context.Context, c *kvCall, args []string) error) *cobra.Command {
	cmd.DisableFlagParsing = true
	cmd.Args = cobra.ArbitraryArgs
	if cmd.Flags().Lookup("remote") == nil {
		// Namespace commands: local by default, the API with --remote.
		addOptionalBool(cmd.Flags(), &optionalBool{}, "remote", "", "use a kiln server's API (CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN)")
	}
	cmd.RunE = func(cc *cobra.Command, raw []string) error {
		call := &kvCall{out: b.output(), dialect: b.dialect, program: cc.Root().Name()}
		fs := cc.Flags()
		if err := fs.Parse(yargsBooleans(fs, raw)); err != nil {
			return call.fail(flagError(err))
		}
		loc := locationOf(fs)
		call.remote = !loc.isLocal()
		if help, _ := fs.GetBool("help"); help {
			return cc.Help()
		}
		if b.legacyGroup != "" {
			modern := "kv " + strings.TrimPrefix(b.legacyGroup, "kv:")
			call.out.warn(fmt.Sprintf("The `%s %s` command is deprecated and will be removed in a future major version. Please use `%s %s` instead which behaves the same.",
				call.program, b.legacyGroup, call.program, modern))
		}
		if err := run(cc.Context(), call, fs.Args()); err != nil {
			return call.fail(err)
		}
		return nil
	}
	return cmd
}

// fail prints err as wrangler prints a failed command and ends the command
// with exit code 1.
func (c *kvCall) fail(err error) error {
	c.out.printError(kvErrorText(err))
	return &exitError{code: 1}
}

// kvErrorText is the text shown for err: a rejected KV operation shows the
// platform's text alone (what wrangler's local mode prints), without the
// wrapping that says which layer it went through.
func kvErrorText(err error) string {
	var kvErr *kv.Error
	if errors.As(err, &kvErr) {
		return kvErr.Error()
	}
	return err.Error()
}

// yargsBooleans rewrites "--flag true|false" and "-f true|false" as
// "--flag=…" for boolean flags: yargs takes a following "true" or "false"
// as a boolean flag's value, pflag would take it as a positional argument.
func yargsBooleans(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		var f *pflag.Flag
		switch {
		case strings.HasPrefix(a, "--") && !strings.Contains(a, "="):
			f = fs.Lookup(a[2:])
		case len(a) == 2 && a[0] == '-' && a[1] != '-':
			f = fs.ShorthandLookup(a[1:])
		}
		if f != nil && f.Value.Type() == "bool" && i+1 < len(args) && (args[i+1] == "true" || args[i+1] == "false") {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// flagError turns pflag's unknown-flag errors into yargs' text.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		return errors.New("Unknown argument: " + name)
	}
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok {
		if name, _, found := strings.Cut(rest, "'"); found {
			return errors.New("Unknown argument: " + name)
		}
	}
	return err
}

func unknownArguments(args []string) string {
	if len(args) == 1 {
		return "Unknown argument: " + args[0]
	}
	return "Unknown arguments: " + strings.Join(args, ", ")
}

// checkPositionals checks the number of positional arguments with yargs'
// texts; max < 0 means no upper bound.
func checkPositionals(args []string, min, max int) error {
	if len(args) < min {
		return fmt.Errorf("Not enough non-option arguments: got %d, need at least %d", len(args), min)
	}
	if max >= 0 && len(args) > max {
		return errors.New(unknownArguments(args[max:]))
	}
	return nil
}

// kvOption is one of a set of options of which exactly one must be given.
type kvOption struct {
	name       string
	positional bool // written <name> rather than --name
	given      bool // given and not empty, as JavaScript's truthiness
}

// demandOneOf checks that exactly one of options was given, with the
// dialect's texts.
func (c *kvCall) demandOneOf(options ...kvOption) error {
	var names, given []string
	for _, o := range options {
		label := o.name
		if c.dialect == kvWrangler4 {
			label = "--" + o.name
			if o.positional {
				label = "<" + o.name + ">"
			}
		}
		names = append(names, label)
		if o.given {
			given = append(given, label)
		}
	}
	if c.dialect == kvWrangler3 {
		switch {
		case len(given) == 0:
			return fmt.Errorf("Exactly one of the arguments %s is required", strings.Join(names, " and "))
		case len(given) > 1:
			return fmt.Errorf("Arguments %s are mutually exclusive", strings.Join(given, " and "))
		}
		return nil
	}
	switch {
	case len(given) == 0:
		return fmt.Errorf("Missing required option: exactly one of %s must be provided", listConjunction(names))
	case len(given) > 1:
		return fmt.Errorf("Conflicting options: %s cannot be used together. Please provide only one.", listConjunction(given))
	}
	return nil
}

// listConjunction joins as Intl.ListFormat("en-US") does: "a and b",
// "a, b, and c".
func listConjunction(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}

// optionalBool is a boolean flag that remembers whether it was given, as a
// yargs boolean without a default does (wrangler tells `--preview false`
// from no --preview).
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) String() string {
	if !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Type() string { return "bool" }

// preview is the flag as config.Preview; unset gives def.
func (b *optionalBool) preview(def config.Preview) config.Preview {
	switch {
	case !b.set:
		return def
	case b.value:
		return config.PreviewOn
	}
	return config.PreviewOff
}

func addOptionalBool(fs *pflag.FlagSet, b *optionalBool, name, shorthand, usage string) {
	f := fs.VarPF(b, name, shorthand, usage)
	f.NoOptDefVal = "true"
}

// kvCommonFlags are the flags of every kv command.
type kvCommonFlags struct {
	configPath string
	env        string
	persistTo  string
}

func (f *kvCommonFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.configPath, "config", "c", "", "path to the wrangler config file (default: searched upward from the working directory)")
	fs.StringVarP(&f.env, "env", "e", "", "environment of the config file to use (env.<NAME>)")
	fs.StringVar(&f.persistTo, "persist-to", "", "directory of local data (default: .kiln/state beside the config file), as for kiln dev")
}

// kvSelectorFlags choose the namespace of a key or bulk command.
type kvSelectorFlags struct {
	binding     string
	namespaceID string
	preview     optionalBool
}

func (f *kvSelectorFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.binding, "binding", "", "binding name of the namespace in the config file")
	fs.StringVar(&f.namespaceID, "namespace-id", "", "id of the namespace")
	addOptionalBool(fs, &f.preview, "preview", "", "use the binding's preview_id (--preview false: its id)")
}

func (f *kvSelectorFlags) demand(c *kvCall) error {
	return c.demandOneOf(
		kvOption{name: "binding", given: f.binding != ""},
		kvOption{name: "namespace-id", given: f.namespaceID != ""},
	)
}

func (f *kvSelectorFlags) selector(defaultPreview config.Preview) kvSelector {
	return kvSelector{binding: f.binding, namespaceID: f.namespaceID, preview: f.preview.preview(defaultPreview)}
}

// kvLocationFlags are --local and --remote.
type kvLocationFlags struct {
	local, remote optionalBool
}

func (f *kvLocationFlags) register(fs *pflag.FlagSet) {
	addOptionalBool(fs, &f.local, "local", "", "use the local store, shared with kiln dev (the default)")
	addOptionalBool(fs, &f.remote, "remote", "", "use a kiln server's API (CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN)")
}

// check rejects giving both, as yargs' conflicts does.
func (f *kvLocationFlags) check() error {
	if f.local.set && f.remote.set {
		return errors.New("Arguments remote and local are mutually exclusive")
	}
	return nil
}

// isLocal is wrangler 4's rule: local unless --remote or --local false.
func (f *kvLocationFlags) isLocal() bool {
	if !f.local.set && !f.remote.set {
		return true
	}
	return (f.local.set && f.local.value) || (f.remote.set && !f.remote.value)
}

// locationOf reads --local and --remote from a parsed flag set (either may
// be absent).
func locationOf(fs *pflag.FlagSet) kvLocationFlags {
	var loc kvLocationFlags
	if f := fs.Lookup("local"); f != nil {
		if b, ok := f.Value.(*optionalBool); ok {
			loc.local = *b
		}
	}
	if f := fs.Lookup("remote"); f != nil {
		if b, ok := f.Value.(*optionalBool); ok {
			loc.remote = *b
		}
	}
	return loc
}

// requireLocal checks, before anything is printed, that a remote command
// can reach a server: the API's environment variables must be set.
func (f *kvLocationFlags) requireLocal() error {
	if !f.isLocal() {
		_, err := readAPIEnv()
		return err
	}
	return nil
}

// openService opens where the command's data lives: the local store of the
// project (the file `kiln dev` uses for the same --persist-to), or with
// --remote a kiln server's API.
func (c *kvCall) openService(ctx context.Context, p *kvProject, persistTo string) (kvService, error) {
	if c.remote {
		account := ""
		if p.cfg != nil {
			account = p.cfg.AccountID
		}
		return openRemoteKV(ctx, account, c.out.warn)
	}
	return openLocalKV(ctx, p.kvStorePath(persistTo))
}

// printLocation prints wrangler 4's resource location lines; wrangler 3
// printed none.
func (c *kvCall) printLocation(withRemoteHint bool) {
	if c.dialect != kvWrangler4 {
		return
	}
	if c.remote {
		c.out.resourceLocation("remote", false)
		return
	}
	c.out.resourceLocation("local", withRemoteHint)
}

// jsLength is a string's length in JavaScript (UTF-16 code units).
func jsLength(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
