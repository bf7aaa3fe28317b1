package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMeasureFanOut is a measurement, not an assertion (set KILN_MEASURE=1):
// 5,000 WebSocket clients connect to one Durable Object served by a kiln
// process; one POST broadcasts a message; it reports the time until the
// last client has it and kiln's resident memory per connected socket.
func TestMeasureFanOut(t *testing.T) {
	if os.Getenv("KILN_MEASURE") == "" {
		t.Skip("set KILN_MEASURE=1 to measure")
	}
	const clients = 5000
	bin := kilnBinary(t)
	cmd := exec.Command(bin, "dev", "--port", "0", "--persist-to", t.TempDir(), "../../examples/fanout")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := ""
	buf := make([]byte, 4096)
	for base == "" {
		n, err := out.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m := readyLine.FindStringSubmatch(string(buf[:n])); m != nil {
			base = m[1]
		}
	}
	go func() {
		for {
			if _, err := out.Read(buf); err != nil {
				return
			}
		}
	}()
	rss := func() int64 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				f := strings.Fields(line)
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
		return 0
	}
	fetch(t, "GET", base+"/count", "") // activate the object
	before := rss()
	ws := strings.Replace(base, "http", "ws", 1)
	conns := make([]*websocket.Conn, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	connectStart := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.Dial(context.Background(), ws+"/", nil)
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	connectTime := time.Since(connectStart)
	if _, _, body := fetch(t, "GET", base+"/count", ""); body != strconv.Itoa(clients) {
		t.Fatalf("connected: %s", body)
	}
	after := rss()
	received := make(chan time.Time, clients)
	for _, c := range conns {
		go func(c *websocket.Conn) {
			_, _, err := c.Read(context.Background())
			if err == nil {
				received <- time.Now()
			}
		}(c)
	}
	start := time.Now()
	fetch(t, "POST", base+"/broadcast", "hello everyone")
	var last time.Time
	for i := 0; i < clients; i++ {
		last = <-received
	}
	t.Logf("%d clients connected in %v; broadcast reached the last client after %v; kiln RSS %d MiB -> %d MiB (%.1f KiB per socket)",
		clients, connectTime.Round(time.Millisecond), last.Sub(start).Round(time.Millisecond), before>>20, after>>20, float64(after-before)/clients/1024)
	for _, c := range conns {
		_ = c.CloseNow()
	}
}
