package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dop251/goja"

	"github.com/kiln-dev/kiln/js/webapi"
	"github.com/kiln-dev/kiln/kv"
)

// KVStore is what a KV binding needs from a KV backend.
type KVStore interface {
	Get(ctx context.Context, ns, key string) (*kv.Entry, error)
	GetMany(ctx context.Context, ns string, keys []string) (map[string]*kv.Entry, error)
	Put(ctx context.Context, ns, key string, value []byte, opts kv.PutOptions) error
	Delete(ctx context.Context, ns, key string) error
	List(ctx context.Context, ns string, opts kv.ListOptions) (kv.ListResult, error)
}

// KVBinding binds a namespace into env.
type KVBinding struct {
	Name        string
	NamespaceID string
}

// maxOpsPerInvocation is the platform's limit of KV operations (and
// subrequests) in one invocation.
const maxOpsPerInvocation = 1000

const errTooManyOps = "Too many API requests by single Worker invocation."

// kvNamespace is the Go side of one env.KV object.
type kvNamespace struct {
	store KVStore
	id    string
}

// kvAPI holds the KvNamespace class of one runtime.
type kvAPI struct {
	inst  *instance
	class *webapi.Class
}

func defineKVNamespace(inst *instance) *kvAPI {
	vm := inst.rt.VM()
	a := &kvAPI{inst: inst}
	c := webapi.DefineClass(vm, "KvNamespace", nil, nil)
	a.class = c
	this := func(v goja.Value) *kvNamespace { return webapi.MustImpl[*kvNamespace](vm, v) }
	c.Method("get", 2, func(call goja.FunctionCall) goja.Value {
		return a.get(this(call.This), call.Argument(0), call.Argument(1), false)
	})
	c.Method("getWithMetadata", 2, func(call goja.FunctionCall) goja.Value {
		return a.get(this(call.This), call.Argument(0), call.Argument(1), true)
	})
	c.Method("put", 3, func(call goja.FunctionCall) goja.Value {
		return a.put(this(call.This), call.Argument(0), call.Argument(1), call.Argument(2))
	})
	c.Method("delete", 1, func(call goja.FunctionCall) goja.Value {
		return a.del(this(call.This), call.Argument(0))
	})
	c.Method("list", 1, func(call goja.FunctionCall) goja.Value {
		return a.list(this(call.This), call.Argument(0))
	})
	return a
}

// async runs op off the loop and settles the returned promise on the loop
// with convert's result. A failure before any I/O (validation) rejects too:
// KV methods never throw synchronously.
func (a *kvAPI) async(op func(ctx context.Context) (any, error), convert func(any) goja.Value) goja.Value {
	vm := a.inst.rt.VM()
	p, resolve, reject := vm.NewPromise()
	settle := func(err error) {
		if err != nil {
			a.inst.rt.Check(err)
		}
	}
	if err := a.countOp(); err != nil {
		settle(reject(a.jsError(err)))
		return vm.ToValue(p)
	}
	finish := a.inst.rt.Hold()
	go func() {
		v, err := op(context.Background())
		finish(func() { a.settle(resolve, reject, v, err, convert) })
	}()
	return vm.ToValue(p)
}

// settle resolves or rejects an operation's promise with its outcome.
// Loop only.
func (a *kvAPI) settle(resolve, reject func(any) error, v any, err error, convert func(any) goja.Value) {
	check := func(err error) {
		if err != nil {
			a.inst.rt.Check(err)
		}
	}
	if err != nil {
		check(reject(a.jsError(err)))
		return
	}
	var out goja.Value
	if thrown := webapi.Catch(func() { out = convert(v) }); thrown != nil {
		check(reject(thrown))
		return
	}
	check(resolve(out))
}

// cachedGetter is a Store that may answer a Get from memory, without
// blocking: kv/sqlite's read cache.
type cachedGetter interface {
	GetCached(ns, key string) (entry *kv.Entry, ok bool)
}

// cachedGet answers a Get whose result the store holds in memory: the
// promise is settled at once, without the goroutine and the two hand-offs
// a read of the database needs. ok is false on a miss.
func (a *kvAPI) cachedGet(ns *kvNamespace, key string, convert func(any) goja.Value) (goja.Value, bool) {
	cg, isCached := ns.store.(cachedGetter)
	if !isCached {
		return nil, false
	}
	e, hit := cg.GetCached(ns.id, key)
	if !hit {
		return nil, false
	}
	vm := a.inst.rt.VM()
	p, resolve, reject := vm.NewPromise()
	if err := a.countOp(); err != nil {
		a.settle(resolve, reject, nil, err, convert)
	} else {
		a.settle(resolve, reject, e, nil, convert)
	}
	return vm.ToValue(p), true
}

func (a *kvAPI) rejected(err error) goja.Value {
	vm := a.inst.rt.VM()
	p, _, reject := vm.NewPromise()
	if e := reject(a.jsError(err)); e != nil {
		a.inst.rt.Check(e)
	}
	return vm.ToValue(p)
}

func (a *kvAPI) countOp() error {
	inv := a.inst.rt.Current()
	if inv == nil {
		return nil
	}
	inv.Ops++
	if inv.Ops > maxOpsPerInvocation {
		return errors.New(errTooManyOps)
	}
	return nil
}

// jsError converts a Go error into the value the platform would reject with.
func (a *kvAPI) jsError(err error) goja.Value {
	vm := a.inst.rt.VM()
	var kerr *kv.Error
	if errors.As(err, &kerr) {
		if kerr.Type == kv.JSTypeError {
			return vm.NewTypeError(kerr.Error())
		}
		return newError(vm, kerr.Error())
	}
	var thrown *webapi.ThrownError
	if errors.As(err, &thrown) {
		return thrown.Value
	}
	if err.Error() == errTooManyOps {
		return newError(vm, errTooManyOps)
	}
	a.inst.log.Error("KV operation failed", "error", err)
	return newError(vm, "KV operation failed: 500 Internal Server Error")
}

func newError(vm *goja.Runtime, msg string) goja.Value {
	ctor, _ := goja.AssertConstructor(vm.Get("Error"))
	e, err := ctor(nil, vm.ToValue(msg))
	if err != nil {
		return vm.ToValue(msg)
	}
	return e
}

// readOptions is the second argument of get and getWithMetadata.
type readOptions struct {
	typ      string
	cacheTTL *float64
}

func parseReadOptions(v goja.Value) readOptions {
	o := readOptions{typ: "text"}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return o
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		o.typ = v.String()
		return o
	}
	if t := obj.Get("type"); t != nil && !goja.IsUndefined(t) {
		o.typ = t.String()
	}
	if c := obj.Get("cacheTtl"); c != nil && !goja.IsUndefined(c) {
		f := c.ToFloat()
		o.cacheTTL = &f
	}
	return o
}

func (a *kvAPI) get(ns *kvNamespace, keyArg, optArg goja.Value, withMetadata bool) goja.Value {
	vm := a.inst.rt.VM()
	opts := parseReadOptions(optArg)
	if arr, ok := keyArg.(*goja.Object); ok && arr != nil && arr.ClassName() == "Array" {
		var keys []string
		if err := vm.ExportTo(arr, &keys); err != nil {
			return a.rejected(err)
		}
		return a.getBulk(ns, keys, opts, withMetadata)
	}
	key := keyArg.String()
	if err := kv.ValidateKey(kv.OpGet, key); err != nil {
		return a.rejected(err)
	}
	if opts.cacheTTL != nil {
		if err := kv.ValidateCacheTTL(kv.OpGet, *opts.cacheTTL); err != nil {
			return a.rejected(err)
		}
	}
	convert := func(v any) goja.Value {
		e := v.(*kv.Entry)
		if e == nil {
			if withMetadata {
				return a.withMetadata(goja.Null(), nil)
			}
			return goja.Null()
		}
		val := a.decode(e.Value, opts.typ)
		if withMetadata {
			return a.withMetadata(val, e.Metadata)
		}
		return val
	}
	if p, ok := a.cachedGet(ns, key, convert); ok {
		return p
	}
	return a.async(func(ctx context.Context) (any, error) {
		return ns.store.Get(ctx, ns.id, key)
	}, convert)
}

func (a *kvAPI) withMetadata(value goja.Value, md json.RawMessage) goja.Value {
	vm := a.inst.rt.VM()
	obj := vm.NewObject()
	_ = obj.Set("value", value)
	_ = obj.Set("metadata", a.parseJSON(md))
	_ = obj.Set("cacheStatus", goja.Null())
	return obj
}

func (a *kvAPI) parseJSON(raw json.RawMessage) goja.Value {
	vm := a.inst.rt.VM()
	if raw == nil {
		return goja.Null()
	}
	parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	v, err := parse(goja.Undefined(), vm.ToValue(string(raw)))
	if err != nil {
		panic(err)
	}
	return v
}

// decode converts a stored value to the requested type; it throws the
// platform's TypeError for an unknown type.
func (a *kvAPI) decode(data []byte, typ string) goja.Value {
	vm := a.inst.rt.VM()
	switch typ {
	case "text":
		return vm.ToValue(decodeText(data))
	case "json":
		return a.parseJSON(data)
	case "arrayBuffer":
		return vm.ToValue(vm.NewArrayBuffer(data))
	case "stream":
		return a.inst.apis.Fetch.NewReadableStream(nopCloser{strings.NewReader(string(data))})
	}
	panic(vm.NewTypeError(`Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`))
}

func (a *kvAPI) getBulk(ns *kvNamespace, keys []string, opts readOptions, withMetadata bool) goja.Value {
	if opts.typ != "text" && opts.typ != "json" {
		return a.rejected(&kv.Error{Op: kv.OpGetBulk, Status: 400, Message: fmt.Sprintf(`"%s" is not a valid type. Use "json" or "text"`, opts.typ), Type: kv.JSError})
	}
	if err := kv.ValidateGetMany(keys); err != nil {
		return a.rejected(err)
	}
	if opts.cacheTTL != nil {
		if err := kv.ValidateCacheTTL(kv.OpGetBulk, *opts.cacheTTL); err != nil {
			return a.rejected(err)
		}
	}
	return a.async(func(ctx context.Context) (any, error) {
		entries, err := ns.store.GetMany(ctx, ns.id, keys)
		if err != nil {
			return nil, err
		}
		total := 0
		for _, e := range entries {
			if e != nil {
				total += len(e.Value)
			}
		}
		if total > kv.MaxValueBytes {
			return nil, &kv.Error{Op: kv.OpGetBulk, Status: 413, Message: fmt.Sprintf("Total size of request exceeds the limit of %dMB", kv.MaxValueBytes/1024/1024), Type: kv.JSError}
		}
		if opts.typ == "json" {
			for _, e := range entries {
				if e != nil && !json.Valid(e.Value) {
					return nil, &kv.Error{Op: kv.OpGetBulk, Status: 400, Message: "At least one of the requested keys corresponds to a non-json value", Type: kv.JSError}
				}
			}
		}
		return entries, nil
	}, func(v any) goja.Value {
		vm := a.inst.rt.VM()
		entries := v.(map[string]*kv.Entry)
		m, err := vm.New(vm.Get("Map"))
		if err != nil {
			panic(err)
		}
		set, _ := goja.AssertFunction(m.Get("set"))
		for _, k := range keys {
			e := entries[k]
			var val goja.Value = goja.Null()
			if e != nil {
				val = a.decode(e.Value, opts.typ)
				if withMetadata {
					obj := vm.NewObject()
					_ = obj.Set("value", val)
					_ = obj.Set("metadata", a.parseJSON(e.Metadata))
					val = obj
				}
			}
			if _, err := set(m, vm.ToValue(k), val); err != nil {
				panic(err)
			}
		}
		return m
	})
}

// expirationOption reads expiration or expirationTtl: numbers, or strings
// holding numbers (the runtime converts them to integers).
func expirationOption(obj *goja.Object, name string) (int64, bool) {
	v := obj.Get(name)
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0, false
	}
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true
	}
	return int64(f), true
}

func (a *kvAPI) put(ns *kvNamespace, keyArg, valueArg, optArg goja.Value) goja.Value {
	vm := a.inst.rt.VM()
	key := keyArg.String()
	if err := kv.ValidateKey(kv.OpPut, key); err != nil {
		return a.rejected(err)
	}
	var opts kv.PutOptions
	if o, ok := optArg.(*goja.Object); ok && o != nil {
		opts.Expiration, opts.ExpirationSet = expirationOption(o, "expiration")
		opts.ExpirationTTL, opts.ExpirationTTLSet = expirationOption(o, "expirationTtl")
		if md := o.Get("metadata"); md != nil && !goja.IsUndefined(md) && !goja.IsNull(md) {
			stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
			s, err := stringify(goja.Undefined(), md)
			if err != nil {
				return a.rejected(&webapi.ThrownError{Value: thrownValue(err)})
			}
			if !goja.IsUndefined(s) {
				opts.Metadata = json.RawMessage(s.String())
			}
		}
	}
	write := func(value []byte) goja.Value {
		return a.async(func(ctx context.Context) (any, error) {
			return nil, ns.store.Put(ctx, ns.id, key, value, opts)
		}, func(any) goja.Value { return goja.Undefined() })
	}
	obj, isObj := valueArg.(*goja.Object)
	if !isObj || obj == nil {
		// Primitives are converted to strings, as the runtime does.
		return write([]byte(valueArg.String()))
	}
	if b, ok := webapi.BytesOf(vm, obj); ok {
		return write(b)
	}
	if a.inst.apis.Fetch.IsReadableStream(obj) {
		p, resolve, _ := vm.NewPromise()
		a.inst.apis.Fetch.ReadAll(obj, func(data []byte, err error) {
			// Resolving with the write's promise adopts its outcome.
			var next goja.Value
			if err != nil {
				next = a.rejected(err)
			} else {
				next = write(data)
			}
			if e := resolve(next); e != nil {
				a.inst.rt.Check(e)
			}
		})
		return vm.ToValue(p)
	}
	return a.rejected(&kv.Error{Message: "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.", Type: kv.JSTypeError})
}

func thrownValue(err error) goja.Value {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	return nil
}

func (a *kvAPI) del(ns *kvNamespace, keyArg goja.Value) goja.Value {
	key := keyArg.String()
	if err := kv.ValidateKey(kv.OpDelete, key); err != nil {
		return a.rejected(err)
	}
	return a.async(func(ctx context.Context) (any, error) {
		return nil, ns.store.Delete(ctx, ns.id, key)
	}, func(any) goja.Value { return goja.Undefined() })
}

func (a *kvAPI) list(ns *kvNamespace, optArg goja.Value) goja.Value {
	var opts kv.ListOptions
	if o, ok := optArg.(*goja.Object); ok && o != nil {
		if v := o.Get("prefix"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			opts.Prefix = v.String()
		}
		if v := o.Get("limit"); v != nil && !goja.IsUndefined(v) {
			opts.Limit = int(v.ToInteger())
		}
		if v := o.Get("cursor"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			opts.Cursor = v.String()
		}
	}
	if _, err := kv.ValidateListOptions(opts); err != nil {
		return a.rejected(err)
	}
	return a.async(func(ctx context.Context) (any, error) {
		return ns.store.List(ctx, ns.id, opts)
	}, func(v any) goja.Value {
		vm := a.inst.rt.VM()
		res := v.(kv.ListResult)
		keys := make([]any, len(res.Keys))
		for i, k := range res.Keys {
			o := vm.NewObject()
			_ = o.Set("name", k.Name)
			if k.Expiration != 0 {
				_ = o.Set("expiration", k.Expiration)
			}
			if k.Metadata != nil {
				_ = o.Set("metadata", a.parseJSON(k.Metadata))
			}
			keys[i] = o
		}
		out := vm.NewObject()
		_ = out.Set("keys", vm.NewArray(keys...))
		_ = out.Set("list_complete", res.ListComplete)
		if !res.ListComplete {
			_ = out.Set("cursor", res.Cursor)
		}
		_ = out.Set("cacheStatus", goja.Null())
		return out
	})
}

// kvBindings makes the env objects of the Worker's KV namespaces.
func (w *Worker) kvBindings(inst *instance, env *goja.Object) error {
	if len(w.spec.KVNamespaces) == 0 {
		return nil
	}
	if w.spec.KV == nil {
		return errors.New("the Worker binds KV namespaces but no KV store is configured")
	}
	api := defineKVNamespace(inst)
	for _, b := range w.spec.KVNamespaces {
		obj := api.class.New(&kvNamespace{store: w.spec.KV, id: b.NamespaceID})
		if err := env.Set(b.Name, obj); err != nil {
			return err
		}
	}
	return nil
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// decodeText is UTF-8 decoding with replacement, as the runtime reads text.
func decodeText(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }
