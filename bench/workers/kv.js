// The KV scenarios: /get?key=K answers the value of K (404 if none);
// /put?key=K&value=V stores V under K and answers once the put returned.
// The load generator sends only GETs, so the put goes in the query string.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get("key");
    if (url.pathname === "/ready") return new Response("ok");
    if (key === null) return new Response("no key", { status: 400 });
    if (url.pathname === "/get") {
      const value = await env.KV.get(key);
      if (value === null) return new Response("no such key", { status: 404 });
      return new Response(value);
    }
    if (url.pathname === "/put") {
      await env.KV.put(key, url.searchParams.get("value") ?? "");
      return new Response("ok");
    }
    return new Response("not found", { status: 404 });
  },
};
