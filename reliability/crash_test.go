package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The crash-consistency test: concurrent clients write unique values through
// a Worker — batches of keys into Durable Object storage with a SQL row in
// the same turn, and KV puts — while the test records every write kiln
// acknowledged. The process is killed with SIGKILL after a random number of
// acknowledgements, several times, and started again on the same data
// directory. After each restart every acknowledged write must be there, and
// every batch that is there (acknowledged or not) must be whole — the writes
// of one turn are coalesced into one commit, all or nothing — and in the
// object it was sent to: objects' storage is isolated.

const crashWorker = `
export class Sink {
	constructor(ctx) {
		this.ctx = ctx;
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, n INTEGER NOT NULL)");
	}
	async fetch(req) {
		const url = new URL(req.url);
		const s = this.ctx.storage;
		if (req.method === "POST") {
			// One turn: a multi-key put, single puts without await, and a SQL
			// insert. Nothing is awaited; the output gate holds the answer
			// until the turn's commit is durable.
			const id = url.searchParams.get("id");
			const entries = {};
			for (let i = 0; i < 4; i++) entries[id + "/" + i] = id + ":" + i;
			s.put(entries);
			for (let i = 4; i < 8; i++) s.put(id + "/" + i, id + ":" + i);
			s.sql.exec("INSERT INTO batches (id, n) VALUES (?, 8)", id);
			return new Response("ok " + id);
		}
		const keys = {};
		for (const [k, v] of await s.list()) keys[k] = v;
		const rows = s.sql.exec("SELECT id FROM batches").toArray().map((r) => r.id);
		return Response.json({ keys, rows });
	}
}
export default {
	async fetch(req, env) {
		const url = new URL(req.url);
		const [, kind, name] = url.pathname.split("/");
		if (kind === "do") return env.SINK.get(env.SINK.idFromName(name)).fetch(req);
		if (kind === "kv") {
			const key = url.searchParams.get("key");
			if (req.method === "POST") {
				await env.KV.put(key, url.searchParams.get("v"));
				return new Response("ok " + key);
			}
			const v = await env.KV.get(key);
			return v === null ? new Response("missing", { status: 404 }) : new Response(v);
		}
		return new Response("not found", { status: 404 });
	},
};
`

const crashConfig = `name = "crash"
main = "index.js"
compatibility_date = "2026-11-01"
[[durable_objects.bindings]]
name = "SINK"
class_name = "Sink"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Sink"]
[[kv_namespaces]]
binding = "KV"
id = "crash-kv"
`

// crashLedger is what kiln acknowledged, across all processes of the run.
type crashLedger struct {
	mu      sync.Mutex
	batches map[string][]string // object -> acknowledged batch ids
	kv      map[string]string   // key -> acknowledged value
	sentTo  map[string]string   // batch id -> object it was sent to
	acks    atomic.Int64
}

func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts kiln repeatedly")
	}
	seed := uint64(rand.Int64())
	if s := os.Getenv("KILN_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("KILN_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (KILN_TEST_SEED=%d repeats the choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	const (
		kills   = 8
		clients = 16
		objects = 6
	)
	dir := writeProject(t, map[string]string{"wrangler.toml": crashConfig, "index.js": crashWorker})
	persist := t.TempDir()
	ledger := &crashLedger{batches: map[string][]string{}, kv: map[string]string{}, sentTo: map[string]string{}}
	var seq atomic.Int64
	unacked := 0

	for round := 0; round <= kills; round++ {
		p := startKiln(t, "dev", "--port", "0", "--persist-to", persist, "--config", dir+"/wrangler.toml")
		client := newClient(clients)
		verifyCrash(t, p, client, ledger, objects)
		if round == kills {
			p.Stop()
			break
		}
		// Kill after a random number of acknowledgements in this round.
		killAfter := int64(100 + rng.IntN(900))
		base := ledger.acks.Load()
		var killOnce sync.Once
		var wg sync.WaitGroup
		var lost atomic.Int64
		for c := 0; c < clients; c++ {
			crng := rand.New(rand.NewPCG(seed, uint64(round*clients+c+2)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !p.Exited() {
					id := fmt.Sprintf("b%d", seq.Add(1))
					var path, object string
					if crng.IntN(4) == 0 {
						path = "/kv/x?key=" + id + "&v=" + id + "-value"
					} else {
						object = fmt.Sprintf("o%d", crng.IntN(objects))
						path = "/do/" + object + "?id=" + id
						ledger.mu.Lock()
						ledger.sentTo[id] = object
						ledger.mu.Unlock()
					}
					resp, err := client.Post(p.URL+path, "text/plain", nil)
					if err != nil {
						lost.Add(1) // in flight at the kill: outcome unknown
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						lost.Add(1)
						return
					}
					if resp.StatusCode != 200 || string(body) != "ok "+id {
						if p.Exited() {
							lost.Add(1)
							return
						}
						t.Errorf("POST %s: %d %q", path, resp.StatusCode, body)
						return
					}
					ledger.mu.Lock()
					if object != "" {
						ledger.batches[object] = append(ledger.batches[object], id)
					} else {
						ledger.kv[id] = id + "-value"
					}
					ledger.mu.Unlock()
					if ledger.acks.Add(1)-base >= killAfter {
						killOnce.Do(p.Kill)
					}
				}
			}()
		}
		wg.Wait()
		client.CloseIdleConnections()
		if t.Failed() {
			t.Fatalf("kiln output:\n%s", p.Output())
		}
		unacked += int(lost.Load())
		t.Logf("round %d: killed after %d acknowledgements in the round (%d in flight, outcome unknown)", round+1, ledger.acks.Load()-base, lost.Load())
	}
	n := 0
	for _, ids := range ledger.batches {
		n += len(ids)
	}
	t.Logf("%d kills survived; %d acknowledged writes verified after every restart: %d Durable Object batches (8 keys + 1 SQL row each, %d values) and %d KV puts; %d writes in flight at a kill",
		kills, ledger.acks.Load(), n, n*9, len(ledger.kv), unacked)
}

// verifyCrash checks, on a freshly started kiln, that every acknowledged write
// is present and that no batch is torn.
func verifyCrash(t *testing.T, p *kilnProc, client *http.Client, ledger *crashLedger, objects int) {
	t.Helper()
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for o := 0; o < objects; o++ {
		object := fmt.Sprintf("o%d", o)
		resp, err := client.Get(p.URL + "/do/" + object)
		if err != nil {
			t.Fatalf("reading %s: %v", object, err)
		}
		var dump struct {
			Keys map[string]string `json:"keys"`
			Rows []string          `json:"rows"`
		}
		err = json.NewDecoder(resp.Body).Decode(&dump)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading %s: %v", object, err)
		}
		// Every batch present, acknowledged or not, is whole.
		present := map[string]int{}
		for k, v := range dump.Keys {
			id, i, ok := strings.Cut(k, "/")
			if !ok || v != id+":"+i {
				t.Errorf("%s: key %q holds %q", object, k, v)
			}
			present[id]++
		}
		rows := map[string]bool{}
		for _, id := range dump.Rows {
			rows[id] = true
		}
		for id, n := range present {
			if to := ledger.sentTo[id]; to != object {
				t.Errorf("%s holds batch %s, which was sent to %q", object, id, to)
			}
			if n != 8 || !rows[id] {
				t.Errorf("%s: batch %s is torn: %d of 8 keys, SQL row %v", object, id, n, rows[id])
			}
		}
		for id := range rows {
			if present[id] != 8 {
				t.Errorf("%s: batch %s has its SQL row but %d of 8 keys", object, id, present[id])
			}
		}
		for _, id := range ledger.batches[object] {
			if present[id] != 8 || !rows[id] {
				t.Errorf("%s: acknowledged batch %s lost: %d of 8 keys, SQL row %v", object, id, present[id], rows[id])
			}
		}
	}
	for key, want := range ledger.kv {
		resp, err := client.Get(p.URL + "/kv/x?key=" + key)
		if err != nil {
			t.Fatalf("reading KV %s: %v", key, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("acknowledged KV put %s lost: %d %q", key, resp.StatusCode, body)
		}
	}
	if t.Failed() {
		t.Fatalf("kiln output:\n%s", p.Output())
	}
}
