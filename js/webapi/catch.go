package webapi

import "github.com/dop251/goja"

// Catch runs fn, which may call into JavaScript or throw a JavaScript value
// with panic as goja's Go functions do, and returns what was thrown (nil if
// nothing). Go panics that are not JavaScript throws pass through.
func Catch(fn func()) (thrown goja.Value) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case *goja.Exception:
				thrown = x.Value()
			case goja.Value:
				thrown = x
			default:
				panic(r)
			}
		}
	}()
	fn()
	return nil
}
