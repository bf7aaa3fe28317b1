// Classes of the cloudflare:workers module and the service-worker event
// plumbing. Evaluated once per runtime as a function of (host, internal).
(function (host, internal) {
  "use strict";
  class DurableObject {
    constructor(ctx, env) {
      this.ctx = ctx;
      this.env = env;
    }
  }
  class WorkerEntrypoint {
    constructor(ctx, env) {
      this.ctx = ctx;
      this.env = env;
    }
  }
  class WorkflowEntrypoint {
    constructor(ctx, env) {
      this.ctx = ctx;
      this.env = env;
    }
  }
  class RpcTarget {}
  host.DurableObject = DurableObject;
  host.WorkerEntrypoint = WorkerEntrypoint;
  host.WorkflowEntrypoint = WorkflowEntrypoint;
  host.RpcTarget = RpcTarget;

  class FetchEvent extends Event {
    #request;
    #respond;
    #ctx;
    constructor(type, init) {
      super(type, { cancelable: true });
      this.#request = init.request;
      this.#respond = init.respondWith;
      this.#ctx = init.ctx;
    }
    get request() { return this.#request; }
    respondWith(response) { this.#respond(response); }
    waitUntil(promise) { this.#ctx.waitUntil(promise); }
    passThroughOnException() { this.#ctx.passThroughOnException(); }
  }
  Object.defineProperty(globalThis, "FetchEvent", { value: FetchEvent, writable: true, configurable: true });

  // The global scope of a service-worker script is an event target. Fetch
  // listeners are kept apart so that their exceptions reach the platform
  // (and become the request's 500) instead of being reported and dropped.
  const others = new EventTarget();
  const fetchListeners = [];
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  define("addEventListener", function addEventListener(type, listener, options) {
    if (String(type) !== "fetch") return others.addEventListener(type, listener, options);
    if (listener != null && !fetchListeners.includes(listener)) fetchListeners.push(listener);
  });
  define("removeEventListener", function removeEventListener(type, listener, options) {
    if (String(type) !== "fetch") return others.removeEventListener(type, listener, options);
    const i = fetchListeners.indexOf(listener);
    if (i >= 0) fetchListeners.splice(i, 1);
  });
  define("dispatchEvent", (event) => others.dispatchEvent(event));
  host.hasFetchListener = () => fetchListeners.length > 0;
  host.dispatchFetch = function (init) {
    const event = new FetchEvent("fetch", init);
    for (const listener of fetchListeners.slice()) {
      if (typeof listener === "function") listener.call(globalThis, event);
      else listener.handleEvent(event);
    }
  };
  return host;
})
