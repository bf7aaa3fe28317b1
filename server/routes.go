package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-dev/kiln/kv"
	"github.com/kiln-dev/kiln/server/mgmt"
)

// Route sends requests matching Pattern to Script. A pattern is a host and
// a path, either of which may use '*' as the platform does: a leading
// "*." (or "*") on the host matches subdomains, a trailing '*' on the path
// matches any rest; a scheme is ignored.
type Route struct {
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	Script  string `json:"script"`
	ZoneID  string `json:"zone_id,omitempty"`
}

// zoneID gives every zone name a stable id: kiln has no DNS, so any name is
// a zone of the account.
func zoneID(name string) string {
	sum := sha256.Sum256([]byte("zone:" + strings.ToLower(name)))
	return hex.EncodeToString(sum[:16])
}

func (h *Host) routesPath() string { return filepath.Join(h.opts.DataDir, "routes.json") }

func (h *Host) loadRoutes() error {
	data, err := os.ReadFile(h.routesPath())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, &h.routes)
}

// saveRoutes writes the table; h.mu must be held.
func (h *Host) saveRoutes() error {
	data, err := json.MarshalIndent(h.routes, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(h.routesPath(), data)
}

// match reports whether a request for host and path matches pattern, and
// how specific the pattern is (longer literal parts win, as on the
// platform, where the most specific route applies).
func match(pattern, host, path string) (bool, int) {
	p := pattern
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
	}
	phost, ppath, _ := strings.Cut(p, "/")
	ppath = "/" + ppath
	host = strings.ToLower(host)
	phost = strings.ToLower(phost)
	switch {
	case strings.HasPrefix(phost, "*."):
		if !strings.HasSuffix(host, phost[1:]) {
			return false, 0
		}
	case strings.HasPrefix(phost, "*"):
		if !strings.HasSuffix(host, phost[1:]) {
			return false, 0
		}
	default:
		if host != phost {
			return false, 0
		}
	}
	if rest, ok := strings.CutSuffix(ppath, "*"); ok {
		if !strings.HasPrefix(path, rest) {
			return false, 0
		}
	} else if path != ppath {
		return false, 0
	}
	return true, len(strings.ReplaceAll(phost+ppath, "*", ""))
}

// routeFor returns the script of the most specific route matching the
// request, if any. h.mu must be held for reading.
func (h *Host) routeFor(host, path string) (string, bool) {
	best, score := "", -1
	for _, r := range h.routes {
		if ok, s := match(r.Pattern, host, path); ok && s > score {
			best, score = r.Script, s
		}
	}
	return best, score >= 0
}

// registerRoutes adds the zone and route endpoints wrangler uses for a
// config with `routes`.
func (h *Host) registerRoutes(api *mgmt.API) {
	api.Handle("GET "+mgmt.Prefix+"/zones", h.listZones)
	api.Handle("GET "+mgmt.Prefix+"/zones/{zone}/workers/routes", h.listZoneRoutes)
	api.Handle("POST "+mgmt.Prefix+"/zones/{zone}/workers/routes", h.createZoneRoute)
	api.Handle("PUT "+mgmt.Prefix+"/zones/{zone}/workers/routes/{route}", h.updateZoneRoute)
	api.Handle("DELETE "+mgmt.Prefix+"/zones/{zone}/workers/routes/{route}", h.deleteZoneRoute)
	api.Handle("GET "+mgmt.Prefix+"/accounts/{account}/workers/scripts/{script}/routes", h.listScriptRoutes)
	api.Handle("PUT "+mgmt.Prefix+"/accounts/{account}/workers/scripts/{script}/routes", h.putScriptRoutes)
}

// listZones answers the lookup of a zone by name (every name is a zone).
func (h *Host) listZones(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("name")
	if name == "" {
		mgmt.WriteList(w, []any{}, mgmt.PageInfo{Page: 1, PerPage: 20})
		return nil
	}
	zone := map[string]any{"id": zoneID(name), "name": name, "status": "active"}
	mgmt.WriteList(w, []any{zone}, mgmt.PageInfo{Page: 1, PerPage: 20, Count: 1, TotalCount: 1})
	return nil
}

func (h *Host) listZoneRoutes(w http.ResponseWriter, r *http.Request) error {
	zone := r.PathValue("zone")
	h.mu.RLock()
	out := []Route{}
	for _, rt := range h.routes {
		if rt.ZoneID == zone {
			out = append(out, rt)
		}
	}
	h.mu.RUnlock()
	mgmt.WriteResult(w, out)
	return nil
}

type routeBody struct {
	Pattern  string `json:"pattern"`
	Script   string `json:"script"`
	ZoneID   string `json:"zone_id"`
	ZoneName string `json:"zone_name"`
}

func (b routeBody) check() error {
	if b.Pattern == "" || !strings.Contains(strings.TrimPrefix(strings.TrimPrefix(b.Pattern, "https://"), "http://"), "/") {
		return mgmt.NewError(http.StatusBadRequest, 10022, "A route pattern must be a host and a path, such as example.com/*.")
	}
	return nil
}

func (h *Host) createZoneRoute(w http.ResponseWriter, r *http.Request) error {
	var b routeBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		return mgmt.NewError(http.StatusBadRequest, 10026, "The request body is not valid JSON: "+err.Error())
	}
	if err := b.check(); err != nil {
		return err
	}
	route := Route{ID: kv.NewNamespaceID(), Pattern: b.Pattern, Script: b.Script, ZoneID: r.PathValue("zone")}
	h.mu.Lock()
	for _, existing := range h.routes {
		if existing.Pattern == b.Pattern {
			h.mu.Unlock()
			return mgmt.NewError(http.StatusConflict, 10020, "A route with the same pattern already exists.")
		}
	}
	h.routes = append(h.routes, route)
	err := h.saveRoutes()
	h.mu.Unlock()
	if err != nil {
		return err
	}
	mgmt.WriteResult(w, route)
	return nil
}

func (h *Host) updateZoneRoute(w http.ResponseWriter, r *http.Request) error {
	var b routeBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		return mgmt.NewError(http.StatusBadRequest, 10026, "The request body is not valid JSON: "+err.Error())
	}
	if err := b.check(); err != nil {
		return err
	}
	id := r.PathValue("route")
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.routes {
		if h.routes[i].ID == id {
			h.routes[i].Pattern, h.routes[i].Script = b.Pattern, b.Script
			if err := h.saveRoutes(); err != nil {
				return err
			}
			mgmt.WriteResult(w, h.routes[i])
			return nil
		}
	}
	return mgmt.NewError(http.StatusNotFound, 10019, "Route not found.")
}

func (h *Host) deleteZoneRoute(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("route")
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.routes {
		if h.routes[i].ID == id {
			h.routes = append(h.routes[:i], h.routes[i+1:]...)
			if err := h.saveRoutes(); err != nil {
				return err
			}
			mgmt.WriteResult(w, map[string]string{"id": id})
			return nil
		}
	}
	return mgmt.NewError(http.StatusNotFound, 10019, "Route not found.")
}

func (h *Host) listScriptRoutes(w http.ResponseWriter, r *http.Request) error {
	script := r.PathValue("script")
	h.mu.RLock()
	out := []Route{}
	for _, rt := range h.routes {
		if rt.Script == script {
			out = append(out, rt)
		}
	}
	h.mu.RUnlock()
	mgmt.WriteResult(w, out)
	return nil
}

// putScriptRoutes replaces the routes of a script with the given list.
func (h *Host) putScriptRoutes(w http.ResponseWriter, r *http.Request) error {
	script := r.PathValue("script")
	var body []routeBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		return mgmt.NewError(http.StatusBadRequest, 10026, "The request body must be a JSON array of routes: "+err.Error())
	}
	for _, b := range body {
		if err := b.check(); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.routes[:0:0]
	for _, rt := range h.routes {
		if rt.Script != script {
			kept = append(kept, rt)
		}
	}
	out := []Route{}
	for _, b := range body {
		zone := b.ZoneID
		if zone == "" && b.ZoneName != "" {
			zone = zoneID(b.ZoneName)
		}
		rt := Route{ID: kv.NewNamespaceID(), Pattern: b.Pattern, Script: script, ZoneID: zone}
		kept = append(kept, rt)
		out = append(out, rt)
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Pattern < kept[j].Pattern })
	h.routes = kept
	if err := h.saveRoutes(); err != nil {
		return err
	}
	mgmt.WriteResult(w, out)
	return nil
}
