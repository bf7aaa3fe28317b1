// A small Worker: routes on the path, reads vars from env, answers text,
// JSON and a streamed body, and uses ctx.waitUntil for work after the response.

interface Env {
  GREETING: string;
  SITE: { name: string; links: string[] };
}

interface Visit {
  path: string;
  at: string;
}

const recent: Visit[] = [];

function greet(env: Env, name: string | null): string {
  return `${env.GREETING}, ${name ?? "world"}! This is ${env.SITE.name}.`;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    ctx.waitUntil(Promise.resolve().then(() => {
      recent.push({ path: url.pathname, at: new Date().toISOString() });
      if (recent.length > 10) recent.shift();
    }));

    switch (url.pathname) {
      case "/":
        return new Response(greet(env, url.searchParams.get("name")) + "\n", {
          headers: { "content-type": "text/plain;charset=UTF-8" },
        });
      case "/json":
        return Response.json({
          greeting: greet(env, url.searchParams.get("name")),
          method: request.method,
          userAgent: request.headers.get("user-agent"),
          recent,
        });
      case "/echo":
        if (request.method !== "POST") {
          return new Response("POST a body to /echo\n", { status: 405, headers: { allow: "POST" } });
        }
        return new Response(await request.text(), {
          headers: { "content-type": request.headers.get("content-type") ?? "text/plain" },
        });
      case "/stream": {
        const encoder = new TextEncoder();
        let i = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (i === 3) {
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`chunk ${++i}\n`));
          },
        });
        return new Response(body, { headers: { "content-type": "text/plain" } });
      }
      case "/digest": {
        const data = new TextEncoder().encode(url.searchParams.get("text") ?? "");
        const hash = await crypto.subtle.digest("SHA-256", data);
        const hex = [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
        return new Response(hex + "\n");
      }
      case "/error":
        throw new Error("this route fails on purpose");
      default:
        return new Response("Not found\n", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
