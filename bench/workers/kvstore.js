// workerd's side of the KV scenarios, the way Miniflare backs KV: workerd's
// kvNamespace binding sends its operations as HTTP requests to this service,
// which keeps the namespace in one Durable Object with localDisk storage
// (SQLite on disk). Only kiln's benchmark config of workerd uses it.
//
// The binding's protocol (workerd src/workerd/api/kv.c++, checked by
// logging what the binding sends):
//   GET    https://fake-host/<key>?urlencoded=true[&cache_ttl=N]
//          200 with the value and a CF-KV-Metadata header (JSON) if any;
//          404 for a missing key.
//   PUT    https://fake-host/<key>?urlencoded=true[&expiration=S][&expiration_ttl=S]
//          the value as the body, metadata as JSON in CF-KV-Metadata.
//   DELETE https://fake-host/<key>?urlencoded=true
//   GET    https://fake-host?prefix=P&key_count_limit=N&cursor=C (list)
//          {keys: [{name, expiration?, metadata?: JSON text}], list_complete, cursor?}
// The key is one percent-encoded path segment.
export default {
  fetch(request, env) {
    return env.NAMESPACE.get(env.NAMESPACE.idFromName("bench")).fetch(request);
  },
};

export class KvNamespace {
  constructor(state) {
    this.storage = state.storage;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const now = Date.now() / 1000;
    if (url.pathname === "/" || url.pathname === "") {
      if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
      return this.list(url, now);
    }
    const key = decodeURIComponent(url.pathname.slice(1));
    switch (request.method) {
      case "GET": {
        const entry = await this.storage.get(key);
        if (entry === undefined || (entry.expiration !== undefined && entry.expiration <= now)) {
          return new Response(null, { status: 404 });
        }
        const headers = entry.metadata === undefined ? {} : { "CF-KV-Metadata": entry.metadata };
        return new Response(entry.value, { headers });
      }
      case "PUT": {
        const entry = { value: await request.arrayBuffer() };
        const metadata = request.headers.get("CF-KV-Metadata");
        if (metadata !== null) entry.metadata = metadata;
        const expiration = url.searchParams.get("expiration");
        const ttl = url.searchParams.get("expiration_ttl");
        if (expiration !== null) entry.expiration = Number(expiration);
        else if (ttl !== null) entry.expiration = Math.floor(now) + Number(ttl);
        await this.storage.put(key, entry);
        return new Response(null);
      }
      case "DELETE":
        await this.storage.delete(key);
        return new Response(null);
      default:
        return new Response("method not allowed", { status: 405 });
    }
  }

  async list(url, now) {
    const limit = Number(url.searchParams.get("key_count_limit") ?? 1000);
    const options = { limit: limit + 1 };
    const prefix = url.searchParams.get("prefix");
    if (prefix !== null) options.prefix = prefix;
    const cursor = url.searchParams.get("cursor");
    if (cursor !== null) options.startAfter = cursor;
    const keys = [];
    let more = false;
    for (const [name, entry] of await this.storage.list(options)) {
      if (entry.expiration !== undefined && entry.expiration <= now) continue;
      if (keys.length === limit) {
        more = true;
        break;
      }
      const key = { name };
      if (entry.expiration !== undefined) key.expiration = entry.expiration;
      if (entry.metadata !== undefined) key.metadata = entry.metadata;
      keys.push(key);
    }
    const body = { keys, list_complete: !more };
    if (more) body.cursor = keys[keys.length - 1].name;
    return Response.json(body);
  }
}
