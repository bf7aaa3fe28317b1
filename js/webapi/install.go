package webapi

import (
	"errors"
	"fmt"

	"github.com/dop251/goja"
)

// Installed is what Install leaves for the Go side of a runtime.
type Installed struct {
	// Internal holds the prelude's hooks; script code never sees it.
	Internal *goja.Object
	// Fetch converts between HTTP and the script's Request and Response.
	Fetch *Fetch
}

// Install puts every Web API into vm: the prelude first, then the Go-backed
// APIs. It must run on vm's loop.
func Install(vm *goja.Runtime, cfg Config) (*Installed, error) {
	if cfg.Prelude == nil || cfg.Loop == nil {
		return nil, errors.New("webapi: Install needs a Prelude and a Loop")
	}
	internal := vm.NewObject()
	if err := internal.Set("reportError", func(call goja.FunctionCall) goja.Value {
		reportThrown(cfg.Loop, call.Argument(0))
		return goja.Undefined()
	}); err != nil {
		return nil, err
	}
	if err := cfg.Prelude.run(vm, internal); err != nil {
		return nil, err
	}
	installers := []struct {
		name string
		fn   func(*goja.Runtime, *goja.Object) error
	}{
		{"encoding", installEncoding},
		{"base64", installBase64},
		{"crypto", installCrypto},
		{"structuredClone", installStructuredClone},
		{"url", installURL},
		{"timers", func(vm *goja.Runtime, _ *goja.Object) error { return installTimers(vm, cfg.Loop) }},
		{"console", func(vm *goja.Runtime, _ *goja.Object) error { return installConsole(vm, cfg.Console) }},
	}
	for _, in := range installers {
		if err := in.fn(vm, internal); err != nil {
			return nil, fmt.Errorf("installing %s: %w", in.name, err)
		}
	}
	f, err := installFetch(vm, internal, cfg.Loop, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("installing fetch: %w", err)
	}
	if f.api.ws, err = installWebSockets(vm, internal, cfg.Loop); err != nil {
		return nil, fmt.Errorf("installing WebSocket: %w", err)
	}
	return &Installed{Internal: internal, Fetch: f}, nil
}

// ThrownError is a value thrown by script and caught by the platform, to be
// reported through Loop.Report.
type ThrownError struct{ Value goja.Value }

func (e *ThrownError) Error() string {
	if e.Value == nil {
		return "undefined"
	}
	if o, ok := e.Value.(*goja.Object); ok && o != nil {
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) {
			return s.String()
		}
	}
	return e.Value.String()
}

func reportThrown(loop Loop, v goja.Value) { loop.Report(&ThrownError{Value: v}) }
