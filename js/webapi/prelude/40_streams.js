// WHATWG Streams. Every public object (stream, controller, reader, writer)
// holds a plain internal record in a private field; the algorithms below work
// on those records, which keeps cross-class access cheap and readable.
//
// Records:
//   readable  rs: {state, reader, error, disturbed, c, obj}
//   controller c: {stream, byte, queue, queueTotal, started, closeRequested,
//                  pulling, pullAgain, hwm, size, pull, cancel, auto, pending,
//                  byobRequest, obj}
//   reader     r: {stream, byob, requests, closed, obj}
//   writable  ws: {state, error, writer, c, writeRequests, inFlightWrite,
//                  closeRequest, inFlightClose, pendingAbort, backpressure, obj}
//   controller wc: {stream, queue, queueTotal, started, hwm, size, write,
//                  close, abort, signal, aborted, abortReason, obj}
//   writer     w: {stream, ready, readyPending, closed, closedPending, obj}
//
// The module loads on first use (see lazyModule in 10_polyfills.js).

const streamsModule = lazyModule([
  "ReadableStream", "ReadableStreamDefaultController", "ReadableByteStreamController", "ReadableStreamBYOBRequest",
  "ReadableStreamDefaultReader", "ReadableStreamBYOBReader", "WritableStream", "WritableStreamDefaultController",
  "WritableStreamDefaultWriter", "TransformStream", "TransformStreamDefaultController", "IdentityTransformStream",
  "CountQueuingStrategy", "ByteLengthQueuingStrategy", "TextEncoderStream", "TextDecoderStream",
], () => internal.loadLazyModule("streams")({
  NativePromise, abortModule, defineMethods, dictionary, illegalConstructor, isAbortSignalValue, isObject,
  markHandled, newDeferred, newTextDecoder, noop, promiseReject, promiseResolve, requireArgs,
  resolvedPromise, setTag, then, toU8, utf8Encode,
}));
internal.isReadableStream = (v) => streamsModule.loaded() && streamsModule().isReadableStream(v);
internal.isWritableStream = (v) => streamsModule.loaded() && streamsModule().isWritableStream(v);
// True if the stream was read from or canceled (Request/Response bodyUsed).
internal.isDisturbed = (stream) => streamsModule().rsOf(stream).disturbed;
// A byte stream fed by pull(): a promise of a Uint8Array (or any BufferSource)
// chunk, or of null at the end. cancel(reason) is optional.
internal.newReadableStreamFromPull = (pull, cancel = undefined) => streamsModule().newReadableStreamFromPull(pull, cancel);
// Reads the whole stream into one Uint8Array: Promise<Uint8Array>.
internal.readAll = (stream) => streamsModule().readAll(stream);
