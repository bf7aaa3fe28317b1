package webapi

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// workerd's texts (src/workerd/api/global-scope.c++).
const (
	atobInvalidMessage = "atob() called with invalid base64-encoded data. (Only whitespace, '+', '/', alphanumeric ASCII, and up to two terminal '=' signs when the input data length is divisible by 4 are allowed.)"
	btoaLatin1Message  = "btoa() can only operate on characters in the Latin1 (ISO/IEC 8859-1) range."
)

// installBase64 defines atob and btoa.
func installBase64(vm *goja.Runtime, internal *goja.Object) error {
	if err := installGlobalFunc(vm, "atob", 1, func(call goja.FunctionCall) goja.Value {
		requireArgs(vm, call, "atob", "ServiceWorkerGlobalScope", 1)
		out, ok := forgivingBase64Decode(toJSString(vm, call.Argument(0)))
		if !ok {
			ThrowDOMException(vm, atobInvalidMessage, "InvalidCharacterError")
		}
		return latin1String(vm, out)
	}); err != nil {
		return err
	}
	return installGlobalFunc(vm, "btoa", 1, func(call goja.FunctionCall) goja.Value {
		requireArgs(vm, call, "btoa", "ServiceWorkerGlobalScope", 1)
		s := toJSString(vm, call.Argument(0))
		n := s.Length()
		b := make([]byte, n)
		for i := 0; i < n; i++ {
			c := s.CharAt(i)
			if c > 0xFF {
				ThrowDOMException(vm, btoaLatin1Message, "InvalidCharacterError")
			}
			b[i] = byte(c)
		}
		return vm.ToValue(base64.StdEncoding.EncodeToString(b))
	})
}

// forgivingBase64Decode implements the HTML standard's forgiving-base64
// decode: ASCII whitespace is ignored, padding is optional, and non-zero
// trailing bits are accepted.
func forgivingBase64Decode(s goja.String) ([]byte, bool) {
	n := s.Length()
	buf := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		c := s.CharAt(i)
		switch c {
		case '\t', '\n', '\f', '\r', ' ':
			continue
		}
		if c >= utf8.RuneSelf {
			return nil, false
		}
		buf = append(buf, byte(c))
	}
	if len(buf)%4 == 0 {
		switch {
		case len(buf) >= 2 && buf[len(buf)-1] == '=' && buf[len(buf)-2] == '=':
			buf = buf[:len(buf)-2]
		case len(buf) >= 1 && buf[len(buf)-1] == '=':
			buf = buf[:len(buf)-1]
		}
	}
	if len(buf)%4 == 1 {
		return nil, false
	}
	for _, c := range buf {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(buf)))
	m, err := base64.RawStdEncoding.Decode(out, buf)
	if err != nil {
		return nil, false
	}
	return out[:m], true
}

// latin1String makes a string with one code unit per byte.
func latin1String(vm *goja.Runtime, b []byte) goja.Value {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return vm.ToValue(string(b))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return vm.ToValue(string(r))
}

// requireArgs throws the TypeError browsers and workerd throw when a
// required argument is missing.
func requireArgs(vm *goja.Runtime, call goja.FunctionCall, method, iface string, n int) {
	if len(call.Arguments) < n {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		ThrowTypeError(vm, "Failed to execute '%s' on '%s': %d argument%s required, but only %d present.", method, iface, n, plural, len(call.Arguments))
	}
}

// installGlobalFunc defines a global function with the given name and
// length, as Web IDL operations on the global object are defined.
func installGlobalFunc(vm *goja.Runtime, name string, length int, fn func(goja.FunctionCall) goja.Value) error {
	f, ok := vm.ToValue(fn).(*goja.Object)
	if !ok {
		return fmt.Errorf("creating %s", name)
	}
	if err := f.DefineDataProperty("name", vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return fmt.Errorf("naming %s: %w", name, err)
	}
	if err := f.DefineDataProperty("length", vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return fmt.Errorf("setting %s.length: %w", name, err)
	}
	if err := vm.GlobalObject().DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return fmt.Errorf("defining %s: %w", name, err)
	}
	return nil
}
