package worker

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const wsClasses = `
const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Room extends DurableObject {
	constructor(ctx, env) { super(ctx, env); this.wakes = (this.wakes ?? 0) + 1; }
	async fetch(request) {
		const url = new URL(request.url);
		if (url.pathname === "/state") {
			const out = [];
			try { this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("x".repeat(2049), "y")); } catch (e) { out.push(e.name + ": " + e.message); }
			try { this.ctx.setHibernatableWebSocketEventTimeout(604800001); } catch (e) { out.push(e.message); }
			const [c, s] = Object.values(new WebSocketPair());
			s.accept();
			try { this.ctx.acceptWebSocket(s); } catch (e) { out.push(e.message); }
			return Response.json(out);
		}
		const [client, server] = Object.values(new WebSocketPair());
		this.ctx.acceptWebSocket(server, ["t1", "t2", "t1"]);
		if (url.pathname === "/auto") this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
		return new Response(null, { status: 101, webSocket: client });
	}
	webSocketMessage(ws, msg) {
		if (msg === "tags") return ws.send(JSON.stringify(this.ctx.getTags(ws)));
		if (msg === "auto-time") return ws.send(String(this.ctx.getWebSocketAutoResponseTimestamp(ws) instanceof Date));
		if (msg === "close") return ws.close(1001, "bye");
		if (msg === "wakes") return ws.send(String(this.wakes));
		if (msg === "write-then-send") { this.ctx.storage.put("k", 1); return ws.send("after-write"); }
		if (typeof msg !== "string") return ws.send(new Uint8Array(msg).map((b) => b ^ 0xff));
		ws.send("echo:" + msg);
	}
	webSocketClose(ws, code, reason, wasClean) {
		for (const other of this.ctx.getWebSockets()) other.send("closed:" + code + ":" + reason + ":" + wasClean);
	}
}
`

func startWS(t *testing.T) string {
	t.Helper()
	url, _ := startWSReg(t)
	return url
}

func startWSReg(t *testing.T) (string, *Registry) {
	t.Helper()
	reg := NewRegistry(t.TempDir(), time.Minute)
	w, err := New(context.Background(), Spec{
		Name: "ws", Script: module(wsClasses + `return { Room, default: { fetch(req, env) { return env.ROOM.getByName(new URL(req.url).searchParams.get("room") ?? "r").fetch(req); } } };`),
		Registry: reg, Classes: []DOClass{{Name: "Room", SQL: true}}, DurableObjects: []DOBinding{{Name: "ROOM", ClassName: "Room"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() { srv.Close(); w.Close() })
	return srv.URL, reg
}

func TestHibernationAPI(t *testing.T) {
	base := startWS(t)
	ctx := context.Background()
	a := dialWS(t, base+"/auto?room=h")
	b := dialWS(t, base+"/?room=h")
	send := func(c *websocket.Conn, s string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	// Case 171: the handler answers; tags are deduplicated.
	send(a, "hello")
	if got := readText(t, a); got != "echo:hello" {
		t.Fatalf("%q", got)
	}
	send(a, "tags")
	if got := readText(t, a); got != `["t1","t2"]` {
		t.Fatalf("tags %q", got)
	}
	// Case 177: the auto-response is answered without the handler.
	send(a, "ping")
	if got := readText(t, a); got != "pong" {
		t.Fatalf("auto-response %q", got)
	}
	send(a, "auto-time")
	if got := readText(t, a); got != "true" {
		t.Fatalf("auto-response timestamp %q", got)
	}
	// Case 181: binary both ways.
	if err := a.Write(ctx, websocket.MessageBinary, []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, a); got != "binary:\x21\x52\x41\x10" {
		t.Fatalf("binary %q", got)
	}
	// Case 182: a close from the object reaches the client with its code.
	send(b, "close")
	if _, _, err := b.Read(ctx); websocket.CloseStatus(err) != 1001 {
		t.Fatalf("close from the object: %v", err)
	}
	// Case 173: a client that disappears without a Close frame.
	c := dialWS(t, base+"/?room=h")
	_ = c.CloseNow()
	for {
		got := readText(t, a)
		if strings.HasPrefix(got, "closed:1006:") {
			if got != "closed:1006:WebSocket disconnected without sending Close frame.:false" {
				t.Fatalf("abnormal close %q", got)
			}
			break
		}
	}
}

func TestHibernationLimits(t *testing.T) {
	base := startWS(t)
	code, body, _ := get(t, base+"/state?room=limits")
	want := `["RangeError: Request cannot be larger than 2048 bytes. A request of size 2049 was provided.","Event timeout should not exceed 604800000 ms.","Cannot call ` + "`acceptWebSocket()`" + ` if the WebSocket was already accepted via ` + "`accept()`" + `"]`
	if code != 200 || body != want {
		t.Fatalf("%d %s", code, body)
	}
}

// A message an object sends on a socket is an outgoing message: it leaves
// only once the writes made before it are durable.
func TestWebSocketSendWaitsForOutputGate(t *testing.T) {
	base, reg := startWSReg(t)
	hold := make(chan struct{})
	reg.beforeDurable = func() { <-hold }
	a := dialWS(t, base+"/?room=gate")
	var released atomic.Bool
	got := make(chan bool, 1)
	go func() {
		_, data, err := a.Read(context.Background())
		got <- err == nil && string(data) == "after-write" && released.Load()
	}()
	if err := a.Write(context.Background(), websocket.MessageText, []byte("write-then-send")); err != nil {
		t.Fatal(err)
	}
	// A full round trip through another object while the write is held.
	if code, _, _ := get(t, base+"/state?room=other"); code != 200 {
		t.Fatal("other room")
	}
	released.Store(true)
	close(hold)
	if ok := <-got; !ok {
		t.Fatal("the message left before its write was durable (or never came)")
	}
}

// An object holding a socket it accept()ed (not hibernatable: its listeners
// live in the object's memory) stays in memory until the socket closes.
func TestAcceptedSocketKeepsObjectInMemory(t *testing.T) {
	reg := NewRegistry(t.TempDir(), time.Millisecond)
	var closed atomic.Bool
	evicted := make(chan bool, 8)
	reg.OnEvict = func(class, id string) { evicted <- closed.Load() }
	w, err := New(context.Background(), Spec{
		Name: "pin", Registry: reg, Classes: []DOClass{{Name: "Live", SQL: true}}, DurableObjects: []DOBinding{{Name: "LIVE", ClassName: "Live"}},
		Script: module(`const { DurableObject } = globalThis[Symbol.for("kiln.host")];
class Live extends DurableObject {
	fetch() {
		const [client, server] = Object.values(new WebSocketPair());
		server.accept();
		server.addEventListener("message", (e) => server.send("got " + e.data));
		return new Response(null, { status: 101, webSocket: client });
	}
}
return { Live, default: { fetch(req, env) { return env.LIVE.getByName("x").fetch(req); } } };`),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer func() { srv.Close(); w.Close() }()
	c := dialWS(t, srv.URL)
	// Many idle timeouts pass while the socket is open.
	for i := 0; i < 5; i++ {
		time.Sleep(5 * time.Millisecond)
		if err := c.Write(context.Background(), websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if got := readText(t, c); got != "got ping" {
			t.Fatalf("%q", got)
		}
	}
	closed.Store(true)
	_ = c.Close(websocket.StatusNormalClosure, "")
	if early := !<-evicted; early {
		t.Fatal("the object was evicted while its accepted socket was open")
	}
}
