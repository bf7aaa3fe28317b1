package mgmt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kiln-dev/kiln/kv"
)

// Request body limits of the KV endpoints.
const (
	// maxJSONBody bounds the small JSON bodies (namespace create/rename,
	// bulk get, bulk delete of up to 10,000 keys of 512 bytes).
	maxJSONBody = 16 << 20
	// maxBulkBody is the platform's limit of a bulk write request: 100 MB.
	maxBulkBody = 100 << 20
	// maxMultipartOverhead is what a multipart value may carry beside the
	// value itself (boundaries, part headers, the metadata part).
	maxMultipartOverhead = 64 << 10
)

const nsPath = Prefix + "/accounts/{account}/storage/kv/namespaces"

type kvAPI struct {
	*API
	store kv.Store
}

func (a *API) registerKV(store kv.Store) {
	k := &kvAPI{API: a, store: store}
	a.Handle("GET "+nsPath, k.listNamespaces)
	a.Handle("POST "+nsPath, k.createNamespace)
	a.Handle("GET "+nsPath+"/{ns}", k.getNamespace)
	a.Handle("PUT "+nsPath+"/{ns}", k.renameNamespace)
	a.Handle("DELETE "+nsPath+"/{ns}", k.deleteNamespace)
	a.Handle("GET "+nsPath+"/{ns}/keys", k.listKeys)
	a.Handle("GET "+nsPath+"/{ns}/values/{key...}", k.getValue)
	a.Handle("PUT "+nsPath+"/{ns}/values/{key...}", k.putValue)
	a.Handle("DELETE "+nsPath+"/{ns}/values/{key...}", k.deleteValue)
	a.Handle("GET "+nsPath+"/{ns}/metadata/{key...}", k.getMetadata)
	a.Handle("PUT "+nsPath+"/{ns}/bulk", k.bulkPut)
	a.Handle("DELETE "+nsPath+"/{ns}/bulk", k.bulkDeleteDeprecated)
	a.Handle("POST "+nsPath+"/{ns}/bulk/delete", k.bulkDelete)
	a.Handle("POST "+nsPath+"/{ns}/bulk/get", k.bulkGet)
}

// namespaceJSON is a namespace as the API shows it. Keys in paths are
// percent-decoded before they are stored, hence supports_url_encoding.
type namespaceJSON struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

func nsJSON(ns kv.Namespace) namespaceJSON {
	return namespaceJSON{ID: ns.ID, Title: ns.Title, SupportsURLEncoding: true}
}

// kvError turns an error of the kv package into the API's answer. op names
// the operation in the platform's "<op>: '<text>'" messages.
func kvError(op string, err error) error {
	var (
		bulk *kv.BulkItemError
		kerr *kv.Error
	)
	switch {
	case errors.As(err, &bulk):
		status, msg := http.StatusBadRequest, bulk.Err.Error()
		if errors.As(bulk.Err, &kerr) {
			status, msg = kerr.Status, kerr.Message
		}
		return Errorf(status, CodeKVBadRequest, "%s: item %d (key %q): %s", op, bulk.Index, bulk.Key, msg)
	case errors.As(err, &kerr):
		return Errorf(kerr.Status, CodeKVBadRequest, "%s: %s", op, kerr.Message)
	case errors.Is(err, kv.ErrNamespaceNotFound):
		return Errorf(http.StatusNotFound, CodeKVNamespaceNotFound, "%s: 'namespace not found'", op)
	case errors.Is(err, kv.ErrNamespaceExists):
		return Errorf(http.StatusBadRequest, CodeKVNamespaceExists, "%s: 'a namespace with this account ID and title already exists'", op)
	case errors.Is(err, kv.ErrInvalidTitle):
		return Errorf(http.StatusBadRequest, CodeKVBadRequest, "%s: 'the title must not be empty'", op)
	}
	return fmt.Errorf("kv %s: %w", op, err)
}

func badRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeKVBadRequest, format, args...)
}

// decodeJSON reads a KV endpoint's JSON body of at most limit bytes into v.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return DecodeJSON(w, r, limit, CodeKVBadRequest, v)
}

// DecodeJSON reads a JSON request body of at most limit bytes into v. A
// body that is too large answers 413, one that is not JSON of v's shape 400
// with code, both naming the problem.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, code int, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, code, "The request body exceeds the limit of %d bytes.", limit)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, code, "Could not parse the request body as JSON: %v", err)
	}
	return nil
}

func (k *kvAPI) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	page, perPage, err := pageParams(r, 20, 5, 1000)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	order, dir := q.Get("order"), q.Get("direction")
	if order != "" && order != "id" && order != "title" {
		return badRequest("Invalid order %q: use id or title.", order)
	}
	if dir != "" && dir != "asc" && dir != "desc" {
		return badRequest("Invalid direction %q: use asc or desc.", dir)
	}
	all, err := k.store.ListNamespaces(r.Context())
	if err != nil {
		return kvError("list namespaces", err)
	}
	less := func(i, j int) bool {
		return all[i].Title < all[j].Title || all[i].Title == all[j].Title && all[i].ID < all[j].ID
	}
	if order == "id" {
		less = func(i, j int) bool { return all[i].ID < all[j].ID }
	}
	if dir == "desc" {
		asc := less
		less = func(i, j int) bool { return asc(j, i) }
	}
	sort.SliceStable(all, less)
	out := []namespaceJSON{}
	if start := (page - 1) * perPage; start < len(all) && start/perPage == page-1 {
		for _, ns := range all[start:min(start+perPage, len(all))] {
			out = append(out, nsJSON(ns))
		}
	}
	WriteList(w, out, PageInfo{
		Page: page, PerPage: perPage, Count: len(out), TotalCount: len(all),
		TotalPages: (len(all) + perPage - 1) / perPage,
	})
	return nil
}

type titleBody struct {
	Title *string `json:"title"`
}

func (b titleBody) title() (string, error) {
	if b.Title == nil {
		return "", badRequest("The request body must be a JSON object with a title.")
	}
	return *b.Title, nil
}

func (k *kvAPI) createNamespace(w http.ResponseWriter, r *http.Request) error {
	var body titleBody
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	title, err := body.title()
	if err != nil {
		return err
	}
	ns, err := k.store.CreateNamespace(r.Context(), title)
	if err != nil {
		return kvError("create namespace", err)
	}
	WriteResult(w, nsJSON(ns))
	return nil
}

func (k *kvAPI) getNamespace(w http.ResponseWriter, r *http.Request) error {
	ns, err := k.store.GetNamespace(r.Context(), r.PathValue("ns"))
	if err != nil {
		return kvError("get namespace", err)
	}
	WriteResult(w, nsJSON(ns))
	return nil
}

// renameNamespace answers with the renamed namespace: wrangler reads
// result.title, and the OA's empty result is a subset of it.
func (k *kvAPI) renameNamespace(w http.ResponseWriter, r *http.Request) error {
	var body titleBody
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	title, err := body.title()
	if err != nil {
		return err
	}
	id := r.PathValue("ns")
	if err := k.store.RenameNamespace(r.Context(), id, title); err != nil {
		return kvError("rename namespace", err)
	}
	WriteResult(w, nsJSON(kv.Namespace{ID: id, Title: title}))
	return nil
}

func (k *kvAPI) deleteNamespace(w http.ResponseWriter, r *http.Request) error {
	if err := k.store.DeleteNamespace(r.Context(), r.PathValue("ns")); err != nil {
		return kvError("delete namespace", err)
	}
	WriteResult(w, nil)
	return nil
}

// keyJSON is a key of a listing; expiration and metadata appear only when
// set.
type keyJSON struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

func (k *kvAPI) listKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := kv.MaxListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 || n > kv.MaxListLimit {
			return badRequest("list keys: Invalid limit %q. Please specify an integer from 10 to %d.", s, kv.MaxListLimit)
		}
		limit = n
	}
	res, err := k.store.List(r.Context(), r.PathValue("ns"), kv.ListOptions{Prefix: q.Get("prefix"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		return kvError("list keys", err)
	}
	out := make([]keyJSON, len(res.Keys))
	for i, ki := range res.Keys {
		out[i] = keyJSON{Name: ki.Name, Expiration: ki.Expiration, Metadata: ki.Metadata}
	}
	cursor := ""
	if !res.ListComplete {
		cursor = res.Cursor
	}
	WriteList(w, out, CursorInfo{Count: len(out), Cursor: cursor})
	return nil
}

// keyFromPath returns the key of a …/{ns}/values/<key> or
// …/{ns}/metadata/<key> path, percent-decoded from the escaped path so that
// an encoded "/" (%2F) is part of the key rather than a separator.
func keyFromPath(r *http.Request) (string, error) {
	segs := strings.Split(r.URL.EscapedPath(), "/")
	// "", client, v4, accounts, {account}, storage, kv, namespaces, {ns}, values|metadata, key...
	const keyAt = 10
	if len(segs) < keyAt {
		return "", badRequest("The path has no key name.")
	}
	key, err := url.PathUnescape(strings.Join(segs[keyAt:], "/"))
	if err != nil {
		return "", badRequest("The key name is not validly percent-encoded: %v", err)
	}
	return key, nil
}

func (k *kvAPI) getValue(w http.ResponseWriter, r *http.Request) error {
	key, err := keyFromPath(r)
	if err != nil {
		return err
	}
	e, err := k.store.Get(r.Context(), r.PathValue("ns"), key)
	if err != nil {
		return kvError("get", err)
	}
	if e == nil {
		return NewError(http.StatusNotFound, CodeKVKeyNotFound, "get: 'key not found'")
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(e.Value)))
	if e.Expiration != 0 {
		h.Set("Expiration", strconv.FormatInt(e.Expiration, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.Value)
	return nil
}

func (k *kvAPI) getMetadata(w http.ResponseWriter, r *http.Request) error {
	key, err := keyFromPath(r)
	if err != nil {
		return err
	}
	e, err := k.store.Get(r.Context(), r.PathValue("ns"), key)
	if err != nil {
		return kvError("metadata", err)
	}
	if e == nil {
		return NewError(http.StatusNotFound, CodeKVKeyNotFound, "metadata: 'key not found'")
	}
	var md any // JSON null when the key has none
	if e.Metadata != nil {
		md = e.Metadata
	}
	WriteResult(w, md)
	return nil
}

// expirationQuery reads the expiration and expiration_ttl query parameters.
func expirationQuery(q url.Values, opts *kv.PutOptions) error {
	for _, p := range []struct {
		name string
		v    *int64
		set  *bool
	}{{"expiration", &opts.Expiration, &opts.ExpirationSet}, {"expiration_ttl", &opts.ExpirationTTL, &opts.ExpirationTTLSet}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return badRequest("put: Invalid %s of %q. Please specify an integer.", p.name, s)
		}
		*p.v, *p.set = n, true
	}
	return nil
}

// compactJSON compacts valid JSON (so its stored size is its minimal one)
// and leaves anything else for kv.ValidateMetadata to reject.
func compactJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

func readLimited(rd io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(rd, limit))
}

func (k *kvAPI) putValue(w http.ResponseWriter, r *http.Request) error {
	key, err := keyFromPath(r)
	if err != nil {
		return err
	}
	var opts kv.PutOptions
	if err := expirationQuery(r.URL.Query(), &opts); err != nil {
		return err
	}
	var value []byte
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		body := http.MaxBytesReader(w, r.Body, kv.MaxValueBytes+maxMultipartOverhead)
		value, opts.Metadata, err = readMultipartValue(body, params["boundary"])
		if err != nil {
			return err
		}
	} else {
		value, err = readLimited(r.Body, kv.MaxValueBytes+1)
		if err != nil {
			return fmt.Errorf("read value: %w", err)
		}
	}
	if err := kv.ValidateValueSize(len(value)); err != nil {
		return kvError("put", err)
	}
	if err := k.store.Put(r.Context(), r.PathValue("ns"), key, value, opts); err != nil {
		return kvError("put", err)
	}
	WriteResult(w, nil)
	return nil
}

// readMultipartValue reads the parts value and metadata (a JSON text) of a
// multipart/form-data body; other parts are ignored.
func readMultipartValue(body io.Reader, boundary string) (value, metadata []byte, err error) {
	if boundary == "" {
		return nil, nil, badRequest("put: the multipart/form-data body has no boundary.")
	}
	mr := multipart.NewReader(body, boundary)
	haveValue := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, kvError("put", kv.ValidateValueSize(kv.MaxValueBytes+1))
			}
			return nil, nil, badRequest("put: the multipart/form-data body is malformed: %v", err)
		}
		switch part.FormName() {
		case "value":
			value, err = readLimited(part, kv.MaxValueBytes+1)
			haveValue = true
		case "metadata":
			var md []byte
			md, err = readLimited(part, maxMultipartOverhead)
			metadata = compactJSON(md)
		default:
			_, err = io.Copy(io.Discard, part)
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, kvError("put", kv.ValidateValueSize(kv.MaxValueBytes+1))
			}
			return nil, nil, badRequest("put: the multipart/form-data body is malformed: %v", err)
		}
	}
	if !haveValue {
		return nil, nil, badRequest("put: the multipart/form-data body has no value part.")
	}
	return value, metadata, nil
}

func (k *kvAPI) deleteValue(w http.ResponseWriter, r *http.Request) error {
	key, err := keyFromPath(r)
	if err != nil {
		return err
	}
	if err := k.store.Delete(r.Context(), r.PathValue("ns"), key); err != nil {
		return kvError("delete", err)
	}
	WriteResult(w, nil)
	return nil
}

// bulkItemJSON is an item of PUT …/bulk.
type bulkItemJSON struct {
	Key           *string         `json:"key"`
	Value         *string         `json:"value"`
	Expiration    *int64          `json:"expiration"`
	ExpirationTTL *int64          `json:"expiration_ttl"`
	Metadata      json.RawMessage `json:"metadata"`
	Base64        bool            `json:"base64"`
}

// bulkResult is the result of bulk writes and deletes.
type bulkResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

func (k *kvAPI) bulkPut(w http.ResponseWriter, r *http.Request) error {
	var raw []json.RawMessage
	if err := decodeJSON(w, r, maxBulkBody, &raw); err != nil {
		return err
	}
	if len(raw) > kv.MaxBulkWriteItems {
		// The store would say the same; answer before decoding the items.
		_, err := kv.ValidatePutMany(k.now(), make([]kv.BulkItem, len(raw)))
		return kvError("bulk put", err)
	}
	items := make([]kv.BulkItem, len(raw))
	for i, rm := range raw {
		var it bulkItemJSON
		if err := json.Unmarshal(rm, &it); err != nil {
			return badRequest("bulk put: item %d: %v", i, err)
		}
		if it.Key == nil {
			return badRequest("bulk put: item %d: the key is missing.", i)
		}
		if it.Value == nil {
			return badRequest("bulk put: item %d (key %q): the value is missing.", i, *it.Key)
		}
		value := []byte(*it.Value)
		if it.Base64 {
			b, err := base64.StdEncoding.DecodeString(*it.Value)
			if err != nil {
				return badRequest("bulk put: item %d (key %q): the value is not valid base64: %v", i, *it.Key, err)
			}
			value = b
		}
		bi := kv.BulkItem{Key: *it.Key, Value: value, PutOptions: kv.PutOptions{Metadata: compactJSON(it.Metadata)}}
		if it.Expiration != nil {
			bi.Expiration, bi.ExpirationSet = *it.Expiration, true
		}
		if it.ExpirationTTL != nil {
			bi.ExpirationTTL, bi.ExpirationTTLSet = *it.ExpirationTTL, true
		}
		items[i] = bi
	}
	if len(items) > 0 {
		if err := k.store.PutMany(r.Context(), r.PathValue("ns"), items); err != nil {
			return kvError("bulk put", err)
		}
	} else if _, err := k.store.GetNamespace(r.Context(), r.PathValue("ns")); err != nil {
		return kvError("bulk put", err)
	}
	WriteResult(w, bulkResult{SuccessfulKeyCount: len(items), UnsuccessfulKeys: []string{}})
	return nil
}

// readKeyList reads a JSON array of key names; an element may also be an
// object {"name": key}, the form of wrangler's bulk delete files.
func readKeyList(w http.ResponseWriter, r *http.Request, op string) ([]string, error) {
	var raw []json.RawMessage
	if err := decodeJSON(w, r, maxJSONBody, &raw); err != nil {
		return nil, err
	}
	keys := make([]string, len(raw))
	for i, rm := range raw {
		if err := json.Unmarshal(rm, &keys[i]); err == nil {
			continue
		}
		var obj struct {
			Name *string `json:"name"`
		}
		if err := json.Unmarshal(rm, &obj); err != nil || obj.Name == nil {
			return nil, badRequest("%s: item %d must be a key name (a string).", op, i)
		}
		keys[i] = *obj.Name
	}
	return keys, nil
}

func (k *kvAPI) bulkDeleteKeys(w http.ResponseWriter, r *http.Request, op string) (int, error) {
	keys, err := readKeyList(w, r, op)
	if err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		if _, err := k.store.GetNamespace(r.Context(), r.PathValue("ns")); err != nil {
			return 0, kvError(op, err)
		}
		return 0, nil
	}
	if err := k.store.DeleteMany(r.Context(), r.PathValue("ns"), keys); err != nil {
		return 0, kvError(op, err)
	}
	return len(keys), nil
}

func (k *kvAPI) bulkDelete(w http.ResponseWriter, r *http.Request) error {
	n, err := k.bulkDeleteKeys(w, r, "bulk delete")
	if err != nil {
		return err
	}
	WriteResult(w, bulkResult{SuccessfulKeyCount: n, UnsuccessfulKeys: []string{}})
	return nil
}

// bulkDeleteDeprecated is DELETE …/bulk, which the OA marks deprecated and
// answers with a null result; wrangler still uses it.
func (k *kvAPI) bulkDeleteDeprecated(w http.ResponseWriter, r *http.Request) error {
	if _, err := k.bulkDeleteKeys(w, r, "bulk delete"); err != nil {
		return err
	}
	WriteResult(w, nil)
	return nil
}

type bulkGetBody struct {
	Keys         []string `json:"keys"`
	Type         string   `json:"type"`
	WithMetadata bool     `json:"withMetadata"`
}

type bulkGetValue struct {
	Value      any             `json:"value"`
	Metadata   json.RawMessage `json:"metadata"`
	Expiration int64           `json:"expiration,omitempty"`
}

func (k *kvAPI) bulkGet(w http.ResponseWriter, r *http.Request) error {
	var body bulkGetBody
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	if body.Type == "" {
		body.Type = "text"
	}
	if body.Type != "text" && body.Type != "json" {
		return badRequest("bulk get: Invalid type %q. Please use text or json.", body.Type)
	}
	entries, err := k.store.GetMany(r.Context(), r.PathValue("ns"), body.Keys)
	if err != nil {
		return kvError("bulk get", err)
	}
	values := make(map[string]any, len(entries))
	for key, e := range entries {
		if e == nil {
			values[key] = nil
			continue
		}
		var v any
		switch body.Type {
		case "json":
			if !json.Valid(e.Value) {
				return badRequest("bulk get: the value of key %q is not valid JSON.", key)
			}
			v = json.RawMessage(e.Value)
		default:
			if !utf8.Valid(e.Value) {
				return badRequest("bulk get: the value of key %q is not text. Keys must contain text-based values.", key)
			}
			v = string(e.Value)
		}
		if !body.WithMetadata {
			values[key] = v
			continue
		}
		md := e.Metadata
		if md == nil {
			md = json.RawMessage("null")
		}
		values[key] = bulkGetValue{Value: v, Metadata: md, Expiration: e.Expiration}
	}
	WriteResult(w, map[string]any{"values": values})
	return nil
}
