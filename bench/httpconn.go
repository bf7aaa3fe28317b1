package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// loadConn is one keep-alive HTTP/1.1 connection of the load generator. It
// writes its GETs and parses the answers itself rather than through
// net/http's client, whose reader and writer goroutines and per-request
// objects made it cost about 40% more CPU per request. The generator
// shares the machine with the server it measures, so every microsecond it
// spends is one the server does not get.
//
// A loadConn is used by one goroutine. The body get returns is valid until
// the next call.
type loadConn struct {
	addr    string // host:port to dial
	host    string // the Host header
	timeout time.Duration
	until   time.Time // the connection's deadline, when timeout > 0

	mu   sync.Mutex // guards conn against interrupt, from another goroutine
	conn net.Conn

	r    *bufio.Reader
	req  []byte
	body []byte
}

// maxLoadBody bounds an answer's body: the bench Workers answer a few bytes,
// so anything near this is a broken server, not a load to measure.
const maxLoadBody = 16 << 20

// newLoadConn returns a connection to base ("http://host:port") that dials
// on first use. A positive timeout bounds each exchange to between half of
// it and all of it: the deadline moves only when half of it has passed, so
// that a busy connection does not reset a timer per request.
func newLoadConn(base string, timeout time.Duration) (*loadConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("load generator: base %q: %w", base, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load generator: base %q is not an http://host:port address", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &loadConn{addr: addr, host: u.Host, timeout: timeout}, nil
}

// close closes the connection if it is open; the next get dials again.
func (c *loadConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// interrupt makes the exchange in flight, if any, fail at once: its
// connection's deadline is put in the past. It may be called from any
// goroutine. It does not stop later exchanges (a failed one dials again):
// the caller stops sending.
func (c *loadConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.SetDeadline(time.Unix(1, 0))
	}
}

// get sends GET path and returns the answer's status and body. After any
// error, or an answer that closes the connection, the connection is closed
// and the next get dials a new one.
func (c *loadConn) get(ctx context.Context, path string) (int, []byte, error) {
	if c.conn == nil {
		d := net.Dialer{Timeout: c.timeout}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, nil, fmt.Errorf("load generator: %w", err)
		}
		c.mu.Lock()
		c.conn = conn
		c.mu.Unlock()
		c.until = time.Time{}
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	if c.timeout > 0 {
		if now := time.Now(); c.until.Sub(now) < c.timeout/2 {
			c.until = now.Add(c.timeout)
			if err := c.conn.SetDeadline(c.until); err != nil {
				c.close()
				return 0, nil, fmt.Errorf("load generator: %w", err)
			}
		}
	}
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\n\r\n"...)
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return 0, nil, fmt.Errorf("load generator: GET %s: %w", path, err)
	}
	status, keep, err := c.readAnswer()
	if err != nil {
		c.close()
		return 0, nil, fmt.Errorf("load generator: GET %s: %w", path, err)
	}
	if !keep {
		c.close()
	}
	return status, c.body, nil
}

// readAnswer reads one answer into c.body, skipping interim (1xx) answers.
// keep is false when the connection cannot carry another request.
func (c *loadConn) readAnswer() (status int, keep bool, err error) {
	for {
		status, keep, err = c.readOne()
		if err != nil || status >= 200 {
			return status, keep, err
		}
	}
}

var errMalformed = errors.New("malformed answer")

// readOne reads a status line, headers and body.
func (c *loadConn) readOne() (status int, keep bool, err error) {
	line, err := c.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK": the version, a space, three digits, then a space
	// or the end of the line.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keep = line[7] == '1' // HTTP/1.0 closes unless told otherwise
	length, chunked, closing := -1, false, false
	for {
		h, err := c.line()
		if err != nil {
			return 0, false, err
		}
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			// Digits only: ParseUint takes no sign.
			n, err := strconv.ParseUint(string(value), 10, 31)
			if err != nil || (length >= 0 && int(n) != length) {
				return 0, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
			length = int(n)
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return 0, false, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, value)
			}
			chunked = true
		case bytes.EqualFold(name, []byte("connection")):
			for option := range bytes.SplitSeq(value, []byte(",")) {
				option = bytes.TrimSpace(option)
				if bytes.EqualFold(option, []byte("close")) {
					closing = true
				} else if bytes.EqualFold(option, []byte("keep-alive")) {
					keep = true
				}
			}
		}
	}
	// A close wins over keep-alive; so does a length given twice over, by
	// chunks and by Content-Length, which a proxy may have read the other
	// way (RFC 9112, 6.3).
	if closing || (chunked && length >= 0) {
		keep = false
	}
	c.body = c.body[:0]
	switch {
	case status < 200 || status == 204 || status == 304:
		return status, keep, nil
	case chunked:
		return status, keep, c.readChunked()
	case length >= 0:
		if length > maxLoadBody {
			return 0, false, fmt.Errorf("%w: a body of %d bytes", errMalformed, length)
		}
		c.body = slices.Grow(c.body[:0], length)[:length]
		_, err := io.ReadFull(c.r, c.body)
		return status, keep, err
	default: // the body runs to the end of the connection
		for {
			if len(c.body) > maxLoadBody {
				return 0, false, fmt.Errorf("%w: a body over %d bytes", errMalformed, maxLoadBody)
			}
			b, err := c.r.ReadSlice('\n')
			c.body = append(c.body, b...)
			if err == io.EOF {
				return status, false, nil
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return 0, false, err
			}
		}
	}
}

// readChunked reads a chunked body and its trailers.
func (c *loadConn) readChunked() error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size > uint64(maxLoadBody-len(c.body)) {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			for { // trailers, up to the empty line
				t, err := c.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		n := len(c.body)
		c.body = slices.Grow(c.body, int(size))[:n+int(size)]
		if _, err := io.ReadFull(c.r, c.body[n:]); err != nil {
			return err
		}
		end, err := c.line()
		if err != nil {
			return err
		}
		if len(end) != 0 {
			return fmt.Errorf("%w: %q after a chunk", errMalformed, end)
		}
	}
}

// line reads one CRLF- (or LF-) terminated line without its terminator. It
// is valid until the next read.
func (c *loadConn) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(b) == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: a line over %d bytes", errMalformed, c.r.Size())
		}
		return nil, err
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b, nil
}
