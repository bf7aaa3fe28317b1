package server

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-dev/kiln/server/mgmt"
)

// registerObjects adds GET …/durable_objects/namespaces/{id}/objects: the
// objects of a namespace that have stored data, in ID order, paged with a
// cursor.
func (h *Host) registerObjects(api *mgmt.API) {
	api.Handle("GET "+mgmt.Prefix+"/accounts/{account}/workers/durable_objects/namespaces/{namespace}/objects", h.listObjects)
}

// objectsDir returns the storage directory of a namespace id.
func (h *Host) objectsDir(id string) (string, bool) {
	for _, ns := range h.Namespaces() {
		if ns.ID == id {
			return filepath.Join(h.opts.DataDir, "do", ns.Script+"-"+ns.Class), true
		}
	}
	return "", false
}

func (h *Host) listObjects(w http.ResponseWriter, r *http.Request) error {
	dir, ok := h.objectsDir(r.PathValue("namespace"))
	if !ok {
		return mgmt.NewError(http.StatusNotFound, 10066, "The Durable Object namespace does not exist.")
	}
	limit := 1000
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 || n > 10000 {
			return mgmt.NewError(http.StatusBadRequest, codeBadRequest, "limit must be an integer from 10 to 10000.")
		}
		limit = n
	}
	after := ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return mgmt.NewError(http.StatusBadRequest, codeBadRequest, "The cursor is not valid.")
		}
		after = string(b)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var ids []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".sqlite")
		if !ok || len(id) != 64 || id <= after {
			continue
		}
		if info, err := e.Info(); err == nil && info.Size() > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	type object struct {
		ID            string `json:"id"`
		HasStoredData bool   `json:"hasStoredData"`
	}
	out := make([]object, 0, min(len(ids), limit))
	cursor := ""
	for i, id := range ids {
		if i == limit {
			cursor = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].ID))
			break
		}
		out = append(out, object{ID: id, HasStoredData: true})
	}
	mgmt.WriteList(w, out, mgmt.CursorInfo{Count: len(out), Cursor: cursor})
	return nil
}
