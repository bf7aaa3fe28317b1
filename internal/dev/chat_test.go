package dev

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

type chatEvent struct {
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	From     string          `json:"from"`
	Text     string          `json:"text"`
	Members  []string        `json:"members"`
	Messages json.RawMessage `json:"messages"`
}

func join(t *testing.T, base, room, name string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), strings.Replace(base, "http", "ws", 1)+"/rooms/"+room+"?name="+name, nil)
	if err != nil {
		t.Fatalf("%s joining: %v", name, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func next(t *testing.T, c *websocket.Conn) chatEvent {
	t.Helper()
	_, data, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var e chatEvent
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return e
}

func say(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// examples/chat: join, broadcast, eviction while connected (hibernation),
// wake-up by a message with the attachment intact, leave, history.
func TestChatExample(t *testing.T) {
	evicted := make(chan string, 16)
	s := startDev(t, Options{Dir: "../../examples/chat", PersistTo: t.TempDir(), IdleTimeout: 20 * time.Millisecond,
		OnEvict: func(class, id string) { evicted <- class }})

	alice := join(t, s.base, "lobby", "alice")
	if e := next(t, alice); e.Type != "history" || string(e.Messages) != "[]" {
		t.Fatalf("alice history: %+v", e)
	}
	if e := next(t, alice); e.Type != "joined" || e.Name != "alice" {
		t.Fatalf("alice joined: %+v", e)
	}
	bob := join(t, s.base, "lobby", "bob")
	next(t, bob) // history
	if e := next(t, alice); e.Type != "joined" || e.Name != "bob" || strings.Join(e.Members, ",") == "" {
		t.Fatalf("alice sees bob: %+v", e)
	}
	next(t, bob) // joined

	say(t, alice, "hello")
	for _, c := range []*websocket.Conn{alice, bob} {
		if e := next(t, c); e.Type != "message" || e.From != "alice" || e.Text != "hello" {
			t.Fatalf("broadcast: %+v", e)
		}
	}

	// Nobody talks: the room leaves memory while both stay connected.
	if class := <-evicted; class != "ChatRoom" {
		t.Fatalf("evicted %s", class)
	}
	// A message wakes it up: the constructor runs again, the sockets and
	// their attachments (the sender's name) are still there.
	say(t, bob, "after the nap")
	for _, c := range []*websocket.Conn{alice, bob} {
		if e := next(t, c); e.Type != "message" || e.From != "bob" || e.Text != "after the nap" {
			t.Fatalf("after eviction: %+v", e)
		}
	}

	if err := bob.Close(websocket.StatusNormalClosure, "going"); err != nil && websocket.CloseStatus(err) == -1 {
		t.Logf("bob close: %v", err)
	}
	if e := next(t, alice); e.Type != "left" || e.Name != "bob" || strings.Join(e.Members, ",") != "alice" {
		t.Fatalf("bob left: %+v", e)
	}

	// The room empties its memory again; a new client connecting afterwards
	// (a reconnect) finds the history in storage and alice still there.
	for class := range evicted {
		if class == "ChatRoom" {
			break
		}
	}
	carol := join(t, s.base, "lobby", "carol")
	e := next(t, carol)
	var history []chatEvent
	if err := json.Unmarshal(e.Messages, &history); err != nil || len(history) != 2 || history[0].Text != "hello" || history[1].Text != "after the nap" {
		t.Fatalf("carol's history: %s", e.Messages)
	}
	if e := next(t, alice); e.Type != "joined" || e.Name != "carol" || strings.Join(e.Members, ",") != "alice,carol" && strings.Join(e.Members, ",") != "carol,alice" {
		t.Fatalf("alice sees carol: %+v", e)
	}
}
