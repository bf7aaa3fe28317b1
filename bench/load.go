package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// exchangeTimeout bounds one request and its answer: a server that takes
// longer has hung, and the scenario fails instead of waiting for ever.
const exchangeTimeout = 60 * time.Second

// request is one call of the load generator: the path to GET and what to
// do with a 2xx answer (nil: nothing). The body onDone gets is only valid
// during the call.
type request struct {
	path   string
	onDone func(body []byte)
}

// loadResult is what one closed-loop run observed.
type loadResult struct {
	ok        int // 2xx answers
	non2xx    int
	errors    int
	firstErr  string
	latencies []time.Duration
	elapsed   time.Duration
}

func (r loadResult) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// closedLoop runs conns clients, each with its own keep-alive connection,
// each sending its next request as soon as the previous one is answered,
// for d. next(client, i) gives client's i-th request.
func closedLoop(ctx context.Context, base string, conns int, d time.Duration, next func(client, i int) request) loadResult {
	// The run's deadline ends the loop, not the exchange in flight: that
	// one is answered (or times out) like any other, and so is a dial,
	// which must not fail because the deadline passed before the run's
	// timer fired.
	run, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	results := make([]loadResult, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			res := &results[c]
			lc, err := newLoadConn(base, exchangeTimeout)
			if err != nil {
				res.errors++
				res.firstErr = err.Error()
				return
			}
			defer lc.close()
			res.latencies = make([]time.Duration, 0, 1<<14)
			// Every client sends at least one request, however short d is.
			for i := 0; i == 0 || run.Err() == nil; i++ {
				rq := next(c, i)
				t0 := time.Now()
				status, body, err := lc.get(ctx, rq.path)
				lat := time.Since(t0)
				switch {
				case err != nil:
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				case status < 200 || status > 299:
					res.non2xx++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("GET %s: %d %q", rq.path, status, body)
					}
				default:
					res.ok++
					res.latencies = append(res.latencies, lat)
					if rq.onDone != nil {
						rq.onDone(body)
					}
				}
			}
		}(c)
	}
	wg.Wait()
	var all loadResult
	all.elapsed = time.Since(start)
	for _, r := range results {
		all.ok += r.ok
		all.non2xx += r.non2xx
		all.errors += r.errors
		if all.firstErr == "" {
			all.firstErr = r.firstErr
		}
		all.latencies = append(all.latencies, r.latencies...)
	}
	slices.Sort(all.latencies)
	return all
}

// fixedRequests sends the n GETs path(0) ... path(n-1) over conns
// keep-alive connections, each connection taking the next index as soon as
// its previous request is answered, and calls check(i, body) on each 2xx
// answer. It stops at the first failure (a transport error, a non-2xx answer
// or check's error) and returns it.
func fixedRequests(ctx context.Context, base string, conns, n int, path func(i int) string, check func(i int, body []byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || firstErr != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	for c := 0; c < min(conns, n); c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc, err := newLoadConn(base, exchangeTimeout)
			if err != nil {
				fail(err)
				return
			}
			defer lc.close()
			// A failure elsewhere (or the caller) cancels ctx: the request
			// in flight here is cut short rather than waited for.
			stop := context.AfterFunc(ctx, lc.interrupt)
			defer stop()
			for ctx.Err() == nil {
				i, ok := take()
				if !ok {
					return
				}
				p := path(i)
				status, body, err := lc.get(ctx, p)
				if err != nil {
					fail(err)
					return
				}
				if status < 200 || status > 299 {
					fail(fmt.Errorf("GET %s: %d %q", p, status, body))
					return
				}
				if check != nil {
					if err := check(i, body); err != nil {
						fail(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
