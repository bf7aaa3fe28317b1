package durable

import (
	"strings"
	"testing"
)

func TestApplyMigrations(t *testing.T) {
	st, err := ApplyMigrations("app", []Migration{
		{Tag: "v1", NewClasses: []string{"Old"}, NewSQLiteClasses: []string{"Counter", "Gone"}},
		{Tag: "v2", RenamedClasses: []Rename{{From: "Counter", To: "Tally"}}, DeletedClasses: []string{"Gone"}},
		{Tag: "v3", TransferredClasses: []Transfer{{From: "Room", FromScript: "chat", To: "Room"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Class{
		"Old":   {Name: "Old", SQL: false, Key: "app-Old"},
		"Tally": {Name: "Tally", SQL: true, Key: "app-Counter"},
		"Room":  {Name: "Room", SQL: true, Key: "chat-Room"},
	}
	if len(st.Classes) != len(want) {
		t.Fatalf("classes %v", st.Classes)
	}
	for n, c := range want {
		if st.Classes[n] != c {
			t.Errorf("%s = %+v, want %+v", n, st.Classes[n], c)
		}
	}
	if len(st.Deleted) != 1 || st.Deleted[0] != "app-Gone" {
		t.Errorf("deleted %v", st.Deleted)
	}
}

func TestApplyMigrationsErrors(t *testing.T) {
	cases := []struct {
		steps []Migration
		want  string
	}{
		{[]Migration{{Tag: "v1", NewClasses: []string{"A"}}, {Tag: "v2", NewSQLiteClasses: []string{"A"}}}, `cannot create Durable Object class "A" because it already exists`},
		{[]Migration{{Tag: "v1", RenamedClasses: []Rename{{From: "X", To: "Y"}}}}, `cannot rename Durable Object class "X": no such class`},
		{[]Migration{{Tag: "v1", DeletedClasses: []string{"X"}}}, `cannot delete Durable Object class "X"`},
		{[]Migration{{Tag: "v1"}, {Tag: "v1"}}, `the tag "v1" is used by an earlier migration`},
		{[]Migration{{NewClasses: []string{"A"}}}, `has no tag`},
	}
	for _, c := range cases {
		if _, err := ApplyMigrations("app", c.steps); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
