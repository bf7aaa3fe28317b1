// The idle-objects scenario: /touch?name=N activates the Durable Object
// named N, which keeps only an in-memory count of its requests (no storage)
// and answers it: 1 from a fresh object, 2 from one that stayed in memory.
export default {
  fetch(request, env) {
    const name = new URL(request.url).searchParams.get("name") ?? "A";
    return env.OBJECTS.get(env.OBJECTS.idFromName(name)).fetch(request);
  },
};

export class Idle {
  constructor() {
    this.hits = 0;
  }

  fetch() {
    this.hits++;
    return new Response(String(this.hits));
  }
}
