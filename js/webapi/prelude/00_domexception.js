// DOMException (WebIDL). Go code throws these through ThrowDOMException.
const DOMEXCEPTION_CODES = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4,
  InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8,
  NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
  InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
  URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23,
  InvalidNodeTypeError: 24, DataCloneError: 25,
};

class DOMException extends Error {
  #name;
  #message;
  constructor(message = "", options = "Error") {
    super();
    this.#message = String(message);
    if (options !== null && typeof options === "object") {
      this.#name = options.name === undefined ? "Error" : String(options.name);
      if ("cause" in options) {
        Object.defineProperty(this, "cause", { value: options.cause, writable: true, configurable: true });
      }
    } else {
      this.#name = String(options);
    }
    Object.defineProperty(this, "stack", {
      value: `${this.#name}: ${this.#message}`, writable: true, configurable: true,
    });
  }
  get name() { return this.#name; }
  get message() { return this.#message; }
  get code() { return DOMEXCEPTION_CODES[this.#name] || 0; }
}
for (const [name, code] of Object.entries(DOMEXCEPTION_CODES)) {
  const constName = name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase().replace(/_ERROR$/, "_ERR");
  Object.defineProperty(DOMException, constName, { value: code, enumerable: true });
  Object.defineProperty(DOMException.prototype, constName, { value: code, enumerable: true });
}
Object.defineProperty(globalThis, "DOMException", { value: DOMException, writable: true, configurable: true });
internal.DOMException = DOMException;
