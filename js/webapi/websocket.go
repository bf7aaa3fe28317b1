package webapi

import (
	"errors"
	"sync"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/js/structuredclone"
)

// WebSocketMessage is what travels between the two ends of a WebSocket: a
// text or binary message, or the close of the sending end.
type WebSocketMessage struct {
	Text     bool
	Data     []byte
	Close    bool
	Code     int
	Reason   string
	WasClean bool
}

// WebSocketSink receives what an end's peer sends: a script WebSocket, a
// network connection, or a Durable Object that accepted the socket for
// hibernation.
type WebSocketSink interface {
	Deliver(m WebSocketMessage)
}

// WebSocketEnd is one end of a WebSocket. The two ends of a WebSocketPair
// are peers: what one sends, the other's sink receives. Ends are plain Go
// values, so an end can pass from one runtime to another (a Durable Object
// returns the client end to the Worker that answers the upgrade) and
// outlive the script object that wrapped it (hibernation). Safe for
// concurrent use.
type WebSocketEnd struct {
	mu      sync.Mutex
	peer    *WebSocketEnd
	sink    WebSocketSink
	pending []WebSocketMessage // received before a sink was attached
	closed  bool               // this end sent its close
	gone    bool               // the peer closed
	used    bool               // accepted, or put in a Response
	held    []heldMessage      // sends waiting for an output gate, in order
	flusher bool               // a goroutine is sending held
	// Owner is free for the platform: the Durable Object a hibernatable end
	// belongs to, its tags and attachment.
	Owner any
}

// NewWebSocketPair returns two connected ends.
func NewWebSocketPair() (*WebSocketEnd, *WebSocketEnd) {
	a, b := &WebSocketEnd{}, &WebSocketEnd{}
	a.peer, b.peer = b, a
	return a, b
}

// Peer is the other end.
func (e *WebSocketEnd) Peer() *WebSocketEnd { return e.peer }

// Attach makes s the receiver of what the peer sends, delivering what
// arrived before. It reports false if the end already has a sink.
func (e *WebSocketEnd) Attach(s WebSocketSink) bool {
	e.mu.Lock()
	if e.sink != nil {
		e.mu.Unlock()
		return false
	}
	e.sink = s
	e.used = true
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, m := range pending {
		s.Deliver(m)
	}
	return true
}

// Detach removes the sink (the receiver will attach a new one later);
// messages queue meanwhile.
func (e *WebSocketEnd) Detach() {
	e.mu.Lock()
	e.sink = nil
	e.mu.Unlock()
}

// MarkUsed records that the end was handed over (put in a Response).
// It reports false if it already was.
func (e *WebSocketEnd) MarkUsed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.used {
		return false
	}
	e.used = true
	return true
}

// Used reports whether the end was accepted or handed over.
func (e *WebSocketEnd) Used() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.used
}

type heldMessage struct {
	gate <-chan error
	m    WebSocketMessage
}

// SendAfter sends m once gate yields (a Durable Object's output gate: the
// message leaves only after the writes made before it are durable). Sends
// keep their order; if the gate fails, the message and those queued after
// it are dropped. A nil gate with nothing held sends at once.
func (e *WebSocketEnd) SendAfter(gate <-chan error, m WebSocketMessage) {
	e.mu.Lock()
	if gate == nil && len(e.held) == 0 && !e.flusher {
		e.mu.Unlock()
		e.Send(m)
		return
	}
	e.held = append(e.held, heldMessage{gate: gate, m: m})
	if e.flusher {
		e.mu.Unlock()
		return
	}
	e.flusher = true
	e.mu.Unlock()
	go e.flush()
}

func (e *WebSocketEnd) flush() {
	for {
		e.mu.Lock()
		if len(e.held) == 0 {
			e.flusher = false
			e.mu.Unlock()
			return
		}
		h := e.held[0]
		e.held = e.held[1:]
		e.mu.Unlock()
		if h.gate != nil {
			if err := <-h.gate; err != nil {
				e.mu.Lock()
				e.held = nil
				e.flusher = false
				e.mu.Unlock()
				return
			}
		}
		e.Send(h.m)
	}
}

// Send delivers m to the peer. It reports false if this end already closed.
func (e *WebSocketEnd) Send(m WebSocketMessage) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	if m.Close {
		e.closed = true
	}
	e.mu.Unlock()
	e.peer.receive(m)
	return true
}

func (e *WebSocketEnd) receive(m WebSocketMessage) {
	e.mu.Lock()
	if m.Close {
		e.gone = true
	}
	s := e.sink
	if s == nil {
		e.pending = append(e.pending, m)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	s.Deliver(m)
}

// Closed reports whether this end sent its close; PeerClosed whether the
// other end did.
func (e *WebSocketEnd) Closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// PeerClosed reports whether the other end closed.
func (e *WebSocketEnd) PeerClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gone
}

// webSockets is the WebSocket support of one runtime.
type webSockets struct {
	vm       *goja.Runtime
	loop     Loop
	internal *goja.Object
	handle   *Class // the opaque handle script wrappers keep
}

// scriptSink delivers messages to a script WebSocket on its loop.
type scriptSink struct {
	ws     *webSockets
	object *goja.Object // the script WebSocket
	unpin  func()       // releases the object the socket keeps in memory
}

// Deliver is called from the goroutine the message arrives on.
func (s *scriptSink) Deliver(m WebSocketMessage) {
	s.ws.loop.Post(func() {
		s.ws.dispatch(s.object, m)
		if m.Close && s.unpin != nil {
			s.unpin()
			s.unpin = nil
		}
	})
}

// dispatch fires the event for m on a script WebSocket. Loop only.
func (w *webSockets) dispatch(ws *goja.Object, m WebSocketMessage) {
	fn, ok := w.hook("wsDispatch")
	if !ok {
		return
	}
	var args []goja.Value
	switch {
	case m.Close:
		args = []goja.Value{ws, w.vm.ToValue("close"), w.vm.ToValue(m.Code), w.vm.ToValue(m.Reason), w.vm.ToValue(m.WasClean)}
	case m.Text:
		args = []goja.Value{ws, w.vm.ToValue("message"), w.vm.ToValue(string(m.Data))}
	default:
		args = []goja.Value{ws, w.vm.ToValue("message"), w.vm.ToValue(w.vm.NewArrayBuffer(m.Data))}
	}
	if _, err := fn(goja.Undefined(), args...); err != nil {
		w.loop.Report(err)
	}
}

// messageOf converts a script value given to send().
func (w *webSockets) messageOf(v goja.Value) WebSocketMessage {
	if s, ok := v.Export().(string); ok {
		return WebSocketMessage{Text: true, Data: []byte(s)}
	}
	if b, ok := BytesOf(w.vm, v); ok {
		return WebSocketMessage{Data: b}
	}
	return WebSocketMessage{Text: true, Data: []byte(v.String())}
}

func installWebSockets(vm *goja.Runtime, internal *goja.Object, loop Loop) (*webSockets, error) {
	w := &webSockets{vm: vm, loop: loop, internal: internal}
	w.handle = DefineClass(vm, "WebSocketHandle", nil, nil)
	set := func(name string, fn func(goja.FunctionCall) goja.Value) error { return internal.Set(name, fn) }
	endOf := func(v goja.Value) *WebSocketEnd { return MustImpl[*WebSocketEnd](vm, v) }
	if err := set("wsNewPair", func(goja.FunctionCall) goja.Value {
		a, b := NewWebSocketPair()
		return vm.NewArray(w.handle.New(a), w.handle.New(b))
	}); err != nil {
		return nil, err
	}
	if err := set("wsAccept", func(c goja.FunctionCall) goja.Value {
		e := endOf(c.Argument(0))
		sink := &scriptSink{ws: w, object: c.Argument(1).ToObject(vm)}
		if e.Used() {
			ThrowTypeError(vm, "This WebSocket has already been accepted or used in a Response.")
		}
		sink.unpin = w.loop.Pin()
		if !e.Attach(sink) {
			sink.unpin()
			ThrowTypeError(vm, "This WebSocket has already been accepted or used in a Response.")
		}
		return goja.Undefined()
	}); err != nil {
		return nil, err
	}
	if err := set("wsSend", func(c goja.FunctionCall) goja.Value {
		e := endOf(c.Argument(0))
		m := w.messageOf(c.Argument(1))
		if len(m.Data) > MaxWebSocketMessage {
			ThrowRangeError(vm, "Message is too large: %d bytes (the limit is %d).", len(m.Data), MaxWebSocketMessage)
		}
		e.SendAfter(w.loop.OutputGate(), m)
		return goja.Undefined()
	}); err != nil {
		return nil, err
	}
	if err := set("wsClose", func(c goja.FunctionCall) goja.Value {
		e := endOf(c.Argument(0))
		m := WebSocketMessage{Close: true, Code: 1005, WasClean: true}
		if v := c.Argument(1); !goja.IsUndefined(v) {
			m.Code = int(v.ToInteger())
		}
		if v := c.Argument(2); !goja.IsUndefined(v) {
			m.Reason = v.String()
		}
		e.SendAfter(w.loop.OutputGate(), m)
		return goja.Undefined()
	}); err != nil {
		return nil, err
	}
	if err := w.installAttachments(internal); err != nil {
		return nil, err
	}
	return w, nil
}

// MaxWebSocketMessage is the largest message a WebSocket carries (32 MiB).
const MaxWebSocketMessage = 32 << 20

// hook returns internal[name] of the WebSocket module, loading the module
// (which the prelude builds on first use) if needed.
func (w *webSockets) hook(name string) (goja.Callable, bool) {
	if fn, ok := goja.AssertFunction(w.internal.Get(name)); ok {
		return fn, true
	}
	if load, ok := goja.AssertFunction(w.internal.Get("wsLoad")); ok {
		if _, err := load(goja.Undefined()); err != nil {
			return nil, false
		}
	}
	return goja.AssertFunction(w.internal.Get(name))
}

// WebSocketEndOf returns the end behind a script WebSocket, or nil.
func (f *Fetch) WebSocketEndOf(v goja.Value) *WebSocketEnd {
	o, ok := v.(*goja.Object)
	if !ok || o == nil {
		return nil
	}
	fn, ok := f.api.ws.hook("wsHandleOf")
	if !ok {
		return nil
	}
	h, err := fn(goja.Undefined(), o)
	if err != nil {
		return nil
	}
	e, _ := Impl[*WebSocketEnd](h)
	return e
}

// NewWebSocket wraps an end as a script WebSocket. Loop only.
func (f *Fetch) NewWebSocket(e *WebSocketEnd) goja.Value {
	fn, ok := f.api.ws.hook("wsWrap")
	if !ok {
		return goja.Undefined()
	}
	v, err := fn(goja.Undefined(), f.api.ws.handle.New(e))
	if err != nil {
		panic(err)
	}
	return v
}

// DispatchWebSocket fires the event for m on the script WebSocket ws (used
// by the platform for sockets it delivers to itself). Loop only.
func (f *Fetch) DispatchWebSocket(ws goja.Value, m WebSocketMessage) {
	f.api.ws.dispatch(ws.ToObject(f.api.vm), m)
}

// WebSocketAttachments is implemented by an end's Owner when the platform
// keeps the socket's attachment (hibernatable sockets, whose script
// wrapper does not survive hibernation).
type WebSocketAttachments interface {
	SetAttachment(data []byte)
	Attachment() []byte
}

// MaxWebSocketAttachment is the largest serialized attachment (16 KiB).
const MaxWebSocketAttachment = 16 << 10

func (w *webSockets) installAttachments(internal *goja.Object) error {
	vm := w.vm
	if err := internal.Set("wsHibernatable", func(c goja.FunctionCall) goja.Value {
		e, ok := Impl[*WebSocketEnd](c.Argument(0))
		return vm.ToValue(ok && e.Owner != nil)
	}); err != nil {
		return err
	}
	if err := internal.Set("wsSerializeAttachment", func(c goja.FunctionCall) goja.Value {
		e, ok := Impl[*WebSocketEnd](c.Argument(0))
		if !ok {
			return goja.Undefined()
		}
		att, ok := e.Owner.(WebSocketAttachments)
		if !ok {
			return goja.Undefined()
		}
		data, err := structuredclone.Serialize(vm, c.Argument(1), structuredclone.Options{})
		if err != nil {
			var dce *structuredclone.DataCloneError
			if errors.As(err, &dce) {
				ThrowDOMException(vm, dce.Message, "DataCloneError")
			}
			panic(err)
		}
		if len(data) > MaxWebSocketAttachment {
			ThrowRangeError(vm, "A WebSocket 'attachment' cannot be larger than %d bytes. 'attachment' was %d bytes.", MaxWebSocketAttachment, len(data))
		}
		att.SetAttachment(data)
		return vm.ToValue(true)
	}); err != nil {
		return err
	}
	return internal.Set("wsDeserializeAttachment", func(c goja.FunctionCall) goja.Value {
		e, ok := Impl[*WebSocketEnd](c.Argument(0))
		if !ok {
			return goja.Undefined()
		}
		att, ok := e.Owner.(WebSocketAttachments)
		if !ok {
			return goja.Undefined()
		}
		data := att.Attachment()
		if data == nil {
			return goja.Null()
		}
		v, err := structuredclone.Deserialize(vm, data)
		if err != nil {
			panic(vm.NewGoError(err))
		}
		return v
	})
}
