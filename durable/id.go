package durable

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"sync"
)

// Errors of idFromString, with workerd's texts.
var (
	ErrIDFormat       = errors.New("Invalid Durable Object ID: must be 64 hex digits")
	ErrIDForNamespace = errors.New("Durable Object ID is not valid for this namespace.")
)

// MaxNameBytes is the longest name kept as an ID's name (longer names still
// make IDs, but ctx.id.name is undefined for them).
const MaxNameBytes = 1024

// ID is a Durable Object ID: 16 bytes (random, or derived from a name) and
// 16 bytes of MAC keyed by the namespace, shown as 64 hex digits.
type ID [32]byte

// String is the 64-hex-digit form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IDSpace derives and checks IDs for one namespace. Its key is SHA-256 of
// the namespace's unique key, as workerd derives it (for `wrangler dev` that
// unique key is "<script>-<class>").
type IDSpace struct {
	key [32]byte
	// macs holds keyed HMAC states for reuse: idFromName runs on every
	// request that addresses an object by name, and a fresh HMAC costs
	// two hashes of the key and their allocations.
	macs *sync.Pool
}

// macState is a keyed HMAC with room for its input and its sum, so that
// a MAC allocates nothing once the state is pooled.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// NewIDSpace returns the ID space of uniqueKey.
func NewIDSpace(uniqueKey string) IDSpace {
	s := IDSpace{key: sha256.Sum256([]byte(uniqueKey))}
	key := s.key
	s.macs = &sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, key[:])} }}
	return s
}

// mac is HMAC-SHA256 of data (a name or an ID's first half) under the key.
func (s IDSpace) mac(data string) [sha256.Size]byte {
	var st *macState
	if s.macs != nil {
		st = s.macs.Get().(*macState)
		st.h.Reset()
	} else { // a zero IDSpace
		key := s.key
		st = &macState{h: hmac.New(sha256.New, key[:])}
	}
	st.in = append(st.in[:0], data...)
	st.h.Write(st.in)
	st.h.Sum(st.sum[:0])
	sum := st.sum
	if s.macs != nil && cap(st.in) <= MaxNameBytes {
		s.macs.Put(st)
	}
	return sum
}

func (s IDSpace) seal(body []byte) ID {
	var id ID
	copy(id[:16], body)
	sum := s.mac(string(id[:16]))
	copy(id[16:], sum[:16])
	return id
}

// FromName is idFromName: deterministic for the namespace.
func (s IDSpace) FromName(name string) ID {
	sum := s.mac(name)
	return s.seal(sum[:16])
}

// Unique is newUniqueId.
func (s IDSpace) Unique() ID {
	var body [16]byte
	if _, err := rand.Read(body[:]); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return s.seal(body[:])
}

// Parse is idFromString: it rejects strings that are not 64 hex digits and
// IDs whose MAC is not this namespace's.
func (s IDSpace) Parse(str string) (ID, error) {
	var id ID
	if len(str) != 64 {
		return id, ErrIDFormat
	}
	if _, err := hex.Decode(id[:], []byte(str)); err != nil {
		return id, ErrIDFormat
	}
	if sum := s.mac(string(id[:16])); !hmac.Equal(id[16:], sum[:16]) {
		return id, ErrIDForNamespace
	}
	return id, nil
}
