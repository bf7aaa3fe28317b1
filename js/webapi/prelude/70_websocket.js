// WebSocket and WebSocketPair. The transport is in Go (websocket.go): a
// script WebSocket holds an opaque handle to one end of a pair.
const WS_TOKEN = Symbol("kiln.ws");
const WS_CONNECTING = 0, WS_OPEN = 1, WS_CLOSING = 2, WS_CLOSED = 3;

const wsModule = () => {
  const { EventTarget, MessageEvent, CloseEvent, Event } = eventsModule();
  class WebSocket extends EventTarget {
    #handle;
    #state = WS_OPEN;
    #accepted = false;
    #sentClose = false;
    #attachment = undefined;
    constructor(tokenOrUrl, handle) {
      super();
      if (tokenOrUrl !== WS_TOKEN) {
        throw new TypeError("kiln does not support new WebSocket(url) yet; use fetch() with an Upgrade: websocket header.");
      }
      this.#handle = handle;
    }
    static get CONNECTING() { return WS_CONNECTING; }
    static get OPEN() { return WS_OPEN; }
    static get CLOSING() { return WS_CLOSING; }
    static get CLOSED() { return WS_CLOSED; }
    get readyState() { return this.#state; }
    get url() { return null; }
    get protocol() { return ""; }
    get extensions() { return ""; }
    accept() {
      if (this.#accepted) throw new TypeError("This WebSocket has already been accepted.");
      internal.wsAccept(this.#handle, this);
      this.#accepted = true;
    }
    send(message) {
      if (!this.#accepted && !internal.wsHibernatable?.(this.#handle)) {
        throw new TypeError("You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.");
      }
      if (this.#state !== WS_OPEN || this.#sentClose) {
        throw new TypeError("Can't call WebSocket send() after close().");
      }
      internal.wsSend(this.#handle, message);
    }
    close(code, reason) {
      if (code !== undefined) {
        code = Number(code);
        if (!(code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006))) {
          throw new TypeError("Invalid WebSocket close code: " + code + ".");
        }
      }
      if (reason !== undefined && new TextEncoder().encode(String(reason)).length > 123) {
        throw new TypeError("The WebSocket close reason is too long (at most 123 bytes).");
      }
      if (this.#sentClose) return;
      this.#sentClose = true;
      this.#state = WS_CLOSING;
      internal.wsClose(this.#handle, code, reason === undefined ? undefined : String(reason));
    }
    serializeAttachment(value) {
      internal.wsSerializeAttachment?.(this.#handle, value) ?? (this.#attachment = structuredClone(value));
    }
    deserializeAttachment() {
      const fromGo = internal.wsDeserializeAttachment?.(this.#handle);
      return fromGo !== undefined ? fromGo : this.#attachment === undefined ? null : structuredClone(this.#attachment);
    }
    static [WS_TOKEN](ws) { return ws.#handle; }
    static _dispatch(ws, type, a, b, c) {
      if (type === "message") {
        ws.dispatchEvent(new MessageEvent("message", { data: a }));
      } else if (type === "close") {
        ws.#state = WS_CLOSED;
        ws.dispatchEvent(new CloseEvent("close", { code: a, reason: b, wasClean: c }));
      } else if (type === "error") {
        ws.dispatchEvent(new Event("error"));
      }
    }
  }
  internal.defineEventHandlers?.(WebSocket.prototype, "message", "close", "error", "open");
  class WebSocketPair {
    constructor() {
      const [a, b] = internal.wsNewPair();
      this[0] = new WebSocket(WS_TOKEN, a);
      this[1] = new WebSocket(WS_TOKEN, b);
    }
  }
  class WebSocketRequestResponsePair {
    #request;
    #response;
    constructor(request, response) {
      this.#request = String(request);
      this.#response = String(response);
    }
    get request() { return this.#request; }
    get response() { return this.#response; }
  }
  internal.wsHandleOf = (ws) => (ws instanceof WebSocket ? WebSocket[WS_TOKEN](ws) : undefined);
  internal.wsWrap = (handle) => new WebSocket(WS_TOKEN, handle);
  internal.wsDispatch = (ws, type, a, b, c) => WebSocket._dispatch(ws, type, a, b, c);
  return { WebSocket, WebSocketPair, WebSocketRequestResponsePair };
};

let wsClasses;
const wsLoad = () => (wsClasses ??= wsModule());
internal.wsLoad = wsLoad;
for (const name of ["WebSocket", "WebSocketPair", "WebSocketRequestResponsePair"]) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = wsLoad()[name];
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
      return value;
    },
    set(value) {
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    },
  });
}
