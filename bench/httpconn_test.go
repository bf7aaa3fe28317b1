package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawServer answers the requests on each connection it accepts with the
// next of answers, written as given; an answer ending in "<close>" closes
// the connection after it is written (without the marker). It returns the
// base URL and a function giving the request lines it has read.
func rawServer(t *testing.T, answers ...string) (string, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var seen []string
	next := 0
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					for { // the headers, up to the empty line
						h, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if h == "\r\n" {
							break
						}
					}
					mu.Lock()
					seen = append(seen, strings.TrimSpace(line))
					answer := ""
					if next < len(answers) {
						answer = answers[next]
						next++
					}
					mu.Unlock()
					body, closing := strings.CutSuffix(answer, "<close>")
					if _, err := conn.Write([]byte(body)); err != nil || closing {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestLoadConnReadsEveryFraming(t *testing.T) {
	base, seen := rawServer(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope<close>",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end<close>",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	)
	lc, err := newLoadConn(base, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	want := []struct {
		status int
		body   string
	}{{200, "hello"}, {201, "ok"}, {200, "abcde"}, {204, ""}, {404, "nope"}, {200, "until the end"}, {200, ""}}
	for i, w := range want {
		path := fmt.Sprintf("/r%d?x=y", i)
		status, body, err := lc.get(context.Background(), path)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if status != w.status || string(body) != w.body {
			t.Fatalf("answer %d: %d %q, want %d %q", i, status, body, w.status, w.body)
		}
	}
	got := seen()
	if len(got) != len(want) || got[0] != "GET /r0?x=y HTTP/1.1" || got[6] != "GET /r6?x=y HTTP/1.1" {
		t.Fatalf("the server read %q", got)
	}
}

func TestLoadConnRejectsBrokenAnswersAndRecovers(t *testing.T) {
	for _, bad := range []string{
		"HTTP/1.1 2000 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort<close>",
		"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
		"<close>",
	} {
		base, _ := rawServer(t, bad, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		lc, err := newLoadConn(base, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if status, body, err := lc.get(context.Background(), "/"); err == nil {
			t.Fatalf("%q was read as %d %q", bad, status, body)
		}
		// The broken connection is dropped: the next request dials again.
		status, body, err := lc.get(context.Background(), "/")
		if err != nil || status != 200 || string(body) != "ok" {
			t.Fatalf("after %q: %d %q %v", bad, status, body, err)
		}
		lc.close()
	}
}

// hungServer accepts one connection, reads a request and never answers.
// asked is closed once the request was read.
func hungServer(t *testing.T) (base string, asked <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	read := make(chan struct{})
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			defer conn.Close()
			_, _ = conn.Read(make([]byte, 1024))
			close(read)
			<-t.Context().Done()
		}
	}()
	return "http://" + ln.Addr().String(), read
}

func TestLoadConnTimesOutOnAHungServer(t *testing.T) {
	base, _ := hungServer(t)
	lc, err := newLoadConn(base, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	_, _, err = lc.get(context.Background(), "/")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v, want a timeout", err)
	}
}

func TestLoadConnRefusesBadBases(t *testing.T) {
	for _, base := range []string{"https://127.0.0.1:1", "127.0.0.1:80", "http://", "http://[::1"} {
		if _, err := newLoadConn(base, 0); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
}

// TestLoadConnAgainstNetHTTP checks the generator against Go's own server,
// with a body large enough to be chunked across several reads.
func TestLoadConnAgainstNetHTTP(t *testing.T) {
	big := strings.Repeat("0123456789", 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("big") != "" {
			fmt.Fprint(w, big) // no Content-Length: net/http chunks it
			return
		}
		fmt.Fprint(w, r.URL.RequestURI())
	}))
	defer srv.Close()
	lc, err := newLoadConn(srv.URL, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	for i := range 3 {
		path := fmt.Sprintf("/p?i=%d", i)
		status, body, err := lc.get(context.Background(), path)
		if err != nil || status != 200 || string(body) != path {
			t.Fatalf("%s: %d %q %v", path, status, body, err)
		}
		status, body, err = lc.get(context.Background(), "/?big=1")
		if err != nil || status != 200 || string(body) != big {
			t.Fatalf("big: %d, %d bytes, %v", status, len(body), err)
		}
	}
}

// TestLoadConnClosesWhenTheAnswerSaysSo: "close" among other connection
// options, and a body framed both by chunks and by Content-Length, end the
// connection: the next request dials again instead of reading a closed or
// misframed one.
func TestLoadConnClosesWhenTheAnswerSaysSo(t *testing.T) {
	for _, first := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: TE, close\r\n\r\nok<close>",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n2\r\nok\r\n0\r\n\r\n<close>",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, close\r\n\r\nok<close>",
	} {
		base, seen := rawServer(t, first, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
		lc, err := newLoadConn(base, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"ok", "next"} {
			status, body, err := lc.get(context.Background(), "/")
			if err != nil || status != 200 || string(body) != want {
				t.Fatalf("after %q, request %d: %d %q %v", first, i, status, body, err)
			}
		}
		if n := len(seen()); n != 2 {
			t.Fatalf("after %q the server read %d requests", first, n)
		}
		lc.close()
	}
}

// TestLoadConnInterrupt: interrupt, from another goroutine, ends an
// exchange the server never answers, long before its timeout.
func TestLoadConnInterrupt(t *testing.T) {
	base, asked := hungServer(t)
	lc, err := newLoadConn(base, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	go func() {
		<-asked
		lc.interrupt()
	}()
	_, _, err = lc.get(context.Background(), "/")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v, want the interrupted exchange's timeout", err)
	}
}
