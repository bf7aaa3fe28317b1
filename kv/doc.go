// Package kv is Workers KV without JavaScript: namespaces of keys with
// values up to 25 MiB, JSON metadata, expiration, and listing in UTF-8 byte
// order with an opaque cursor. It defines the Store interface every backend
// implements, the validation rules and the error texts of the platform;
// kv/sqlite is the embedded backend.
package kv
