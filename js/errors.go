package js

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dop251/goja"
)

var (
	// ErrCPULimit is the failure of an invocation that used more CPU time
	// than its limit.
	ErrCPULimit = errors.New("Worker exceeded CPU time limit.")
	// ErrStackOverflow is the failure of an invocation whose script recursed
	// past the engine's maximum call stack size.
	ErrStackOverflow = errors.New("Maximum call stack size exceeded")
	// ErrRuntimeGone is the failure of an invocation whose runtime was
	// discarded (another invocation on it broke a limit, or it was closed).
	ErrRuntimeGone = errors.New("the JavaScript runtime running this request was reset")
)

// Exception is an uncaught JavaScript exception, with its message and the
// source-mapped stack as the engine printed it.
type Exception struct {
	// Value is the printed thrown value, e.g. "TypeError: x is not a function".
	Value string
	// Stack is the stack trace, one frame a line ("    at f (src/index.ts:3:9)").
	Stack string
}

func (e *Exception) Error() string { return e.Value }

// Detail returns the message followed by the stack, as shown to a developer.
func (e *Exception) Detail() string {
	if e.Stack == "" {
		return e.Value
	}
	return e.Value + "\n" + e.Stack
}

// AsError converts an error returned by goja (or a thrown value) into kiln's
// error types: *Exception, ErrCPULimit, ErrStackOverflow or the error itself.
func AsError(err error) error {
	if err == nil {
		return nil
	}
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		if e, ok := interrupted.Value().(error); ok {
			return e
		}
		return ErrCPULimit
	}
	var overflow *goja.StackOverflowError
	if errors.As(err, &overflow) {
		return ErrStackOverflow
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ExceptionFromValue(ex.Value(), ex)
	}
	return err
}

// ExceptionFromValue describes a thrown JavaScript value. ex, when known,
// supplies the engine's stack for values that are not Error objects.
func ExceptionFromValue(v goja.Value, ex *goja.Exception) *Exception {
	e := &Exception{}
	if obj, ok := v.(*goja.Object); ok && obj != nil {
		stack := obj.Get("stack")
		if stack != nil && !goja.IsUndefined(stack) && !goja.IsNull(stack) {
			s := stack.String()
			// V8-style stacks start with "Name: message" and continue with
			// "    at" lines; goja follows the same shape.
			head, rest, _ := strings.Cut(s, "\n")
			rest = normalizeStack(rest)
			e.Value = head
			e.Stack = rest
			if !strings.HasPrefix(strings.TrimSpace(rest), "at ") && rest != "" {
				e.Value = s
				e.Stack = ""
			}
			if msg := describe(obj); msg != "" && e.Value != msg && !strings.HasPrefix(e.Value, msg) {
				e.Value = msg
			}
			return e
		}
	}
	if v == nil {
		e.Value = "undefined"
	} else {
		e.Value = "Uncaught " + describe(v)
	}
	if ex != nil {
		e.Stack = normalizeStack(strings.TrimRight(stackOf(ex), "\n"))
	}
	return e
}

// normalizeStack prints goja's stack frames the way V8 does: four spaces
// before "at", and without goja's bytecode offset ("file.ts:3:9(12)").
func normalizeStack(stack string) string {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " \t")
		if l == "" {
			continue
		}
		lines[i] = "    " + bytecodeOffset.ReplaceAllString(l, ":$1$2")
	}
	return strings.Join(lines, "\n")
}

// bytecodeOffset matches goja's "(pc)" after a line:column position.
var bytecodeOffset = regexp.MustCompile(`:(\d+)\(\d+\)(\)?)$`)

func describe(v goja.Value) string {
	if obj, ok := v.(*goja.Object); ok && obj != nil {
		name := obj.Get("name")
		msg := obj.Get("message")
		if name != nil && msg != nil && !goja.IsUndefined(name) && !goja.IsUndefined(msg) {
			if m := msg.String(); m != "" {
				return fmt.Sprintf("%s: %s", name.String(), m)
			}
			return name.String()
		}
	}
	if v == nil {
		return "undefined"
	}
	return v.String()
}

func stackOf(ex *goja.Exception) string {
	var b bytes.Buffer
	for _, f := range ex.Stack() {
		b.WriteString("    at ")
		f.Write(&b)
		b.WriteString("\n")
	}
	return b.String()
}
