package webapi

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// installCrypto defines the crypto global (a Crypto with getRandomValues,
// randomUUID and subtle) and the Crypto, SubtleCrypto and CryptoKey classes,
// none of which script can construct.
func installCrypto(vm *goja.Runtime, internal *goja.Object) error {
	keyClass := DefineClass(vm, "CryptoKey", nil, nil)
	defineCryptoKey(vm, keyClass)
	keyClass.Expose()

	subtleClass := DefineClass(vm, "SubtleCrypto", nil, nil)
	sc := &subtleCrypto{vm: vm, keyClass: keyClass}
	sc.define(subtleClass)
	subtleClass.Expose()
	subtleObj := subtleClass.New(sc)

	cryptoClass := DefineClass(vm, "Crypto", nil, nil)
	cryptoClass.Getter("subtle", func(this goja.Value) goja.Value {
		MustImpl[*cryptoImpl](vm, this)
		return subtleObj
	})
	cryptoClass.Method("getRandomValues", 1, func(call goja.FunctionCall) goja.Value {
		MustImpl[*cryptoImpl](vm, call.This)
		return getRandomValues(vm, call.Argument(0))
	})
	cryptoClass.Method("randomUUID", 0, func(call goja.FunctionCall) goja.Value {
		MustImpl[*cryptoImpl](vm, call.This)
		return vm.ToValue(randomUUID())
	})
	cryptoClass.Expose()
	return vm.GlobalObject().DefineDataProperty("crypto", cryptoClass.New(&cryptoImpl{}), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

type cryptoImpl struct{}

// getRandomValues fills an integer typed array in place, writing into its
// buffer, and returns it.
func getRandomValues(vm *goja.Runtime, v goja.Value) goja.Value {
	o, ok := v.(*goja.Object)
	integer, typed := false, false
	if ok {
		integer, typed = typedArrayExportTypes[o.ExportType()]
	}
	if !ok || (!typed && !isView(vm, o)) {
		ThrowTypeError(vm, "Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.")
	}
	// workerd's texts (src/workerd/api/crypto/crypto.c++).
	if !integer {
		ThrowDOMException(vm, "ArrayBufferView argument to getRandomValues() must be an integer-typed view.", "TypeMismatchError")
	}
	b, ok := bufferSourceBytes(vm, o)
	if !ok {
		ThrowTypeError(vm, "Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.")
	}
	if len(b) > 65536 {
		ThrowDOMException(vm, fmt.Sprintf("getRandomValues() only accepts buffers of size <= 64K but provided %d bytes.", len(b)), "QuotaExceededError")
	}
	if _, err := rand.Read(b); err != nil {
		panic(vm.NewGoError(fmt.Errorf("reading random bytes: %w", err)))
	}
	return o
}

// randomUUID returns a version 4 UUID in lowercase.
func randomUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0F | 0x40
	u[8] = u[8]&0x3F | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// digestAlgorithms are the hashes workerd supports, MD5 included; the map
// key is the upper-case name (lookups are case-insensitive).
var digestAlgorithms = map[string]struct {
	name      string
	new       func() hash.Hash
	blockSize int
}{
	"SHA-1":   {"SHA-1", sha1.New, sha1.BlockSize},
	"SHA-256": {"SHA-256", sha256.New, sha256.BlockSize},
	"SHA-384": {"SHA-384", sha512.New384, sha512.BlockSize},
	"SHA-512": {"SHA-512", sha512.New, sha512.BlockSize},
	"MD5":     {"MD5", md5.New, md5.BlockSize},
}

// webCryptoAlgorithms are the algorithm names WebCrypto (and workerd) know.
// Only HMAC keys are implemented; for the others kiln says so.
var webCryptoAlgorithms = map[string]string{
	"AES-CTR": "AES-CTR", "AES-CBC": "AES-CBC", "AES-GCM": "AES-GCM", "AES-KW": "AES-KW",
	"HMAC": "HMAC", "PBKDF2": "PBKDF2", "HKDF": "HKDF",
	"RSASSA-PKCS1-V1_5": "RSASSA-PKCS1-v1_5", "RSA-PSS": "RSA-PSS", "RSA-OAEP": "RSA-OAEP",
	"ECDSA": "ECDSA", "ECDH": "ECDH", "ED25519": "Ed25519", "X25519": "X25519", "NODE-ED25519": "NODE-ED25519",
}

// Key usages in the order CryptoKey.usages lists them.
var keyUsageNames = []string{"encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"}

type usageSet uint8

const (
	usageSign   usageSet = 1 << 2
	usageVerify usageSet = 1 << 3
)

func usageByName(name string) (usageSet, bool) {
	for i, n := range keyUsageNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// cryptoKey is an HMAC secret key.
type cryptoKey struct {
	hash        string // normalized, e.g. "SHA-256"
	length      int    // bits
	secret      []byte
	extractable bool
	usages      usageSet

	algorithm *goja.Object
	usageList *goja.Object
}

func (k *cryptoKey) usageNames() []string {
	var out []string
	for i, n := range keyUsageNames {
		if k.usages&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func defineCryptoKey(vm *goja.Runtime, c *Class) {
	c.Getter("type", func(this goja.Value) goja.Value {
		MustImpl[*cryptoKey](vm, this)
		return vm.ToValue("secret")
	})
	c.Getter("extractable", func(this goja.Value) goja.Value {
		return vm.ToValue(MustImpl[*cryptoKey](vm, this).extractable)
	})
	c.Getter("algorithm", func(this goja.Value) goja.Value {
		k := MustImpl[*cryptoKey](vm, this)
		if k.algorithm == nil {
			h := vm.NewObject()
			_ = h.Set("name", k.hash)
			a := vm.NewObject()
			_ = a.Set("name", "HMAC")
			_ = a.Set("hash", h)
			_ = a.Set("length", k.length)
			k.algorithm = a
		}
		return k.algorithm
	})
	c.Getter("usages", func(this goja.Value) goja.Value {
		k := MustImpl[*cryptoKey](vm, this)
		if k.usageList == nil {
			names := k.usageNames()
			items := make([]any, len(names))
			for i, n := range names {
				items[i] = n
			}
			k.usageList = vm.NewArray(items...)
		}
		return k.usageList
	})
}

// subtleCrypto implements crypto.subtle. Its methods return promises that
// settle before the method returns; every error becomes a rejection.
type subtleCrypto struct {
	vm       *goja.Runtime
	keyClass *Class
}

func (sc *subtleCrypto) define(c *Class) {
	vm := sc.vm
	async := func(name string, length int, fn func(call goja.FunctionCall) goja.Value) {
		c.Method(name, length, func(call goja.FunctionCall) goja.Value {
			MustImpl[*subtleCrypto](vm, call.This)
			return settledPromise(vm, func() goja.Value { return fn(call) })
		})
	}
	async("digest", 2, sc.digest)
	async("importKey", 5, sc.importKey)
	async("exportKey", 2, sc.exportKey)
	async("generateKey", 3, sc.generateKey)
	async("sign", 3, sc.sign)
	async("verify", 4, sc.verify)
	for _, name := range []string{"encrypt", "decrypt", "deriveBits", "deriveKey", "wrapKey", "unwrapKey"} {
		name := name
		async(name, 3, func(goja.FunctionCall) goja.Value {
			ThrowDOMException(vm, "SubtleCrypto."+name+"() is not implemented in kiln yet; HMAC sign/verify and digest are.", "NotSupportedError")
			return nil
		})
	}
	c.Method("timingSafeEqual", 2, func(call goja.FunctionCall) goja.Value {
		MustImpl[*subtleCrypto](vm, call.This)
		a := sc.bufferArg(call, "timingSafeEqual", 0)
		b := sc.bufferArg(call, "timingSafeEqual", 1)
		if len(a) != len(b) {
			ThrowTypeError(vm, "Input buffers must have the same byte length.")
		}
		return vm.ToValue(subtle.ConstantTimeCompare(a, b) == 1)
	})
}

// settledPromise runs fn and returns a promise resolved with its result or
// rejected with what it threw.
func settledPromise(vm *goja.Runtime, fn func() goja.Value) goja.Value {
	p, resolve, reject := vm.NewPromise()
	var result goja.Value
	var err error
	if ex := vm.Try(func() { result = fn() }); ex != nil {
		err = reject(ex.Value())
	} else {
		err = resolve(result)
	}
	if err != nil {
		panic(err)
	}
	return vm.ToValue(p)
}

func (sc *subtleCrypto) argTypeError(method string, index int, typ string) {
	ThrowTypeError(sc.vm, "Failed to execute '%s' on 'SubtleCrypto': parameter %d is not of type '%s'.", method, index+1, typ)
}

// bufferArg returns a copy of the BufferSource argument i.
func (sc *subtleCrypto) bufferArg(call goja.FunctionCall, method string, i int) []byte {
	b, ok := bufferSourceBytes(sc.vm, call.Argument(i))
	if !ok {
		sc.argTypeError(method, i, "ArrayBuffer or ArrayBufferView")
	}
	return append([]byte(nil), b...)
}

func (sc *subtleCrypto) keyArg(call goja.FunctionCall, method string, i int) *cryptoKey {
	k, ok := Impl[*cryptoKey](call.Argument(i))
	if !ok {
		sc.argTypeError(method, i, "CryptoKey")
	}
	return k
}

// algorithmName normalizes an AlgorithmIdentifier: a string, or an object
// whose name is converted to a string (as workerd's bindings do).
func algorithmName(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		n := o.Get("name")
		if n == nil {
			return "undefined"
		}
		return n.String()
	}
	return v.String()
}

// algorithmField returns the member name of an algorithm dictionary, or nil.
func algorithmField(alg goja.Value, name string) goja.Value {
	o, ok := alg.(*goja.Object)
	if !ok {
		return nil
	}
	v := o.Get(name)
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	return v
}

func (sc *subtleCrypto) lookupDigest(name string) (string, func() hash.Hash, int) {
	d, ok := digestAlgorithms[strings.ToUpper(name)]
	if !ok {
		ThrowDOMException(sc.vm, "Unrecognized or unimplemented digest algorithm requested.", "NotSupportedError")
	}
	return d.name, d.new, d.blockSize
}

func (sc *subtleCrypto) digest(call goja.FunctionCall) goja.Value {
	name := algorithmName(call.Argument(0))
	data := sc.bufferArg(call, "digest", 1)
	_, newHash, _ := sc.lookupDigest(name)
	h := newHash()
	h.Write(data)
	return sc.vm.ToValue(sc.vm.NewArrayBuffer(h.Sum(nil)))
}

// requireHMAC checks that op names HMAC. kind is "import", "generation".
func (sc *subtleCrypto) requireHMAC(name, kind string) {
	canonical, known := webCryptoAlgorithms[strings.ToUpper(name)]
	switch {
	case !known:
		ThrowDOMException(sc.vm, fmt.Sprintf("Unrecognized key %s algorithm %q requested.", kind, name), "NotSupportedError")
	case canonical != "HMAC":
		ThrowDOMException(sc.vm, fmt.Sprintf("%s keys are not implemented in kiln yet; HMAC keys are.", canonical), "NotSupportedError")
	}
}

// usagesArg converts a sequence<KeyUsage> and validates it for an HMAC key.
func (sc *subtleCrypto) usagesArg(call goja.FunctionCall, method string, i int, op string) usageSet {
	o, ok := call.Argument(i).(*goja.Object)
	if !ok {
		sc.argTypeError(method, i, "Array")
	}
	n := o.Get("length").ToInteger()
	var set usageSet
	for j := int64(0); j < n; j++ {
		name := o.Get(strconv.FormatInt(j, 10)).String()
		u, ok := usageByName(name)
		if !ok || (u != usageSign && u != usageVerify) {
			ThrowDOMException(sc.vm, fmt.Sprintf("Attempt to %s HMAC key with invalid usage %q.", op, name), "SyntaxError")
		}
		set |= u
	}
	return set
}

// zeroTrailingBits clears the bits of the last byte beyond length.
func zeroTrailingBits(key []byte, length int) {
	if extra := len(key)*8 - length; extra > 0 && len(key) > 0 {
		key[len(key)-1] &= byte(0xFF << extra)
	}
}

func (sc *subtleCrypto) newKey(k *cryptoKey) goja.Value {
	if k.usages == 0 {
		ThrowDOMException(sc.vm, "Secret/private CryptoKeys must have at least one usage.", "SyntaxError")
	}
	return sc.keyClass.New(k)
}

func (sc *subtleCrypto) importKey(call goja.FunctionCall) goja.Value {
	vm := sc.vm
	format := call.Argument(0).String()
	keyData := call.Argument(1)
	alg := call.Argument(2)
	extractable := call.Argument(3).ToBoolean()
	name := algorithmName(alg)

	var raw []byte
	var jwk *goja.Object
	switch format {
	case "raw", "pkcs8", "spki", "raw-public", "raw-private", "raw-seed", "raw-secret":
		b, ok := bufferSourceBytes(vm, keyData)
		if !ok {
			ThrowTypeError(vm, "Import data provided for buffer-based import formats must be a buffer source.")
		}
		raw = append([]byte(nil), b...)
	case "jwk":
		o, ok := keyData.(*goja.Object)
		if !ok || o.ExportType() == arrayBufferExportType || isView(vm, o) {
			ThrowTypeError(vm, "Import data provided for \"jwk\" import format must be a JsonWebKey.")
		}
		jwk = o
		if ext := o.Get("ext"); ext != nil && !goja.IsUndefined(ext) && !ext.ToBoolean() && extractable {
			ThrowDOMException(vm, fmt.Sprintf("JWK ext field for %q is set to false but extractable is true", name), "DataError")
		}
	default:
		ThrowDOMException(vm, fmt.Sprintf("Unrecognized key import format %q.", format), "NotSupportedError")
	}
	sc.requireHMAC(name, "import")
	usages := sc.usagesArg(call, "importKey", 4, "import secret")
	hashArg := algorithmField(alg, "hash")
	if hashArg == nil {
		ThrowTypeError(vm, "Missing field \"hash\" in \"algorithm\".")
	}
	hashName := algorithmName(hashArg)

	switch format {
	case "raw":
	case "jwk":
		kty := jwk.Get("kty")
		if kty == nil || kty.String() != "oct" {
			got := "undefined"
			if kty != nil {
				got = kty.String()
			}
			ThrowDOMException(vm, fmt.Sprintf("HMAC \"jwk\" key import requires a JSON Web Key with Key Type parameter (\"kty\") equal to \"oct\" (encountered %q).", got), "DataError")
		}
		k := jwk.Get("k")
		var ok bool
		if k != nil && !goja.IsUndefined(k) {
			raw, ok = decodeBase64URL(k.String())
		}
		if !ok {
			ThrowDOMException(vm, "HMAC \"jwk\" key import requires a base64Url encoding of the key", "DataError")
		}
		if a := jwk.Get("alg"); a != nil && !goja.IsUndefined(a) {
			normalized := strings.ToUpper(hashName)
			if strings.HasPrefix(normalized, "SHA-") {
				want := "HS" + normalized[len("SHA-"):]
				if a.String() != want {
					ThrowDOMException(vm, fmt.Sprintf("HMAC \"jwk\" key import specifies \"alg\" that is incompatible with the hash name (encountered %q, expected %q).", a.String(), want), "DataError")
				}
			} else {
				ThrowDOMException(vm, "Unrecognized or unimplemented hash algorithm requested"+a.String(), "NotSupportedError")
			}
		}
	default:
		ThrowDOMException(vm, fmt.Sprintf("Unrecognized key import format %q.", format), "NotSupportedError")
	}

	keySize := len(raw) * 8
	length := keySize
	if l := algorithmField(alg, "length"); l != nil {
		length = int(l.ToInteger())
	}
	if length == 0 || length > keySize || length <= keySize-8 {
		ThrowDOMException(vm, fmt.Sprintf("Imported HMAC key length (%d) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (%d).", length, keySize), "DataError")
	}
	zeroTrailingBits(raw, length)
	normalizedHash, _, _ := sc.lookupDigest(hashName)
	return sc.newKey(&cryptoKey{hash: normalizedHash, length: length, secret: raw, extractable: extractable, usages: usages})
}

// decodeBase64URL accepts base64url with or without padding.
func decodeBase64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// maxHMACKeyBits bounds generated keys (workerd stores the length in 16 bits).
const maxHMACKeyBits = 65535

func (sc *subtleCrypto) generateKey(call goja.FunctionCall) goja.Value {
	vm := sc.vm
	alg := call.Argument(0)
	extractable := call.Argument(1).ToBoolean()
	sc.requireHMAC(algorithmName(alg), "generation")
	hashArg := algorithmField(alg, "hash")
	if hashArg == nil {
		ThrowTypeError(vm, "Missing field \"hash\" in \"algorithm\".")
	}
	hashName, _, blockSize := sc.lookupDigest(algorithmName(hashArg))
	usages := sc.usagesArg(call, "generateKey", 2, "generate")
	length := blockSize * 8
	if l := algorithmField(alg, "length"); l != nil {
		length = int(l.ToInteger())
	}
	if length <= 0 {
		ThrowDOMException(vm, fmt.Sprintf("HMAC key length must be a non-zero unsigned long integer (requested %d).", length), "OperationError")
	}
	if length > maxHMACKeyBits {
		ThrowDOMException(vm, fmt.Sprintf("HMAC key length must be at most %d bits (requested %d).", maxHMACKeyBits, length), "OperationError")
	}
	secret := make([]byte, (length+7)/8)
	if _, err := rand.Read(secret); err != nil {
		panic(vm.NewGoError(fmt.Errorf("reading random bytes: %w", err)))
	}
	zeroTrailingBits(secret, length)
	return sc.newKey(&cryptoKey{hash: hashName, length: length, secret: secret, extractable: extractable, usages: usages})
}

// checkOperation applies workerd's validateOperation.
func (sc *subtleCrypto) checkOperation(k *cryptoKey, requested string, usage usageSet, usageName string) {
	if !strings.EqualFold(requested, "HMAC") {
		ThrowDOMException(sc.vm, fmt.Sprintf("Requested algorithm %q does not match this CryptoKey's algorithm \"HMAC\".", requested), "InvalidAccessError")
	}
	if k.usages&usage == 0 {
		ThrowDOMException(sc.vm, fmt.Sprintf("Requested key usage %q does not match any usage listed in this CryptoKey.", usageName), "InvalidAccessError")
	}
}

func (k *cryptoKey) mac(data []byte) []byte {
	newHash := digestAlgorithms[k.hash].new
	m := hmac.New(newHash, k.secret)
	m.Write(data)
	return m.Sum(nil)
}

func (sc *subtleCrypto) sign(call goja.FunctionCall) goja.Value {
	name := algorithmName(call.Argument(0))
	k := sc.keyArg(call, "sign", 1)
	data := sc.bufferArg(call, "sign", 2)
	sc.checkOperation(k, name, usageSign, "sign")
	return sc.vm.ToValue(sc.vm.NewArrayBuffer(k.mac(data)))
}

func (sc *subtleCrypto) verify(call goja.FunctionCall) goja.Value {
	name := algorithmName(call.Argument(0))
	k := sc.keyArg(call, "verify", 1)
	sig := sc.bufferArg(call, "verify", 2)
	data := sc.bufferArg(call, "verify", 3)
	sc.checkOperation(k, name, usageVerify, "verify")
	return sc.vm.ToValue(hmac.Equal(k.mac(data), sig))
}

func (sc *subtleCrypto) exportKey(call goja.FunctionCall) goja.Value {
	vm := sc.vm
	format := call.Argument(0).String()
	k := sc.keyArg(call, "exportKey", 1)
	if !k.extractable {
		ThrowDOMException(vm, "Attempt to export non-extractable HMAC key.", "InvalidAccessError")
	}
	switch format {
	case "raw":
		return vm.ToValue(vm.NewArrayBuffer(append([]byte(nil), k.secret...)))
	case "jwk":
		if !strings.HasPrefix(k.hash, "SHA-") {
			ThrowDOMException(vm, fmt.Sprintf("Unimplemented JWK key export format for key algorithm %q.", k.hash), "NotSupportedError")
		}
		ops := k.usageNames()
		items := make([]any, len(ops))
		for i, n := range ops {
			items[i] = n
		}
		jwk := vm.NewObject()
		_ = jwk.Set("kty", "oct")
		_ = jwk.Set("key_ops", vm.NewArray(items...))
		_ = jwk.Set("alg", "HS"+k.hash[len("SHA-"):])
		_ = jwk.Set("ext", true)
		_ = jwk.Set("k", base64.RawURLEncoding.EncodeToString(k.secret))
		return jwk
	}
	ThrowDOMException(vm, fmt.Sprintf("Unimplemented key export format %q.", format), "NotSupportedError")
	return nil
}
