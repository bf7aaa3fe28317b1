// Package httplimit holds the limits kiln's HTTP listeners (`kiln dev`,
// `kiln serve` and its management API) put on what a client may send, so
// that one hostile or broken client gets a clear error and cannot hold the
// server hostage: request bodies and headers are bounded as on the
// platform, and connections that never finish their headers or sit idle are
// closed.
package httplimit

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// MaxRequestBodyBytes is the largest request body a Worker is given:
	// the platform's 100 MB of the Free and Pro plans. A larger body is
	// answered with 413.
	MaxRequestBodyBytes = 100 << 20
	// MaxHeaderBytes bounds the request line and headers: the platform's
	// 128 KB of request headers. net/http answers a larger request with 431
	// (it allows a few KiB of slack beyond the figure).
	MaxHeaderBytes = 128 << 10
	// ReadHeaderTimeout is how long a client may take to send its request
	// line and headers (slowloris-style clients are cut off).
	ReadHeaderTimeout = 30 * time.Second
	// IdleTimeout is how long a kept-alive connection may wait for its next
	// request.
	IdleTimeout = 120 * time.Second
)

// TooLargeText is the body of the 413 answer.
var TooLargeText = "413 Request Entity Too Large: the request body is larger than the limit of " +
	strconv.Itoa(MaxRequestBodyBytes) + " bytes.\n"

// NewServer returns an http.Server for h with kiln's limits: the body limit
// (LimitBody), MaxHeaderBytes, ReadHeaderTimeout and IdleTimeout. There is
// no ReadTimeout or WriteTimeout: bodies and WebSockets may stream for as
// long as the Worker wants.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           LimitBody(h, MaxRequestBodyBytes),
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
	}
}

// LimitBody answers 413 to requests whose body is larger than limit. A
// declared Content-Length over the limit is refused before next runs. A
// body of unknown length (chunked) is given to next through a reader that
// fails once limit bytes have been read; if that happens before next has
// started its response, the client gets the 413 instead of what next
// answers (typically the Worker's failure to read the body).
func LimitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			// The server closes the connection after the answer: the rest
			// of the body is not read.
			w.Header().Set("Connection", "close")
			tooLarge(w)
			return
		}
		if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
			// net/http never reads past a declared length.
			next.ServeHTTP(w, r)
			return
		}
		lw := &limitWriter{ResponseWriter: w}
		r.Body = &limitReader{rc: http.MaxBytesReader(w, r.Body, limit), w: lw}
		next.ServeHTTP(lw, r)
	})
}

func tooLarge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = io.WriteString(w, TooLargeText)
}

// limitReader notes in its limitWriter that the body went over the limit.
type limitReader struct {
	rc io.ReadCloser
	w  *limitWriter
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.rc.Read(p)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		l.w.trip()
	}
	return n, err
}

func (l *limitReader) Close() error { return l.rc.Close() }

// limitWriter answers 413 in place of the handler's response once the body
// has gone over the limit, unless the response has already started.
type limitWriter struct {
	http.ResponseWriter
	mu      sync.Mutex
	tripped bool // the body went over the limit
	started bool // a status has been written
	refused bool // the 413 was written in place of the handler's answer
}

func (l *limitWriter) trip() {
	l.mu.Lock()
	l.tripped = true
	l.mu.Unlock()
}

// begin decides, at the handler's first status or write, whether its
// response goes out or the 413 does.
func (l *limitWriter) begin() (refused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.started = true
		if l.tripped {
			l.refused = true
			for k := range l.ResponseWriter.Header() {
				delete(l.ResponseWriter.Header(), k)
			}
			tooLarge(l.ResponseWriter)
		}
	}
	return l.refused
}

func (l *limitWriter) WriteHeader(code int) {
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if started {
		l.ResponseWriter.WriteHeader(code) // net/http logs the superfluous call
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		l.ResponseWriter.WriteHeader(code) // informational: not the response yet
		return
	}
	if !l.begin() {
		l.ResponseWriter.WriteHeader(code)
	}
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.begin() {
		return len(p), nil // the handler's body is dropped
	}
	return l.ResponseWriter.Write(p)
}

// Flush passes a flush on unless the handler's answer was replaced.
func (l *limitWriter) Flush() {
	if l.begin() {
		return
	}
	_ = http.NewResponseController(l.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController (and WebSocket upgrades) reach the
// connection.
func (l *limitWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
