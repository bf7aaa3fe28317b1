package worker

import (
	"time"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/durable"
)

// fireAlarm delivers a due alarm to its object (activating it). It runs on
// the scheduler's goroutine.
func (cl *doClass) fireAlarm(id durable.ID, due time.Time) {
	o := cl.object(id)
	ev := &doEvent{}
	ev.onFail = func(err error) { cl.alarmFailed(id, err) }
	ev.run = func(l *objectLive, done func()) { l.runAlarm(ev, done) }
	if _, err := o.send(ev); err != nil {
		cl.alarmFailed(id, err)
	}
}

// runAlarm runs the alarm() handler if the object's stored alarm is due.
func (l *objectLive) runAlarm(ev *doEvent, done func()) {
	cl := l.o.class
	ms, ok, err := l.store.db.GetAlarm()
	if err != nil || !ok {
		// Deleted since it was scheduled: the index entry was stale.
		if sched := cl.alarms(); sched != nil && err == nil {
			_ = sched.Clear(l.o.id)
		}
		done()
		return
	}
	if wait := time.Until(time.UnixMilli(ms)); wait > 0 {
		if sched := cl.alarms(); sched != nil {
			sched.Retry(l.o.id, time.UnixMilli(ms))
		}
		done()
		return
	}
	handler, isFn := goja.AssertFunction(l.jsObj.Get("alarm"))
	if !isFn {
		done()
		return
	}
	cl.mu.Lock()
	retry := cl.retries[l.o.id]
	cl.mu.Unlock()
	vm := l.rt.VM()
	info := vm.NewObject()
	_ = info.Set("retryCount", retry)
	_ = info.Set("isRetry", retry > 0)
	_ = info.Set("scheduledTime", ms)
	l.store.runningAlarm = ms
	finish := func(err error) {
		l.store.runningAlarm = 0
		if err != nil {
			cl.alarmFailed(l.o.id, err)
			done()
			return
		}
		cl.mu.Lock()
		delete(cl.retries, l.o.id)
		cl.mu.Unlock()
		// The alarm is consumed unless the handler set a new one (case 168);
		// the commit brings the index in line either way.
		if cur, ok, _ := l.store.db.GetAlarm(); ok && cur == ms {
			_ = l.store.db.DeleteAlarm()
		}
		l.store.alarmChanged = true
		l.store.wrote(true)
		if !l.store.db.InTransaction() {
			l.store.syncAlarm()
		}
		// If the commit fails, the alarm's consumption is rolled back with
		// the handler's writes (and the index entry is gone): retry it,
		// through the event's failure, which counts an attempt only once.
		l.release(func() {}, ev.fail, done)
	}
	v, err := handler(l.jsObj, info)
	if err != nil {
		finish(l.objectError(err))
		return
	}
	l.inst.w.await(l.inst, v, func(_ goja.Value, err error) { finish(err) })
}

// alarmFailed schedules a retry with the platform's backoff, or abandons
// the alarm after the last retry.
func (cl *doClass) alarmFailed(id durable.ID, err error) {
	sched := cl.alarms()
	if sched == nil {
		return
	}
	cl.mu.Lock()
	cl.retries[id]++
	n := cl.retries[id]
	owner := cl.owner
	cl.mu.Unlock()
	if owner != nil {
		owner.log.Error("Durable Object alarm failed", "class", cl.name, "id", id.String(), "attempt", n, "error", detail(err))
	}
	if n > durable.AlarmMaxRetries {
		cl.mu.Lock()
		delete(cl.retries, id)
		cl.mu.Unlock()
		// Abandoned: the object's stored alarm is removed on its next
		// activation by an alarm event that finds it past due; clear it now.
		o := cl.object(id)
		ev := &doEvent{onFail: func(error) {}}
		ev.run = func(l *objectLive, done func()) {
			if err := l.store.db.DeleteAlarm(); err == nil {
				l.store.wrote(true)
			}
			_ = sched.Clear(id)
			done()
		}
		_, _ = o.send(ev)
		return
	}
	sched.Retry(id, time.Now().Add(durable.AlarmBackoff(n)))
}
