package durable

import (
	"fmt"
	"sort"
)

// Migration is one migration step of a Worker (wrangler's [[migrations]]).
type Migration struct {
	Tag                string
	NewClasses         []string
	NewSQLiteClasses   []string
	DeletedClasses     []string
	RenamedClasses     []Rename
	TransferredClasses []Transfer
}

// Rename is a renamed_classes entry.
type Rename struct{ From, To string }

// Transfer is a transferred_classes entry.
type Transfer struct{ From, FromScript, To string }

// Class is a Durable Object class after the migrations: its storage
// backend and the namespace key its objects and data live under.
type Class struct {
	Name string
	SQL  bool
	// Key is "<script>-<class>" of the class that created the namespace;
	// renames and transfers keep it, so IDs and data survive them.
	Key string
}

// ClassState is the result of applying migrations.
type ClassState struct {
	Classes map[string]Class
	// Deleted are the keys of namespaces deleted by the migrations: their
	// data must be removed.
	Deleted []string
}

// ApplyMigrations replays steps for script (a Worker name) and returns the
// classes they leave, checking each step the way the platform does.
func ApplyMigrations(script string, steps []Migration) (ClassState, error) {
	st := ClassState{Classes: map[string]Class{}}
	tags := map[string]bool{}
	for i, m := range steps {
		where := fmt.Sprintf("migration %q (#%d)", m.Tag, i+1)
		if m.Tag == "" {
			return st, fmt.Errorf("migration #%d has no tag", i+1)
		}
		if tags[m.Tag] {
			return st, fmt.Errorf("%s: the tag %q is used by an earlier migration", where, m.Tag)
		}
		tags[m.Tag] = true
		add := func(name string, sql bool, key string) error {
			if _, ok := st.Classes[name]; ok {
				return fmt.Errorf("%s: cannot create Durable Object class %q because it already exists", where, name)
			}
			st.Classes[name] = Class{Name: name, SQL: sql, Key: key}
			return nil
		}
		for _, n := range m.NewClasses {
			if err := add(n, false, script+"-"+n); err != nil {
				return st, err
			}
		}
		for _, n := range m.NewSQLiteClasses {
			if err := add(n, true, script+"-"+n); err != nil {
				return st, err
			}
		}
		for _, r := range m.RenamedClasses {
			from, ok := st.Classes[r.From]
			if !ok {
				return st, fmt.Errorf("%s: cannot rename Durable Object class %q: no such class", where, r.From)
			}
			if _, taken := st.Classes[r.To]; taken {
				return st, fmt.Errorf("%s: cannot rename %q to %q: a class named %q already exists", where, r.From, r.To, r.To)
			}
			delete(st.Classes, r.From)
			st.Classes[r.To] = Class{Name: r.To, SQL: from.SQL, Key: from.Key}
		}
		for _, tr := range m.TransferredClasses {
			if tr.FromScript == "" || tr.From == "" || tr.To == "" {
				return st, fmt.Errorf("%s: a transferred class needs from, from_script and to", where)
			}
			if _, taken := st.Classes[tr.To]; taken {
				return st, fmt.Errorf("%s: cannot transfer into %q: a class named %q already exists", where, tr.To, tr.To)
			}
			// The other script's class keeps its data; its SQL flag is not
			// known here, so the transferred class is SQLite-backed like
			// every class kiln stores.
			st.Classes[tr.To] = Class{Name: tr.To, SQL: true, Key: tr.FromScript + "-" + tr.From}
		}
		for _, n := range m.DeletedClasses {
			c, ok := st.Classes[n]
			if !ok {
				return st, fmt.Errorf("%s: cannot delete Durable Object class %q: no such class", where, n)
			}
			delete(st.Classes, n)
			st.Deleted = append(st.Deleted, c.Key)
		}
	}
	sort.Strings(st.Deleted)
	return st, nil
}
