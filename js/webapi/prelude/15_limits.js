// Bounds on the built-ins that allocate a whole result in one native step.
// goja checks for interrupts between bytecode instructions, so one native
// call that builds gigabytes (a huge ArrayBuffer, "x".repeat(2 ** 31),
// new Array(2 ** 32 - 1).fill(0)) could neither be stopped by the CPU limit
// nor by the memory guard, and would take the whole process down. V8 refuses
// the same calls with the RangeErrors thrown here (its maximum string
// length; an allocation that an isolate's 128 MB cannot hold).
{
  const maxStringLength = 0x1fffffe8; // V8's String::kMaxLength on 64-bit
  const maxBufferBytes = 128 * 1024 * 1024; // the isolate memory limit
  const maxArrayFill = 1 << 24; // elements written by one fill()
  const invalidString = () => new RangeError("Invalid string length");
  const bufferFailed = () => new RangeError("Array buffer allocation failed");

  const strRepeat = String.prototype.repeat;
  const strPadStart = String.prototype.padStart;
  const strPadEnd = String.prototype.padEnd;
  const arrayFill = Array.prototype.fill;
  const arrayJoin = Array.prototype.join;
  const replaceMethod = (proto, name, fn) =>
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true });

  replaceMethod(String.prototype, "repeat", {
    repeat(count) {
      const n = +count;
      if (n > 0 && n !== Infinity) {
        const len = String(this).length;
        if (len * Math.floor(n) > maxStringLength) throw invalidString();
      }
      return strRepeat.call(this, count);
    },
  }.repeat);
  replaceMethod(String.prototype, "padStart", {
    padStart(maxLength, fill) {
      if (+maxLength > maxStringLength) throw invalidString();
      return strPadStart.call(this, maxLength, fill);
    },
  }.padStart);
  replaceMethod(String.prototype, "padEnd", {
    padEnd(maxLength, fill) {
      if (+maxLength > maxStringLength) throw invalidString();
      return strPadEnd.call(this, maxLength, fill);
    },
  }.padEnd);
  replaceMethod(Array.prototype, "fill", {
    fill(value, start, end) {
      const len = this.length >>> 0;
      let from = start === undefined ? 0 : Math.trunc(+start) || 0;
      let to = end === undefined ? len : Math.trunc(+end) || 0;
      from = from < 0 ? Math.max(len + from, 0) : Math.min(from, len);
      to = to < 0 ? Math.max(len + to, 0) : Math.min(to, len);
      if (to - from > maxArrayFill) throw new RangeError("Invalid array length");
      return arrayFill.apply(this, arguments);
    },
  }.fill);
  replaceMethod(Array.prototype, "join", {
    join(separator) {
      if (this.length > maxStringLength) throw invalidString();
      return arrayJoin.call(this, separator);
    },
  }.join);

  // Constructors that allocate their whole store up front are replaced by
  // functions that check the size and construct the real thing. They share
  // the real prototype object, so instanceof, subclassing and objects made
  // inside the engine (subarray, Go-created buffers) all behave as before.
  const guardConstructor = (ctor, bytesPerElement, isBuffer) => {
    const size = (first) => {
      if (isBuffer) return +first || 0;
      if (typeof first !== "object" || first === null) return (+first || 0) * bytesPerElement;
      if (first instanceof ctorArrayBuffer || ArrayBuffer.isView(first) ||
        typeof first[Symbol.iterator] === "function") return 0;
      return (+first.length || 0) * bytesPerElement; // array-like
    };
    const guarded = function (...args) {
      if (new.target === undefined) {
        throw new TypeError(`Constructor ${ctor.name} requires 'new'`);
      }
      if (size(args[0]) > maxBufferBytes) throw bufferFailed();
      return Reflect.construct(ctor, args, new.target === guarded ? ctor : new.target);
    };
    Object.setPrototypeOf(guarded, Object.getPrototypeOf(ctor));
    for (const key of [...Object.getOwnPropertyNames(ctor), ...Object.getOwnPropertySymbols(ctor)]) {
      if (key === "prototype" || key === "caller" || key === "arguments") continue;
      Object.defineProperty(guarded, key, Object.getOwnPropertyDescriptor(ctor, key));
    }
    Object.defineProperty(guarded, "prototype", { value: ctor.prototype, writable: false, enumerable: false, configurable: false });
    Object.defineProperty(ctor.prototype, "constructor", { value: guarded, writable: true, configurable: true });
    defineGlobal(ctor.name, guarded);
  };
  const ctorArrayBuffer = ArrayBuffer;
  guardConstructor(ArrayBuffer, 1, true);
  for (const ctor of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]) {
    guardConstructor(ctor, ctor.BYTES_PER_ELEMENT, false);
  }
}
