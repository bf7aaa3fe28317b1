package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The limits scenario measures what this machine allows whatever runtime
// serves the requests, in the same run as the comparisons, so each
// scenario's figure can be read as a share of its physical ceiling:
//
//   - the HTTP ceiling: Go's net/http alone, in its own process, answering
//     every request with hello.js's response from a handler that does
//     nothing else, under the same load generator and connection count;
//   - the fsync ceiling: a commit per request needs one fsync per request
//     (one object, one connection) or one per object (many objects), so
//     the rate at which conns writers, each on its own file, can overwrite
//     a 4 KiB block and fsync it, as a Durable Object's commit does;
//   - the cost of creating a file in a new directory beside the runtimes'
//     data: a Durable Object's first write creates its database file and
//     its WAL, so every object new to a run pays for two.

// emptyHTTPEnv, when set to an address, makes the bench binary serve the
// HTTP ceiling's handler there instead of running the benchmark.
const emptyHTTPEnv = "KILN_BENCH_EMPTY_HTTP"

// helloBody is what bench/workers/hello.js answers, with the content type
// a Response made from a string gets.
const (
	helloBody        = "Hello World!"
	helloContentType = "text/plain;charset=UTF-8"
)

// emptyHandler answers every request as hello.js does and does nothing
// else.
func emptyHandler() http.Handler {
	body := []byte(helloBody)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", helloContentType)
		_, _ = w.Write(body)
	})
}

// serveEmptyHTTP is the HTTP ceiling's server process: it serves
// emptyHandler on addr until the process is stopped.
func serveEmptyHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return (&http.Server{Handler: emptyHandler(), ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// fsyncBlocks is how many 4 KiB blocks each fsync writer's file has; the
// writer overwrites them in turn, as commits overwrite a reserved WAL.
const (
	fsyncBlock  = 4096
	fsyncBlocks = 16
)

// fsyncRun is what one fsync measurement observed.
type fsyncRun struct {
	perSecond float64       // fsyncs per second, all writers together
	mean      time.Duration // mean time of one write + fsync
}

// measureFsync runs writers goroutines for d, each overwriting the blocks
// of its own file in dir and fsyncing after every write.
func measureFsync(ctx context.Context, dir string, writers int, d time.Duration) (fsyncRun, error) {
	if writers < 1 {
		return fsyncRun{}, errors.New("measuring fsync: at least one writer is needed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fsyncRun{}, fmt.Errorf("measuring fsync: %w", err)
	}
	files := make([]*os.File, writers)
	defer func() {
		for _, f := range files {
			if f != nil {
				_ = f.Close()
			}
		}
	}()
	block := make([]byte, fsyncBlock)
	for i := range files {
		f, err := os.OpenFile(filepath.Join(dir, "fsync-"+strconv.Itoa(i)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fsyncRun{}, fmt.Errorf("measuring fsync: %w", err)
		}
		files[i] = f
		// The file's blocks exist and are on disk before the measurement:
		// what is measured is an overwrite's fsync, not an append's.
		for b := 0; b < fsyncBlocks; b++ {
			if _, err := f.WriteAt(block, int64(b*fsyncBlock)); err != nil {
				return fsyncRun{}, fmt.Errorf("measuring fsync: %w", err)
			}
		}
		if err := f.Sync(); err != nil {
			return fsyncRun{}, fmt.Errorf("measuring fsync: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	counts := make([]int, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := time.Now()
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, fsyncBlock)
			for n := 0; ctx.Err() == nil; n++ {
				buf[0] = byte(n) // every write changes the block
				if _, err := f.WriteAt(buf, int64(n%fsyncBlocks*fsyncBlock)); err != nil {
					errs[i] = err
					return
				}
				if err := f.Sync(); err != nil {
					errs[i] = err
					return
				}
				counts[i]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return fsyncRun{}, fmt.Errorf("measuring fsync: %w", err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return fsyncRun{}, fmt.Errorf("measuring fsync: no fsync finished within %s", d)
	}
	return fsyncRun{
		perSecond: float64(total) / elapsed.Seconds(),
		mean:      elapsed * time.Duration(writers) / time.Duration(total),
	}, nil
}

// createFiles is how many files one file-create measurement creates.
const createFiles = 200

// measureCreate creates createFiles empty files, one at a time, in a new
// directory dir, and returns the mean time of one (create and close).
func measureCreate(dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("measuring file creation: %w", err)
	}
	start := time.Now()
	for i := 0; i < createFiles; i++ {
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(i)+".sqlite"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return 0, fmt.Errorf("measuring file creation: %w", err)
		}
		if err := f.Close(); err != nil {
			return 0, fmt.Errorf("measuring file creation: %w", err)
		}
	}
	return time.Since(start) / createFiles, nil
}

// fsyncDuration is the length of one fsync measurement.
const fsyncDuration = 2 * time.Second

// machineLimits runs one round of the limits scenario at conns
// connections (and conns fsync writers).
func machineLimits(ctx context.Context, dir string, conns int, d time.Duration) (result, error) {
	var res result
	p, err := startEmptyHTTP(ctx, dir)
	if err != nil {
		return res, err
	}
	lr := func() loadResult {
		defer p.stop()
		return closedLoop(ctx, p.base, conns, d, func(int, int) request { return request{path: "/"} })
	}()
	res.perSecond = lr.perSecond()
	res.p50 = lr.percentile(0.50)
	res.p99 = lr.percentile(0.99)
	res.requests = lr.ok
	if lr.non2xx > 0 || lr.errors > 0 {
		return res, fmt.Errorf("empty HTTP server: %d non-2xx answers and %d failed requests (first: %s)", lr.non2xx, lr.errors, lr.firstErr)
	}
	fs, err := measureFsync(ctx, filepath.Join(dir, "fsync"), conns, fsyncDuration)
	if err != nil {
		return res, err
	}
	res.fsyncPerSecond, res.fsyncMean = fs.perSecond, fs.mean
	if res.createMean, err = measureCreate(filepath.Join(dir, "create")); err != nil {
		return res, err
	}
	return res, nil
}

// startEmptyHTTP starts this binary again as the HTTP ceiling's server.
func startEmptyHTTP(ctx context.Context, dir string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the bench binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=127.0.0.1:%d", emptyHTTPEnv, port))
	return launch(ctx, cmd, port, filepath.Join(dir, "empty-http.log"), "/")
}
