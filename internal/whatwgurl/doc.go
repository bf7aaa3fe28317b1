// Package whatwgurl implements the WHATWG URL Standard (https://url.spec.whatwg.org/)
// in pure Go: the basic URL parser state machine, host parsing (domains through
// UTS #46 IDNA, IPv4, IPv6 and opaque hosts), URL serialization, origins, the
// setters of the URL API with their state overrides, and the
// application/x-www-form-urlencoded parser and serializer that back
// URLSearchParams.
//
// It exists because Workers code expects the URL and URLSearchParams of the web
// platform, whose rules differ from RFC 3986 and therefore from net/url:
// backslashes count as slashes in special schemes, "http://0x7f.1/" is
// 127.0.0.1, dot segments like "%2e%2e" are resolved, and so on. The js/webapi
// package exposes it to JavaScript; Go code (routing, fetch) can use it directly
// to see URLs exactly as a Worker sees them.
//
// Validation errors that the standard marks as non-fatal are not reported; a
// fatal one makes Parse return an error wrapping ErrInvalidURL.
package whatwgurl
