// Package mgmt is the management REST API of `kiln serve`: the Cloudflare v4
// API under /client/v4, in the original's shapes, so that curl, wrangler
// (CLOUDFLARE_API_BASE_URL=http://host:port/client/v4) and the official SDKs
// can drive a kiln server.
//
// # Envelope
//
// Every JSON answer is the v4 envelope
//
//	{"success": bool, "errors": [{"code", "message"}], "messages": [],
//	 "result": ..., "result_info"?: {...}}
//
// WriteResult, WriteList and WriteError produce it. The only answer that is
// not an envelope is the raw value of GET …/storage/kv/namespaces/{ns}/values/{key},
// as on the platform.
//
// # Routing and authentication
//
// API is an http.Handler over a net/http ServeMux with method+path patterns
// (Go 1.22). Other packages add routes with API.Handle; every route requires
// a valid API token (Authorization: Bearer <token>; X-Auth-Key with any
// X-Auth-Email is accepted too, the key being a token), and a route whose
// pattern has an {account} wildcard also requires the server's account id.
// A path no route matches is a 404 with code 7003 ("Could not route to
// <path>, perhaps your object identifier is invalid?") and 7000, as the
// platform answers.
//
// # Accounts and tokens
//
// A server has exactly one account. Its id (32 hex digits) is taken from
// Options.AccountID or generated at first start and kept in
// <DataDir>/account.json. Tokens live in <DataDir>/tokens.json as SHA-256
// hashes (Tokens: CreateToken, ListTokens, RevokeToken); the file is re-read
// when another process (`kiln token create|revoke`) replaces it, so changes
// apply to a running server at its next request.
//
// # Workers KV
//
// With Options.KV set, New registers the KV endpoints of the v4 API
// (namespaces, keys, values, metadata, bulk) on that kv.Store.
package mgmt
