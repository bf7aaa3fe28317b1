package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmptyHandlerAnswersAsHelloDoes(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("workers", "hello.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `new Response("`+helloBody+`")`) {
		t.Fatalf("hello.js no longer answers %q; the HTTP ceiling must send what it sends", helloBody)
	}
	srv := httptest.NewServer(emptyHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/any/path?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != helloBody || resp.Header.Get("Content-Type") != helloContentType {
		t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestMeasureFsyncCountsEveryWriter(t *testing.T) {
	dir := t.TempDir()
	run, err := measureFsync(context.Background(), dir, 3, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if run.perSecond <= 0 || run.mean <= 0 {
		t.Fatalf("measured %+v", run)
	}
	for i := 0; i < 3; i++ {
		fi, err := os.Stat(filepath.Join(dir, "fsync-"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != fsyncBlock*fsyncBlocks {
			t.Errorf("writer %d's file has %d bytes: the writes must overwrite, not append", i, fi.Size())
		}
	}
}

func TestMeasureFsyncRefusesBadInput(t *testing.T) {
	if _, err := measureFsync(context.Background(), t.TempDir(), 0, time.Millisecond); err == nil {
		t.Error("no writers accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := measureFsync(context.Background(), filepath.Join(file, "sub"), 1, time.Millisecond); err == nil {
		t.Error("a directory under a file accepted")
	}
}

func TestReportSharesOfTheCeilings(t *testing.T) {
	r := &report{started: time.Now(), rounds: 1, duration: time.Second}
	r.add("limits", 32, "machine", result{perSecond: 40000, fsyncPerSecond: 8000, fsyncMean: 4 * time.Millisecond, createMean: 850 * time.Microsecond})
	r.add("limits", 1, "machine", result{perSecond: 10000, fsyncPerSecond: 5000, fsyncMean: 200 * time.Microsecond})
	r.add("hello", 32, "kiln", result{perSecond: 30000})
	r.add("hello", 32, "workerd", result{perSecond: 20000})
	r.add("counter-1000", 32, "kiln", result{perSecond: 4000})
	r.add("counter-1000", 32, "workerd", result{perSecond: 1000})
	r.add("kv-put", 1, "kiln", result{perSecond: 2500})
	r.add("kv-put", 1, "workerd", result{perSecond: 1500})
	md := written(t, r)
	for _, want := range []string{
		"| 32 | 40000 | 0.00 / 0.00 | 32 | 8000 | 4000 | 850 |",
		"| hello | 32 | 75% | 50% | — | — |",
		"| counter-1000 | 32 | 10% | 2% | 50% | 12% |",
		"| kv-put | 1 | 25% | 15% | 50% | 30% |",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if bytes.Contains(md, []byte("| limits |")) {
		t.Errorf("the limits scenario appears among the requests:\n%s", md)
	}
}

func TestMeasureCreateMakesNewFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "create")
	mean, err := measureCreate(dir)
	if err != nil || mean <= 0 {
		t.Fatalf("measureCreate = %v, %v", mean, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != createFiles {
		t.Fatalf("%d files, %v; want %d", len(entries), err, createFiles)
	}
	// The files must be new: measuring again over them is an error.
	if _, err := measureCreate(dir); err == nil {
		t.Fatal("creating over existing files was measured")
	}
}

func TestReportListsAFailedLimitsRound(t *testing.T) {
	r := &report{started: time.Now(), rounds: 1, duration: time.Second}
	r.add("limits", 1, "machine", result{failure: "empty HTTP server: 3 non-2xx answers"})
	md := written(t, r)
	if !r.failed() || !bytes.Contains(md, []byte("- limits, 1 conns, machine, round 1: empty HTTP server: 3 non-2xx answers")) {
		t.Fatalf("the failed limits round is not listed:\n%s", md)
	}
}

// written is the report r writes.
func written(t *testing.T, r *report) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.md")
	if err := r.write(path); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return md
}
