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
