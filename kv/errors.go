package kv

import (
	"errors"
	"fmt"
	"strconv"
)

// Operation names of Error.Op. They are the names workerd puts in its
// "KV <OP> failed" texts, except OpList: workerd sends a listing as a GET
// request and so reports its failures as "KV GET failed"; Error renders
// OpList that way.
const (
	OpGet     = "GET"
	OpPut     = "PUT"
	OpDelete  = "DELETE"
	OpGetBulk = "GET_BULK"
	OpList    = "LIST"
)

// JavaScript error classes of Error.Type: the class the JS binding throws.
const (
	JSTypeError = "TypeError"
	JSError     = "Error"
)

// Error is a KV operation rejected with one of the platform's texts. The JS
// binding throws it as an instance of Type with Error() as its message; the
// REST API answers with Status.
//
// Type JSTypeError is a check workerd makes before any I/O: its text is
// Message alone. Type JSError is a failure status of the KV service: its
// text is "KV <OP> failed: <Status> <Message>".
type Error struct {
	Op      string
	Status  int
	Message string
	Type    string
}

// Error returns the platform's text of e.
func (e *Error) Error() string {
	if e.Type == JSTypeError {
		return e.Message
	}
	op := e.Op
	if op == OpList {
		op = OpGet
	}
	return "KV " + op + " failed: " + strconv.Itoa(e.Status) + " " + e.Message
}

func typeError(msg string) *Error {
	return &Error{Status: 400, Message: msg, Type: JSTypeError}
}

func statusError(op string, status int, format string, args ...any) *Error {
	return &Error{Op: op, Status: status, Message: fmt.Sprintf(format, args...), Type: JSError}
}

// BulkItemError is the error of a bulk write that names the item which was
// rejected; nothing of the bulk was written. Unwrap gives the item's error,
// usually an *Error.
type BulkItemError struct {
	Index int
	Key   string
	Err   error
}

func (e *BulkItemError) Error() string {
	return fmt.Sprintf("bulk item %d (key %q): %v", e.Index, e.Key, e.Err)
}

func (e *BulkItemError) Unwrap() error { return e.Err }

// Sentinel errors of namespaces and stores. Backends wrap them with %w;
// callers test with errors.Is.
var (
	// ErrNamespaceNotFound: no namespace has the id.
	ErrNamespaceNotFound = errors.New("kv: namespace not found")
	// ErrNamespaceExists: another namespace of the account has the title
	// (REST error code 10014).
	ErrNamespaceExists = errors.New("kv: a namespace with this title already exists")
	// ErrInvalidTitle: a namespace title is empty or only white space.
	ErrInvalidTitle = errors.New("kv: namespace title must not be empty")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("kv: store is closed")
)
