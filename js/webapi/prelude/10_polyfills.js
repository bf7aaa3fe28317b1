// Language polyfills and small globals. Also defines helpers shared by every
// later prelude file (they all live in one function scope).

const defineGlobal = (name, value) =>
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
const defineMethods = (target, methods) => {
  // (Not Reflect.ownKeys: touching Reflect would make goja build it in every runtime.)
  for (const key of [...Object.getOwnPropertyNames(methods), ...Object.getOwnPropertySymbols(methods)]) {
    if (!Object.prototype.hasOwnProperty.call(target, key)) {
      Object.defineProperty(target, key, { value: methods[key], writable: true, configurable: true });
    }
  }
};
// Web IDL classes carry a non-writable @@toStringTag on their prototype.
const setTag = (ctor, name = ctor.name) =>
  Object.defineProperty(ctor.prototype, Symbol.toStringTag, { value: name, configurable: true });
const illegalConstructor = () => { throw new TypeError("Illegal constructor"); };
const requireArgs = (n, got, what) => {
  if (got < n) throw new TypeError(`Failed to ${what}: ${n} argument${n > 1 ? "s" : ""} required, but only ${got} present.`);
};
// Web IDL dictionary argument: undefined/null -> {}, other non-objects throw.
const dictionary = (v, what) => {
  if (v == null) return {};
  if (!isObject(v)) throw new TypeError(`Failed to ${what}: The provided value is not of type 'object'.`);
  return v;
};
const noop = () => {};
const isObject = (v) => v !== null && (typeof v === "object" || typeof v === "function");

// Captured so that user code patching Promise cannot break the platform.
const NativePromise = Promise;
const promiseThen = Promise.prototype.then;
const promiseResolve = (v) => NativePromise.resolve(v);
const promiseReject = (e) => NativePromise.reject(e);
const resolvedPromise = promiseResolve(undefined);
const then = (p, onOk, onErr) => promiseThen.call(p, onOk, onErr);
// A promise whose rejection must not count as unhandled.
const markHandled = (p) => { promiseThen.call(p, undefined, noop); return p; };
const newDeferred = () => {
  const d = {};
  d.promise = new NativePromise((res, rej) => { d.resolve = res; d.reject = rej; });
  return d;
};

// Reports an exception that has no caller to propagate to (microtasks, event
// listeners). Go installs internal.reportError; without it the error becomes
// an unhandled rejection, which the host's rejection tracker sees.
const reportException = (e) => {
  const hook = internal.reportError;
  if (typeof hook === "function") {
    try { hook(e); return; } catch { /* fall through */ }
  }
  promiseReject(e);
};

// A module whose classes and functions are created on first use: every
// function object costs goja about 1 KB per runtime, and most workers never
// touch most Web APIs. Until the module loads, each of its globals is an
// accessor that loads it and then becomes an ordinary data property (Node.js
// exposes many globals the same way). internal gets the same names as
// getters. load() returns the module's exports.
const lazyModule = (globals, load) => {
  let exports = null;
  const getters = Object.create(null);
  const module = () => {
    if (exports === null) {
      exports = load();
      for (const name of globals) {
        if (Object.getOwnPropertyDescriptor(globalThis, name)?.get === getters[name]) {
          defineGlobal(name, exports[name]);
        }
      }
    }
    return exports;
  };
  module.loaded = () => exports !== null;
  for (const name of globals) {
    const get = (getters[name] = function () { return module()[name]; });
    Object.defineProperty(globalThis, name, { get, set(v) { defineGlobal(name, v); }, configurable: true });
    Object.defineProperty(internal, name, { get, configurable: true });
  }
  return module;
};

// --- Well-known symbols esbuild-lowered code looks up.
for (const name of ["asyncIterator", "dispose", "asyncDispose"]) {
  if (typeof Symbol[name] !== "symbol") {
    Object.defineProperty(Symbol, name, { value: Symbol.for("Symbol." + name) });
  }
}

defineMethods(Promise, {
  withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  },
});

const groupBy = (items, callback, add) => {
  if (items == null) throw new TypeError("groupBy called on null or undefined");
  if (typeof callback !== "function") throw new TypeError("callback is not a function");
  let i = 0;
  for (const value of items) add(callback(value, i++), value);
};
defineMethods(Object, {
  groupBy(items, callback) {
    const out = Object.create(null);
    groupBy(items, callback, (key, value) => {
      key = typeof key === "symbol" ? key : String(key);
      (out[key] ??= []).push(value);
    });
    return out;
  },
});
defineMethods(Map, {
  groupBy(items, callback) {
    const out = new Map();
    groupBy(items, callback, (key, value) => {
      if (key === 0) key = 0; // -0 -> +0
      const list = out.get(key);
      if (list) list.push(value); else out.set(key, [value]);
    });
    return out;
  },
});

defineMethods(Array, {
  async fromAsync(items, mapFn = undefined, thisArg = undefined) {
    if (mapFn !== undefined && typeof mapFn !== "function") throw new TypeError("mapFn is not a function");
    const C = this;
    const isCtor = typeof C === "function" && C.prototype !== undefined;
    const map = async (v, i) => (mapFn ? await mapFn.call(thisArg, v, i) : v);
    if (items == null) throw new TypeError("Array.fromAsync requires an iterable or array-like");
    let method = items[Symbol.asyncIterator], sync = false;
    if (method == null) { method = items[Symbol.iterator]; sync = true; }
    if (method != null) {
      const out = isCtor ? new C() : [];
      const it = method.call(items);
      let i = 0;
      for (;;) {
        let r = it.next();
        r = sync ? r : await r;
        if (!isObject(r)) throw new TypeError("iterator result is not an object");
        if (r.done) { out.length = i; return out; }
        try {
          const v = sync ? await r.value : r.value;
          out[i] = await map(v, i);
        } catch (e) {
          if (typeof it.return === "function") {
            try { const rr = it.return(); if (!sync) await rr; } catch { /* keep e */ }
          }
          throw e;
        }
        i++;
      }
    }
    const src = Object(items);
    const len = Math.min(Math.max(Math.trunc(Number(src.length)) || 0, 0), Number.MAX_SAFE_INTEGER);
    const out = isCtor ? new C(len) : new Array(len);
    for (let i = 0; i < len; i++) out[i] = await map(await src[i], i);
    out.length = len;
    return out;
  },
});

// Index of the first lone surrogate in s at or after i, or -1.
const loneSurrogate = (s, i = 0) => {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
    }
    return i;
  }
  return -1;
};
// Web IDL USVString conversion.
const toUSVString = (v) => {
  const s = String(v);
  let i = loneSurrogate(s);
  if (i < 0) return s;
  let out = "", from = 0;
  for (; i >= 0; i = loneSurrogate(s, i + 1)) { out += s.slice(from, i) + "\uFFFD"; from = i + 1; }
  return out + s.slice(from);
};
const thisString = (v, name) => {
  if (v == null) throw new TypeError(`String.prototype.${name} called on null or undefined`);
  return String(v);
};
defineMethods(String.prototype, {
  isWellFormed() { return loneSurrogate(thisString(this, "isWellFormed")) < 0; },
  toWellFormed() { return toUSVString(thisString(this, "toWellFormed")); },
});

// --- Globals.
defineGlobal("queueMicrotask", function queueMicrotask(callback) {
  if (typeof callback !== "function") {
    throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  }
  then(resolvedPromise, () => {
    try { callback(); } catch (e) { reportException(e); }
  });
});
defineGlobal("reportError", function reportError(error) {
  if (arguments.length === 0) {
    throw new TypeError("Failed to execute 'reportError': 1 argument required, but only 0 present.");
  }
  reportException(error);
});

class Navigator {
  constructor() { illegalConstructor(); }
  get userAgent() { return "Cloudflare-Workers"; }
  get hardwareConcurrency() { return 1; }
}
setTag(Navigator);
defineGlobal("Navigator", Navigator);
defineGlobal("navigator", Object.create(Navigator.prototype));
defineGlobal("self", globalThis);

// --- UTF-8, for Blob, FormData and the encoding streams. The Go installer
// provides TextEncoder/TextDecoder after the prelude runs, so look them up at
// call time; the small fallback codec keeps the prelude usable without them.
let Utf8Fallback = null;
const utf8Fallback = () => (Utf8Fallback ??= class Utf8Fallback {
  #need = 0; #cp = 0; #lo = 0x80; #hi = 0xbf; #bom = true;
  get encoding() { return "utf-8"; }
  get fatal() { return false; }
  get ignoreBOM() { return false; }
  encode(s = "") {
    s = toUSVString(s);
    const out = new Uint8Array(s.length * 3);
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      if (c < 0x80) out[n++] = c;
      else if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); }
      else if (c < 0x10000) { out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
      else { out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
    }
    return out.slice(0, n);
  }
  // The WHATWG UTF-8 decoder state machine; invalid input becomes U+FFFD.
  decode(input = undefined, options = undefined) {
    const bytes = input === undefined ? new Uint8Array(0) : toU8(input);
    const stream = !!options?.stream;
    const cps = [];
    let out = "";
    const emit = (cp) => {
      if (this.#bom) { this.#bom = false; if (cp === 0xfeff) return; }
      cps.push(cp);
      if (cps.length >= 4096) { out += String.fromCodePoint(...cps); cps.length = 0; }
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#need === 0) {
        if (b < 0x80) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) { this.#need = 1; this.#cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.#lo = 0xa0; else if (b === 0xed) this.#hi = 0x9f;
          this.#need = 2; this.#cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.#lo = 0x90; else if (b === 0xf4) this.#hi = 0x8f;
          this.#need = 3; this.#cp = b & 7;
        } else emit(0xfffd);
        continue;
      }
      if (b < this.#lo || b > this.#hi) {
        this.#need = 0; this.#lo = 0x80; this.#hi = 0xbf;
        emit(0xfffd);
        i--; // reprocess this byte
        continue;
      }
      this.#lo = 0x80; this.#hi = 0xbf;
      this.#cp = (this.#cp << 6) | (b & 0x3f);
      if (--this.#need === 0) emit(this.#cp);
    }
    if (!stream) {
      if (this.#need) { this.#need = 0; this.#lo = 0x80; this.#hi = 0xbf; emit(0xfffd); }
      this.#bom = true;
    }
    return out + String.fromCodePoint(...cps);
  }
});
// Uint8Array over the bytes of an ArrayBuffer or view (no copy), or null.
const toU8 = (v) => {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return null;
};
let utf8Enc = null, utf8EncCtor = null;
const utf8Encode = (s) => {
  const TE = typeof globalThis.TextEncoder === "function" ? globalThis.TextEncoder : utf8Fallback();
  if (TE !== utf8EncCtor) { utf8EncCtor = TE; utf8Enc = new TE(); }
  return utf8Enc.encode(s);
};
// A decoder with the TextDecoder interface (decode(bytes, {stream})).
const newTextDecoder = (label = "utf-8", options = undefined) => {
  if (typeof globalThis.TextDecoder === "function") return new globalThis.TextDecoder(label, options);
  if (!/^\s*(unicode-1-1-)?utf-?8\s*$/i.test(String(label)) || options?.fatal || options?.ignoreBOM) {
    throw new TypeError("TextDecoder is not available");
  }
  return new (utf8Fallback())();
};
const utf8Decode = (bytes) => newTextDecoder().decode(bytes);
