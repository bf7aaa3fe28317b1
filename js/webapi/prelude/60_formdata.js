// FormData (no HTML form support: the constructor takes no form).

const formDataModule = lazyModule(["FormData"], () => {
  const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

  // Converts append/set arguments into an entry [name, value].
  const formDataEntry = (what, args) => {
    requireArgs(2, args.length, `execute '${what}' on 'FormData'`);
    const [name, value, filename] = args;
    if (args.length > 2 || isBlobValue(value)) {
      if (!isBlobValue(value)) {
        throw new TypeError(`Failed to execute '${what}' on 'FormData': parameter 2 is not of type 'Blob'.`);
      }
      const { File, newFileFromBlob } = blobModule();
      let file = value;
      if (filename !== undefined) file = newFileFromBlob(value, toUSVString(filename), value instanceof File ? value.lastModified : Date.now());
      else if (!(value instanceof File)) file = newFileFromBlob(value, "blob");
      return [toUSVString(name), file];
    }
    return [toUSVString(name), toUSVString(value)];
  };

  let formDataList, isFormData;
  class FormData {
    #list = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
    }
    static {
      formDataList = (fd) => fd.#list;
      isFormData = (v) => isObject(v) && #list in v;
    }
    append(name, value) { this.#list.push(formDataEntry("append", arguments)); }
    set(name, value) {
      const entry = formDataEntry("set", arguments);
      const list = this.#list;
      const i = list.findIndex((e) => e[0] === entry[0]);
      if (i < 0) { list.push(entry); return; }
      list[i] = entry;
      for (let j = list.length - 1; j > i; j--) if (list[j][0] === entry[0]) list.splice(j, 1);
    }
    delete(name) {
      requireArgs(1, arguments.length, "execute 'delete' on 'FormData'");
      name = toUSVString(name);
      this.#list = this.#list.filter((e) => e[0] !== name);
    }
    get(name) {
      requireArgs(1, arguments.length, "execute 'get' on 'FormData'");
      name = toUSVString(name);
      const e = this.#list.find((e) => e[0] === name);
      return e ? e[1] : null;
    }
    getAll(name) {
      requireArgs(1, arguments.length, "execute 'getAll' on 'FormData'");
      name = toUSVString(name);
      return this.#list.filter((e) => e[0] === name).map((e) => e[1]);
    }
    has(name) {
      requireArgs(1, arguments.length, "execute 'has' on 'FormData'");
      name = toUSVString(name);
      return this.#list.some((e) => e[0] === name);
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new TypeError("Failed to execute 'forEach' on 'FormData': The callback provided as parameter 1 is not a function.");
      // Re-read the list each step so that changes made by callback are seen.
      for (let i = 0; i < this.#list.length; i++) {
        const [name, value] = this.#list[i];
        callback.call(thisArg, value, name, this);
      }
    }
    keys() { return new FormDataIterator(this, "key"); }
    values() { return new FormDataIterator(this, "value"); }
    entries() { return new FormDataIterator(this, "key+value"); }
  }
  Object.defineProperty(FormData.prototype, Symbol.iterator, {
    value: FormData.prototype.entries, writable: true, configurable: true,
  });

  class FormDataIterator {
    #fd; #kind; #index = 0;
    constructor(fd, kind) { this.#fd = fd; this.#kind = kind; }
    next() {
      const list = formDataList(this.#fd);
      if (this.#index >= list.length) return { value: undefined, done: true };
      const [name, value] = list[this.#index++];
      const kind = this.#kind;
      return { value: kind === "key" ? name : kind === "value" ? value : [name, value], done: false };
    }
  }
  Object.setPrototypeOf(FormDataIterator.prototype, IteratorPrototype);
  setTag(FormDataIterator, "FormData Iterator");

  setTag(FormData);
  const formDataEntries = (fd) => formDataList(fd).map(([name, value]) => [name, value]);
  return { FormData, isFormData, formDataEntries };
});
internal.isFormData = (v) => formDataModule.loaded() && formDataModule().isFormData(v);
internal.newFormData = () => new (formDataModule().FormData)();
internal.formDataEntries = (fd) => formDataModule().formDataEntries(fd);
