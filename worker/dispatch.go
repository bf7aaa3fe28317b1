package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/webapi"
)

// outcome is how an invocation of the fetch handler ended.
type outcome struct {
	resp *webapi.Response
	err  error
}

// ServeHTTP runs the Worker's fetch handler for one request.
func (w *Worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.inflight.Add(1)
	defer w.inflight.Done()
	resp, err := w.Fetch(r.Context(), r)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	if resp.Status == http.StatusSwitchingProtocols && resp.WebSocket != nil {
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		webapi.ServeWebSocket(rw, r, resp.WebSocket, w.log)
		return
	}
	writeResponse(rw, resp)
}

// Fetch runs the fetch handler for r and returns its response. The caller
// must close resp.Body.
func (w *Worker) Fetch(ctx context.Context, r *http.Request) (*webapi.Response, error) {
	in := incoming(r)
	var done chan outcome
	// A runtime can die between Pick and Submit (another request on it broke
	// a limit); the request has not started, so it moves to a fresh runtime.
	// Each attempt has its own channel: a dead runtime fails its invocation.
	var host *js.Runtime // the runtime the handler runs on
	for attempt := 0; done == nil; attempt++ {
		rt, err := w.pool.Pick(ctx)
		if err != nil {
			return nil, err
		}
		var once sync.Once
		result := make(chan outcome, 1)
		deliver := func(o outcome) { once.Do(func() { result <- o }) }
		inv := rt.NewInvocation(w.spec.CPULimit, func(err error) { deliver(outcome{err: err}) })
		if inv != nil && rt.Submit(inv, func() { w.startFetch(rt.Host.(*instance), inv, in, deliver) }) {
			done, host = result, rt
			break
		}
		inv.End()
		if attempt == 2 {
			return nil, js.ErrRuntimeGone
		}
	}
	select {
	case o := <-done:
		return o.resp, o.err
	case <-host.Done():
		// The runtime died (another invocation on it broke a limit, or a
		// Durable Object on it did). The invocation fails with it while it
		// is live, but it ends once the handler has returned its promise:
		// if the answer was still pending, nothing would deliver it.
		select {
		case o := <-done:
			return o.resp, o.err
		default:
		}
		err := host.Err()
		if err == nil {
			err = js.ErrRuntimeGone
		}
		return nil, err
	case <-ctx.Done():
		// The client went away; the handler runs on, and whatever it
		// answers is released.
		go func() {
			if o := <-done; o.resp != nil && o.resp.Body != nil {
				_ = o.resp.Body.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// incoming describes r as the script will see it.
func incoming(r *http.Request) webapi.IncomingRequest {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	header := workerHeader(r.Header, host, ip, err == nil)
	proto := r.Proto
	return webapi.IncomingRequest{
		Method: r.Method,
		URL:    scheme + "://" + host + r.URL.RequestURI(),
		Header: header,
		Body:   r.Body,
		CF:     &webapi.CF{HTTPProtocol: proto, ClientAcceptEncoding: r.Header.Get("Accept-Encoding")},
	}
}

// workerHeader is the header map a Worker sees: a copy of the received one
// with Host and, when the client's address is known (ipKnown), its
// CF-Connecting-IP set. It is built with one
// array for all values (each name's slice capped, so that appending to one
// never overwrites the next) rather than cloned and then changed.
func workerHeader(received http.Header, host, ip string, ipKnown bool) http.Header {
	n := 2
	for _, vs := range received {
		n += len(vs)
	}
	header := make(http.Header, len(received)+2)
	values := make([]string, 0, n)
	set := func(name string, vs ...string) {
		start := len(values)
		values = append(values, vs...)
		header[name] = values[start:len(values):len(values)]
	}
	for name, vs := range received {
		if name == "Host" || ipKnown && name == "Cf-Connecting-Ip" || len(vs) == 0 {
			continue
		}
		set(name, vs...)
	}
	set("Host", host)
	if ipKnown {
		set("Cf-Connecting-Ip", ip)
	}
	return header
}

// startFetch runs on the loop: it calls the handler and arranges for the
// response (and the end of the invocation once waitUntil work settles).
func (w *Worker) startFetch(inst *instance, inv *js.Invocation, in webapi.IncomingRequest, deliver func(outcome)) {
	vm := inst.rt.VM()
	req := inst.apis.Fetch.NewRequest(in)
	track := newLifetime(inv)
	responded := false
	respond := func(v goja.Value) {
		if responded {
			return
		}
		responded = true
		track.settleOne()
		w.awaitOutcome(inst, v, func(val goja.Value, err error) {
			if err != nil {
				deliver(outcome{err: err})
				return
			}
			resp, ok := inst.apis.Fetch.ResponseOf(val)
			if !ok {
				deliver(outcome{err: fmt.Errorf("TypeError: Incorrect type for Promise: the Promise did not resolve to 'Response'")})
				return
			}
			deliver(outcome{resp: resp})
		})
	}
	track.waitUntil = func(v goja.Value) {
		track.add()
		w.awaitOutcome(inst, v, func(_ goja.Value, err error) {
			if err != nil {
				w.log.Error("Uncaught (in promise) error in waitUntil()", "error", detail(err))
			}
			track.settleOne()
		})
	}
	track.add() // the response itself

	var err error
	switch {
	case w.spec.Format == FormatServiceWorker:
		init := vm.NewObject()
		_ = init.Set("request", req)
		_ = init.Set("respondWith", func(c goja.FunctionCall) goja.Value {
			if responded {
				panic(webapi.NewDOMException(vm, "FetchEvent.respondWith() has already been called; it can only be called once.", "InvalidStateError"))
			}
			respond(c.Argument(0))
			return goja.Undefined()
		})
		_ = init.Set("ctx", inst.execCtx.New(track))
		dispatch, _ := goja.AssertFunction(inst.host.Get("dispatchFetch"))
		_, err = dispatch(goja.Undefined(), init)
		if err == nil && !responded {
			err = errors.New("No response! The fetch event listener did not call event.respondWith().")
		}
	default:
		ctx := inst.execCtx.New(track)
		var result goja.Value
		result, err = w.callFetch(vm, inst, req, ctx)
		if err == nil {
			respond(result)
		}
	}
	if err != nil {
		deliver(outcome{err: inst.rt.Check(err)})
		if !responded {
			responded = true
			track.settleOne()
		}
	}
}

func (w *Worker) callFetch(vm *goja.Runtime, inst *instance, req, ctx goja.Value) (goja.Value, error) {
	if inst.entry != nil {
		ctor, ok := goja.AssertConstructor(inst.entry)
		if !ok {
			return nil, errors.New("the default export is not a class or an object with a fetch method")
		}
		obj, err := ctor(nil, ctx, inst.env)
		if err != nil {
			return nil, err
		}
		fetch, ok := goja.AssertFunction(obj.Get("fetch"))
		if !ok {
			return nil, errors.New("Handler does not export a fetch() function.")
		}
		return fetch(obj, req)
	}
	if inst.fetch == nil {
		return nil, errors.New("Handler does not export a fetch() function.")
	}
	return inst.fetch(goja.Undefined(), req, inst.env, ctx)
}

// await calls then(value, err) when v (a promise or a plain value) settles,
// as a reaction: in the microtask that follows the settlement.
func (w *Worker) await(inst *instance, v goja.Value, then func(goja.Value, error)) {
	w.awaitAt(inst, v, false, then)
}

// awaitOutcome is await for callers that only take the final outcome of
// an event (a handler's Response, the end of waitUntil work): then may run
// at the end of the job in which v settles, after its microtasks, which
// spares the VM a derived promise and four function objects per call.
// Callers whose then changes what JavaScript sees in that same job (a
// storage transaction's savepoint, the input gate of
// blockConcurrencyWhile, an RPC result's serialization) use await.
func (w *Worker) awaitOutcome(inst *instance, v goja.Value, then func(goja.Value, error)) {
	w.awaitAt(inst, v, true, then)
}

func (w *Worker) awaitAt(inst *instance, v goja.Value, atJobEnd bool, then func(goja.Value, error)) {
	vm := inst.rt.VM()
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		if obj, isObj := v.(*goja.Object); isObj && obj != nil {
			if thenFn, ok := goja.AssertFunction(obj.Get("then")); ok {
				// A thenable that is not a native promise.
				_, err := thenFn(obj, vm.ToValue(func(c goja.FunctionCall) goja.Value {
					then(c.Argument(0), nil)
					return goja.Undefined()
				}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
					then(nil, &webapi.ThrownError{Value: c.Argument(0)})
					return goja.Undefined()
				}))
				if err != nil {
					then(nil, inst.rt.Check(err))
				}
				return
			}
		}
		then(v, nil)
		return
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		then(p.Result(), nil)
		return
	case goja.PromiseStateRejected:
		// Attaching a handler marks the rejection handled.
	case goja.PromiseStatePending:
		if atJobEnd && inst.rt.OnSettled(p, func() { settled(p, then) }) {
			return
		}
	}
	err := inst.rt.Then(p, func(c goja.FunctionCall) goja.Value {
		then(c.Argument(0), nil)
		return goja.Undefined()
	}, func(c goja.FunctionCall) goja.Value {
		then(nil, &webapi.ThrownError{Value: c.Argument(0)})
		return goja.Undefined()
	})
	if err != nil {
		then(nil, inst.rt.Check(err))
	}
}

// settled passes the outcome of a settled promise to then.
func settled(p *goja.Promise, then func(goja.Value, error)) {
	if p.State() == goja.PromiseStateFulfilled {
		then(p.Result(), nil)
		return
	}
	then(nil, &webapi.ThrownError{Value: p.Result()})
}

// lifetime ends an invocation when its response and every waitUntil promise
// have settled. It is also the implementation of the handler's ctx
// (ExecutionContext). Loop only.
type lifetime struct {
	inv         *js.Invocation
	pending     int
	waitUntil   func(goja.Value)
	passThrough bool
}

func newLifetime(inv *js.Invocation) *lifetime { return &lifetime{inv: inv} }
func (l *lifetime) add()                       { l.pending++ }
func (l *lifetime) settleOne() {
	l.pending--
	if l.pending == 0 {
		l.inv.End()
	}
}

func detail(err error) string {
	if ex := exceptionOf(err); ex != nil {
		return ex.Detail()
	}
	return err.Error()
}

// exceptionOf describes a script exception carried by err (a rejection
// value or a goja exception), or returns nil.
func exceptionOf(err error) *js.Exception {
	var thrown *webapi.ThrownError
	if errors.As(err, &thrown) {
		return js.ExceptionFromValue(thrown.Value, nil)
	}
	var ex *js.Exception
	if errors.As(js.AsError(err), &ex) {
		return ex
	}
	return nil
}

func (w *Worker) writeError(rw http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	msg := detail(err)
	w.log.Error(msg, "worker", w.spec.Name, "method", r.Method, "url", r.URL.String())
	rw.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	rw.WriteHeader(http.StatusInternalServerError)
	if w.spec.Dev {
		_, _ = io.WriteString(rw, msg+"\n")
		return
	}
	_, _ = io.WriteString(rw, "Worker threw exception\n")
}

// writeResponse copies a script Response to the client, flushing as a
// streamed body produces chunks.
func writeResponse(rw http.ResponseWriter, resp *webapi.Response) {
	h := rw.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if resp.ContentLength >= 0 && h.Get("Content-Length") == "" && !nullBody(status) {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	rw.WriteHeader(status)
	if resp.Body == nil {
		return
	}
	defer resp.Body.Close()
	if webapi.InMemory(resp.Body) {
		_, _ = io.Copy(rw, resp.Body)
		return
	}
	// A streamed body reaches the client chunk by chunk, as it is
	// produced, even when its length is known.
	fw := &flushWriter{w: rw, rc: http.NewResponseController(rw)}
	_, _ = io.Copy(fw, resp.Body)
}

func nullBody(status int) bool {
	return status == 101 || status == 204 || status == 205 || status == 304
}

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		_ = f.rc.Flush()
	}
	return n, err
}
