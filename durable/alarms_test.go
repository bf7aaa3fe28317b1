package durable

import (
	"testing"
	"time"
)

func TestAlarmsPersistAndFire(t *testing.T) {
	dir := t.TempDir()
	fired := make(chan ID, 4)
	a, err := OpenAlarms(dir, func(id ID, _ time.Time) { fired <- id })
	if err != nil {
		t.Fatal(err)
	}
	s := NewIDSpace("k")
	soon, later := s.FromName("soon"), s.FromName("later")
	if err := a.Set(soon, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(later, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := <-fired; got != soon {
		t.Fatalf("fired %s", got)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// A restart schedules what the index holds; a past-due alarm fires at
	// once (case 167), and a cleared one does not come back.
	b, err := OpenAlarms(dir, func(id ID, _ time.Time) { fired <- id })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(later, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	got := map[ID]bool{<-fired: true, <-fired: true}
	if !got[soon] || !got[later] {
		t.Fatalf("after restart fired %v", got)
	}
	if err := b.Clear(soon); err != nil {
		t.Fatal(err)
	}
	if err := b.Clear(later); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	c, err := OpenAlarms(dir, func(id ID, _ time.Time) { t.Errorf("cleared alarm %s fired", id) })
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

func TestAlarmBackoff(t *testing.T) {
	for n := 1; n <= AlarmMaxRetries; n++ {
		base := time.Duration(2<<(n-1)) * time.Second
		if d := AlarmBackoff(n); d < base || d > base+base/4 {
			t.Errorf("retry %d: %v not in [%v, %v]", n, d, base, base+base/4)
		}
	}
}
