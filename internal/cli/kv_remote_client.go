package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// The client of a kiln server's Cloudflare v4 API, shared by the kv
// commands' --remote mode and by `kiln deploy`. It reads the environment
// variables wrangler reads:
//
//	CLOUDFLARE_API_BASE_URL  the API base, used verbatim (…/client/v4);
//	                         deprecated alias CF_API_BASE_URL
//	CLOUDFLARE_API_TOKEN     sent as "Authorization: Bearer …";
//	                         deprecated alias CF_API_TOKEN
//	CLOUDFLARE_ACCOUNT_ID    the account; else the config's account_id,
//	                         else the only account GET /accounts lists;
//	                         deprecated alias CF_ACCOUNT_ID
//
// Unlike wrangler, there is no default base: kiln has no cloud to fall back
// to, so a missing base URL is an error.

// apiEnv is the environment of the API client.
type apiEnv struct {
	baseURL   string
	token     string
	accountID string
	warnings  []string // deprecated variables used
}

// lookupEnv reads name, or its deprecated alias.
func lookupEnv(name, alias string, warnings *[]string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if v := os.Getenv(alias); v != "" {
		*warnings = append(*warnings, fmt.Sprintf("Using \"%s\" environment variable. This is deprecated. Please use \"%s\", instead.", alias, name))
		return v
	}
	return ""
}

// readAPIEnv reads the variables and checks that the base URL and the token
// are set.
func readAPIEnv() (apiEnv, error) {
	var e apiEnv
	e.baseURL = lookupEnv("CLOUDFLARE_API_BASE_URL", "CF_API_BASE_URL", &e.warnings)
	e.token = lookupEnv("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN", &e.warnings)
	e.accountID = lookupEnv("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", &e.warnings)
	var missing []string
	if e.baseURL == "" {
		missing = append(missing, "CLOUDFLARE_API_BASE_URL (the kiln server's API, e.g. http://127.0.0.1:8788/client/v4)")
	}
	if e.token == "" {
		missing = append(missing, "CLOUDFLARE_API_TOKEN (a token made with `kiln token create`)")
	}
	if len(missing) > 0 {
		return e, fmt.Errorf("Talking to a kiln server needs environment variables that are not set: %s.", strings.Join(missing, " and "))
	}
	if u, err := url.Parse(e.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e, fmt.Errorf("CLOUDFLARE_API_BASE_URL %q is not an http(s) URL such as http://127.0.0.1:8788/client/v4.", e.baseURL)
	}
	e.baseURL = strings.TrimSuffix(e.baseURL, "/")
	return e, nil
}

// apiClient makes requests to the API.
type apiClient struct {
	base      string
	token     string
	accountID string // "" until resolved
	http      *http.Client
}

// newAPIClient reads the environment; configAccountID is the config's
// account_id, used when CLOUDFLARE_ACCOUNT_ID is unset. Warnings about
// deprecated variables go to warn.
func newAPIClient(configAccountID string, warn func(string)) (*apiClient, error) {
	env, err := readAPIEnv()
	for _, w := range env.warnings {
		warn(w)
	}
	if err != nil {
		return nil, err
	}
	account := env.accountID
	if account == "" {
		account = configAccountID
	}
	return &apiClient{base: env.baseURL, token: env.token, accountID: account, http: &http.Client{}}, nil
}

// apiErrorItem is one error of a failure envelope.
type apiErrorItem struct {
	Code       int            `json:"code"`
	Message    string         `json:"message"`
	ErrorChain []apiErrorItem `json:"error_chain"`
}

// render is the note wrangler prints for an error: "message [code: N]",
// with its chain indented below it.
func (e apiErrorItem) render(level int) string {
	s := e.Message
	if e.Code != 0 {
		s = fmt.Sprintf("%s [code: %d]", e.Message, e.Code)
	}
	for _, c := range e.ErrorChain {
		s += "\n" + strings.Repeat("  ", level) + "- " + c.render(level+1)
	}
	return s
}

// apiError is a failed API request, printed as wrangler prints it: the
// resource, then one note per error.
type apiError struct {
	resource string
	status   int
	errors   []apiErrorItem
	// detail replaces the notes when the answer was not an envelope.
	detail string
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "A request to the Cloudflare API (%s) failed.", e.resource)
	for _, item := range e.errors {
		b.WriteString("\n" + item.render(0))
	}
	if e.detail != "" {
		b.WriteString("\n" + e.detail)
	}
	return b.String()
}

// code is the first error's code, 0 without one.
func (e *apiError) code() int {
	if len(e.errors) == 0 {
		return 0
	}
	return e.errors[0].Code
}

// envelope is the JSON body of the API's answers.
type envelope struct {
	Success    bool            `json:"success"`
	Errors     []apiErrorItem  `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo json.RawMessage `json:"result_info"`
}

// apiRequest is one request. resource is the path after the base, as
// wrangler names it in errors ("/accounts/…").
type apiRequest struct {
	method      string
	resource    string
	query       url.Values
	contentType string
	body        []byte
}

// send makes the request and returns the response; the caller closes it.
func (c *apiClient) send(ctx context.Context, r apiRequest) (*http.Response, error) {
	u := c.base + r.resource
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("making the request %s %s: %w", r.method, r.resource, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "kiln/"+Version)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("A request to the Cloudflare API (%s) failed.\n%w", r.resource, err)
	}
	return resp, nil
}

// failure reads a non-2xx answer as an *apiError.
func failure(resource string, resp *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("A request to the Cloudflare API (%s) failed.\nreading the answer: %w", resource, err)
	}
	return envelopeError(resource, resp.StatusCode, data)
}

func envelopeError(resource string, status int, data []byte) *apiError {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Errors) == 0 {
		text := strings.TrimSpace(string(data))
		if len(text) > 300 {
			text = text[:300] + "…"
		}
		return &apiError{resource: resource, status: status, detail: fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), text)}
	}
	return &apiError{resource: resource, status: status, errors: env.Errors}
}

// fetch makes a request answered by an envelope; result, when not nil,
// receives the envelope's result. It returns the envelope's result_info.
func (c *apiClient) fetch(ctx context.Context, r apiRequest, result any) (json.RawMessage, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent {
		return nil, nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("A request to the Cloudflare API (%s) failed.\nreading the answer: %w", r.resource, err)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, envelopeError(r.resource, resp.StatusCode, data)
	}
	if !env.Success || resp.StatusCode >= 300 {
		return nil, envelopeError(r.resource, resp.StatusCode, data)
	}
	if result != nil && len(env.Result) > 0 && string(env.Result) != "null" {
		if err := json.Unmarshal(env.Result, result); err != nil {
			return nil, fmt.Errorf("A request to the Cloudflare API (%s) failed.\nunexpected result: %w", r.resource, err)
		}
	}
	return env.ResultInfo, nil
}

// fetchJSON is fetch with a JSON body.
func (c *apiClient) fetchJSON(ctx context.Context, method, resource string, query url.Values, body, result any) (json.RawMessage, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding the request to %s: %w", resource, err)
	}
	return c.fetch(ctx, apiRequest{method: method, resource: resource, query: query, contentType: "application/json", body: data}, result)
}

// account returns the account id: the one given, else the only account of
// the token.
func (c *apiClient) account(ctx context.Context) (string, error) {
	if c.accountID != "" {
		return c.accountID, nil
	}
	var accounts []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if _, err := c.fetch(ctx, apiRequest{method: http.MethodGet, resource: "/accounts"}, &accounts); err != nil {
		return "", err
	}
	switch len(accounts) {
	case 0:
		return "", errors.New("Failed to automatically retrieve account IDs for the logged in user.\nIn a non-interactive environment, it is mandatory to specify an account ID, either by assigning its value to CLOUDFLARE_ACCOUNT_ID, or as `account_id` in your Wrangler configuration file.")
	case 1:
		c.accountID = accounts[0].ID
		return c.accountID, nil
	}
	var b strings.Builder
	b.WriteString("More than one account available but unable to select one in non-interactive mode.\n" +
		"Please set the appropriate `account_id` in your Wrangler configuration file or assign it to the `CLOUDFLARE_ACCOUNT_ID` environment variable.\n" +
		"Available accounts are (`<name>`: `<account_id>`):")
	for _, a := range accounts {
		fmt.Fprintf(&b, "\n  `%s`: `%s`", a.Name, a.ID)
	}
	return "", errors.New(b.String())
}
