package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-dev/kiln/internal/atomicfile"
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
		return fmt.Errorf("reading routes: %w", err)
	}
	if err := json.Unmarshal(data, &h.routes); err != nil {
		return fmt.Errorf("reading %s: %w", h.routesPath(), err)
	}
	return nil
}

// saveRoutes writes the table; h.mu must be held.
func (h *Host) saveRoutes() error {
	data, err := json.MarshalIndent(h.routes, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(h.routesPath(), data, 0o644)
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
	// "*.example.com" matches subdomains only, "*example.com" the apex too.
	if wild, ok := strings.CutPrefix(phost, "*"); ok {
		if !strings.HasSuffix(host, wild) {
			return false, 0
		}
	} else if host != phost {
		return false, 0
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

// routesWhere returns the routes for which keep is true (never nil, so an
// empty list is written as []).
func (h *Host) routesWhere(keep func(Route) bool) []Route {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := []Route{}
	for _, rt := range h.routes {
		if keep(rt) {
			out = append(out, rt)
		}
	}
	return out
}

func (h *Host) listZoneRoutes(w http.ResponseWriter, r *http.Request) error {
	zone := r.PathValue("zone")
	mgmt.WriteResult(w, h.routesWhere(func(rt Route) bool { return rt.ZoneID == zone }))
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
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &b); err != nil {
		return err
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
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &b); err != nil {
		return err
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
	mgmt.WriteResult(w, h.routesWhere(func(rt Route) bool { return rt.Script == script }))
	return nil
}

// putScriptRoutes replaces the routes of a script with the given list.
func (h *Host) putScriptRoutes(w http.ResponseWriter, r *http.Request) error {
	script := r.PathValue("script")
	var body []routeBody
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &body); err != nil {
		return err
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
