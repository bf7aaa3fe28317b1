package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the v4 API used by this package. Where the platform's code
// is known it is used; see the report of the package for the sources.
const (
	// CodeNoRoute is the platform's "Could not route to …" (HTTP 404).
	CodeNoRoute = 7003
	// CodeNoRouteURI accompanies CodeNoRoute: "No route for that URI".
	CodeNoRouteURI = 7000
	// CodeMethodNotAllowed: a known path with another method (HTTP 405).
	CodeMethodNotAllowed = 7001
	// CodeInvalidHeaders is "Invalid request headers" (HTTP 400), with an
	// error_chain naming the header.
	CodeInvalidHeaders = 6003
	// CodeInvalidAuthorization is the chained "Invalid format for
	// Authorization header".
	CodeInvalidAuthorization = 6111
	// CodeMissingAuth is "Missing X-Auth-Key, X-Auth-Email or Authorization
	// headers".
	CodeMissingAuth = 9106
	// CodeUnknownAuthKey is "Unknown X-Auth-Key or X-Auth-Email".
	CodeUnknownAuthKey = 9103
	// CodeUnauthorized is "Unauthorized to access requested resource": an
	// account that is not this server's.
	CodeUnauthorized = 9109
	// CodeAuthentication is "Authentication error": a token that is unknown
	// or revoked.
	CodeAuthentication = 10000
	// CodeInvalidToken is "Invalid API Token", the answer of
	// /user/tokens/verify to a token that is not valid.
	CodeInvalidToken = 1000
	// CodeKVBadRequest is used for every request the KV API rejects as
	// invalid (the status is 400, 413 or 414 as the kv package says).
	CodeKVBadRequest = 10001
	// CodeKVKeyNotFound is "get: 'key not found'" (HTTP 404).
	CodeKVKeyNotFound = 10009
	// CodeKVNamespaceNotFound is "<op>: 'namespace not found'" (HTTP 404).
	CodeKVNamespaceNotFound = 10013
	// CodeKVNamespaceExists: "a namespace with this account ID and title
	// already exists" (HTTP 400); wrangler tests for this code.
	CodeKVNamespaceExists = 10014
	// CodeInternal is an unexpected failure of the server (HTTP 500).
	CodeInternal = 10002
)

// ErrorItem is one element of an envelope's errors.
type ErrorItem struct {
	Code       int         `json:"code"`
	Message    string      `json:"message"`
	ErrorChain []ErrorItem `json:"error_chain,omitempty"`
}

// Message is one element of an envelope's messages.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Type    any    `json:"type"`
}

// Envelope is the body of every JSON answer of the v4 API.
type Envelope struct {
	Success    bool        `json:"success"`
	Errors     []ErrorItem `json:"errors"`
	Messages   []Message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo any         `json:"result_info,omitempty"`
}

// PageInfo is the result_info of a list paged by page number.
type PageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages,omitempty"`
}

// CursorInfo is the result_info of a list paged by cursor; Cursor is ""
// on the last page.
type CursorInfo struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

// Error is an API failure: the HTTP status and the envelope's errors. A
// HandlerFunc returns one to answer with it.
type Error struct {
	Status int
	Items  []ErrorItem
}

// NewError returns an Error with one item.
func NewError(status, code int, message string) *Error {
	return &Error{Status: status, Items: []ErrorItem{{Code: code, Message: message}}}
}

// Errorf returns an Error with one item whose message is formatted.
func Errorf(status, code int, format string, args ...any) *Error {
	return NewError(status, code, fmt.Sprintf(format, args...))
}

func (e *Error) Error() string {
	if len(e.Items) == 0 {
		return fmt.Sprintf("mgmt: HTTP %d", e.Status)
	}
	return fmt.Sprintf("mgmt: HTTP %d: %s [code: %d]", e.Status, e.Items[0].Message, e.Items[0].Code)
}

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Envelope{Errors: []ErrorItem{{Code: CodeInternal, Message: "internal error: the answer could not be encoded"}}, Messages: []Message{}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteResult answers 200 with a successful envelope holding result.
func WriteResult(w http.ResponseWriter, result any) {
	WriteJSON(w, http.StatusOK, Envelope{Success: true, Errors: []ErrorItem{}, Messages: []Message{}, Result: result})
}

// WriteList answers 200 with a successful envelope holding a list and its
// result_info.
func WriteList(w http.ResponseWriter, result any, info any) {
	WriteJSON(w, http.StatusOK, Envelope{Success: true, Errors: []ErrorItem{}, Messages: []Message{}, Result: result, ResultInfo: info})
}

// WriteError answers with the envelope of e.
func WriteError(w http.ResponseWriter, e *Error) {
	items := e.Items
	if items == nil {
		items = []ErrorItem{}
	}
	WriteJSON(w, e.Status, Envelope{Success: false, Errors: items, Messages: []Message{}, Result: nil})
}

// asError returns err as an *Error if it is one.
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
