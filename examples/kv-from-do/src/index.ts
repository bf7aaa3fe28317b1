// "Use Workers KV from Durable Objects" (seeds/000): each room is a Durable
// Object that writes to and reads from a KV namespace, serialising the room's
// KV traffic through one object. The published example refers to an
// undefined `roomId` and calls put() without a value; this copy fixes both
// (the verbatim version is exercised by kiln's tests).
import { DurableObject } from "cloudflare:workers";

interface Env {
  YOUR_KV_NAMESPACE: KVNamespace;
  YOUR_DO_CLASS: DurableObjectNamespace<YourDurableObject>;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    // Assume each Durable Object is mapped to a roomId in a query parameter.
    const url = new URL(req.url);
    const roomIdParam = url.searchParams.get("roomId");

    if (roomIdParam) {
      // Get a stub that allows you to call that Durable Object.
      const durableObjectStub = env.YOUR_DO_CLASS.getByName(roomIdParam);
      // Pass the request on; the object reads and writes KV.
      return await durableObjectStub.fetch(`http://do/${roomIdParam}${url.search}`);
    }
    return new Response("Pass ?roomId=<name>[&message=<text>]\n", { status: 400 });
  },
};

export class YourDurableObject extends DurableObject<Env> {
  constructor(
    public state: DurableObjectState,
    env: Env,
  ) {
    super(state, env);
  }

  async fetch(request: Request) {
    const room = new URL(request.url).pathname.slice(1);
    const message = new URL(request.url).searchParams.get("message");

    // Write to KV: the room's latest message.
    if (message !== null) {
      await this.env.YOUR_KV_NAMESPACE.put(`room:${room}:latest`, message, {
        metadata: { at: Date.now() },
      });
    }

    // Fetch from KV.
    const { value, metadata } = await this.env.YOUR_KV_NAMESPACE.getWithMetadata(`room:${room}:latest`);
    return Response.json({ room, latest: value, metadata });
  }
}
