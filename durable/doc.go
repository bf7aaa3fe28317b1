// Package durable is Durable Objects without JavaScript: object IDs and
// namespaces, and the activation of objects — exactly one live instance per
// ID, events delivered one at a time, critical sections
// (blockConcurrencyWhile), the output gate that holds what an object sends
// until the writes made before it are durable, eviction of idle objects and
// alarms. Objects run through the small Instance interface; the worker
// package implements it for JavaScript classes.
package durable
