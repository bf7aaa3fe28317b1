package webapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/dop251/goja"
)

// headerGuard is the Fetch standard's headers guard.
type headerGuard int

const (
	guardNone headerGuard = iota
	guardImmutable
)

type headerEntry struct{ name, value string } // name is lower case

// headers is the Go implementation of a Headers object: an ordered list of
// lower-cased names and values. Headers that come from Go (a request kiln
// received, a response passed on) keep the net/http map they came from
// and build the list only if a script looks at them: most requests and
// responses travel through a Worker without their headers being read, and
// then httpHeader copies the map as it is.
type headers struct {
	items []headerEntry // read through all()
	src   http.Header   // non-nil: items not built yet; never modified
	guard headerGuard
}

// all returns the entries, building them from src first if needed.
func (h *headers) all() []headerEntry {
	if h.src != nil {
		src := h.src
		h.src = nil
		h.items = make([]headerEntry, 0, len(src))
		keys := make([]string, 0, len(src))
		for k := range src {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := strings.ToLower(k)
			for _, v := range src[k] {
				h.items = append(h.items, headerEntry{name, v})
			}
		}
	}
	return h.items
}

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

// normalizeValue strips leading and trailing HTTP whitespace and reports
// whether what is left is a valid header value.
func normalizeValue(v string) (string, bool) {
	v = strings.Trim(v, " \t\r\n")
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\r' || c == '\n' {
			return v, false
		}
	}
	return v, true
}

func (h *headers) get(name string) (string, bool) {
	var parts []string
	for _, e := range h.all() {
		if e.name == name {
			parts = append(parts, e.value)
		}
	}
	if parts == nil {
		return "", false
	}
	return strings.Join(parts, ", "), true
}

// getOr returns the combined value of name, or "".
func (h *headers) getOr(name string) string {
	v, _ := h.get(name)
	return v
}

func (h *headers) has(name string) bool {
	for _, e := range h.all() {
		if e.name == name {
			return true
		}
	}
	return false
}

func (h *headers) del(name string) {
	list := h.all()
	out := list[:0]
	for _, e := range list {
		if e.name != name {
			out = append(out, e)
		}
	}
	h.items = out
}

func (h *headers) set(name, value string) {
	list := h.all()
	for i, e := range list {
		if e.name == name {
			list[i].value = value
			h.del2(name, i)
			return
		}
	}
	h.items = append(list, headerEntry{name, value})
}

// del2 removes every entry named name after index keep.
func (h *headers) del2(name string, keep int) {
	list := h.all()
	out := list[:keep+1]
	for _, e := range list[keep+1:] {
		if e.name != name {
			out = append(out, e)
		}
	}
	h.items = out
}

func (h *headers) add(name, value string) {
	h.items = append(h.all(), headerEntry{name, value})
}

// sorted returns the name/value pairs a Headers iterator yields: names sorted,
// values of one name combined, except set-cookie which is never combined.
func (h *headers) sorted() [][2]string {
	list := h.all()
	names := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, e := range list {
		if !seen[e.name] {
			seen[e.name] = true
			names = append(names, e.name)
		}
	}
	sort.Strings(names)
	out := make([][2]string, 0, len(names))
	for _, n := range names {
		if n == "set-cookie" {
			for _, e := range list {
				if e.name == n {
					out = append(out, [2]string{n, e.value})
				}
			}
			continue
		}
		v, _ := h.get(n)
		out = append(out, [2]string{n, v})
	}
	return out
}

func (h *headers) clone() *headers {
	if h.src != nil {
		return &headers{src: h.src} // src is never modified: both may keep it
	}
	return &headers{items: append([]headerEntry(nil), h.items...)}
}

// httpHeader converts the list into a new net/http header map. The values
// are copied into one backing array rather than one slice per name; each
// name's slice is capped, so that appending to it reallocates instead of
// overwriting the next name's values.
func (h *headers) httpHeader() http.Header {
	if h.src != nil && canonicalMap(h.src) {
		n := 0
		for _, vs := range h.src {
			n += len(vs)
		}
		dst := make(http.Header, len(h.src))
		backing := make([]string, 0, n)
		for k, vs := range h.src {
			start := len(backing)
			backing = append(backing, vs...)
			dst[k] = backing[start:len(backing):len(backing)]
		}
		return dst
	}
	all := h.all()
	dst := make(http.Header, len(all))
	backing := make([]string, len(all))
	for i, e := range all {
		k := http.CanonicalHeaderKey(e.name)
		if len(dst[k]) > 0 { // a name repeated in the list
			dst[k] = append(dst[k], e.value)
			continue
		}
		backing[i] = e.value
		dst[k] = backing[i : i+1 : i+1]
	}
	return dst
}

// canonicalMap reports whether every name in m is a valid name in its
// canonical form and has a value: then m, copied as it is, is what the list
// built from it would convert back to (net/http's maps always are).
func canonicalMap(m http.Header) bool {
	for k, vs := range m {
		if len(vs) == 0 || !validName(k) || http.CanonicalHeaderKey(k) != k {
			return false
		}
	}
	return true
}

// headersFromHTTP makes headers of a net/http header map: names lower-cased
// and sorted, so that the order is deterministic. The map is kept, and
// read when the headers are first used: the caller must not change it
// afterwards.
func headersFromHTTP(src http.Header, guard headerGuard) *headers {
	if len(src) == 0 {
		return &headers{guard: guard}
	}
	return &headers{src: src, guard: guard}
}

// headersAPI holds the Headers class of one runtime.
type headersAPI struct {
	vm    *goja.Runtime
	class *Class
}

func installHeaders(vm *goja.Runtime) *headersAPI {
	api := &headersAPI{vm: vm}
	c := DefineClass(vm, "Headers", func(call goja.ConstructorCall) any {
		h := &headers{}
		api.fill(h, call.Argument(0))
		return h
	}, nil)
	api.class = c
	this := func(v goja.Value) *headers { return MustImpl[*headers](vm, v) }
	name := func(v goja.Value) string {
		n := v.String()
		if !validName(n) {
			ThrowTypeError(vm, "Invalid header name.")
		}
		return strings.ToLower(n)
	}
	value := func(v goja.Value) string {
		s, ok := normalizeValue(v.String())
		if !ok {
			ThrowTypeError(vm, "Invalid header value.")
		}
		return s
	}
	mutable := func(h *headers) {
		if h.guard == guardImmutable {
			ThrowTypeError(vm, "Can't modify immutable headers.")
		}
	}
	args := func(call goja.FunctionCall, method string, n int) {
		if len(call.Arguments) < n {
			ThrowTypeError(vm, "Failed to execute '%s' on 'Headers': %d arguments required, but only %d present.", method, n, len(call.Arguments))
		}
	}
	c.Method("append", 2, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		args(call, "append", 2)
		n, v := name(call.Argument(0)), value(call.Argument(1))
		mutable(h)
		h.add(n, v)
		return goja.Undefined()
	})
	c.Method("set", 2, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		args(call, "set", 2)
		n, v := name(call.Argument(0)), value(call.Argument(1))
		mutable(h)
		h.set(n, v)
		return goja.Undefined()
	})
	c.Method("delete", 1, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		args(call, "delete", 1)
		n := name(call.Argument(0))
		mutable(h)
		h.del(n)
		return goja.Undefined()
	})
	c.Method("get", 1, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		args(call, "get", 1)
		if v, ok := h.get(name(call.Argument(0))); ok {
			return vm.ToValue(v)
		}
		return goja.Null()
	})
	c.Method("getAll", 1, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		n := name(call.Argument(0))
		if n != "set-cookie" {
			ThrowTypeError(vm, "getAll() can only be used with the header name \"Set-Cookie\".")
		}
		return api.values(h, n)
	})
	c.Method("getSetCookie", 0, func(call goja.FunctionCall) goja.Value {
		return api.values(this(call.This), "set-cookie")
	})
	c.Method("has", 1, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		args(call, "has", 1)
		return vm.ToValue(h.has(name(call.Argument(0))))
	})
	c.Method("forEach", 1, func(call goja.FunctionCall) goja.Value {
		h := this(call.This)
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			ThrowTypeError(vm, "Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.")
		}
		for _, kv := range h.sorted() {
			if _, err := fn(call.Argument(1), vm.ToValue(kv[1]), vm.ToValue(kv[0]), call.This); err != nil {
				panic(err)
			}
		}
		return goja.Undefined()
	})
	iter := func(kind string) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			pairs := this(call.This).sorted()
			items := make([]any, len(pairs))
			for i, kv := range pairs {
				switch kind {
				case "keys":
					items[i] = kv[0]
				case "values":
					items[i] = kv[1]
				default:
					items[i] = vm.NewArray(kv[0], kv[1])
				}
			}
			return arrayIterator(vm, vm.NewArray(items...))
		}
	}
	c.Method("keys", 0, iter("keys"))
	c.Method("values", 0, iter("values"))
	c.Method("entries", 0, iter("entries"))
	_ = c.Proto.DefineDataPropertySymbol(goja.SymIterator, c.Proto.Get("entries"), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	c.Expose()
	return api
}

func (api *headersAPI) values(h *headers, name string) goja.Value {
	var out []any
	for _, e := range h.all() {
		if e.name == name {
			out = append(out, e.value)
		}
	}
	return api.vm.NewArray(out...)
}

// fill adds init (a Headers, a sequence of pairs, or a record) to h.
func (api *headersAPI) fill(h *headers, init goja.Value) {
	vm := api.vm
	if init == nil || goja.IsUndefined(init) || goja.IsNull(init) {
		return
	}
	obj, ok := init.(*goja.Object)
	if !ok {
		ThrowTypeError(vm, "Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.")
	}
	add := func(n, v goja.Value) {
		name := n.String()
		if !validName(name) {
			ThrowTypeError(vm, "Invalid header name.")
		}
		val, ok := normalizeValue(v.String())
		if !ok {
			ThrowTypeError(vm, "Invalid header value.")
		}
		h.add(strings.ToLower(name), val)
	}
	if other, ok := Impl[*headers](obj); ok {
		h.items = append(h.all(), other.all()...)
		return
	}
	if iterFn, ok := goja.AssertFunction(obj.GetSymbol(goja.SymIterator)); ok {
		forEachIterated(vm, iterFn, obj, func(item goja.Value) {
			pair, ok := item.(*goja.Object)
			if !ok {
				ThrowTypeError(vm, "Failed to construct 'Headers': The provided value cannot be converted to a sequence.")
			}
			if pair.Get("length").ToInteger() != 2 {
				ThrowTypeError(vm, "Failed to construct 'Headers': Invalid value")
			}
			add(pair.Get("0"), pair.Get("1"))
		})
		return
	}
	for _, k := range obj.Keys() {
		add(vm.ToValue(k), obj.Get(k))
	}
}

// forEachIterated walks an iterable with the iterator protocol.
func forEachIterated(vm *goja.Runtime, iterFn goja.Callable, obj *goja.Object, fn func(goja.Value)) {
	itv, err := iterFn(obj)
	if err != nil {
		panic(err)
	}
	it := itv.ToObject(vm)
	next, ok := goja.AssertFunction(it.Get("next"))
	if !ok {
		ThrowTypeError(vm, "iterator.next is not a function")
	}
	for {
		r, err := next(it)
		if err != nil {
			panic(err)
		}
		res := r.ToObject(vm)
		if res.Get("done").ToBoolean() {
			return
		}
		fn(res.Get("value"))
	}
}

// arrayIterator returns arr[Symbol.iterator](): a real iterator object.
func arrayIterator(vm *goja.Runtime, arr *goja.Object) goja.Value {
	fn, _ := goja.AssertFunction(arr.GetSymbol(goja.SymIterator))
	it, err := fn(arr)
	if err != nil {
		panic(err)
	}
	return it
}
