package structuredclone

import "errors"

// DataCloneError reports a value that cannot be cloned, such as a function,
// a symbol, a Promise or a host object. Message is the text the platform
// shows to script, e.g. "#<Promise> could not be cloned."; callers throw it
// as a DOMException named "DataCloneError".
type DataCloneError struct {
	Message string
}

func (e *DataCloneError) Error() string { return "DataCloneError: " + e.Message }

// Sentinel errors. Errors returned by this package wrap one of them (test with
// errors.Is); a JavaScript exception thrown by a getter during Serialize is
// returned as the *goja.Exception itself.
var (
	// ErrInvalidData: the bytes given to Deserialize are not a well-formed
	// serialized value (truncated, corrupt, or trailing garbage).
	ErrInvalidData = errors.New("structuredclone: invalid serialized data")
	// ErrUnsupportedVersion: the data was written by a newer format version
	// than this reader understands.
	ErrUnsupportedVersion = errors.New("structuredclone: unsupported format version")
	// ErrTooDeep: the value nests objects more deeply than MaxDepth.
	ErrTooDeep = errors.New("structuredclone: value is nested too deeply")
)

// V8's messages (src/common/message-template.h, kDataClone*), and workerd's
// for host objects (src/workerd/jsg/ser.c++).
const (
	msgCouldNotBeCloned = " could not be cloned."
	msgDetachedBuffer   = "An ArrayBuffer is detached and could not be cloned."
)

func hostObjectMessage(typeName string) string {
	return `Could not serialize object of type "` + typeName + `". This type does not support serialization.`
}
