package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/kiln-dev/kiln/kv"
)

// remoteKVService is kvService on a kiln server's Cloudflare v4 API, making
// the requests wrangler makes with --remote (spec §10a, §11).
type remoteKVService struct {
	api     *apiClient
	account string
}

var _ kvService = (*remoteKVService)(nil)

// remoteBatchSize is wrangler's BATCH_KEY_MAX: items per bulk request.
const remoteBatchSize = 1000

// remoteBulkGetSize is the most keys POST …/bulk/get takes.
const remoteBulkGetSize = 100

// openRemoteKV makes the client and resolves the account.
func openRemoteKV(ctx context.Context, configAccountID string, warn func(string)) (*remoteKVService, error) {
	api, err := newAPIClient(configAccountID, warn)
	if err != nil {
		return nil, err
	}
	account, err := api.account(ctx)
	if err != nil {
		return nil, err
	}
	return &remoteKVService{api: api, account: account}, nil
}

func (r *remoteKVService) Close() error {
	r.api.http.CloseIdleConnections()
	return nil
}

func (r *remoteKVService) namespacesPath() string {
	return "/accounts/" + r.account + "/storage/kv/namespaces"
}

func (r *remoteKVService) nsPath(ns string) string {
	return r.namespacesPath() + "/" + url.PathEscape(ns)
}

// valuePath is …/values/{encodeURIComponent(key)}.
func (r *remoteKVService) valuePath(ns, key string) string {
	return r.nsPath(ns) + "/values/" + encodeURIComponent(key)
}

// encodeURIComponent escapes as JavaScript's function does: everything but
// A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '!', c == '~', c == '*', c == '\'', c == '(', c == ')':
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

type remoteNamespace struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func (r *remoteKVService) CreateNamespace(ctx context.Context, title string) (kv.Namespace, error) {
	var ns remoteNamespace
	_, err := r.api.fetchJSON(ctx, http.MethodPost, r.namespacesPath(), nil, map[string]string{"title": title}, &ns)
	var ae *apiError
	if errors.As(err, &ae) && ae.code() == 10014 {
		return kv.Namespace{}, fmt.Errorf("%w: %w", kv.ErrNamespaceExists, err)
	}
	if err != nil {
		return kv.Namespace{}, err
	}
	return kv.Namespace{ID: ns.ID, Title: ns.Title}, nil
}

// ListNamespaces pages as wrangler does: per_page=1000 ordered by title,
// page 1, 2, … until a page is empty.
func (r *remoteKVService) ListNamespaces(ctx context.Context) ([]kv.Namespace, error) {
	out := []kv.Namespace{}
	for page := 1; ; page++ {
		q := url.Values{"per_page": {"1000"}, "order": {"title"}, "direction": {"asc"}}
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		var list []remoteNamespace
		if _, err := r.api.fetch(ctx, apiRequest{method: http.MethodGet, resource: r.namespacesPath(), query: q}, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return out, nil
		}
		for _, ns := range list {
			out = append(out, kv.Namespace{ID: ns.ID, Title: ns.Title})
		}
	}
}

func (r *remoteKVService) RenameNamespace(ctx context.Context, id, title string) (kv.Namespace, error) {
	var ns remoteNamespace
	if _, err := r.api.fetchJSON(ctx, http.MethodPut, r.nsPath(id), nil, map[string]string{"title": title}, &ns); err != nil {
		return kv.Namespace{}, err
	}
	if ns.Title == "" {
		ns = remoteNamespace{ID: id, Title: title}
	}
	return kv.Namespace{ID: ns.ID, Title: ns.Title}, nil
}

func (r *remoteKVService) DeleteNamespace(ctx context.Context, id string) error {
	_, err := r.api.fetch(ctx, apiRequest{method: http.MethodDelete, resource: r.nsPath(id)}, nil)
	return err
}

// PutValue sends the raw value, or, with metadata, a multipart form with
// the parts value and metadata; the expiration goes in the query.
func (r *remoteKVService) PutValue(ctx context.Context, ns kvNamespaceRef, key string, value []byte, opts kv.PutOptions) error {
	q := url.Values{}
	if opts.ExpirationSet && opts.Expiration != 0 {
		q.Set("expiration", strconv.FormatInt(opts.Expiration, 10))
	}
	if opts.ExpirationTTLSet && opts.ExpirationTTL != 0 {
		q.Set("expiration_ttl", strconv.FormatInt(opts.ExpirationTTL, 10))
	}
	req := apiRequest{method: http.MethodPut, resource: r.valuePath(ns.ID, key), query: q,
		contentType: "text/plain;charset=UTF-8", body: value}
	if opts.Metadata != nil {
		body, ct, err := multipartValue(value, opts.Metadata)
		if err != nil {
			return err
		}
		req.body, req.contentType = body, ct
	}
	if req.body == nil {
		req.body = []byte{}
	}
	_, err := r.api.fetch(ctx, req, nil)
	return err
}

// multipartValue is the form wrangler sends for a value with metadata.
func multipartValue(value []byte, metadata json.RawMessage) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="value"; filename="blob"`)
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("building the upload form: %w", err)
	}
	if _, err := part.Write(value); err != nil {
		return nil, "", fmt.Errorf("building the upload form: %w", err)
	}
	if err := w.WriteField("metadata", string(metadata)); err != nil {
		return nil, "", fmt.Errorf("building the upload form: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("building the upload form: %w", err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// GetValue returns the raw bytes. Like wrangler, a failed read (also a
// missing key) is an error showing the API's answer.
func (r *remoteKVService) GetValue(ctx context.Context, ns kvNamespaceRef, key string) ([]byte, bool, error) {
	resource := r.valuePath(ns.ID, key)
	resp, err := r.api.send(ctx, apiRequest{method: http.MethodGet, resource: resource})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, false, failure(resource, resp)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, fmt.Errorf("A request to the Cloudflare API (%s) failed.\nreading the value: %w", resource, err)
	}
	return data, true, nil
}

type remoteKey struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

// ListKeys follows result_info.cursor until it is empty or missing.
func (r *remoteKVService) ListKeys(ctx context.Context, ns kvNamespaceRef, prefix string) ([]kv.KeyInfo, error) {
	keys := []kv.KeyInfo{}
	cursor := ""
	for {
		q := url.Values{"prefix": {prefix}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page []remoteKey
		info, err := r.api.fetch(ctx, apiRequest{method: http.MethodGet, resource: r.nsPath(ns.ID) + "/keys", query: q}, &page)
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			ki := kv.KeyInfo{Name: k.Name, Expiration: k.Expiration}
			if len(k.Metadata) > 0 && string(k.Metadata) != "null" {
				ki.Metadata = k.Metadata
			}
			keys = append(keys, ki)
		}
		var ri struct {
			Cursor *string `json:"cursor"`
		}
		if len(info) > 0 {
			if err := json.Unmarshal(info, &ri); err != nil {
				return nil, fmt.Errorf("listing keys: unexpected result_info: %w", err)
			}
		}
		if ri.Cursor == nil || *ri.Cursor == "" {
			return keys, nil
		}
		cursor = *ri.Cursor
	}
}

func (r *remoteKVService) DeleteValue(ctx context.Context, ns kvNamespaceRef, key string) error {
	_, err := r.api.fetch(ctx, apiRequest{method: http.MethodDelete, resource: r.valuePath(ns.ID, key)}, nil)
	return err
}

// remoteBulkItem is an item of PUT …/bulk. A value that is not UTF-8 is
// sent in base64, so that its bytes arrive unchanged.
type remoteBulkItem struct {
	Key           string          `json:"key"`
	Value         string          `json:"value"`
	Expiration    int64           `json:"expiration,omitempty"`
	ExpirationTTL int64           `json:"expiration_ttl,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	Base64        bool            `json:"base64,omitempty"`
}

// PutBulk sends PUT …/bulk in batches of 1,000 items.
func (r *remoteKVService) PutBulk(ctx context.Context, ns kvNamespaceRef, items []kv.BulkItem, progress func(done int)) error {
	progress(0)
	for start := 0; start < len(items); start += remoteBatchSize {
		end := min(start+remoteBatchSize, len(items))
		batch := make([]remoteBulkItem, 0, end-start)
		for _, it := range items[start:end] {
			ri := remoteBulkItem{Key: it.Key, Metadata: it.Metadata}
			if it.ExpirationSet {
				ri.Expiration = it.Expiration
			}
			if it.ExpirationTTLSet {
				ri.ExpirationTTL = it.ExpirationTTL
			}
			if utf8.Valid(it.Value) {
				ri.Value = string(it.Value)
			} else {
				ri.Value, ri.Base64 = base64.StdEncoding.EncodeToString(it.Value), true
			}
			batch = append(batch, ri)
		}
		if _, err := r.api.fetchJSON(ctx, http.MethodPut, r.nsPath(ns.ID)+"/bulk", nil, batch, nil); err != nil {
			return err
		}
		progress(end)
	}
	return nil
}

// DeleteBulk sends DELETE …/bulk with a JSON array of keys, as wrangler
// does, in batches of 1,000.
func (r *remoteKVService) DeleteBulk(ctx context.Context, ns kvNamespaceRef, keys []string, progress func(done int)) error {
	progress(0)
	for start := 0; start < len(keys); start += remoteBatchSize {
		end := min(start+remoteBatchSize, len(keys))
		if _, err := r.api.fetchJSON(ctx, http.MethodDelete, r.nsPath(ns.ID)+"/bulk", nil, keys[start:end], nil); err != nil {
			return err
		}
		progress(end)
	}
	return nil
}

// GetBulk sends POST …/bulk/get {keys} in batches of 100 keys; a key the
// answer maps to null is missing.
func (r *remoteKVService) GetBulk(ctx context.Context, ns kvNamespaceRef, keys []string) (map[string]*kv.Entry, error) {
	out := make(map[string]*kv.Entry, len(keys))
	for start := 0; start < len(keys); start += remoteBulkGetSize {
		batch := keys[start:min(start+remoteBulkGetSize, len(keys))]
		var result struct {
			Values map[string]json.RawMessage `json:"values"`
		}
		if _, err := r.api.fetchJSON(ctx, http.MethodPost, r.nsPath(ns.ID)+"/bulk/get", nil, map[string]any{"keys": batch}, &result); err != nil {
			return nil, err
		}
		for _, k := range batch {
			raw, ok := result.Values[k]
			if !ok || len(raw) == 0 || string(raw) == "null" {
				out[k] = nil
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				// A value of type json: keep its text.
				s = string(raw)
			}
			out[k] = &kv.Entry{Value: []byte(s)}
		}
	}
	return out, nil
}
