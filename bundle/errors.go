package bundle

import (
	"fmt"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// newBuildError makes a *BuildError of esbuild's errors, first rewording the
// ones kiln can explain better.
func newBuildError(msgs []api.Message, inputs []string) *BuildError {
	msgs = explainNodeBuiltins(msgs)
	return &BuildError{
		Messages: msgs,
		Text:     strings.Join(formatMessages(msgs, api.ErrorMessage), "\n\n"),
		Inputs:   inputs,
	}
}

// formatMessages formats messages as the esbuild CLI prints them, without
// color and without the blank line that follows each.
func formatMessages(msgs []api.Message, kind api.MessageKind) []string {
	if len(msgs) == 0 {
		return nil
	}
	out := api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: kind, Color: false})
	for i, m := range out {
		out[i] = strings.TrimRight(m, "\n")
	}
	return out
}

// explainNodeBuiltins rewords esbuild's `Could not resolve "fs"` for Node.js
// built-in modules: esbuild's note suggests bundling for node, which is no
// help on kiln. Imports of built-ins that are guarded by try/catch are not
// errors (esbuild leaves them as a require() that fails at run time), and a
// package's "browser" map can replace them, as on wrangler.
func explainNodeBuiltins(msgs []api.Message) []api.Message {
	out := make([]api.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		var mod string
		if _, err := fmt.Sscanf(m.Text, "Could not resolve %q", &mod); err != nil || !isNodeBuiltin(mod) {
			continue
		}
		out[i].Text = fmt.Sprintf("Could not resolve %q: kiln does not provide the Node.js built-in module %q", mod, mod)
		note := "kiln has no Node.js compatibility layer yet. Use the Web API equivalent " +
			"(fetch, crypto.subtle, TextEncoder, streams ...), or a package that does not depend on Node.js. " +
			"If the import comes from a dependency, check whether the package has a worker or browser build."
		if !strings.HasPrefix(mod, "node:") {
			note += fmt.Sprintf(" If you meant the npm package %q, install it.", mod)
		}
		out[i].Notes = []api.Note{{Text: note}}
	}
	return out
}

// isNodeBuiltin says whether an import path names a Node.js built-in module.
func isNodeBuiltin(path string) bool {
	if strings.HasPrefix(path, "node:") {
		return true
	}
	return nodeBuiltins[path]
}

// nodeBuiltins are the modules Node.js resolves without the "node:" prefix
// (require("module").builtinModules).
var nodeBuiltins = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range strings.Fields(`
		_http_agent _http_client _http_common _http_incoming _http_outgoing _http_server
		_stream_duplex _stream_passthrough _stream_readable _stream_transform _stream_wrap
		_stream_writable _tls_common _tls_wrap assert assert/strict async_hooks buffer
		child_process cluster console constants crypto dgram diagnostics_channel dns
		dns/promises domain events fs fs/promises http http2 https inspector
		inspector/promises module net os path path/posix path/win32 perf_hooks process
		punycode querystring readline readline/promises repl stream stream/consumers
		stream/promises stream/web string_decoder sys timers timers/promises tls
		trace_events tty url util util/types v8 vm wasi worker_threads zlib`) {
		m[name] = true
	}
	return m
}()
