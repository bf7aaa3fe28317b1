package webapi

import (
	"errors"
	"strconv"

	"github.com/dop251/goja"
	"github.com/kiln-dev/kiln/js/structuredclone"
)

// installStructuredClone defines structuredClone(value, {transfer}).
func installStructuredClone(vm *goja.Runtime, internal *goja.Object) error {
	return installGlobalFunc(vm, "structuredClone", 1, func(call goja.FunctionCall) goja.Value {
		transfer := cloneTransferList(vm, call.Argument(1))
		data, err := structuredclone.Serialize(vm, call.Argument(0), structuredclone.Options{})
		if err != nil {
			throwCloneError(vm, err)
		}
		out, err := structuredclone.Deserialize(vm, data)
		if err != nil {
			// V8's kDataCloneDeserializationError.
			ThrowDOMException(vm, "Unable to deserialize cloned data.", "DataCloneError")
		}
		// The clone owns copies of the transferred buffers; detaching the
		// originals makes the transfer observable as in workerd.
		for _, ab := range transfer {
			ab.Detach()
		}
		return out
	})
}

// cloneTransferList reads options.transfer: ArrayBuffers, or views whose
// buffers are transferred. Duplicates are ignored, as workerd does.
func cloneTransferList(vm *goja.Runtime, options goja.Value) []goja.ArrayBuffer {
	if options == nil || goja.IsUndefined(options) || goja.IsNull(options) {
		return nil
	}
	opts, ok := options.(*goja.Object)
	if !ok {
		ThrowTypeError(vm, "Failed to execute 'structuredClone' on 'ServiceWorkerGlobalScope': parameter 2 is not of type 'StructuredSerializeOptions'.")
	}
	list := opts.Get("transfer")
	if list == nil || goja.IsUndefined(list) {
		return nil
	}
	lo, ok := list.(*goja.Object)
	if !ok {
		ThrowTypeError(vm, "Failed to execute 'structuredClone' on 'ServiceWorkerGlobalScope': the 'transfer' field is not of type 'Array'.")
	}
	n := lo.Get("length").ToInteger()
	var out []goja.ArrayBuffer
	for i := int64(0); i < n; i++ {
		ab, ok := transferableBuffer(vm, lo.Get(strconv.FormatInt(i, 10)))
		if !ok {
			ThrowTypeError(vm, "Object is not transferable")
		}
		dup := false
		for _, seen := range out {
			if seen == ab {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, ab)
		}
	}
	return out
}

func transferableBuffer(vm *goja.Runtime, v goja.Value) (goja.ArrayBuffer, bool) {
	o, ok := v.(*goja.Object)
	if !ok {
		return goja.ArrayBuffer{}, false
	}
	if ab, ok := o.Export().(goja.ArrayBuffer); ok {
		return ab, true
	}
	if !isView(vm, o) {
		return goja.ArrayBuffer{}, false
	}
	buf, ok := o.Get("buffer").(*goja.Object)
	if !ok {
		return goja.ArrayBuffer{}, false
	}
	ab, ok := buf.Export().(goja.ArrayBuffer)
	return ab, ok
}

// throwCloneError turns a Serialize error into the exception script sees.
func throwCloneError(vm *goja.Runtime, err error) {
	var dce *structuredclone.DataCloneError
	var ex *goja.Exception
	switch {
	case errors.As(err, &dce):
		ThrowDOMException(vm, dce.Message, "DataCloneError")
	case errors.As(err, &ex):
		panic(ex)
	case errors.Is(err, structuredclone.ErrTooDeep):
		ThrowRangeError(vm, "Maximum call stack size exceeded")
	default:
		ThrowDOMException(vm, err.Error(), "DataCloneError")
	}
}
