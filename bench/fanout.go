package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

const (
	// fanoutClients is how many WebSockets connect to the one object.
	fanoutClients = 1000
	// fanoutBroadcasts is how many messages are broadcast, one at a time.
	fanoutBroadcasts = 10
	// fanoutDialers is how many clients connect at once.
	fanoutDialers = 50
	// fanoutSettle is the pause before each RSS reading and between
	// broadcasts.
	fanoutSettle = 500 * time.Millisecond
	// fanoutTimeout bounds the wait for one broadcast to reach every client.
	fanoutTimeout = 30 * time.Second
)

func broadcastText(k int) string { return "broadcast " + strconv.Itoa(k) }

// fanout connects fanoutClients WebSockets to one Durable Object, then
// broadcasts fanoutBroadcasts messages through it and times each from the
// POST to the last client holding it. Every client must receive every
// message, in order.
func (s scenario) fanout(ctx context.Context, rt runtimeUnderTest, dir string) (result, error) {
	p, err := rt.start(ctx, dir, s.worker, s.readyPath)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	res := result{coldStart: p.coldStart}
	if res.rssBefore, err = p.rssBytes(); err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	conns, setup, err := dialAll(ctx, "ws"+strings.TrimPrefix(p.base, "http")+"/", fanoutClients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.CloseNow()
			}
		}
	}()
	if err != nil {
		return res, err
	}
	res.setup = setup
	if err := expectBody(ctx, http.MethodGet, p.base+"/count", "", strconv.Itoa(fanoutClients)); err != nil {
		return res, fmt.Errorf("counting the sockets: %w", err)
	}
	if err := sleep(ctx, fanoutSettle); err != nil {
		return res, err
	}
	if res.rssBytes, err = p.rssBytes(); err != nil {
		return res, err
	}
	res.perItem = float64(res.rssBytes-res.rssBefore) / fanoutClients

	// arrived[k][c] is when client c read broadcast k; the client that
	// brings remaining[k] to 0 closes done[k].
	arrived := make([][]time.Time, fanoutBroadcasts)
	remaining := make([]atomic.Int64, fanoutBroadcasts)
	done := make([]chan struct{}, fanoutBroadcasts)
	for k := range arrived {
		arrived[k] = make([]time.Time, len(conns))
		remaining[k].Store(int64(len(conns)))
		done[k] = make(chan struct{})
	}
	readErr := make(chan error, 1)
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel() // ends the readers before waiting for them
	for c, conn := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for k := 0; k < fanoutBroadcasts; k++ {
				_, data, err := conn.Read(ctx)
				if err == nil && string(data) != broadcastText(k) {
					err = fmt.Errorf("read %q, want %q", data, broadcastText(k))
				}
				if err != nil {
					if ctx.Err() == nil {
						select {
						case readErr <- fmt.Errorf("client %d, broadcast %d: %w", c, k, err):
						default:
						}
					}
					return
				}
				arrived[k][c] = time.Now()
				if remaining[k].Add(-1) == 0 {
					close(done[k])
				}
			}
		}()
	}
	var latencies []time.Duration
	for k := 0; k < fanoutBroadcasts; k++ {
		begin := time.Now()
		if err := expectBody(ctx, http.MethodPost, p.base+"/broadcast", broadcastText(k), strconv.Itoa(fanoutClients)); err != nil {
			return res, fmt.Errorf("broadcast %d: %w", k, err)
		}
		select {
		case <-done[k]:
		case err := <-readErr:
			return res, err
		case <-time.After(fanoutTimeout):
			return res, fmt.Errorf("broadcast %d reached %d of %d clients in %s", k, int64(len(conns))-remaining[k].Load(), len(conns), fanoutTimeout)
		case <-ctx.Done():
			return res, ctx.Err()
		}
		latencies = append(latencies, slices.MaxFunc(arrived[k], func(a, b time.Time) int { return a.Compare(b) }).Sub(begin))
		if err := sleep(ctx, fanoutSettle/5); err != nil {
			return res, err
		}
	}
	slices.Sort(latencies)
	res.bcastP50 = latencies[len(latencies)/2]
	res.bcastMax = latencies[len(latencies)-1]
	return res, nil
}

// dialAll connects n WebSocket clients to url, fanoutDialers at a time, and
// reports how long connecting all of them took. It returns the connections
// made even on failure, for the caller to close.
func dialAll(ctx context.Context, url string, n int) ([]*websocket.Conn, time.Duration, error) {
	conns := make([]*websocket.Conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, fanoutDialers)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(dialCtx, url, nil)
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if err != nil {
				errs[i] = fmt.Errorf("connecting client %d: %w", i, err)
				return
			}
			c.SetReadLimit(1 << 20)
			conns[i] = c
		}()
	}
	wg.Wait()
	return conns, time.Since(begin), errors.Join(firstErrors(errs, 3)...)
}

// firstErrors is up to max of the non-nil errors of errs, with a count of
// the rest.
func firstErrors(errs []error, max int) []error {
	var out []error
	rest := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if len(out) < max {
			out = append(out, err)
		} else {
			rest++
		}
	}
	if rest > 0 {
		out = append(out, fmt.Errorf("and %d more", rest))
	}
	return out
}

// expectBody sends method to url with body and wants a 200 answering
// exactly want.
func expectBody(ctx context.Context, method, url, body, want string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: fanoutTimeout}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK || string(got) != want {
		return fmt.Errorf("%s %s answered %d %q, want %q", method, url, resp.StatusCode, got, want)
	}
	return nil
}
