package mgmt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

func (e *testEnv) createNS(t *testing.T, title string) namespaceJSON {
	t.Helper()
	env := e.do("POST", e.acct("/storage/kv/namespaces"), mustJSON(t, map[string]string{"title": title}), nil).env(t, 200)
	ns := decode[namespaceJSON](t, env.Result)
	if !hex32.MatchString(ns.ID) || ns.Title != title || !ns.SupportsURLEncoding {
		t.Fatalf("created %s", env.Result)
	}
	return ns
}

func TestNamespaces(t *testing.T) {
	e := newEnv(t)
	base := e.acct("/storage/kv/namespaces")
	ns := e.createNS(t, "first")
	// The exact shape of the result.
	r := e.do("GET", base+"/"+ns.ID, nil, nil)
	r.env(t, 200)
	if !strings.Contains(string(r.body), `"result":{"id":"`+ns.ID+`","title":"first","supports_url_encoding":true}`) {
		t.Fatalf("%s", r.body)
	}

	e.do("POST", base, mustJSON(t, map[string]string{"title": "first"}), nil).
		fail(t, 400, 10014, "create namespace: 'a namespace with this account ID and title already exists'")
	e.do("POST", base, []byte(`{"title":"  "}`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("POST", base, []byte(`{}`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("POST", base, []byte(`not json`), nil).fail(t, 400, CodeKVBadRequest, "")

	env := e.do("PUT", base+"/"+ns.ID, mustJSON(t, map[string]string{"title": "renamed"}), nil).env(t, 200)
	if got := decode[namespaceJSON](t, env.Result); got.Title != "renamed" || got.ID != ns.ID {
		t.Fatalf("rename: %s", env.Result)
	}
	env = e.do("GET", base+"/"+ns.ID, nil, nil).env(t, 200)
	if decode[namespaceJSON](t, env.Result).Title != "renamed" {
		t.Fatalf("after rename: %s", env.Result)
	}
	other := e.createNS(t, "other")
	e.do("PUT", base+"/"+other.ID, mustJSON(t, map[string]string{"title": "renamed"}), nil).fail(t, 400, 10014, "")

	env = e.do("DELETE", base+"/"+other.ID, nil, nil).env(t, 200)
	if string(env.Result) != "null" {
		t.Fatalf("delete result %s", env.Result)
	}
	e.do("GET", base+"/"+other.ID, nil, nil).fail(t, 404, 10013, "get namespace: 'namespace not found'")
	e.do("DELETE", base+"/"+other.ID, nil, nil).fail(t, 404, 10013, "delete namespace: 'namespace not found'")
	e.do("PUT", base+"/"+other.ID, mustJSON(t, map[string]string{"title": "x"}), nil).fail(t, 404, 10013, "")
}

func TestNamespaceListPaging(t *testing.T) {
	e := newEnv(t)
	base := e.acct("/storage/kv/namespaces")
	var ids []string
	for i := range 7 {
		ids = append(ids, e.createNS(t, fmt.Sprintf("ns-%d", i)).ID)
	}
	page := func(q string) ([]namespaceJSON, PageInfo) {
		t.Helper()
		env := e.do("GET", base+"?"+q, nil, nil).env(t, 200)
		return decode[[]namespaceJSON](t, env.Result), decode[PageInfo](t, env.ResultInfo)
	}
	titles := func(nss []namespaceJSON) string {
		var s []string
		for _, ns := range nss {
			s = append(s, ns.Title)
		}
		return strings.Join(s, ",")
	}

	// What wrangler sends, page after page until an empty result.
	got, info := page("per_page=1000&order=title&direction=asc")
	if titles(got) != "ns-0,ns-1,ns-2,ns-3,ns-4,ns-5,ns-6" || info != (PageInfo{Page: 1, PerPage: 1000, Count: 7, TotalCount: 7, TotalPages: 1}) {
		t.Fatalf("page 1: %s %+v", titles(got), info)
	}
	got, info = page("per_page=1000&order=title&direction=asc&page=2")
	if len(got) != 0 || info.Page != 2 || info.Count != 0 || info.TotalCount != 7 {
		t.Fatalf("page 2: %+v %+v", got, info)
	}
	r := e.do("GET", base+"?per_page=1000&page=2", nil, nil)
	if !strings.Contains(string(r.body), `"result":[]`) {
		t.Fatalf("an empty page must be an empty array: %s", r.body)
	}

	got, info = page("per_page=5&page=2&order=title&direction=desc")
	if titles(got) != "ns-1,ns-0" || info.PerPage != 5 || info.Count != 2 || info.TotalPages != 2 {
		t.Fatalf("desc page 2: %s %+v", titles(got), info)
	}
	got, _ = page("per_page=100&order=id")
	for i := 1; i < len(got); i++ {
		if got[i-1].ID >= got[i].ID {
			t.Fatalf("order=id: %+v", got)
		}
	}
	// per_page is clamped to [5, 1000]; the default is 20.
	_, info = page("per_page=1")
	if info.PerPage != 5 {
		t.Fatalf("per_page=1 -> %+v", info)
	}
	_, info = page("")
	if info.PerPage != 20 || info.Page != 1 {
		t.Fatalf("defaults %+v", info)
	}
	e.do("GET", base+"?page=0", nil, nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("GET", base+"?order=name", nil, nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("GET", base+"?direction=up", nil, nil).fail(t, 400, CodeKVBadRequest, "")
}

// keyPath is what wrangler sends: encodeURIComponent of the key.
func keyPath(key string) string {
	return strings.ReplaceAll(url.PathEscape(key), ":", "%3A")
}

func TestValues(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "vals")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)
	keys := []string{"plain", "a/b/c", "/leading", "with:colon", "100%", "%2F-literal", "sp ace", "ünï", "a//b", "q?x#y", "trailing/"}
	for i, k := range keys {
		val := []byte(fmt.Sprintf("value %d \x00\xff", i))
		env := e.do("PUT", base+"/values/"+keyPath(k), val, map[string]string{"Content-Type": "text/plain;charset=UTF-8"}).env(t, 200)
		if string(env.Result) != "null" {
			t.Fatalf("put result %s", env.Result)
		}
		r := e.do("GET", base+"/values/"+keyPath(k), nil, nil)
		if r.status != 200 || !bytes.Equal(r.body, val) || r.header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("get %q: %d %q %v", k, r.status, r.body, r.header)
		}
		if r.header.Get("Expiration") != "" {
			t.Fatalf("expiration header without an expiration: %v", r.header)
		}
	}
	env := e.do("GET", base+"/keys", nil, nil).env(t, 200)
	listed := decode[[]keyJSON](t, env.Result)
	if len(listed) != len(keys) {
		t.Fatalf("listed %+v", listed)
	}
	seen := map[string]bool{}
	for _, k := range listed {
		seen[k.Name] = true
	}
	for _, k := range keys {
		if !seen[k] {
			t.Fatalf("key %q not listed as itself: %+v", k, listed)
		}
	}

	// Missing key: the platform's 404.
	e.do("GET", base+"/values/nope", nil, nil).fail(t, 404, 10009, "get: 'key not found'")
	e.do("GET", base+"/metadata/nope", nil, nil).fail(t, 404, 10009, "")

	// Delete, also of a missing key.
	e.do("DELETE", base+"/values/"+keyPath("a/b/c"), nil, nil).env(t, 200)
	e.do("GET", base+"/values/"+keyPath("a/b/c"), nil, nil).fail(t, 404, 10009, "")
	if r := e.do("GET", base+"/values/"+keyPath("plain"), nil, nil); r.status != 200 { // "a/b/c" only
		t.Fatalf("plain: %d", r.status)
	}
	e.do("DELETE", base+"/values/never-was", nil, nil).env(t, 200)

	// Expiration by query; the TTL wins over an absolute expiration.
	exp := time.Now().Unix() + 3600
	e.do("PUT", base+"/values/exp?expiration="+strconv.FormatInt(exp, 10), []byte("x"), nil).env(t, 200)
	if r := e.do("GET", base+"/values/exp", nil, nil); r.header.Get("Expiration") != strconv.FormatInt(exp, 10) {
		t.Fatalf("expiration header %q, want %d", r.header.Get("Expiration"), exp)
	}
	before := time.Now().Unix()
	e.do("PUT", base+"/values/both?expiration="+strconv.FormatInt(exp, 10)+"&expiration_ttl=120", []byte("x"), nil).env(t, 200)
	got, _ := strconv.ParseInt(e.do("GET", base+"/values/both", nil, nil).header.Get("Expiration"), 10, 64)
	if got < before+120 || got > time.Now().Unix()+120 {
		t.Fatalf("ttl should win: expiration %d", got)
	}

	// Validation errors of the kv package, with their statuses.
	e.do("PUT", base+"/values/k?expiration_ttl=30", []byte("x"), nil).
		fail(t, 400, CodeKVBadRequest, "put: Invalid expiration_ttl of 30. Expiration TTL must be at least 60.")
	e.do("PUT", base+"/values/k?expiration_ttl=abc", []byte("x"), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("PUT", base+"/values/"+strings.Repeat("k", 513), []byte("x"), nil).
		fail(t, 414, CodeKVBadRequest, "put: UTF-8 encoded length of 513 exceeds key length limit of 512.")
	e.do("GET", base+"/values/"+strings.Repeat("k", 513), nil, nil).fail(t, 414, CodeKVBadRequest, "")
	e.do("PUT", base+"/values/", []byte("x"), nil).fail(t, 400, CodeKVBadRequest, "put: Key name cannot be empty.")
	e.do("PUT", base+"/values/big", make([]byte, kv.MaxValueBytes+1), nil).
		fail(t, 413, CodeKVBadRequest, fmt.Sprintf("put: Value length of %d exceeds limit of %d.", kv.MaxValueBytes+1, kv.MaxValueBytes))
	e.do("GET", base+"/values/big", nil, nil).fail(t, 404, 10009, "")

	// An unknown namespace.
	other := e.acct("/storage/kv/namespaces/0123456789abcdef0123456789abcdef")
	e.do("GET", other+"/values/k", nil, nil).fail(t, 404, 10013, "get: 'namespace not found'")
	e.do("PUT", other+"/values/k", []byte("x"), nil).fail(t, 404, 10013, "put: 'namespace not found'")
	e.do("GET", other+"/keys", nil, nil).fail(t, 404, 10013, "list keys: 'namespace not found'")
}

func multipartBody(t *testing.T, value []byte, metadata string, asFile bool) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if asFile {
		fw, err := mw.CreateFormFile("value", "blob")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(value)
	} else if err := mw.WriteField("value", string(value)); err != nil {
		t.Fatal(err)
	}
	if metadata != "" {
		if err := mw.WriteField("metadata", metadata); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestMultipartPutAndMetadata(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "mp")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)

	body, ct := multipartBody(t, []byte("hello\x00world"), `{"owner": "me", "n": 1}`, true)
	before := time.Now().Unix()
	e.do("PUT", base+"/values/"+keyPath("dir/file:1")+"?expiration_ttl=300", body, map[string]string{"Content-Type": ct}).env(t, 200)

	r := e.do("GET", base+"/values/"+keyPath("dir/file:1"), nil, nil)
	if r.status != 200 || string(r.body) != "hello\x00world" {
		t.Fatalf("value %d %q", r.status, r.body)
	}
	exp, _ := strconv.ParseInt(r.header.Get("Expiration"), 10, 64)
	if exp < before+300 || exp > time.Now().Unix()+300 {
		t.Fatalf("expiration %d", exp)
	}
	env := e.do("GET", base+"/metadata/"+keyPath("dir/file:1"), nil, nil).env(t, 200)
	if string(env.Result) != `{"owner":"me","n":1}` {
		t.Fatalf("metadata %s", env.Result)
	}
	env = e.do("GET", base+"/keys", nil, nil).env(t, 200)
	if want := fmt.Sprintf(`[{"name":"dir/file:1","expiration":%d,"metadata":{"owner":"me","n":1}}]`, exp); string(env.Result) != want {
		t.Fatalf("list %s, want %s", env.Result, want)
	}

	// A field value without metadata; metadata of such a key is null.
	body, ct = multipartBody(t, []byte("plain"), "", false)
	e.do("PUT", base+"/values/nometa", body, map[string]string{"Content-Type": ct}).env(t, 200)
	env = e.do("GET", base+"/metadata/nometa", nil, nil).env(t, 200)
	if string(env.Result) != "null" {
		t.Fatalf("metadata %s", env.Result)
	}
	if r := e.do("GET", base+"/values/nometa", nil, nil); string(r.body) != "plain" {
		t.Fatalf("%q", r.body)
	}

	// Bad metadata and a missing value part are rejected.
	body, ct = multipartBody(t, []byte("v"), `{not json`, false)
	e.do("PUT", base+"/values/bad", body, map[string]string{"Content-Type": ct}).fail(t, 400, CodeKVBadRequest, "")
	body, ct = multipartBody(t, []byte("v"), `"`+strings.Repeat("m", kv.MaxMetadataBytes)+`"`, false)
	e.do("PUT", base+"/values/bad", body, map[string]string{"Content-Type": ct}).fail(t, 413, CodeKVBadRequest, "")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("metadata", `{}`)
	mw.Close()
	e.do("PUT", base+"/values/bad", buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()}).
		fail(t, 400, CodeKVBadRequest, "put: the multipart/form-data body has no value part.")
	e.do("GET", base+"/values/bad", nil, nil).fail(t, 404, 10009, "")
}

func TestBulkPut(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "bulk")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)
	exp := time.Now().Unix() + 3600
	items := []map[string]any{
		{"key": "a", "value": "1"},
		{"key": "b/c", "value": base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), "base64": true},
		{"key": "m", "value": "x", "metadata": map[string]any{"k": "v"}, "expiration": exp},
		{"key": "t", "value": "y", "expiration_ttl": 600},
	}
	r := e.do("PUT", base+"/bulk", mustJSON(t, items), nil)
	env := r.env(t, 200)
	if string(env.Result) != `{"successful_key_count":4,"unsuccessful_keys":[]}` {
		t.Fatalf("%s", env.Result)
	}
	if r := e.do("GET", base+"/values/"+keyPath("b/c"), nil, nil); !bytes.Equal(r.body, []byte{0, 1, 2}) {
		t.Fatalf("base64 value %q", r.body)
	}
	if r := e.do("GET", base+"/values/m", nil, nil); r.header.Get("Expiration") != strconv.FormatInt(exp, 10) {
		t.Fatalf("expiration %v", r.header)
	}
	if env := e.do("GET", base+"/metadata/m", nil, nil).env(t, 200); string(env.Result) != `{"k":"v"}` {
		t.Fatalf("%s", env.Result)
	}

	// One bad item: nothing is written and the error names it.
	bad := []map[string]any{
		{"key": "new1", "value": "1"},
		{"key": "new2", "value": "2"},
		{"key": "bad-ttl", "value": "3", "expiration_ttl": 10},
		{"key": "new3", "value": "4"},
	}
	e.do("PUT", base+"/bulk", mustJSON(t, bad), nil).
		fail(t, 400, CodeKVBadRequest, `bulk put: item 2 (key "bad-ttl"): Invalid expiration_ttl of 10. Expiration TTL must be at least 60.`)
	for _, k := range []string{"new1", "new2", "bad-ttl", "new3"} {
		e.do("GET", base+"/values/"+k, nil, nil).fail(t, 404, 10009, "")
	}
	// A bad item found while decoding also writes nothing.
	e.do("PUT", base+"/bulk", []byte(`[{"key":"new1","value":"1"},{"key":"x","value":"%%%","base64":true}]`), nil).
		fail(t, 400, CodeKVBadRequest, "")
	e.do("PUT", base+"/bulk", []byte(`[{"key":"new1","value":"1"},{"key":"x"}]`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("PUT", base+"/bulk", []byte(`[{"key":"new1","value":1}]`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("PUT", base+"/bulk", []byte(`{"key":"new1"}`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("PUT", base+"/bulk", mustJSON(t, []map[string]any{{"key": strings.Repeat("k", 600), "value": "v"}}), nil).fail(t, 414, CodeKVBadRequest, "")
	e.do("GET", base+"/values/new1", nil, nil).fail(t, 404, 10009, "")

	// More than 10,000 items.
	many := make([]map[string]string, kv.MaxBulkWriteItems+1)
	for i := range many {
		many[i] = map[string]string{"key": strconv.Itoa(i), "value": "v"}
	}
	e.do("PUT", base+"/bulk", mustJSON(t, many), nil).fail(t, 400, CodeKVBadRequest, "bulk put: You can write maximum of 10000 keys per request")

	e.do("PUT", e.acct("/storage/kv/namespaces/0123456789abcdef0123456789abcdef/bulk"), mustJSON(t, items), nil).
		fail(t, 404, 10013, "bulk put: 'namespace not found'")
}

func TestBulkDelete(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "bd")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)
	var items []map[string]string
	for _, k := range []string{"a", "b", "c/d", "e", "f"} {
		items = append(items, map[string]string{"key": k, "value": k})
	}
	e.do("PUT", base+"/bulk", mustJSON(t, items), nil).env(t, 200)

	// The SDK's route.
	env := e.do("POST", base+"/bulk/delete", mustJSON(t, []string{"a", "c/d", "missing"}), nil).env(t, 200)
	if string(env.Result) != `{"successful_key_count":3,"unsuccessful_keys":[]}` {
		t.Fatalf("%s", env.Result)
	}
	// wrangler's deprecated route, also with {name} objects.
	env = e.do("DELETE", base+"/bulk", []byte(`["b", {"name": "e"}]`), nil).env(t, 200)
	if string(env.Result) != "null" {
		t.Fatalf("%s", env.Result)
	}
	env = e.do("GET", base+"/keys", nil, nil).env(t, 200)
	if string(env.Result) != `[{"name":"f"}]` {
		t.Fatalf("left %s", env.Result)
	}
	e.do("POST", base+"/bulk/delete", []byte(`[1]`), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("DELETE", base+"/bulk", []byte(`["f", ""]`), nil).fail(t, 400, CodeKVBadRequest, `bulk delete: item 1 (key ""): Key name cannot be empty.`)
	if r := e.do("GET", base+"/values/f", nil, nil); r.status != 200 || string(r.body) != "f" { // nothing deleted
		t.Fatalf("f: %d %q", r.status, r.body)
	}
	e.do("POST", e.acct("/storage/kv/namespaces/0123456789abcdef0123456789abcdef/bulk/delete"), []byte(`["f"]`), nil).
		fail(t, 404, 10013, "")
}

func TestBulkGet(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "bg")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)
	exp := time.Now().Unix() + 3600
	e.do("PUT", base+"/bulk", mustJSON(t, []map[string]any{
		{"key": "t", "value": "text"},
		{"key": "j", "value": `{"a":[1,2]}`, "metadata": map[string]int{"m": 1}, "expiration": exp},
		{"key": "bin", "value": base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}), "base64": true},
	}), nil).env(t, 200)

	env := e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"t", "j", "none"}}), nil).env(t, 200)
	if string(env.Result) != `{"values":{"j":"{\"a\":[1,2]}","none":null,"t":"text"}}` {
		t.Fatalf("text: %s", env.Result)
	}
	env = e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"j"}, "type": "json"}), nil).env(t, 200)
	if string(env.Result) != `{"values":{"j":{"a":[1,2]}}}` {
		t.Fatalf("json: %s", env.Result)
	}
	env = e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"j", "t", "none"}, "withMetadata": true}), nil).env(t, 200)
	want := fmt.Sprintf(`{"values":{"j":{"value":"{\"a\":[1,2]}","metadata":{"m":1},"expiration":%d},"none":null,"t":{"value":"text","metadata":null}}}`, exp)
	if string(env.Result) != want {
		t.Fatalf("withMetadata: %s\nwant %s", env.Result, want)
	}
	e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"t"}, "type": "json"}), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"bin"}}), nil).fail(t, 400, CodeKVBadRequest, "")
	e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": []string{"t"}, "type": "arrayBuffer"}), nil).fail(t, 400, CodeKVBadRequest, "")
	keys := make([]string, 101)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	e.do("POST", base+"/bulk/get", mustJSON(t, map[string]any{"keys": keys}), nil).
		fail(t, 400, CodeKVBadRequest, "bulk get: You can request a maximum of 100 keys")
}

func TestListKeysPaging(t *testing.T) {
	e := newEnv(t)
	ns := e.createNS(t, "many")
	base := e.acct("/storage/kv/namespaces/" + ns.ID)
	const n = 2500
	for start := 0; start < n; start += 1000 {
		var items []map[string]string
		for i := start; i < min(start+1000, n); i++ {
			items = append(items, map[string]string{"key": fmt.Sprintf("key-%05d", i), "value": "v"})
		}
		e.do("PUT", base+"/bulk", mustJSON(t, items), nil).env(t, 200)
	}
	e.do("PUT", base+"/values/other", []byte("x"), nil).env(t, 200)

	// As wrangler: ?prefix=, then &cursor= until the cursor is "".
	var names []string
	var sizes []int
	cursor := ""
	for {
		q := url.Values{"prefix": {"key-"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		env := e.do("GET", base+"/keys?"+q.Encode(), nil, nil).env(t, 200)
		page := decode[[]keyJSON](t, env.Result)
		info := decode[CursorInfo](t, env.ResultInfo)
		if info.Count != len(page) {
			t.Fatalf("count %d for %d keys", info.Count, len(page))
		}
		if !strings.Contains(string(env.ResultInfo), `"cursor":`) {
			t.Fatalf("result_info without cursor: %s", env.ResultInfo)
		}
		sizes = append(sizes, len(page))
		for _, k := range page {
			names = append(names, k.Name)
		}
		if info.Cursor == "" {
			break
		}
		cursor = info.Cursor
		if len(sizes) > 10 {
			t.Fatal("the listing does not end")
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" || len(names) != n {
		t.Fatalf("pages %v, %d names", sizes, len(names))
	}
	for i, name := range names {
		if name != fmt.Sprintf("key-%05d", i) {
			t.Fatalf("names[%d] = %q", i, name)
		}
	}

	env := e.do("GET", base+"/keys?limit=10", nil, nil).env(t, 200)
	if info := decode[CursorInfo](t, env.ResultInfo); info.Count != 10 || info.Cursor == "" {
		t.Fatalf("limit=10: %s", env.ResultInfo)
	}
	env = e.do("GET", base+"/keys?prefix=oth", nil, nil).env(t, 200)
	if string(env.Result) != `[{"name":"other"}]` || string(env.ResultInfo) != `{"count":1,"cursor":""}` {
		t.Fatalf("prefix: %s %s", env.Result, env.ResultInfo)
	}
	for _, l := range []string{"9", "1001", "x"} {
		e.do("GET", base+"/keys?limit="+l, nil, nil).fail(t, 400, CodeKVBadRequest, "")
	}
	e.do("GET", base+"/keys?prefix="+strings.Repeat("p", 513), nil, nil).fail(t, 414, CodeKVBadRequest, "")
}

func TestResultInfoJSON(t *testing.T) {
	// The field names of result_info are the platform's.
	b, _ := json.Marshal(PageInfo{Page: 2, PerPage: 5, Count: 1, TotalCount: 6})
	if string(b) != `{"page":2,"per_page":5,"count":1,"total_count":6}` {
		t.Fatal(string(b))
	}
	b, _ = json.Marshal(CursorInfo{})
	if string(b) != `{"count":0,"cursor":""}` {
		t.Fatal(string(b))
	}
}
