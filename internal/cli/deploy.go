package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-dev/kiln/bundle"
	"github.com/kiln-dev/kiln/config"
)

// `kiln deploy` uploads the project's Worker to a kiln server as
// `wrangler deploy` uploads it to Cloudflare: it bundles the entry point
// into one ES module, reads the deployed script's migration tag
// (GET /accounts/{a}/workers/services/{name}) and uploads the module with
// its metadata (PUT /accounts/{a}/workers/scripts/{name}), then sets the
// config's routes (PUT …/scripts/{name}/routes). The server
// environment variables are those of `kiln kv … --remote`.

type deployFlags struct {
	configPath string
	env        string
	name       string
}

func newDeployCmd(s *streams) *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Upload the Worker to a kiln server (CLOUDFLARE_API_BASE_URL), as wrangler deploy does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := &kvOutput{out: s.out, err: s.err}
			if err := runDeploy(cmd.Context(), out, &f); err != nil {
				out.printError(err.Error())
				return &exitError{code: 1}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.configPath, "config", "c", "", "path to the wrangler config file (default: searched upward from the working directory)")
	fs.StringVarP(&f.env, "env", "e", "", "environment of the config file to use (env.<NAME>)")
	fs.StringVar(&f.name, "name", "", "name of the Worker (default: the config's name)")
	return cmd
}

func runDeploy(ctx context.Context, out *kvOutput, f *deployFlags) error {
	start := time.Now()
	cfg, warnings, err := config.Load(config.LoadOptions{ConfigPath: f.configPath, Env: f.env})
	for _, w := range warnings {
		out.warn(w.String())
	}
	if err != nil {
		return err
	}
	name := cfg.Name
	if f.name != "" {
		name = f.name
	}
	if name == "" {
		return errors.New("You need to provide a name when publishing a worker. Either pass it as a cli arg with `--name <name>` or in your config file as `name = \"<name>\"`")
	}
	if cfg.Main == "" {
		return errors.New("Missing entry-point to Worker script or to assets directory")
	}
	client, err := newAPIClient(cfg.AccountID, out.warn)
	if err != nil {
		return err
	}
	defer client.http.CloseIdleConnections()

	module, err := bundleModule(ctx, cfg)
	if err != nil {
		return err
	}
	account, err := client.account(ctx)
	if err != nil {
		return err
	}
	scriptPath := "/accounts/" + account + "/workers/scripts/" + url.PathEscape(name)

	var migrations *uploadMigrations
	if len(cfg.Migrations) > 0 {
		tag, exists, err := deployedMigrationTag(ctx, client, account, name)
		if err != nil {
			return err
		}
		var warning string
		migrations, warning = migrationsToUpload(cfg.Migrations, tag, exists)
		if warning != "" {
			out.warn(fmt.Sprintf(warning, name, filepath.Base(cfg.Path)))
		}
	}
	meta := uploadMetadata{
		MainModule:         module.name,
		CompatibilityDate:  cfg.CompatibilityDate,
		CompatibilityFlags: cfg.CompatibilityFlags,
		Bindings:           uploadBindings(cfg),
		Migrations:         migrations,
	}
	if meta.CompatibilityFlags == nil {
		meta.CompatibilityFlags = []string{}
	}
	body, contentType, err := uploadForm(meta, module)
	if err != nil {
		return err
	}
	out.line(fmt.Sprintf("Total Upload: %.2f KiB", float64(len(module.code))/1024))
	printBindings(out, cfg)
	// The query wrangler adds to this upload.
	q := url.Values{"excludeScript": {"true"}, "bindings_inherit": {"strict"}}
	if _, err := client.fetch(ctx, apiRequest{method: http.MethodPut, resource: scriptPath, query: q, contentType: contentType, body: body}, nil); err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	out.line(fmt.Sprintf("Uploaded %s (%.2f sec)", name, elapsed))
	if len(cfg.Routes) > 0 {
		// Routes of the config replace those the script had, as wrangler's
		// deploy does on the original platform.
		routes := make([]deployRoute, len(cfg.Routes))
		for i, pattern := range cfg.Routes {
			routes[i] = deployRoute{Pattern: pattern}
		}
		if _, err := client.fetchJSON(ctx, http.MethodPut, scriptPath+"/routes", nil, routes, nil); err != nil {
			return fmt.Errorf("setting the routes of %s: %w", name, err)
		}
	}
	out.line(fmt.Sprintf("Deployed %s (%.2f sec)", name, time.Since(start).Seconds()))
	for _, pattern := range cfg.Routes {
		out.line("  " + pattern)
	}
	out.line(fmt.Sprintf("  The kiln server serves it at http://%s.<domain>/ (<domain> is its `kiln serve --domain`, localhost by default).", name))
	return nil
}

// deployRoute is one element of the body of PUT …/scripts/{name}/routes.
type deployRoute struct {
	Pattern string `json:"pattern"`
}

// deployedMigrationTag reads the deployed script's migration tag; exists is
// false when the server has no such script (error 10090 or HTTP 404).
func deployedMigrationTag(ctx context.Context, client *apiClient, account, name string) (tag string, exists bool, err error) {
	var service struct {
		DefaultEnvironment struct {
			Script struct {
				MigrationTag string `json:"migration_tag"`
			} `json:"script"`
		} `json:"default_environment"`
	}
	_, err = client.fetch(ctx, apiRequest{method: http.MethodGet, resource: "/accounts/" + account + "/workers/services/" + url.PathEscape(name)}, &service)
	var ae *apiError
	if errors.As(err, &ae) && (ae.code() == 10090 || ae.status == http.StatusNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return service.DefaultEnvironment.Script.MigrationTag, true, nil
}

// uploadMigrations is metadata.migrations in the stepped form.
type uploadMigrations struct {
	OldTag string          `json:"old_tag,omitempty"`
	NewTag string          `json:"new_tag"`
	Steps  []migrationStep `json:"steps"`
}

type migrationStep struct {
	NewClasses         []string        `json:"new_classes,omitempty"`
	NewSQLiteClasses   []string        `json:"new_sqlite_classes,omitempty"`
	RenamedClasses     []renamedClass  `json:"renamed_classes,omitempty"`
	DeletedClasses     []string        `json:"deleted_classes,omitempty"`
	TransferredClasses []transferClass `json:"transferred_classes,omitempty"`
}

type renamedClass struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type transferClass struct {
	From       string `json:"from"`
	FromScript string `json:"from_script"`
	To         string `json:"to"`
}

// migrationsToUpload is wrangler's rule: a script with a tag gets the
// migrations after it (none when it is the last; all, with a warning, when
// the config no longer has it); a new script, or one without a tag, gets
// all. The warning is a format taking the script and config file names.
func migrationsToUpload(ms []config.Migration, tag string, exists bool) (*uploadMigrations, string) {
	last := ms[len(ms)-1].Tag
	if !exists || tag == "" {
		return &uploadMigrations{NewTag: last, Steps: migrationSteps(ms)}, ""
	}
	for i, m := range ms {
		if m.Tag == tag {
			if i == len(ms)-1 {
				return nil, ""
			}
			return &uploadMigrations{OldTag: tag, NewTag: last, Steps: migrationSteps(ms[i+1:])}, ""
		}
	}
	warning := "The published script %s has a migration tag \"" + tag + "\", which was not found in your %s file. You may have already deleted it. Applying all available migrations to the script..."
	return &uploadMigrations{OldTag: tag, NewTag: last, Steps: migrationSteps(ms)}, warning
}

func migrationSteps(ms []config.Migration) []migrationStep {
	steps := make([]migrationStep, 0, len(ms))
	for _, m := range ms {
		s := migrationStep{NewClasses: m.NewClasses, NewSQLiteClasses: m.NewSQLiteClasses, DeletedClasses: m.DeletedClasses}
		for _, r := range m.RenamedClasses {
			s.RenamedClasses = append(s.RenamedClasses, renamedClass{From: r.From, To: r.To})
		}
		for _, t := range m.TransferredClasses {
			s.TransferredClasses = append(s.TransferredClasses, transferClass{From: t.From, FromScript: t.FromScript, To: t.To})
		}
		steps = append(steps, s)
	}
	return steps
}

// uploadMetadata is the metadata part of the upload.
type uploadMetadata struct {
	MainModule         string            `json:"main_module"`
	CompatibilityDate  string            `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Bindings           []json.RawMessage `json:"bindings"`
	Migrations         *uploadMigrations `json:"migrations,omitempty"`
}

// uploadBindings are the config's vars, KV namespaces and Durable Object
// bindings as upload bindings.
func uploadBindings(cfg *config.Config) []json.RawMessage {
	bindings := []json.RawMessage{}
	add := func(v map[string]any) {
		data, err := json.Marshal(v)
		if err == nil { // maps of strings and decoded JSON always marshal
			bindings = append(bindings, data)
		}
	}
	for _, v := range cfg.Vars {
		if s, ok := v.Value.(string); ok {
			add(map[string]any{"type": "plain_text", "name": v.Name, "text": s})
		} else {
			add(map[string]any{"type": "json", "name": v.Name, "json": v.Value})
		}
	}
	for _, ns := range cfg.KVNamespaces {
		id := ns.ID
		if id == "" {
			// As `kiln dev` names a namespace without an id.
			id = ns.Binding
		}
		add(map[string]any{"type": "kv_namespace", "name": ns.Binding, "namespace_id": id})
	}
	for _, do := range cfg.DurableObjects {
		b := map[string]any{"type": "durable_object_namespace", "name": do.Name, "class_name": do.ClassName}
		if do.ScriptName != "" {
			b["script_name"] = do.ScriptName
		}
		if do.Environment != "" {
			b["environment"] = do.Environment
		}
		add(b)
	}
	return bindings
}

// printBindings lists the bindings as wrangler does before an upload.
func printBindings(out *kvOutput, cfg *config.Config) {
	if len(cfg.Vars)+len(cfg.KVNamespaces)+len(cfg.DurableObjects) == 0 {
		out.line("No bindings found.")
		return
	}
	out.line("Your Worker has access to the following bindings:")
	for _, do := range cfg.DurableObjects {
		target := do.ClassName
		if do.ScriptName != "" {
			target += " (defined in " + do.ScriptName + ")"
		}
		out.line(fmt.Sprintf("env.%s (%s)  Durable Object", do.Name, target))
	}
	for _, ns := range cfg.KVNamespaces {
		out.line(fmt.Sprintf("env.%s (%s)  KV Namespace", ns.Binding, ns.ID))
	}
	for _, v := range cfg.Vars {
		text, _ := json.Marshal(v.Value)
		if s, ok := v.Value.(string); ok {
			text = []byte(`"` + s + `"`)
		}
		out.line(fmt.Sprintf("env.%s (%s)  Environment Variable", v.Name, text))
	}
}

// moduleFile is the bundled entry module.
type moduleFile struct {
	name string // the part's name, e.g. "index.js"
	code []byte
}

// bundleModule bundles the entry point into one ES module with the bundler
// of `kiln dev` (bundle.BuildModule); the server bundles the upload again
// for its engine.
func bundleModule(ctx context.Context, cfg *config.Config) (*moduleFile, error) {
	entry := cfg.Main
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(cfg.Dir, entry)
	}
	code, err := bundle.BuildModule(ctx, bundle.Options{Entry: entry, ProjectDir: cfg.Dir})
	if err != nil {
		var be *bundle.BuildError
		if errors.As(err, &be) {
			return nil, fmt.Errorf("Build failed with %d error(s):\n%s", len(be.Messages), be.Text)
		}
		return nil, fmt.Errorf("bundling %s: %w", cfg.Main, err)
	}
	name := strings.TrimSuffix(filepath.Base(entry), filepath.Ext(entry)) + ".js"
	return &moduleFile{name: name, code: code}, nil
}

// uploadForm is the multipart upload: metadata, then the module.
func uploadForm(meta uploadMetadata, module *moduleFile) ([]byte, string, error) {
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the upload metadata: %w", err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"; filename="blob"`)
	h.Set("Content-Type", "application/json")
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(metaJSON)
	}
	if err == nil {
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, module.name, module.name))
		h.Set("Content-Type", "application/javascript+module")
		if part, err = w.CreatePart(h); err == nil {
			_, err = part.Write(module.code)
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("building the upload form: %w", err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
