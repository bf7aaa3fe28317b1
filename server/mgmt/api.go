package mgmt

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/kiln-dev/kiln/kv"
)

// Prefix is the path prefix of the API, as in https://api.cloudflare.com/client/v4.
const Prefix = "/client/v4"

// Options configure an API.
type Options struct {
	// DataDir holds account.json and tokens.json. Required.
	DataDir string
	// AccountID is the account's id (32 lowercase hex digits); empty means
	// the persisted one, or a new one at first start.
	AccountID string
	// AccountName is the account's name; empty means the persisted one, or
	// DefaultAccountName.
	AccountName string
	// UserEmail is the email GET /user reports; empty reports "".
	UserEmail string
	// KV, when set, gets the Workers KV endpoints.
	KV kv.Store
	// Logger receives failures the client is not told about in detail;
	// default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// HandlerFunc serves an authenticated request. It writes its answer itself,
// or returns an error: an *Error is answered with its envelope, anything
// else with a 500 envelope (and logged).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// API is the management API: an http.Handler to mount on its own listener.
type API struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	account Account
	tokens  *Tokens
	mux     *http.ServeMux
}

type tokenKey struct{}

// TokenFrom returns the token that authenticated the request of ctx.
func TokenFrom(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

// New opens the account and the token store of opts.DataDir and registers
// the built-in routes (accounts, memberships, user, token verification, and
// KV if opts.KV is set).
func New(opts Options) (*API, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	tokens, err := OpenTokens(opts.DataDir)
	if err != nil {
		return nil, err
	}
	tokens.now = opts.Now
	acc, err := loadAccount(opts.DataDir, opts.AccountID, opts.AccountName, opts.Now())
	if err != nil {
		return nil, err
	}
	a := &API{opts: opts, log: opts.Logger, now: opts.Now, account: acc, tokens: tokens, mux: http.NewServeMux()}
	a.registerAccounts()
	if opts.KV != nil {
		a.registerKV(opts.KV)
	}
	return a, nil
}

// Account returns the server's account.
func (a *API) Account() Account { return a.account }

// Tokens returns the token store.
func (a *API) Tokens() *Tokens { return a.tokens }

// Handle registers h for pattern, a ServeMux pattern with a method and a
// path under Prefix, e.g. "GET /client/v4/accounts/{account}/workers/scripts".
// The request must carry a valid token; if the pattern has an {account}
// wildcard it must be the server's account id. It panics, as ServeMux
// does, on a pattern that conflicts with another.
func (a *API) Handle(pattern string, h HandlerFunc) {
	withAccount := strings.Contains(pattern, "{account}")
	a.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, aerr := a.authenticate(r)
		if aerr != nil {
			WriteError(w, aerr)
			return
		}
		if withAccount {
			if aerr := a.checkAccount(r); aerr != nil {
				WriteError(w, aerr)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		if err := h(w, r); err != nil {
			a.writeErr(w, r, err)
		}
	}))
}

// writeErr answers err: its own envelope for an *Error, else a 500.
func (a *API) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := asError(err); ok {
		WriteError(w, e)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	a.log.Error("mgmt: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	WriteError(w, NewError(http.StatusInternalServerError, CodeInternal, "Internal error"))
}

// ServeHTTP serves the API. A request no route matches is answered with the
// platform's 404 (codes 7003 and 7000); a known path with another method
// with 405 (code 7001).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pat := a.mux.Handler(r); pat != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404, 405 and a redirect to a clean path,
	// then answer with an envelope instead of its text.
	probe := &statusProbe{header: http.Header{}}
	a.mux.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteError(w, NewError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed for this endpoint"))
	case http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusFound:
		w.Header().Set("Location", probe.header.Get("Location"))
		w.WriteHeader(probe.status)
	default:
		WriteError(w, noRoute(r))
	}
}

func noRoute(r *http.Request) *Error {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, Prefix); ok && rest != "" {
		p = rest
	}
	return &Error{Status: http.StatusNotFound, Items: []ErrorItem{
		{Code: CodeNoRoute, Message: "Could not route to " + p + ", perhaps your object identifier is invalid?"},
		{Code: CodeNoRouteURI, Message: "No route for that URI"},
	}}
}

// statusProbe records the status and headers the mux's own 404/405/redirect
// handlers write, and drops their text.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(s int) {
	if p.status == 0 {
		p.status = s
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// token68 is the syntax of RFC 7235 credentials, which the platform checks
// before looking a token up.
var token68 = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// authenticate checks the credentials of r. The answers follow the
// platform: a malformed Authorization header is 400 with code 6003 and the
// chained 6111; missing credentials, 9106; an unknown key 9103; an unknown
// or revoked token 10000 (1000 "Invalid API Token" on /user/tokens/verify).
// Missing credentials are a 401 here where the platform says 400, as the
// issue asks for 401/403 on every request without a valid token.
func (a *API) authenticate(r *http.Request) (Token, *Error) {
	authz := r.Header.Values("Authorization")
	key, email := r.Header.Get("X-Auth-Key"), r.Header.Get("X-Auth-Email")
	var secret string
	switch {
	case len(authz) > 0:
		scheme, cred, ok := strings.Cut(strings.TrimSpace(authz[0]), " ")
		cred = strings.TrimLeft(cred, " ")
		if len(authz) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || !token68.MatchString(cred) {
			return Token{}, &Error{Status: http.StatusBadRequest, Items: []ErrorItem{{
				Code: CodeInvalidHeaders, Message: "Invalid request headers",
				ErrorChain: []ErrorItem{{Code: CodeInvalidAuthorization, Message: "Invalid format for Authorization header"}},
			}}}
		}
		secret = cred
	case key != "" && email != "":
		// The global-key scheme, with one of the server's tokens as the
		// key: the same secret as a Bearer token, so no weaker. There are
		// no users, so the email is not checked.
		tok, ok, err := a.tokens.Verify(r.Context(), key)
		if err != nil {
			a.log.Error("mgmt: token store", "err", err)
			return Token{}, NewError(http.StatusInternalServerError, CodeInternal, "Internal error")
		}
		if !ok {
			return Token{}, NewError(http.StatusForbidden, CodeUnknownAuthKey, "Unknown X-Auth-Key or X-Auth-Email")
		}
		return tok, nil
	default:
		return Token{}, NewError(http.StatusUnauthorized, CodeMissingAuth, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	}
	tok, ok, err := a.tokens.Verify(r.Context(), secret)
	if err != nil {
		a.log.Error("mgmt: token store", "err", err)
		return Token{}, NewError(http.StatusInternalServerError, CodeInternal, "Internal error")
	}
	if !ok {
		if r.URL.Path == Prefix+"/user/tokens/verify" {
			return Token{}, NewError(http.StatusUnauthorized, CodeInvalidToken, "Invalid API Token")
		}
		return Token{}, NewError(http.StatusUnauthorized, CodeAuthentication, "Authentication error")
	}
	return tok, nil
}

// checkAccount answers a path whose account is not the server's: a
// malformed id cannot name any account (404, 7003 as the platform routes
// it); a well-formed foreign id is one the token may not access (403, 9109).
func (a *API) checkAccount(r *http.Request) *Error {
	id := r.PathValue("account")
	if id == a.account.ID {
		return nil
	}
	if !hex32.MatchString(id) {
		return noRoute(r)
	}
	return NewError(http.StatusForbidden, CodeUnauthorized, "Unauthorized to access requested resource")
}
