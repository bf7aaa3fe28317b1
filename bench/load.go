package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// request is one call of the load generator: the path to GET and what to
// do with a 2xx answer (nil: nothing).
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
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	results := make([]loadResult, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			transport := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport}
			res := &results[c]
			res.latencies = make([]time.Duration, 0, 1<<14)
			// Every client sends at least one request, however short d is.
			for i := 0; i == 0 || ctx.Err() == nil; i++ {
				rq := next(c, i)
				req, err := http.NewRequest(http.MethodGet, base+rq.path, nil)
				if err != nil {
					res.errors++
					res.firstErr = err.Error()
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat := time.Since(t0)
				switch {
				case err != nil:
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				case resp.StatusCode < 200 || resp.StatusCode > 299:
					res.non2xx++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("GET %s: %d %q", rq.path, resp.StatusCode, body)
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
			transport := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
			for {
				i, ok := take()
				if !ok {
					return
				}
				p := path(i)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
				if err != nil {
					fail(err)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					fail(fmt.Errorf("GET %s: %w", p, err))
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					fail(fmt.Errorf("GET %s: reading the answer: %w", p, err))
					return
				}
				if resp.StatusCode < 200 || resp.StatusCode > 299 {
					fail(fmt.Errorf("GET %s: %d %q", p, resp.StatusCode, body))
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
