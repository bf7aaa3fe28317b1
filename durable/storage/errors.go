package storage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// JavaScript error classes an [Error] names.
const (
	ClassError      = "Error"
	ClassTypeError  = "TypeError"
	ClassRangeError = "RangeError"
)

// Kinds of failure, for errors.Is. Every error this package returns to the
// JavaScript layer is an *[Error] that matches one of these.
var (
	ErrClosed          = errors.New("storage: database closed")
	ErrKeyTooLarge     = errors.New("storage: key too large")
	ErrValueTooLarge   = errors.New("storage: value too large")
	ErrTooManyKeys     = errors.New("storage: too many keys in one call")
	ErrListOptions     = errors.New("storage: invalid list options")
	ErrSQLDisabled     = errors.New("storage: SQL API not enabled")
	ErrNoStatement     = errors.New("storage: SQL code did not contain a statement")
	ErrBindings        = errors.New("storage: invalid SQL bindings")
	ErrTransactionSQL  = errors.New("storage: transaction statement in SQL")
	ErrSQLite          = errors.New("storage: SQLite error")
	ErrConstraint      = errors.New("storage: constraints violated at commit")
	ErrSavepointOpen   = errors.New("storage: savepoint still open")
	ErrSavepointGone   = errors.New("storage: savepoint already released")
	ErrTransactionLost = errors.New("storage: transaction rolled back by SQLite")
	ErrCursorClosed    = errors.New("storage: cursor closed")
	ErrAlarmRange      = errors.New("storage: alarm time out of range")
	ErrDurability      = errors.New("storage: durability barrier failed")
)

// Error is a failure the JavaScript layer throws as an instance of Class
// (ClassError, ClassTypeError, ClassRangeError) whose message is exactly
// Message: the platform's own text where it has one.
type Error struct {
	Class   string
	Message string
	// Code is the SQLite primary result code name ("SQLITE_CONSTRAINT")
	// when SQLite reported the failure, empty otherwise.
	Code  string
	kind  error
	cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap gives the kind (one of the Err* variables) and the underlying
// cause, if any.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

func newError(class string, kind error, msg string) *Error {
	return &Error{Class: class, Message: msg, kind: kind}
}

// Texts of the platform. Sources: cloudflare/workerd
// src/workerd/io/actor-storage.c++ (limits), src/workerd/api/actor-state.c++
// (list options, SQL not enabled), src/workerd/util/sqlite.c++ (SQL
// statements, error format), src/workerd/api/sql.c++ (transactions).
const (
	maxKeyBytes            = 2048
	advertisedMaxValue     = 128 * 1024
	enforcedMaxValue       = advertisedMaxValue + 34 // workerd ActorStorageLimits
	maxKeysPerCall         = 128
	msgNoStatement         = "SQL code did not contain a statement."
	msgWrongBindings       = "Wrong number of parameter bindings for SQL query."
	msgMultiParams         = "When executing multiple SQL statements in a single call, only the last statement can have parameters."
	msgStartAndStartAfter  = "list() cannot be called with both start and startAfter values."
	msgListLimit           = "List limit must be positive."
	msgConstraintsViolated = "Durable Object was reset and rolled back to its last known good state because the application left the database in a state where constraints were violated: "
	msgTransactionSQL      = "To execute a transaction, please use the state.storage.transaction() or " +
		"state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT " +
		"statements. The JavaScript API is safer because it will automatically roll back on " +
		"exceptions, and because it interacts correctly with Durable Objects' automatic atomic " +
		"write coalescing."
	// workerd's local text names its own config (`enableSql = true`); kiln
	// keeps the platform's opening sentence and the wrangler advice.
	msgSQLNotEnabled = "SQL is not enabled for this Durable Object class. To enable it, under " +
		"`[[migrations]]` in your wrangler configuration, change `new_classes` to " +
		"`new_sqlite_classes`. Note that this change cannot be made after the class is " +
		"already deployed to production."
)

func errKeyTooLarge(n int) error {
	return newError(ClassRangeError, ErrKeyTooLarge, fmt.Sprintf(
		"Keys cannot be larger than %d bytes. A key of size %d was provided.", maxKeyBytes, n))
}

func errValueTooLarge(n int) error {
	return newError(ClassRangeError, ErrValueTooLarge, fmt.Sprintf(
		"Values cannot be larger than %d bytes. A value of size %d was provided.", advertisedMaxValue, n))
}

func errTooManyKeys(n int) error {
	return newError(ClassRangeError, ErrTooManyKeys, fmt.Sprintf(
		"Maximum number of key value pairs is %d. %d pairs were provided.", maxKeysPerCall, n))
}

// sqliteError turns an error of the SQLite driver into the text workerd
// gives (src/workerd/util/sqlite.c++ dbErrorMessage): sqlite3_errmsg(),
// " at offset N" when SQLite located the error in the statement, then ": "
// and the name of the primary result code. sql is the text given to
// prepare, or "" for errors of step and bind.
func sqliteError(err error, sql string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var code sqlite3.ExtendedErrorCode
	if !errors.As(err, &code) {
		return &Error{Class: ClassError, Message: err.Error(), kind: ErrSQLite, cause: err}
	}
	msg := errmsg(err, code)
	var se *sqlite3.Error
	if sql != "" && errors.As(err, &se) && se.SQL() != "" {
		msg += " at offset " + strconv.Itoa(len(sql)-len(se.SQL()))
	}
	name := codeName(sqlite3.ErrorCode(code))
	return &Error{Class: ClassError, Message: msg + ": " + name, Code: name, kind: ErrSQLite, cause: err}
}

// errmsg recovers sqlite3_errmsg() from the driver's error, which prints
// "sqlite3: <sqlite3_errstr(code)>[: <errmsg unless it equals errstr>][: <os error>]".
func errmsg(err error, code sqlite3.ExtendedErrorCode) string {
	s := err.Error()
	prefix := code.Error() // "sqlite3: " + sqlite3_errstr(code)
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return strings.TrimPrefix(s, "sqlite3: ")
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		if sys := se.Unwrap(); sys != nil {
			rest = strings.TrimSuffix(rest, ": "+sys.Error())
		}
	}
	if rest == "" {
		return strings.TrimPrefix(prefix, "sqlite3: ")
	}
	return strings.TrimPrefix(rest, ": ")
}

// codeName is SQLite's name of a primary result code.
func codeName(c sqlite3.ErrorCode) string {
	names := [...]string{
		"SQLITE_OK", "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT",
		"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY", "SQLITE_INTERRUPT",
		"SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTFOUND", "SQLITE_FULL", "SQLITE_CANTOPEN",
		"SQLITE_PROTOCOL", "SQLITE_EMPTY", "SQLITE_SCHEMA", "SQLITE_TOOBIG", "SQLITE_CONSTRAINT",
		"SQLITE_MISMATCH", "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH", "SQLITE_FORMAT",
		"SQLITE_RANGE", "SQLITE_NOTADB", "SQLITE_NOTICE", "SQLITE_WARNING",
	}
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("SQLITE_UNKNOWN_ERROR_CODE(%d)", c)
}

// internal wraps an error of kiln's own statements (which should not
// fail) with what was being done.
func internal(what string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	se := sqliteError(err, "")
	if e, ok := se.(*Error); ok {
		e.Message = what + ": " + e.Message
		return e
	}
	return fmt.Errorf("%s: %w", what, err)
}

// catch turns a panic of the SQLite driver (it panics when the Wasm
// memory is exhausted) into an error, so none crosses the package
// boundary.
func catch(err *error) {
	if r := recover(); r != nil {
		e := fmt.Errorf("storage: SQLite failed: %v", r)
		*err = &Error{Class: ClassError, Message: e.Error(), kind: ErrSQLite, cause: e}
	}
}
