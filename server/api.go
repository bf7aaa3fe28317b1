package server

import (
	"errors"
	"net/http"

	"github.com/kiln-dev/kiln/server/mgmt"
	"github.com/kiln-dev/kiln/server/upload"
)

// Register adds the Workers, Durable Objects and route endpoints to the
// management API.
func (h *Host) Register(api *mgmt.API) {
	const acct = mgmt.Prefix + "/accounts/{account}"
	api.Handle("PUT "+acct+"/workers/scripts/{script}", h.putScript)
	api.Handle("GET "+acct+"/workers/scripts/{script}", h.getScript)
	api.Handle("DELETE "+acct+"/workers/scripts/{script}", h.deleteScript)
	api.Handle("GET "+acct+"/workers/scripts", h.listScripts)
	api.Handle("GET "+acct+"/workers/services/{script}", h.getService)
	api.Handle("GET "+acct+"/workers/durable_objects/namespaces", h.listNamespaces)
	api.Handle("POST "+acct+"/workers/durable_objects/namespaces", h.createNamespace)
	// What wrangler deploy calls besides the upload (wrangler.go).
	const script = acct + "/workers/scripts/{script}"
	api.Handle("GET "+acct+"/workers/subdomain", h.getAccountSubdomain)
	api.Handle("PUT "+acct+"/workers/subdomain", h.putAccountSubdomain)
	api.Handle("GET "+script+"/subdomain", h.getScriptSubdomain)
	api.Handle("POST "+script+"/subdomain", h.postScriptSubdomain)
	api.Handle("GET "+script+"/schedules", h.getSchedules)
	api.Handle("PUT "+script+"/schedules", h.putSchedules)
	api.Handle("GET "+script+"/script-settings", h.getScriptSettings)
	api.Handle("PATCH "+script+"/script-settings", h.patchScriptSettings)
	api.Handle("GET "+script+"/settings", h.getSettings)
	api.Handle("POST "+script+"/versions", h.postVersion)
	api.Handle("GET "+script+"/deployments", h.listDeployments)
	api.Handle("POST "+script+"/deployments", h.postDeployment)
	h.registerObjects(api)
	h.registerRoutes(api)
}

// codeBadRequest is the Workers API's error code for a request it cannot
// take (a body that is not JSON, a missing or invalid field).
const codeBadRequest = 10026

// apiError converts an upload or deploy failure into a 400 envelope.
func apiError(err error) error {
	var ue *upload.Error
	if errors.As(err, &ue) {
		return mgmt.NewError(http.StatusBadRequest, ue.Code, ue.Message)
	}
	return err
}

func (h *Host) putScript(w http.ResponseWriter, r *http.Request) error {
	up, err := upload.Parse(r.PathValue("script"), r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return apiError(err)
	}
	info, err := h.Deploy(r.Context(), up)
	if err != nil {
		return apiError(err)
	}
	mgmt.WriteResult(w, info)
	return nil
}

func (h *Host) getScript(w http.ResponseWriter, r *http.Request) error {
	info, ok := h.Script(r.PathValue("script"))
	if !ok {
		return mgmt.NewError(http.StatusNotFound, 10007, "This Worker does not exist on your account.")
	}
	mgmt.WriteResult(w, info)
	return nil
}

func (h *Host) deleteScript(w http.ResponseWriter, r *http.Request) error {
	if !h.Delete(r.PathValue("script")) {
		return mgmt.NewError(http.StatusNotFound, 10007, "This Worker does not exist on your account.")
	}
	mgmt.WriteResult(w, nil)
	return nil
}

func (h *Host) listScripts(w http.ResponseWriter, r *http.Request) error {
	mgmt.WriteResult(w, h.Scripts())
	return nil
}

// getService answers as wrangler reads it: the migration tag of the
// default environment's script.
func (h *Host) getService(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("script")
	info, ok := h.Script(name)
	if !ok {
		return mgmt.NewError(http.StatusNotFound, 10090, "This Worker does not exist on your account.")
	}
	mgmt.WriteResult(w, map[string]any{
		"id":                  name,
		"default_environment": map[string]any{"environment": "production", "script": info},
		"created_on":          info.CreatedOn,
		"modified_on":         info.ModifiedOn,
	})
	return nil
}

func (h *Host) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	mgmt.WriteResult(w, h.Namespaces())
	return nil
}

// createNamespace is the legacy POST of the Durable Objects beta (seeds/003).
func (h *Host) createNamespace(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name   string `json:"name"`
		Script string `json:"script"`
		Class  string `json:"class"`
	}
	if err := mgmt.DecodeJSON(w, r, 1<<20, codeBadRequest, &body); err != nil {
		return err
	}
	if body.Script == "" || body.Class == "" {
		return mgmt.NewError(http.StatusBadRequest, codeBadRequest, "A namespace needs a script and a class.")
	}
	ns, err := h.DeclareNamespace(r.Context(), body.Name, body.Script, body.Class)
	if err != nil {
		return apiError(err)
	}
	mgmt.WriteResult(w, ns)
	return nil
}
