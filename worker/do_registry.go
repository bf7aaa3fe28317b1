package worker

import (
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/durable"
	"github.com/kiln-dev/kiln/durable/storage"
)

// DOBinding binds a Durable Object namespace into env.
type DOBinding struct {
	Name      string
	ClassName string
	// ScriptName is the Worker that defines the class; "" means this one.
	ScriptName string
}

// DOClass is a Durable Object class this Worker exports (declared by
// migrations).
type DOClass struct {
	Name string
	// SQL marks a SQLite-backed class (new_sqlite_classes); others are
	// KV-backed (new_classes), without the SQL API and with the KV limits.
	SQL bool
	// Key is the namespace's unique key, which IDs and storage derive from;
	// empty means "<script>-<class>". A renamed or transferred class keeps
	// the key of the class it came from, so its objects and data stay.
	Key string
}

func (c DOClass) key(script string) string {
	if c.Key != "" {
		return c.Key
	}
	return uniqueKey(script, c.Name)
}

// Registry is the process's Durable Object namespaces, so that a binding
// with script_name reaches a class another Worker of the same kiln defines,
// and so that a reloaded Worker takes over the objects of its classes.
type Registry struct {
	// Dir holds object storage: <Dir>/<unique key>/<id>.sqlite.
	Dir string
	// IdleTimeout is how long an object stays in memory without events.
	IdleTimeout time.Duration
	// Sync is the durability of object storage (default: fsync before a
	// reply is released).
	Sync storage.SyncMode
	// OnEvict, if set, is told when an idle object leaves memory.
	OnEvict func(class, id string)
	// beforeDurable, in tests, runs after a commit's fsync and before the
	// output gate opens for it.
	beforeDurable func()
	// beforeSync, in tests, runs before each fsync round of an object's
	// storage (storage.Options.BeforeSync).
	beforeSync func()

	mu      sync.Mutex
	classes map[string]*doClass // by unique key
	aliases map[string]string   // "<script>-<class>" of a renamed class -> its key
}

// NewRegistry returns a registry storing objects under dir.
func NewRegistry(dir string, idle time.Duration) *Registry {
	if idle <= 0 {
		idle = 70 * time.Second
	}
	return &Registry{Dir: dir, IdleTimeout: idle, classes: map[string]*doClass{}, aliases: map[string]string{}}
}

// uniqueKey names a class's namespace, as wrangler dev does: the IDs of
// the namespace derive from it.
func uniqueKey(script, class string) string { return script + "-" + class }

// ErrNoClass is the error of a binding whose class no Worker serves.
var ErrNoClass = errors.New("no Worker serves this Durable Object class")

// doClass is one Durable Object namespace: a class of one Worker.
type doClass struct {
	reg    *Registry
	key    string
	name   string
	script string
	ids    durable.IDSpace
	dir    string

	mu      sync.Mutex
	owner   *Worker // the Worker version serving the class
	sql     bool
	objects map[durable.ID]*object
	sched   *durable.Alarms
	retries map[durable.ID]int // failed attempts of the alarm running now
}

// alarms returns the namespace's alarm scheduler, opening it (and
// scheduling the alarms it remembers) on first use.
func (cl *doClass) alarms() *durable.Alarms {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.sched
}

// startAlarms opens the scheduler when a Worker starts serving the class,
// so that alarms set before a restart fire after it.
func (cl *doClass) startAlarms() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.sched != nil {
		return
	}
	a, err := durable.OpenAlarms(cl.dir, cl.fireAlarm)
	if err != nil {
		if cl.owner != nil {
			cl.owner.log.Error("cannot read the alarm index; alarms of this class will not fire", "class", cl.name, "error", err)
		}
		return
	}
	cl.sched = a
	cl.retries = map[durable.ID]int{}
}

// serve registers w as the server of its classes, replacing a previous
// version: objects of the old version are reset so that they restart on
// the new code (their storage stays).
func (r *Registry) serve(w *Worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range w.spec.Classes {
		key := c.key(w.spec.Name)
		cl, ok := r.classes[key]
		if !ok {
			cl = &doClass{reg: r, key: key, name: c.Name, script: w.spec.Name, ids: durable.NewIDSpace(key),
				dir: filepath.Join(r.Dir, key), objects: map[durable.ID]*object{}}
			r.classes[key] = cl
		}
		if key != uniqueKey(w.spec.Name, c.Name) {
			r.aliases[uniqueKey(w.spec.Name, c.Name)] = key
		}
		cl.mu.Lock()
		old := cl.owner
		cl.owner = w
		cl.sql = c.SQL
		cl.name = c.Name
		objs := make([]*object, 0, len(cl.objects))
		for _, o := range cl.objects {
			objs = append(objs, o)
		}
		cl.mu.Unlock()
		if old != nil && old != w {
			for _, o := range objs {
				o.reset(errCodeUpdated, false)
			}
		}
		cl.startAlarms()
	}
}

// release forgets w as the server of its classes (the Worker is shutting
// down) and takes its objects out of memory.
func (r *Registry) release(w *Worker) {
	r.mu.Lock()
	var objs []*object
	for _, c := range w.spec.Classes {
		if cl, ok := r.classes[c.key(w.spec.Name)]; ok {
			cl.mu.Lock()
			if cl.owner == w {
				cl.owner = nil
				for _, o := range cl.objects {
					objs = append(objs, o)
				}
			}
			cl.mu.Unlock()
		}
	}
	r.mu.Unlock()
	for _, o := range objs {
		o.reset(errShutdown, false)
	}
}

var errShutdown = errors.New("the Worker serving this Durable Object shut down")

// doBindings puts the Worker's Durable Object namespaces into env.
func (w *Worker) doBindings(inst *instance, env *goja.Object) error {
	if len(w.spec.DurableObjects) == 0 {
		return nil
	}
	if w.spec.Registry == nil {
		return errors.New("the Worker binds Durable Object namespaces but no registry is configured")
	}
	api := inst.doAPI()
	for _, b := range w.spec.DurableObjects {
		script := b.ScriptName
		if script == "" {
			script = w.spec.Name
		}
		ns := &doNamespace{reg: w.spec.Registry, binding: b, script: script, key: uniqueKey(script, b.ClassName)}
		if err := env.Set(b.Name, api.namespace.New(ns)); err != nil {
			return err
		}
	}
	return nil
}

// class returns the namespace of script's class, creating its ID space even
// before a Worker serves it (IDs are pure functions of the key). key is
// uniqueKey(script, name), which callers make once rather than on every
// request that addresses an object.
func (r *Registry) class(key, script, name string) *doClass {
	r.mu.Lock()
	defer r.mu.Unlock()
	if alias, ok := r.aliases[key]; ok {
		key = alias
	}
	cl, ok := r.classes[key]
	if !ok {
		cl = &doClass{reg: r, key: key, name: name, script: script, ids: durable.NewIDSpace(key),
			dir: filepath.Join(r.Dir, key), objects: map[durable.ID]*object{}}
		r.classes[key] = cl
	}
	return cl
}

var errCodeUpdated = errors.New("Durable Object reset because its code was updated.")

// object returns the one object of id, creating its record.
func (cl *doClass) object(id durable.ID) *object {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	o, ok := cl.objects[id]
	if !ok {
		o = &object{class: cl, id: id, gen: 1}
		cl.objects[id] = o
	}
	return o
}

func (cl *doClass) server() (*Worker, bool, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.owner == nil {
		return nil, false, fmt.Errorf("%w: %s of script %q", ErrNoClass, cl.name, cl.script)
	}
	return cl.owner, cl.sql, nil
}

// shard pins an object to one runtime of its Worker's pool.
func shard(id durable.ID) int {
	h := fnv.New32a()
	_, _ = h.Write(id[:])
	return int(h.Sum32() & 0x7fffffff)
}

// closeAlarms stops every class's alarm timers (the index stays): what a
// process exit does.
func (r *Registry) closeAlarms() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cl := range r.classes {
		cl.mu.Lock()
		if cl.sched != nil {
			_ = cl.sched.Close()
			cl.sched = nil
		}
		cl.mu.Unlock()
	}
}
