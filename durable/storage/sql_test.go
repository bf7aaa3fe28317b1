package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Case 112: results and column names.
func TestExecBasics(t *testing.T) {
	db := openSQL(t)
	c, err := db.Exec("SELECT 123")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"123"}) {
		t.Fatalf("columns = %q", got)
	}
	wantRows(t, drain(t, c), []any{int64(123)})
	c, _ = db.Exec("SELECT 'hello'")
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"'hello'"}) {
		t.Fatalf("columns = %q", got)
	}
	wantRows(t, drain(t, c), []any{"hello"})
	wantRows(t, query(t, db, "SELECT x'ff' AS blob, 1.5, NULL"), []any{[]byte{0xff}, 1.5, nil})
	c, _ = db.Exec("SELECT count(value) FROM (SELECT 1 AS value UNION ALL SELECT 2)")
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"count(value)"}) {
		t.Fatalf("columns = %q", got)
	}
	c.Close()
	if _, ok, err := c.Next(); ok || err != nil {
		t.Fatalf("closed cursor: %v %v", ok, err)
	}
}

// Case 114: bindings.
func TestExecBindings(t *testing.T) {
	db := openSQL(t)
	c, _ := db.Exec("SELECT ?", 456)
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"?"}) {
		t.Fatalf("columns = %q", got)
	}
	wantRows(t, drain(t, c), []any{int64(456)})
	wantRows(t, query(t, db, "SELECT ? + ?", 123, 456.0), []any{579.0})
	wantRows(t, query(t, db, "SELECT ?, ?, ?, typeof(?)", "s", []byte{1, 2}, nil, []byte{}),
		[]any{"s", []byte{1, 2}, nil, "blob"})
	wantErr(t, execErr(t, db, "SELECT ?"), ClassError, "Wrong number of parameter bindings for SQL query.")
	wantErr(t, execErr(t, db, "SELECT ?", 1, 2), ClassError, "Wrong number of parameter bindings for SQL query.")
	err := execErr(t, db, "SELECT ?", true)
	if e := wantErrContains(t, err, "Unsupported type"); e.Class != ClassTypeError {
		t.Fatalf("class %s", e.Class)
	}
}

// Case 115: the cursor returns rows one by one, then reports the end.
func TestCursorProtocol(t *testing.T) {
	db := openSQL(t)
	c, err := db.Exec(`SELECT 1 AS col UNION ALL SELECT "foo" AS col UNION ALL SELECT 3 AS col`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []any{int64(1), "foo", int64(3)} {
		row, ok, err := c.Next()
		if err != nil || !ok || !reflect.DeepEqual(row, []any{want}) {
			t.Fatalf("next = %v %v %v, want %v", row, ok, err, want)
		}
	}
	for range 2 {
		if row, ok, err := c.Next(); ok || err != nil {
			t.Fatalf("after the end: %v %v %v", row, ok, err)
		}
	}
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"col"}) {
		t.Fatalf("columns after the end = %q", got)
	}
}

// Case 116: empty and comment-only SQL; earlier statements still ran.
func TestNoStatement(t *testing.T) {
	db := openSQL(t)
	for _, q := range []string{"", ";", "  \n", "-- just a comment", "SELECT 123; SELECT 456; -- trailing comment"} {
		e := wantErr(t, execErr(t, db, q), ClassError, "SQL code did not contain a statement.")
		if !errors.Is(e, ErrNoStatement) {
			t.Fatalf("%q: not ErrNoStatement", q)
		}
	}
	// trailing white space after the last ";" is fine (case 137)
	for _, ws := range []string{" ", "\t", "\n", "\r", "\v", "\f", "\r\n"} {
		wantRows(t, query(t, db, "SELECT 1;"+ws), []any{int64(1)})
	}
}

// Case 118 and the error format: message, offset, code name.
func TestSQLErrorFormat(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE test_error_codes (name TEXT)")
	e := wantErr(t, execErr(t, db, "INSERT INTO test_error_codes(rowid, name) VALUES ('yeah','nah')"),
		ClassError, "datatype mismatch: SQLITE_MISMATCH")
	if e.Code != "SQLITE_MISMATCH" || !errors.Is(e, ErrSQLite) {
		t.Fatalf("code %q", e.Code)
	}
	wantErr(t, execErr(t, db, "SELECT ;"), ClassError, `near ";": syntax error at offset 7: SQLITE_ERROR`)
	wantErr(t, execErr(t, db, "SELECT -;"), ClassError, `near ";": syntax error at offset 8: SQLITE_ERROR`)
	wantErr(t, execErr(t, db, "SELECT * FROM misspelled_table_name"), ClassError,
		"no such table: misspelled_table_name: SQLITE_ERROR")
	wantErr(t, execErr(t, db, "SELECT 1; SELECT * FROM nope"), ClassError, "no such table: nope: SQLITE_ERROR")
	wantErr(t, execErr(t, db, "SELECT ?; SELECT 1", 1), ClassError,
		"When executing multiple SQL statements in a single call, only the last statement can have parameters.")
}

// Case 119: several statements; only the last one's rows come back.
func TestMultiStatement(t *testing.T) {
	db := openSQL(t)
	query(t, db, "PRAGMA case_sensitive_like = TRUE")
	got := query(t, db, `
      CREATE TABLE items(i INTEGER, s TEXT);
      CREATE INDEX itemsIdx ON items(s);
      INSERT INTO items VALUES (123, "abc");
      INSERT INTO items VALUES (456, "def");
      SELECT i FROM items WHERE s = ?;
    `, "abc")
	wantRows(t, got, []any{int64(123)})
	// As in workerd, a failing statement leaves the earlier ones' effects.
	wantErrContains(t, execErr(t, db, "INSERT INTO items VALUES (789, 'ghi'); SELECT * FROM nope"), "no such table: nope")
	wantRows(t, query(t, db, "SELECT count(*) FROM items"), []any{int64(3)})
	if seq := commit(t, db); seq != 1 {
		t.Fatalf("seq = %d", seq)
	}
}

// Case 120: transaction statements are refused with the platform's text.
func TestTransactionStatementsRefused(t *testing.T) {
	db := openSQL(t)
	const msg = "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements. The JavaScript API is safer because it will automatically roll back on exceptions, and because it interacts correctly with Durable Objects' automatic atomic write coalescing."
	re := regexp.MustCompile(`please use the state.storage.transaction\(\) or state.storage.transactionSync\(\) APIs`)
	for _, q := range []string{"BEGIN TRANSACTION", "BEGIN", "SAVEPOINT foo", "COMMIT", "END", "ROLLBACK",
		"RELEASE foo", "ROLLBACK TO foo", "SELECT 1; BEGIN"} {
		e := wantErr(t, execErr(t, db, q), ClassError, msg)
		if !re.MatchString(e.Message) || !errors.Is(e, ErrTransactionSQL) {
			t.Fatalf("%q: %v", q, e)
		}
	}
	if db.InTransaction() {
		t.Fatal("a refused statement opened a transaction")
	}
}

// Case 121 at this level: transactionSync is a savepoint rolled back when
// the callback throws, schema changes included; nesting works.
func TestTransactionSyncViaSavepoints(t *testing.T) {
	db := openSQL(t)
	sp, _ := db.Savepoint()
	query(t, db, "CREATE TABLE IF NOT EXISTS should_succeed (VALUE text)")
	if err := sp.Release(); err != nil {
		t.Fatal(err)
	}
	wantRows(t, query(t, db, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'should_succeed'"), []any{int64(1)})

	sp, _ = db.Savepoint()
	query(t, db, "CREATE TABLE should_be_rolled_back (VALUE text)")
	err := execErr(t, db, "SELECT * FROM misspelled_table_name")
	wantErrContains(t, err, "no such table: misspelled_table_name")
	if err := sp.Rollback(); err != nil {
		t.Fatal(err)
	}
	wantRows(t, query(t, db, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'should_be_rolled_back'"), []any{int64(0)})

	query(t, db, "CREATE TABLE txnTest (i INTEGER)")
	query(t, db, "INSERT INTO txnTest VALUES (1)")
	getI := func() any { return query(t, db, "SELECT i FROM txnTest")[0][0] }
	outer, _ := db.Savepoint()
	query(t, db, "UPDATE txnTest SET i = ?", 2)
	inner, _ := db.Savepoint()
	query(t, db, "UPDATE txnTest SET i = ?", 3)
	if getI() != int64(3) {
		t.Fatal("inner update not visible")
	}
	if err := inner.Rollback(); err != nil { // the callback threw
		t.Fatal(err)
	}
	if got := getI(); got != int64(2) {
		t.Fatalf("after inner rollback i = %v", got)
	}
	if err := outer.Release(); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if got := getI(); got != int64(2) {
		t.Fatalf("after commit i = %v", got)
	}
}

// Case 122: names beginning with _cf_, in any case, are kiln's.
func TestReservedNames(t *testing.T) {
	db := openSQL(t)
	for _, name := range []string{"_cf_invalid", "_CF_test", "_Cf_test", "_cF_test"} {
		wantErr(t, execErr(t, db, "CREATE TABLE "+name+" (name TEXT)"), ClassError, "not authorized: SQLITE_AUTH")
	}
	wantErrContains(t, execErr(t, db, "CREATE VIRTUAL TABLE _cf_fts_test USING fts5(content)"), "not authorized")
	put(t, db, "blah", "123")
	wantErr(t, execErr(t, db, "SELECT * FROM _cf_KV"), ClassError, "access to _cf_KV.key is prohibited: SQLITE_AUTH")
	wantErrContains(t, execErr(t, db, "INSERT INTO _cf_KV VALUES ('a', x'00')"), "not authorized")
	wantErrContains(t, execErr(t, db, "DROP TABLE _cf_KV"), "not authorized")
	wantErrContains(t, execErr(t, db, "PRAGMA table_info(_cf_KV)"), "not authorized")
	wantErrContains(t, execErr(t, db, "PRAGMA quick_check(_cf_KV)"), "not authorized")
	wantErrContains(t, execErr(t, db, "CREATE INDEX i ON _cf_KV (value)"), "not authorized")
	query(t, db, "CREATE TABLE mine (a)")
	// A trigger's body is authorized when a user statement fires it.
	query(t, db, "CREATE TRIGGER t AFTER INSERT ON mine BEGIN DELETE FROM _cf_KV; END")
	wantErrContains(t, execErr(t, db, "INSERT INTO mine VALUES (1)"), "not authorized")
	query(t, db, "DROP TRIGGER t")
	query(t, db, "CREATE VIRTUAL TABLE my_fts USING fts5(content)")
	query(t, db, "INSERT INTO my_fts VALUES ('the quick brown fox')")
	wantRows(t, query(t, db, "SELECT content FROM my_fts WHERE my_fts MATCH 'brown'"), []any{"the quick brown fox"})
	query(t, db, "CREATE VIRTUAL TABLE my_vocab USING fts5vocab(my_fts, row)")
	wantErrContains(t, execErr(t, db, "CREATE VIRTUAL TABLE bad USING fts5abcd(id)"), "not authorized")
	wantErrContains(t, execErr(t, db, "ATTACH 'other.db' AS other"), "not authorized")
	if got := getStr(t, db, "blah"); got != "123" {
		t.Fatalf("blah = %q", got)
	}
}

// Case 124: boolean pragma values workerd accepts.
func TestBooleanPragmas(t *testing.T) {
	db := openSQL(t)
	for _, tc := range []struct {
		v    string
		want int64
	}{
		{"true", 1}, {"false", 0}, {"on", 1}, {"off", 0}, {"yes", 1}, {"no", 0}, {"1", 1}, {"0", 0},
		{"tRuE", 1}, {"NO", 0}, {"'true'", 1}, {`"yes"`, 1}, {`"0"`, 0}, {"  true    ", 1},
	} {
		query(t, db, "PRAGMA defer_foreign_keys = "+tc.v+";")
		wantRows(t, query(t, db, "PRAGMA defer_foreign_keys;"), []any{tc.want})
	}
	wantErrContains(t, execErr(t, db, "PRAGMA defer_foreign_keys = abcd;"), "not authorized")
	wantErrContains(t, execErr(t, db, `PRAGMA defer_foreign_keys = "foo";`), "not authorized")
	wantErrContains(t, execErr(t, db, "PRAGMA defer_foreign_keys = 'yes;"), "unrecognized token")
}

func TestPragmaAllowlist(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE myTable (foo TEXT, bar INTEGER)")
	for _, q := range []string{
		"PRAGMA data_version", "PRAGMA table_list", "PRAGMA table_info(myTable)", "PRAGMA table_xinfo(myTable)",
		"PRAGMA quick_check", "PRAGMA quick_check(1)", "PRAGMA quick_check(myTable)", "PRAGMA foreign_key_check",
		"PRAGMA foreign_key_list(myTable)", "PRAGMA index_list(myTable)", "PRAGMA optimize(-1)",
		"PRAGMA optimize(0x7fffffff)", "PRAGMA optimize=0x10002", "PRAGMA optimize", "ANALYZE",
		"PRAGMA recursive_triggers", "PRAGMA FOREIGN_KEYS",
		"SELECT name FROM pragma_table_list WHERE type = 'table'",
	} {
		query(t, db, q)
	}
	for _, q := range []string{
		"PRAGMA hard_heap_limit = 1024", "PRAGMA data_version = 5", "PRAGMA max_page_count = 65536",
		"PRAGMA page_size = 8192", "PRAGMA journal_mode = DELETE", "PRAGMA synchronous = OFF",
		"PRAGMA user_version", "PRAGMA writable_schema = ON", "PRAGMA optimize(abc)",
	} {
		wantErr(t, execErr(t, db, q), ClassError, "not authorized: SQLITE_AUTH")
	}
}

// Case 125: functions.
func TestFunctions(t *testing.T) {
	db := openSQL(t)
	err := execErr(t, db, "SELECT sqlite_version()")
	if !regexp.MustCompile(`not authorized to use function: sqlite_version`).MatchString(err.Error()) {
		t.Fatalf("sqlite_version: %v", err)
	}
	wantErrContains(t, execErr(t, db, "SELECT base64(x'00')"), "not authorized to use function: base64")
	wantRows(t, query(t, db, "SELECT abs(-123)"), []any{int64(123)})
	wantRows(t, query(t, db, "SELECT cos(0)"), []any{1.0})
	wantRows(t, query(t, db, `SELECT '{"a":2,"c":[4,5,{"f":7}]}' -> '$.c' AS value`), []any{`[4,5,{"f":7}]`})
	row := query(t, db, "SELECT current_date, current_time, current_timestamp")[0]
	for i, re := range []string{`^\d{4}-\d{2}-\d{2}$`, `^\d{2}:\d{2}:\d{2}$`, `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`} {
		if !regexp.MustCompile(re).MatchString(row[i].(string)) {
			t.Fatalf("%v does not match %s", row[i], re)
		}
	}
}

// Case 126: the limits workerd sets.
func TestSQLiteLimits(t *testing.T) {
	db := openSQL(t)
	wantRows(t, query(t, db, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5"),
		[]any{int64(1)}, []any{int64(2)}, []any{int64(3)}, []any{int64(4)}, []any{int64(5)})
	wantErrContains(t, execErr(t, db,
		"SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6"),
		"too many terms in compound SELECT")

	vars := make([]string, 101)
	args := make([]any, 101)
	for i := range vars {
		vars[i], args[i] = "?", i
	}
	wantErrContains(t, execErr(t, db, "SELECT "+strings.Join(vars, ","), args...), "too many SQL variables")
	wantRows(t, query(t, db, "SELECT count(*) FROM (SELECT "+strings.Join(vars[:100], ",")+")", args[:100]...),
		[]any{int64(1)})

	cols := make([]string, 101)
	for i := range cols {
		cols[i] = fmt.Sprint("c", i)
	}
	wantErrContains(t, execErr(t, db, "CREATE TABLE wide ("+strings.Join(cols, ",")+")"), "too many columns")
	query(t, db, "CREATE TABLE wide ("+strings.Join(cols[:100], ",")+")")

	wantErrContains(t, execErr(t, db, "SELECT 'x' LIKE '"+strings.Repeat("a", 51)+"'"), "LIKE or GLOB pattern too complex")
	wantErr(t, execErr(t, db, "SELECT '"+strings.Repeat("a", 100000)+"'"), ClassError, "statement too long: SQLITE_TOOBIG")
	wantErrContains(t, execErr(t, db, "SELECT "+strings.Repeat("abs(", 101)+"1"+strings.Repeat(")", 101)),
		"Expression tree is too large (maximum depth 100)")
	wantErrContains(t, execErr(t, db, "SELECT length(zeroblob(?))", 4<<20+1), "too big")
}

// Case 128: schema changes, CHECK constraints, temporary tables refused.
func TestSchemaChanges(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE beforerename (id INTEGER)")
	query(t, db, "ALTER TABLE beforerename RENAME TO afterrename")
	query(t, db, "CREATE TABLE altercolumns (meta TEXT)")
	query(t, db, "ALTER TABLE altercolumns ADD COLUMN tobedeleted TEXT")
	query(t, db, "ALTER TABLE altercolumns RENAME COLUMN meta TO metadata")
	query(t, db, "ALTER TABLE altercolumns DROP COLUMN tobedeleted")
	query(t, db, "ALTER TABLE altercolumns ADD COLUMN checked_col TEXT CHECK(checked_col IN ('A','B'))")
	query(t, db, "INSERT INTO altercolumns(checked_col) VALUES ('A')")
	err := execErr(t, db, "INSERT INTO altercolumns(checked_col) VALUES ('C')")
	if !regexp.MustCompile(`CHECK constraint failed: checked_col IN \('A','B'\)`).MatchString(err.Error()) {
		t.Fatalf("check: %v", err)
	}
	query(t, db, "PRAGMA ignore_check_constraints=ON")
	query(t, db, "INSERT INTO altercolumns(checked_col) VALUES ('C')")
	query(t, db, "ALTER TABLE altercolumns ADD COLUMN second_col TEXT CHECK(second_col IS NOT NULL)")
	query(t, db, "PRAGMA ignore_check_constraints=OFF")
	wantRows(t, query(t, db, "PRAGMA quick_check"),
		[]any{"CHECK constraint failed in altercolumns"}, []any{"CHECK constraint failed in altercolumns"})
	wantErr(t, execErr(t, db, "CREATE TEMP TABLE tempy AS SELECT * FROM sqlite_master"), ClassError, "not authorized: SQLITE_AUTH")
	wantErrContains(t, execErr(t, db, "CREATE TEMP VIEW tv AS SELECT 1"), "not authorized")
	// VACUUM (INTO a file, too) cannot run inside the implicit transaction
	// that every statement that is not read-only gets.
	path := t.TempDir() + "/copy.db"
	wantErrContains(t, execErr(t, db, "VACUUM INTO ?", path), "cannot VACUUM from within a transaction")
	wantErrContains(t, execErr(t, db, "VACUUM"), "cannot VACUUM from within a transaction")
}

// Case 129: foreign keys are enforced by default; deferred ones are
// checked at commit, where a violation rolls the turn back.
func TestForeignKeys(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
	query(t, db, "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER, content TEXT, FOREIGN KEY(user_id) REFERENCES users(id))")
	commit(t, db)

	e := wantErr(t, execErr(t, db, "INSERT INTO posts (user_id, content) VALUES (?, ?)", 1, "Post 1"),
		ClassError, "FOREIGN KEY constraint failed: SQLITE_CONSTRAINT")
	if e.Code != "SQLITE_CONSTRAINT" {
		t.Fatal(e.Code)
	}
	sp, _ := db.Savepoint()
	execErr(t, db, "INSERT INTO posts (user_id, content) VALUES (?, ?)", 1, "Post 1")
	sp.Rollback()
	commit(t, db)

	sp, _ = db.Savepoint()
	query(t, db, "PRAGMA defer_foreign_keys=ON")
	query(t, db, "INSERT INTO posts (user_id, content) VALUES (?, ?)", 1, "Post 1")
	query(t, db, "INSERT INTO users VALUES (?, ?)", 1, "Alice")
	sp.Release()
	if seq := commit(t, db); seq == 0 {
		t.Fatal("valid deferred writes not committed")
	}

	put(t, db, "also", "lost")
	sp, _ = db.Savepoint()
	query(t, db, "PRAGMA defer_foreign_keys=ON")
	query(t, db, "INSERT INTO posts (user_id, content) VALUES (?, ?)", 2, "Post 2")
	sp.Release()
	_, err := db.Commit()
	e = wantErrContains(t, err, "constraints were violated: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT")
	if !strings.HasPrefix(e.Message, "Durable Object was reset and rolled back to its last known good state") ||
		!errors.Is(err, ErrConstraint) {
		t.Fatalf("commit error %q", e.Message)
	}
	if db.InTransaction() {
		t.Fatal("failed commit left the transaction open")
	}
	wantRows(t, query(t, db, "SELECT count(*) FROM posts"), []any{int64(1)})
	if got := getStr(t, db, "also"); got != "<none>" {
		t.Fatalf("a write of the failed turn survived: %q", got)
	}
}

// Case 130: foreign_keys=OFF outside a transaction really turns them off,
// and foreign_key_check still reports violations.
func TestForeignKeysOff(t *testing.T) {
	db := openSQL(t)
	query(t, db, "PRAGMA foreign_keys = OFF")
	sp, _ := db.Savepoint()
	query(t, db, `
      CREATE TABLE A (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        bId INTEGER NOT NULL REFERENCES B (id) ON DELETE RESTRICT ON UPDATE CASCADE
      );
      INSERT INTO A VALUES(1,1);
      CREATE TABLE B (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT);
    `)
	sp.Release()
	commit(t, db)
	c, _ := db.Exec("pragma foreign_key_check")
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"table", "rowid", "parent", "fkid"}) {
		t.Fatalf("columns = %q", got)
	}
	wantRows(t, drain(t, c), []any{"A", int64(1), "B", int64(0)})
	query(t, db, "INSERT INTO B VALUES (1)")
	wantRows(t, query(t, db, "pragma foreign_key_check"))
	commit(t, db)
	query(t, db, "PRAGMA foreign_keys = ON")
	wantRows(t, query(t, db, "PRAGMA foreign_keys"), []any{int64(1)})
}

// Case 132: column names keep duplicates; rows keep every value.
func TestColumnNames(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE abc (a INT, b INT, c INT); CREATE TABLE cde (c INT, d INT, e INT)")
	query(t, db, "INSERT INTO abc VALUES (1,2,3),(4,5,6); INSERT INTO cde VALUES (7,8,9),(1,2,3)")
	c, _ := db.Exec("SELECT * FROM abc, cde")
	if got := c.ColumnNames(); !reflect.DeepEqual(got, []string{"a", "b", "c", "c", "d", "e"}) {
		t.Fatalf("columns = %q", got)
	}
	rows := drain(t, c)
	if len(rows) != 4 || !reflect.DeepEqual(rows[0], []any{int64(1), int64(2), int64(3), int64(7), int64(8), int64(9)}) {
		t.Fatalf("rows = %v", rows)
	}
	if got := c.ColumnNames(); len(got) != 6 {
		t.Fatalf("columns after consumption = %q", got)
	}
	c, _ = db.Exec("UPDATE abc SET a = 1 WHERE b = 123542")
	if got := c.ColumnNames(); got == nil || len(got) != 0 {
		t.Fatalf("columns of UPDATE = %#v", got)
	}
}

// Case 133: databaseSize.
func TestDatabaseSize(t *testing.T) {
	db := openSQL(t)
	if n, err := db.DatabaseSize(); err != nil || n != 4096 {
		t.Fatalf("new object: %d, %v", n, err)
	}
	query(t, db, "SELECT 1")
	if n, _ := db.DatabaseSize(); n != 4096 {
		t.Fatalf("after a read: %d", n)
	}
	query(t, db, "CREATE TABLE a (x)")
	base, _ := db.DatabaseSize()
	query(t, db, "CREATE TABLE should_make_one_more_page (VALUE text)")
	if n, _ := db.DatabaseSize(); n != base+4096 {
		t.Fatalf("after CREATE TABLE: %d, want %d", n, base+4096)
	}
	query(t, db, "DROP TABLE should_make_one_more_page")
	if n, _ := db.DatabaseSize(); n != base {
		t.Fatalf("after DROP TABLE: %d, want %d", n, base)
	}
}

// Case 134: a KV-backed class has no SQL.
func TestSQLDisabled(t *testing.T) {
	db := openLegacy(t)
	_, err := db.Exec("SELECT 1")
	e := wantErrContains(t, err, "SQL is not enabled for this Durable Object class.")
	if !strings.HasPrefix(e.Message, "SQL is not enabled for this Durable Object class.") || !errors.Is(err, ErrSQLDisabled) {
		t.Fatalf("%q", e.Message)
	}
	_, err = db.DatabaseSize()
	if !errors.Is(err, ErrSQLDisabled) {
		t.Fatal(err)
	}
	// transactions still work on a KV-backed object
	sp, err := db.Savepoint()
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	sp.Rollback()
	if got := getStr(t, db, "k"); got != "<none>" {
		t.Fatal(got)
	}
}

// Case 136: the KV API, the alarm and SQL share one database and one
// transaction; a rolled-back transactionSync takes the lazy creation of
// kiln's tables with it.
func TestKVAndSQLShareTransaction(t *testing.T) {
	db := openSQL(t)
	sp, _ := db.Savepoint()
	put(t, db, "foo", "123")
	if err := db.SetAlarm(1e12); err != nil {
		t.Fatal(err)
	}
	sp.Rollback()
	if got := getStr(t, db, "foo"); got != "<none>" {
		t.Fatalf("foo = %q", got)
	}
	if _, ok, _ := db.GetAlarm(); ok {
		t.Fatal("alarm survived the rollback")
	}
	put(t, db, "foo", "456") // creates _cf_KV again
	if err := db.SetAlarm(1e12); err != nil {
		t.Fatal(err)
	}
	commit(t, db)
	if got := getStr(t, db, "foo"); got != "456" {
		t.Fatalf("foo = %q", got)
	}

	// A SQL write is a write of the turn like a put: it gets a sequence
	// number (and so holds the output gate).
	query(t, db, "CREATE TABLE t (x)")
	seq := commit(t, db)
	query(t, db, "INSERT INTO t VALUES (1)")
	put(t, db, "k", "v")
	if s := commit(t, db); s != seq+1 {
		t.Fatalf("seq %d, want %d", s, seq+1)
	}
	// A read-only statement writes nothing.
	query(t, db, "SELECT * FROM t")
	if db.InTransaction() {
		t.Fatal("a read opened a transaction")
	}
	if s := commit(t, db); s != 0 {
		t.Fatalf("read-only turn committed %d", s)
	}
}

// rowsRead and rowsWritten, as workerd's testIoStats checks them.
func TestRowCounters(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE tbl (id INTEGER PRIMARY KEY, value TEXT)")
	query(t, db, "INSERT INTO tbl (id, value) VALUES (?, ?)", 100000, "initial")
	c, _ := db.Exec("INSERT INTO tbl (id, value) VALUES (?, ?)", 1, "v")
	drain(t, c)
	if c.RowsWritten() != 1 {
		t.Fatalf("rowsWritten = %d", c.RowsWritten())
	}
	c, _ = db.Exec("SELECT * FROM tbl")
	drain(t, c)
	if c.RowsRead() != 2 || c.RowsWritten() != 0 {
		t.Fatalf("rowsRead = %d, rowsWritten = %d", c.RowsRead(), c.RowsWritten())
	}
	query(t, db, "DELETE FROM tbl")
	for i := 1; i <= 10; i++ {
		query(t, db, "INSERT INTO tbl (id, value) VALUES (?, ?)", i, "v")
	}
	c, _ = db.Exec("SELECT * FROM tbl")
	seen := int64(0)
	for {
		_, ok, _ := c.Next()
		if !ok {
			break
		}
		seen++
		if want := min(seen+1, 10); c.RowsRead() != want { // one row ahead
			t.Fatalf("after %d rows rowsRead = %d, want %d", seen, c.RowsRead(), want)
		}
	}
	if c.RowsRead() != 10 {
		t.Fatalf("rowsRead = %d", c.RowsRead())
	}
	c, _ = db.Exec("SELECT * FROM tbl WHERE id IN (1,2,3,4,5,6)")
	drain(t, c)
	if c.RowsRead() != 6 || c.RowsWritten() != 0 {
		t.Fatalf("IN: rowsRead = %d, rowsWritten = %d", c.RowsRead(), c.RowsWritten())
	}
	c, _ = db.Exec("UPDATE tbl SET value = 'w' WHERE id <= 3")
	drain(t, c)
	if c.RowsWritten() != 3 {
		t.Fatalf("UPDATE rowsWritten = %d", c.RowsWritten())
	}
	c, _ = db.Exec("DELETE FROM tbl RETURNING id")
	if rows := drain(t, c); len(rows) != 10 {
		t.Fatalf("RETURNING rows = %d", len(rows))
	}
	if c.RowsWritten() != 10 { // counted when the statement finishes
		t.Fatalf("DELETE RETURNING rowsWritten = %d", c.RowsWritten())
	}
}

// Statement cache: the same text runs again from the cache, two cursors
// of one text can be open at once, and a cached statement follows schema
// changes.
func TestStatementCache(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE a (x)")
	query(t, db, "INSERT INTO a VALUES (?)", 1)
	query(t, db, "INSERT INTO a VALUES (?)", 2)
	c1, _ := db.Exec("SELECT x FROM a ORDER BY x")
	c2, _ := db.Exec("SELECT x FROM a ORDER BY x")
	wantRows(t, drain(t, c2), []any{int64(1)}, []any{int64(2)})
	wantRows(t, drain(t, c1), []any{int64(1)}, []any{int64(2)})
	if _, ok := db.userStmts.m["SELECT x FROM a ORDER BY x"]; !ok {
		t.Fatal("statement not cached")
	}
	query(t, db, "ALTER TABLE a ADD COLUMN b INTEGER")
	wantRows(t, query(t, db, "SELECT * FROM a WHERE x = 1"), []any{int64(1), nil})
	wantRows(t, query(t, db, "SELECT * FROM a WHERE x = 1"), []any{int64(1), nil})
	for i := range stmtCacheMaxCount + 10 {
		query(t, db, fmt.Sprintf("SELECT %d", i))
	}
	if n := db.userStmts.lru.Len(); n > stmtCacheMaxCount {
		t.Fatalf("cache holds %d statements", n)
	}
}

// Commit reads open cursors to their end, so the rest of the rows still
// come back after it; Rollback closes them.
func TestCursorsAcrossCommitAndRollback(t *testing.T) {
	db := openSQL(t)
	query(t, db, "CREATE TABLE n (i)")
	for i := range 5 {
		query(t, db, "INSERT INTO n VALUES (?)", i)
	}
	c, _ := db.Exec("SELECT i FROM n ORDER BY i")
	if row, _, _ := c.Next(); row[0] != int64(0) {
		t.Fatal(row)
	}
	w, _ := db.Exec("INSERT INTO n VALUES (5), (6) RETURNING i")
	commit(t, db)
	if len(db.cursors) != 0 {
		t.Fatalf("%d cursors still running after commit", len(db.cursors))
	}
	wantRows(t, drain(t, c), []any{int64(1)}, []any{int64(2)}, []any{int64(3)}, []any{int64(4)})
	wantRows(t, drain(t, w), []any{int64(5)}, []any{int64(6)})
	wantRows(t, query(t, db, "SELECT count(*) FROM n"), []any{int64(7)})

	query(t, db, "INSERT INTO n VALUES (7)")
	c, _ = db.Exec("SELECT i FROM n")
	if err := db.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Next(); !errors.Is(err, ErrCursorClosed) {
		t.Fatalf("cursor after rollback: %v", err)
	}
	wantRows(t, query(t, db, "SELECT count(*) FROM n"), []any{int64(7)})
}

// A watchdog ends a runaway query by cancelling the interrupt context; a
// fresh context lets the object go on.
func TestInterrupt(t *testing.T) {
	db := openSQL(t)
	put(t, db, "k", "v")
	commit(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	db.SetInterrupt(ctx)
	go cancel() // whenever it lands, the query below must stop
	_, err := db.Exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
	e := wantErr(t, err, ClassError, "interrupted: SQLITE_INTERRUPT")
	if e.Code != "SQLITE_INTERRUPT" {
		t.Fatal(e.Code)
	}
	db.SetInterrupt(context.Background())
	if got := getStr(t, db, "k"); got != "v" {
		t.Fatal(got)
	}
	wantRows(t, query(t, db, "SELECT 1"), []any{int64(1)})
}
