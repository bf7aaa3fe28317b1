// A chat server: each room is a Durable Object holding the room's WebSockets
// through the hibernation API, so an idle room leaves memory while its
// members stay connected. Connect with a WebSocket client to
//   ws://127.0.0.1:8787/rooms/<room>?name=<your name>
// and send text; everyone in the room receives it. The last 50 messages are
// kept in the room's storage and replayed to whoever joins.
import { DurableObject } from "cloudflare:workers";

interface Env {
  ROOMS: DurableObjectNamespace<ChatRoom>;
}

interface Member {
  name: string;
  joinedAt: number;
}

interface ChatMessage {
  from: string;
  text: string;
  at: number;
}

const HISTORY = 50;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/rooms\/([^/]+)$/);
    if (!match) {
      return new Response("Connect a WebSocket to /rooms/<room>?name=<name>\n", { status: 404 });
    }
    if (request.headers.get("Upgrade") !== "websocket") {
      return new Response("Expected a WebSocket upgrade\n", { status: 426 });
    }
    return env.ROOMS.getByName(decodeURIComponent(match[1])).fetch(request);
  },
};

export class ChatRoom extends DurableObject<Env> {
  async fetch(request: Request): Promise<Response> {
    const name = new URL(request.url).searchParams.get("name") || "anonymous";
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, [name]);
    server.serializeAttachment({ name, joinedAt: Date.now() } satisfies Member);

    const history = (await this.ctx.storage.get<ChatMessage[]>("history")) ?? [];
    server.send(JSON.stringify({ type: "history", messages: history }));
    this.broadcast({ type: "joined", name, members: this.members() });
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    const member = ws.deserializeAttachment() as Member;
    const text = typeof message === "string" ? message : new TextDecoder().decode(message);
    const entry: ChatMessage = { from: member.name, text, at: Date.now() };
    const history = (await this.ctx.storage.get<ChatMessage[]>("history")) ?? [];
    history.push(entry);
    await this.ctx.storage.put("history", history.slice(-HISTORY));
    this.broadcast({ type: "message", ...entry });
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string) {
    const member = ws.deserializeAttachment() as Member;
    ws.close(code === 1005 ? 1000 : code, "bye");
    this.broadcast({ type: "left", name: member.name, members: this.members() });
  }

  private members(): string[] {
    return this.ctx.getWebSockets().map((ws) => (ws.deserializeAttachment() as Member).name);
  }

  private broadcast(event: object) {
    const data = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(data);
      } catch {
        // The socket is closing; it leaves the room on its close event.
      }
    }
  }
}
