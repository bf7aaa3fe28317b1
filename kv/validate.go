package kv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// The texts below are the platform's: key checks and their 414 come from
// workerd (src/workerd/api/kv.c++ validateKeyName); the 400 and 413 texts
// come from the local KV service of miniflare
// (packages/miniflare/src/workers/kv/validator.worker.ts and
// namespace.worker.ts), which workerd relays as "KV <OP> failed: <status>
// <statusText>". Texts the platform does not pin down are marked so.

// ValidateKey checks a key name as workerd does before any I/O. op is the
// operation named in the 414 text (OpGet, OpPut or OpDelete).
func ValidateKey(op, key string) error {
	switch key {
	case "":
		return typeError("Key name cannot be empty.")
	case ".":
		return typeError(`"." is not allowed as a key name.`)
	case "..":
		return typeError(`".." is not allowed as a key name.`)
	}
	if len(key) > MaxKeyBytes {
		return keyTooLong(op, len(key))
	}
	return nil
}

func keyTooLong(op string, n int) *Error {
	return statusError(op, 414, "UTF-8 encoded length of %d exceeds key length limit of %d.", n, MaxKeyBytes)
}

// ValidateValueSize checks the length of a value to put.
func ValidateValueSize(n int) error {
	if n > MaxValueBytes {
		return statusError(OpPut, 413, "Value length of %d exceeds limit of %d.", n, MaxValueBytes)
	}
	return nil
}

// ValidateMetadata checks the JSON text of a value's metadata and returns it
// normalised: nil for none (empty or the JSON null, which the platform reads
// back as no metadata).
func ValidateMetadata(md json.RawMessage) (json.RawMessage, error) {
	if len(md) == 0 {
		return nil, nil
	}
	if len(md) > MaxMetadataBytes {
		return nil, statusError(OpPut, 413, "Metadata length of %d exceeds limit of %d.", len(md), MaxMetadataBytes)
	}
	if !json.Valid(md) {
		// Not a platform text: the binding always sends JSON.stringify output.
		return nil, statusError(OpPut, 400, "Metadata is not valid JSON.")
	}
	if string(bytes.TrimSpace(md)) == "null" {
		return nil, nil
	}
	return md, nil
}

// ValidatePutOptions checks the expiration options and the metadata of a put
// at time now and returns the absolute expiration to store, seconds since
// the epoch, 0 for none. ExpirationTTL wins when both are set.
func ValidatePutOptions(now time.Time, opts PutOptions) (expiresAt int64, err error) {
	expiresAt, _, err = validatePutOptions(now, opts)
	return expiresAt, err
}

func validatePutOptions(now time.Time, opts PutOptions) (expiresAt int64, md json.RawMessage, err error) {
	sec := now.Unix()
	switch {
	case opts.ExpirationTTLSet || opts.ExpirationTTL != 0:
		ttl := opts.ExpirationTTL
		if ttl <= 0 {
			return 0, nil, statusError(OpPut, 400, "Invalid expiration_ttl of %d. Please specify integer greater than 0.", ttl)
		}
		if ttl < MinExpirationTTL {
			return 0, nil, statusError(OpPut, 400, "Invalid expiration_ttl of %d. Expiration TTL must be at least %d.", ttl, MinExpirationTTL)
		}
		if ttl > math.MaxInt64-sec {
			ttl = math.MaxInt64 - sec
		}
		expiresAt = sec + ttl
	case opts.ExpirationSet || opts.Expiration != 0:
		exp := opts.Expiration
		if exp <= sec {
			return 0, nil, statusError(OpPut, 400, "Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.", exp)
		}
		if exp-sec < MinExpirationTTL {
			return 0, nil, statusError(OpPut, 400, "Invalid expiration of %d. Expiration times must be at least %d seconds in the future.", exp, MinExpirationTTL)
		}
		expiresAt = exp
	}
	if md, err = ValidateMetadata(opts.Metadata); err != nil {
		return 0, nil, err
	}
	return expiresAt, md, nil
}

// ValidatePut checks a whole put in the order of the platform: key,
// expiration, metadata, value size. It returns the absolute expiration and
// the normalised metadata to store.
func ValidatePut(now time.Time, key string, valueLen int, opts PutOptions) (expiresAt int64, md json.RawMessage, err error) {
	if err := ValidateKey(OpPut, key); err != nil {
		return 0, nil, err
	}
	if expiresAt, md, err = validatePutOptions(now, opts); err != nil {
		return 0, nil, err
	}
	if err := ValidateValueSize(valueLen); err != nil {
		return 0, nil, err
	}
	return expiresAt, md, nil
}

// ValidateCacheTTL checks the cacheTtl of a read (op OpGet or OpGetBulk).
// The value is the JS number: NaN and infinities count as 0 and fractions
// are cut off, as the runtime's integer conversion does.
func ValidateCacheTTL(op string, ttl float64) error {
	var n int64
	if !math.IsNaN(ttl) && !math.IsInf(ttl, 0) {
		n = int64(math.Trunc(max(min(ttl, math.MaxInt32), math.MinInt32)))
	}
	if n < MinCacheTTLSeconds {
		return statusError(op, 400, "Invalid cache_ttl of %d. Cache TTL must be at least %d.", n, MinCacheTTLSeconds)
	}
	return nil
}

// ListLimit checks the limit of a listing and returns the one to use: 0 or
// less means MaxListLimit (the runtime sends only positive limits).
func ListLimit(limit int) (int, error) {
	if limit <= 0 {
		return MaxListLimit, nil
	}
	if limit > MaxListLimit {
		return 0, statusError(OpList, 400, "Invalid key_count_limit of %d. Please specify an integer less than %d.", limit, MaxListLimit)
	}
	return limit, nil
}

// ValidateListOptions checks a listing's limit and prefix and returns the
// limit to use.
func ValidateListOptions(opts ListOptions) (limit int, err error) {
	if limit, err = ListLimit(opts.Limit); err != nil {
		return 0, err
	}
	if len(opts.Prefix) > MaxKeyBytes {
		return 0, keyTooLong(OpList, len(opts.Prefix))
	}
	return limit, nil
}

// ValidateGetMany checks the keys of a bulk read: their number, then each
// key with the KV service's texts (workerd does not check bulk keys itself).
func ValidateGetMany(keys []string) error {
	if len(keys) > MaxBulkGetKeys {
		return statusError(OpGetBulk, 400, "You can request a maximum of %d keys", MaxBulkGetKeys)
	}
	if len(keys) < 1 {
		return statusError(OpGetBulk, 400, "You must request a minimum of 1 key")
	}
	for _, k := range keys {
		switch k {
		case "":
			return statusError(OpGetBulk, 400, "Key names must not be empty")
		case ".", "..":
			return statusError(OpGetBulk, 400, "Illegal key name %q. Please use a different name.", k)
		}
		if len(k) > MaxKeyBytes {
			return keyTooLong(OpGetBulk, len(k))
		}
	}
	return nil
}

// ValidateDeleteMany checks the keys of a bulk delete. The limit of 10,000
// keys is the REST API's; its text is not pinned down by the platform.
func ValidateDeleteMany(keys []string) error {
	if len(keys) > MaxBulkWriteItems {
		return statusError(OpDelete, 400, "You can delete maximum of %d keys per request", MaxBulkWriteItems)
	}
	for i, k := range keys {
		if err := ValidateKey(OpDelete, k); err != nil {
			return &BulkItemError{Index: i, Key: k, Err: err}
		}
	}
	return nil
}

// ValidatedItem is a bulk item after validation: what a backend stores.
type ValidatedItem struct {
	Key        string
	Value      []byte
	Metadata   json.RawMessage
	Expiration int64
}

// ValidatePutMany checks every item of a bulk put at time now. A rejected
// item gives a *BulkItemError naming it. The limit of 10,000 items is the
// REST API's; its text is not pinned down by the platform.
func ValidatePutMany(now time.Time, items []BulkItem) ([]ValidatedItem, error) {
	if len(items) > MaxBulkWriteItems {
		return nil, statusError(OpPut, 400, "You can write maximum of %d keys per request", MaxBulkWriteItems)
	}
	out := make([]ValidatedItem, len(items))
	for i, it := range items {
		exp, md, err := ValidatePut(now, it.Key, len(it.Value), it.PutOptions)
		if err != nil {
			return nil, &BulkItemError{Index: i, Key: it.Key, Err: err}
		}
		out[i] = ValidatedItem{Key: it.Key, Value: it.Value, Metadata: md, Expiration: exp}
	}
	return out, nil
}

// ValidateTitle checks a namespace title and returns it.
func ValidateTitle(title string) (string, error) {
	if strings.TrimSpace(title) == "" {
		return "", ErrInvalidTitle
	}
	return title, nil
}

// NewNamespaceID returns a fresh namespace id: 32 lowercase hex digits from
// crypto/rand.
func NewNamespaceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (it aborts the program instead)
	return hex.EncodeToString(b[:])
}
