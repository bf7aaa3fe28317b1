package worker

import (
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/js/webapi"
)

// Limits of the hibernation API (spec/platform.md §2c).
const (
	maxHibernatableSockets = 32768
	maxSocketTags          = 10
	maxTagLength           = 256
	maxAutoResponseBytes   = 2048
	maxEventTimeoutMs      = 604800000
)

// hibSocket is a WebSocket a Durable Object accepted with
// ctx.acceptWebSocket: it belongs to the object, not to one activation, so
// it stays open while the object is evicted (hibernates), and its next
// message wakes the object.
type hibSocket struct {
	o    *object
	end  *webapi.WebSocketEnd
	tags []string

	mu         sync.Mutex
	attachment []byte
	autoAt     time.Time
}

func (h *hibSocket) SetAttachment(b []byte) { h.mu.Lock(); h.attachment = b; h.mu.Unlock() }
func (h *hibSocket) Attachment() []byte     { h.mu.Lock(); defer h.mu.Unlock(); return h.attachment }

// hibernation is the object-level state of its hibernatable sockets.
type hibernation struct {
	sockets      map[*webapi.WebSocketEnd]*hibSocket
	autoRequest  string
	autoResponse string
	autoSet      bool
	eventTimeout int64
}

// Deliver receives a message from the client: an auto-response is answered
// here without waking the object; anything else is an event of the object.
func (h *hibSocket) Deliver(m webapi.WebSocketMessage) {
	o := h.o
	if m.Text && !m.Close {
		o.mu.Lock()
		auto := o.hib.autoSet && string(m.Data) == o.hib.autoRequest
		resp := o.hib.autoResponse
		o.mu.Unlock()
		if auto {
			// Not gated, but after what the object already queued (case 178).
			h.end.SendAfter(nil, webapi.WebSocketMessage{Text: true, Data: []byte(resp)})
			h.mu.Lock()
			h.autoAt = time.Now()
			h.mu.Unlock()
			return
		}
	}
	if m.Close {
		o.mu.Lock()
		delete(o.hib.sockets, h.end)
		o.mu.Unlock()
	}
	ev := &doEvent{}
	ev.onFail = func(err error) {
		// A failed delivery drops the socket (case 183).
		o.mu.Lock()
		delete(o.hib.sockets, h.end)
		o.mu.Unlock()
		if !m.Close {
			h.end.Send(webapi.WebSocketMessage{Close: true, Code: 1011, Reason: "Durable Object error"})
		}
	}
	ev.run = func(l *objectLive, done func()) { l.deliverSocket(h, m, done) }
	if _, err := o.send(ev); err != nil {
		ev.fail(err)
	}
}

// wrapper returns this activation's script WebSocket for end.
func (l *objectLive) wrapper(end *webapi.WebSocketEnd) goja.Value {
	if l.wrappers == nil {
		l.wrappers = map[*webapi.WebSocketEnd]goja.Value{}
	}
	if w, ok := l.wrappers[end]; ok {
		return w
	}
	w := l.inst.apis.Fetch.NewWebSocket(end)
	l.wrappers[end] = w
	return w
}

// deliverSocket calls webSocketMessage or webSocketClose.
func (l *objectLive) deliverSocket(h *hibSocket, m webapi.WebSocketMessage, done func()) {
	vm := l.rt.VM()
	ws := l.wrapper(h.end)
	var name string
	var args []goja.Value
	switch {
	case m.Close:
		name = "webSocketClose"
		args = []goja.Value{ws, vm.ToValue(m.Code), vm.ToValue(m.Reason), vm.ToValue(m.WasClean)}
		delete(l.wrappers, h.end)
	case m.Text:
		name = "webSocketMessage"
		args = []goja.Value{ws, vm.ToValue(string(m.Data))}
	default:
		name = "webSocketMessage"
		args = []goja.Value{ws, vm.ToValue(vm.NewArrayBuffer(m.Data))}
	}
	handler, ok := goja.AssertFunction(l.jsObj.Get(name))
	if !ok {
		done()
		return
	}
	v, err := handler(l.jsObj, args...)
	if err != nil {
		l.w.log.Error("Uncaught exception in "+name, "error", detail(l.objectError(err)))
		done()
		return
	}
	l.inst.w.await(l.inst, v, func(_ goja.Value, err error) {
		if err != nil {
			l.w.log.Error("Uncaught exception in "+name, "error", detail(err))
		}
		l.release(func() {}, func(error) {}, done)
	})
}

func (a *doAPI) defineHibernation() {
	vm := a.inst.rt.VM()
	c := a.stateCls
	liveOf := func(v goja.Value) *objectLive { return webapi.MustImpl[*objectLive](vm, v) }
	endOf := func(v goja.Value) *webapi.WebSocketEnd {
		end := a.inst.apis.Fetch.WebSocketEndOf(v)
		if end == nil {
			webapi.ThrowTypeError(vm, "Failed to execute on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.")
		}
		return end
	}
	c.Method("acceptWebSocket", 2, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		end := endOf(call.Argument(0))
		if end.Used() {
			panic(newError(vm, "Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`"))
		}
		if end.Peer().Used() && end.Peer().Closed() {
			panic(newError(vm, "Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response."))
		}
		var tags []string
		if arr, ok := call.Argument(1).(*goja.Object); ok && arr != nil {
			seen := map[string]bool{}
			for _, k := range arr.Keys() {
				t := arr.Get(k).String()
				if len(t) > maxTagLength {
					panic(newError(vm, fmt.Sprintf("A WebSocket tag cannot be longer than %d characters.", maxTagLength)))
				}
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
				}
			}
			if len(tags) > maxSocketTags {
				panic(newError(vm, fmt.Sprintf("A WebSocket can have at most %d tags.", maxSocketTags)))
			}
		}
		o := l.o
		h := &hibSocket{o: o, end: end, tags: tags}
		o.mu.Lock()
		if o.hib.sockets == nil {
			o.hib.sockets = map[*webapi.WebSocketEnd]*hibSocket{}
		}
		if len(o.hib.sockets) >= maxHibernatableSockets {
			o.mu.Unlock()
			panic(newError(vm, fmt.Sprintf("A Durable Object can accept at most %d WebSockets.", maxHibernatableSockets)))
		}
		o.hib.sockets[end] = h
		o.mu.Unlock()
		end.Owner = h
		if l.wrappers == nil {
			l.wrappers = map[*webapi.WebSocketEnd]goja.Value{}
		}
		l.wrappers[end] = call.Argument(0)
		end.Attach(h)
		return goja.Undefined()
	})
	c.Method("getWebSockets", 1, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		tag := call.Argument(0)
		o := l.o
		o.mu.Lock()
		var ends []*hibSocket
		for _, h := range o.hib.sockets {
			ends = append(ends, h)
		}
		o.mu.Unlock()
		var out []any
		for _, h := range ends {
			if h.end.PeerClosed() {
				continue
			}
			if !goja.IsUndefined(tag) && !hasTag(h.tags, tag.String()) {
				continue
			}
			out = append(out, l.wrapper(h.end))
		}
		return vm.NewArray(out...)
	})
	c.Method("getTags", 1, func(call goja.FunctionCall) goja.Value {
		h, ok := endOf(call.Argument(0)).Owner.(*hibSocket)
		if !ok {
			webapi.ThrowTypeError(vm, "getTags() can only be called on a WebSocket accepted with acceptWebSocket().")
		}
		out := make([]any, len(h.tags))
		for i, t := range h.tags {
			out[i] = t
		}
		return vm.NewArray(out...)
	})
	c.Method("setWebSocketAutoResponse", 1, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		o := l.o
		pair, ok := call.Argument(0).(*goja.Object)
		if !ok || pair == nil {
			o.mu.Lock()
			o.hib.autoSet, o.hib.autoRequest, o.hib.autoResponse = false, "", ""
			o.mu.Unlock()
			return goja.Undefined()
		}
		req, resp := pair.Get("request").String(), pair.Get("response").String()
		if len(req) > maxAutoResponseBytes {
			webapi.ThrowRangeError(vm, "Request cannot be larger than %d bytes. A request of size %d was provided.", maxAutoResponseBytes, len(req))
		}
		if len(resp) > maxAutoResponseBytes {
			webapi.ThrowRangeError(vm, "Response cannot be larger than %d bytes. A response of size %d was provided.", maxAutoResponseBytes, len(resp))
		}
		o.mu.Lock()
		o.hib.autoSet, o.hib.autoRequest, o.hib.autoResponse = true, req, resp
		o.mu.Unlock()
		return goja.Undefined()
	})
	c.Method("getWebSocketAutoResponse", 0, func(call goja.FunctionCall) goja.Value {
		o := liveOf(call.This).o
		o.mu.Lock()
		set, req, resp := o.hib.autoSet, o.hib.autoRequest, o.hib.autoResponse
		o.mu.Unlock()
		if !set {
			return goja.Null()
		}
		ctor, _ := goja.AssertConstructor(vm.Get("WebSocketRequestResponsePair"))
		p, err := ctor(nil, vm.ToValue(req), vm.ToValue(resp))
		if err != nil {
			panic(err)
		}
		return p
	})
	c.Method("getWebSocketAutoResponseTimestamp", 1, func(call goja.FunctionCall) goja.Value {
		h, ok := endOf(call.Argument(0)).Owner.(*hibSocket)
		if !ok {
			return goja.Null()
		}
		h.mu.Lock()
		at := h.autoAt
		h.mu.Unlock()
		if at.IsZero() {
			return goja.Null()
		}
		d, err := vm.New(vm.Get("Date"), vm.ToValue(at.UnixMilli()))
		if err != nil {
			panic(err)
		}
		return d
	})
	c.Method("setHibernatableWebSocketEventTimeout", 1, func(call goja.FunctionCall) goja.Value {
		o := liveOf(call.This).o
		var ms int64
		if v := call.Argument(0); !goja.IsUndefined(v) {
			ms = v.ToInteger()
		}
		if ms > maxEventTimeoutMs {
			panic(newError(vm, fmt.Sprintf("Event timeout should not exceed %d ms.", maxEventTimeoutMs)))
		}
		o.mu.Lock()
		o.hib.eventTimeout = ms
		o.mu.Unlock()
		return goja.Undefined()
	})
	c.Method("getHibernatableWebSocketEventTimeout", 0, func(call goja.FunctionCall) goja.Value {
		o := liveOf(call.This).o
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.hib.eventTimeout == 0 {
			return goja.Null()
		}
		return vm.ToValue(o.hib.eventTimeout)
	})
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}

// closeSockets disconnects the object's hibernatable sockets (abort()).
func (o *object) closeSockets(reason string) {
	o.mu.Lock()
	sockets := o.hib.sockets
	o.hib.sockets = nil
	o.mu.Unlock()
	for end := range sockets {
		end.Send(webapi.WebSocketMessage{Close: true, Code: 1011, Reason: reason})
	}
}
