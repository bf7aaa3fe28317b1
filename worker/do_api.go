package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/internal/whatwgurl"
	"github.com/kiln-dev/kiln/js"
	"github.com/kiln-dev/kiln/js/structuredclone"
	"github.com/kiln-dev/kiln/js/webapi"
)

// doAPI holds the Durable Object classes of one runtime.
type doAPI struct {
	inst        *instance
	namespace   *webapi.Class
	idClass     *webapi.Class
	stateCls    *webapi.Class
	storage     *webapi.Class
	txnClass    *webapi.Class
	sqlClass    *webapi.Class
	cursorClass *webapi.Class
	// stubFetch is every stub's fetch: one function that serves the stub
	// it is called on, as a prototype method would (workerd's stubs take
	// fetch from their prototype), made at the first use.
	stubFetch goja.Value
}

func (inst *instance) doAPI() *doAPI {
	if inst.do == nil {
		inst.do = defineDurableObjects(inst)
	}
	return inst.do
}

// doNamespace is the Go side of env.MY_DO.
type doNamespace struct {
	reg          *Registry
	binding      DOBinding
	script       string // the script defining the class
	key          string // uniqueKey(script, binding.ClassName), made once
	jurisdiction string
	// named caches idFromName: deriving an ID is two HMAC-SHA256s, and a
	// Worker derives the same few names request after request. Loop only;
	// emptied when it reaches maxNamedIDs, and when the binding resolves
	// to another class than namedFor (the script serving it was redeployed
	// with the class renamed or transferred: another ID space).
	named    map[string]durable.ID
	namedFor *doClass
}

// A namespace binding's idFromName cache holds up to maxNamedIDs names of
// at most maxNamedBytes each: at most about 300 KiB.
const (
	maxNamedIDs   = 1024
	maxNamedBytes = 256
)

// idFromName is env.NS.idFromName(name), from the cache when it can be,
// and the class the ID belongs to.
func (ns *doNamespace) idFromName(name string) (durable.ID, *doClass) {
	cl := ns.class()
	if ns.namedFor != cl {
		ns.named, ns.namedFor = nil, cl
	}
	if id, ok := ns.named[name]; ok {
		return id, cl
	}
	id := cl.idSpace(ns.jurisdiction).FromName(name)
	if len(name) > maxNamedBytes {
		return id, cl
	}
	if ns.named == nil || len(ns.named) >= maxNamedIDs {
		ns.named = make(map[string]durable.ID)
	}
	// A clone: name may be a slice of a much larger script string.
	ns.named[strings.Clone(name)] = id
	return id, cl
}

// doID is the Go side of a DurableObjectId.
type doID struct {
	id           durable.ID
	name         string
	hasName      bool
	class        *doClass
	jurisdiction string
}

// jurisdictions are the values of DurableObjectJurisdiction.
var jurisdictions = []string{"eu", "fedramp", "fedramp-high", "us"}

// idSpace is the ID space of a namespace restricted to jurisdiction j ("" for
// none): the same name gives different IDs in different jurisdictions.
func (cl *doClass) idSpace(j string) durable.IDSpace {
	if j == "" {
		return cl.ids
	}
	return durable.NewIDSpace(cl.key + "#" + j)
}

func defineDurableObjects(inst *instance) *doAPI {
	vm := inst.rt.VM()
	a := &doAPI{inst: inst}

	a.idClass = webapi.DefineClass(vm, "DurableObjectId", nil, nil)
	idOf := func(v goja.Value) *doID { return webapi.MustImpl[*doID](vm, v) }
	a.idClass.Method("toString", 0, func(c goja.FunctionCall) goja.Value { return vm.ToValue(idOf(c.This).id.String()) })
	a.idClass.Method("equals", 1, func(c goja.FunctionCall) goja.Value {
		other, ok := webapi.Impl[*doID](c.Argument(0))
		return vm.ToValue(ok && other.id == idOf(c.This).id)
	})
	a.idClass.Getter("name", func(v goja.Value) goja.Value {
		if id := idOf(v); id.hasName {
			return vm.ToValue(id.name)
		}
		return goja.Undefined()
	})
	a.idClass.Getter("jurisdiction", func(v goja.Value) goja.Value {
		if j := idOf(v).jurisdiction; j != "" {
			return vm.ToValue(j)
		}
		return goja.Undefined()
	})

	a.namespace = webapi.DefineClass(vm, "DurableObjectNamespace", nil, nil)
	nsOf := func(v goja.Value) *doNamespace { return webapi.MustImpl[*doNamespace](vm, v) }
	a.namespace.Method("idFromName", 1, func(c goja.FunctionCall) goja.Value {
		ns := nsOf(c.This)
		name := c.Argument(0).String()
		id, cl := ns.idFromName(name)
		return a.newID(cl, id, name, true, ns.jurisdiction)
	})
	a.namespace.Method("newUniqueId", 1, func(c goja.FunctionCall) goja.Value {
		ns := nsOf(c.This)
		j := ns.jurisdiction
		if o, ok := c.Argument(0).(*goja.Object); ok && o != nil {
			if v := o.Get("jurisdiction"); v != nil && !goja.IsUndefined(v) {
				j = checkJurisdiction(vm, v.String())
			}
		}
		cl := ns.class()
		return a.newID(cl, cl.idSpace(j).Unique(), "", false, j)
	})
	a.namespace.Method("idFromString", 1, func(c goja.FunctionCall) goja.Value {
		ns := nsOf(c.This)
		str := c.Argument(0).String()
		cl := ns.class()
		id, err := cl.idSpace(ns.jurisdiction).Parse(str)
		j := ns.jurisdiction
		if errors.Is(err, durable.ErrIDForNamespace) && ns.jurisdiction == "" {
			// The unrestricted namespace accepts the IDs of every jurisdiction.
			for _, cand := range jurisdictions {
				if jid, jerr := cl.idSpace(cand).Parse(str); jerr == nil {
					id, err, j = jid, nil, cand
					break
				}
			}
		}
		if err != nil {
			webapi.ThrowTypeError(vm, "%s", err.Error())
		}
		return a.newID(cl, id, "", false, j)
	})
	a.namespace.Method("get", 2, func(c goja.FunctionCall) goja.Value {
		ns := nsOf(c.This)
		id, ok := webapi.Impl[*doID](c.Argument(0))
		if !ok {
			webapi.ThrowTypeError(vm, "Failed to execute 'get' on 'DurableObjectNamespace': parameter 1 is not of type 'DurableObjectId'.")
		}
		if id.class != ns.class() || (ns.jurisdiction != "" && id.jurisdiction != ns.jurisdiction) {
			webapi.ThrowTypeError(vm, "%s", durable.ErrIDForNamespace.Error())
		}
		return a.newStub(id)
	})
	a.namespace.Method("getByName", 2, func(c goja.FunctionCall) goja.Value {
		ns := nsOf(c.This)
		name := c.Argument(0).String()
		raw, cl := ns.idFromName(name)
		id := a.newID(cl, raw, name, true, ns.jurisdiction)
		return a.newStub(webapi.MustImpl[*doID](vm, id))
	})
	a.namespace.Method("jurisdiction", 1, func(c goja.FunctionCall) goja.Value {
		ns := *nsOf(c.This)
		ns.jurisdiction = checkJurisdiction(vm, c.Argument(0).String())
		ns.named = nil // names map to other IDs in a jurisdiction
		return a.namespace.New(&ns)
	})

	a.stateCls = webapi.DefineClass(vm, "DurableObjectState", nil, nil)
	a.defineState()
	a.defineHibernation()
	a.defineStorage()
	return a
}

func (ns *doNamespace) class() *doClass {
	return ns.reg.class(ns.key, ns.script, ns.binding.ClassName)
}

func checkJurisdiction(vm *goja.Runtime, j string) string {
	for _, ok := range jurisdictions {
		if j == ok {
			return j
		}
	}
	webapi.ThrowTypeError(vm, "Unknown jurisdiction %q; use one of eu, fedramp, fedramp-high, us.", j)
	return ""
}

func (a *doAPI) newID(cl *doClass, id durable.ID, name string, named bool, jurisdiction string) goja.Value {
	d := &doID{id: id, class: cl, jurisdiction: jurisdiction}
	if named && len(name) <= durable.MaxNameBytes {
		d.name, d.hasName = name, true
	}
	return a.idClass.New(d)
}

// stub is a DurableObjectStub: fetch, id, name, and any other property is
// an RPC method (callable) or property read (awaitable).
type stub struct {
	a   *doAPI
	id  *doID
	mu  sync.Mutex
	gen uint64                // the object generation this stub reached first
	fns map[string]goja.Value // RPC methods, made at first use
}

func (a *doAPI) newStub(id *doID) goja.Value {
	s := &stub{a: a, id: id}
	return a.inst.rt.VM().NewDynamicObject(s)
}

func (s *stub) Get(key string) goja.Value {
	vm := s.a.inst.rt.VM()
	switch key {
	case "id":
		return s.a.idClass.New(s.id)
	case "name":
		if s.id.hasName {
			return vm.ToValue(s.id.name)
		}
		return goja.Undefined()
	case "then", "constructor", "toJSON", "valueOf", "toString", "inspect", "asymmetricMatch", "$$typeof":
		// Not thenable, and not mistaken for a remote method by the
		// language's own protocols (await, JSON, printing).
		return nil
	}
	if key == "fetch" {
		return s.a.fetchMethod()
	}
	if f, ok := s.fns[key]; ok {
		return f
	}
	if s.fns == nil {
		s.fns = map[string]goja.Value{}
	}
	f := s.method(key)
	s.fns[key] = f
	return f
}

// fetchMethod returns the stubs' shared fetch function. Called on something
// that is not a stub (a detached call), it throws as a method of a Web API
// class does.
func (a *doAPI) fetchMethod() goja.Value {
	if a.stubFetch == nil {
		vm := a.inst.rt.VM()
		a.stubFetch = vm.ToValue(func(c goja.FunctionCall) goja.Value {
			obj, _ := c.This.(*goja.Object)
			if obj == nil {
				panic(vm.NewTypeError(webapi.IllegalInvocation))
			}
			s, ok := obj.Export().(*stub)
			if !ok || s.a != a {
				panic(vm.NewTypeError(webapi.IllegalInvocation))
			}
			return s.fetch(c)
		})
	}
	return a.stubFetch
}

func (s *stub) Set(string, goja.Value) bool { return false }
func (s *stub) Has(key string) bool         { return key == "id" || key == "fetch" }
func (s *stub) Delete(string) bool          { return false }
func (s *stub) Keys() []string              { return nil }

// call sends an event to the object and settles the returned promise on
// the caller's loop with convert's result.
func (s *stub) call(run func(l *objectLive, reply func(func() goja.Value), fail func(error), done func())) goja.Value {
	inst := s.a.inst
	vm := inst.rt.VM()
	p, resolve, reject := vm.NewPromise()
	finish := inst.rt.Hold()
	if err := countOp(inst.rt); err != nil {
		finish(nil)
		_ = reject(newError(vm, err.Error()))
		return vm.ToValue(p)
	}
	obj := s.id.class.object(s.id.id)
	if s.id.hasName {
		obj.mu.Lock()
		obj.name = s.id.name
		obj.mu.Unlock()
	}
	var once sync.Once
	settle := func(fn func()) {
		once.Do(func() {
			finish(func() {
				fn()
			})
		})
	}
	ev := &doEvent{}
	ev.onFail = func(err error) {
		settle(func() {
			if e := reject(s.a.remoteError(err)); e != nil {
				inst.rt.Check(e)
			}
		})
	}
	ev.run = func(l *objectLive, done func()) {
		run(l, func(value func() goja.Value) {
			settle(func() {
				var v goja.Value
				if thrown := webapi.Catch(func() { v = value() }); thrown != nil {
					_ = reject(thrown)
					return
				}
				if e := resolve(v); e != nil {
					inst.rt.Check(e)
				}
			})
		}, ev.fail, done)
	}
	s.mu.Lock()
	ev.stubGen = s.gen
	s.mu.Unlock()
	gen, err := obj.send(ev)
	if err != nil {
		ev.fail(err)
		return vm.ToValue(p)
	}
	s.mu.Lock()
	if s.gen == 0 {
		s.gen = gen
	}
	s.mu.Unlock()
	return vm.ToValue(p)
}

// fetch is stub.fetch(input, init): Fetch semantics, delivered to the
// object's fetch handler.
func (s *stub) fetch(c goja.FunctionCall) goja.Value {
	inst := s.a.inst
	vm := inst.rt.VM()
	var out webapi.OutgoingRequest
	if thrown := webapi.Catch(func() { out = inst.apis.Fetch.RequestParts(c.Argument(0), c.Argument(1)) }); thrown != nil {
		p, _, reject := vm.NewPromise()
		_ = reject(thrown)
		return vm.ToValue(p)
	}
	return s.call(func(l *objectLive, reply func(func() goja.Value), fail func(error), done func()) {
		l.fetchFollowing(out, 0, func(resp *webapi.Response) {
			reply(func() goja.Value { return inst.apis.Fetch.NewResponse(resp, true) })
		}, fail, done)
	})
}

// maxRedirects is how many redirects a stub's fetch follows, as fetch() does.
const maxRedirects = 20

// fetchFollowing calls the object's fetch handler with req and, like
// fetch(), follows redirects it answers with (to the same object: a stub's
// requests always reach its object). Loop only.
func (l *objectLive) fetchFollowing(req webapi.OutgoingRequest, hops int, deliver func(*webapi.Response), fail func(error), done func()) {
	handler, ok := goja.AssertFunction(l.jsObj.Get("fetch"))
	if !ok {
		fail(errors.New("Handler does not export a fetch() function."))
		done()
		return
	}
	jsReq := l.inst.apis.Fetch.NewRequest(webapi.IncomingRequest{Method: req.Method, URL: req.URL, Header: req.Header, Body: req.Body})
	v, err := handler(l.jsObj, jsReq)
	if err != nil {
		fail(l.objectError(err))
		done()
		return
	}
	l.inst.w.awaitOutcome(l.inst, v, func(val goja.Value, err error) {
		if err != nil {
			fail(l.objectError(err))
			done()
			return
		}
		resp, ok := l.inst.apis.Fetch.ResponseOf(val)
		if !ok {
			fail(errors.New("TypeError: Incorrect type for Promise: the Promise did not resolve to 'Response'"))
			done()
			return
		}
		if next, follow := redirectTarget(req, resp); follow {
			if resp.Body != nil {
				_ = resp.Body.Close()
			}
			if req.Redirect == "error" {
				fail(&rpcError{name: "TypeError", message: "Fetch failed: the Durable Object answered with a redirect and the redirect mode is \"error\"."})
				done()
				return
			}
			if hops >= maxRedirects {
				fail(&rpcError{name: "TypeError", message: "Too many redirects."})
				done()
				return
			}
			l.fetchFollowing(next, hops+1, deliver, fail, done)
			return
		}
		l.release(func() { deliver(resp) }, fail, done)
	})
}

// redirectTarget returns the request to send after resp, if resp is a
// redirect that the request's mode follows (Fetch standard rules: 303, and
// 301/302 after POST, become GET without a body; 307/308 resend the body,
// which must be replayable).
func redirectTarget(req webapi.OutgoingRequest, resp *webapi.Response) (webapi.OutgoingRequest, bool) {
	switch resp.Status {
	case 301, 302, 303, 307, 308:
	default:
		return req, false
	}
	loc := resp.Header.Get("Location")
	if loc == "" || req.Redirect == "manual" {
		return req, false
	}
	base, err := whatwgurl.Parse(req.URL, nil)
	if err != nil {
		return req, false
	}
	target, err := whatwgurl.Parse(loc, base)
	if err != nil {
		return req, false
	}
	next := webapi.OutgoingRequest{Method: req.Method, URL: target.Href(), Header: req.Header.Clone(), Redirect: req.Redirect}
	switch {
	case resp.Status == 303 && req.Method != "GET" && req.Method != "HEAD", (resp.Status == 301 || resp.Status == 302) && req.Method == "POST":
		next.Method = "GET"
		for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"} {
			next.Header.Del(h)
		}
	case req.Replayable != nil:
		next.Body = io.NopCloser(bytes.NewReader(req.Replayable))
		next.Replayable = req.Replayable
	case req.Body != nil:
		return req, false // a streamed body cannot be sent twice
	}
	return next, true
}

// reservedMethods cannot be called over RPC (spec/platform.md §2a).
var reservedMethods = map[string]bool{
	"constructor": true, "fetch": true, "alarm": true, "webSocketMessage": true,
	"webSocketClose": true, "webSocketError": true, "dup": true, "connect": true,
}

// method returns the callable for stub.<name>(...): an RPC call. Awaiting
// it without calling (it has a then) reads the property remotely.
func (s *stub) method(name string) goja.Value {
	inst := s.a.inst
	vm := inst.rt.VM()
	fn := vm.ToValue(func(c goja.FunctionCall) goja.Value {
		args := vm.NewArray()
		for i, a := range c.Arguments {
			_ = args.Set(fmt.Sprint(i), a)
		}
		x := newExports(inst.rt)
		data, err := x.serialize(args)
		if err != nil {
			p, _, reject := vm.NewPromise()
			_ = reject(cloneErrorValue(vm, err))
			return vm.ToValue(p)
		}
		p := s.call(func(l *objectLive, reply func(func() goja.Value), fail func(error), done func()) {
			l.invoke(name, data, x, false, reply, fail, done, inst)
		})
		// The exported callbacks live until the call settles.
		thenFn, _ := goja.AssertFunction(p.ToObject(vm).Get("finally"))
		if r, err := thenFn(p, vm.ToValue(func(goja.FunctionCall) goja.Value { x.close(); return goja.Undefined() })); err == nil {
			if ro, ok := r.(*goja.Object); ok {
				if catchFn, ok := goja.AssertFunction(ro.Get("catch")); ok {
					_, _ = catchFn(ro, vm.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() }))
				}
			}
		}
		return p
	}).(*goja.Object)
	then := vm.ToValue(func(c goja.FunctionCall) goja.Value {
		p := s.call(func(l *objectLive, reply func(func() goja.Value), fail func(error), done func()) {
			l.invoke(name, nil, nil, true, reply, fail, done, inst)
		})
		thenFn, _ := goja.AssertFunction(p.ToObject(vm).Get("then"))
		r, err := thenFn(p, c.Argument(0), c.Argument(1))
		if err != nil {
			panic(err)
		}
		return r
	})
	_ = fn.Set("then", then)
	return fn
}

// invoke runs on the object's loop: method call (args) or property read.
func (l *objectLive) invoke(name string, args []byte, callerExports *exports, read bool, reply func(func() goja.Value), fail func(error), done func(), caller *instance) {
	vm := l.rt.VM()
	finishWith := func(v goja.Value) {
		results := newExports(l.rt)
		data, err := results.serialize(v)
		if err != nil {
			fail(l.objectError(err))
			done()
			return
		}
		l.release(func() {
			reply(func() goja.Value {
				out, err := results.deserialize(caller.rt, data)
				if err != nil {
					panic(caller.rt.VM().NewGoError(err))
				}
				return out
			})
		}, fail, done)
	}
	if reservedMethods[name] {
		fail(&rpcError{name: "TypeError", message: fmt.Sprintf("'%s' is a reserved method and cannot be called over RPC.", name)})
		done()
		return
	}
	member := l.jsObj.Get(name)
	if read {
		if member == nil || goja.IsUndefined(member) {
			finishWith(goja.Undefined())
			return
		}
		finishWith(member)
		return
	}
	fnObj, ok := member.(*goja.Object)
	callable, isFn := goja.AssertFunction(member)
	if member == nil || goja.IsUndefined(member) || (ok && ownedByBase(vm, l.jsObj, name)) {
		fail(&rpcError{name: "TypeError", message: fmt.Sprintf("The RPC receiver does not implement the method \"%s\".", name)})
		done()
		return
	}
	if !isFn {
		fail(&rpcError{name: "TypeError", message: fmt.Sprintf("\"%s\" is not a function.", name)})
		done()
		return
	}
	_ = fnObj
	argv, err := callerExports.deserialize(l.rt, args)
	if err != nil {
		fail(err)
		done()
		return
	}
	arr := argv.ToObject(vm)
	n := arr.Get("length").ToInteger()
	callArgs := make([]goja.Value, n)
	for i := range callArgs {
		callArgs[i] = arr.Get(fmt.Sprint(i))
	}
	v, err := callable(l.jsObj, callArgs...)
	if err != nil {
		fail(l.objectError(err))
		done()
		return
	}
	l.inst.w.await(l.inst, v, func(val goja.Value, err error) {
		if err != nil {
			fail(l.objectError(err))
			done()
			return
		}
		finishWith(val)
	})
}

// ownedByBase reports whether obj's member name comes from Object.prototype
// or the DurableObject base class rather than the user's class: such members
// are not RPC methods (toString, hasOwnProperty, ...).
func ownedByBase(vm *goja.Runtime, obj *goja.Object, name string) bool {
	for p := obj; p != nil; p = p.Prototype() {
		if !hasOwn(p, name) {
			continue
		}
		ctor, _ := p.Get("constructor").(*goja.Object)
		if ctor == nil {
			return p == obj && false
		}
		cn := ctor.Get("name")
		if cn != nil && (cn.String() == "Object" || cn.String() == "DurableObject" || cn.String() == "RpcTarget") {
			return true
		}
		return false
	}
	return false
}

func hasOwn(o *goja.Object, name string) bool {
	for _, k := range o.GetOwnPropertyNames() {
		if k == name {
			return true
		}
	}
	return false
}

// rpcError is an exception raised in an object, carried to the caller.
type rpcError struct {
	name, message, stack string
	reset                bool
	objectID             string
}

func (e *rpcError) Error() string { return e.name + ": " + e.message }

// objectError describes an exception of the object's code for its caller.
func (l *objectLive) objectError(err error) error {
	// An error that leaves the engine unusable (a stack overflow, a CPU or
	// memory limit) poisons the runtime: the object is torn down with it
	// and its next event constructs it on a fresh runtime. Without this a
	// stack overflow in an object left it on a broken engine, and its next
	// event never completed.
	l.rt.Check(err)
	var re *rpcError
	if errors.As(err, &re) {
		return re
	}
	var dce *structuredclone.DataCloneError
	if errors.As(err, &dce) {
		return &rpcError{name: "DataCloneError", message: dce.Message, objectID: l.o.id.String()}
	}
	reset := false
	var thrownValue goja.Value
	var gex *goja.Exception
	var thrown *webapi.ThrownError
	switch {
	case errors.As(err, &gex):
		thrownValue = gex.Value()
	case errors.As(err, &thrown):
		thrownValue = thrown.Value
	}
	if obj, ok := thrownValue.(*goja.Object); ok && obj != nil {
		if v := obj.Get("durableObjectReset"); v != nil && v.ToBoolean() {
			reset = true
		}
	}
	e := js.AsError(err)
	if ex := exceptionOf(err); ex != nil {
		name, msg, _ := strings.Cut(ex.Value, ": ")
		if msg == "" && !strings.Contains(ex.Value, ": ") {
			name, msg = "Error", ex.Value
		}
		name = strings.TrimPrefix(name, "Uncaught ")
		return &rpcError{name: name, message: msg, stack: ex.Stack, objectID: l.o.id.String(), reset: reset}
	}
	return &rpcError{name: "Error", message: e.Error(), objectID: l.o.id.String()}
}

// remoteError converts a failure of an object call into the caller's
// exception: same class and message, remote = true, durableObjectId set.
func (a *doAPI) remoteError(err error) goja.Value {
	vm := a.inst.rt.VM()
	name, msg, objectID, reset := "Error", err.Error(), "", false
	var re *rpcError
	if errors.As(err, &re) {
		name, msg, objectID, reset = re.name, re.message, re.objectID, re.reset
	}
	var abort *abortError
	if errors.As(err, &abort) {
		msg, reset = abort.reason, true
	}
	var e *goja.Object
	if name == "DataCloneError" {
		e = webapi.NewDOMException(vm, msg, name)
	} else {
		ctor, ok := goja.AssertConstructor(vm.Get(name))
		if !ok {
			ctor, _ = goja.AssertConstructor(vm.Get("Error"))
		}
		var cerr error
		if e, cerr = ctor(nil, vm.ToValue(msg)); cerr != nil {
			return vm.ToValue(msg)
		}
	}
	_ = e.Set("remote", true)
	if objectID != "" {
		_ = e.Set("durableObjectId", objectID)
	}
	if reset {
		_ = e.Set("durableObjectReset", true)
	}
	return e
}

func cloneErrorValue(vm *goja.Runtime, err error) goja.Value {
	var dce *structuredclone.DataCloneError
	if errors.As(err, &dce) {
		return webapi.NewDOMException(vm, dce.Message, "DataCloneError")
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	return vm.NewGoError(err)
}

// countOp counts a platform operation of the running invocation.
func countOp(rt *js.Runtime) error {
	inv := rt.Current()
	if inv == nil {
		return nil
	}
	inv.Ops++
	if inv.Ops > maxOpsPerInvocation {
		return errors.New(errTooManyOps)
	}
	return nil
}

// abortError is the failure of an object that called ctx.abort(reason).
type abortError struct{ reason string }

func (e *abortError) Error() string { return e.reason }

// maxCriticalSectionDepth bounds nested blockConcurrencyWhile calls (case 147).
const maxCriticalSectionDepth = 64

// blockConcurrencyTimeout resets an object whose critical section runs too
// long.
const blockConcurrencyTimeout = 30 * time.Second

func (a *doAPI) newState(l *objectLive) *goja.Object {
	return a.stateCls.New(l)
}

func (a *doAPI) defineState() {
	vm := a.inst.rt.VM()
	c := a.stateCls
	liveOf := func(v goja.Value) *objectLive { return webapi.MustImpl[*objectLive](vm, v) }
	c.Getter("id", func(v goja.Value) goja.Value {
		l := liveOf(v)
		l.o.mu.Lock()
		name := l.o.name
		l.o.mu.Unlock()
		return a.idClass.New(&doID{id: l.o.id, name: name, hasName: name != "", class: l.o.class})
	})
	c.Getter("storage", func(v goja.Value) goja.Value { return liveOf(v).storageObject() })
	c.Getter("props", func(goja.Value) goja.Value { return vm.NewObject() })
	c.Method("waitUntil", 1, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		l.active++
		a.inst.w.awaitOutcome(a.inst, call.Argument(0), func(goja.Value, error) {
			l.active--
			l.maybeIdle()
		})
		return goja.Undefined()
	})
	c.Method("blockConcurrencyWhile", 1, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			webapi.ThrowTypeError(vm, "Failed to execute 'blockConcurrencyWhile' on 'DurableObjectState': parameter 1 is not of type 'Function'.")
		}
		if l.input.Depth() >= maxCriticalSectionDepth {
			panic(newError(vm, "blockConcurrencyWhile() calls are nested too deeply."))
		}
		p, resolve, reject := vm.NewPromise()
		l.input.Lock()
		l.holdsBCW++
		gen := l.gen
		var timer *time.Timer
		ended := false
		end := func() bool {
			if ended {
				return false
			}
			ended = true
			if timer != nil {
				timer.Stop()
			}
			l.holdsBCW--
			return true
		}
		timer = time.AfterFunc(blockConcurrencyTimeout, func() {
			l.rt.Submit(nil, func() {
				if end() {
					err := errors.New("A call to blockConcurrencyWhile() in a Durable Object waited for too long. The call was canceled and the Durable Object was reset.")
					_ = reject(newError(vm, err.Error()))
					l.o.reset(err, true)
				}
			})
		})
		v, err := fn(goja.Undefined())
		if err != nil {
			end()
			_ = reject(js.AsError(err))
			if ex, ok := err.(*goja.Exception); ok {
				_ = reject(ex.Value())
			}
			l.o.reset(l.objectError(err), true)
			return vm.ToValue(p)
		}
		a.inst.w.await(a.inst, v, func(val goja.Value, err error) {
			if !end() || l.gen != gen {
				return
			}
			if err != nil {
				_ = reject(a.remoteErrorLocal(err))
				l.o.reset(l.objectError(err), true)
				return
			}
			_ = resolve(val)
			l.input.Unlock()
		})
		return vm.ToValue(p)
	})
	c.Method("abort", 1, func(call goja.FunctionCall) goja.Value {
		l := liveOf(call.This)
		reason := "Application called abort() to reset Durable Object."
		if r := call.Argument(0); !goja.IsUndefined(r) {
			reason = r.String()
		}
		err := &abortError{reason: reason}
		l.o.closeSockets(reason)
		l.o.reset(err, true)
		e := newError(vm, reason)
		_ = e.ToObject(vm).Set("durableObjectReset", true)
		panic(e)
	})
}

// remoteErrorLocal turns an error from the object's own code back into the
// value that was thrown.
func (a *doAPI) remoteErrorLocal(err error) goja.Value {
	var thrown *webapi.ThrownError
	if errors.As(err, &thrown) {
		return thrown.Value
	}
	var gex *goja.Exception
	if errors.As(err, &gex) {
		return gex.Value()
	}
	if ex := exceptionOf(err); ex != nil {
		return newError(a.inst.rt.VM(), ex.Value)
	}
	return newError(a.inst.rt.VM(), err.Error())
}
