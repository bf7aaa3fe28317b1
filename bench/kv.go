package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

const (
	// kvGetKeys is how many keys kv-get stores before its run and reads.
	kvGetKeys = 1000
	// kvValueSize is the length of each kv-get value.
	kvValueSize = 100
	// kvPutSlots is how many keys each kv-put client writes, in turn.
	kvPutSlots = 100
	// kvCheckConns is how many connections store and read back keys
	// outside the measured runs.
	kvCheckConns = 8
)

// kvGetValue is the value kv-get stores under key k: kvValueSize bytes that
// name their key.
func kvGetValue(k int) string {
	v := fmt.Sprintf("value of k%d ", k)
	return v + strings.Repeat("-", kvValueSize-len(v))
}

func kvPutPath(key, value string) string {
	return "/put?key=" + url.QueryEscape(key) + "&value=" + url.QueryEscape(value)
}

// kvGetWorkload stores kvGetKeys keys, then reads them round-robin; every
// answer must be the stored value.
func kvGetWorkload(conns int) workload {
	// wrong[client] counts the answers that were not the stored value;
	// firstWrong[client] describes the first.
	wrong := make([]int, conns)
	firstWrong := make([]string, conns)
	return workload{
		prepare: func(ctx context.Context, base string) error {
			return fixedRequests(ctx, base, kvCheckConns, kvGetKeys, func(k int) string {
				return kvPutPath(fmt.Sprintf("k%d", k), kvGetValue(k))
			}, nil)
		},
		next: func(client, i int) request {
			k := (client + i*conns) % kvGetKeys
			return request{path: fmt.Sprintf("/get?key=k%d", k), onDone: func(body []byte) {
				if string(body) != kvGetValue(k) {
					if wrong[client] == 0 {
						firstWrong[client] = fmt.Sprintf("k%d answered %q", k, body)
					}
					wrong[client]++
				}
			}}
		},
		check: func(context.Context, string) error {
			n, first := 0, ""
			for c := range wrong {
				if wrong[c] > 0 && first == "" {
					first = firstWrong[c]
				}
				n += wrong[c]
			}
			if n > 0 {
				return fmt.Errorf("%d answers were not the stored value (first: %s)", n, first)
			}
			return nil
		},
	}
}

// kvPutWorkload has each client put a new value, unique to the put, to its
// kvPutSlots keys in turn; afterwards each key must hold the value of the
// last put acknowledged to its client.
func kvPutWorkload(conns int) workload {
	// acked[client][slot] is the index of the last acknowledged put of
	// client to that key (-1: none).
	acked := make([][]int, conns)
	for c := range acked {
		acked[c] = make([]int, kvPutSlots)
		for s := range acked[c] {
			acked[c][s] = -1
		}
	}
	key := func(client, slot int) string { return fmt.Sprintf("p%d-%d", client, slot) }
	value := func(client, i int) string { return fmt.Sprintf("client %d put %d", client, i) }
	return workload{
		next: func(client, i int) request {
			slot := i % kvPutSlots
			return request{path: kvPutPath(key(client, slot), value(client, i)), onDone: func([]byte) { acked[client][slot] = i }}
		},
		check: func(ctx context.Context, base string) error {
			type put struct{ client, slot, i int }
			var puts []put
			for c := range acked {
				for s, i := range acked[c] {
					if i >= 0 {
						puts = append(puts, put{c, s, i})
					}
				}
			}
			return fixedRequests(ctx, base, kvCheckConns, len(puts), func(n int) string {
				return "/get?key=" + url.QueryEscape(key(puts[n].client, puts[n].slot))
			}, func(n int, body []byte) error {
				p := puts[n]
				if want := value(p.client, p.i); string(body) != want {
					return fmt.Errorf("key %s holds %q but its last acknowledged put wrote %q", key(p.client, p.slot), body, want)
				}
				return nil
			})
		},
	}
}
