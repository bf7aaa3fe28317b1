package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/kv"
	"github.com/spf13/cobra"
)

// Namespace commands always talk to the API in wrangler. In kiln they work
// on the local store, the one `kiln dev` serves from, unless --remote sends
// them to a kiln server; they say which ("Resource location: local").

type namespaceCreateFlags struct {
	common  kvCommonFlags
	preview optionalBool
	binding string
}

func (b kvBuilder) namespaceCreate() *cobra.Command {
	var f namespaceCreateFlags
	cmd := &cobra.Command{
		Use:   "create <namespace>",
		Short: "Create a namespace and print the config snippet that binds it",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	addOptionalBool(fs, &f.preview, "preview", "", "create a preview namespace (title suffix _preview, snippet with preview_id)")
	if b.dialect == kvWrangler4 {
		fs.StringVar(&f.binding, "binding", "", "binding name to put in the printed snippet (default: derived from the namespace name)")
	}
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runNamespaceCreate(ctx, c, &f, args) })
}

func runNamespaceCreate(ctx context.Context, c *kvCall, f *namespaceCreateFlags, args []string) error {
	if err := checkPositionals(args, 1, 1); err != nil {
		return err
	}
	name, env, preview := args[0], f.common.env, f.preview.value
	p, err := loadKVProject(f.common.configPath, env, c.out)
	if err != nil {
		return err
	}
	title := namespaceTitle(c, p, name, env, preview)
	c.printLocation(false)
	c.out.line(`🌀 Creating namespace with title "` + title + `"`)
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	ns, err := svc.CreateNamespace(ctx, title)
	if errors.Is(err, kv.ErrNamespaceExists) {
		return fmt.Errorf("A KV namespace with the title %q already exists.\n\n"+
			"You can list existing namespaces with their IDs by running:\n  %s kv namespace list\n\n"+
			"Or choose a different namespace name.", title, c.program)
	}
	if err != nil {
		return err
	}
	c.out.line("✨ Success!")

	binding := validBindingName(name, "KV")
	if f.binding != "" {
		binding = f.binding
	}
	idField := "id"
	if preview {
		idField = "preview_id"
	}
	if c.dialect == kvWrangler3 {
		under := ""
		if env != "" {
			under = " under [env." + env + "]"
		}
		c.out.line("Add the following to your configuration file in your kv_namespaces array" + under + ":")
	} else {
		in := ""
		if env != "" {
			in = ` in the "` + env + `" environment`
		}
		c.out.line("To access your new KV Namespace in your Worker, add the following snippet to your configuration file" + in + ":")
	}
	c.out.line(kvNamespaceSnippet(p.configPath(), binding, idField, ns.ID))
	return nil
}

// namespaceTitle is the title of a new namespace: wrangler 4 builds
// "[env-]name[_preview]"; wrangler 3 put the Worker's name first,
// "worker[-env]-name[_preview]".
func namespaceTitle(c *kvCall, p *kvProject, name, env string, preview bool) string {
	suffix := ""
	if preview {
		suffix = "_preview"
	}
	if c.dialect == kvWrangler4 {
		prefix := ""
		if env != "" {
			prefix = env + "-"
		}
		return prefix + name + suffix
	}
	worker := topLevelWorkerName(p, env)
	if worker == "" {
		c.out.warn("No configured name present, using `worker` as a prefix for the title")
		worker = "worker"
	}
	envPart := ""
	if env != "" {
		envPart = "-" + env
	}
	return worker + envPart + "-" + name + suffix
}

// topLevelWorkerName is the configuration's own name, before an
// environment appends its name to it.
func topLevelWorkerName(p *kvProject, env string) string {
	if p.cfg == nil {
		return ""
	}
	if env == "" {
		return p.cfg.Name
	}
	top, _, err := config.Load(config.LoadOptions{ConfigPath: p.cfg.Path})
	if err != nil {
		return p.cfg.Name
	}
	return top.Name
}

var (
	bindingNameSeparators = regexp.MustCompile(`[\s-]`)
	bindingNameInvalid    = regexp.MustCompile(`[^a-zA-Z0-9_]`)
	bindingNameRepeats    = regexp.MustCompile(`_+`)
)

// validBindingName derives a binding name (a JavaScript identifier) from a
// namespace name as wrangler does: separators become underscores, other
// characters are dropped, a leading digit gets an underscore; fallback when
// nothing is left.
func validBindingName(name, fallback string) string {
	s := bindingNameSeparators.ReplaceAllString(name, "_")
	s = bindingNameInvalid.ReplaceAllString(s, "")
	s = bindingNameRepeats.ReplaceAllString(s, "_")
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	if strings.Trim(s, "_") == "" {
		return fallback
	}
	return s
}

// kvNamespaceSnippet is the kv_namespaces entry to add, in the format of
// the configuration file: TOML for wrangler.toml, JSON otherwise (also
// without a configuration file, as wrangler does).
func kvNamespaceSnippet(configPath, binding, idField, id string) string {
	if strings.HasSuffix(configPath, "toml") {
		return "[[kv_namespaces]]\nbinding = " + tomlString(binding) + "\n" + idField + " = " + tomlString(id) + "\n"
	}
	entry := jsObjectValue().set("binding", jsStringValue(binding)).set(idField, jsStringValue(id))
	return jsObjectValue().set("kv_namespaces", jsArrayValue(entry)).stringify("  ")
}

// tomlString is a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

type namespaceListFlags struct {
	common kvCommonFlags
}

func (b kvBuilder) namespaceList() *cobra.Command {
	var f namespaceListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every namespace as JSON",
	}
	f.common.register(cmd.Flags())
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runNamespaceList(ctx, c, &f, args) })
}

func runNamespaceList(ctx context.Context, c *kvCall, f *namespaceListFlags, args []string) error {
	if err := checkPositionals(args, 0, 0); err != nil {
		return err
	}
	p, err := loadKVProject(f.common.configPath, f.common.env, c.out)
	if err != nil {
		return err
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	namespaces, err := svc.ListNamespaces(ctx)
	if err != nil {
		return err
	}
	list := jsArrayValue()
	for _, ns := range namespaces {
		list.items = append(list.items, jsObjectValue().set("id", jsStringValue(ns.ID)).set("title", jsStringValue(ns.Title)))
	}
	c.out.line(list.stringify("  "))
	return nil
}

type namespaceDeleteFlags struct {
	common           kvCommonFlags
	selector         kvSelectorFlags
	skipConfirmation optionalBool
}

func (b kvBuilder) namespaceDelete() *cobra.Command {
	var f namespaceDeleteFlags
	cmd := &cobra.Command{
		Use:   "delete [namespace]",
		Short: "Delete a namespace and all its keys",
	}
	if b.dialect == kvWrangler3 {
		cmd.Use = "delete"
	}
	fs := cmd.Flags()
	f.common.register(fs)
	f.selector.register(fs)
	if b.dialect == kvWrangler4 {
		addOptionalBool(fs, &f.skipConfirmation, "skip-confirmation", "y", "do not ask for confirmation")
	}
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error {
		if c.dialect == kvWrangler3 {
			return runNamespaceDeleteV3(ctx, c, &f, args)
		}
		return runNamespaceDelete(ctx, c, &f, args)
	})
}

// runNamespaceDelete is wrangler 4's: the namespace is named by title, by
// binding or by id, and the deletion is confirmed.
func runNamespaceDelete(ctx context.Context, c *kvCall, f *namespaceDeleteFlags, args []string) error {
	if err := checkPositionals(args, 0, 1); err != nil {
		return err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	selectors := 0
	for _, given := range []bool{name != "", f.selector.binding != "", f.selector.namespaceID != ""} {
		if given {
			selectors++
		}
	}
	switch {
	case selectors > 1:
		return errors.New("Only one namespace selector is allowed. Provide exactly one of: a positional namespace name, `--binding`, or `--namespace-id`.")
	case selectors == 0:
		return errors.New("No KV namespace specified. Provide a namespace name as a positional argument, or use `--binding` or `--namespace-id`.")
	}

	c.printLocation(false)
	p, err := loadKVProject(f.common.configPath, f.common.env, c.out)
	if err != nil {
		return err
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	namespaces, err := svc.ListNamespaces(ctx)
	if err != nil {
		return err
	}
	var id, label string
	switch {
	case name != "":
		ns, ok := namespaceByTitle(namespaces, name)
		if !ok {
			return fmt.Errorf("Not able to delete namespace.\nNo KV namespace named %q was found in your account. Use `--namespace-id` or `--binding` instead, or run `%s kv namespace list` to see all available namespaces.", name, c.program)
		}
		id, label = ns.ID, name+" ("+ns.ID+")"
	case f.selector.binding != "":
		if id, err = p.namespaceIDv4(f.selector.selector(config.PreviewUnset)); err != nil {
			return errors.New("Not able to delete namespace.\n" + err.Error())
		}
		label = f.selector.binding + " (" + id + ")"
	default:
		id, label = f.selector.namespaceID, f.selector.namespaceID
		if ns, ok := namespaceByID(namespaces, id); ok {
			label = ns.Title + " (" + id + ")"
		}
	}
	if _, ok := namespaceByID(namespaces, id); !ok {
		return namespaceAPIError(id, kv.ErrNamespaceNotFound)
	}

	where := "local"
	if c.remote {
		where = "remote"
	}
	c.out.line("About to delete " + where + " KV namespace '" + label + "'.\n" +
		"This action is irreversible and will permanently delete all data in the KV namespace.\n")
	if !f.skipConfirmation.value {
		ok, err := c.out.confirm("Ok to proceed?")
		if err != nil {
			return err
		}
		if !ok {
			c.out.line("Not deleting KV namespace " + id + ".")
			return nil
		}
	}
	c.out.line("Deleting KV namespace " + id + ".")
	if err := svc.DeleteNamespace(ctx, id); err != nil {
		return namespaceAPIError(id, err)
	}
	c.out.line("Deleted KV namespace " + id + ".")
	return nil
}

// runNamespaceDeleteV3 is wrangler 3's: --binding or --namespace-id, no
// confirmation.
func runNamespaceDeleteV3(ctx context.Context, c *kvCall, f *namespaceDeleteFlags, args []string) error {
	if err := checkPositionals(args, 0, 0); err != nil {
		return err
	}
	if err := f.selector.demand(c); err != nil {
		return err
	}
	p, err := loadKVProject(f.common.configPath, f.common.env, c.out)
	if err != nil {
		return err
	}
	id := f.selector.namespaceID
	if id == "" {
		if id, err = p.namespaceIDv3(f.selector.selector(config.PreviewUnset)); err != nil {
			return errors.New("Not able to delete namespace.\n" + err.Error())
		}
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	c.out.line("Deleting KV namespace " + id + ".")
	if err := svc.DeleteNamespace(ctx, id); err != nil {
		return namespaceAPIError(id, err)
	}
	c.out.line("Deleted KV namespace " + id + ".")
	return nil
}

type namespaceRenameFlags struct {
	common      kvCommonFlags
	namespaceID string
	newName     optionalString
}

func (b kvBuilder) namespaceRename() *cobra.Command {
	var f namespaceRenameFlags
	cmd := &cobra.Command{
		Use:   "rename [old-name]",
		Short: "Give a namespace a new title",
	}
	fs := cmd.Flags()
	f.common.register(fs)
	fs.StringVar(&f.namespaceID, "namespace-id", "", "id of the namespace to rename (instead of its current title)")
	fs.Var(&f.newName, "new-name", "the new title (required)")
	return b.leaf(cmd, func(ctx context.Context, c *kvCall, args []string) error { return runNamespaceRename(ctx, c, &f, args) })
}

// maxNamespaceTitleLength is the API's limit on a title, in JavaScript
// string length.
const maxNamespaceTitleLength = 512

func runNamespaceRename(ctx context.Context, c *kvCall, f *namespaceRenameFlags, args []string) error {
	if !f.newName.set {
		return errors.New("Missing required argument: new-name")
	}
	if err := checkPositionals(args, 0, 1); err != nil {
		return err
	}
	oldName := ""
	if len(args) == 1 {
		oldName = args[0]
	}
	switch {
	case oldName != "" && f.namespaceID != "":
		return errors.New("Cannot specify both old-name and --namespace-id. Use either old-name (as first argument) or --namespace-id flag, not both.")
	case oldName == "" && f.namespaceID == "":
		return errors.New("Either old-name (as first argument) or --namespace-id must be specified")
	}
	newName := f.newName.value
	if n := jsLength(newName); n > maxNamespaceTitleLength {
		return fmt.Errorf("new-name must be %d characters or less (current: %d)", maxNamespaceTitleLength, n)
	}

	c.printLocation(false)
	p, err := loadKVProject(f.common.configPath, f.common.env, c.out)
	if err != nil {
		return err
	}
	svc, err := c.openService(ctx, p, f.common.persistTo)
	if err != nil {
		return err
	}
	defer svc.Close()
	id := f.namespaceID
	if oldName != "" {
		namespaces, err := svc.ListNamespaces(ctx)
		if err != nil {
			return err
		}
		ns, ok := namespaceByTitle(namespaces, oldName)
		if !ok {
			return fmt.Errorf(`No namespace found with the name %q. Use --namespace-id instead or check available namespaces with "%s kv namespace list".`, oldName, c.program)
		}
		id = ns.ID
	}
	c.out.line(`Renaming KV namespace ` + id + ` to "` + newName + `".`)
	ns, err := svc.RenameNamespace(ctx, id, newName)
	if err != nil {
		return namespaceAPIError(id, err)
	}
	c.out.line(`✨ Successfully renamed namespace to "` + ns.Title + `"`)
	return nil
}

func namespaceByTitle(namespaces []kv.Namespace, title string) (kv.Namespace, bool) {
	for _, ns := range namespaces {
		if ns.Title == title {
			return ns, true
		}
	}
	return kv.Namespace{}, false
}

func namespaceByID(namespaces []kv.Namespace, id string) (kv.Namespace, bool) {
	for _, ns := range namespaces {
		if ns.ID == id {
			return ns, true
		}
	}
	return kv.Namespace{}, false
}

// namespaceAPIError renders a namespace the store did not find, or a title
// it already has, as wrangler renders the API's answer to the same request
// (the account of the local store is called "local").
func namespaceAPIError(id string, err error) error {
	var note string
	switch {
	case errors.Is(err, kv.ErrNamespaceNotFound):
		note = "Unknown namespace. [code: 10009]"
	case errors.Is(err, kv.ErrNamespaceExists):
		note = "A namespace with this account ID and title already exists [code: 10014]"
	default:
		return err
	}
	return fmt.Errorf("A request to the Cloudflare API (/accounts/local/storage/kv/namespaces/%s) failed.\n%s", id, note)
}
