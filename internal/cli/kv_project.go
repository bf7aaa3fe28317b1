package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kiln-dev/kiln/config"
	"github.com/kiln-dev/kiln/internal/localstate"
)

// kvProject is the wrangler configuration a kv command runs against. The kv
// commands also work without one (--namespace-id needs no configuration).
type kvProject struct {
	cfg *config.Config // nil when there is no configuration file
	// dir is where the default persist directory lives: the directory of
	// the configuration file, else the working directory.
	dir string
}

// loadKVProject loads the configuration named by --config, or found upward
// from the working directory; its warnings are printed. A missing file is
// an error only when --config named it.
func loadKVProject(configPath, env string, out *kvOutput) (*kvProject, error) {
	cfg, warnings, err := config.Load(config.LoadOptions{ConfigPath: configPath, Env: env})
	for _, w := range warnings {
		out.warn(w.String())
	}
	if err != nil {
		if configPath == "" && errors.Is(err, config.ErrNotFound) {
			wd, werr := os.Getwd()
			if werr != nil {
				return nil, fmt.Errorf("finding the working directory: %w", werr)
			}
			return &kvProject{dir: wd}, nil
		}
		return nil, err
	}
	return &kvProject{cfg: cfg, dir: cfg.Dir}, nil
}

// kvStorePath is the SQLite file of the local KV store: the one `kiln dev`
// serves from for the same project and --persist-to.
func (p *kvProject) kvStorePath(persistTo string) string {
	return localstate.KVPath(localstate.Dir(p.dir, persistTo))
}

// workerName is the Worker's name as `kiln dev` names local namespaces
// after it ("worker" when the configuration has none).
func (p *kvProject) workerName() string {
	if p.cfg == nil || p.cfg.Name == "" {
		return "worker"
	}
	return p.cfg.Name
}

// configPath is the configuration file, "" without one.
func (p *kvProject) configPath() string {
	if p.cfg == nil {
		return ""
	}
	return p.cfg.Path
}

// kvSelector is how a command names its namespace: --binding (resolved
// through the configuration, with --preview) or --namespace-id.
type kvSelector struct {
	binding     string
	namespaceID string
	preview     config.Preview
}

// kvTarget is a resolved namespace.
type kvTarget struct {
	ref kvNamespaceRef
	// display names the namespace in messages the way the dialect does:
	// wrangler 4 says `id: "X"` or `binding: "B" (id: "X")`, wrangler 3
	// the bare id.
	display string
}

// resolve turns a selector into a namespace, with the texts of the
// dialect's wrangler when it cannot.
func (p *kvProject) resolve(d kvDialect, sel kvSelector) (kvTarget, error) {
	if sel.namespaceID != "" {
		t := kvTarget{ref: kvNamespaceRef{ID: sel.namespaceID, Title: p.titleForID(sel.namespaceID)}}
		t.display = sel.namespaceID
		if d == kvWrangler4 {
			t.display = fmt.Sprintf("id: %q", sel.namespaceID)
		}
		return t, nil
	}
	var (
		id  string
		err error
	)
	if d == kvWrangler3 {
		id, err = p.namespaceIDv3(sel)
	} else {
		id, err = p.namespaceIDv4(sel)
	}
	if err != nil {
		return kvTarget{}, err
	}
	t := kvTarget{ref: kvNamespaceRef{ID: id, Title: p.workerName() + "-" + sel.binding}, display: id}
	if d == kvWrangler4 {
		t.display = fmt.Sprintf("binding: %q (id: %q)", sel.binding, id)
	}
	return t, nil
}

// titleForID is the title a namespace given by id gets when it is created
// locally: named after the binding that uses it, as `kiln dev` names it,
// else after the id itself.
func (p *kvProject) titleForID(id string) string {
	if p.cfg != nil {
		for _, b := range p.cfg.KVNamespaces {
			if b.ID == id || b.PreviewID == id {
				return p.workerName() + "-" + b.Binding
			}
		}
	}
	return ""
}

// namespaceIDv3 resolves --binding as wrangler 3 did, with its texts: the
// configuration package's KVNamespaceID.
func (p *kvProject) namespaceIDv3(sel kvSelector) (string, error) {
	cfg := p.cfg
	if cfg == nil {
		cfg = &config.Config{}
	}
	id, err := cfg.KVNamespaceID(sel.binding, sel.preview)
	if err != nil {
		// The platform's text, without the package's error prefix.
		return "", errors.New(strings.TrimPrefix(err.Error(), config.ErrKVNamespace.Error()+": "))
	}
	return id, nil
}

// namespaceIDv4 resolves --binding as wrangler 4 does (getKVNamespaceId),
// with its texts. A binding without any id resolves, locally, to its
// binding name, as wrangler does with resource provisioning and as
// `kiln dev` names such a namespace.
func (p *kvProject) namespaceIDv4(sel kvSelector) (string, error) {
	if p.cfg == nil {
		return "", errors.New("--binding specified, but no config file was found.")
	}
	if len(p.cfg.KVNamespaces) == 0 {
		return "", errors.New("No KV Namespaces configured! Either use --namespace-id to upload directly or add a KV namespace to your wrangler config file.")
	}
	var ns *config.KVNamespace
	for i := range p.cfg.KVNamespaces {
		if p.cfg.KVNamespaces[i].Binding == sel.binding {
			ns = &p.cfg.KVNamespaces[i]
			break
		}
	}
	if ns == nil {
		return "", fmt.Errorf("No KV namespace with binding %q was found in the \"kv_namespaces\" section of your wrangler config. Check the binding name is correct, or use `--namespace-id` instead.", sel.binding)
	}
	switch sel.preview {
	case config.PreviewOn:
		if ns.PreviewID == "" {
			return "", fmt.Errorf("No preview ID found for %s. Add one to your wrangler config file to use a separate namespace for previewing your worker.", sel.binding)
		}
		return ns.PreviewID, nil
	case config.PreviewOff:
		if ns.ID == "" {
			return sel.binding, nil
		}
		return ns.ID, nil
	}
	switch {
	case ns.ID != "" && ns.PreviewID != "":
		return "", fmt.Errorf("The binding %q has both an \"id\" and a \"preview_id\" configured. Pass `--preview` to target the preview namespace, or `--preview false` to target the production namespace.", sel.binding)
	case ns.ID != "":
		return ns.ID, nil
	case ns.PreviewID != "":
		return ns.PreviewID, nil
	}
	return sel.binding, nil
}

// checkKeyCommand makes the checks every key and bulk command starts with:
// one positional argument, compatible location flags, one namespace
// selector.
func (c *kvCall) checkKeyCommand(args []string, loc *kvLocationFlags, sel *kvSelectorFlags) error {
	if err := checkPositionals(args, 1, 1); err != nil {
		return err
	}
	if err := loc.check(); err != nil {
		return err
	}
	return sel.demand(c)
}

// keyTarget loads the project and resolves the namespace a key or bulk
// command acts on; announce prints the resource location first, as the
// writing commands do.
func (c *kvCall) keyTarget(loc *kvLocationFlags, common *kvCommonFlags, sel *kvSelectorFlags, preview config.Preview, announce bool) (*kvProject, kvTarget, error) {
	if err := loc.requireLocal(); err != nil {
		return nil, kvTarget{}, err
	}
	if announce {
		c.printLocation(true)
	}
	p, err := loadKVProject(common.configPath, common.env, c.out)
	if err != nil {
		return nil, kvTarget{}, err
	}
	target, err := p.resolve(c.dialect, sel.selector(preview))
	if err != nil {
		return nil, kvTarget{}, err
	}
	return p, target, nil
}
