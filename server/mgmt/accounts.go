package mgmt

import (
	"net/http"
	"strconv"
	"time"
)

// accountJSON is the account object of the v4 API (OA "accounts_account").
type accountJSON struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Settings  accountSettings `json:"settings"`
	CreatedOn string          `json:"created_on"`
}

type accountSettings struct {
	AbuseContactEmail           *string `json:"abuse_contact_email"`
	EnforceTwofactor            bool    `json:"enforce_twofactor"`
	UseAccountCustomNSByDefault bool    `json:"use_account_custom_ns_by_default"`
	DefaultNameservers          string  `json:"default_nameservers"`
	APIAccessEnabled            *bool   `json:"api_access_enabled"`
	AccessApprovalExpiry        *string `json:"access_approval_expiry"`
}

type membershipJSON struct {
	ID          string      `json:"id"`
	Status      string      `json:"status"`
	Account     accountJSON `json:"account"`
	Roles       []string    `json:"roles"`
	Permissions struct{}    `json:"permissions"`
}

func (a *API) accountJSON() accountJSON {
	return accountJSON{
		ID:   a.account.ID,
		Name: a.account.Name,
		Type: "standard",
		Settings: accountSettings{
			DefaultNameservers: "cloudflare.standard",
		},
		CreatedOn: a.account.CreatedOn.UTC().Format(time.RFC3339),
	}
}

func (a *API) registerAccounts() {
	a.Handle("GET "+Prefix+"/accounts", a.listAccounts)
	a.Handle("GET "+Prefix+"/accounts/{account}", a.getAccount)
	a.Handle("GET "+Prefix+"/memberships", a.listMemberships)
	a.Handle("GET "+Prefix+"/user", a.getUser)
	a.Handle("GET "+Prefix+"/user/tokens/verify", a.verifyToken)
}

// onePage pages a list of one element as the platform pages lists by page
// number: the element on page 1, an empty result past it.
func onePage[T any](r *http.Request, item T) ([]T, PageInfo, error) {
	page, perPage, err := pageParams(r, 20, 1, 1000)
	if err != nil {
		return nil, PageInfo{}, err
	}
	items := []T{}
	if page == 1 {
		items = append(items, item)
	}
	return items, PageInfo{Page: page, PerPage: perPage, Count: len(items), TotalCount: 1, TotalPages: 1}, nil
}

// pageParams reads page (>= 1, default 1) and per_page (default def,
// clamped to [lo, hi]).
func pageParams(r *http.Request, def, lo, hi int) (page, perPage int, err error) {
	q := r.URL.Query()
	page, perPage = 1, def
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, 0, Errorf(http.StatusBadRequest, CodeKVBadRequest, "Invalid page %q: it must be an integer of at least 1.", s)
		}
		page = n
	}
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, Errorf(http.StatusBadRequest, CodeKVBadRequest, "Invalid per_page %q: it must be an integer.", s)
		}
		perPage = min(max(n, lo), hi)
	}
	return page, perPage, nil
}

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request) error {
	items, info, err := onePage(r, a.accountJSON())
	if err != nil {
		return err
	}
	WriteList(w, items, info)
	return nil
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request) error {
	WriteResult(w, a.accountJSON())
	return nil
}

func (a *API) listMemberships(w http.ResponseWriter, r *http.Request) error {
	m := membershipJSON{
		ID:      a.account.ID, // one membership per account: reuse its id
		Status:  "accepted",
		Account: a.accountJSON(),
		Roles:   []string{"Administrator"},
	}
	items, info, err := onePage(r, m)
	if err != nil {
		return err
	}
	WriteList(w, items, info)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	tok, _ := TokenFrom(r.Context())
	WriteResult(w, map[string]any{
		"id":                                tok.ID,
		"email":                             a.opts.UserEmail,
		"username":                          tok.Name,
		"first_name":                        nil,
		"last_name":                         nil,
		"telephone":                         nil,
		"country":                           nil,
		"zipcode":                           nil,
		"two_factor_authentication_enabled": false,
		"two_factor_authentication_locked":  false,
		"has_pro_zones":                     false,
		"has_business_zones":                false,
		"has_enterprise_zones":              false,
		"suspended":                         false,
		"betas":                             []string{},
		"organizations":                     []any{},
	})
	return nil
}

func (a *API) verifyToken(w http.ResponseWriter, r *http.Request) error {
	tok, _ := TokenFrom(r.Context())
	WriteJSON(w, http.StatusOK, Envelope{
		Success:  true,
		Errors:   []ErrorItem{},
		Messages: []Message{{Code: 10000, Message: "This API Token is valid and active", Type: nil}},
		Result:   map[string]string{"id": tok.ID, "status": "active"},
	})
	return nil
}
