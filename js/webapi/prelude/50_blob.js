// Blob and File. Bytes live in one immutable Uint8Array; slices share it.

// isBlob without loading the module: no Blob exists before it loads.
const isBlobValue = (v) => blobModule.loaded() && blobModule().isBlob(v);

const blobModule = lazyModule(["Blob", "File"], () => {
  const normalizeBlobType = (t) => {
    const s = String(t);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return "";
    }
    return s.toLowerCase();
  };

  const blobPartsToBytes = (parts, endings) => {
    if (parts === undefined) return new Uint8Array(0);
    if (!isObject(parts) || typeof parts[Symbol.iterator] !== "function") {
      throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
    }
    const chunks = [];
    let total = 0;
    for (const part of parts) {
      let u8;
      if (isBlob(part)) u8 = blobBytes(part);
      else if (ArrayBuffer.isView(part) || part instanceof ArrayBuffer) u8 = toU8(part);
      else {
        let s = toUSVString(part);
        if (endings === "native") s = s.replace(/\r\n?/g, "\n");
        u8 = utf8Encode(s);
      }
      chunks.push(u8);
      total += u8.byteLength;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const u8 of chunks) { out.set(u8, off); off += u8.byteLength; }
    return out;
  };

  const kBlobBytes = Symbol("bytes");
  let blobBytes, isBlob;

  class Blob {
    #bytes;
    #type;
    constructor(blobParts = undefined, options = undefined) {
      if (blobParts === kBlobBytes) {
        this.#bytes = options.bytes;
        this.#type = options.type;
        return;
      }
      const o = dictionary(options, "construct 'Blob'");
      const endings = o.endings === undefined ? "transparent" : String(o.endings);
      if (endings !== "transparent" && endings !== "native") {
        throw new TypeError(`Failed to construct 'Blob': The provided value '${endings}' is not a valid enum value of type EndingType.`);
      }
      this.#bytes = blobPartsToBytes(blobParts, endings);
      this.#type = o.type === undefined ? "" : normalizeBlobType(o.type);
    }
    static {
      blobBytes = (b) => b.#bytes;
      isBlob = (v) => isObject(v) && #bytes in v;
    }
    get size() { return this.#bytes.byteLength; }
    get type() { return this.#type; }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const size = this.#bytes.byteLength;
      const rel = (v, dflt) => {
        if (v === undefined) return dflt;
        const n = Math.trunc(Number(v)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = rel(start, 0), to = rel(end, size);
      const type = contentType === undefined ? "" : normalizeBlobType(contentType);
      return new Blob(kBlobBytes, { bytes: this.#bytes.subarray(from, Math.max(from, to)), type });
    }
    text() {
      try { return promiseResolve(utf8Decode(this.#bytes)); } catch (e) { return promiseReject(e); }
    }
    arrayBuffer() { return promiseResolve(this.#bytes.slice().buffer); }
    bytes() { return promiseResolve(this.#bytes.slice()); }
    stream() {
      const { createReadable, rcCloseInternal, rcEnqueue } = streamsModule();
      const bytes = this.#bytes;
      let off = 0;
      return createReadable(undefined, (c) => {
        if (off >= bytes.byteLength) { rcCloseInternal(c); return resolvedPromise; }
        const n = Math.min(bytes.byteLength - off, 65536);
        rcEnqueue(c, bytes.slice(off, off + n));
        off += n;
        if (off >= bytes.byteLength) rcCloseInternal(c);
        return resolvedPromise;
      }, undefined, 0, null, true);
    }
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(fileBits, fileName, options = undefined) {
      if (fileBits === kBlobBytes) {
        super(kBlobBytes, fileName);
        this.#name = fileName.name;
        this.#lastModified = fileName.lastModified;
        return;
      }
      requireArgs(2, arguments.length, "construct 'File'");
      super(fileBits, options);
      this.#name = toUSVString(fileName);
      const lm = options?.lastModified;
      this.#lastModified = lm === undefined ? Date.now() : Math.trunc(Number(lm)) || 0;
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get webkitRelativePath() { return ""; }
  }

  // A File sharing bytes with blob (FormData's Blob -> File conversion).
  const newFileFromBlob = (blob, name, lastModified = Date.now()) =>
    new File(kBlobBytes, { bytes: blobBytes(blob), type: blob.type, name, lastModified });

  setTag(Blob);
  setTag(File);
  const newBlob = (u8, type = "") => new Blob(kBlobBytes, { bytes: toU8(u8), type: normalizeBlobType(type) });
  const newFile = (u8, name, type = "", lastModified = Date.now()) =>
    new File(kBlobBytes, { bytes: toU8(u8), type: normalizeBlobType(type), name: toUSVString(name), lastModified });
  return { Blob, File, isBlob, blobBytes, newBlob, newFile, newFileFromBlob };
});
internal.isBlob = isBlobValue;
internal.blobBytes = (blob) => blobModule().blobBytes(blob);
internal.newBlob = (u8, type = "") => blobModule().newBlob(u8, type);
internal.newFile = (u8, name, type = "", lastModified = Date.now()) => blobModule().newFile(u8, name, type, lastModified);
