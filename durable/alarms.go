package durable

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// Alarm retry policy of the platform: 2 s doubling, up to six retries,
// with up to 25% jitter.
const (
	AlarmMaxRetries   = 6
	alarmFirstBackoff = 2 * time.Second
	alarmJitter       = 0.25
)

// AlarmBackoff is the delay before retry number n (1-based).
func AlarmBackoff(n int) time.Duration {
	d := alarmFirstBackoff << (n - 1)
	return d + time.Duration(rand.Float64()*alarmJitter*float64(d))
}

// Alarms schedules the alarms of one namespace and remembers them across
// restarts. The index it keeps (<dir>/alarms.sqlite) is a hint: every entry
// is checked against the object's own storage when it fires, so an entry
// may be stale but an alarm is never missing from it (it is written before
// the object's commit). Safe for concurrent use.
type Alarms struct {
	fire func(id ID, due time.Time)

	mu     sync.Mutex
	db     *sqlite3.Conn
	path   string
	timers map[ID]*time.Timer
	closed bool
}

// OpenAlarms opens the index in dir and schedules every alarm it holds;
// fire is called (on its own goroutine) when one is due.
func OpenAlarms(dir string, fire func(id ID, due time.Time)) (*Alarms, error) {
	a := &Alarms{fire: fire, path: filepath.Join(dir, "alarms.sqlite"), timers: map[ID]*time.Timer{}}
	if _, err := os.Stat(a.path); errors.Is(err, os.ErrNotExist) {
		return a, nil // opened on the first Set
	}
	if err := a.open(); err != nil {
		return nil, err
	}
	stmt, _, err := a.db.Prepare(`SELECT id, at FROM alarms`)
	if err != nil {
		return nil, fmt.Errorf("reading alarms: %w", err)
	}
	defer stmt.Close()
	for stmt.Step() {
		id, err := NewIDSpace("").parseUnchecked(stmt.ColumnText(0))
		if err != nil {
			continue
		}
		a.schedule(id, time.UnixMilli(stmt.ColumnInt64(1)))
	}
	if err := stmt.Err(); err != nil {
		return nil, fmt.Errorf("reading alarms: %w", err)
	}
	return a, nil
}

func (a *Alarms) open() error {
	if a.db != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.path), 0o755); err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	db, err := sqlite3.Open(a.path)
	if err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	if err := db.Exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS alarms (id TEXT PRIMARY KEY, at INTEGER NOT NULL)`); err != nil {
		db.Close()
		return fmt.Errorf("alarm index: %w", err)
	}
	a.db = db
	return nil
}

// Set records (durably) and schedules the alarm of id at t.
func (a *Alarms) Set(id ID, t time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("alarm scheduler closed")
	}
	if err := a.open(); err != nil {
		return err
	}
	stmt, _, err := a.db.Prepare(`INSERT INTO alarms (id, at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`)
	if err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	defer stmt.Close()
	_ = stmt.BindText(1, id.String())
	_ = stmt.BindInt64(2, t.UnixMilli())
	if err := stmt.Exec(); err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	a.scheduleLocked(id, t)
	return nil
}

// Retry schedules another attempt without changing the index entry.
func (a *Alarms) Retry(id ID, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.scheduleLocked(id, t)
	}
}

// Clear forgets the alarm of id.
func (a *Alarms) Clear(id ID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.timers[id]; ok {
		t.Stop()
		delete(a.timers, id)
	}
	if a.db == nil {
		return nil
	}
	stmt, _, err := a.db.Prepare(`DELETE FROM alarms WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	defer stmt.Close()
	_ = stmt.BindText(1, id.String())
	return stmt.Exec()
}

func (a *Alarms) schedule(id ID, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scheduleLocked(id, t)
}

func (a *Alarms) scheduleLocked(id ID, t time.Time) {
	if old, ok := a.timers[id]; ok {
		old.Stop()
	}
	due := t
	a.timers[id] = time.AfterFunc(time.Until(t), func() {
		a.mu.Lock()
		closed := a.closed
		a.mu.Unlock()
		if !closed {
			a.fire(id, due)
		}
	})
}

// Close stops every timer; the index keeps the alarms for the next start.
func (a *Alarms) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, t := range a.timers {
		t.Stop()
	}
	a.timers = nil
	if a.db != nil {
		return a.db.Close()
	}
	return nil
}

// parseUnchecked reads the hex form of an ID without checking its MAC
// (the index only holds IDs kiln wrote).
func (IDSpace) parseUnchecked(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, ErrIDFormat
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, ErrIDFormat
	}
	return id, nil
}
