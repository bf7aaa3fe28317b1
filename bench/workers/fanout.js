// The ws-fanout scenario: every WebSocket connects to one Durable Object,
// which accepts it with the hibernation API; POST /broadcast sends the body
// to every socket and answers how many there were; /count answers that
// number alone.
export default {
  fetch(request, env) {
    return env.HUB.get(env.HUB.idFromName("hub")).fetch(request);
  },
};

export class Hub {
  constructor(state) {
    this.state = state;
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/broadcast" && request.method === "POST") {
      const text = await request.text();
      const sockets = this.state.getWebSockets();
      for (const ws of sockets) ws.send(text);
      return new Response(String(sockets.length));
    }
    if (url.pathname === "/count") return new Response(String(this.state.getWebSockets().length));
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair());
    this.state.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
}
