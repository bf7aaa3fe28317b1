package dev

import (
	"fmt"
	"io"
	"runtime"
	"sync"
)

// maxQueuedOutput is how much printed text may wait for the writer before
// printing blocks (a terminal or pipe that does not keep up slows the
// printers down rather than growing memory).
const maxQueuedOutput = 1 << 20

// output serialises what kiln dev prints (banner, request log, console
// output, warnings). Lines are queued and written by one goroutine, which
// writes everything queued for a stream in one call: under load a request
// does not wait for a write to the terminal of its own, and while idle a
// line goes out as soon as it is printed. Each stream keeps its order.
type output struct {
	mu      sync.Mutex
	drained *sync.Cond // signalled after each round of writes
	queue   []chunk
	queued  int    // bytes in queue
	added   uint64 // chunks ever queued
	written uint64 // chunks ever written
	closed  bool   // no writer goroutine: print synchronously
	wake    chan struct{}
	done    chan struct{}
}

type chunk struct {
	w io.Writer
	b []byte
}

func newOutput() *output {
	o := &output{wake: make(chan struct{}, 1), done: make(chan struct{})}
	o.drained = sync.NewCond(&o.mu)
	go o.run()
	return o
}

// printf queues formatted text for w.
func (o *output) printf(w io.Writer, format string, args ...any) {
	o.write(w, fmt.Appendf(nil, format, args...))
}

// write queues b, which it keeps, for w.
func (o *output) write(w io.Writer, b []byte) {
	o.mu.Lock()
	for o.queued > maxQueuedOutput && !o.closed {
		o.drained.Wait()
	}
	if o.closed {
		// After close the text is written directly, still in order.
		_, _ = w.Write(b)
		o.mu.Unlock()
		return
	}
	o.queue = append(o.queue, chunk{w, b})
	o.queued += len(b)
	o.added++
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *output) run() {
	defer close(o.done)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed {
			o.mu.Unlock()
			<-o.wake
			// Let the goroutines that are ready to run go first: under load
			// they print too, and their lines then share this write.
			runtime.Gosched()
			o.mu.Lock()
		}
		batch := o.queue
		upTo := o.added
		o.queue = nil
		o.queued = 0
		closing := o.closed
		o.mu.Unlock()
		writeBatch(batch)
		o.mu.Lock()
		o.written = upTo
		o.drained.Broadcast()
		o.mu.Unlock()
		if closing {
			return
		}
	}
}

// writeBatch writes consecutive chunks for the same writer in one call.
func writeBatch(batch []chunk) {
	for i := 0; i < len(batch); {
		j := i + 1
		for j < len(batch) && batch[j].w == batch[i].w {
			j++
		}
		if j == i+1 {
			_, _ = batch[i].w.Write(batch[i].b)
		} else {
			var buf []byte
			for _, c := range batch[i:j] {
				buf = append(buf, c.b...)
			}
			_, _ = batch[i].w.Write(buf)
		}
		i = j
	}
}

// flush returns once everything printed before it is written.
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	target := o.added
	for o.written < target && !o.closed {
		o.drained.Wait()
	}
}

// close writes what is queued and stops the writer; later text is written
// directly.
func (o *output) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	o.drained.Broadcast()
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	<-o.done
}

// queuedWriter is an io.Writer that prints to w through o, in order with
// everything else o prints.
type queuedWriter struct {
	o *output
	w io.Writer
}

func (q queuedWriter) Write(p []byte) (int, error) {
	q.o.printf(q.w, "%s", p)
	return len(p), nil
}
