// Package webapi installs the Web platform APIs a Worker expects (Fetch,
// URL, Encoding, WebCrypto, streams, timers, events, console ...) into a goja
// runtime. Hot classes (Headers, Request, Response, URL) are Go-backed host
// objects (see host.go); the rest is a JavaScript prelude compiled once and
// run in every runtime.
package webapi
