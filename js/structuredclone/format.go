package structuredclone

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Format constants. FORMAT.md is the normative description; keep the two in
// step. Tag values are ASCII letters so that a hex dump is readable.
const (
	// Magic is the first byte of every serialized value.
	Magic byte = 'K'
	// Version is the format version this package writes. Deserialize accepts
	// every version from 1 up to Version.
	Version byte = 1

	// MaxDepth bounds how deeply objects may nest, on both sides. It keeps a
	// hostile or corrupt input from exhausting the Go stack.
	MaxDepth = 10000
)

// Value tags.
const (
	tagUndefined   byte = '_'
	tagNull        byte = '0'
	tagTrue        byte = 'T'
	tagFalse       byte = 'F'
	tagInt         byte = 'I' // zigzag varint; an integral number in ±2^53, not -0
	tagNumber      byte = 'N' // float64, little-endian
	tagBigInt      byte = 'Z' // sign byte, varint length, magnitude big-endian
	tagLatin1      byte = '"' // varint length, one byte per UTF-16 code unit (all <= 0xFF)
	tagUTF16       byte = 'c' // varint count of code units, UTF-16LE
	tagBackRef     byte = '^' // varint object id
	tagObject      byte = 'o' // key/value pairs, tagEnd, varint pair count
	tagDenseArray  byte = 'A' // varint length, length values, key/value pairs, tagEnd, varint pair count
	tagSparseArray byte = 'a' // varint length, key/value pairs, tagEnd, varint pair count
	tagEnd         byte = '$' // closes the key/value pairs of o, A and a
	tagDate        byte = 'D' // float64 time value (ms since the epoch), NaN if invalid
	tagRegExp      byte = 'R' // string source, string flags
	tagMap         byte = 'M' // varint entry count, then key, value for each entry
	tagSet         byte = 'E' // varint entry count, then each value
	tagArrayBuffer byte = 'B' // varint byte length, bytes
	tagView        byte = 'V' // view kind byte, ArrayBuffer value, varint byte offset, varint length
	tagTrueObject  byte = 'y' // new Boolean(true)
	tagFalseObject byte = 'x' // new Boolean(false)
	tagNumberObj   byte = 'n' // new Number(float64)
	tagStringObj   byte = 's' // new String(string)
	tagBigIntObj   byte = 'z' // Object(bigint), BigInt payload as tagBigInt
	tagError       byte = 'r' // error kind byte, flags byte, [message string], [stack string], [cause value]
	tagCapability  byte = 'C' // RPC only: CapabilityKind byte, varint index into the caller's table
)

// View kinds (the byte after tagView).
const (
	viewInt8 byte = iota + 1
	viewUint8
	viewUint8Clamped
	viewInt16
	viewUint16
	viewInt32
	viewUint32
	viewFloat32
	viewFloat64
	viewBigInt64
	viewBigUint64
	viewDataView
)

type viewInfo struct {
	ctor     string // global constructor name
	elemSize int
}

var viewKinds = [...]viewInfo{
	viewInt8:         {"Int8Array", 1},
	viewUint8:        {"Uint8Array", 1},
	viewUint8Clamped: {"Uint8ClampedArray", 1},
	viewInt16:        {"Int16Array", 2},
	viewUint16:       {"Uint16Array", 2},
	viewInt32:        {"Int32Array", 4},
	viewUint32:       {"Uint32Array", 4},
	viewFloat32:      {"Float32Array", 4},
	viewFloat64:      {"Float64Array", 8},
	viewBigInt64:     {"BigInt64Array", 8},
	viewBigUint64:    {"BigUint64Array", 8},
	viewDataView:     {"DataView", 1},
}

// Error kinds (the byte after tagError): the prototype the clone gets, chosen
// from the name of the original as V8 does.
const (
	errorPlain byte = iota
	errorEval
	errorRange
	errorReference
	errorSyntax
	errorType
	errorURI
	errorKindCount
)

var errorNames = [errorKindCount]string{"Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"}

// Error flags (the byte after the error kind).
const (
	errHasMessage byte = 1 << iota
	errHasStack
	errHasCause
	errKnownFlags = errHasMessage | errHasStack | errHasCause
)

// maxSafeInteger is 2^53, the bound for tagInt.
const maxSafeInteger = 1 << 53

// encoder appends to a byte slice.
type encoder struct {
	buf []byte
}

func (e *encoder) byte(b byte) { e.buf = append(e.buf, b) }

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

func (e *encoder) float(f float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// decoder reads from a byte slice and never reads past its end.
type decoder struct {
	data []byte
	off  int
}

func (d *decoder) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidData, fmt.Sprintf(format, args...), d.off)
}

func (d *decoder) remaining() int { return len(d.data) - d.off }

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.data) {
		return 0, d.corrupt("unexpected end of data")
	}
	b := d.data[d.off]
	d.off++
	return b, nil
}

func (d *decoder) peek() (byte, error) {
	if d.off >= len(d.data) {
		return 0, d.corrupt("unexpected end of data")
	}
	return d.data[d.off], nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, d.corrupt("unexpected end of data in varint")
		}
		return 0, d.corrupt("varint overflows 64 bits")
	}
	d.off += n
	return v, nil
}

// length reads a varint that counts items of size bytes each and checks that
// that many bytes are left, so no allocation is ever larger than the input.
func (d *decoder) length(size int) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(d.remaining()/size) {
		return 0, d.corrupt("length %d exceeds the remaining data", v)
	}
	return int(v), nil
}

// count reads a varint item count. Every item takes at least one byte, so a
// count above the remaining length is corrupt.
func (d *decoder) count() (int, error) { return d.length(1) }

func (d *decoder) bytes(n int) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.corrupt("unexpected end of data")
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) float() (float64, error) {
	b, err := d.bytes(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}
