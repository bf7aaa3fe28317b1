package webapi

import (
	"strings"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/internal/whatwgurl"
)

// request is the Go implementation of a Request.
type request struct {
	method   string
	url      string
	hdr      *headers
	hdrObj   *goja.Object
	body     *body
	redirect string
	signal   goja.Value
	cf       goja.Value
	cfGo     *CF // converted to cf on first read
}

// knownMethods are normalised to upper case whatever case the script used,
// as workerd does for the methods it knows.
var knownMethods = map[string]string{}

func init() {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE",
		"TRACE", "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK",
		"ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE",
		"UNSUBSCRIBE", "QUERY", "BAN"} {
		knownMethods[m] = m
	}
}

func (api *fetchAPI) headersObj(r *request) *goja.Object {
	if r.hdrObj == nil {
		r.hdrObj = api.headers.class.New(r.hdr)
	}
	return r.hdrObj
}

func (api *fetchAPI) installRequest() {
	vm := api.vm
	c := DefineClass(vm, "Request", func(call goja.ConstructorCall) any {
		return api.newRequest(call.Argument(0), call.Argument(1))
	}, nil)
	api.request = c
	this := func(v goja.Value) *request { return MustImpl[*request](vm, v) }
	str := func(get func(*request) string) func(goja.Value) goja.Value {
		return func(v goja.Value) goja.Value { return vm.ToValue(get(this(v))) }
	}
	c.Getter("method", str(func(r *request) string { return r.method }))
	c.Getter("url", str(func(r *request) string { return r.url }))
	c.Getter("redirect", str(func(r *request) string { return r.redirect }))
	c.Getter("integrity", str(func(*request) string { return "" }))
	c.Getter("headers", func(v goja.Value) goja.Value { return api.headersObj(this(v)) })
	c.Getter("signal", func(v goja.Value) goja.Value {
		r := this(v)
		if r.signal == nil {
			r.signal = api.newAbortSignal()
		}
		return r.signal
	})
	c.Getter("cf", func(v goja.Value) goja.Value {
		r := this(v)
		if r.cf == nil && r.cfGo != nil {
			obj := vm.NewObject()
			_ = obj.Set("httpProtocol", r.cfGo.HTTPProtocol)
			_ = obj.Set("colo", "KLN")
			_ = obj.Set("clientAcceptEncoding", r.cfGo.ClientAcceptEncoding)
			r.cf, r.cfGo = obj, nil
		}
		if r.cf != nil {
			return r.cf
		}
		return goja.Undefined()
	})
	c.Getter("fetcher", func(goja.Value) goja.Value { return goja.Null() })
	c.Getter("keepalive", func(goja.Value) goja.Value { return vm.ToValue(false) })
	c.Getter("cache", func(goja.Value) goja.Value { return goja.Undefined() })
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
	c.Expose()
}

func (api *fetchAPI) newAbortSignal() goja.Value {
	ctor, ok := goja.AssertConstructor(api.vm.Get("AbortController"))
	if !ok {
		return goja.Undefined()
	}
	ac, err := ctor(nil)
	if err != nil {
		panic(err)
	}
	return ac.Get("signal")
}

// tee splits a body in two: b keeps one branch and the returned body gets
// the other. Bytes are shared (they are never mutated).
func (api *fetchAPI) tee(b *body) *body {
	switch b.kind {
	case bodyNone:
		return &body{}
	case bodyBytes:
		return &body{kind: bodyBytes, data: b.data}
	}
	stream := api.streamOf(b).ToObject(api.vm)
	teeFn, _ := goja.AssertFunction(stream.Get("tee"))
	pair, err := teeFn(stream)
	if err != nil {
		panic(err)
	}
	arr := pair.ToObject(api.vm)
	b.stream = arr.Get("0").ToObject(api.vm)
	return &body{kind: bodyStream, stream: arr.Get("1").ToObject(api.vm)}
}

// parseURL parses an absolute URL as the Fetch standard requires.
func (api *fetchAPI) parseURL(s string) string {
	u, err := whatwgurl.Parse(s, nil)
	if err != nil {
		ThrowTypeError(api.vm, "Invalid URL: %s", s)
	}
	return u.Href()
}

// newRequest implements new Request(input, init).
func (api *fetchAPI) newRequest(input, init goja.Value) *request {
	vm := api.vm
	r := &request{method: "GET", redirect: "follow", hdr: &headers{}, body: &body{}}
	var inputBody *body
	if src, ok := Impl[*request](input); ok {
		r.method = src.method
		r.url = src.url
		r.hdr = src.hdr.clone()
		r.redirect = src.redirect
		r.signal = src.signal
		r.cf, r.cfGo = src.cf, src.cfGo
		inputBody = src.body
	} else {
		if u, ok := input.(*goja.Object); ok {
			input = vm.ToValue(u.String())
		}
		r.url = api.parseURL(input.String())
	}
	var initObj *goja.Object
	if o, ok := init.(*goja.Object); ok && o != nil {
		initObj = o
	}
	var bodyInit goja.Value
	if initObj != nil {
		if v := initObj.Get("method"); v != nil && !goja.IsUndefined(v) {
			m := v.String()
			if !validName(m) {
				ThrowTypeError(vm, "Invalid HTTP method string: %s", m)
			}
			if known, ok := knownMethods[strings.ToUpper(m)]; ok {
				m = known
			}
			r.method = m
		}
		if v := initObj.Get("headers"); v != nil && !goja.IsUndefined(v) {
			r.hdr = &headers{}
			api.headers.fill(r.hdr, v)
		}
		if v := initObj.Get("redirect"); v != nil && !goja.IsUndefined(v) {
			switch s := v.String(); s {
			case "follow", "manual", "error":
				r.redirect = s
			default:
				ThrowTypeError(vm, "Failed to construct 'Request': The provided value '%s' is not a valid enum value of type RequestRedirect.", s)
			}
		}
		if v := initObj.Get("signal"); v != nil && !goja.IsUndefined(v) {
			r.signal = v
		}
		if v := initObj.Get("cf"); v != nil && !goja.IsUndefined(v) {
			r.cf = v
		}
		if v := initObj.Get("body"); v != nil && !goja.IsUndefined(v) {
			bodyInit = v
		}
	}
	hasBody := (bodyInit != nil && !goja.IsNull(bodyInit)) || !inputBody.isNull()
	if hasBody && (r.method == "GET" || r.method == "HEAD") {
		ThrowTypeError(vm, "Request with a GET or HEAD method cannot have a body.")
	}
	switch {
	case bodyInit != nil:
		b, ct := api.extract(bodyInit)
		r.body = b
		if ct != "" && !r.hdr.has("content-type") {
			r.hdr.add("content-type", ct)
		}
	case !inputBody.isNull():
		if api.used(inputBody) {
			ThrowTypeError(vm, errBodyUsed)
		}
		// The new request takes the input's body; the input is now used.
		moved := *inputBody
		r.body = &moved
		*inputBody = body{kind: bodyBytes, used: true}
	}
	return r
}
