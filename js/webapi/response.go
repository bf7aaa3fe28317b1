package webapi

import (
	"io"
	"net/http"

	"github.com/dop251/goja"
)

// response is the Go implementation of a Response.
type response struct {
	status     int
	statusText string
	hdr        *headers
	hdrObj     *goja.Object
	body       *body
	url        string
	redirected bool
	kind       string // "default" or "error"
	webSocket  goja.Value
	wsEnd      *WebSocketEnd // set when the response came from Go with a socket
	cf         goja.Value
}

func nullBodyStatus(s int) bool { return s == 101 || s == 204 || s == 205 || s == 304 }

func redirectStatus(s int) bool {
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308
}

func (api *fetchAPI) respHeadersObj(r *response) *goja.Object {
	if r.hdrObj == nil {
		r.hdrObj = api.headers.class.New(r.hdr)
	}
	return r.hdrObj
}

func (api *fetchAPI) installResponse() {
	vm := api.vm
	c := DefineClass(vm, "Response", func(call goja.ConstructorCall) any {
		return api.newResponse(call.Argument(0), call.Argument(1))
	}, nil)
	api.response = c
	this := func(v goja.Value) *response { return MustImpl[*response](vm, v) }
	c.Getter("status", func(v goja.Value) goja.Value { return vm.ToValue(this(v).status) })
	c.Getter("statusText", func(v goja.Value) goja.Value { return vm.ToValue(this(v).statusText) })
	c.Getter("ok", func(v goja.Value) goja.Value {
		s := this(v).status
		return vm.ToValue(s >= 200 && s <= 299)
	})
	c.Getter("headers", func(v goja.Value) goja.Value { return api.respHeadersObj(this(v)) })
	c.Getter("url", func(v goja.Value) goja.Value { return vm.ToValue(this(v).url) })
	c.Getter("redirected", func(v goja.Value) goja.Value { return vm.ToValue(this(v).redirected) })
	c.Getter("type", func(v goja.Value) goja.Value { return vm.ToValue(this(v).kind) })
	c.Getter("webSocket", func(v goja.Value) goja.Value {
		r := this(v)
		if r.webSocket == nil && r.wsEnd != nil {
			r.webSocket = (&Fetch{api: api}).NewWebSocket(r.wsEnd)
		}
		if r.webSocket != nil {
			return r.webSocket
		}
		return goja.Null()
	})
	c.Getter("cf", func(v goja.Value) goja.Value {
		if cf := this(v).cf; cf != nil {
			return cf
		}
		return goja.Undefined()
	})
	api.readers(c, func(v goja.Value) *body { return this(v).body }, func(v goja.Value) string {
		ct, _ := this(v).hdr.get("content-type")
		return ct
	})
	c.Method("clone", 0, func(call goja.FunctionCall) goja.Value {
		r := this(call.This)
		if api.used(r.body) {
			ThrowTypeError(vm, errBodyUsed)
		}
		cp := *r
		cp.hdr = r.hdr.clone()
		cp.hdr.guard = r.hdr.guard
		cp.hdrObj = nil
		cp.body = api.tee(r.body)
		return c.New(&cp)
	})
	c.Static("json", 1, func(call goja.FunctionCall) goja.Value {
		stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
		s, err := stringify(goja.Undefined(), call.Argument(0))
		if err != nil {
			panic(err)
		}
		if goja.IsUndefined(s) {
			ThrowTypeError(vm, "Value is not JSON serializable.")
		}
		r := api.newResponse(goja.Undefined(), call.Argument(1))
		if nullBodyStatus(r.status) {
			ThrowTypeError(vm, "Response with null body status (101, 204, 205, or 304) cannot have a body.")
		}
		r.body = &body{kind: bodyBytes, data: []byte(s.String())}
		if !r.hdr.has("content-type") {
			r.hdr.add("content-type", "application/json")
		}
		return c.New(r)
	})
	c.Static("redirect", 2, func(call goja.FunctionCall) goja.Value {
		target := api.parseURL(call.Argument(0).String())
		status := 302
		if s := call.Argument(1); !goja.IsUndefined(s) {
			status = int(s.ToInteger())
		}
		if !redirectStatus(status) {
			ThrowRangeError(vm, "Invalid status code. Must be one of: 301, 302, 303, 307, 308.")
		}
		h := &headers{guard: guardImmutable}
		h.add("location", target)
		return c.New(&response{status: status, hdr: h, body: &body{}, kind: "default"})
	})
	c.Static("error", 0, func(goja.FunctionCall) goja.Value {
		return c.New(&response{status: 0, hdr: &headers{guard: guardImmutable}, body: &body{}, kind: "error"})
	})
	c.Expose()
}

// newResponse implements new Response(body, init).
func (api *fetchAPI) newResponse(bodyInit, init goja.Value) *response {
	vm := api.vm
	r := &response{status: 200, hdr: &headers{}, body: &body{}, kind: "default"}
	if o, ok := init.(*goja.Object); ok && o != nil {
		if v := o.Get("status"); v != nil && !goja.IsUndefined(v) {
			r.status = int(v.ToInteger())
		}
		if v := o.Get("statusText"); v != nil && !goja.IsUndefined(v) {
			r.statusText = v.String()
		}
		if v := o.Get("headers"); v != nil && !goja.IsUndefined(v) {
			api.headers.fill(r.hdr, v)
		}
		if v := o.Get("webSocket"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			end := (&Fetch{api: api}).WebSocketEndOf(v)
			if end == nil {
				ThrowTypeError(vm, "Failed to construct 'Response': webSocket must be a WebSocket.")
			}
			if !end.MarkUsed() {
				ThrowTypeError(vm, "The WebSocket has already been accepted or used in a Response.")
			}
			r.webSocket = v
		}
		if v := o.Get("cf"); v != nil && !goja.IsUndefined(v) {
			r.cf = v
		}
	}
	if r.webSocket == nil {
		if r.status < 200 || r.status > 599 {
			ThrowRangeError(vm, "Responses may only be constructed with status codes in the range 200 to 599, inclusive.")
		}
	} else if r.status != 101 {
		ThrowRangeError(vm, "Responses with a WebSocket must have status code 101.")
	}
	if bodyInit != nil && !goja.IsUndefined(bodyInit) && !goja.IsNull(bodyInit) {
		if nullBodyStatus(r.status) {
			ThrowTypeError(vm, "Response with null body status (101, 204, 205, or 304) cannot have a body.")
		}
		b, ct := api.extract(bodyInit)
		r.body = b
		if ct != "" && !r.hdr.has("content-type") {
			r.hdr.add("content-type", ct)
		}
	}
	return r
}

// Response is a finished Response as Go code sees it.
type Response struct {
	Status     int
	StatusText string
	Header     http.Header
	// Body is nil for a null body. The caller must Close it; it may be read
	// from any goroutine.
	Body io.ReadCloser
	// ContentLength is the body's size when known in advance, else -1.
	ContentLength int64
	// WebSocket is the end of the WebSocket a 101 response hands to its
	// receiver (the client's end), else nil.
	WebSocket *WebSocketEnd
}

// ResponseOf converts a script value into a Response. It must run on the
// loop; it marks the body used. ok is false if v is not a Response.
func (f *Fetch) ResponseOf(v goja.Value) (resp *Response, ok bool) {
	api := f.api
	r, ok := Impl[*response](v)
	if !ok {
		return nil, false
	}
	out := &Response{Status: r.status, StatusText: r.statusText, Header: r.hdr.httpHeader(), ContentLength: -1}
	if r.wsEnd != nil {
		out.WebSocket = r.wsEnd
	} else if r.webSocket != nil {
		out.WebSocket = f.WebSocketEndOf(r.webSocket)
	}
	switch r.body.kind {
	case bodyBytes:
		out.ContentLength = int64(len(r.body.data))
	case bodyNone:
		out.ContentLength = 0
	case bodyKindReader:
		out.ContentLength = r.body.size
	}
	out.Body = api.bodyReader(r.body)
	return out, true
}
