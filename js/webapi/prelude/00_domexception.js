// DOMException (WebIDL). Go code throws these through ThrowDOMException.
// [name, legacy code, legacy constant]
const DOMEXCEPTION_CODES = [
  ["IndexSizeError", 1, "INDEX_SIZE_ERR"], ["HierarchyRequestError", 3, "HIERARCHY_REQUEST_ERR"],
  ["WrongDocumentError", 4, "WRONG_DOCUMENT_ERR"], ["InvalidCharacterError", 5, "INVALID_CHARACTER_ERR"],
  ["NoModificationAllowedError", 7, "NO_MODIFICATION_ALLOWED_ERR"], ["NotFoundError", 8, "NOT_FOUND_ERR"],
  ["NotSupportedError", 9, "NOT_SUPPORTED_ERR"], ["InvalidStateError", 11, "INVALID_STATE_ERR"],
  ["SyntaxError", 12, "SYNTAX_ERR"], ["InvalidModificationError", 13, "INVALID_MODIFICATION_ERR"],
  ["NamespaceError", 14, "NAMESPACE_ERR"], ["InvalidAccessError", 15, "INVALID_ACCESS_ERR"],
  ["TypeMismatchError", 17, "TYPE_MISMATCH_ERR"], ["SecurityError", 18, "SECURITY_ERR"],
  ["NetworkError", 19, "NETWORK_ERR"], ["AbortError", 20, "ABORT_ERR"],
  ["URLMismatchError", 21, "URL_MISMATCH_ERR"], ["QuotaExceededError", 22, "QUOTA_EXCEEDED_ERR"],
  ["TimeoutError", 23, "TIMEOUT_ERR"], ["InvalidNodeTypeError", 24, "INVALID_NODE_TYPE_ERR"],
  ["DataCloneError", 25, "DATA_CLONE_ERR"],
];
const DOMEXCEPTION_CODE_OF = new Map(DOMEXCEPTION_CODES.map(([name, code]) => [name, code]));

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
  get code() { return DOMEXCEPTION_CODE_OF.get(this.#name) || 0; }
}
for (const [, code, constName] of DOMEXCEPTION_CODES) {
  Object.defineProperty(DOMException, constName, { value: code, enumerable: true });
  Object.defineProperty(DOMException.prototype, constName, { value: code, enumerable: true });
}
Object.defineProperty(globalThis, "DOMException", { value: DOMException, writable: true, configurable: true });
internal.DOMException = DOMException;
