// Package structuredclone is kiln's binary codec for JavaScript values: the
// structured clone algorithm of the HTML standard, as V8 implements it, over a
// goja runtime.
//
// It backs the structuredClone() global (serialize, then deserialize at once)
// and Durable Object storage, where serialized values are written to disk and
// must be read back by later versions of kiln after a restart. The byte format
// is therefore a stable, versioned contract, documented in FORMAT.md next to
// this file; a change to it needs a new version number and a reader that still
// accepts every older version.
//
// Serialize accepts what V8's ValueSerializer accepts (primitives including
// BigInt and lone surrogates, wrapper objects, Date, RegExp, Map, Set,
// ArrayBuffer, typed arrays, DataView, errors, arrays with holes, plain
// objects and class instances as plain objects) and preserves object identity,
// so shared references and cycles survive. Everything else fails with a
// *DataCloneError carrying V8's (or workerd's) message text.
//
// With Options.RPC, Serialize follows workerd's RPC serializer instead, for
// the arguments and results of Durable Object stub calls: class instances are
// refused, functions, RpcTarget instances and caller-marked host objects are
// captured into the caller's side table (Options.Capture) and written as
// capabilities, which DeserializeWith turns back into values through
// DeserializeOptions.Resolve; and the encoding is limited to MaxRPCMessage.
//
// Deserialize never panics on malformed input: corrupt, truncated or
// unknown-version data yields an error wrapping ErrInvalidData or
// ErrUnsupportedVersion.
//
// Both functions must run on the goroutine that owns the runtime. Serialize
// may run script code (getters on the cloned objects).
package structuredclone
