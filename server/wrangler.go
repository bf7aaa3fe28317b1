package server

// The endpoints wrangler deploy calls besides the script upload: versions
// and deployments (how wrangler updates an existing Worker), the workers.dev
// subdomain settings, cron schedules, zone routes and script settings.
// kiln serves every Worker at <script>.<domain>, so the subdomain and route
// settings are stored and reported but change nothing in routing, and
// schedules are stored but not run.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/kiln-dev/kiln/internal/atomicfile"
	"github.com/kiln-dev/kiln/server/mgmt"
	"github.com/kiln-dev/kiln/server/upload"
)

// SubdomainSettings is a script's workers.dev setting.
type SubdomainSettings struct {
	Enabled         bool `json:"enabled"`
	PreviewsEnabled bool `json:"previews_enabled"`
}

// Schedule is a cron trigger of a script.
type Schedule struct {
	Cron       string    `json:"cron"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
}

// pendingVersion is a version uploaded with POST …/versions and not yet
// deployed. Versions are kept in memory only, a few per script.
type pendingVersion struct {
	id      string
	number  int
	created time.Time
	up      *upload.Upload
}

const maxPendingVersions = 8

type versionStore struct {
	mu      sync.Mutex
	byID    map[string]*pendingVersion
	order   map[string][]string // script -> ids, oldest first
	numbers map[string]int
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// inheritBindings resolves the bindings of type "inherit" against the
// previous version of the script.
func inheritBindings(up *upload.Upload, old *script) error {
	for i, b := range up.Bindings {
		if b.Type != "inherit" {
			continue
		}
		found := false
		if old != nil {
			for _, ob := range old.Upload.Bindings {
				if ob.Name == b.Name {
					up.Bindings[i], found = ob, true
					break
				}
			}
		}
		if !found {
			return &upload.Error{Code: upload.CodeBadBinding, Message: fmt.Sprintf("The binding %q inherits from the previous version, which has no binding of that name.", b.Name)}
		}
	}
	return nil
}

func notFoundScript() error {
	return mgmt.NewError(http.StatusNotFound, 10007, "This Worker does not exist on your account.")
}

// updateScript changes the stored settings of a deployed script.
func (h *Host) updateScript(name string, f func(s *script)) (*script, error) {
	h.deployMu.Lock()
	defer h.deployMu.Unlock()
	h.mu.Lock()
	s := h.scripts[name]
	if s == nil {
		h.mu.Unlock()
		return nil, notFoundScript()
	}
	f(s)
	data, err := json.MarshalIndent(s, "", "  ")
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, atomicfile.Write(filepath.Join(h.scriptDir(name), "script.json"), data, 0o644)
}

func (h *Host) lookup(name string) (*script, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.scripts[name]
	return s, ok
}

// --- account subdomain

type accountSubdomain struct {
	Subdomain string `json:"subdomain"`
}

var subdomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (h *Host) subdomainFile() string { return filepath.Join(h.opts.DataDir, "workers-subdomain.json") }

func (h *Host) getAccountSubdomain(w http.ResponseWriter, r *http.Request) error {
	sub := accountSubdomain{Subdomain: "kiln"}
	if data, err := os.ReadFile(h.subdomainFile()); err == nil {
		_ = json.Unmarshal(data, &sub)
	}
	mgmt.WriteResult(w, sub)
	return nil
}

func (h *Host) putAccountSubdomain(w http.ResponseWriter, r *http.Request) error {
	var sub accountSubdomain
	if err := mgmt.DecodeJSON(w, r, 1<<16, codeBadRequest, &sub); err != nil {
		return err
	}
	if !subdomainPattern.MatchString(sub.Subdomain) {
		return mgmt.NewError(http.StatusBadRequest, 10032, "The subdomain is not valid.")
	}
	data, _ := json.Marshal(sub)
	if err := atomicfile.Write(h.subdomainFile(), data, 0o644); err != nil {
		return err
	}
	mgmt.WriteResult(w, sub)
	return nil
}

// --- script subdomain

func (h *Host) getScriptSubdomain(w http.ResponseWriter, r *http.Request) error {
	s, ok := h.lookup(r.PathValue("script"))
	if !ok {
		return notFoundScript()
	}
	h.mu.RLock()
	sub := SubdomainSettings{}
	if s.Subdomain != nil {
		sub = *s.Subdomain
	}
	h.mu.RUnlock()
	mgmt.WriteResult(w, sub)
	return nil
}

func (h *Host) postScriptSubdomain(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Enabled         *bool `json:"enabled"`
		PreviewsEnabled *bool `json:"previews_enabled"`
	}
	if err := mgmt.DecodeJSON(w, r, 1<<16, codeBadRequest, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return mgmt.NewError(http.StatusBadRequest, codeBadRequest, "enabled is required.")
	}
	var out SubdomainSettings
	_, err := h.updateScript(r.PathValue("script"), func(s *script) {
		out = SubdomainSettings{Enabled: *body.Enabled, PreviewsEnabled: *body.Enabled}
		if body.PreviewsEnabled != nil {
			out.PreviewsEnabled = *body.PreviewsEnabled
		}
		s.Subdomain = &out
	})
	if err != nil {
		return err
	}
	mgmt.WriteResult(w, out)
	return nil
}

// --- schedules

type schedulesResult struct {
	Schedules []Schedule `json:"schedules"`
}

func (h *Host) getSchedules(w http.ResponseWriter, r *http.Request) error {
	s, ok := h.lookup(r.PathValue("script"))
	if !ok {
		return notFoundScript()
	}
	h.mu.RLock()
	out := append([]Schedule{}, s.Schedules...)
	h.mu.RUnlock()
	mgmt.WriteResult(w, schedulesResult{Schedules: out})
	return nil
}

func (h *Host) putSchedules(w http.ResponseWriter, r *http.Request) error {
	var body []struct {
		Cron string `json:"cron"`
	}
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &body); err != nil {
		return err
	}
	now := time.Now().UTC()
	out := []Schedule{}
	for _, c := range body {
		if c.Cron == "" {
			return mgmt.NewError(http.StatusBadRequest, 10100, "A schedule needs a cron expression.")
		}
		out = append(out, Schedule{Cron: c.Cron, CreatedOn: now, ModifiedOn: now})
	}
	if _, err := h.updateScript(r.PathValue("script"), func(s *script) { s.Schedules = out }); err != nil {
		return err
	}
	mgmt.WriteResult(w, schedulesResult{Schedules: out})
	return nil
}

// --- script settings

func defaultSettings() map[string]any {
	return map[string]any{"logpush": false, "tail_consumers": nil, "observability": map[string]any{"enabled": false}, "tags": []string{}}
}

func (h *Host) getScriptSettings(w http.ResponseWriter, r *http.Request) error {
	s, ok := h.lookup(r.PathValue("script"))
	if !ok {
		return notFoundScript()
	}
	out := defaultSettings()
	h.mu.RLock()
	for k, v := range s.Settings {
		out[k] = v
	}
	h.mu.RUnlock()
	mgmt.WriteResult(w, out)
	return nil
}

func (h *Host) patchScriptSettings(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &body); err != nil {
		return err
	}
	out := defaultSettings()
	_, err := h.updateScript(r.PathValue("script"), func(s *script) {
		if s.Settings == nil {
			s.Settings = map[string]any{}
		}
		for k, v := range body {
			if v == nil {
				delete(s.Settings, k)
			} else {
				s.Settings[k] = v
			}
		}
		for k, v := range s.Settings {
			out[k] = v
		}
	})
	if err != nil {
		return err
	}
	mgmt.WriteResult(w, out)
	return nil
}

// --- versions and deployments

func (h *Host) storeVersion(up *upload.Upload) *pendingVersion {
	vs := &h.versions
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.byID == nil {
		vs.byID, vs.order, vs.numbers = map[string]*pendingVersion{}, map[string][]string{}, map[string]int{}
	}
	vs.numbers[up.Script]++
	v := &pendingVersion{id: newUUID(), number: vs.numbers[up.Script], created: time.Now().UTC(), up: up}
	vs.byID[v.id] = v
	ids := append(vs.order[up.Script], v.id)
	if len(ids) > maxPendingVersions {
		delete(vs.byID, ids[0])
		ids = ids[1:]
	}
	vs.order[up.Script] = ids
	return v
}

func (h *Host) takeVersion(scriptName, id string) (*pendingVersion, bool) {
	vs := &h.versions
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v, ok := vs.byID[id]
	if !ok || v.up.Script != scriptName {
		return nil, false
	}
	return v, true
}

func versionJSON(v *pendingVersion, etag string) map[string]any {
	return map[string]any{
		"id":              v.id,
		"number":          v.number,
		"startup_time_ms": 0,
		"metadata": map[string]any{
			"created_on":  v.created,
			"modified_on": v.created,
			"source":      "wrangler",
			"has_preview": false,
		},
		"resources": map[string]any{
			"script":   map[string]any{"etag": etag, "handlers": []string{"fetch"}},
			"bindings": publicBindings(v.up.Bindings),
		},
	}
}

// postVersion stores an upload as a version of an existing script; it
// serves once a deployment names it. The upload is checked (parsed and its
// inherited bindings resolved) but not started before the deployment.
func (h *Host) postVersion(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("script")
	old, ok := h.lookup(name)
	if !ok {
		return notFoundScript()
	}
	up, err := upload.Parse(name, r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return apiError(err)
	}
	if err := inheritBindings(up, old); err != nil {
		return apiError(err)
	}
	v := h.storeVersion(up)
	mgmt.WriteResult(w, versionJSON(v, fmt.Sprintf("%x", v.created.UnixNano())))
	return nil
}

type deploymentJSON struct {
	ID          string              `json:"id"`
	CreatedOn   time.Time           `json:"created_on"`
	Source      string              `json:"source"`
	Strategy    string              `json:"strategy"`
	Versions    []deploymentVersion `json:"versions"`
	Annotations map[string]any      `json:"annotations,omitempty"`
}

type deploymentVersion struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

func (s *script) deployment() deploymentJSON {
	return deploymentJSON{ID: s.DeploymentID, CreatedOn: s.ModifiedOn, Source: "wrangler", Strategy: "percentage",
		Versions: []deploymentVersion{{VersionID: s.VersionID, Percentage: 100}}}
}

func (h *Host) listDeployments(w http.ResponseWriter, r *http.Request) error {
	s, ok := h.lookup(r.PathValue("script"))
	if !ok {
		return notFoundScript()
	}
	h.mu.RLock()
	d := s.deployment()
	h.mu.RUnlock()
	mgmt.WriteResult(w, map[string]any{"deployments": []deploymentJSON{d}})
	return nil
}

// postDeployment deploys one uploaded version at 100%: kiln does not split
// traffic between versions.
func (h *Host) postDeployment(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("script")
	if _, ok := h.lookup(name); !ok {
		return notFoundScript()
	}
	var body struct {
		Strategy    string              `json:"strategy"`
		Versions    []deploymentVersion `json:"versions"`
		Annotations map[string]any      `json:"annotations"`
	}
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &body); err != nil {
		return err
	}
	if body.Strategy != "" && body.Strategy != "percentage" {
		return mgmt.NewError(http.StatusBadRequest, 10021, "The deployment strategy must be \"percentage\".")
	}
	if len(body.Versions) != 1 || body.Versions[0].Percentage != 100 {
		return mgmt.NewError(http.StatusBadRequest, 10021, "kiln deploys exactly one version at 100%.")
	}
	v, ok := h.takeVersion(name, body.Versions[0].VersionID)
	if !ok {
		return mgmt.NewError(http.StatusBadRequest, 10021, fmt.Sprintf("Version %q of this Worker is not known (kiln keeps uploaded versions in memory until they are deployed).", body.Versions[0].VersionID))
	}
	if _, err := h.Deploy(r.Context(), v.up); err != nil {
		return apiError(err)
	}
	s, err := h.updateScript(name, func(s *script) { s.VersionID = v.id })
	if err != nil {
		return err
	}
	h.mu.RLock()
	d := s.deployment()
	h.mu.RUnlock()
	d.Annotations = body.Annotations
	mgmt.WriteResult(w, d)
	return nil
}

// getSettings answers GET …/scripts/{name}/settings, which wrangler reads
// to see the bindings a deployed Worker already has.
func (h *Host) getSettings(w http.ResponseWriter, r *http.Request) error {
	s, ok := h.lookup(r.PathValue("script"))
	if !ok {
		return notFoundScript()
	}
	out := defaultSettings()
	h.mu.RLock()
	for k, v := range s.Settings {
		out[k] = v
	}
	up := s.Upload
	h.mu.RUnlock()
	out["bindings"] = publicBindings(up.Bindings)
	out["compatibility_date"] = up.CompatibilityDate
	flags := up.CompatibilityFlags
	if flags == nil {
		flags = []string{}
	}
	out["compatibility_flags"] = flags
	out["usage_model"] = "standard"
	mgmt.WriteResult(w, out)
	return nil
}

// publicBindings is bindings as the API shows them: secrets without their
// text.
func publicBindings(bs []upload.Binding) []upload.Binding {
	out := make([]upload.Binding, 0, len(bs))
	for _, b := range bs {
		if b.Type == "secret_text" {
			b.Text = ""
		}
		out = append(out, b)
	}
	return out
}
