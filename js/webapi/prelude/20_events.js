// DOM events: Event, EventTarget and the event subclasses Workers use. There
// is no node tree, so dispatch only ever has the AT_TARGET phase.

const eventsModule = lazyModule(["Event", "EventTarget", "CustomEvent", "ErrorEvent", "MessageEvent", "CloseEvent"], () => {
  let eventState, isEvent; // set in Event's static block

  class Event {
    #s;
    constructor(type, init = undefined) {
      requireArgs(1, arguments.length, `construct '${new.target.name}'`);
      init = dictionary(init, `construct '${new.target.name}'`);
      this.#s = {
        type: String(type), bubbles: !!init.bubbles, cancelable: !!init.cancelable,
        composed: !!init.composed, canceled: false, stop: false, stopNow: false,
        passive: false, dispatching: false, target: null, currentTarget: null, phase: 0,
        timeStamp: typeof globalThis.performance?.now === "function" ? globalThis.performance.now() : Date.now(),
      };
    }
    static {
      eventState = (e) => e.#s;
      isEvent = (v) => isObject(v) && #s in v;
    }

    get type() { return this.#s.type; }
    get bubbles() { return this.#s.bubbles; }
    get cancelable() { return this.#s.cancelable; }
    get composed() { return this.#s.composed; }
    get defaultPrevented() { return this.#s.canceled; }
    get returnValue() { return !this.#s.canceled; }
    set returnValue(v) { if (!v) this.preventDefault(); }
    get cancelBubble() { return this.#s.stop; }
    set cancelBubble(v) { if (v) this.#s.stop = true; }
    get timeStamp() { return this.#s.timeStamp; }
    get isTrusted() { return false; }
    get target() { return this.#s.target; }
    get srcElement() { return this.#s.target; }
    get currentTarget() { return this.#s.currentTarget; }
    get eventPhase() { return this.#s.phase; }
    composedPath() { const t = this.#s.currentTarget; return t ? [t] : []; }
    preventDefault() {
      const s = this.#s;
      if (s.cancelable && !s.passive) s.canceled = true;
    }
    stopPropagation() { this.#s.stop = true; }
    stopImmediatePropagation() { const s = this.#s; s.stop = s.stopNow = true; }
    initEvent(type, bubbles = false, cancelable = false) {
      const s = this.#s;
      if (s.dispatching) return;
      Object.assign(s, { type: String(type), bubbles: !!bubbles, cancelable: !!cancelable,
        canceled: false, stop: false, stopNow: false, target: null });
    }
  }
  for (const [name, value] of [["NONE", 0], ["CAPTURING_PHASE", 1], ["AT_TARGET", 2], ["BUBBLING_PHASE", 3]]) {
    Object.defineProperty(Event, name, { value, enumerable: true });
    Object.defineProperty(Event.prototype, name, { value, enumerable: true });
  }

  const flattenOptions = (options) =>
    typeof options === "boolean" ? options : isObject(options) ? !!options.capture : false;

  let setEventHandler, getEventHandler;

  class EventTarget {
    #listeners = null; // Map type -> array of listener records
    #handlers = null; // Map type -> {value, listener} for onxxx attributes

    static {
      getEventHandler = (t, type) => t.#handlers?.get(type)?.value ?? null;
      setEventHandler = (t, type, value) => {
        t.#handlers ??= new Map();
        let h = t.#handlers.get(type);
        if (!h) {
          h = { value: null, fn: null };
          // Registered once, on first set, so it keeps its place in the list.
          h.fn = function (event) {
            if (typeof h.value !== "function") return;
            const r = h.value.call(this, event);
            if (r === false) event.preventDefault();
          };
          t.#handlers.set(type, h);
        }
        h.value = typeof value === "function" || isObject(value) ? value : null;
        if (h.value) t.addEventListener(type, h.fn);
        else t.removeEventListener(type, h.fn);
      };
    }

    addEventListener(type, callback, options = undefined) {
      requireArgs(2, arguments.length, "execute 'addEventListener' on 'EventTarget'");
      type = String(type);
      let capture = false, once = false, passive = false, signal = null;
      if (typeof options === "boolean") capture = options;
      else if (isObject(options)) {
        capture = !!options.capture; once = !!options.once; passive = !!options.passive;
        if (options.signal !== undefined) {
          signal = options.signal;
          if (!isAbortSignalValue(signal)) {
            throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': member signal is not of type AbortSignal.");
          }
        }
      }
      if (callback == null) return;
      if (!isObject(callback)) {
        throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': The callback provided as parameter 2 is not an object.");
      }
      if (signal && signal.aborted) return;
      const map = (this.#listeners ??= new Map());
      let list = map.get(type);
      if (!list) map.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const listener = { callback, capture, once, passive, removed: false, unsignal: null };
      list.push(listener);
      if (signal) {
        listener.unsignal = abortModule().abortSignalAdd(signal, () => this.#remove(type, listener));
      }
    }

    removeEventListener(type, callback, options = undefined) {
      requireArgs(2, arguments.length, "execute 'removeEventListener' on 'EventTarget'");
      const list = this.#listeners?.get(String(type));
      if (!list) return;
      const capture = flattenOptions(options);
      const l = list.find((l) => l.callback === callback && l.capture === capture);
      if (l) this.#remove(String(type), l);
    }

    #remove(type, listener) {
      if (listener.removed) return;
      listener.removed = true;
      listener.unsignal?.();
      const list = this.#listeners.get(type);
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#listeners.delete(type);
    }

    dispatchEvent(event) {
      requireArgs(1, arguments.length, "execute 'dispatchEvent' on 'EventTarget'");
      if (!isEvent(event)) {
        throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
      }
      const s = eventState(event);
      if (s.dispatching) throw new DOMException("The event is already being dispatched.", "InvalidStateError");
      s.dispatching = true;
      s.target = s.currentTarget = this;
      s.phase = 2;
      try {
        const list = this.#listeners?.get(s.type);
        if (list) {
          const snapshot = list.slice();
          // At the target, capturing listeners run before non-capturing ones.
          for (const capturePass of [true, false]) {
            for (const l of snapshot) {
              if (s.stopNow) break;
              if (l.removed || l.capture !== capturePass) continue;
              if (l.once) this.#remove(s.type, l);
              s.passive = l.passive;
              try {
                if (typeof l.callback === "function") l.callback.call(this, event);
                else {
                  const fn = l.callback.handleEvent;
                  if (typeof fn !== "function") throw new TypeError("'handleEvent' property of event listener is not a function");
                  fn.call(l.callback, event);
                }
              } catch (e) {
                reportException(e);
              }
              s.passive = false;
            }
            if (s.stop) break;
          }
        }
      } finally {
        s.dispatching = false;
        s.phase = 0;
        s.currentTarget = null;
        s.stop = s.stopNow = false;
      }
      return !s.canceled;
    }
  }

  // Defines onxxx attributes for the given event types on a prototype.
  const defineEventHandlers = (proto, ...types) => {
    for (const type of types) {
      Object.defineProperty(proto, "on" + type, {
        get() { return getEventHandler(this, type); },
        set(v) { setEventHandler(this, type, v); },
        enumerable: true, configurable: true,
      });
    }
  };

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = undefined) {
      super(...arguments);
      this.#detail = init?.detail ?? null;
    }
    get detail() { return this.#detail; }
  }

  class ErrorEvent extends Event {
    #i;
    constructor(type, init = undefined) {
      super(...arguments);
      init ??= {};
      this.#i = {
        message: init.message === undefined ? "" : String(init.message),
        filename: init.filename === undefined ? "" : String(init.filename),
        lineno: init.lineno >>> 0, colno: init.colno >>> 0, error: init.error,
      };
    }
    get message() { return this.#i.message; }
    get filename() { return this.#i.filename; }
    get lineno() { return this.#i.lineno; }
    get colno() { return this.#i.colno; }
    get error() { return this.#i.error; }
  }

  class MessageEvent extends Event {
    #i;
    constructor(type, init = undefined) {
      super(...arguments);
      init ??= {};
      this.#i = {
        data: init.data === undefined ? null : init.data,
        origin: init.origin === undefined ? "" : String(init.origin),
        lastEventId: init.lastEventId === undefined ? "" : String(init.lastEventId),
        source: init.source ?? null,
        ports: init.ports === undefined ? [] : Array.from(init.ports),
      };
      Object.freeze(this.#i.ports);
    }
    get data() { return this.#i.data; }
    get origin() { return this.#i.origin; }
    get lastEventId() { return this.#i.lastEventId; }
    get source() { return this.#i.source; }
    get ports() { return this.#i.ports; }
  }

  class CloseEvent extends Event {
    #i;
    constructor(type, init = undefined) {
      super(...arguments);
      init ??= {};
      this.#i = {
        code: (init.code ?? 0) & 0xffff, reason: init.reason === undefined ? "" : toUSVString(init.reason),
        wasClean: !!init.wasClean,
      };
    }
    get code() { return this.#i.code; }
    get reason() { return this.#i.reason; }
    get wasClean() { return this.#i.wasClean; }
  }

  for (const C of [Event, EventTarget, CustomEvent, ErrorEvent, MessageEvent, CloseEvent]) setTag(C);
  return { Event, EventTarget, CustomEvent, ErrorEvent, MessageEvent, CloseEvent, eventState, isEvent, defineEventHandlers };
});
internal.isEvent = (v) => eventsModule.loaded() && eventsModule().isEvent(v);
internal.defineEventHandlers = (proto, ...types) => eventsModule().defineEventHandlers(proto, ...types);
