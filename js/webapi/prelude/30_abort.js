// AbortController and AbortSignal.

// isAbortSignal without loading the module: no signal exists before it loads.
const isAbortSignalValue = (v) => abortModule.loaded() && abortModule().isAbortSignal(v);

const abortModule = lazyModule(["AbortSignal", "AbortController"], () => {
  const { EventTarget, Event, defineEventHandlers } = eventsModule();
  const kCreateSignal = Symbol("create AbortSignal");
  let abortState, isAbortSignal;

  class AbortSignal extends EventTarget {
    #s = { aborted: false, reason: undefined, algorithms: null, dependent: false, sources: null, dependents: null };

    constructor(key = undefined) {
      if (key !== kCreateSignal) illegalConstructor();
      super();
    }
    static {
      abortState = (s) => s.#s;
      isAbortSignal = (v) => isObject(v) && #s in v;
    }

    get aborted() { return this.#s.aborted; }
    get reason() { return this.#s.reason; }
    throwIfAborted() {
      if (this.#s.aborted) throw this.#s.reason;
    }

    static abort(reason = undefined) {
      const signal = new AbortSignal(kCreateSignal);
      signalAbort(signal, reason);
      return signal;
    }

    static timeout(milliseconds) {
      requireArgs(1, arguments.length, "execute 'timeout' on 'AbortSignal'");
      const ms = Number(milliseconds);
      if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': Value is outside the 'unsigned long long' value range.");
      }
      const setTimeout = globalThis.setTimeout;
      if (typeof setTimeout !== "function") throw new TypeError("AbortSignal.timeout() needs setTimeout, which is not available here");
      const signal = new AbortSignal(kCreateSignal);
      setTimeout(() => signalAbort(signal, new DOMException("The operation was aborted due to timeout", "TimeoutError")), Math.trunc(ms));
      return signal;
    }

    static any(signals) {
      requireArgs(1, arguments.length, "execute 'any' on 'AbortSignal'");
      const list = [];
      for (const s of signals) {
        if (!isAbortSignal(s)) throw new TypeError("Failed to execute 'any' on 'AbortSignal': Failed to convert value to 'AbortSignal'.");
        list.push(s);
      }
      const result = new AbortSignal(kCreateSignal);
      const rs = result.#s;
      for (const s of list) {
        if (s.#s.aborted) {
          rs.aborted = true;
          rs.reason = s.#s.reason;
          return result;
        }
      }
      rs.dependent = true;
      rs.sources = new Set();
      for (const s of list) {
        for (const src of s.#s.dependent ? s.#s.sources : [s]) {
          if (rs.sources.has(src)) continue;
          rs.sources.add(src);
          (src.#s.dependents ??= new Set()).add(result);
        }
      }
      return result;
    }
  }
  defineEventHandlers(AbortSignal.prototype, "abort");

  // Runs algorithm when signal aborts (before the abort event fires). Returns a
  // function that unregisters it.
  const abortSignalAdd = (signal, algorithm) => {
    const s = abortState(signal);
    if (s.aborted) return noop;
    const entry = { algorithm };
    (s.algorithms ??= new Set()).add(entry);
    return () => s.algorithms?.delete(entry);
  };

  const runAbortSteps = (signal) => {
    const s = abortState(signal);
    const algorithms = s.algorithms;
    s.algorithms = null;
    if (algorithms) {
      for (const { algorithm } of algorithms) {
        try { algorithm(); } catch (e) { reportException(e); }
      }
    }
    signal.dispatchEvent(new Event("abort"));
  };

  const signalAbort = (signal, reason = undefined) => {
    const s = abortState(signal);
    if (s.aborted) return;
    s.aborted = true;
    s.reason = reason !== undefined ? reason : new DOMException("This operation was aborted", "AbortError");
    const toAbort = [];
    for (const dep of s.dependents ?? []) {
      const ds = abortState(dep);
      if (ds.aborted) continue;
      ds.aborted = true;
      ds.reason = s.reason;
      toAbort.push(dep);
    }
    s.dependents = null;
    runAbortSteps(signal);
    for (const dep of toAbort) {
      // An aborted dependent no longer needs its sources to keep it alive.
      const ds = abortState(dep);
      for (const src of ds.sources) abortState(src).dependents?.delete(dep);
      ds.sources = null;
      runAbortSteps(dep);
    }
  };

  class AbortController {
    #signal = new AbortSignal(kCreateSignal);
    get signal() { return this.#signal; }
    abort(reason = undefined) { signalAbort(this.#signal, reason); }
  }

  setTag(AbortSignal);
  setTag(AbortController);
  const newAbortSignal = () => new AbortSignal(kCreateSignal);
  return { AbortSignal, AbortController, isAbortSignal, newAbortSignal, signalAbort, abortSignalAdd };
});
internal.isAbortSignal = isAbortSignalValue;
internal.newAbortSignal = () => abortModule().newAbortSignal();
internal.signalAbort = (signal, reason) => abortModule().signalAbort(signal, reason);
internal.abortSignalAdd = (signal, algorithm) => abortModule().abortSignalAdd(signal, algorithm);
