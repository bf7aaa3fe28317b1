package worker

import "github.com/dop251/goja"

// objectStore is an object's storage as its activation uses it: the turn's
// writes commit when the turn ends, and the output gate advances when the
// commit is durable.
type objectStore struct {
	l   *objectLive
	sql bool
	obj *goja.Object // ctx.storage
}

func openObjectStore(l *objectLive, sql bool) (*objectStore, error) {
	return &objectStore{l: l, sql: sql}, nil
}

// writeTarget is the commit sequence a message produced now must wait for.
func (s *objectStore) writeTarget() uint64 { return 0 }

func (s *objectStore) close()            {}
func (s *objectStore) rollbackAndClose() {}
func (s *objectStore) closeWhenDurable() {}
func (l *objectLive) storageObject() goja.Value {
	if l.store == nil {
		return goja.Undefined()
	}
	if l.store.obj == nil {
		l.store.obj = l.inst.doAPI().storage.New(l.store)
	}
	return l.store.obj
}

func (a *doAPI) defineStorage() {
	a.storage = nil
}
