package worker

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(context.Background(), strings.Replace(url, "http", "ws", 1), nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return c
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	typ, data, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if typ == websocket.MessageBinary {
		return "binary:" + string(data)
	}
	return string(data)
}

func TestWebSocketPairEcho(t *testing.T) {
	srv := start(t, Spec{Script: module(`return { default: { fetch(request) {
		if (request.headers.get("upgrade") !== "websocket") return new Response("expected a WebSocket", {status: 426});
		const [client, server] = Object.values(new WebSocketPair());
		server.accept();
		server.addEventListener("message", (e) => {
			if (typeof e.data === "string") server.send("echo:" + e.data + ":" + server.readyState);
			else server.send(new Uint8Array(e.data).reverse());
		});
		server.addEventListener("close", (e) => server.close(4000, "bye " + e.code + " " + e.reason));
		return new Response(null, { status: 101, webSocket: client });
	} } };`)})
	c := dialWS(t, srv.URL)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c); got != "echo:hi:1" {
		t.Fatalf("got %q", got)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c); got != "binary:\x03\x02\x01" {
		t.Fatalf("got %q", got)
	}
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil && websocket.CloseStatus(err) == -1 {
		t.Logf("close: %v", err)
	}
	if code, _, _ := get(t, srv.URL); code != 426 {
		t.Fatalf("plain request: %d", code)
	}
}

func TestOutboundWebSocket(t *testing.T) {
	echo := start(t, Spec{Script: module(`return { default: { fetch(request) {
		const [client, server] = Object.values(new WebSocketPair());
		server.accept();
		server.addEventListener("message", (e) => server.send("upstream got " + e.data + " with " + request.headers.get("x-token")));
		return new Response(null, { status: 101, webSocket: client });
	} } };`)})
	srv := start(t, Spec{Script: module(`return { default: { async fetch(request, env) {
		const resp = await fetch(env.UPSTREAM, { headers: { Upgrade: "websocket", "X-Token": "t0k" } });
		const ws = resp.webSocket;
		if (resp.status !== 101 || !ws) return new Response("no socket: " + resp.status, { status: 502 });
		ws.accept();
		const reply = new Promise((resolve) => ws.addEventListener("message", (e) => resolve(e.data)));
		ws.send("hi");
		const text = await reply;
		ws.close(1000, "done");
		return new Response(text);
	} } };`), Vars: []Var{{"UPSTREAM", echo.URL}}})
	if code, body, _ := get(t, srv.URL); code != 200 || body != "upstream got hi with t0k" {
		t.Fatalf("%d %q", code, body)
	}
}

// A message over 32 MiB closes the connection with 1009 (message too big).
func TestWebSocketMessageLimit(t *testing.T) {
	srv := start(t, Spec{Script: module(`return { default: { fetch() {
		const [client, server] = Object.values(new WebSocketPair());
		server.accept();
		server.addEventListener("message", (e) => server.send(String(e.data.byteLength ?? e.data.length)));
		return new Response(null, { status: 101, webSocket: client });
	} } };`)})
	c := dialWS(t, srv.URL)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageBinary, make([]byte, 32<<20)); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c); got != "33554432" {
		t.Fatalf("32 MiB: %q", got)
	}
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 32<<20+1))
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("over the limit: %v", err)
	}
}
