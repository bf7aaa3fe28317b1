package config

import (
	"errors"
	"strings"
	"testing"
)

func TestKVNamespaceID(t *testing.T) {
	cfg := &Config{KVNamespaces: []KVNamespace{
		{Binding: "BOTH", ID: "id1", PreviewID: "pre1"},
		{Binding: "ONLY_ID", ID: "id2"},
		{Binding: "ONLY_PREVIEW", PreviewID: "pre3"},
		{Binding: "NEITHER"},
	}}
	for _, tc := range []struct {
		binding string
		preview Preview
		want    string
		err     string
	}{
		{"BOTH", PreviewOn, "pre1", ""},
		{"BOTH", PreviewOff, "id1", ""},
		{"BOTH", PreviewUnset, "", `BOTH has both a namespace ID and a preview ID. Specify "--preview" or "--preview false" to avoid writing data to the wrong namespace.`},
		{"ONLY_ID", PreviewUnset, "id2", ""},
		{"ONLY_ID", PreviewOn, "", "No preview ID found for ONLY_ID."},
		{"ONLY_PREVIEW", PreviewUnset, "pre3", ""},
		{"ONLY_PREVIEW", PreviewOff, "", "No namespace ID found for ONLY_PREVIEW."},
		{"NEITHER", PreviewUnset, "", "NEITHER has neither a namespace ID nor a preview ID."},
		{"MISSING", PreviewUnset, "", `A namespace with binding name "MISSING" was not found in the configured "kv_namespaces".`},
	} {
		got, err := cfg.KVNamespaceID(tc.binding, tc.preview)
		if tc.err != "" {
			if !errors.Is(err, ErrKVNamespace) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s/%d: err %v, want %q", tc.binding, tc.preview, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s/%d: got %q, %v; want %q", tc.binding, tc.preview, got, err, tc.want)
		}
	}
	if _, err := (&Config{}).KVNamespaceID("X", PreviewUnset); err == nil || !strings.Contains(err.Error(), "No KV Namespaces configured!") {
		t.Errorf("empty config: err %v", err)
	}
}
