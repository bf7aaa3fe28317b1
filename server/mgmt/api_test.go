package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	path := e.acct("/storage/kv/namespaces")

	t.Run("no credentials", func(t *testing.T) {
		e.do("GET", path, nil, map[string]string{"Authorization": ""}).
			fail(t, 401, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	})
	t.Run("malformed header", func(t *testing.T) {
		for _, h := range []string{"Basic abc", "Bearer", "Bearer two words", "Bearer tok\"en"} {
			env := e.do("GET", path, nil, map[string]string{"Authorization": h}).
				fail(t, 400, 6003, "Invalid request headers")
			if len(env.Errors[0].ErrorChain) != 1 || env.Errors[0].ErrorChain[0].Code != 6111 ||
				env.Errors[0].ErrorChain[0].Message != "Invalid format for Authorization header" {
				t.Fatalf("%q: error_chain %+v", h, env.Errors[0].ErrorChain)
			}
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		e.do("GET", path, nil, map[string]string{"Authorization": "Bearer notatoken"}).
			fail(t, 401, 10000, "Authentication error")
		e.do("GET", "/client/v4/user/tokens/verify", nil, map[string]string{"Authorization": "Bearer notatoken"}).
			fail(t, 401, 1000, "Invalid API Token")
	})
	t.Run("good token", func(t *testing.T) {
		e.do("GET", path, nil, nil).env(t, 200)
		// The scheme is case-insensitive.
		e.do("GET", path, nil, map[string]string{"Authorization": "bearer " + e.token}).env(t, 200)
	})
	t.Run("revoked token", func(t *testing.T) {
		ctx := context.Background()
		id, secret, err := e.api.Tokens().CreateToken(ctx, "short-lived")
		if err != nil {
			t.Fatal(err)
		}
		e.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + secret}).env(t, 200)
		if err := e.api.Tokens().RevokeToken(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + secret}).
			fail(t, 401, 10000, "Authentication error")
		if err := e.api.Tokens().RevokeToken(ctx, id); !errors.Is(err, ErrTokenNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
	})
	t.Run("another process", func(t *testing.T) {
		// `kiln token create|revoke --data DIR` opens its own store.
		ctx := context.Background()
		other, err := OpenTokens(e.dir)
		if err != nil {
			t.Fatal(err)
		}
		id, secret, err := other.CreateToken(ctx, "cli")
		if err != nil {
			t.Fatal(err)
		}
		e.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + secret}).env(t, 200)
		if err := other.RevokeToken(ctx, id); err != nil {
			t.Fatal(err)
		}
		e.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + secret}).fail(t, 401, 10000, "")
	})
	t.Run("x-auth-key", func(t *testing.T) {
		noBearer := map[string]string{"Authorization": "", "X-Auth-Key": e.token, "X-Auth-Email": "a@b.c"}
		e.do("GET", path, nil, noBearer).env(t, 200)
		noBearer["X-Auth-Key"] = "wrong"
		e.do("GET", path, nil, noBearer).fail(t, 403, 9103, "Unknown X-Auth-Key or X-Auth-Email")
		// A key without an email is missing credentials.
		e.do("GET", path, nil, map[string]string{"Authorization": "", "X-Auth-Key": e.token}).fail(t, 401, 9106, "")
	})
}

func TestTokenStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts, err := OpenTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.CreateToken(ctx, " "); err == nil {
		t.Fatal("a token without a name was created")
	}
	id, secret, err := ts.CreateToken(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 40 || len(id) != 32 {
		t.Fatalf("id %q secret %q", id, secret)
	}
	raw, err := os.ReadFile(filepath.Join(dir, TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) || !strings.Contains(string(raw), hashSecret(secret)) {
		t.Fatalf("the file must hold the hash, not the secret: %s", raw)
	}
	if fi, _ := os.Stat(filepath.Join(dir, TokensFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	list, err := ts.ListTokens(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Name != "ci" || list[0].CreatedOn.IsZero() {
		t.Fatalf("list %+v %v", list, err)
	}
	if tok, ok, _ := ts.Verify(ctx, secret); !ok || tok.ID != id {
		t.Fatalf("verify: %+v %v", tok, ok)
	}
	if _, ok, _ := ts.Verify(ctx, secret+"x"); ok {
		t.Fatal("a wrong secret verified")
	}
}

func TestEnvelopeExact(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/client/v4/nope", nil, nil)
	want := `{"success":false,"errors":[{"code":7003,"message":"Could not route to /nope, perhaps your object identifier is invalid?"},{"code":7000,"message":"No route for that URI"}],"messages":[],"result":null}` + "\n"
	if r.status != 404 || string(r.body) != want {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = e.do("GET", "/client/v4/user/tokens/verify", nil, nil)
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(string(mustJSON(t, got["result"])), ",")
	if r.status != 200 || !strings.HasPrefix(id, `{"id":"`) || got["success"] != true {
		t.Fatalf("%s", r.body)
	}
	if _, ok := got["result_info"]; ok {
		t.Fatalf("result_info on a single result: %s", r.body)
	}
	// A list has result_info.
	r = e.do("GET", e.acct("/storage/kv/namespaces"), nil, nil)
	if !strings.Contains(string(r.body), `"result":[],"result_info":{"page":1,"per_page":20,"count":0,"total_count":0}`) {
		t.Fatalf("%s", r.body)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/client/v4/accounts/"+e.api.Account().ID+"/nothing/here", nil, nil).
		fail(t, 404, 7003, "Could not route to /accounts/"+e.api.Account().ID+"/nothing/here, perhaps your object identifier is invalid?")
	e.do("GET", "/elsewhere", nil, nil).fail(t, 404, 7003, "Could not route to /elsewhere, perhaps your object identifier is invalid?")
	r := e.do("PATCH", "/client/v4/accounts", nil, nil)
	r.fail(t, 405, 7001, "Method not allowed for this endpoint")
	if !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}

	// Routes added by other packages get auth and the account check.
	e.api.Handle("GET /client/v4/accounts/{account}/workers/scripts", func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := TokenFrom(r.Context())
		if !ok || tok.Name != "test" {
			return errors.New("no token in the context")
		}
		WriteList(w, []string{}, PageInfo{Page: 1, PerPage: 20})
		return nil
	})
	e.api.Handle("GET /client/v4/boom", func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("secret detail")
	})
	e.api.Handle("GET /client/v4/teapot", func(w http.ResponseWriter, r *http.Request) error {
		return NewError(418, 1234, "short and stout")
	})
	e.do("GET", e.acct("/workers/scripts"), nil, nil).env(t, 200)
	e.do("GET", e.acct("/workers/scripts"), nil, map[string]string{"Authorization": ""}).fail(t, 401, 9106, "")
	e.do("GET", "/client/v4/accounts/0123456789abcdef0123456789abcdef/workers/scripts", nil, nil).
		fail(t, 403, 9109, "Unauthorized to access requested resource")
	e.do("GET", "/client/v4/accounts/not-an-id/workers/scripts", nil, nil).
		fail(t, 404, 7003, "Could not route to /accounts/not-an-id/workers/scripts, perhaps your object identifier is invalid?")
	r = e.do("GET", "/client/v4/boom", nil, nil)
	r.fail(t, 500, CodeInternal, "Internal error")
	if strings.Contains(string(r.body), "secret detail") {
		t.Fatal("an internal error leaked to the client")
	}
	e.do("GET", "/client/v4/teapot", nil, nil).fail(t, 418, 1234, "short and stout")
}

func TestAccounts(t *testing.T) {
	e := newEnv(t)
	acc := e.api.Account()
	if !hex32.MatchString(acc.ID) || acc.Name != DefaultAccountName {
		t.Fatalf("account %+v", acc)
	}

	env := e.do("GET", "/client/v4/accounts?page=1", nil, nil).env(t, 200)
	accs := decode[[]map[string]any](t, env.Result)
	if len(accs) != 1 || accs[0]["id"] != acc.ID || accs[0]["name"] != "kiln" || accs[0]["type"] != "standard" {
		t.Fatalf("%s", env.Result)
	}
	if _, ok := accs[0]["settings"].(map[string]any); !ok {
		t.Fatalf("settings: %s", env.Result)
	}
	info := decode[PageInfo](t, env.ResultInfo)
	if info != (PageInfo{Page: 1, PerPage: 20, Count: 1, TotalCount: 1, TotalPages: 1}) {
		t.Fatalf("result_info %+v", info)
	}
	env = e.do("GET", "/client/v4/accounts?page=2", nil, nil).env(t, 200)
	if string(env.Result) != "[]" {
		t.Fatalf("page 2: %s", env.Result)
	}
	env = e.do("GET", "/client/v4/accounts/"+acc.ID, nil, nil).env(t, 200)
	if decode[map[string]any](t, env.Result)["id"] != acc.ID {
		t.Fatalf("%s", env.Result)
	}

	env = e.do("GET", "/client/v4/memberships", nil, nil).env(t, 200)
	ms := decode[[]struct {
		Status  string `json:"status"`
		Account struct{ ID, Name string }
	}](t, env.Result)
	if len(ms) != 1 || ms[0].Account.ID != acc.ID || ms[0].Account.Name != "kiln" || ms[0].Status != "accepted" {
		t.Fatalf("%s", env.Result)
	}

	env = e.do("GET", "/client/v4/user/tokens/verify", nil, nil).env(t, 200)
	v := decode[map[string]string](t, env.Result)
	toks, _ := e.api.Tokens().ListTokens(context.Background())
	if v["status"] != "active" || v["id"] != toks[0].ID {
		t.Fatalf("%s", env.Result)
	}
	if len(env.Messages) != 1 || env.Messages[0].Message != "This API Token is valid and active" {
		t.Fatalf("messages %+v", env.Messages)
	}

	env = e.do("GET", "/client/v4/user", nil, nil).env(t, 200)
	if u := decode[map[string]any](t, env.Result); u["id"] != toks[0].ID {
		t.Fatalf("%s", env.Result)
	}
}

func TestAccountPersisted(t *testing.T) {
	dir := t.TempDir()
	a1, err := New(Options{DataDir: dir, AccountName: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := New(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if a1.Account().ID != a2.Account().ID || a2.Account().Name != "acme" {
		t.Fatalf("%+v vs %+v", a1.Account(), a2.Account())
	}
	const given = "00112233445566778899aabbccddeeff"
	a3, err := New(Options{DataDir: t.TempDir(), AccountID: given})
	if err != nil || a3.Account().ID != given {
		t.Fatalf("%v %+v", err, a3)
	}
	if _, err := New(Options{DataDir: t.TempDir(), AccountID: "xyz"}); err == nil {
		t.Fatal("a malformed account id was accepted")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("no data dir was accepted")
	}
}
