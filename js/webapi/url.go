package webapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dop251/goja"

	"github.com/kiln-dev/kiln/internal/whatwgurl"
)

// Error texts of workerd (src/workerd/api/url-standard.c++ and jsg's setter
// type errors), which Workers code may match on.
const (
	errInvalidURL      = "Invalid URL string."
	errInvalidHref     = "Failed to set the 'href' property on 'URL': the provided value is not of type 'valid URL string'."
	errInvalidSequence = "Invalid URL search params sequence."
)

// urlObject is the Go side of a URL instance.
type urlObject struct {
	u *whatwgurl.URL
	// params is the URLSearchParams object of searchParams, created on first
	// access so that it stays the same object afterwards.
	params    *goja.Object
	paramsImp *searchParams
}

// searchParams is the Go side of a URLSearchParams instance: its list of
// name-value pairs and, when it belongs to a URL, that URL.
type searchParams struct {
	list [][2]string
	url  *urlObject
}

// update runs the URL Standard's "update steps": the URL's query becomes the
// serialized list (null when it serializes to "").
func (p *searchParams) update() {
	if p.url != nil {
		p.url.u.SetSearch(whatwgurl.SerializeQuery(p.list))
	}
}

// iterKind selects what a URLSearchParams iterator yields.
type iterKind int

const (
	iterEntries iterKind = iota
	iterKeys
	iterValues
)

// paramsIterator iterates a URLSearchParams live, as Web IDL's pair
// iterators do: it reads the list at each next().
type paramsIterator struct {
	p     *searchParams
	kind  iterKind
	index int
}

// urlAPI holds the per-runtime pieces the URL classes share.
type urlAPI struct {
	vm        *goja.Runtime
	url       *Class
	params    *Class
	iterProto *goja.Object
}

func installURL(vm *goja.Runtime, _ *goja.Object) error {
	api := &urlAPI{vm: vm}
	if err := api.defineIteratorProto(); err != nil {
		return fmt.Errorf("URLSearchParams iterator: %w", err)
	}
	api.defineSearchParams()
	api.defineURL()
	api.url.Expose()
	api.params.Expose()
	return nil
}

// usv converts a value to a USVString (lone surrogates become U+FFFD).
func (api *urlAPI) usv(v goja.Value) string {
	if _, ok := v.(*goja.Symbol); ok {
		ThrowTypeError(api.vm, "Cannot convert a Symbol value to a string")
	}
	return v.String()
}

func (api *urlAPI) requireArgs(call goja.FunctionCall, n int, what string) {
	if len(call.Arguments) < n {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		ThrowTypeError(api.vm, "Failed to %s: %d argument%s required, but only %d present.", what, n, plural, len(call.Arguments))
	}
}

// parse runs the URL parser on url against base (undefined when absent).
func (api *urlAPI) parse(url, base goja.Value) (*whatwgurl.URL, bool) {
	var b *whatwgurl.URL
	if base != nil && !goja.IsUndefined(base) {
		parsed, err := whatwgurl.Parse(api.usv(base), nil)
		if err != nil {
			return nil, false
		}
		b = parsed
	}
	u, err := whatwgurl.Parse(api.usv(url), b)
	if err != nil {
		return nil, false
	}
	return u, true
}

func (api *urlAPI) str(s string) goja.Value { return api.vm.ToValue(s) }

func (api *urlAPI) defineURL() {
	vm := api.vm
	c := DefineClass(vm, "URL", func(call goja.ConstructorCall) any {
		if len(call.Arguments) < 1 {
			ThrowTypeError(vm, "Failed to construct 'URL': 1 argument required, but only 0 present.")
		}
		u, ok := api.parse(call.Argument(0), call.Argument(1))
		if !ok {
			ThrowTypeError(vm, errInvalidURL)
		}
		return &urlObject{u: u}
	}, nil)
	api.url = c
	this := func(v goja.Value) *urlObject { return MustImpl[*urlObject](vm, v) }

	c.Static("canParse", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, "execute 'canParse' on 'URL'")
		_, ok := api.parse(call.Argument(0), call.Argument(1))
		return vm.ToValue(ok)
	})
	c.Static("parse", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, "execute 'parse' on 'URL'")
		u, ok := api.parse(call.Argument(0), call.Argument(1))
		if !ok {
			return goja.Null()
		}
		return c.New(&urlObject{u: u})
	})

	c.Accessor("href", func(v goja.Value) goja.Value { return api.str(this(v).u.Href()) },
		func(v, val goja.Value) {
			o := this(v)
			if err := o.u.SetHref(api.usv(val)); err != nil {
				ThrowTypeError(vm, errInvalidHref)
			}
			if o.paramsImp != nil {
				o.paramsImp.list = nil
				if q, ok := o.u.Query(); ok {
					o.paramsImp.list = whatwgurl.ParseQuery(q)
				}
			}
		})
	c.Getter("origin", func(v goja.Value) goja.Value { return api.str(this(v).u.Origin()) })
	type field struct {
		name string
		get  func(*whatwgurl.URL) string
		set  func(*whatwgurl.URL, string)
	}
	for _, f := range []field{
		{"protocol", (*whatwgurl.URL).Protocol, (*whatwgurl.URL).SetProtocol},
		{"username", (*whatwgurl.URL).Username, (*whatwgurl.URL).SetUsername},
		{"password", (*whatwgurl.URL).Password, (*whatwgurl.URL).SetPassword},
		{"host", (*whatwgurl.URL).Host, (*whatwgurl.URL).SetHost},
		{"hostname", (*whatwgurl.URL).Hostname, (*whatwgurl.URL).SetHostname},
		{"port", (*whatwgurl.URL).Port, (*whatwgurl.URL).SetPort},
		{"pathname", (*whatwgurl.URL).Pathname, (*whatwgurl.URL).SetPathname},
	} {
		c.Accessor(f.name, func(v goja.Value) goja.Value { return api.str(f.get(this(v).u)) },
			func(v, val goja.Value) { f.set(this(v).u, api.usv(val)) })
	}
	c.Accessor("search", func(v goja.Value) goja.Value { return api.str(this(v).u.Search()) },
		func(v, val goja.Value) {
			o := this(v)
			s := api.usv(val)
			o.u.SetSearch(s)
			if o.paramsImp != nil {
				o.paramsImp.list = whatwgurl.ParseQuery(strings.TrimPrefix(s, "?"))
			}
		})
	c.Getter("searchParams", func(v goja.Value) goja.Value {
		o := this(v)
		if o.params == nil {
			p := &searchParams{url: o}
			if q, ok := o.u.Query(); ok {
				p.list = whatwgurl.ParseQuery(q)
			}
			o.paramsImp = p
			o.params = api.params.New(p)
		}
		return o.params
	})
	c.Accessor("hash", func(v goja.Value) goja.Value { return api.str(this(v).u.Hash()) },
		func(v, val goja.Value) { this(v).u.SetHash(api.usv(val)) })
	c.Method("toJSON", 0, func(call goja.FunctionCall) goja.Value { return api.str(this(call.This).u.Href()) })
	c.Method("toString", 0, func(call goja.FunctionCall) goja.Value { return api.str(this(call.This).u.Href()) })
}

// defineIteratorProto creates the prototype of URLSearchParams iterators,
// which inherits from %IteratorPrototype% (so iterators are iterable).
func (api *urlAPI) defineIteratorProto() error {
	vm := api.vm
	arr := vm.NewArray()
	iterFn, ok := goja.AssertFunction(arr.GetSymbol(goja.SymIterator))
	if !ok {
		return fmt.Errorf("array values have no Symbol.iterator function")
	}
	it, err := iterFn(arr)
	if err != nil {
		return fmt.Errorf("creating an array iterator: %w", err)
	}
	arrayIterProto := it.ToObject(vm).Prototype()
	if arrayIterProto == nil || arrayIterProto.Prototype() == nil {
		return fmt.Errorf("%%IteratorPrototype%% not found")
	}
	proto := vm.NewObject()
	if err := proto.SetPrototype(arrayIterProto.Prototype()); err != nil {
		return fmt.Errorf("setting the iterator prototype: %w", err)
	}
	next := vm.ToValue(func(call goja.FunctionCall) goja.Value {
		it := MustImpl[*paramsIterator](vm, call.This)
		res := vm.NewObject()
		if it.index >= len(it.p.list) {
			_ = res.Set("value", goja.Undefined())
			_ = res.Set("done", true)
			return res
		}
		kv := it.p.list[it.index]
		it.index++
		var value goja.Value
		switch it.kind {
		case iterKeys:
			value = vm.ToValue(kv[0])
		case iterValues:
			value = vm.ToValue(kv[1])
		default:
			value = vm.NewArray(kv[0], kv[1])
		}
		_ = res.Set("value", value)
		_ = res.Set("done", false)
		return res
	}).(*goja.Object)
	_ = next.DefineDataProperty("name", vm.ToValue("next"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = proto.DefineDataProperty("next", next, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	_ = proto.DefineDataPropertySymbol(goja.SymToStringTag, vm.ToValue("URLSearchParams Iterator"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	api.iterProto = proto
	return nil
}

func (api *urlAPI) defineSearchParams() {
	vm := api.vm
	c := DefineClass(vm, "URLSearchParams", func(call goja.ConstructorCall) any {
		return &searchParams{list: api.initList(call.Argument(0))}
	}, nil)
	api.params = c
	this := func(v goja.Value) *searchParams { return MustImpl[*searchParams](vm, v) }
	method := func(name string) string { return "execute '" + name + "' on 'URLSearchParams'" }

	c.Method("append", 2, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 2, method("append"))
		p := this(call.This)
		p.list = append(p.list, [2]string{api.usv(call.Argument(0)), api.usv(call.Argument(1))})
		p.update()
		return goja.Undefined()
	})
	c.Method("delete", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, method("delete"))
		p := this(call.This)
		name := api.usv(call.Argument(0))
		match := func(kv [2]string) bool { return kv[0] == name }
		if v := call.Argument(1); !goja.IsUndefined(v) {
			value := api.usv(v)
			match = func(kv [2]string) bool { return kv[0] == name && kv[1] == value }
		}
		p.list = slices.DeleteFunc(p.list, match)
		p.update()
		return goja.Undefined()
	})
	c.Method("get", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, method("get"))
		p := this(call.This)
		name := api.usv(call.Argument(0))
		for _, kv := range p.list {
			if kv[0] == name {
				return vm.ToValue(kv[1])
			}
		}
		return goja.Null()
	})
	c.Method("getAll", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, method("getAll"))
		p := this(call.This)
		name := api.usv(call.Argument(0))
		values := []any{}
		for _, kv := range p.list {
			if kv[0] == name {
				values = append(values, kv[1])
			}
		}
		return vm.NewArray(values...)
	})
	c.Method("has", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, method("has"))
		p := this(call.This)
		name := api.usv(call.Argument(0))
		v := call.Argument(1)
		value := ""
		withValue := !goja.IsUndefined(v)
		if withValue {
			value = api.usv(v)
		}
		for _, kv := range p.list {
			if kv[0] == name && (!withValue || kv[1] == value) {
				return vm.ToValue(true)
			}
		}
		return vm.ToValue(false)
	})
	c.Method("set", 2, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 2, method("set"))
		p := this(call.This)
		name, value := api.usv(call.Argument(0)), api.usv(call.Argument(1))
		found := false
		out := p.list[:0]
		for _, kv := range p.list {
			if kv[0] != name {
				out = append(out, kv)
			} else if !found {
				found = true
				out = append(out, [2]string{name, value})
			}
		}
		clear(p.list[len(out):])
		p.list = out
		if !found {
			p.list = append(p.list, [2]string{name, value})
		}
		p.update()
		return goja.Undefined()
	})
	c.Method("sort", 0, func(call goja.FunctionCall) goja.Value {
		p := this(call.This)
		slices.SortStableFunc(p.list, func(a, b [2]string) int { return whatwgurl.CompareUTF16(a[0], b[0]) })
		p.update()
		return goja.Undefined()
	})
	c.Method("toString", 0, func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(whatwgurl.SerializeQuery(this(call.This).list))
	})
	c.Method("forEach", 1, func(call goja.FunctionCall) goja.Value {
		api.requireArgs(call, 1, method("forEach"))
		p := this(call.This)
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			ThrowTypeError(vm, "Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.")
		}
		thisArg := call.Argument(1)
		for i := 0; i < len(p.list); i++ {
			kv := p.list[i]
			if _, err := fn(thisArg, vm.ToValue(kv[1]), vm.ToValue(kv[0]), call.This); err != nil {
				panic(err)
			}
		}
		return goja.Undefined()
	})
	iterMethod := func(kind iterKind) func(call goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			return NewHostObject(vm, api.iterProto, &paramsIterator{p: this(call.This), kind: kind})
		}
	}
	c.Method("entries", 0, iterMethod(iterEntries))
	c.Method("keys", 0, iterMethod(iterKeys))
	c.Method("values", 0, iterMethod(iterValues))
	_ = c.Proto.DefineDataPropertySymbol(goja.SymIterator, c.Proto.Get("entries"), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	c.Getter("size", func(v goja.Value) goja.Value { return vm.ToValue(len(this(v).list)) })
}

// initList converts the URLSearchParams constructor argument: a sequence of
// pairs (any iterable, including another URLSearchParams), a record, or a
// string whose leading "?" is dropped.
func (api *urlAPI) initList(init goja.Value) [][2]string {
	vm := api.vm
	if init == nil || goja.IsUndefined(init) {
		return nil
	}
	obj, isObj := init.(*goja.Object)
	if !isObj {
		return whatwgurl.ParseQuery(strings.TrimPrefix(api.usv(init), "?"))
	}
	if other, ok := Impl[*searchParams](init); ok {
		return slices.Clone(other.list)
	}
	if iter := obj.GetSymbol(goja.SymIterator); iter != nil && !goja.IsUndefined(iter) && !goja.IsNull(iter) {
		var list [][2]string
		vm.ForOf(init, func(item goja.Value) bool {
			if _, ok := item.(*goja.Object); !ok {
				ThrowTypeError(vm, errInvalidSequence)
			}
			var pair []string
			vm.ForOf(item, func(v goja.Value) bool {
				pair = append(pair, api.usv(v))
				return true
			})
			if len(pair) != 2 {
				ThrowTypeError(vm, errInvalidSequence)
			}
			list = append(list, [2]string{pair[0], pair[1]})
			return true
		})
		return list
	}
	var list [][2]string
	for _, key := range obj.Keys() {
		list = append(list, [2]string{key, api.usv(obj.Get(key))})
	}
	return list
}
