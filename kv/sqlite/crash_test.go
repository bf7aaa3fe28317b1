package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-dev/kiln/kv"
)

// crashChildEnv switches the test binary into the child of
// TestCrashDurability: the path of the store to write to.
const crashChildEnv = "KILN_KV_CRASH_CHILD"

const crashNS = "crash"

// crashValue is the value the child writes for key.
func crashValue(key string) []byte {
	return bytes.Repeat([]byte(key+";"), 20)
}

// A write acknowledged before the process is killed with SIGKILL is there
// after a reopen. Meanwhile this process has the same file open and reads
// and writes too, as `kiln kv key put --local` does next to `kiln dev`: it
// sees the child's acknowledged writes at once, and its store goes on
// working after the child died, perhaps holding the write lock.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path) // never returns: writes until killed
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "kv.sqlite")
	ctx := context.Background()
	parent := mustOpen(t, path, Options{PurgeInterval: -1})
	if _, err := parent.EnsureNamespace(ctx, crashNS, crashNS); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const want = 400
	var acked []string
	sc := bufio.NewScanner(out)
	var mine []string
	for len(acked) < want && sc.Scan() {
		k, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		acked = append(acked, k)
		if len(acked)%40 != 0 {
			continue
		}
		if e, err := parent.Get(ctx, crashNS, k); err != nil || e == nil || !bytes.Equal(e.Value, crashValue(k)) {
			t.Errorf("key %s acknowledged by the child is not visible here: %v", k, err)
		}
		p := fmt.Sprintf("parent-%03d", len(acked))
		if err := parent.Put(ctx, crashNS, p, crashValue(p), kv.PutOptions{}); err != nil {
			t.Fatalf("put next to the child: %v", err)
		}
		mine = append(mine, p)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < want {
		t.Fatalf("child stopped after %d acknowledgements: %s", len(acked), stderr.String())
	}

	// The surviving store writes on after the child's death.
	if err := parent.Put(ctx, crashNS, "parent-after", crashValue("parent-after"), kv.PutOptions{}); err != nil {
		t.Fatalf("put after the child was killed: %v", err)
	}
	mine = append(mine, "parent-after")
	if err := parent.Close(); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, path, Options{PurgeInterval: -1})
	for _, k := range append(acked, mine...) {
		e, err := s.Get(ctx, crashNS, k)
		if err != nil {
			t.Fatal(err)
		}
		if e == nil || !bytes.Equal(e.Value, crashValue(k)) {
			t.Fatalf("acknowledged key %s lost after SIGKILL (%d acknowledged)", k, len(acked))
		}
	}
}

// crashChild writes from several goroutines, single and bulk puts, and
// prints "ack <key>" for every write acknowledged, until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(1)
	}
	s, err := Open(ctx, path, Options{PurgeInterval: -1})
	if err != nil {
		fail(err)
	}
	if _, err := s.EnsureNamespace(ctx, crashNS, crashNS); err != nil {
		fail(err)
	}
	var mu sync.Mutex
	ack := func(keys ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			fmt.Fprintf(os.Stdout, "ack %s\n", k)
		}
	}
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("g%d-%06d", g, i)
				if g%4 == 3 { // a bulk of three
					items := []kv.BulkItem{{Key: k + "a"}, {Key: k + "b"}, {Key: k + "c"}}
					for j := range items {
						items[j].Value = crashValue(items[j].Key)
					}
					if err := s.PutMany(ctx, crashNS, items); err != nil {
						fail(err)
					}
					ack(k+"a", k+"b", k+"c")
					continue
				}
				if err := s.Put(ctx, crashNS, k, crashValue(k), kv.PutOptions{}); err != nil {
					fail(err)
				}
				ack(k)
			}
		}()
	}
	select {}
}
