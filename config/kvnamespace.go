package config

import "fmt"

// Preview is the state of the --preview flag of the KV commands.
type Preview int

const (
	PreviewUnset Preview = iota // --preview not given
	PreviewOn                   // --preview or --preview true
	PreviewOff                  // --preview false
)

// KVNamespaceID resolves `--binding NAME` to a namespace ID the way wrangler
// does (spec/platform.md §7b): PreviewOn takes preview_id, PreviewOff takes
// id, and without the flag the binding must have exactly one of the two.
func (c *Config) KVNamespaceID(binding string, preview Preview) (string, error) {
	if len(c.KVNamespaces) == 0 {
		return "", fmt.Errorf("%w: No KV Namespaces configured! Either use --namespace-id to upload directly or add a KV namespace to your wrangler config file.", ErrKVNamespace)
	}
	var ns *KVNamespace
	for i := range c.KVNamespaces {
		if c.KVNamespaces[i].Binding == binding {
			ns = &c.KVNamespaces[i]
			break
		}
	}
	if ns == nil {
		return "", fmt.Errorf("%w: A namespace with binding name %q was not found in the configured \"kv_namespaces\".", ErrKVNamespace, binding)
	}
	switch preview {
	case PreviewOn:
		if ns.PreviewID == "" {
			return "", fmt.Errorf("%w: No preview ID found for %s. Add one to your wrangler config file to use a separate namespace for previewing your worker.", ErrKVNamespace, binding)
		}
		return ns.PreviewID, nil
	case PreviewOff:
		if ns.ID == "" {
			return "", fmt.Errorf("%w: No namespace ID found for %s. Add one to your wrangler config file to use a separate namespace for previewing your worker.", ErrKVNamespace, binding)
		}
		return ns.ID, nil
	}
	switch {
	case ns.ID != "" && ns.PreviewID == "":
		return ns.ID, nil
	case ns.ID == "" && ns.PreviewID != "":
		return ns.PreviewID, nil
	case ns.ID == "":
		return "", fmt.Errorf("%w: %s has neither a namespace ID nor a preview ID.", ErrKVNamespace, binding)
	}
	return "", fmt.Errorf("%w: %s has both a namespace ID and a preview ID. Specify \"--preview\" or \"--preview false\" to avoid writing data to the wrong namespace.", ErrKVNamespace, binding)
}
