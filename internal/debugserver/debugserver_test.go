package debugserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestStatsAndProfilesAreServed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/debug/kiln/stats?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	var s Stats
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s.Goroutines < 2 || s.HeapLiveBytes == 0 || s.TotalBytes < s.HeapLiveBytes || s.GCCycles == 0 {
		t.Fatalf("implausible stats %+v", s)
	}
	resp, err = http.Get("http://" + addr.String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	if resp.StatusCode != 200 || !strings.HasPrefix(b.String(), "goroutine profile: total") {
		t.Fatalf("goroutine profile: %d %q", resp.StatusCode, b.String())
	}
	if _, err := Start(ctx, addr.String()); err == nil || !strings.Contains(err.Error(), "--debug-listen") {
		t.Fatalf("second listener on the same address: %v", err)
	}
}
