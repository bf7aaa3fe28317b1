// The body of the streams module of 40_streams.js. It is the largest part
// of the prelude, and most Workers never touch a stream, so it is compiled
// on first use (once per process) rather than at start-up: see
// loadLazyModule in prelude.go. `outer` carries the prelude helpers it uses.

  const {
    NativePromise, abortModule, defineMethods, dictionary, illegalConstructor,
    isAbortSignalValue, isObject, markHandled, newDeferred, newTextDecoder, noop,
    promiseReject, promiseResolve, requireArgs, resolvedPromise, setTag, then, toU8,
    utf8Encode,
  } = outer;

  const kInternal = Symbol("internal");
  const kCloseSentinel = {};

  // Calls fn.call(thisArg, arg) and returns a promise, turning throws into rejections.
  const promiseCall = (fn, thisArg, ...args) => {
    try { return promiseResolve(fn.apply(thisArg, args)); } catch (e) { return promiseReject(e); }
  };
  const getMethod = (dict, name, what) => {
    const fn = dict[name];
    if (fn === undefined) return undefined;
    if (typeof fn !== "function") throw new TypeError(`${what}: '${name}' is not a function`);
    return fn;
  };
  const extractHighWaterMark = (strategy, defaultHWM) => {
    if (strategy.highWaterMark === undefined) return defaultHWM;
    const hwm = Number(strategy.highWaterMark);
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError("Invalid highWaterMark");
    return hwm;
  };
  const extractSizeAlgorithm = (strategy) => {
    const size = strategy.size;
    if (size === undefined) return null;
    if (typeof size !== "function") throw new TypeError("The strategy's size must be a function");
    return (chunk) => size.call(undefined, chunk);
  };
  const chunkSize = (sizeFn, chunk) => {
    const size = sizeFn ? Number(sizeFn(chunk)) : 1;
    if (Number.isNaN(size) || size < 0 || size === Infinity) {
      throw new RangeError("The return value of a queuing strategy's size function must be a finite, non-NaN, non-negative number");
    }
    return size;
  };
  const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const viewConstructor = (view) => (view instanceof DataView ? DataView : TYPED_ARRAYS.find((C) => view instanceof C));

  // ---------------------------------------------------------------------------
  // ReadableStream

  let rsOf, isReadableStream;
  class ReadableStream {
    #r;
    constructor(source = undefined, strategy = undefined) {
      const rs = (this.#r = { state: "readable", reader: null, error: undefined, disturbed: false, c: null, obj: this });
      if (source === kInternal) { strategy(rs); return; }
      if (source === null) throw new TypeError("Failed to construct 'ReadableStream': underlyingSource must be an object");
      const src = source === undefined ? {} : dictionary(source, "construct 'ReadableStream'");
      strategy = dictionary(strategy, "construct 'ReadableStream'");
      const what = "Failed to construct 'ReadableStream'";
      const start = getMethod(src, "start", what), pull = getMethod(src, "pull", what), cancel = getMethod(src, "cancel", what);
      const startAlgo = start && ((c) => start.call(src, c.obj));
      const pullAlgo = pull && ((c) => promiseCall(pull, src, c.obj));
      const cancelAlgo = cancel && ((reason) => promiseCall(cancel, src, reason));
      const type = src.type === undefined ? undefined : String(src.type);
      if (type === "bytes") {
        if (strategy.size !== undefined) throw new RangeError("The strategy for a byte stream cannot have a size function");
        let auto = src.autoAllocateChunkSize;
        if (auto !== undefined) {
          auto = Number(auto);
          if (!(auto > 0) || !Number.isFinite(auto)) throw new TypeError(`${what}: autoAllocateChunkSize must be greater than 0`);
          auto = Math.trunc(auto);
        }
        setupReadableController(rs, true, startAlgo, pullAlgo, cancelAlgo, extractHighWaterMark(strategy, 0), null, auto);
      } else if (type !== undefined) {
        throw new TypeError(`${what}: The provided value '${type}' is not a valid enum value of type ReadableStreamType.`);
      } else {
        const size = extractSizeAlgorithm(strategy);
        setupReadableController(rs, false, startAlgo, pullAlgo, cancelAlgo, extractHighWaterMark(strategy, 1), size);
      }
    }
    static {
      rsOf = (o) => o.#r;
      isReadableStream = (v) => isObject(v) && #r in v;
    }

    get locked() { return this.#r.reader !== null; }

    cancel(reason = undefined) {
      const rs = this.#r;
      if (rs.reader) return promiseReject(new TypeError("Cannot cancel a locked ReadableStream"));
      return rsCancel(rs, reason);
    }

    getReader(options = undefined) {
      const mode = dictionary(options, "execute 'getReader' on 'ReadableStream'").mode;
      if (mode === undefined) return new ReadableStreamDefaultReader(this);
      if (String(mode) === "byob") return new ReadableStreamBYOBReader(this);
      throw new TypeError(`Failed to execute 'getReader' on 'ReadableStream': The provided value '${mode}' is not a valid enum value of type ReadableStreamReaderMode.`);
    }

    pipeThrough(transform, options = undefined) {
      const readable = transform?.readable, writable = transform?.writable;
      if (!isReadableStream(readable)) throw new TypeError("pipeThrough: transform.readable must be a ReadableStream");
      if (!isWritableStream(writable)) throw new TypeError("pipeThrough: transform.writable must be a WritableStream");
      const opts = pipeOptions(options);
      if (this.#r.reader) throw new TypeError("Cannot pipe a locked ReadableStream");
      if (wsOf(writable).writer) throw new TypeError("Cannot pipe to a locked WritableStream");
      markHandled(pipe(this.#r, wsOf(writable), opts));
      return readable;
    }

    pipeTo(destination, options = undefined) {
      try {
        if (!isWritableStream(destination)) throw new TypeError("pipeTo: destination must be a WritableStream");
        const opts = pipeOptions(options);
        if (this.#r.reader) throw new TypeError("Cannot pipe a locked ReadableStream");
        if (wsOf(destination).writer) throw new TypeError("Cannot pipe to a locked WritableStream");
        return pipe(this.#r, wsOf(destination), opts);
      } catch (e) {
        return promiseReject(e);
      }
    }

    tee() {
      return rsTee(this.#r);
    }

    values(options = undefined) {
      const preventCancel = !!dictionary(options, "execute 'values' on 'ReadableStream'").preventCancel;
      return new ReadableStreamAsyncIterator(kInternal, newReader(this.#r, false), preventCancel);
    }

    static from(asyncIterable) {
      let iterator, sync = false;
      const asyncMethod = asyncIterable == null ? undefined : asyncIterable[Symbol.asyncIterator];
      if (asyncMethod != null) {
        if (typeof asyncMethod !== "function") throw new TypeError("ReadableStream.from: @@asyncIterator is not a function");
        iterator = asyncMethod.call(asyncIterable);
      } else {
        const syncMethod = asyncIterable == null ? undefined : asyncIterable[Symbol.iterator];
        if (typeof syncMethod !== "function") throw new TypeError("ReadableStream.from: argument is not iterable");
        iterator = syncMethod.call(asyncIterable);
        sync = true;
      }
      if (!isObject(iterator)) throw new TypeError("ReadableStream.from: iterator is not an object");
      const next = iterator.next;
      const pull = (c) => then(promiseCall(next, iterator), (res) => {
        if (!isObject(res)) throw new TypeError("iterator result is not an object");
        if (res.done) { rcCloseInternal(c); return; }
        const enqueue = (v) => { if (rcCanCloseOrEnqueue(c)) rcEnqueue(c, v); };
        if (!sync) return enqueue(res.value);
        return then(promiseResolve(res.value), enqueue);
      });
      const cancel = (reason) => {
        const ret = iterator.return;
        if (ret == null) return resolvedPromise;
        return then(promiseCall(ret, iterator, reason), (res) => {
          if (!isObject(res)) throw new TypeError("iterator.return() result is not an object");
        });
      };
      return createReadable(undefined, pull, cancel, 0);
    }
  }

  // Creates a ReadableStream from internal algorithms: start(c), pull(c) -> promise,
  // cancel(reason) -> promise, where c is the controller record.
  const createReadable = (start, pull, cancel, hwm = 1, size = null, byte = false, auto = undefined) =>
    new ReadableStream(kInternal, (rs) => setupReadableController(rs, byte, start, pull, cancel, hwm, size, auto));

  const setupReadableController = (rs, byte, start, pull, cancel, hwm, size, auto) => {
    const c = {
      stream: rs, byte, queue: [], queueTotal: 0, started: false, closeRequested: false,
      pulling: false, pullAgain: false, hwm, size, pull, cancel, auto,
      pending: byte ? [] : null, byobRequest: null, obj: null,
    };
    c.obj = byte ? new ReadableByteStreamController(kInternal, c) : new ReadableStreamDefaultController(kInternal, c);
    rs.c = c;
    const result = start ? start(c) : undefined;
    then(promiseResolve(result), () => { c.started = true; rcCallPullIfNeeded(c); }, (e) => rcError(c, e));
  };

  const rsClose = (rs) => {
    rs.state = "closed";
    const r = rs.reader;
    if (!r) return;
    r.closed.resolve();
    if (!r.byob) {
      const requests = r.requests;
      r.requests = [];
      for (const req of requests) req.close();
    }
  };

  const rsError = (rs, e) => {
    rs.state = "errored";
    rs.error = e;
    const r = rs.reader;
    if (!r) return;
    r.closed.reject(e);
    markHandled(r.closed.promise);
    const requests = r.requests;
    r.requests = [];
    for (const req of requests) req.error(e);
  };

  const rsCancel = (rs, reason) => {
    rs.disturbed = true;
    if (rs.state === "closed") return resolvedPromise;
    if (rs.state === "errored") return promiseReject(rs.error);
    rsClose(rs);
    const r = rs.reader;
    if (r?.byob) {
      const requests = r.requests;
      r.requests = [];
      for (const req of requests) req.close(undefined);
    }
    const c = rs.c;
    rcResetQueue(c);
    const cancel = c.cancel;
    rcClearAlgorithms(c);
    return then(cancel ? cancel(reason) : resolvedPromise, noop);
  };

  // --- controllers (default and byte share one record shape)

  const rcResetQueue = (c) => {
    c.queue = [];
    c.queueTotal = 0;
    if (c.byte) { rbcInvalidateRequest(c); c.pending = []; }
  };
  const rcClearAlgorithms = (c) => { c.pull = c.cancel = c.size = null; };
  const rcCanCloseOrEnqueue = (c) => !c.closeRequested && c.stream.state === "readable";
  const rcDesiredSize = (c) => {
    const state = c.stream.state;
    return state === "errored" ? null : state === "closed" ? 0 : c.hwm - c.queueTotal;
  };
  const rcShouldPull = (c) => {
    if (!c.started || !rcCanCloseOrEnqueue(c)) return false;
    if (c.stream.reader?.requests.length > 0) return true;
    return rcDesiredSize(c) > 0;
  };
  const rcCallPullIfNeeded = (c) => {
    if (!rcShouldPull(c)) return;
    if (c.pulling) { c.pullAgain = true; return; }
    c.pulling = true;
    then(c.pull ? c.pull(c) : resolvedPromise, () => {
      c.pulling = false;
      if (c.pullAgain) { c.pullAgain = false; rcCallPullIfNeeded(c); }
    }, (e) => rcError(c, e));
  };
  const rcError = (c, e) => {
    if (c.stream.state !== "readable") return;
    rcResetQueue(c);
    rcClearAlgorithms(c);
    rsError(c.stream, e);
  };
  // Callers check rcCanCloseOrEnqueue first.
  const rcClose = (c) => {
    if (c.byte && c.queueTotal === 0) {
      const first = c.pending[0];
      if (first && first.filled % first.elementSize !== 0) {
        const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
        rcError(c, e);
        throw e;
      }
    }
    c.closeRequested = true;
    if (c.queue.length === 0) { rcClearAlgorithms(c); rsClose(c.stream); }
  };
  // Close from platform code: also completes pending BYOB reads, which a byte
  // source would otherwise have to do with byobRequest.respond(0).
  const rcCloseInternal = (c) => {
    if (!rcCanCloseOrEnqueue(c)) return;
    rcClose(c);
    if (c.byte && c.stream.state === "closed" && c.pending.length) rbcRespondInternal(c, 0);
  };
  const rcFulfillRead = (rs, chunk, done) => {
    const req = rs.reader.requests.shift();
    if (done) req.close(); else req.chunk(chunk);
  };
  const rcEnqueue = (c, chunk) => {
    if (c.byte) return rbcEnqueue(c, chunk);
    const rs = c.stream;
    if (rs.reader?.requests.length > 0) {
      rcFulfillRead(rs, chunk, false);
    } else {
      let size;
      try { size = chunkSize(c.size, chunk); } catch (e) { rcError(c, e); throw e; }
      c.queue.push({ value: chunk, size });
      c.queueTotal += size;
    }
    rcCallPullIfNeeded(c);
  };
  const rcHandleDrain = (c) => {
    if (c.queue.length === 0 && c.closeRequested) { rcClearAlgorithms(c); rsClose(c.stream); }
    else rcCallPullIfNeeded(c);
  };
  // A read request from a default reader.
  const rcPullSteps = (c, req) => {
    const rs = c.stream;
    if (c.byte) {
      if (c.queueTotal > 0) {
        const chunk = c.queue.shift();
        c.queueTotal -= chunk.byteLength;
        rcHandleDrain(c);
        req.chunk(chunk);
        return;
      }
      if (c.auto) {
        c.pending.push({ buffer: new ArrayBuffer(c.auto), byteOffset: 0, byteLength: c.auto, filled: 0,
          min: 1, elementSize: 1, ctor: Uint8Array, kind: "default" });
      }
      rs.reader.requests.push(req);
      rcCallPullIfNeeded(c);
      return;
    }
    if (c.queue.length) {
      const { value, size } = c.queue.shift();
      c.queueTotal = c.queue.length ? c.queueTotal - size : 0;
      rcHandleDrain(c);
      req.chunk(value);
    } else {
      rs.reader.requests.push(req);
      rcCallPullIfNeeded(c);
    }
  };

  // --- byte stream parts. Chunks are kept as Uint8Array views (not copied; the
  // spec transfers the buffer, so the producer may not reuse it anyway).

  const rbcInvalidateRequest = (c) => {
    if (c.byobRequest) { byobRequestInvalidate(c.byobRequest); c.byobRequest = null; }
  };
  const rbcEnqueueCopy = (c, buffer, offset, length) => {
    c.queue.push(new Uint8Array(buffer, offset, length).slice());
    c.queueTotal += length;
  };
  const rbcEnqueue = (c, chunk) => {
    const rs = c.stream;
    const view = toU8(chunk);
    rbcInvalidateRequest(c);
    const first = c.pending[0];
    if (first?.kind === "none") {
      c.pending.shift();
      if (first.filled > 0) rbcEnqueueCopy(c, first.buffer, first.byteOffset, first.filled);
    }
    const r = rs.reader;
    if (r && !r.byob) {
      while (c.queueTotal > 0 && r.requests.length > 0) {
        const head = c.queue.shift();
        c.queueTotal -= head.byteLength;
        rcFulfillRead(rs, head, false);
      }
      if (r.requests.length === 0) {
        c.queue.push(view);
        c.queueTotal += view.byteLength;
      } else {
        if (c.pending.length) c.pending.shift(); // an auto-allocated buffer the source did not use
        rcFulfillRead(rs, view, false);
      }
    } else {
      c.queue.push(view);
      c.queueTotal += view.byteLength;
      if (r) rbcProcessPending(c);
    }
    rcCallPullIfNeeded(c);
  };
  // Moves queued bytes into the descriptor; true once it holds its minimum.
  const rbcFill = (c, d) => {
    const maxCopy = Math.min(c.queueTotal, d.byteLength - d.filled);
    const maxFilled = d.filled + maxCopy;
    const aligned = maxFilled - (maxFilled % d.elementSize);
    let remaining = maxCopy, ready = false;
    if (aligned >= d.min) { remaining = aligned - d.filled; ready = true; }
    const dest = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    while (remaining > 0) {
      const head = c.queue[0];
      const n = Math.min(remaining, head.byteLength);
      if (n === head.byteLength) { dest.set(head, d.filled); c.queue.shift(); }
      else { dest.set(head.subarray(0, n), d.filled); c.queue[0] = head.subarray(n); }
      c.queueTotal -= n;
      d.filled += n;
      remaining -= n;
    }
    return ready;
  };
  const rbcView = (d) => new d.ctor(d.buffer, d.byteOffset, d.filled / d.elementSize);
  const rbcCommit = (c, d) => {
    if (d.kind === "none") return;
    const rs = c.stream;
    const done = rs.state === "closed";
    const req = rs.reader?.requests.shift();
    if (!req) return;
    const view = rbcView(d);
    if (d.kind === "default") { if (done) req.close(); else req.chunk(view); }
    else if (done) req.close(view);
    else req.chunk(view);
  };
  const rbcProcessPending = (c) => {
    while (c.pending.length && c.queueTotal > 0) {
      const d = c.pending[0];
      if (!rbcFill(c, d)) break;
      c.pending.shift();
      rbcCommit(c, d);
    }
  };
  const rbcPullInto = (c, view, min, req) => {
    const rs = c.stream;
    const elementSize = view.BYTES_PER_ELEMENT ?? 1;
    const d = { buffer: view.buffer, byteOffset: view.byteOffset, byteLength: view.byteLength, filled: 0,
      min: min * elementSize, elementSize, ctor: viewConstructor(view), kind: "byob" };
    if (c.pending.length > 0) { c.pending.push(d); rs.reader.requests.push(req); return; }
    if (rs.state === "closed") { req.close(new d.ctor(d.buffer, d.byteOffset, 0)); return; }
    if (c.queueTotal > 0) {
      if (rbcFill(c, d)) { const v = rbcView(d); rcHandleDrain(c); req.chunk(v); return; }
      if (c.closeRequested) {
        const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
        rcError(c, e);
        req.error(e);
        return;
      }
    }
    c.pending.push(d);
    rs.reader.requests.push(req);
    rcCallPullIfNeeded(c);
  };
  const rbcRespondInternal = (c, bytesWritten) => {
    rbcInvalidateRequest(c);
    if (c.stream.state === "closed") {
      for (const d of c.pending.splice(0)) rbcCommit(c, d);
    } else {
      const d = c.pending[0];
      d.filled += bytesWritten;
      if (d.kind === "none") {
        c.pending.shift();
        if (d.filled > 0) rbcEnqueueCopy(c, d.buffer, d.byteOffset, d.filled);
        rbcProcessPending(c);
      } else if (d.filled >= d.min) {
        c.pending.shift();
        const rem = d.filled % d.elementSize;
        if (rem > 0) { rbcEnqueueCopy(c, d.buffer, d.byteOffset + d.filled - rem, rem); d.filled -= rem; }
        rbcCommit(c, d);
        rbcProcessPending(c);
      }
    }
    rcCallPullIfNeeded(c);
  };
  const rbcRespond = (c, bytesWritten) => {
    const d = c.pending[0];
    if (c.stream.state === "closed") {
      if (bytesWritten !== 0) throw new TypeError("bytesWritten must be 0 when calling respond() on a closed stream");
    } else {
      if (bytesWritten === 0) throw new TypeError("bytesWritten must be greater than 0 when calling respond() on a readable stream");
      if (d.filled + bytesWritten > d.byteLength) throw new RangeError("bytesWritten out of range");
    }
    rbcRespondInternal(c, bytesWritten);
  };

  let ctrlOf;
  const checkController = (c, what) => {
    if (c.closeRequested) throw new TypeError(`Failed to execute '${what}': The stream is closing or closed.`);
    if (c.stream.state !== "readable") throw new TypeError(`Failed to execute '${what}': The stream is not in a readable state.`);
  };
  class ReadableStreamDefaultController {
    #c;
    constructor(key = undefined, c = undefined) {
      if (key !== kInternal) illegalConstructor();
      this.#c = c;
    }
    static { ctrlOf = (o) => o.#c; }
    get desiredSize() { return rcDesiredSize(this.#c); }
    close() { checkController(this.#c, "close"); rcClose(this.#c); }
    enqueue(chunk = undefined) { checkController(this.#c, "enqueue"); rcEnqueue(this.#c, chunk); }
    error(e = undefined) { rcError(this.#c, e); }
  }

  class ReadableByteStreamController {
    #c;
    constructor(key = undefined, c = undefined) {
      if (key !== kInternal) illegalConstructor();
      this.#c = c;
    }
    get byobRequest() {
      const c = this.#c;
      if (!c.byobRequest && c.pending.length) {
        const d = c.pending[0];
        const view = new Uint8Array(d.buffer, d.byteOffset + d.filled, d.byteLength - d.filled);
        c.byobRequest = new ReadableStreamBYOBRequest(kInternal, c, view);
      }
      return c.byobRequest;
    }
    get desiredSize() { return rcDesiredSize(this.#c); }
    close() { checkController(this.#c, "close"); rcClose(this.#c); }
    enqueue(chunk) {
      if (!ArrayBuffer.isView(chunk)) throw new TypeError("Failed to execute 'enqueue': chunk must be an ArrayBufferView");
      if (chunk.byteLength === 0) throw new TypeError("Failed to execute 'enqueue': chunk must have non-zero byteLength");
      checkController(this.#c, "enqueue");
      rbcEnqueue(this.#c, chunk);
    }
    error(e = undefined) { rcError(this.#c, e); }
  }

  let byobRequestInvalidate;
  class ReadableStreamBYOBRequest {
    #c; #view;
    constructor(key = undefined, c = undefined, view = undefined) {
      if (key !== kInternal) illegalConstructor();
      this.#c = c;
      this.#view = view;
    }
    static { byobRequestInvalidate = (o) => { o.#c = null; o.#view = null; }; }
    get view() { return this.#view; }
    respond(bytesWritten) {
      if (!this.#c) throw new TypeError("This BYOB request has been invalidated");
      const n = Number(bytesWritten);
      if (!Number.isInteger(n) || n < 0) throw new TypeError("bytesWritten must be a non-negative integer");
      rbcRespond(this.#c, n);
    }
    respondWithNewView(view) {
      const c = this.#c;
      if (!c) throw new TypeError("This BYOB request has been invalidated");
      if (!ArrayBuffer.isView(view)) throw new TypeError("view must be an ArrayBufferView");
      const d = c.pending[0];
      if (c.stream.state === "closed" ? view.byteLength !== 0 : view.byteLength === 0) {
        throw new TypeError("The view's length is invalid for the stream's state");
      }
      if (d.byteOffset + d.filled !== view.byteOffset) throw new RangeError("The region specified by view does not match byobRequest");
      if (d.filled + view.byteLength > d.byteLength) throw new RangeError("The region specified by view is larger than byobRequest");
      d.buffer = view.buffer;
      rbcRespondInternal(c, view.byteLength);
    }
  }

  // --- readers

  const newReader = (rs, byob) => {
    if (rs.reader) throw new TypeError("ReadableStream is locked");
    if (byob && !rs.c.byte) throw new TypeError("Cannot use a BYOB reader with a non-byte stream");
    const r = { stream: rs, byob, requests: [], closed: newDeferred(), obj: null };
    rs.reader = r;
    if (rs.state === "closed") r.closed.resolve();
    else if (rs.state === "errored") { r.closed.reject(rs.error); markHandled(r.closed.promise); }
    return r;
  };
  const readerRead = (r, req) => {
    const rs = r.stream;
    rs.disturbed = true;
    if (rs.state === "closed") req.close();
    else if (rs.state === "errored") req.error(rs.error);
    else rcPullSteps(rs.c, req);
  };
  const readerReadPromise = (r) => {
    const d = newDeferred();
    readerRead(r, {
      chunk: (value) => d.resolve({ value, done: false }),
      close: () => d.resolve({ value: undefined, done: true }),
      error: d.reject,
    });
    return d.promise;
  };
  const releaseReader = (r) => {
    const rs = r.stream;
    if (!rs) return;
    const e = new TypeError("Reader was released");
    if (rs.state === "readable") r.closed.reject(e);
    else { r.closed = newDeferred(); r.closed.reject(e); }
    markHandled(r.closed.promise);
    const c = rs.c;
    if (c.byte && c.pending.length) {
      const first = c.pending[0];
      first.kind = "none";
      c.pending = [first];
    }
    rs.reader = null;
    r.stream = null;
    const requests = r.requests;
    r.requests = [];
    for (const req of requests) req.error(e);
  };
  const releasedError = () => promiseReject(new TypeError("This reader has been released"));

  let readerOf;
  class ReadableStreamDefaultReader {
    #r;
    constructor(stream) {
      if (!isReadableStream(stream)) throw new TypeError("Failed to construct 'ReadableStreamDefaultReader': parameter 1 is not of type 'ReadableStream'.");
      this.#r = newReader(rsOf(stream), false);
      this.#r.obj = this;
    }
    static { readerOf = (o) => o.#r; }
    get closed() { return this.#r.closed.promise; }
    read() {
      const r = this.#r;
      if (!r.stream) return releasedError();
      return readerReadPromise(r);
    }
    releaseLock() { releaseReader(this.#r); }
    cancel(reason = undefined) {
      const r = this.#r;
      if (!r.stream) return releasedError();
      return rsCancel(r.stream, reason);
    }
  }

  class ReadableStreamBYOBReader {
    #r;
    constructor(stream) {
      if (!isReadableStream(stream)) throw new TypeError("Failed to construct 'ReadableStreamBYOBReader': parameter 1 is not of type 'ReadableStream'.");
      this.#r = newReader(rsOf(stream), true);
      this.#r.obj = this;
    }
    get closed() { return this.#r.closed.promise; }
    read(view, options = undefined) {
      try {
        if (!ArrayBuffer.isView(view)) throw new TypeError("Failed to execute 'read': view must be an ArrayBufferView");
        if (view.byteLength === 0) throw new TypeError("Failed to execute 'read': view must have non-zero byteLength");
        if (view.buffer.byteLength === 0) throw new TypeError("Failed to execute 'read': view's buffer has been detached");
        const min = Number(dictionary(options, "execute 'read'").min ?? 1);
        if (!Number.isInteger(min) || min < 1) throw new TypeError("Failed to execute 'read': options.min must be a positive integer");
        const elements = view instanceof DataView ? view.byteLength : view.length;
        if (min > elements) throw new RangeError("Failed to execute 'read': options.min is larger than the view");
        const r = this.#r;
        if (!r.stream) throw new TypeError("This reader has been released");
        const d = newDeferred();
        const rs = r.stream;
        rs.disturbed = true;
        const req = {
          chunk: (value) => d.resolve({ value, done: false }),
          close: (value) => d.resolve({ value, done: true }),
          error: d.reject,
        };
        if (rs.state === "errored") req.error(rs.error);
        else rbcPullInto(rs.c, view, min, req);
        return d.promise;
      } catch (e) {
        return promiseReject(e);
      }
    }
    // workerd extension: read at least minBytes bytes into view.
    readAtLeast(minBytes, view) {
      const size = view?.BYTES_PER_ELEMENT ?? 1;
      return this.read(view, { min: Math.ceil(Number(minBytes) / size) });
    }
    releaseLock() { releaseReader(this.#r); }
    cancel(reason = undefined) {
      const r = this.#r;
      if (!r.stream) return releasedError();
      return rsCancel(r.stream, reason);
    }
  }

  // --- async iteration (no async generators in goja: a plain iterator object)

  const AsyncIteratorPrototype = Object.create(Object.prototype);
  defineMethods(AsyncIteratorPrototype, { [Symbol.asyncIterator]() { return this; } });

  class ReadableStreamAsyncIterator {
    #s;
    constructor(key, reader, preventCancel) {
      if (key !== kInternal) illegalConstructor();
      this.#s = { reader, preventCancel, finished: false, ongoing: null };
    }
    next() {
      const s = this.#s;
      const nextSteps = () => {
        if (s.finished) return promiseResolve({ value: undefined, done: true });
        const r = s.reader;
        if (!r.stream) return promiseReject(new TypeError("The iterator's reader has been released"));
        const d = newDeferred();
        readerRead(r, {
          chunk: (value) => d.resolve({ value, done: false }),
          close: () => { releaseReader(r); d.resolve({ value: undefined, done: true }); },
          error: (e) => { releaseReader(r); d.reject(e); },
        });
        return then(d.promise, (res) => {
          s.ongoing = null;
          if (res.done) s.finished = true;
          return res;
        }, (e) => { s.ongoing = null; s.finished = true; throw e; });
      };
      s.ongoing = s.ongoing ? then(s.ongoing, nextSteps, nextSteps) : nextSteps();
      return s.ongoing;
    }
    return(value = undefined) {
      const s = this.#s;
      const returnSteps = () => {
        if (s.finished) return promiseResolve({ value, done: true });
        s.finished = true;
        const r = s.reader;
        if (!r.stream) return promiseReject(new TypeError("The iterator's reader has been released"));
        let result = resolvedPromise;
        if (!s.preventCancel) result = rsCancel(r.stream, value);
        releaseReader(r);
        return then(result, () => ({ value, done: true }));
      };
      return s.ongoing ? then(s.ongoing, returnSteps, returnSteps) : returnSteps();
    }
  }
  Object.setPrototypeOf(ReadableStreamAsyncIterator.prototype, AsyncIteratorPrototype);
  Object.defineProperty(ReadableStream.prototype, Symbol.asyncIterator, {
    value: ReadableStream.prototype.values, writable: true, configurable: true,
  });

  // --- tee

  const rsTee = (rs) => {
    const reader = newReader(rs, false);
    const byte = rs.c.byte;
    let reading = false, readAgain = false, canceled1 = false, canceled2 = false, reason1, reason2;
    let c1, c2;
    const cancelDone = newDeferred();
    const pull = () => {
      if (reading) { readAgain = true; return resolvedPromise; }
      reading = true;
      readerRead(reader, {
        chunk: (chunk) => {
          // Deliver in a microtask so that a synchronous close/error after
          // this chunk is seen after it, as the spec requires.
          then(resolvedPromise, () => {
            readAgain = false;
            if (!canceled1 && rcCanCloseOrEnqueue(c1)) rcEnqueue(c1, chunk);
            if (!canceled2 && rcCanCloseOrEnqueue(c2)) rcEnqueue(c2, byte && !canceled1 ? chunk.slice() : chunk);
            reading = false;
            if (readAgain) pull();
          });
        },
        close: () => {
          reading = false;
          if (!canceled1) rcCloseInternal(c1);
          if (!canceled2) rcCloseInternal(c2);
          if (!canceled1 || !canceled2) cancelDone.resolve(undefined);
        },
        error: () => { reading = false; },
      });
      return resolvedPromise;
    };
    const cancelBranch = (first) => (reason) => {
      if (first) { canceled1 = true; reason1 = reason; } else { canceled2 = true; reason2 = reason; }
      if (canceled1 && canceled2) cancelDone.resolve(rsCancel(rs, [reason1, reason2]));
      return cancelDone.promise;
    };
    const hwm = byte ? 0 : 1;
    const b1 = createReadable((c) => { c1 = c; }, pull, cancelBranch(true), hwm, null, byte);
    const b2 = createReadable((c) => { c2 = c; }, pull, cancelBranch(false), hwm, null, byte);
    then(reader.closed.promise, undefined, (e) => {
      rcError(c1, e);
      rcError(c2, e);
      if (!canceled1 || !canceled2) cancelDone.resolve(undefined);
    });
    return [b1, b2];
  };

  // ---------------------------------------------------------------------------
  // WritableStream

  let wsOf, isWritableStream;
  class WritableStream {
    #w;
    constructor(sink = undefined, strategy = undefined) {
      const ws = (this.#w = {
        state: "writable", error: undefined, writer: null, c: null, writeRequests: [],
        inFlightWrite: null, closeRequest: null, inFlightClose: null, pendingAbort: null,
        backpressure: false, obj: this,
      });
      if (sink === kInternal) { strategy(ws); return; }
      if (sink === null) throw new TypeError("Failed to construct 'WritableStream': underlyingSink must be an object");
      const s = sink === undefined ? {} : dictionary(sink, "construct 'WritableStream'");
      strategy = dictionary(strategy, "construct 'WritableStream'");
      if (s.type !== undefined) throw new RangeError("Failed to construct 'WritableStream': Invalid type is specified");
      const what = "Failed to construct 'WritableStream'";
      const start = getMethod(s, "start", what), write = getMethod(s, "write", what);
      const close = getMethod(s, "close", what), abort = getMethod(s, "abort", what);
      const size = extractSizeAlgorithm(strategy);
      setupWritableController(ws,
        start && ((c) => start.call(s, c.obj)),
        write && ((chunk, c) => promiseCall(write, s, chunk, c.obj)),
        close && (() => promiseCall(close, s)),
        abort && ((reason) => promiseCall(abort, s, reason)),
        extractHighWaterMark(strategy, 1), size);
    }
    static {
      wsOf = (o) => o.#w;
      isWritableStream = (v) => isObject(v) && #w in v;
    }
    get locked() { return this.#w.writer !== null; }
    abort(reason = undefined) {
      if (this.#w.writer) return promiseReject(new TypeError("Cannot abort a locked WritableStream"));
      return wsAbort(this.#w, reason);
    }
    close() {
      const ws = this.#w;
      if (ws.writer) return promiseReject(new TypeError("Cannot close a locked WritableStream"));
      if (wsCloseQueuedOrInFlight(ws)) return promiseReject(new TypeError("The stream is already closing"));
      return wsClose(ws);
    }
    getWriter() { return new WritableStreamDefaultWriter(this); }
  }

  const createWritable = (start, write, close, abort, hwm = 1, size = null) =>
    new WritableStream(kInternal, (ws) => setupWritableController(ws, start, write, close, abort, hwm, size));

  const setupWritableController = (ws, start, write, close, abort, hwm, size) => {
    const c = {
      stream: ws, queue: [], queueTotal: 0, started: false, hwm, size,
      write, close, abort, signal: null, abortReason: undefined, aborted: false, obj: null,
    };
    c.obj = new WritableStreamDefaultController(kInternal, c);
    ws.c = c;
    wsUpdateBackpressure(ws, wcDesiredSize(c) <= 0);
    const result = start ? start(c) : undefined;
    then(promiseResolve(result), () => { c.started = true; wcAdvanceQueue(c); },
      (e) => { c.started = true; wsDealWithRejection(ws, e); });
  };

  const wsCloseQueuedOrInFlight = (ws) => ws.closeRequest !== null || ws.inFlightClose !== null;
  const wsAbort = (ws, reason) => {
    if (ws.state === "closed" || ws.state === "errored") return resolvedPromise;
    const c = ws.c;
    if (c.signal) abortModule().signalAbort(c.signal, reason);
    else if (!c.aborted) { c.aborted = true; c.abortReason = reason; }
    if (ws.state === "closed" || ws.state === "errored") return resolvedPromise;
    if (ws.pendingAbort) return ws.pendingAbort.d.promise;
    const wasAlreadyErroring = ws.state === "erroring";
    if (wasAlreadyErroring) reason = undefined;
    const d = newDeferred();
    ws.pendingAbort = { d, reason, wasAlreadyErroring };
    if (!wasAlreadyErroring) wsStartErroring(ws, reason);
    return d.promise;
  };
  const wsClose = (ws) => {
    if (ws.state === "closed" || ws.state === "errored") {
      return promiseReject(new TypeError("The stream is not in the writable state and cannot be closed"));
    }
    const d = newDeferred();
    ws.closeRequest = d;
    if (ws.writer && ws.backpressure && ws.state === "writable") writerResolveReady(ws.writer);
    const c = ws.c;
    c.queue.push({ value: kCloseSentinel, size: 0 });
    wcAdvanceQueue(c);
    return d.promise;
  };
  const wsDealWithRejection = (ws, e) => {
    if (ws.state === "writable") wsStartErroring(ws, e);
    else wsFinishErroring(ws);
  };
  const wsStartErroring = (ws, reason) => {
    ws.state = "erroring";
    ws.error = reason;
    if (ws.writer) writerRejectReady(ws.writer, reason);
    if (!ws.inFlightWrite && !ws.inFlightClose && ws.c.started) wsFinishErroring(ws);
  };
  const wsFinishErroring = (ws) => {
    ws.state = "errored";
    const c = ws.c;
    c.queue = [];
    c.queueTotal = 0;
    const e = ws.error;
    for (const req of ws.writeRequests) req.reject(e);
    ws.writeRequests = [];
    const abortRequest = ws.pendingAbort;
    if (!abortRequest) { wsRejectCloseAndClosed(ws); return; }
    ws.pendingAbort = null;
    if (abortRequest.wasAlreadyErroring) {
      abortRequest.d.reject(e);
      wsRejectCloseAndClosed(ws);
      return;
    }
    const abort = c.abort;
    wcClearAlgorithms(c);
    then(abort ? abort(abortRequest.reason) : resolvedPromise,
      () => { abortRequest.d.resolve(undefined); wsRejectCloseAndClosed(ws); },
      (r) => { abortRequest.d.reject(r); wsRejectCloseAndClosed(ws); });
  };
  const wsRejectCloseAndClosed = (ws) => {
    if (ws.closeRequest) { ws.closeRequest.reject(ws.error); ws.closeRequest = null; }
    if (ws.writer) writerRejectClosed(ws.writer, ws.error);
  };
  const wsUpdateBackpressure = (ws, bp) => {
    const w = ws.writer;
    if (w && bp !== ws.backpressure) {
      if (bp) { w.ready = newDeferred(); w.readyPending = true; } else writerResolveReady(w);
    }
    ws.backpressure = bp;
  };

  // --- writable controller
  const wcDesiredSize = (c) => c.hwm - c.queueTotal;
  const wcClearAlgorithms = (c) => { c.write = c.close = c.abort = c.size = null; };
  const wcErrorIfNeeded = (c, e) => {
    if (c.stream.state === "writable") { wcClearAlgorithms(c); wsStartErroring(c.stream, e); }
  };
  const wcAdvanceQueue = (c) => {
    const ws = c.stream;
    if (!c.started || ws.inFlightWrite) return;
    if (ws.state === "erroring") { wsFinishErroring(ws); return; }
    if (c.queue.length === 0) return;
    const { value } = c.queue[0];
    if (value === kCloseSentinel) {
      ws.inFlightClose = ws.closeRequest;
      ws.closeRequest = null;
      c.queue.shift();
      const close = c.close;
      wcClearAlgorithms(c);
      then(close ? close() : resolvedPromise, () => {
        ws.inFlightClose.resolve(undefined);
        ws.inFlightClose = null;
        if (ws.state === "erroring") {
          ws.error = undefined;
          if (ws.pendingAbort) { ws.pendingAbort.d.resolve(undefined); ws.pendingAbort = null; }
        }
        ws.state = "closed";
        if (ws.writer) writerResolveClosed(ws.writer);
      }, (e) => {
        ws.inFlightClose.reject(e);
        ws.inFlightClose = null;
        if (ws.pendingAbort) { ws.pendingAbort.d.reject(e); ws.pendingAbort = null; }
        wsDealWithRejection(ws, e);
      });
      return;
    }
    ws.inFlightWrite = ws.writeRequests.shift();
    then(c.write ? c.write(value, c) : resolvedPromise, () => {
      ws.inFlightWrite.resolve(undefined);
      ws.inFlightWrite = null;
      const { size } = c.queue.shift();
      c.queueTotal = c.queue.length ? c.queueTotal - size : 0;
      if (!wsCloseQueuedOrInFlight(ws) && ws.state === "writable") wsUpdateBackpressure(ws, wcDesiredSize(c) <= 0);
      wcAdvanceQueue(c);
    }, (e) => {
      if (ws.state === "writable") wcClearAlgorithms(c);
      ws.inFlightWrite.reject(e);
      ws.inFlightWrite = null;
      wsDealWithRejection(ws, e);
    });
  };

  class WritableStreamDefaultController {
    #c;
    constructor(key = undefined, c = undefined) {
      if (key !== kInternal) illegalConstructor();
      this.#c = c;
    }
    get signal() {
      const c = this.#c;
      if (!c.signal) {
        // Created on first use; most sinks never look at it.
        const abort = abortModule();
        c.signal = abort.newAbortSignal();
        if (c.aborted) abort.signalAbort(c.signal, c.abortReason);
      }
      return c.signal;
    }
    error(e = undefined) {
      if (this.#c.stream.state !== "writable") return;
      wcErrorIfNeeded(this.#c, e);
    }
  }

  // --- writer
  const writerResolveReady = (w) => { w.ready.resolve(undefined); w.readyPending = false; };
  const writerRejectReady = (w, e) => {
    if (!w.readyPending) w.ready = newDeferred();
    w.ready.reject(e);
    markHandled(w.ready.promise);
    w.readyPending = false;
  };
  const writerResolveClosed = (w) => { w.closed.resolve(undefined); w.closedPending = false; };
  const writerRejectClosed = (w, e) => {
    if (!w.closedPending) w.closed = newDeferred();
    w.closed.reject(e);
    markHandled(w.closed.promise);
    w.closedPending = false;
  };
  const newWriter = (ws) => {
    if (ws.writer) throw new TypeError("WritableStream is locked");
    const w = { stream: ws, ready: newDeferred(), readyPending: true, closed: newDeferred(), closedPending: true, obj: null };
    ws.writer = w;
    const state = ws.state;
    if (state === "writable") {
      if (wsCloseQueuedOrInFlight(ws) || !ws.backpressure) writerResolveReady(w);
    } else if (state === "erroring") {
      writerRejectReady(w, ws.error);
    } else if (state === "closed") {
      writerResolveReady(w);
      writerResolveClosed(w);
    } else {
      writerRejectReady(w, ws.error);
      writerRejectClosed(w, ws.error);
    }
    return w;
  };
  const releaseWriter = (w) => {
    const ws = w.stream;
    if (!ws) return;
    const e = new TypeError("Writer was released");
    writerRejectReady(w, e);
    writerRejectClosed(w, e);
    ws.writer = null;
    w.stream = null;
  };
  const writerWrite = (w, chunk) => {
    const ws = w.stream;
    const c = ws.c;
    let size;
    try {
      size = chunkSize(c.size, chunk);
    } catch (e) {
      wcErrorIfNeeded(c, e);
      size = 1;
    }
    if (ws !== w.stream) return promiseReject(new TypeError("This writer has been released"));
    if (ws.state === "errored") return promiseReject(ws.error);
    if (wsCloseQueuedOrInFlight(ws) || ws.state === "closed") {
      return promiseReject(new TypeError("The stream is closing or closed and cannot be written to"));
    }
    if (ws.state === "erroring") return promiseReject(ws.error);
    const d = newDeferred();
    ws.writeRequests.push(d);
    c.queue.push({ value: chunk, size });
    c.queueTotal += size;
    if (!wsCloseQueuedOrInFlight(ws) && ws.state === "writable") wsUpdateBackpressure(ws, wcDesiredSize(c) <= 0);
    wcAdvanceQueue(c);
    return d.promise;
  };
  const writerCloseWithErrorPropagation = (w) => {
    const ws = w.stream;
    if (wsCloseQueuedOrInFlight(ws) || ws.state === "closed") return resolvedPromise;
    if (ws.state === "errored") return promiseReject(ws.error);
    return wsClose(ws);
  };

  class WritableStreamDefaultWriter {
    #w;
    constructor(stream) {
      if (!isWritableStream(stream)) throw new TypeError("Failed to construct 'WritableStreamDefaultWriter': parameter 1 is not of type 'WritableStream'.");
      this.#w = newWriter(wsOf(stream));
      this.#w.obj = this;
    }
    get closed() { return this.#w.closed.promise; }
    get ready() { return this.#w.ready.promise; }
    get desiredSize() {
      const ws = this.#w.stream;
      if (!ws) throw new TypeError("This writer has been released");
      if (ws.state === "errored" || ws.state === "erroring") return null;
      if (ws.state === "closed") return 0;
      return wcDesiredSize(ws.c);
    }
    abort(reason = undefined) {
      const ws = this.#w.stream;
      if (!ws) return releasedError();
      return wsAbort(ws, reason);
    }
    close() {
      const ws = this.#w.stream;
      if (!ws) return releasedError();
      if (wsCloseQueuedOrInFlight(ws)) return promiseReject(new TypeError("The stream is already closing"));
      return wsClose(ws);
    }
    releaseLock() { releaseWriter(this.#w); }
    write(chunk = undefined) {
      if (!this.#w.stream) return releasedError();
      return writerWrite(this.#w, chunk);
    }
  }

  // ---------------------------------------------------------------------------
  // pipeTo

  const pipeOptions = (options) => {
    const o = dictionary(options, "execute 'pipeTo' on 'ReadableStream'");
    const signal = o.signal;
    if (signal !== undefined && !isAbortSignalValue(signal)) throw new TypeError("pipeTo: options.signal must be an AbortSignal");
    return { preventClose: !!o.preventClose, preventAbort: !!o.preventAbort, preventCancel: !!o.preventCancel, signal };
  };

  const pipe = (src, dst, { preventClose, preventAbort, preventCancel, signal }) => {
    const reader = newReader(src, false);
    const writer = newWriter(dst);
    src.disturbed = true;
    let shuttingDown = false, currentWrite = resolvedPromise, unsignal = noop;
    const done = newDeferred();

    const finalize = (isError, error) => {
      releaseWriter(writer);
      releaseReader(reader);
      unsignal();
      if (isError) done.reject(error); else done.resolve(undefined);
    };
    const waitForWrites = () => {
      const old = currentWrite;
      return then(old, () => (old !== currentWrite ? waitForWrites() : undefined));
    };
    const shutdown = (action, isError = false, error = undefined) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const rest = () => {
        if (!action) { finalize(isError, error); return; }
        then(promiseCall(action), () => finalize(isError, error), (e) => finalize(true, e));
      };
      if (dst.state === "writable" && !wsCloseQueuedOrInFlight(dst)) then(waitForWrites(), rest);
      else rest();
    };

    if (signal) {
      const onAbort = () => {
        const error = signal.reason;
        shutdown(() => NativePromise.all([
          !preventAbort && dst.state === "writable" ? wsAbort(dst, error) : undefined,
          !preventCancel && src.state === "readable" ? rsCancel(src, error) : undefined,
        ]), true, error);
      };
      if (signal.aborted) { onAbort(); return done.promise; }
      unsignal = abortModule().abortSignalAdd(signal, onAbort);
    }

    const onSourceError = (e) => shutdown(preventAbort ? null : () => wsAbort(dst, e), true, e);
    const onDestError = (e) => shutdown(preventCancel ? null : () => rsCancel(src, e), true, e);
    const onSourceClose = () => shutdown(preventClose ? null : () => writerCloseWithErrorPropagation(writer));
    if (src.state === "errored") onSourceError(src.error);
    else then(reader.closed.promise, undefined, onSourceError);
    if (dst.state === "errored") onDestError(dst.error);
    else then(writer.closed.promise, undefined, onDestError);
    if (src.state === "closed") onSourceClose();
    else then(reader.closed.promise, onSourceClose, noop);
    if (wsCloseQueuedOrInFlight(dst) || dst.state === "closed") {
      const e = new TypeError("The destination writable stream closed before all data could be piped to it");
      shutdown(preventCancel ? null : () => rsCancel(src, e), true, e);
    }

    const step = () => {
      if (shuttingDown) return;
      then(writer.ready.promise, () => {
        if (shuttingDown) return;
        readerRead(reader, {
          chunk: (chunk) => {
            currentWrite = then(writerWrite(writer, chunk), noop, noop);
            then(resolvedPromise, step);
          },
          close: noop, // handled through reader.closed
          error: noop,
        });
      }, noop);
    };
    step();
    return done.promise;
  };

  // ---------------------------------------------------------------------------
  // TransformStream

  let tsOf;
  class TransformStream {
    #t;
    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      if (transformer === kInternal) { this.#t = writableStrategy(this); return; }
      const t = transformer == null ? {} : dictionary(transformer, "construct 'TransformStream'");
      const ws = dictionary(writableStrategy, "construct 'TransformStream'");
      const rs = dictionary(readableStrategy, "construct 'TransformStream'");
      if (t.readableType !== undefined) throw new RangeError("Failed to construct 'TransformStream': Invalid readableType is specified");
      if (t.writableType !== undefined) throw new RangeError("Failed to construct 'TransformStream': Invalid writableType is specified");
      const what = "Failed to construct 'TransformStream'";
      const start = getMethod(t, "start", what), transform = getMethod(t, "transform", what);
      const flush = getMethod(t, "flush", what), cancel = getMethod(t, "cancel", what);
      this.#t = setupTransform(this, {
        start: start && ((c) => start.call(t, c.obj)),
        transform: transform && ((chunk, c) => promiseCall(transform, t, chunk, c.obj)),
        flush: flush && ((c) => promiseCall(flush, t, c.obj)),
        cancel: cancel && ((reason) => promiseCall(cancel, t, reason)),
      }, extractHighWaterMark(ws, 1), extractSizeAlgorithm(ws), extractHighWaterMark(rs, 0), extractSizeAlgorithm(rs), false);
    }
    static { tsOf = (o) => o.#t; }
    get readable() { return this.#t.readable.obj; }
    get writable() { return this.#t.writable.obj; }
  }

  // Algorithms take the transform controller record tc: {stream, transform, flush, cancel, finish, obj}.
  const setupTransform = (obj, algos, writableHWM, writableSize, readableHWM, readableSize, byteReadable) => {
    const ts = { readable: null, writable: null, backpressure: undefined, backpressureChange: null, c: null, obj };
    const startDone = newDeferred();
    const tc = { stream: ts, transform: algos.transform, flush: algos.flush, cancel: algos.cancel, finish: null, obj: null };
    tc.obj = new TransformStreamDefaultController(kInternal, tc);
    ts.c = tc;
    ts.writable = wsOf(createWritable(() => startDone.promise, (chunk) => tsSinkWrite(ts, chunk),
      () => tsSinkClose(ts), (reason) => tsSinkAbort(ts, reason), writableHWM, writableSize));
    ts.readable = rsOf(createReadable(() => startDone.promise, () => { tsSetBackpressure(ts, false); return ts.backpressureChange.promise; },
      (reason) => tsSourceCancel(ts, reason), readableHWM, readableSize, byteReadable));
    tsSetBackpressure(ts, true);
    try {
      startDone.resolve(algos.start ? algos.start(tc) : undefined);
    } catch (e) {
      startDone.reject(e);
      throw e;
    }
    return ts;
  };
  const tsSetBackpressure = (ts, bp) => {
    ts.backpressureChange?.resolve(undefined);
    ts.backpressureChange = newDeferred();
    ts.backpressure = bp;
  };
  const tsClearAlgorithms = (tc) => { tc.transform = tc.flush = tc.cancel = null; };
  const tsErrorWritableAndUnblockWrite = (ts, e) => {
    tsClearAlgorithms(ts.c);
    wcErrorIfNeeded(ts.writable.c, e);
    if (ts.backpressure) tsSetBackpressure(ts, false);
  };
  const tsError = (ts, e) => {
    rcError(ts.readable.c, e);
    tsErrorWritableAndUnblockWrite(ts, e);
  };
  const tcEnqueue = (tc, chunk) => {
    const ts = tc.stream;
    const rc = ts.readable.c;
    if (!rcCanCloseOrEnqueue(rc)) throw new TypeError("Readable side is not in a state that permits enqueue");
    try {
      rcEnqueue(rc, chunk);
    } catch (e) {
      tsErrorWritableAndUnblockWrite(ts, e);
      throw ts.readable.error;
    }
    if (!rcShouldPull(rc) !== ts.backpressure) tsSetBackpressure(ts, true);
  };
  const tsPerformTransform = (tc, chunk) => {
    const p = tc.transform ? tc.transform(chunk, tc)
      : promiseCall(() => tcEnqueue(tc, chunk));
    return then(p, undefined, (e) => { tsError(tc.stream, e); throw e; });
  };
  const tsSinkWrite = (ts, chunk) => {
    if (!ts.backpressure) return tsPerformTransform(ts.c, chunk);
    return then(ts.backpressureChange.promise, () => {
      if (ts.writable.state === "erroring") throw ts.writable.error;
      return tsPerformTransform(ts.c, chunk);
    });
  };
  const tsFinish = (tc, algo, onOk, onErr) => {
    if (tc.finish) return tc.finish.promise;
    const d = (tc.finish = newDeferred());
    const p = algo ? algo() : resolvedPromise;
    tsClearAlgorithms(tc);
    then(p, () => { try { onOk(); d.resolve(undefined); } catch (e) { d.reject(e); } },
      (e) => { onErr(e); d.reject(e); });
    return d.promise;
  };
  const tsSinkAbort = (ts, reason) => {
    const tc = ts.c, readable = ts.readable;
    const cancel = tc.cancel;
    return tsFinish(tc, cancel && (() => cancel(reason)), () => {
      if (readable.state === "errored") throw readable.error;
      rcError(readable.c, reason);
    }, (e) => rcError(readable.c, e));
  };
  const tsSinkClose = (ts) => {
    const tc = ts.c, readable = ts.readable;
    const flush = tc.flush;
    return tsFinish(tc, flush && (() => flush(tc)), () => {
      if (readable.state === "errored") throw readable.error;
      rcCloseInternal(readable.c);
    }, (e) => rcError(readable.c, e));
  };
  const tsSourceCancel = (ts, reason) => {
    const tc = ts.c, writable = ts.writable;
    const cancel = tc.cancel;
    return tsFinish(tc, cancel && (() => cancel(reason)), () => {
      if (writable.state === "errored") throw writable.error;
      wcErrorIfNeeded(writable.c, reason);
      if (ts.backpressure) tsSetBackpressure(ts, false);
    }, (e) => {
      wcErrorIfNeeded(writable.c, e);
      if (ts.backpressure) tsSetBackpressure(ts, false);
    });
  };

  class TransformStreamDefaultController {
    #c;
    constructor(key = undefined, c = undefined) {
      if (key !== kInternal) illegalConstructor();
      this.#c = c;
    }
    get desiredSize() { return rcDesiredSize(this.#c.stream.readable.c); }
    enqueue(chunk = undefined) { tcEnqueue(this.#c, chunk); }
    error(reason = undefined) { tsError(this.#c.stream, reason); }
    terminate() {
      const ts = this.#c.stream;
      rcCloseInternal(ts.readable.c);
      tsErrorWritableAndUnblockWrite(ts, new TypeError("TransformStream terminated"));
    }
  }

  // workerd extension: an identity transform for bytes whose readable side is a
  // byte stream (so it supports BYOB readers).
  class IdentityTransformStream extends TransformStream {
    constructor(options = undefined) {
      const hwm = Number(dictionary(options, "construct 'IdentityTransformStream'").highWaterMark ?? 0);
      super(kInternal, (obj) => setupTransform(obj, {
        transform: (chunk, tc) => promiseCall(() => {
          const u8 = toU8(chunk);
          if (!u8) throw new TypeError("This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.");
          if (u8.byteLength) tcEnqueue(tc, u8.slice());
        }),
      }, 1, null, hwm, null, true));
    }
  }

  // --- queuing strategies
  const countSize = function size() { return 1; };
  const byteLengthSize = function size(chunk) { return chunk.byteLength; };
  class CountQueuingStrategy {
    #hwm;
    constructor(init) {
      requireArgs(1, arguments.length, "construct 'CountQueuingStrategy'");
      const d = dictionary(init, "construct 'CountQueuingStrategy'");
      if (d.highWaterMark === undefined) throw new TypeError("Failed to construct 'CountQueuingStrategy': required member highWaterMark is undefined.");
      this.#hwm = Number(d.highWaterMark);
    }
    get highWaterMark() { return this.#hwm; }
    get size() { return countSize; }
  }
  class ByteLengthQueuingStrategy {
    #hwm;
    constructor(init) {
      requireArgs(1, arguments.length, "construct 'ByteLengthQueuingStrategy'");
      const d = dictionary(init, "construct 'ByteLengthQueuingStrategy'");
      if (d.highWaterMark === undefined) throw new TypeError("Failed to construct 'ByteLengthQueuingStrategy': required member highWaterMark is undefined.");
      this.#hwm = Number(d.highWaterMark);
    }
    get highWaterMark() { return this.#hwm; }
    get size() { return byteLengthSize; }
  }

  // --- encoding streams (TextEncoder/TextDecoder are looked up at construction)
  class TextEncoderStream {
    #ts;
    constructor() {
      let carry = ""; // a trailing high surrogate waiting for its pair
      this.#ts = new TransformStream({
        transform(chunk, c) {
          let s = carry + String(chunk);
          carry = "";
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) { carry = s.slice(-1); s = s.slice(0, -1); }
          if (s) c.enqueue(utf8Encode(s));
        },
        flush(c) { if (carry) c.enqueue(new Uint8Array([0xef, 0xbf, 0xbd])); },
      });
    }
    get encoding() { return "utf-8"; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
  }
  class TextDecoderStream {
    #ts; #dec;
    constructor(label = "utf-8", options = undefined) {
      const dec = (this.#dec = newTextDecoder(label, options));
      this.#ts = new TransformStream({
        transform(chunk, c) {
          const u8 = toU8(chunk);
          if (!u8) throw new TypeError("TextDecoderStream: chunk must be an ArrayBuffer or ArrayBufferView");
          const s = dec.decode(u8, { stream: true });
          if (s) c.enqueue(s);
        },
        flush(c) {
          const s = dec.decode();
          if (s) c.enqueue(s);
        },
      });
    }
    get encoding() { return this.#dec.encoding; }
    get fatal() { return this.#dec.fatal; }
    get ignoreBOM() { return this.#dec.ignoreBOM; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
  }

  for (const C of [ReadableStream, ReadableStreamDefaultController, ReadableByteStreamController,
    ReadableStreamBYOBRequest, ReadableStreamDefaultReader, ReadableStreamBYOBReader, WritableStream,
    WritableStreamDefaultController, WritableStreamDefaultWriter, TransformStream,
    TransformStreamDefaultController, IdentityTransformStream, CountQueuingStrategy,
    ByteLengthQueuingStrategy, TextEncoderStream, TextDecoderStream]) {
    setTag(C);
  }

  // A byte stream fed by pull(): a promise of a Uint8Array (or any BufferSource)
  // chunk, or of null at the end. cancel(reason) is optional.
  const newReadableStreamFromPull = (pull, cancel = undefined) => createReadable(undefined, async (c) => {
    for (;;) {
      const chunk = await pull();
      if (!rcCanCloseOrEnqueue(c)) return;
      if (chunk == null) { rcCloseInternal(c); return; }
      const u8 = toU8(chunk);
      if (!u8) throw new TypeError("This ReadableStream did not return bytes.");
      if (u8.byteLength) { rcEnqueue(c, u8); return; }
    }
  }, typeof cancel === "function" ? (reason) => promiseCall(cancel, undefined, reason) : undefined, 0, null, true);

  // Reads the whole stream into one Uint8Array.
  const readAll = async (stream) => {
    if (!isReadableStream(stream)) throw new TypeError("readAll: not a ReadableStream");
    const rs = rsOf(stream);
    const r = newReader(rs, false);
    const chunks = [];
    let total = 0;
    try {
      for (;;) {
        const { value, done } = await readerReadPromise(r);
        if (done) break;
        const u8 = toU8(value);
        if (!u8) {
          const e = new TypeError("This ReadableStream did not return bytes.");
          markHandled(rsCancel(rs, e));
          throw e;
        }
        chunks.push(u8);
        total += u8.byteLength;
      }
    } finally {
      releaseReader(r);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let off = 0;
    for (const u8 of chunks) { out.set(u8, off); off += u8.byteLength; }
    return out;
  };

  return {
    ReadableStream, ReadableStreamDefaultController, ReadableByteStreamController, ReadableStreamBYOBRequest,
    ReadableStreamDefaultReader, ReadableStreamBYOBReader, WritableStream, WritableStreamDefaultController,
    WritableStreamDefaultWriter, TransformStream, TransformStreamDefaultController, IdentityTransformStream,
    CountQueuingStrategy, ByteLengthQueuingStrategy, TextEncoderStream, TextDecoderStream,
    isReadableStream, isWritableStream, rsOf, createReadable, rcEnqueue, rcCloseInternal,
    newReadableStreamFromPull, readAll,
  };
