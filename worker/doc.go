// Package worker runs one Worker: it sets up every runtime of the Worker's
// pool (Web APIs, the cloudflare:workers host classes, bindings), evaluates
// the bundled script, finds its handlers (ES module `export default { fetch }`
// or the service-worker `addEventListener("fetch")` form) and dispatches HTTP
// requests to them, turning the returned Response back into HTTP.
package worker
