package webapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// ServeWebSocket completes an upgrade a Worker answered with status 101:
// the HTTP connection becomes the client's side of the WebSocket pair whose
// other end the script (or a Durable Object) holds. It returns when the
// connection ends.
func ServeWebSocket(rw http.ResponseWriter, r *http.Request, client *WebSocketEnd, log *slog.Logger) {
	conn, err := websocket.Accept(rw, r, &websocket.AcceptOptions{
		// Workers do not check the Origin header; the script may.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		log.Warn("WebSocket upgrade failed", "error", err)
		client.Send(WebSocketMessage{Close: true, Code: 1006, Reason: "WebSocket upgrade failed."})
		return
	}
	bridge(conn, client)
}

// bridge connects a network WebSocket to end: what end's peer sends goes
// out on conn, what arrives on conn is sent by end. It returns when the
// connection ends.
func bridge(conn *websocket.Conn, end *WebSocketEnd) {
	client := end
	conn.SetReadLimit(MaxWebSocketMessage)
	sink := newNetSink(conn)
	client.Attach(sink)
	ctx := context.Background()
	for {
		typ, data, err := conn.Read(ctx)
		failCode, failReason := websocket.StatusProtocolError, "WebSocket protocol error."
		if err == nil && typ == websocket.MessageText && !utf8.Valid(data) {
			// RFC 6455 section 8.1: a text message that is not UTF-8 fails
			// the connection.
			err = errInvalidUTF8
			failCode, failReason = websocket.StatusInvalidFramePayloadData, "Invalid UTF-8 in text message."
		}
		if err != nil {
			m := WebSocketMessage{Close: true, Code: 1006, Reason: "WebSocket disconnected without sending Close frame."}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				m.Code, m.Reason, m.WasClean = int(ce.Code), ce.Reason, true
				if ce.Code == websocket.StatusNoStatusRcvd {
					m.Code = 1005
				}
			}
			client.Send(m)
			sink.stop()
			if !errors.As(err, &ce) {
				// The connection failed (a protocol error, invalid data, a
				// broken network): close it. coder/websocket has sent a
				// close frame for most protocol errors but leaves the TCP
				// connection open until the peer answers it, and sends none
				// for some (an unmasked client frame); a hostile peer would
				// keep the connection forever. Close sends failCode unless a
				// close frame went out already, waits a bounded time for the
				// peer's, then hangs up.
				_ = conn.Close(failCode, failReason)
			}
			return
		}
		client.Send(WebSocketMessage{Text: typ == websocket.MessageText, Data: data})
	}
}

var errInvalidUTF8 = errors.New("invalid UTF-8 in a text message")

// netSink writes what the script sends to the connection, in order, from
// one goroutine.
type netSink struct {
	conn *websocket.Conn

	mu      sync.Mutex
	queue   []WebSocketMessage
	wake    chan struct{}
	stopped bool
}

func newNetSink(conn *websocket.Conn) *netSink {
	s := &netSink{conn: conn, wake: make(chan struct{}, 1)}
	go s.run()
	return s
}

func (s *netSink) Deliver(m WebSocketMessage) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *netSink) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *netSink) run() {
	ctx := context.Background()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.stopped {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		m := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		if m.Close {
			code := websocket.StatusCode(m.Code)
			if m.Code == 1005 || m.Code == 0 {
				code = websocket.StatusNormalClosure
			}
			_ = s.conn.Close(code, m.Reason)
			s.stop()
			return
		}
		typ := websocket.MessageBinary
		if m.Text {
			typ = websocket.MessageText
		}
		if err := s.conn.Write(ctx, typ, m.Data); err != nil {
			s.stop()
			return
		}
	}
}
