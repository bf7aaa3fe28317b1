// The counter scenarios: /inc?name=N increments the Durable Object named N
// with a storage put per request; /get?name=N reads its value.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "A";
    const stub = env.COUNTER.get(env.COUNTER.idFromName(name));
    return stub.fetch(request);
  },
};

export class Counter {
  constructor(state) {
    this.state = state;
  }

  async fetch(request) {
    const url = new URL(request.url);
    let value = (await this.state.storage.get("value")) ?? 0;
    if (url.pathname === "/inc") {
      value++;
      await this.state.storage.put("value", value);
    } else if (url.pathname !== "/get") {
      return new Response("not found", { status: 404 });
    }
    return new Response(String(value));
  }
}
