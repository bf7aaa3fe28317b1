package storage

import (
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// The authorizer mirrors workerd's (src/workerd/util/sqlite.c++
// SqliteDatabase::isAuthorized with the SqlStorage regulator of
// src/workerd/api/sql.c++). It applies only while a user statement is
// prepared or stepped (db.user); kiln's own statements are trusted.

// allowedFunctions are the SQL functions user code may call (workerd's
// ALLOWED_SQLITE_FUNCTIONS). sqlite_version() and friends are left out on
// purpose: they reveal build details.
var allowedFunctions = toSet(
	// core
	"abs", "changes", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex",
	"ifnull", "iif", "instr", "last_insert_rowid", "length", "like", "likelihood", "likely",
	"load_extension", "lower", "ltrim", "max_scalar", "min_scalar", "nullif", "octet_length",
	"printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign", "soundex",
	"substr", "substring", "total_changes", "trim", "typeof", "unhex", "unicode", "unlikely",
	"upper", "zeroblob",
	// date and time
	"date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
	"current_date", "current_time", "current_timestamp",
	// aggregates
	"avg", "count", "group_concat", "max", "min", "string_agg", "sum", "total",
	// window functions
	"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
	"first_value", "last_value", "nth_value",
	// math
	"acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh",
	"degrees", "exp", "floor", "ln", "log", "log2", "mod", "pi", "pow", "radians", "sin",
	"sinh", "sqrt", "tan", "tanh", "trunc",
	// JSON
	"json", "json_array", "json_array_length", "json_extract", "->", "->>", "json_insert",
	"json_object", "json_patch", "json_remove", "json_replace", "json_set", "json_type",
	"json_valid", "json_quote", "json_group_array", "json_group_object", "json_each", "json_tree",
	// FTS5
	"match", "highlight", "bm25", "snippet",
	// used by ALTER TABLE
	"sqlite_rename_column", "sqlite_rename_table", "sqlite_rename_test", "sqlite_drop_column",
	"sqlite_rename_quotefix",
)

type pragmaArg int

const (
	pragmaNoArg             pragmaArg = iota // read only, never an argument
	pragmaBool                               // absent, or a boolean
	pragmaObject                             // a name user code may access
	pragmaOptionalObject                     // absent, or such a name
	pragmaOptionalNumber                     // absent, or an int32
	pragmaOptionalNumberObj                  // absent, an unsigned number, or an accessible name
)

// allowedPragmas is workerd's ALLOWED_PRAGMAS; table_list, table_info and
// table_xinfo are handled apart.
var allowedPragmas = map[string]pragmaArg{
	"data_version":              pragmaNoArg,
	"case_sensitive_like":       pragmaBool,
	"foreign_keys":              pragmaBool,
	"defer_foreign_keys":        pragmaBool,
	"ignore_check_constraints":  pragmaBool,
	"legacy_alter_table":        pragmaBool,
	"recursive_triggers":        pragmaBool,
	"reverse_unordered_selects": pragmaBool,
	"foreign_key_check":         pragmaOptionalObject,
	"foreign_key_list":          pragmaObject,
	"index_info":                pragmaObject,
	"index_list":                pragmaObject,
	"index_xinfo":               pragmaObject,
	"quick_check":               pragmaOptionalNumberObj,
	"optimize":                  pragmaOptionalNumber,
}

func toSet(names ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}

// allowedName reports whether user code may touch the object: names
// beginning with _cf_, in any case, are kiln's (and Cloudflare's).
func allowedName(name string) bool {
	return len(name) < 4 || !strings.EqualFold(name[:4], "_cf_")
}

// authorize is the SQLite authorizer callback. The driver gives "" for
// NULL arguments.
func (db *DB) authorize(action sqlite3.AuthorizerActionCode, p1, p2, dbName, _ string) sqlite3.AuthorizerReturnCode {
	if !db.user {
		return sqlite3.AUTH_OK
	}
	if db.authorized(action, p1, p2, dbName) {
		return sqlite3.AUTH_OK
	}
	return sqlite3.AUTH_DENY
}

func (db *DB) authorized(action sqlite3.AuthorizerActionCode, p1, p2, dbName string) bool {
	// For these two SQLite passes the database name first (workerd swaps
	// them the same way).
	if action == sqlite3.AUTH_ALTER_TABLE || action == sqlite3.AUTH_DETACH {
		p1, p2, dbName = p2, "", p1
	}
	switch dbName {
	case "", "main":
	case "temp":
		// The temp schema may only be read (SQLite's own temporary tables).
		return (action == sqlite3.AUTH_READ || action == sqlite3.AUTH_UPDATE) && allowedName(p1)
	default:
		return false // no attached databases
	}

	switch action {
	case sqlite3.AUTH_SELECT, sqlite3.AUTH_RECURSIVE, sqlite3.AUTH_ANALYZE:
		// ANALYZE may touch kiln's tables: sqlite_stat1 holds statistics,
		// not their data (workerd allows it for PRAGMA optimize).
		return true

	case sqlite3.AUTH_CREATE_TABLE, sqlite3.AUTH_DELETE, sqlite3.AUTH_DROP_TABLE,
		sqlite3.AUTH_INSERT, sqlite3.AUTH_CREATE_VIEW, sqlite3.AUTH_DROP_VIEW,
		sqlite3.AUTH_REINDEX, sqlite3.AUTH_ALTER_TABLE, sqlite3.AUTH_READ, sqlite3.AUTH_UPDATE:
		return allowedName(p1)

	case sqlite3.AUTH_CREATE_INDEX, sqlite3.AUTH_DROP_INDEX,
		sqlite3.AUTH_CREATE_TRIGGER, sqlite3.AUTH_DROP_TRIGGER:
		return allowedName(p1) && allowedName(p2)

	case sqlite3.AUTH_TRANSACTION, sqlite3.AUTH_SAVEPOINT:
		// Reported with the platform's text instead of "not authorized".
		db.authErr = newError(ClassError, ErrTransactionSQL, msgTransactionSQL)
		return false

	case sqlite3.AUTH_PRAGMA:
		return pragmaAllowed(strings.ToLower(p1), p2)

	case sqlite3.AUTH_FUNCTION:
		_, ok := allowedFunctions[p2]
		return ok

	case sqlite3.AUTH_CREATE_VTABLE, sqlite3.AUTH_DROP_VTABLE:
		// Only full-text search (fts5 and its fts5vocab companion).
		return strings.EqualFold(p2, "fts5") || strings.EqualFold(p2, "fts5vocab")
	}
	// ATTACH, DETACH, temporary objects and anything new: refused.
	return false
}

func pragmaAllowed(name, arg string) bool {
	switch name {
	case "table_list":
		return true
	case "table_info", "table_xinfo":
		return arg != "" && allowedName(arg)
	}
	sig, ok := allowedPragmas[name]
	if !ok {
		return false
	}
	switch sig {
	case pragmaNoArg:
		return arg == ""
	case pragmaBool:
		return arg == "" || boolPragmaValue(arg)
	case pragmaObject:
		return arg != "" && allowedName(arg)
	case pragmaOptionalObject:
		return arg == "" || allowedName(arg)
	case pragmaOptionalNumber:
		if arg == "" {
			return true
		}
		_, err := strconv.ParseInt(arg, 0, 32)
		return err == nil
	case pragmaOptionalNumberObj:
		if arg == "" {
			return true
		}
		if _, err := strconv.ParseUint(arg, 0, 32); err == nil {
			return true
		}
		return allowedName(arg)
	}
	return false
}

// boolPragmaValue accepts SQLite's spellings of a boolean, optionally
// quoted, compared without case as prefixes, exactly as workerd does
// (strncasecmp against each spelling).
func boolPragmaValue(v string) bool {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	for _, w := range [...]string{"true", "false", "yes", "no", "on", "off", "1", "0"} {
		if len(v) >= len(w) && strings.EqualFold(v[:len(w)], w) {
			return true
		}
	}
	return false
}
