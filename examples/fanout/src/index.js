import { DurableObject } from "cloudflare:workers";

export default {
  fetch(request, env) {
    return env.HUB.getByName("hub").fetch(request);
  },
};

export class Hub extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/broadcast") {
      const text = await request.text();
      const sockets = this.ctx.getWebSockets();
      for (const ws of sockets) ws.send(text);
      return new Response(String(sockets.length));
    }
    if (url.pathname === "/count") return new Response(String(this.ctx.getWebSockets().length));
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
}
