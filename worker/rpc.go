package worker

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/structuredclone"
)

// exports is the table of values one side of an RPC call passes by
// reference (functions, RpcTarget instances): the other side gets proxies
// whose calls run on the owner's runtime. The table lives as long as the
// call that created it: afterwards the proxies fail (a forwarded stub lasts
// only for its execution context).
type exports struct {
	rt  *js.Runtime
	inv *js.Invocation

	mu     sync.Mutex
	values []goja.Value
	closed bool
}

var errStubDisposed = errors.New("RPC stub used after the call that created it ended")

func newExports(rt *js.Runtime) *exports {
	return &exports{rt: rt, inv: rt.Current()}
}

func (x *exports) close() {
	x.mu.Lock()
	x.closed = true
	x.values = nil
	x.mu.Unlock()
}

// serialize encodes v in RPC mode on x's runtime, exporting what cannot be
// copied. Loop of x.rt only.
func (x *exports) serialize(v goja.Value) ([]byte, error) {
	inst, _ := x.rt.Host.(*instance)
	var target *goja.Object
	if inst != nil && inst.host != nil {
		target, _ = inst.host.Get("RpcTarget").(*goja.Object)
	}
	return structuredclone.Serialize(x.rt.VM(), v, structuredclone.Options{
		RPC:       true,
		RpcTarget: target,
		Capture: func(obj *goja.Object, kind structuredclone.CapabilityKind) (uint32, error) {
			if kind == structuredclone.CapabilityHostObject {
				return 0, structuredclone.ErrNotCapturable
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			x.values = append(x.values, obj)
			return uint32(len(x.values) - 1), nil
		},
	})
}

// deserialize decodes data on runtime rt, making proxies for the values x
// exported. Loop of rt only.
func (x *exports) deserialize(rt *js.Runtime, data []byte) (goja.Value, error) {
	return structuredclone.DeserializeWith(rt.VM(), data, structuredclone.DeserializeOptions{
		Resolve: func(kind structuredclone.CapabilityKind, index uint32) (goja.Value, error) {
			switch kind {
			case structuredclone.CapabilityFunction:
				return x.proxyFunction(rt, index, ""), nil
			case structuredclone.CapabilityRpcTarget:
				return rt.VM().NewDynamicObject(&targetProxy{x: x, rt: rt, index: index, fns: map[string]goja.Value{}}), nil
			}
			return nil, fmt.Errorf("cannot pass a %s over RPC", kind)
		},
	})
}

// proxyFunction returns, on runtime rt, a function that calls the exported
// value index (or its method, if method is set) on x's runtime.
func (x *exports) proxyFunction(rt *js.Runtime, index uint32, method string) goja.Value {
	vm := rt.VM()
	return vm.ToValue(func(c goja.FunctionCall) goja.Value {
		p, resolve, reject := vm.NewPromise()
		args := vm.NewArray()
		for i, a := range c.Arguments {
			_ = args.Set(fmt.Sprint(i), a)
		}
		back := newExports(rt)
		data, err := back.serialize(args)
		if err != nil {
			_ = reject(cloneErrorValue(vm, err))
			return vm.ToValue(p)
		}
		finish := rt.Hold()
		fail := func(err error) {
			finish(func() {
				back.close()
				if e := reject(newError(vm, err.Error())); e != nil {
					rt.Check(e)
				}
			})
		}
		x.mu.Lock()
		closed := x.closed || int(index) >= len(x.values)
		var target goja.Value
		if !closed {
			target = x.values[index]
		}
		x.mu.Unlock()
		if closed {
			fail(errStubDisposed)
			return vm.ToValue(p)
		}
		ok := x.rt.Submit(x.inv, func() {
			owner := x.rt.VM()
			argv, err := back.deserialize(x.rt, data)
			if err != nil {
				fail(err)
				return
			}
			arr := argv.ToObject(owner)
			n := arr.Get("length").ToInteger()
			callArgs := make([]goja.Value, n)
			for i := range callArgs {
				callArgs[i] = arr.Get(fmt.Sprint(i))
			}
			this := goja.Undefined()
			fnVal := target
			if method != "" {
				obj := target.ToObject(owner)
				this, fnVal = obj, obj.Get(method)
			}
			fn, ok := goja.AssertFunction(fnVal)
			if !ok {
				fail(fmt.Errorf("\"%s\" is not a function.", method))
				return
			}
			v, err := fn(this, callArgs...)
			if err != nil {
				fail(js.AsError(err))
				return
			}
			inst := x.rt.Host.(*instance)
			inst.w.await(inst, v, func(val goja.Value, err error) {
				if err != nil {
					fail(err)
					return
				}
				result, err := x.serialize(val)
				if err != nil {
					fail(err)
					return
				}
				finish(func() {
					back.close()
					out, err := x.deserialize(rt, result)
					if err != nil {
						_ = reject(newError(vm, err.Error()))
						return
					}
					if e := resolve(out); e != nil {
						rt.Check(e)
					}
				})
			})
		})
		if !ok {
			fail(js.ErrRuntimeGone)
		}
		return vm.ToValue(p)
	})
}

// targetProxy stands for an RpcTarget on another runtime: its properties
// are remote methods.
type targetProxy struct {
	x     *exports
	rt    *js.Runtime
	index uint32
	fns   map[string]goja.Value
}

func (t *targetProxy) Get(key string) goja.Value {
	switch key {
	case "then", "constructor", "toJSON", "valueOf", "toString":
		return nil
	}
	if f, ok := t.fns[key]; ok {
		return f
	}
	f := t.x.proxyFunction(t.rt, t.index, key)
	t.fns[key] = f
	return f
}
func (t *targetProxy) Set(string, goja.Value) bool { return false }
func (t *targetProxy) Has(string) bool             { return false }
func (t *targetProxy) Delete(string) bool          { return false }
func (t *targetProxy) Keys() []string              { return nil }
