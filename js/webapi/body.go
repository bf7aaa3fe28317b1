package webapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// errBodyUsed is workerd's text for a body read twice.
const errBodyUsed = "Body has already been used. It can only be used once. Use tee() first if you need to read it twice."

type bodyKind int

const (
	bodyNone       bodyKind = iota
	bodyBytes               // all bytes known in Go
	bodyKindReader          // a Go stream (incoming request, fetch response) not yet seen by script
	bodyStream              // a JavaScript ReadableStream
)

// body is the Fetch standard's body of a Request or Response.
type body struct {
	kind   bodyKind
	data   []byte
	reader io.ReadCloser
	// size is the length of a reader's content when known in advance
	// (a Content-Length), so a response passed on keeps it; else -1.
	size   int64
	stream *goja.Object
	used   bool
}

// readerBody is a body handed over as a Go stream, of size bytes if size
// is not negative.
func readerBody(r io.ReadCloser, size int64) *body {
	if bb, ok := r.(*bytesBody); ok && bb.Len() == len(bb.data) {
		// Bytes of another runtime's body, unread: no need to stream them.
		return &body{kind: bodyBytes, data: bb.data}
	}
	return &body{kind: bodyKindReader, reader: r, size: size}
}

// bytesBody is a bytes body handed to Go as a reader; a runtime that
// receives it unread (a Durable Object's response reaching its caller)
// takes the bytes as they are.
type bytesBody struct {
	bytes.Reader
	data []byte
}

func newBytesBody(data []byte) *bytesBody {
	bb := &bytesBody{data: data}
	bb.Reset(data)
	return bb
}

func (*bytesBody) Close() error { return nil }

// InMemory reports whether r is a body whose bytes are all in memory (a
// script's string or buffer), as opposed to a stream that may arrive
// slowly and should reach its reader chunk by chunk.
func InMemory(r io.Reader) bool {
	_, ok := r.(*bytesBody)
	return ok
}

func (b *body) isNull() bool { return b == nil || b.kind == bodyNone }

// fetchAPI is the Fetch standard (Headers, Request, Response, fetch) of one
// runtime, with the hooks the prelude exposes for streams, Blob and FormData.
type fetchAPI struct {
	vm       *goja.Runtime
	loop     Loop
	internal *goja.Object
	headers  *headersAPI
	request  *Class
	response *Class
	client   httpDoer
	ws       *webSockets

	jsonParse goja.Callable
}

func (api *fetchAPI) hook(name string) goja.Callable {
	fn, ok := goja.AssertFunction(api.internal.Get(name))
	if !ok {
		panic(api.vm.NewGoError(fmt.Errorf("prelude hook %q is missing", name)))
	}
	return fn
}

func (api *fetchAPI) callHook(name string, args ...goja.Value) goja.Value {
	v, err := api.hook(name)(goja.Undefined(), args...)
	if err != nil {
		panic(err)
	}
	return v
}

func (api *fetchAPI) is(hook string, v goja.Value) bool {
	if _, ok := v.(*goja.Object); !ok {
		return false
	}
	return api.callHook(hook, v).ToBoolean()
}

// extract converts a BodyInit into a body and the Content-Type it implies.
func (api *fetchAPI) extract(v goja.Value) (*body, string) {
	vm := api.vm
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return &body{}, ""
	}
	if s, ok := v.Export().(string); ok {
		return &body{kind: bodyBytes, data: []byte(s)}, "text/plain;charset=UTF-8"
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		return &body{kind: bodyBytes, data: []byte(v.String())}, "text/plain;charset=UTF-8"
	}
	if b, ok := BytesOf(vm, obj); ok {
		return &body{kind: bodyBytes, data: b}, ""
	}
	if api.is("isReadableStream", obj) {
		return &body{kind: bodyStream, stream: obj}, ""
	}
	if api.is("isBlob", obj) {
		data, _ := BytesOf(vm, api.callHook("blobBytes", obj))
		return &body{kind: bodyBytes, data: data}, obj.Get("type").String()
	}
	if api.is("isFormData", obj) {
		data, boundary := api.encodeMultipart(obj)
		return &body{kind: bodyBytes, data: data}, "multipart/form-data; boundary=" + boundary
	}
	if usp, ok := vm.Get("URLSearchParams").(*goja.Object); ok && vm.InstanceOf(obj, usp) {
		return &body{kind: bodyBytes, data: []byte(obj.String())}, "application/x-www-form-urlencoded;charset=UTF-8"
	}
	return &body{kind: bodyBytes, data: []byte(obj.String())}, "text/plain;charset=UTF-8"
}

func (api *fetchAPI) encodeMultipart(fd *goja.Object) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "----kilnformdata" + hex.EncodeToString(rnd[:])
	_ = w.SetBoundary(boundary)
	entries := api.callHook("formDataEntries", fd).ToObject(api.vm)
	n := entries.Get("length").ToInteger()
	for i := int64(0); i < n; i++ {
		pair := entries.Get(fmt.Sprint(i)).ToObject(api.vm)
		name := pair.Get("0").String()
		val := pair.Get("1")
		if s, ok := val.Export().(string); ok {
			_ = w.WriteField(name, s)
			continue
		}
		file := val.ToObject(api.vm)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, escapeQuotes(name), escapeQuotes(file.Get("name").String())))
		ct := file.Get("type").String()
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		part, _ := w.CreatePart(h)
		data, _ := BytesOf(api.vm, api.callHook("blobBytes", file))
		_, _ = part.Write(data)
	}
	_ = w.Close()
	return buf.Bytes(), boundary
}

func escapeQuotes(s string) string {
	return strings.NewReplacer("\n", "%0A", "\r", "%0D", `"`, "%22").Replace(s)
}

// used reports the Fetch standard's "body used" (disturbed) state.
func (api *fetchAPI) used(b *body) bool {
	if b == nil || b.kind == bodyNone {
		return false
	}
	if b.used {
		return true
	}
	if b.kind == bodyStream {
		if fn, ok := goja.AssertFunction(api.internal.Get("isDisturbed")); ok {
			v, err := fn(goja.Undefined(), b.stream)
			return err == nil && v.ToBoolean()
		}
	}
	return false
}

func (api *fetchAPI) locked(b *body) bool {
	return b.kind == bodyStream && b.stream.Get("locked").ToBoolean()
}

// streamOf returns the body as a ReadableStream (creating it on first use)
// or null.
func (api *fetchAPI) streamOf(b *body) goja.Value {
	switch b.kind {
	case bodyNone:
		return goja.Null()
	case bodyStream:
		return b.stream
	case bodyBytes:
		data := b.data
		b.data = nil
		b.stream = api.streamFromReader(io.NopCloser(bytes.NewReader(data)))
	case bodyKindReader:
		b.stream = api.streamFromReader(b.reader)
		b.reader = nil
	}
	b.kind = bodyStream
	return b.stream
}

// streamFromReader exposes a Go reader as a byte ReadableStream whose pulls
// read the reader off the loop.
func (api *fetchAPI) streamFromReader(r io.ReadCloser) *goja.Object {
	vm := api.vm
	pull := vm.ToValue(func(goja.FunctionCall) goja.Value {
		p, resolve, reject := vm.NewPromise()
		finish := api.loop.Hold()
		go func() {
			buf := make([]byte, 64<<10)
			n, err := io.ReadFull(r, buf)
			finish(func() {
				var serr error
				switch {
				case n > 0:
					serr = resolve(NewUint8Array(vm, buf[:n]))
				case err == io.EOF || err == io.ErrUnexpectedEOF:
					_ = r.Close()
					serr = resolve(goja.Null())
				default:
					serr = reject(vm.NewTypeError("Network connection lost."))
				}
				if serr != nil {
					api.loop.Report(serr)
				}
			})
		}()
		return vm.ToValue(p)
	})
	cancel := vm.ToValue(func(goja.FunctionCall) goja.Value {
		_ = r.Close()
		return goja.Undefined()
	})
	return api.callHook("newReadableStreamFromPull", pull, cancel).ToObject(vm)
}

// consume reads the whole body and converts it with convert, returning a
// promise. It implements text(), json(), arrayBuffer(), bytes(), blob() and
// formData().
func (api *fetchAPI) consume(b *body, convert func([]byte) goja.Value) goja.Value {
	vm := api.vm
	p, resolve, reject := vm.NewPromise()
	settle := func(err error) {
		if err != nil {
			api.loop.Report(err)
		}
	}
	if api.used(b) {
		settle(reject(vm.NewTypeError(errBodyUsed)))
		return vm.ToValue(p)
	}
	if api.locked(b) {
		settle(reject(vm.NewTypeError("This ReadableStream is currently locked to a reader.")))
		return vm.ToValue(p)
	}
	deliver := func(data []byte) {
		var v goja.Value
		if err := Catch(func() { v = convert(data) }); err != nil {
			settle(reject(err))
			return
		}
		settle(resolve(v))
	}
	switch b.kind {
	case bodyNone:
		deliver(nil)
	case bodyBytes:
		b.used = true
		deliver(b.data)
	case bodyKindReader:
		b.used = true
		r := b.reader
		b.reader = nil
		finish := api.loop.Hold()
		go func() {
			data, err := io.ReadAll(r)
			_ = r.Close()
			finish(func() {
				if err != nil {
					settle(reject(vm.NewTypeError("Network connection lost.")))
					return
				}
				deliver(data)
			})
		}()
	case bodyStream:
		b.used = true
		all := api.callHook("readAll", b.stream).ToObject(vm)
		then, _ := goja.AssertFunction(all.Get("then"))
		_, err := then(all, vm.ToValue(func(c goja.FunctionCall) goja.Value {
			data, _ := BytesOf(vm, c.Argument(0))
			deliver(data)
			return goja.Undefined()
		}), vm.ToValue(func(c goja.FunctionCall) goja.Value {
			settle(reject(c.Argument(0)))
			return goja.Undefined()
		}))
		if err != nil {
			settle(reject(err))
		}
	}
	return vm.ToValue(p)
}

// text decodes UTF-8 as the Encoding standard's "UTF-8 decode": a leading
// BOM is dropped and invalid sequences become U+FFFD.
func text(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(data) {
		return string(data)
	}
	var b strings.Builder
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		b.WriteRune(r)
		data = data[n:]
	}
	return b.String()
}

// readers installs text(), json(), ... on a class whose instances carry a
// body; bodyOf and contentTypeOf read them from this.
func (api *fetchAPI) readers(c *Class, bodyOf func(goja.Value) *body, contentTypeOf func(goja.Value) string) {
	vm := api.vm
	c.Method("text", 0, func(call goja.FunctionCall) goja.Value {
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value { return vm.ToValue(text(d)) })
	})
	c.Method("json", 0, func(call goja.FunctionCall) goja.Value {
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value {
			v, err := api.jsonParse(goja.Undefined(), vm.ToValue(text(d)))
			if err != nil {
				panic(err)
			}
			return v
		})
	})
	c.Method("arrayBuffer", 0, func(call goja.FunctionCall) goja.Value {
		// A copy: body bytes are shared, never written (a clone's tee, a
		// Durable Object's reply or request handed to another runtime),
		// and the script may write into its ArrayBuffer.
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value {
			return vm.ToValue(vm.NewArrayBuffer(append([]byte{}, d...)))
		})
	})
	c.Method("bytes", 0, func(call goja.FunctionCall) goja.Value {
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value { return NewUint8Array(vm, d) })
	})
	c.Method("blob", 0, func(call goja.FunctionCall) goja.Value {
		ct := contentTypeOf(call.This)
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value {
			return api.callHook("newBlob", NewUint8Array(vm, d), vm.ToValue(ct))
		})
	})
	c.Method("formData", 0, func(call goja.FunctionCall) goja.Value {
		ct := contentTypeOf(call.This)
		return api.consume(bodyOf(call.This), func(d []byte) goja.Value { return api.parseFormData(ct, d) })
	})
	c.Getter("body", func(this goja.Value) goja.Value { return api.streamOf(bodyOf(this)) })
	c.Getter("bodyUsed", func(this goja.Value) goja.Value { return vm.ToValue(api.used(bodyOf(this))) })
}

func (api *fetchAPI) parseFormData(contentType string, data []byte) goja.Value {
	vm := api.vm
	fd := api.callHook("newFormData").ToObject(vm)
	appendFn, _ := goja.AssertFunction(fd.Get("append"))
	add := func(args ...goja.Value) {
		if _, err := appendFn(fd, args...); err != nil {
			panic(err)
		}
	}
	mt, params, err := mime.ParseMediaType(contentType)
	switch {
	case err == nil && mt == "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				ThrowTypeError(vm, "Failed to parse body as FormData.")
			}
			content, err := io.ReadAll(part)
			if err != nil {
				ThrowTypeError(vm, "Failed to parse body as FormData.")
			}
			name := part.FormName()
			if fn := part.FileName(); fn != "" || part.Header.Get("Content-Type") != "" && fn != "" {
				blob := api.callHook("newBlob", NewUint8Array(vm, content), vm.ToValue(part.Header.Get("Content-Type")))
				add(vm.ToValue(name), blob, vm.ToValue(fn))
				continue
			}
			add(vm.ToValue(name), vm.ToValue(text(content)))
		}
	case err == nil && mt == "application/x-www-form-urlencoded":
		for _, pair := range strings.Split(string(data), "&") {
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			add(vm.ToValue(k), vm.ToValue(v))
		}
	default:
		ThrowTypeError(vm, "Unrecognized Content-Type header value. FormData can only parse the following MIME types: multipart/form-data, application/x-www-form-urlencoded")
	}
	return fd
}
