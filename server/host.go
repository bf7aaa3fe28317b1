package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kiln-dev/kiln/bundle"
	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/internal/atomicfile"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/webapi"
	"github.com/kiln-dev/kiln/kv"
	kvsqlite "github.com/kiln-dev/kiln/kv/sqlite"
	"github.com/kiln-dev/kiln/server/upload"
	"github.com/kiln-dev/kiln/worker"
)

// Options configure a Host.
type Options struct {
	DataDir string
	// Domain: a request for <script>.<Domain> reaches the Worker <script>.
	Domain string
	Logger *slog.Logger
	// Runtimes per Worker; 0 means one per CPU.
	Runtimes int
}

// Host runs the uploaded Workers.
type Host struct {
	opts    Options
	log     *slog.Logger
	prelude *webapi.Prelude
	memory  *js.MemoryGuard // stops scripts that allocate without bound
	stop    context.CancelFunc
	kv      *kvsqlite.Store
	objects *worker.Registry

	deployMu sync.Mutex // serialises deployments
	mu       sync.RWMutex
	scripts  map[string]*script
	// namespaces declared with the legacy POST .../durable_objects/namespaces:
	// id -> (script, class).
	namespaces map[string]DONamespace
	routes     []Route // route patterns -> scripts
	// versions uploaded with POST …/versions, not yet deployed.
	versions versionStore
}

// DONamespace is a Durable Object namespace of the account.
type DONamespace struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Script string `json:"script"`
	Class  string `json:"class"`
	SQL    bool   `json:"use_sqlite"`
}

// script is a deployed Worker.
type script struct {
	Name         string              `json:"name"`
	Upload       *upload.Upload      `json:"upload"`
	MigrationTag string              `json:"migration_tag"`
	Steps        []durable.Migration `json:"steps"` // every migration applied so far
	CreatedOn    time.Time           `json:"created_on"`
	ModifiedOn   time.Time           `json:"modified_on"`
	// VersionID is the deployed version (a UUID); DeploymentID names the
	// deployment that made it current.
	VersionID    string `json:"version_id,omitempty"`
	DeploymentID string `json:"deployment_id,omitempty"`
	// Settings that outlive uploads (see wrangler.go).
	Subdomain *SubdomainSettings `json:"subdomain,omitempty"`
	Schedules []Schedule         `json:"schedules,omitempty"`
	Settings  map[string]any     `json:"script_settings,omitempty"`
	w         *worker.Worker
}

// Open starts a host on its data directory, starting every stored Worker.
func Open(ctx context.Context, opts Options) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	prelude, err := webapi.CompilePrelude()
	if err != nil {
		return nil, err
	}
	store, err := kvsqlite.Open(ctx, filepath.Join(opts.DataDir, "kv.sqlite"), kvsqlite.Options{})
	if err != nil {
		return nil, err
	}
	guardCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h := &Host{opts: opts, log: opts.Logger, prelude: prelude, kv: store,
		memory: js.NewMemoryGuard(guardCtx, js.MemoryGuardOptions{}), stop: stop,
		objects:    worker.NewRegistry(filepath.Join(opts.DataDir, "do"), 0),
		scripts:    map[string]*script{},
		namespaces: map[string]DONamespace{},
	}
	if err := h.loadRoutes(); err != nil {
		stop()
		_ = store.Close()
		return nil, fmt.Errorf("routes.json: %w", err)
	}
	if err := h.load(ctx); err != nil {
		stop()
		_ = store.Close()
		return nil, err
	}
	return h, nil
}

// KV is the host's KV store (the management API serves it).
func (h *Host) KV() kv.Store { return h.kv }

// Close stops every Worker.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.scripts {
		if s.w != nil {
			s.w.Close()
		}
	}
	h.stop()
	return h.kv.Close()
}

func (h *Host) scriptDir(name string) string { return filepath.Join(h.opts.DataDir, "scripts", name) }

// load starts the Workers stored in the data directory.
func (h *Host) load(ctx context.Context) error {
	if data, err := os.ReadFile(filepath.Join(h.opts.DataDir, "namespaces.json")); err == nil {
		if err := json.Unmarshal(data, &h.namespaces); err != nil {
			return fmt.Errorf("namespaces.json: %w", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(h.opts.DataDir, "scripts"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(h.scriptDir(e.Name()), "script.json"))
		if err != nil {
			continue
		}
		var s script
		if err := json.Unmarshal(data, &s); err != nil {
			h.log.Error("skipping a stored script that cannot be read", "script", e.Name(), "error", err)
			continue
		}
		w, err := h.start(ctx, &s)
		if err != nil {
			h.log.Error("a stored script does not start", "script", s.Name, "error", err)
			continue
		}
		s.w = w
		h.scripts[s.Name] = &s
	}
	return nil
}

// Deploy stores and starts an upload, replacing the script of the same
// name: new requests reach the new code while in-flight ones finish, and the
// script's Durable Objects restart on the new code, keeping their storage.
// A refused upload leaves the previous version serving.
func (h *Host) Deploy(ctx context.Context, up *upload.Upload) (*ScriptInfo, error) {
	h.deployMu.Lock()
	defer h.deployMu.Unlock()
	h.mu.RLock()
	old := h.scripts[up.Script]
	h.mu.RUnlock()
	next := &script{Name: up.Script, Upload: up, CreatedOn: time.Now().UTC(), ModifiedOn: time.Now().UTC()}
	next.VersionID, next.DeploymentID = newUUID(), newUUID()
	if old != nil {
		next.CreatedOn = old.CreatedOn
		next.MigrationTag, next.Steps = old.MigrationTag, old.Steps
		next.Subdomain, next.Schedules, next.Settings = old.Subdomain, old.Schedules, old.Settings
	}
	if err := inheritBindings(up, old); err != nil {
		return nil, err
	}
	if up.Migrations != nil {
		if err := up.CheckOldTag(next.MigrationTag); err != nil {
			return nil, err
		}
		next.Steps = append(append([]durable.Migration(nil), next.Steps...), up.Migrations.Steps...)
		next.MigrationTag = up.Migrations.NewTag
	}
	if err := h.writeModules(up); err != nil {
		return nil, err
	}
	w, err := h.start(ctx, next)
	if err != nil {
		return nil, err
	}
	next.w = w
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(h.scriptDir(up.Script), "script.json"), data, 0o644); err != nil {
		w.Close()
		return nil, err
	}
	h.mu.Lock()
	h.scripts[up.Script] = next
	h.mu.Unlock()
	if old != nil && old.w != nil {
		// In-flight requests of the old version finish; it is closed after
		// them (its Durable Objects already moved to the new version).
		old.w.CloseWhenIdle()
	}
	return next.info(), nil
}

// writeModules stores the uploaded parts under the script's directory.
func (h *Host) writeModules(up *upload.Upload) error {
	dir := filepath.Join(h.scriptDir(up.Script), "modules")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, m := range up.Modules {
		clean := filepath.Clean("/" + m.Name)[1:]
		if clean == "" || strings.HasPrefix(clean, "..") {
			return &upload.Error{Code: upload.CodeBadRequest, Message: fmt.Sprintf("The module name %q is not allowed.", m.Name)}
		}
		p := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, m.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// start builds the Worker of a stored script.
func (h *Host) start(ctx context.Context, s *script) (*worker.Worker, error) {
	up := s.Upload
	spec := worker.Spec{
		Name: s.Name, Logger: h.log, Prelude: h.prelude, Runtimes: h.opts.Runtimes,
		CompatibilityDate: up.CompatibilityDate, CompatibilityFlags: up.CompatibilityFlags,
		KV: h.kv, Registry: h.objects, Memory: h.memory,
	}
	mainPath := filepath.Join(h.scriptDir(s.Name), "modules", filepath.Clean("/" + up.Main)[1:])
	if up.Format == upload.FormatServiceWorker {
		code, err := os.ReadFile(mainPath)
		if err != nil {
			return nil, err
		}
		spec.Format, spec.Script, spec.ScriptName = worker.FormatServiceWorker, string(code), up.Main
	} else {
		res, err := bundle.Build(ctx, bundle.Options{Entry: mainPath, ProjectDir: filepath.Dir(mainPath)})
		if err != nil {
			return nil, &upload.Error{Code: upload.CodeBadRequest, Message: "The script does not build:\n" + err.Error()}
		}
		spec.Script, spec.ScriptName = res.Code, bundle.ScriptName
	}
	for _, b := range up.Bindings {
		switch b.Type {
		case "plain_text", "secret_text":
			spec.Vars = append(spec.Vars, worker.Var{Name: b.Name, Value: b.Text})
		case "json":
			var v any
			if err := json.Unmarshal(b.JSON, &v); err != nil {
				return nil, &upload.Error{Code: upload.CodeBadBinding, Message: fmt.Sprintf("The json binding %q is not valid JSON.", b.Name)}
			}
			spec.Vars = append(spec.Vars, worker.Var{Name: b.Name, Value: v})
		case "kv_namespace":
			if _, err := h.kv.GetNamespace(ctx, b.NamespaceID); err != nil {
				return nil, &upload.Error{Code: 10041, Message: fmt.Sprintf("KV namespace '%s' is not valid for the binding %q.", b.NamespaceID, b.Name)}
			}
			spec.KVNamespaces = append(spec.KVNamespaces, worker.KVBinding{Name: b.Name, NamespaceID: b.NamespaceID})
		case "durable_object_namespace":
			class, scriptName := b.ClassName, b.ScriptName
			if b.NamespaceID != "" {
				h.mu.RLock()
				ns, ok := h.namespaces[b.NamespaceID]
				h.mu.RUnlock()
				if !ok {
					return nil, &upload.Error{Code: upload.CodeBadBinding, Message: fmt.Sprintf("Durable Object namespace %q does not exist.", b.NamespaceID)}
				}
				class, scriptName = ns.Class, ns.Script
			}
			if scriptName == s.Name {
				scriptName = ""
			}
			spec.DurableObjects = append(spec.DurableObjects, worker.DOBinding{Name: b.Name, ClassName: class, ScriptName: scriptName})
		}
	}
	st, err := durable.ApplyMigrations(s.Name, s.Steps)
	if err != nil {
		return nil, &upload.Error{Code: upload.CodeMigrationOrder, Message: err.Error()}
	}
	h.mu.RLock()
	for _, ns := range h.namespaces {
		if ns.Script == s.Name {
			if _, ok := st.Classes[ns.Class]; !ok {
				st.Classes[ns.Class] = durable.Class{Name: ns.Class, SQL: ns.SQL, Key: s.Name + "-" + ns.Class}
			}
		}
	}
	h.mu.RUnlock()
	names := make([]string, 0, len(st.Classes))
	for n := range st.Classes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := st.Classes[n]
		spec.Classes = append(spec.Classes, worker.DOClass{Name: c.Name, SQL: c.SQL, Key: c.Key})
	}
	w, err := worker.New(ctx, spec)
	if err != nil {
		return nil, &upload.Error{Code: upload.CodeBadRequest, Message: "The script does not start: " + err.Error()}
	}
	return w, nil
}

// DeclareNamespace is the legacy POST .../durable_objects/namespaces
// {name, script, class}: the class of a deployed script becomes a Durable
// Object namespace. The script restarts with it.
func (h *Host) DeclareNamespace(ctx context.Context, name, scriptName, class string) (DONamespace, error) {
	h.deployMu.Lock()
	defer h.deployMu.Unlock()
	h.mu.RLock()
	s := h.scripts[scriptName]
	for _, ns := range h.namespaces {
		if ns.Script == scriptName && ns.Class == class {
			h.mu.RUnlock()
			return ns, nil
		}
	}
	h.mu.RUnlock()
	if s == nil {
		return DONamespace{}, &upload.Error{Code: 10007, Message: fmt.Sprintf("Script %q not found.", scriptName)}
	}
	ns := DONamespace{ID: kv.NewNamespaceID(), Name: name, Script: scriptName, Class: class}
	h.mu.Lock()
	h.namespaces[ns.ID] = ns
	data, _ := json.MarshalIndent(h.namespaces, "", "  ")
	h.mu.Unlock()
	if err := atomicfile.Write(filepath.Join(h.opts.DataDir, "namespaces.json"), data, 0o644); err != nil {
		return DONamespace{}, err
	}
	w, err := h.start(ctx, s)
	if err != nil {
		return DONamespace{}, err
	}
	h.mu.Lock()
	old := s.w
	s.w = w
	h.mu.Unlock()
	if old != nil {
		old.CloseWhenIdle()
	}
	return ns, nil
}

// Namespaces lists the Durable Object namespaces: declared ones and the
// classes of every script's migrations.
func (h *Host) Namespaces() []DONamespace {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []DONamespace
	for _, ns := range h.namespaces {
		out = append(out, ns)
	}
	for _, s := range h.scripts {
		st, err := durable.ApplyMigrations(s.Name, s.Steps)
		if err != nil {
			continue
		}
		for _, c := range st.Classes {
			out = append(out, DONamespace{ID: namespaceID(c.Key), Name: s.Name + "_" + c.Name, Script: s.Name, Class: c.Name, SQL: c.SQL})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// namespaceID derives a stable 32-hex id for a migration-declared class.
func namespaceID(key string) string {
	id := durable.NewIDSpace("namespace").FromName(key)
	return id.String()[:32]
}

// ScriptInfo is what the API answers about a script.
type ScriptInfo struct {
	ID           string    `json:"id"`
	ETag         string    `json:"etag"`
	CreatedOn    time.Time `json:"created_on"`
	ModifiedOn   time.Time `json:"modified_on"`
	MigrationTag string    `json:"migration_tag,omitempty"`
	UsageModel   string    `json:"usage_model"`
	// DeploymentID is the id of the deployed version, which wrangler reads
	// from an upload's answer.
	DeploymentID  string `json:"deployment_id,omitempty"`
	StartupTimeMs int    `json:"startup_time_ms"`
}

func (s *script) info() *ScriptInfo {
	return &ScriptInfo{ID: s.Name, ETag: fmt.Sprintf("%x", s.ModifiedOn.UnixNano()), CreatedOn: s.CreatedOn, ModifiedOn: s.ModifiedOn, MigrationTag: s.MigrationTag, UsageModel: "standard", DeploymentID: s.VersionID}
}

// Script returns a deployed script's info.
func (h *Host) Script(name string) (*ScriptInfo, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.scripts[name]
	if !ok {
		return nil, false
	}
	return s.info(), true
}

// Scripts lists the deployed scripts.
func (h *Host) Scripts() []*ScriptInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*ScriptInfo, 0, len(h.scripts))
	for _, s := range h.scripts {
		out = append(out, s.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Delete stops and forgets a script; its Durable Object data stays.
func (h *Host) Delete(name string) bool {
	h.deployMu.Lock()
	defer h.deployMu.Unlock()
	h.mu.Lock()
	s, ok := h.scripts[name]
	delete(h.scripts, name)
	h.mu.Unlock()
	if !ok {
		return false
	}
	if s.w != nil {
		s.w.Close()
	}
	_ = os.RemoveAll(h.scriptDir(name))
	return true
}

// ServeHTTP routes public traffic: to the most specific matching route
// pattern, else by Host (<script>.<domain>).
func (h *Host) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	h.mu.RLock()
	name, routed := h.routeFor(host, r.URL.Path)
	h.mu.RUnlock()
	if !routed {
		var ok bool
		name, ok = strings.CutSuffix(strings.ToLower(host), "."+h.opts.Domain)
		if !ok || name == "" || strings.Contains(name, ".") {
			http.Error(rw, "No Worker is routed for host "+host+"; use <script>."+h.opts.Domain+" or a route", http.StatusNotFound)
			return
		}
	}
	h.mu.RLock()
	s := h.scripts[name]
	h.mu.RUnlock()
	if s == nil || s.w == nil {
		http.Error(rw, "No Worker named "+name+" is deployed.", http.StatusNotFound)
		return
	}
	s.w.ServeHTTP(rw, r)
}
