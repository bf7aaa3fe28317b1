package structuredclone

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/dop251/goja"
)

// MaxRPCMessage is the largest encoding Serialize produces in RPC mode, in
// bytes: workerd's MAX_JS_RPC_MESSAGE_SIZE (32 MiB), which bounds the
// arguments of one call and its return value.
const MaxRPCMessage = 32 << 20

// CapabilityKind says what a captured value was: a capability is a value that
// RPC passes by reference (as a stub) instead of copying it.
type CapabilityKind uint8

// Capability kinds, as written after tagCapability. The values are part of
// the format (FORMAT.md).
const (
	// CapabilityFunction: a function (sent as a callback stub).
	CapabilityFunction CapabilityKind = iota + 1
	// CapabilityRpcTarget: an instance of a class that extends RpcTarget
	// (Options.RpcTarget).
	CapabilityRpcTarget
	// CapabilityHostObject: any other object the Capture hook accepted: an
	// RPC stub being forwarded, a Request or Response, a stream.
	CapabilityHostObject

	capabilityKindMax = CapabilityHostObject
)

func (k CapabilityKind) String() string {
	switch k {
	case CapabilityFunction:
		return "function"
	case CapabilityRpcTarget:
		return "rpc-target"
	case CapabilityHostObject:
		return "host object"
	}
	return "capability kind " + strconv.Itoa(int(k))
}

// ErrNotCapturable is what an Options.Capture hook returns (possibly wrapped)
// for an object it does not take. Serialize then rejects the object as it
// would without a hook.
var ErrNotCapturable = errors.New("structuredclone: object is not capturable")

// ErrRPCMessageTooLarge is wrapped by *RPCSizeError.
var ErrRPCMessageTooLarge = errors.New("structuredclone: RPC message too large")

// RPCSizeError reports an RPC-mode encoding larger than MaxRPCMessage.
// Message is workerd's text (src/workerd/api/worker-rpc.c++); callers throw
// it as a plain Error. errors.Is(err, ErrRPCMessageTooLarge) holds.
type RPCSizeError struct {
	// Size is the full size of the encoding in bytes, in kiln's format.
	Size    int
	Message string
}

func newRPCSizeError(size int) *RPCSizeError {
	return &RPCSizeError{
		Size: size,
		Message: "Serialized RPC arguments or return values are limited to 32MiB, " +
			"but the size of this value was: " + strconv.Itoa(size) + " bytes.",
	}
}

func (e *RPCSizeError) Error() string { return "structuredclone: " + e.Message }

func (e *RPCSizeError) Unwrap() error { return ErrRPCMessageTooLarge }

// capture asks the Capture hook to take o as a capability of the given kind
// and writes tagCapability when it does. It reports false, with no error and
// nothing written, when there is no hook (or not in RPC mode) or the hook
// answered ErrNotCapturable: the caller then rejects o as it always did.
func (s *serializer) capture(o *goja.Object, kind CapabilityKind) (bool, error) {
	if !s.opts.RPC || s.opts.Capture == nil {
		return false, nil
	}
	idx, err := s.opts.Capture(o, kind)
	if err != nil {
		if errors.Is(err, ErrNotCapturable) {
			return false, nil
		}
		return false, fmt.Errorf("structuredclone: capturing a %s: %w", kind, err)
	}
	// A capability is an object of the stream: a second reference to o
	// becomes a back-reference, so the hook sees each object once.
	s.assignID(o)
	s.byte(tagCapability)
	s.byte(byte(kind))
	s.uvarint(uint64(idx))
	return true, nil
}

// captureOr captures o or, failing that, returns the DataCloneError msg.
func (s *serializer) captureOr(o *goja.Object, kind CapabilityKind, msg func() string) error {
	ok, err := s.capture(o, kind)
	if err != nil || ok {
		return err
	}
	return cloneError(msg())
}

// isRpcTarget reports whether Options.RpcTarget.prototype is on o's
// prototype chain (in RPC mode only). It walks the chain itself rather than
// calling instanceof, which a Symbol.hasInstance method could fake.
func (s *serializer) isRpcTarget(o *goja.Object) bool {
	if !s.opts.RPC || s.opts.RpcTarget == nil {
		return false
	}
	if s.rpcTargetProto == nil {
		p, ok := s.opts.RpcTarget.Get("prototype").(*goja.Object)
		if !ok {
			return false
		}
		s.rpcTargetProto = p
	}
	for q, hops := o.Prototype(), 0; q != nil && hops < maxProtoHops; q, hops = q.Prototype(), hops+1 {
		if q == s.rpcTargetProto {
			return true
		}
	}
	return false
}

// maxProtoHops bounds prototype-chain walks.
const maxProtoHops = 64

// spill keeps an oversized RPC encoding from growing without bound. Once the
// bytes written pass MaxRPCMessage the call is bound to fail, so they are
// counted and dropped; serialization goes on only to measure the full size
// that the error reports (as workerd does).
func (s *serializer) spill() {
	if s.opts.RPC && len(s.buf) > MaxRPCMessage {
		s.spilled += len(s.buf)
		s.buf = s.buf[:0]
	}
}

// appendBulk appends a large payload (the bytes of an ArrayBuffer), counting
// it instead in RPC mode when it could not fit.
func (s *serializer) appendBulk(b []byte) {
	if s.opts.RPC && len(s.buf)+len(b) > MaxRPCMessage {
		s.spilled += len(s.buf) + len(b)
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, b...)
}
