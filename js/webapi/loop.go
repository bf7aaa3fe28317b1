package webapi

import (
	"log/slog"
	"net/http"
)

// Loop is what the Web APIs need from the engine that runs them. The js
// package's Runtime implements it.
type Loop interface {
	// Hold marks the start of asynchronous work begun by the job now running.
	// The returned function must be called exactly once, from any goroutine;
	// it runs fn (nil: nothing) on the loop, as part of the same invocation,
	// and reports false if the runtime is gone.
	Hold() func(fn func()) bool
	// Post runs fn on the loop as work of the runtime itself (outside any
	// request), from any goroutine: events that arrive on their own, such
	// as a WebSocket message from the network. It reports false if the
	// runtime is gone.
	Post(fn func()) bool
	// Report handles an exception nobody caught (a throwing timer callback,
	// an event listener): it is logged, and if it broke the engine the
	// runtime is discarded.
	Report(err error)
	// Done is closed when the runtime stops for good.
	Done() <-chan struct{}
	// OutputGate returns, inside a Durable Object, a channel that yields
	// once the writes made so far are durable (nil outside objects): an
	// outgoing request waits for it.
	OutputGate() <-chan error
	// Pin keeps the context the script runs in (a Durable Object) in
	// memory until the returned function is called; outside objects it does
	// nothing.
	Pin() (unpin func())
}

// Config is what Install needs.
type Config struct {
	Prelude *Prelude
	// Loop runs asynchronous completions; required.
	Loop Loop
	// Console receives console.* output; nil discards it.
	Console func(level slog.Level, msg string)
	// HTTPClient makes outbound fetch() calls; nil uses a default client.
	HTTPClient *http.Client
}
