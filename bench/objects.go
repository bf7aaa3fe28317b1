package main

import (
	"context"
	"fmt"
	"time"
)

const (
	// idleObjectCount is how many Durable Objects idle-objects creates.
	idleObjectCount = 10000
	// idleWarmObjects are created first, so that "RSS before" already
	// counts the runtime's first use of objects (every JavaScript runtime
	// of kiln's pool, workerd's namespace).
	idleWarmObjects = 100
	// idleCreateConns is how many connections create the objects.
	idleCreateConns = 32
	// idleSettle is the pause between the last answer and the RSS reading.
	idleSettle = time.Second
	// idleCheckEvery: every idleCheckEvery-th object is asked again after
	// the measurement and must still be the same instance.
	idleCheckEvery = 50
)

// idleObjects creates idleObjectCount Durable Objects that keep only an
// in-memory field and reports the RSS they add, per object. The objects
// are measured right after their creation, well within the 70 s after which
// both runtimes evict an idle object; a sample is asked again afterwards and
// must answer its second request, so it was in memory when measured.
func (s scenario) idleObjects(ctx context.Context, rt runtimeUnderTest, dir string) (result, error) {
	p, err := rt.start(ctx, dir, s.worker, s.readyPath)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	res := result{coldStart: p.coldStart}
	touch := func(prefix string) func(int) string {
		return func(i int) string { return fmt.Sprintf("/touch?name=%s%d", prefix, i) }
	}
	answered := func(want string) func(int, []byte) error {
		return func(i int, body []byte) error {
			if string(body) != want {
				return fmt.Errorf("object %d answered %q, want %q", i, body, want)
			}
			return nil
		}
	}
	if err := fixedRequests(ctx, p.base, idleCreateConns, idleWarmObjects, touch("warm"), answered("1")); err != nil {
		return res, fmt.Errorf("warming up: %w", err)
	}
	if err := sleep(ctx, idleSettle); err != nil {
		return res, err
	}
	if res.rssBefore, err = p.rssBytes(); err != nil {
		return res, err
	}
	begin := time.Now()
	if err := fixedRequests(ctx, p.base, idleCreateConns, idleObjectCount, touch("o"), answered("1")); err != nil {
		return res, fmt.Errorf("creating the objects: %w", err)
	}
	res.setup = time.Since(begin)
	if err := sleep(ctx, idleSettle); err != nil {
		return res, err
	}
	if res.rssBytes, err = p.rssBytes(); err != nil {
		return res, err
	}
	res.perItem = float64(res.rssBytes-res.rssBefore) / idleObjectCount
	err = fixedRequests(ctx, p.base, idleCreateConns, idleObjectCount/idleCheckEvery, func(i int) string {
		return touch("o")(i * idleCheckEvery)
	}, func(i int, body []byte) error {
		if string(body) != "2" {
			return fmt.Errorf("object o%d answered %q to its second request: it was not kept in memory", i*idleCheckEvery, body)
		}
		return nil
	})
	return res, err
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
