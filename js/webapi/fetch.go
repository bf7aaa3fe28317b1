package webapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/dop251/goja"
)

// httpDoer sends outbound requests; *http.Client implements it.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Fetch gives Go code (the worker layer) access to the Fetch classes of one
// runtime: it turns incoming HTTP requests into Request objects and returned
// Response objects back into HTTP.
type Fetch struct{ api *fetchAPI }

// maxRedirects is how many redirects fetch() follows before failing.
const maxRedirects = 20

func installFetch(vm *goja.Runtime, internal *goja.Object, loop Loop, client *http.Client) (*Fetch, error) {
	if client == nil {
		client = &http.Client{}
	}
	parse, ok := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	if !ok {
		return nil, errors.New("JSON.parse is missing")
	}
	api := &fetchAPI{vm: vm, loop: loop, internal: internal, client: client, jsonParse: parse}
	api.headers = installHeaders(vm)
	api.installRequest()
	api.installResponse()
	if err := vm.GlobalObject().DefineDataProperty("fetch", vm.ToValue(api.fetch), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return nil, err
	}
	return &Fetch{api: api}, nil
}

// IncomingRequest describes a request that arrived over HTTP.
type IncomingRequest struct {
	Method string
	URL    string // absolute
	Header http.Header
	Body   io.ReadCloser // nil or http.NoBody for none
	CF     *CF           // nil: the request has no cf (an object's request)
}

// CF is what request.cf tells a Worker about a request kiln received. The
// object is built only if the script reads it.
type CF struct {
	HTTPProtocol         string // "HTTP/1.1"
	ClientAcceptEncoding string // the client's Accept-Encoding
}

// NewRequest builds the script's Request for an incoming HTTP request. Its
// headers are immutable, as on the platform. Loop only.
func (f *Fetch) NewRequest(in IncomingRequest) *goja.Object {
	api := f.api
	r := &request{method: in.Method, url: in.URL, redirect: "manual", hdr: headersFromHTTP(in.Header, guardImmutable), body: &body{}}
	if in.Body != nil && in.Body != http.NoBody && in.Method != "GET" && in.Method != "HEAD" {
		r.body = readerBody(in.Body, -1)
	}
	r.cfGo = in.CF
	return api.request.New(r)
}

// NewResponse builds a script Response from Go parts (for platform-made
// responses such as a Durable Object's reply). Loop only.
func (f *Fetch) NewResponse(resp *Response, immutable bool) *goja.Object {
	guard := guardNone
	if immutable {
		guard = guardImmutable
	}
	r := &response{status: resp.Status, statusText: resp.StatusText, hdr: headersFromHTTP(resp.Header, guard), body: &body{}, kind: "default", wsEnd: resp.WebSocket}
	if resp.Body != nil {
		r.body = readerBody(resp.Body, resp.ContentLength)
	}
	return f.api.response.New(r)
}

// RequestParts reads a script Request (or the arguments of fetch()) as Go
// values; the body is handed over as a reader. Loop only.
func (f *Fetch) RequestParts(input, init goja.Value) OutgoingRequest {
	api := f.api
	r, ok := Impl[*request](input)
	if !ok || (init != nil && !goja.IsUndefined(init)) {
		r = api.newRequest(input, init)
	}
	out := OutgoingRequest{Method: r.method, URL: r.url, Header: r.hdr.httpHeader(), Redirect: r.redirect}
	if !r.body.isNull() {
		if api.used(r.body) {
			ThrowTypeError(api.vm, errBodyUsed)
		}
		if r.body.kind == bodyBytes {
			out.Replayable = r.body.data
		}
		out.Body = api.bodyReader(r.body)
	}
	return out
}

// OutgoingRequest is a script Request as Go sends it on.
type OutgoingRequest struct {
	Method   string
	URL      string
	Header   http.Header
	Body     io.ReadCloser // nil for none
	Redirect string        // "follow", "manual" or "error"
	// Replayable holds the body's bytes when they are known in advance, so
	// that a 307/308 redirect can send them again.
	Replayable []byte
}

// bodyReader hands a body to Go as a reader, marking it used. Loop only.
func (api *fetchAPI) bodyReader(b *body) io.ReadCloser {
	switch b.kind {
	case bodyBytes:
		b.used = true
		return newBytesBody(b.data)
	case bodyKindReader:
		b.used = true
		r := b.reader
		b.reader = nil
		return r
	case bodyStream:
		b.used = true
		return api.newStreamReader(b.stream)
	}
	return nil
}

// streamReader reads a script ReadableStream from another goroutine: every
// Read that needs data schedules reader.read() on the loop and waits.
type streamReader struct {
	api    *fetchAPI
	reader *goja.Object
	next   func(func()) bool // the hold for the next loop visit
	chunks chan streamChunk
	buf    []byte
	err    error
}

type streamChunk struct {
	data []byte
	err  error
}

func (api *fetchAPI) newStreamReader(stream *goja.Object) *streamReader {
	getReader, ok := goja.AssertFunction(stream.Get("getReader"))
	if !ok {
		ThrowTypeError(api.vm, "body is not a ReadableStream")
	}
	rd, err := getReader(stream)
	if err != nil {
		panic(err)
	}
	return &streamReader{api: api, reader: rd.ToObject(api.vm), next: api.loop.Hold(), chunks: make(chan streamChunk, 1)}
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		next := s.next
		s.next = nil
		if next == nil || !next(s.readOnLoop) {
			s.err = errors.New("the JavaScript runtime stopped while streaming a body")
			return 0, s.err
		}
		select {
		case c := <-s.chunks:
			s.buf, s.err = c.data, c.err
		case <-s.api.loop.Done():
			s.err = errors.New("the JavaScript runtime stopped while streaming a body")
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// readOnLoop runs on the loop: it calls reader.read() and sends the chunk.
func (s *streamReader) readOnLoop() {
	vm := s.api.vm
	send := func(c streamChunk) {
		if c.err == nil {
			s.next = s.api.loop.Hold()
		}
		s.chunks <- c
	}
	read, _ := goja.AssertFunction(s.reader.Get("read"))
	p, err := read(s.reader)
	if err != nil {
		send(streamChunk{err: fmt.Errorf("reading body stream: %w", err)})
		return
	}
	then, _ := goja.AssertFunction(p.ToObject(vm).Get("then"))
	_, err = then(p, vm.ToValue(func(c goja.FunctionCall) goja.Value {
		res := c.Argument(0).ToObject(vm)
		if res.Get("done").ToBoolean() {
			send(streamChunk{err: io.EOF})
			return goja.Undefined()
		}
		data, ok := BytesOf(vm, res.Get("value"))
		if !ok {
			send(streamChunk{err: errors.New("This ReadableStream did not return bytes.")})
			return goja.Undefined()
		}
		send(streamChunk{data: data})
		return goja.Undefined()
	}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		send(streamChunk{err: fmt.Errorf("body stream errored: %s", c.Argument(0).String())})
		return goja.Undefined()
	}))
	if err != nil {
		send(streamChunk{err: err})
	}
}

func (s *streamReader) Close() error {
	if next := s.next; next != nil {
		s.next = nil
		next(func() {
			if cancel, ok := goja.AssertFunction(s.reader.Get("cancel")); ok {
				_, _ = cancel(s.reader)
			}
		})
	}
	return nil
}

// fetch implements the global fetch(input, init).
func (api *fetchAPI) fetch(call goja.FunctionCall) goja.Value {
	vm := api.vm
	p, resolve, reject := vm.NewPromise()
	settle := func(err error) {
		if err != nil {
			api.loop.Report(err)
		}
	}
	var r *request
	if thrown := Catch(func() {
		r = api.newRequest(call.Argument(0), call.Argument(1))
	}); thrown != nil {
		settle(reject(thrown))
		return vm.ToValue(p)
	}
	if !strings.HasPrefix(r.url, "http://") && !strings.HasPrefix(r.url, "https://") {
		settle(reject(vm.NewTypeError(fmt.Sprintf("Fetch API cannot load: %s", r.url))))
		return vm.ToValue(p)
	}
	if strings.EqualFold(r.hdr.getOr("upgrade"), "websocket") {
		return api.fetchWebSocket(r, p, resolve, reject, settle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if sig, ok := r.signal.(*goja.Object); ok && sig != nil {
		if sig.Get("aborted").ToBoolean() {
			cancel()
			settle(reject(sig.Get("reason")))
			return vm.ToValue(p)
		}
		if add, ok := goja.AssertFunction(sig.Get("addEventListener")); ok {
			_, _ = add(sig, vm.ToValue("abort"), vm.ToValue(func(goja.FunctionCall) goja.Value {
				cancel()
				return goja.Undefined()
			}))
		}
	}
	var bodyReader io.ReadCloser
	if !r.body.isNull() {
		bodyReader = api.bodyReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bodyReader)
	if err != nil {
		cancel()
		settle(reject(vm.NewTypeError(err.Error())))
		return vm.ToValue(p)
	}
	req.Header = r.hdr.httpHeader()
	if r.body.kind == bodyBytes {
		req.ContentLength = int64(len(r.body.data))
	}
	redirected := false
	mode := r.redirect
	client := api.client
	if c, ok := client.(*http.Client); ok {
		cc := *c
		cc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
			switch {
			case mode == "manual":
				return http.ErrUseLastResponse
			case mode == "error":
				return errors.New("redirect mode is \"error\"")
			case len(via) >= maxRedirects:
				return errors.New("too many redirects")
			}
			redirected = true
			return nil
		}
		client = &cc
	}
	finish := api.loop.Hold()
	gate := api.loop.OutputGate()
	go func() {
		if gate != nil {
			// A Durable Object's request leaves only once the writes made
			// before it are durable; if they fail, it never leaves.
			if err := <-gate; err != nil {
				finish(func() {
					cancel()
					settle(reject(vm.NewTypeError("the Durable Object's writes failed, so its request was not sent: " + err.Error())))
				})
				return
			}
		}
		resp, err := client.Do(req)
		finish(func() {
			if err != nil {
				cancel()
				if reason := abortReason(r.signal); reason != nil {
					settle(reject(reason))
					return
				}
				settle(reject(vm.NewTypeError("fetch failed: " + err.Error())))
				return
			}
			out := &response{
				status: resp.StatusCode, statusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode))),
				hdr: headersFromHTTP(resp.Header, guardImmutable), body: &body{}, kind: "default",
				url: resp.Request.URL.String(), redirected: redirected,
			}
			if r.method != "HEAD" && !nullBodyStatus(resp.StatusCode) {
				out.body = readerBody(&cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, resp.ContentLength)
			} else {
				_ = resp.Body.Close()
				cancel()
			}
			settle(resolve(api.response.New(out)))
		})
	}()
	return vm.ToValue(p)
}

func abortReason(signal goja.Value) goja.Value {
	sig, ok := signal.(*goja.Object)
	if !ok || sig == nil || !sig.Get("aborted").ToBoolean() {
		return nil
	}
	return sig.Get("reason")
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// NewReadableStream exposes r to script as a byte ReadableStream. Loop only.
func (f *Fetch) NewReadableStream(r io.ReadCloser) goja.Value {
	return f.api.streamFromReader(r)
}

// IsReadableStream reports whether v is a script ReadableStream. Loop only.
func (f *Fetch) IsReadableStream(v goja.Value) bool {
	return f.api.is("isReadableStream", v)
}

// ReadAll reads a script ReadableStream of bytes to its end; done runs on
// the loop with the bytes or the stream's error. Loop only.
func (f *Fetch) ReadAll(stream goja.Value, done func(data []byte, err error)) {
	api := f.api
	vm := api.vm
	all := api.callHook("readAll", stream).ToObject(vm)
	then, _ := goja.AssertFunction(all.Get("then"))
	_, err := then(all, vm.ToValue(func(c goja.FunctionCall) goja.Value {
		data, _ := BytesOf(vm, c.Argument(0))
		done(data, nil)
		return goja.Undefined()
	}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
		done(nil, &ThrownError{Value: c.Argument(0)})
		return goja.Undefined()
	}))
	if err != nil {
		done(nil, err)
	}
}

// fetchWebSocket opens an outbound WebSocket: fetch(url, {headers:
// {Upgrade: "websocket"}}) resolves to a 101 Response whose webSocket the
// script accepts.
func (api *fetchAPI) fetchWebSocket(r *request, p *goja.Promise, resolve, reject func(any) error, settle func(error)) goja.Value {
	vm := api.vm
	target := "ws" + strings.TrimPrefix(r.url, "http")
	header := http.Header{}
	for _, e := range r.hdr.all() {
		switch e.name {
		case "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "host":
			continue
		}
		header.Add(e.name, e.value)
	}
	var protocols []string
	if v, ok := r.hdr.get("sec-websocket-protocol"); ok {
		for _, p := range strings.Split(v, ",") {
			protocols = append(protocols, strings.TrimSpace(p))
		}
		header.Del("sec-websocket-protocol")
	}
	finish := api.loop.Hold()
	client := api.client
	go func() {
		opts := &websocket.DialOptions{HTTPHeader: header, Subprotocols: protocols, CompressionMode: websocket.CompressionDisabled}
		if c, ok := client.(*http.Client); ok {
			opts.HTTPClient = c
		}
		conn, resp, err := websocket.Dial(context.Background(), target, opts)
		finish(func() {
			if err != nil {
				if resp != nil {
					settle(resolve(api.response.New(&response{status: resp.StatusCode, hdr: headersFromHTTP(resp.Header, guardImmutable), body: &body{}, kind: "default", url: r.url})))
					return
				}
				settle(reject(vm.NewTypeError("fetch failed: " + err.Error())))
				return
			}
			mine, theirs := NewWebSocketPair()
			go bridge(conn, theirs)
			settle(resolve(api.response.New(&response{status: 101, statusText: "Switching Protocols", hdr: headersFromHTTP(resp.Header, guardImmutable),
				body: &body{}, kind: "default", url: r.url, wsEnd: mine})))
		})
	}()
	return vm.ToValue(p)
}
