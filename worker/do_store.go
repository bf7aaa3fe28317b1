package worker

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/durable/storage"
	"github.com/kiln-dev/kiln/js/structuredclone"
	"github.com/kiln-dev/kiln/js/webapi"
)

// objectStore is an object's storage as its activation uses it. Writes go
// straight into the database inside the turn's implicit transaction; the
// transaction commits when the turn ends (coalescing every write between
// two turns), and the output gate advances when the commit is durable.
type objectStore struct {
	l   *objectLive
	db  *storage.DB
	sql bool
	obj *goja.Object // ctx.storage, made on first use

	commitQueued  bool
	confirmedTurn bool   // the open transaction has a write that holds the output gate
	confirmedSeq  uint64 // last commit with such a write
	alarmChanged  bool
	runningAlarm  int64 // the scheduled time of the alarm whose handler runs, 0 if none
	listGen       int   // generation of the live kv.list() iterator
}

func openObjectStore(l *objectLive, sql bool) (*objectStore, error) {
	path := filepath.Join(l.o.class.dir, l.o.id.String()+".sqlite")
	db, err := storage.Open(path, storage.Options{SQL: sql, Sync: l.o.class.reg.Sync, BeforeSync: l.o.class.reg.beforeSync})
	if err != nil {
		return nil, fmt.Errorf("opening the storage of Durable Object %s: %w", l.o.id, err)
	}
	return &objectStore{l: l, db: db, sql: sql}, nil
}

// wrote records a write in the current turn.
func (s *objectStore) wrote(confirmed bool) {
	if !s.db.InTransaction() {
		return
	}
	if confirmed {
		s.confirmedTurn = true
	}
	if !s.commitQueued {
		s.commitQueued = true
		s.l.rt.AtTurnEnd(s.commit)
	}
}

// commit ends the turn's transaction. A failed commit resets the object:
// its held messages are dropped (the output gate breaks).
func (s *objectStore) commit() {
	s.commitQueued = false
	if s.l.closed || !s.db.InTransaction() {
		return
	}
	if s.l.input.Locked() && s.l.inTransaction > 0 {
		// A storage transaction spans turns: commit when it ends (its end
		// records a write, which queues the commit again).
		return
	}
	if s.alarmChanged {
		s.syncAlarm()
	}
	if s.confirmedTurn {
		// Replies of this turn wait for the commit's number (writeTarget):
		// it needs one even if nothing changed (a transaction that only
		// read).
		s.db.MarkWritten()
	}
	kept := s.db.LastSeq()
	seq, err := s.db.Commit()
	if err != nil {
		// The turn's writes are rolled back. Break the gate now, not when
		// the reset's teardown runs: a reply sent later in this job (a
		// handler whose promise settled in it) must not go out as if its
		// writes had been kept. Replies waiting for earlier commits still
		// go once those are durable.
		failure := s.l.storageFailure(err)
		s.l.output.BreakAfter(kept, failure)
		s.l.o.reset(failure, true)
		return
	}
	if s.confirmedTurn { // MarkWritten above: seq is a real commit's
		s.confirmedSeq = seq
		s.confirmedTurn = false
	}
	l := s.l
	hook := l.o.class.reg.beforeDurable
	// Runs on the goroutine that makes the commit durable (or on this one):
	// advancing the gate only hands replies to event loops. A failure
	// resets the object, which closes the storage and waits for that
	// goroutine, so it goes elsewhere; so does the tests' hook, which
	// may block.
	s.db.OnDurable(seq, func(err error) {
		switch {
		case err != nil:
			go func() {
				l.output.Break(err)
				l.o.reset(err, true)
			}()
		case hook != nil:
			go func() {
				hook()
				l.output.Advance(seq)
			}()
		default:
			l.output.Advance(seq)
		}
	})
}

// writeTarget is the commit a message produced now must wait for: the
// open transaction's if it holds a confirmed write, else the last
// confirmed commit.
func (s *objectStore) writeTarget() uint64 {
	if s.db.InTransaction() && s.confirmedTurn {
		return s.db.LastSeq() + 1
	}
	return s.confirmedSeq
}

func (s *objectStore) close() { _ = s.db.Close() }

func (s *objectStore) rollbackAndClose() {
	_ = s.db.Rollback()
	_ = s.db.Close()
}

// closeWhenDurable closes the database after its last commit is on disk
// (eviction never loses a write).
func (s *objectStore) closeWhenDurable() {
	db := s.db
	ch := db.Durable(db.LastSeq())
	go func() {
		<-ch
		_ = db.Close()
	}()
}

// syncAlarm brings the namespace's alarm index in line with the alarm this
// commit stores: the index is written first, so it is never behind.
func (s *objectStore) syncAlarm() {
	s.alarmChanged = false
	alarms := s.l.o.class.alarms()
	if alarms == nil {
		return
	}
	ms, ok, err := s.db.GetAlarm()
	if err != nil {
		return
	}
	switch {
	case ok && ms == s.runningAlarm:
		// The alarm whose handler runs now: rescheduling it would run it twice.
	case ok:
		_ = alarms.Set(s.l.o.id, time.UnixMilli(ms))
	case s.runningAlarm == 0:
		_ = alarms.Clear(s.l.o.id)
	}
}

func (l *objectLive) storageFailure(err error) error {
	return &rpcError{name: "Error", message: err.Error(), objectID: l.o.id.String(), reset: true}
}

func (l *objectLive) storageObject() goja.Value {
	if l.store == nil {
		return goja.Undefined()
	}
	if l.store.obj == nil {
		l.store.obj = l.inst.doAPI().storage.New(l.store)
	}
	return l.store.obj
}

// throwStorage throws a storage error as the JavaScript class it names.
func throwStorage(vm *goja.Runtime, err error) {
	var se *storage.Error
	if errors.As(err, &se) {
		switch se.Class {
		case "TypeError":
			panic(vm.NewTypeError(se.Message))
		case "RangeError":
			webapi.ThrowRangeError(vm, "%s", se.Message)
		}
		panic(newError(vm, se.Message))
	}
	var dce *structuredclone.DataCloneError
	if errors.As(err, &dce) {
		panic(webapi.NewDOMException(vm, dce.Message, "DataCloneError"))
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		panic(ex)
	}
	panic(newError(vm, err.Error()))
}

// resolved returns a promise fulfilled with v.
func resolved(vm *goja.Runtime, v goja.Value) goja.Value {
	p, resolve, _ := vm.NewPromise()
	_ = resolve(v)
	return vm.ToValue(p)
}

func (a *doAPI) defineStorage() {
	vm := a.inst.rt.VM()
	c := webapi.DefineClass(vm, "DurableObjectStorage", nil, nil)
	a.storage = c
	storeOf := func(v goja.Value) *objectStore { return webapi.MustImpl[*objectStore](vm, v) }
	// Every method settles at once: the storage is local and synchronous,
	// so nothing else can run in the object between a read and its
	// continuation (the input gate is never open during a storage call).
	async := func(fn func(s *objectStore, call goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			s := storeOf(call.This)
			if err := s.usable(); err != nil {
				throwStorage(vm, err)
			}
			return resolved(vm, fn(s, call))
		}
	}
	c.Method("get", 2, async(func(s *objectStore, call goja.FunctionCall) goja.Value { return s.get(call.Argument(0)) }))
	c.Method("put", 3, async(func(s *objectStore, call goja.FunctionCall) goja.Value {
		s.put(call.Argument(0), call.Argument(1), call.Argument(2), len(call.Arguments))
		return goja.Undefined()
	}))
	c.Method("delete", 2, async(func(s *objectStore, call goja.FunctionCall) goja.Value {
		return s.delete(call.Argument(0), !unconfirmed(call.Argument(1)))
	}))
	c.Method("deleteAll", 1, async(func(s *objectStore, call goja.FunctionCall) goja.Value {
		if _, err := s.db.DeleteAll(s.l.w.deleteAllDeletesAlarm()); err != nil {
			throwStorage(vm, err)
		}
		s.alarmChanged = true
		s.wrote(!unconfirmed(call.Argument(0)))
		return goja.Undefined()
	}))
	c.Method("list", 1, async(func(s *objectStore, call goja.FunctionCall) goja.Value { return s.list(call.Argument(0)) }))
	c.Method("getAlarm", 1, async(func(s *objectStore, call goja.FunctionCall) goja.Value { return s.getAlarm() }))
	c.Method("setAlarm", 2, async(func(s *objectStore, call goja.FunctionCall) goja.Value {
		s.setAlarm(call.Argument(0), !unconfirmed(call.Argument(1)))
		return goja.Undefined()
	}))
	c.Method("deleteAlarm", 1, async(func(s *objectStore, call goja.FunctionCall) goja.Value {
		if err := s.db.DeleteAlarm(); err != nil {
			throwStorage(vm, err)
		}
		s.alarmChanged = true
		s.wrote(!unconfirmed(call.Argument(0)))
		return goja.Undefined()
	}))
	c.Method("sync", 0, func(call goja.FunctionCall) goja.Value {
		s := storeOf(call.This)
		p, resolve, reject := vm.NewPromise()
		target := s.writeTarget()
		if s.db.InTransaction() {
			target = s.db.LastSeq() + 1 // unconfirmed writes too
		}
		finish := s.l.rt.Hold()
		ch := s.l.output.Wait(target)
		go func() {
			err := <-ch
			finish(func() {
				if err != nil {
					_ = reject(newError(vm, err.Error()))
					return
				}
				_ = resolve(goja.Undefined())
			})
		}()
		return vm.ToValue(p)
	})
	c.Method("transactionSync", 1, func(call goja.FunctionCall) goja.Value {
		s := storeOf(call.This)
		if !s.sql {
			panic(newError(vm, "Durable Object is not backed by SQL."))
		}
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			webapi.ThrowTypeError(vm, "Failed to execute 'transactionSync' on 'DurableObjectStorage': parameter 1 is not of type 'Function'.")
		}
		sp, err := s.db.Savepoint()
		if err != nil {
			throwStorage(vm, err)
		}
		v, err := fn(goja.Undefined())
		if err != nil {
			_ = sp.Rollback()
			panic(err)
		}
		if err := sp.Release(); err != nil {
			throwStorage(vm, err)
		}
		s.wrote(true)
		return v
	})
	c.Method("transaction", 1, func(call goja.FunctionCall) goja.Value {
		return storeOf(call.This).transaction(call.Argument(0))
	})
	c.Getter("sql", func(v goja.Value) goja.Value { return a.sqlStorage(storeOf(v)) })
	c.Getter("kv", func(v goja.Value) goja.Value { return a.syncKV(storeOf(v)) })
	c.Method("getCurrentBookmark", 0, func(goja.FunctionCall) goja.Value {
		panic(newError(vm, "Point-in-time recovery is not supported by kiln."))
	})
	a.defineTransaction()
	a.defineSQL()
}

func (s *objectStore) usable() error {
	if s.l.closed {
		return errReset
	}
	return nil
}

func unconfirmed(opts goja.Value) bool {
	o, ok := opts.(*goja.Object)
	if !ok || o == nil {
		return false
	}
	v := o.Get("allowUnconfirmed")
	return v != nil && v.ToBoolean()
}

func (s *objectStore) vm() *goja.Runtime { return s.l.rt.VM() }

func (s *objectStore) decode(data []byte) goja.Value {
	v, err := structuredclone.Deserialize(s.vm(), data)
	if err != nil {
		panic(newError(s.vm(), fmt.Sprintf("actor storage deserialization failed (Durable Object %s): %v", s.l.o.id, err)))
	}
	return v
}

func (s *objectStore) encode(v goja.Value) []byte {
	data, err := structuredclone.Serialize(s.vm(), v, structuredclone.Options{})
	if err != nil {
		throwStorage(s.vm(), err)
	}
	return data
}

// keysOf reads an array of keys, skipping undefined entries (case 82).
func (s *objectStore) keysOf(arr *goja.Object) []string {
	n := arr.Get("length").ToInteger()
	keys := make([]string, 0, n)
	for i := int64(0); i < n; i++ {
		k := arr.Get(fmt.Sprint(i))
		if k == nil || goja.IsUndefined(k) {
			continue
		}
		keys = append(keys, k.String())
	}
	return keys
}

func isArray(v goja.Value) (*goja.Object, bool) {
	o, ok := v.(*goja.Object)
	return o, ok && o != nil && o.ClassName() == "Array"
}

func (s *objectStore) newMap(entries []storage.Entry) goja.Value {
	vm := s.vm()
	m, err := vm.New(vm.Get("Map"))
	if err != nil {
		panic(err)
	}
	set, _ := goja.AssertFunction(m.Get("set"))
	for _, e := range entries {
		if _, err := set(m, vm.ToValue(e.Key), s.decode(e.Value)); err != nil {
			panic(err)
		}
	}
	return m
}

func (s *objectStore) get(key goja.Value) goja.Value {
	vm := s.vm()
	if arr, ok := isArray(key); ok {
		entries, err := s.db.GetMany(s.keysOf(arr))
		if err != nil {
			throwStorage(vm, err)
		}
		return s.newMap(entries)
	}
	if key == nil || goja.IsUndefined(key) {
		webapi.ThrowTypeError(vm, "Failed to execute 'get' on 'DurableObjectStorage': parameter 1 is not of type 'string or Array' (key is undefined).")
	}
	data, ok, err := s.db.Get(key.String())
	if err != nil {
		throwStorage(vm, err)
	}
	if !ok {
		return goja.Undefined()
	}
	return s.decode(data)
}

const errPutArgs = "put() may only be called with a single key-value pair and optional options as put(key, value, options) or with multiple key-value pairs and optional options as put(entries, options)"

func (s *objectStore) put(key, value, opts goja.Value, nargs int) {
	vm := s.vm()
	if obj, ok := key.(*goja.Object); ok && obj != nil {
		// put(entries, options)
		if nargs > 1 && !goja.IsUndefined(value) {
			if _, isObj := value.(*goja.Object); !isObj {
				webapi.ThrowTypeError(vm, errPutArgs)
			}
		}
		var entries []storage.Entry
		for _, k := range obj.Keys() {
			v := obj.Get(k)
			if v == nil || goja.IsUndefined(v) {
				continue
			}
			entries = append(entries, storage.Entry{Key: k, Value: s.encode(v)})
		}
		if err := s.db.PutMany(entries); err != nil {
			throwStorage(vm, err)
		}
		s.wrote(!unconfirmed(value))
		return
	}
	if key == nil || goja.IsUndefined(key) {
		webapi.ThrowTypeError(vm, "Failed to execute 'put' on 'DurableObjectStorage': parameter 1 is not of type 'string or object' (key is undefined).")
	}
	if value == nil || goja.IsUndefined(value) {
		webapi.ThrowTypeError(vm, "put() called with undefined value.")
	}
	if err := s.db.Put(key.String(), s.encode(value)); err != nil {
		throwStorage(vm, err)
	}
	s.wrote(!unconfirmed(opts))
}

func (s *objectStore) delete(key goja.Value, confirmed bool) goja.Value {
	vm := s.vm()
	if arr, ok := isArray(key); ok {
		n, err := s.db.DeleteMany(s.keysOf(arr))
		if err != nil {
			throwStorage(vm, err)
		}
		s.wrote(confirmed)
		return vm.ToValue(n)
	}
	if key == nil || goja.IsUndefined(key) {
		webapi.ThrowTypeError(vm, "Failed to execute 'delete' on 'DurableObjectStorage': parameter 1 is not of type 'string or Array' (key is undefined).")
	}
	existed, err := s.db.Delete(key.String())
	if err != nil {
		throwStorage(vm, err)
	}
	s.wrote(confirmed)
	return vm.ToValue(existed)
}

// listOptions reads start, startAfter, end, prefix, reverse and limit
// without changing the caller's object.
func listOptions(vm *goja.Runtime, v goja.Value) storage.ListOptions {
	var o storage.ListOptions
	obj, ok := v.(*goja.Object)
	if !ok || obj == nil {
		return o
	}
	str := func(name string) *string {
		x := obj.Get(name)
		if x == nil || goja.IsUndefined(x) || goja.IsNull(x) {
			return nil
		}
		s := x.String()
		return &s
	}
	o.Start, o.StartAfter, o.End, o.Prefix = str("start"), str("startAfter"), str("end"), str("prefix")
	if r := obj.Get("reverse"); r != nil {
		o.Reverse = r.ToBoolean()
	}
	if l := obj.Get("limit"); l != nil && !goja.IsUndefined(l) && !goja.IsNull(l) {
		f := l.ToFloat()
		n := int(f)
		if math.IsNaN(f) {
			n = 0
		}
		o.Limit = &n
	}
	return o
}

func (s *objectStore) list(opts goja.Value) goja.Value {
	entries, err := s.db.List(listOptions(s.vm(), opts))
	if err != nil {
		throwStorage(s.vm(), err)
	}
	return s.newMap(entries)
}

func (s *objectStore) getAlarm() goja.Value {
	ms, ok, err := s.db.GetAlarm()
	if err != nil {
		throwStorage(s.vm(), err)
	}
	if !ok || (s.runningAlarm != 0 && ms == s.runningAlarm) {
		return goja.Null()
	}
	return s.vm().ToValue(ms)
}

func (s *objectStore) setAlarm(t goja.Value, confirmed bool) {
	vm := s.vm()
	if s.l.jsObj != nil {
		if _, ok := goja.AssertFunction(s.l.jsObj.Get("alarm")); !ok {
			webapi.ThrowTypeError(vm, "Your Durable Object class must have an alarm() handler in order to call setAlarm()")
		}
	}
	var ms float64
	if d, ok := t.Export().(time.Time); ok {
		ms = float64(d.UnixMilli())
	} else {
		ms = t.ToFloat()
	}
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		webapi.ThrowTypeError(vm, "setAlarm() requires a valid Date or number of milliseconds since the epoch.")
	}
	if err := s.db.SetAlarm(int64(ms)); err != nil {
		throwStorage(vm, err)
	}
	s.alarmChanged = true
	s.wrote(confirmed)
}

// transaction runs closure(txn) as a critical section inside a savepoint:
// other events wait, a throw or txn.rollback() undoes its writes.
func (s *objectStore) transaction(closure goja.Value) goja.Value {
	vm := s.vm()
	fn, ok := goja.AssertFunction(closure)
	if !ok {
		webapi.ThrowTypeError(vm, "Failed to execute 'transaction' on 'DurableObjectStorage': parameter 1 is not of type 'Function'.")
	}
	p, resolve, reject := vm.NewPromise()
	sp, err := s.db.Savepoint()
	if err != nil {
		_ = reject(newError(vm, err.Error()))
		return vm.ToValue(p)
	}
	s.l.input.Lock()
	s.l.inTransaction++
	t := &txn{s: s, sp: sp}
	end := func() {
		s.l.inTransaction--
		s.l.input.Unlock()
		if s.db.InTransaction() {
			s.wrote(true)
		}
	}
	v, err := fn(goja.Undefined(), s.l.inst.doAPI().txnClass.New(t))
	if err != nil {
		_ = t.rollback()
		end()
		if ex, ok := err.(*goja.Exception); ok {
			_ = reject(ex.Value())
		} else {
			_ = reject(newError(vm, err.Error()))
		}
		return vm.ToValue(p)
	}
	s.l.inst.w.await(s.l.inst, v, func(val goja.Value, err error) {
		if err != nil {
			_ = t.rollback()
			end()
			_ = reject(s.l.inst.doAPI().remoteErrorLocal(err))
			return
		}
		if !t.done {
			t.done = true
			if err := t.sp.Release(); err != nil {
				end()
				_ = reject(newError(vm, err.Error()))
				return
			}
		}
		end()
		_ = resolve(val)
	})
	return vm.ToValue(p)
}

// txn is a DurableObjectTransaction.
type txn struct {
	s          *objectStore
	sp         storage.Savepoint
	done       bool
	rolledBack bool
}

func (t *txn) rollback() error {
	if t.done {
		return nil
	}
	t.done, t.rolledBack = true, true
	return t.sp.Rollback()
}

func (a *doAPI) defineTransaction() {
	vm := a.inst.rt.VM()
	c := webapi.DefineClass(vm, "DurableObjectTransaction", nil, nil)
	a.txnClass = c
	method := func(name string, fn func(t *txn, call goja.FunctionCall) goja.Value) {
		c.Method(name, 2, func(call goja.FunctionCall) goja.Value {
			t := webapi.MustImpl[*txn](vm, call.This)
			if t.rolledBack {
				panic(newError(vm, "Cannot use the transaction after it was rolled back."))
			}
			return resolved(vm, fn(t, call))
		})
	}
	method("get", func(t *txn, c goja.FunctionCall) goja.Value { return t.s.get(c.Argument(0)) })
	method("put", func(t *txn, c goja.FunctionCall) goja.Value {
		t.s.put(c.Argument(0), c.Argument(1), c.Argument(2), len(c.Arguments))
		return goja.Undefined()
	})
	method("delete", func(t *txn, c goja.FunctionCall) goja.Value { return t.s.delete(c.Argument(0), true) })
	method("list", func(t *txn, c goja.FunctionCall) goja.Value { return t.s.list(c.Argument(0)) })
	method("getAlarm", func(t *txn, c goja.FunctionCall) goja.Value { return t.s.getAlarm() })
	method("setAlarm", func(t *txn, c goja.FunctionCall) goja.Value {
		t.s.setAlarm(c.Argument(0), true)
		return goja.Undefined()
	})
	method("deleteAlarm", func(t *txn, c goja.FunctionCall) goja.Value {
		if err := t.s.db.DeleteAlarm(); err != nil {
			throwStorage(vm, err)
		}
		t.s.alarmChanged = true
		return goja.Undefined()
	})
	c.Method("deleteAll", 0, func(goja.FunctionCall) goja.Value {
		panic(newError(vm, "Cannot call deleteAll() within a transaction"))
	})
	c.Method("rollback", 0, func(call goja.FunctionCall) goja.Value {
		t := webapi.MustImpl[*txn](vm, call.This)
		if t.rolledBack {
			panic(newError(vm, "Cannot roll back a transaction twice."))
		}
		if err := t.rollback(); err != nil {
			throwStorage(vm, err)
		}
		return goja.Undefined()
	})
}

// sqlStorage is ctx.storage.sql.
func (a *doAPI) sqlStorage(s *objectStore) goja.Value {
	if !s.sql {
		panic(newError(a.inst.rt.VM(), "SQL is not enabled for this Durable Object class. To enable it, under `[[migrations]]` in your wrangler configuration, change `new_classes` to `new_sqlite_classes`. Note that this change cannot be made after the class is already deployed to production."))
	}
	return a.sqlClass.New(s)
}

func (a *doAPI) defineSQL() {
	vm := a.inst.rt.VM()
	c := webapi.DefineClass(vm, "SqlStorage", nil, nil)
	a.sqlClass = c
	c.Method("exec", 1, func(call goja.FunctionCall) goja.Value {
		s := webapi.MustImpl[*objectStore](vm, call.This)
		args := make([]any, 0, len(call.Arguments))
		for _, v := range call.Arguments[min(1, len(call.Arguments)):] {
			args = append(args, sqlArg(vm, v))
		}
		cur, err := s.db.Exec(call.Argument(0).String(), args...)
		if err != nil {
			throwStorage(vm, err)
		}
		s.wrote(true)
		return a.cursorClass.New(&sqlCursor{s: s, c: cur})
	})
	c.Getter("databaseSize", func(v goja.Value) goja.Value {
		s := webapi.MustImpl[*objectStore](vm, v)
		n, err := s.db.DatabaseSize()
		if err != nil {
			throwStorage(vm, err)
		}
		return vm.ToValue(n)
	})

	cur := webapi.DefineClass(vm, "SqlStorageCursor", nil, nil)
	a.cursorClass = cur
	curOf := func(v goja.Value) *sqlCursor { return webapi.MustImpl[*sqlCursor](vm, v) }
	cur.Method("next", 0, func(call goja.FunctionCall) goja.Value {
		c := curOf(call.This)
		row, ok := c.next()
		res := vm.NewObject()
		_ = res.Set("done", !ok)
		if ok {
			_ = res.Set("value", c.object(row))
		}
		return res
	})
	cur.Method("toArray", 0, func(call goja.FunctionCall) goja.Value {
		c := curOf(call.This)
		var rows []any
		for {
			row, ok := c.next()
			if !ok {
				break
			}
			rows = append(rows, c.object(row))
		}
		return vm.NewArray(rows...)
	})
	cur.Method("one", 0, func(call goja.FunctionCall) goja.Value {
		c := curOf(call.This)
		row, ok := c.next()
		if !ok {
			panic(newError(vm, "Expected exactly one result from SQL query, but got no results."))
		}
		if _, more := c.next(); more {
			panic(newError(vm, "Expected exactly one result from SQL query, but got multiple results."))
		}
		return c.object(row)
	})
	cur.Method("raw", 0, func(call goja.FunctionCall) goja.Value {
		c := curOf(call.This)
		it := vm.NewObject()
		_ = it.Set("next", func(goja.FunctionCall) goja.Value {
			row, ok := c.next()
			res := vm.NewObject()
			_ = res.Set("done", !ok)
			if ok {
				_ = res.Set("value", c.array(row))
			}
			return res
		})
		_ = it.Set("toArray", func(goja.FunctionCall) goja.Value {
			var rows []any
			for {
				row, ok := c.next()
				if !ok {
					break
				}
				rows = append(rows, c.array(row))
			}
			return vm.NewArray(rows...)
		})
		_ = it.SetSymbol(goja.SymIterator, func(goja.FunctionCall) goja.Value { return it })
		return it
	})
	cur.Getter("columnNames", func(v goja.Value) goja.Value {
		names := curOf(v).c.ColumnNames()
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = n
		}
		return vm.NewArray(out...)
	})
	cur.Getter("rowsRead", func(v goja.Value) goja.Value { return vm.ToValue(curOf(v).c.RowsRead()) })
	cur.Getter("rowsWritten", func(v goja.Value) goja.Value { return vm.ToValue(curOf(v).c.RowsWritten()) })
	_ = cur.Proto.SetSymbol(goja.SymIterator, func(call goja.FunctionCall) goja.Value { return call.This })
}

type sqlCursor struct {
	s *objectStore
	c *storage.Cursor
}

func (c *sqlCursor) next() ([]any, bool) {
	row, ok, err := c.c.Next()
	if err != nil {
		throwStorage(c.s.vm(), err)
	}
	if c.s.db.InTransaction() {
		c.s.wrote(true)
	}
	return row, ok
}

func (c *sqlCursor) object(row []any) goja.Value {
	vm := c.s.vm()
	obj := vm.NewObject()
	for i, name := range c.c.ColumnNames() {
		_ = obj.Set(name, sqlValue(vm, row[i]))
	}
	return obj
}

func (c *sqlCursor) array(row []any) goja.Value {
	vm := c.s.vm()
	out := make([]any, len(row))
	for i, v := range row {
		out[i] = sqlValue(vm, v)
	}
	return vm.NewArray(out...)
}

// sqlArg converts a binding: null/undefined, numbers, strings, bigints and
// buffers (SqlStorageValue).
func sqlArg(vm *goja.Runtime, v goja.Value) any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	switch x := v.Export().(type) {
	case string:
		return x
	case int64:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	if b, ok := webapi.BytesOf(vm, v); ok {
		return b
	}
	if v.ExportType() != nil && v.ExportType().String() == "*big.Int" {
		return v.ToInteger()
	}
	webapi.ThrowTypeError(vm, "Unsupported type of SQL binding: %s", v.String())
	return nil
}

func sqlValue(vm *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case int64:
		return vm.ToValue(float64(x))
	case []byte:
		return vm.ToValue(vm.NewArrayBuffer(x))
	}
	return vm.ToValue(v)
}

// syncKV is ctx.storage.kv: the synchronous KV API of SQLite-backed objects.
func (a *doAPI) syncKV(s *objectStore) goja.Value {
	vm := a.inst.rt.VM()
	if !s.sql {
		panic(newError(vm, "SQL is not enabled for this Durable Object class."))
	}
	obj := vm.NewObject()
	_ = obj.Set("get", func(c goja.FunctionCall) goja.Value { return s.get(c.Argument(0)) })
	_ = obj.Set("put", func(c goja.FunctionCall) goja.Value {
		s.put(c.Argument(0), c.Argument(1), goja.Undefined(), len(c.Arguments))
		return goja.Undefined()
	})
	_ = obj.Set("delete", func(c goja.FunctionCall) goja.Value { return s.delete(c.Argument(0), true) })
	_ = obj.Set("list", func(c goja.FunctionCall) goja.Value {
		entries, err := s.db.List(listOptions(vm, c.Argument(0)))
		if err != nil {
			throwStorage(vm, err)
		}
		s.listGen++
		gen := s.listGen
		i := 0
		it := vm.NewObject()
		_ = it.Set("next", func(goja.FunctionCall) goja.Value {
			if gen != s.listGen {
				panic(newError(vm, "kv.list() iterator was invalidated because a new call to kv.list() was started. Only one kv.list() iterator can exist at a time."))
			}
			res := vm.NewObject()
			if i >= len(entries) {
				_ = res.Set("done", true)
				return res
			}
			e := entries[i]
			i++
			_ = res.Set("done", false)
			_ = res.Set("value", vm.NewArray(e.Key, s.decode(e.Value)))
			return res
		})
		_ = it.SetSymbol(goja.SymIterator, func(goja.FunctionCall) goja.Value { return it })
		return it
	})
	return obj
}
