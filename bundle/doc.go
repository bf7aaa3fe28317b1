// Package bundle turns a Worker's entry point (TypeScript or JavaScript, ES
// modules or a service-worker script, with npm dependencies from node_modules)
// into one classic script that the goja engine can compile: an IIFE that
// assigns the entry module's exports to the global GlobalName.
//
// It drives esbuild's Go API with the engine's gaps lowered (async generators,
// for await, using, class fields; research/jsengine.md §1-2), resolves npm
// packages the way wrangler does (conditions workerd, worker, browser), applies
// wrangler's default module rules (.txt/.html/.sql as text, .bin/.wasm as
// bytes), and embeds an inline source map whose sources are named relative to
// the project directory, so stack traces point at the user's own files.
//
// The import "cloudflare:workers" is a virtual module whose exports
// (DurableObject, WorkerEntrypoint, RpcTarget, WorkflowEntrypoint, env,
// waitUntil) are read at load time from the host object the engine installs as
// globalThis[Symbol.for("kiln.host")] before it runs the bundle. Other
// "cloudflare:*" modules and Node.js built-ins are build errors that say so.
//
// Every source file is bounded before esbuild parses it (size, and nesting
// depth via CheckNesting), because deeply nested source overflows the Go stack
// of esbuild and goja, which kills the process (research/jsengine.md §5).
// CheckNesting is exported so that the engine can apply the same guard to
// scripts uploaded without bundling.
package bundle
