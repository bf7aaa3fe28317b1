package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-conns", "8, 1", "-scenarios", "hello,cold-start", "-rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.conns) != "[8 1]" || fmt.Sprint(o.scenarios) != "[hello cold-start]" || o.rounds != 2 {
		t.Fatalf("parsed %+v", o)
	}
	for _, bad := range [][]string{{"-conns", "0"}, {"-conns", "x"}, {"-scenarios", "nope"}, {"-rounds", "0"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestMedianSkipsFailedRounds(t *testing.T) {
	m, n := medianResult([]result{{perSecond: 10}, {perSecond: 30, failure: "lost"}, {perSecond: 20}, {perSecond: 40}})
	if n != 3 || m.perSecond != 20 {
		t.Fatalf("median %v over %d rounds", m.perSecond, n)
	}
	if _, n := medianResult([]result{{failure: "x"}}); n != 0 {
		t.Fatalf("a failed round counted")
	}
}

// counterServer answers /get?name=cN with values[N].
func counterServer(t *testing.T, values []int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Query().Get("name"), "c%d", &n); err != nil || n >= len(values) {
			http.Error(w, "bad name", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, values[n])
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckCounters(t *testing.T) {
	acked := [][]int{{2, 0, 1}, {1, 3, 0}}
	if err := checkCounters(context.Background(), counterServer(t, []int{3, 3, 1}), acked, 3); err != nil {
		t.Fatalf("matching counters refused: %v", err)
	}
	err := checkCounters(context.Background(), counterServer(t, []int{3, 2, 1}), acked, 3)
	if err == nil || !strings.Contains(err.Error(), "c1 holds 2 but 3") {
		t.Fatalf("a lost increment was not reported: %v", err)
	}
	if err := checkCounters(context.Background(), counterServer(t, []int{3, 4, 1}), acked, 3); err == nil {
		t.Fatal("an extra increment was not reported")
	}
}

func TestClosedLoopCountsNon2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	// Each client sends at least one request: client 1's fail.
	res := closedLoop(context.Background(), srv.URL, 2, time.Millisecond, func(client, i int) request {
		if client == 1 {
			return request{path: "/bad"}
		}
		return request{path: "/"}
	})
	if res.ok == 0 || res.non2xx == 0 || res.errors != 0 || !strings.Contains(res.firstErr, "500") {
		t.Fatalf("result %+v", res)
	}
	if len(res.latencies) != res.ok {
		t.Fatalf("%d latencies for %d answers", len(res.latencies), res.ok)
	}
}
