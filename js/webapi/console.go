package webapi

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// console writes console.* calls to the server log with levels, formatting
// arguments the way Node and workerd's inspector print them.
type console struct {
	vm     *goja.Runtime
	sink   func(slog.Level, string)
	counts map[string]int
	timers map[string]time.Time
	indent int
}

func installConsole(vm *goja.Runtime, sink func(slog.Level, string)) error {
	if sink == nil {
		sink = func(slog.Level, string) {}
	}
	c := &console{vm: vm, sink: sink, counts: map[string]int{}, timers: map[string]time.Time{}}
	obj := vm.NewObject()
	levels := map[string]slog.Level{
		"log": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "error": slog.LevelError, "trace": slog.LevelDebug,
		"dir": slog.LevelInfo, "dirxml": slog.LevelInfo, "table": slog.LevelInfo,
	}
	for name, level := range levels {
		level, name := level, name
		if err := obj.Set(name, func(call goja.FunctionCall) goja.Value {
			msg := c.format(call.Arguments)
			if name == "trace" {
				msg = "Trace: " + msg
			}
			c.emit(level, msg)
			return goja.Undefined()
		}); err != nil {
			return err
		}
	}
	extra := map[string]func(goja.FunctionCall) goja.Value{
		"assert": func(call goja.FunctionCall) goja.Value {
			if call.Argument(0).ToBoolean() {
				return goja.Undefined()
			}
			msg := "Assertion failed"
			if len(call.Arguments) > 1 {
				msg += ": " + c.format(call.Arguments[1:])
			}
			c.emit(slog.LevelError, msg)
			return goja.Undefined()
		},
		"count": func(call goja.FunctionCall) goja.Value {
			label := labelOf(call)
			c.counts[label]++
			c.emit(slog.LevelInfo, fmt.Sprintf("%s: %d", label, c.counts[label]))
			return goja.Undefined()
		},
		"countReset": func(call goja.FunctionCall) goja.Value {
			delete(c.counts, labelOf(call))
			return goja.Undefined()
		},
		"time": func(call goja.FunctionCall) goja.Value {
			c.timers[labelOf(call)] = time.Now()
			return goja.Undefined()
		},
		"timeLog": func(call goja.FunctionCall) goja.Value {
			c.timeReport(labelOf(call), false)
			return goja.Undefined()
		},
		"timeEnd": func(call goja.FunctionCall) goja.Value {
			c.timeReport(labelOf(call), true)
			return goja.Undefined()
		},
		"group": func(call goja.FunctionCall) goja.Value {
			if len(call.Arguments) > 0 {
				c.emit(slog.LevelInfo, c.format(call.Arguments))
			}
			c.indent++
			return goja.Undefined()
		},
		"groupEnd": func(call goja.FunctionCall) goja.Value {
			if c.indent > 0 {
				c.indent--
			}
			return goja.Undefined()
		},
	}
	extra["groupCollapsed"] = extra["group"]
	for name, fn := range extra {
		if err := obj.Set(name, fn); err != nil {
			return err
		}
	}
	return vm.GlobalObject().DefineDataProperty("console", obj, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

func labelOf(call goja.FunctionCall) string {
	if a := call.Argument(0); !goja.IsUndefined(a) {
		return a.String()
	}
	return "default"
}

func (c *console) timeReport(label string, end bool) {
	start, ok := c.timers[label]
	if !ok {
		c.emit(slog.LevelWarn, fmt.Sprintf("Timer '%s' does not exist", label))
		return
	}
	if end {
		delete(c.timers, label)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	c.emit(slog.LevelInfo, fmt.Sprintf("%s: %.3fms", label, ms))
}

func (c *console) emit(level slog.Level, msg string) {
	if c.indent > 0 {
		pad := strings.Repeat("  ", c.indent)
		msg = pad + strings.ReplaceAll(msg, "\n", "\n"+pad)
	}
	c.sink(level, msg)
}

// format implements the console's printf-like formatting (%s %d %i %f %o %O
// %j %c %%) followed by the remaining arguments, inspected and space-joined.
func (c *console) format(args []goja.Value) string {
	if len(args) == 0 {
		return ""
	}
	var parts []string
	rest := args
	if s, ok := args[0].Export().(string); ok && strings.Contains(s, "%") {
		rest = args[1:]
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] != '%' || i+1 == len(s) {
				b.WriteByte(s[i])
				continue
			}
			verb := s[i+1]
			if verb == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if !strings.ContainsRune("sdifoOjc", rune(verb)) {
				b.WriteByte(s[i])
				continue
			}
			i++
			if len(rest) == 0 {
				b.WriteByte('%')
				b.WriteByte(verb)
				continue
			}
			a := rest[0]
			rest = rest[1:]
			switch verb {
			case 's':
				if _, isStr := a.Export().(string); isStr {
					b.WriteString(a.String())
				} else {
					b.WriteString(Inspect(c.vm, a, 1))
				}
			case 'd', 'i':
				f := a.ToFloat()
				if verb == 'i' || f == math.Trunc(f) {
					b.WriteString(formatNumber(math.Trunc(f)))
				} else {
					b.WriteString(formatNumber(f))
				}
			case 'f':
				b.WriteString(formatNumber(a.ToFloat()))
			case 'j':
				j, err := c.vm.RunString("JSON.stringify")
				if fn, ok := goja.AssertFunction(j); err == nil && ok {
					if r, err := fn(goja.Undefined(), a); err == nil {
						b.WriteString(r.String())
					}
				}
			case 'o', 'O':
				b.WriteString(Inspect(c.vm, a, 4))
			case 'c':
				// CSS is ignored outside browsers.
			}
		}
		parts = append(parts, b.String())
	}
	for _, a := range rest {
		if s, ok := a.Export().(string); ok {
			parts = append(parts, s)
			continue
		}
		parts = append(parts, Inspect(c.vm, a, 2))
	}
	return strings.Join(parts, " ")
}

func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Inspect renders a value for humans the way Node's util.inspect does:
// strings quoted inside structures, objects as { key: value }, errors with
// their stacks, nesting cut at depth.
func Inspect(vm *goja.Runtime, v goja.Value, depth int) string {
	in := inspector{vm: vm, seen: map[*goja.Object]bool{}}
	return in.value(v, depth, true)
}

type inspector struct {
	vm   *goja.Runtime
	seen map[*goja.Object]bool
}

func (in *inspector) value(v goja.Value, depth int, top bool) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		switch x := v.Export().(type) {
		case string:
			if top {
				return x
			}
			return quote(x)
		case float64:
			return formatNumber(x)
		case int64:
			return strconv.FormatInt(x, 10)
		}
		if v.ExportType() != nil && v.ExportType().String() == "*big.Int" {
			return v.String() + "n"
		}
		return v.String()
	}
	if in.seen[obj] {
		return "[Circular *1]"
	}
	if fn, ok := goja.AssertFunction(obj); ok && fn != nil {
		name := obj.Get("name")
		kind := "Function"
		if src := obj.String(); strings.HasPrefix(src, "class") {
			kind = "class"
		}
		if name != nil && name.String() != "" {
			if kind == "class" {
				return "[class " + name.String() + "]"
			}
			return "[Function: " + name.String() + "]"
		}
		return "[Function (anonymous)]"
	}
	className := obj.ClassName()
	switch className {
	case "Error":
		if s := obj.Get("stack"); s != nil && !goja.IsUndefined(s) && s.String() != "" {
			return s.String()
		}
		return obj.String()
	case "Date":
		if iso, ok := goja.AssertFunction(obj.Get("toISOString")); ok {
			if r, err := iso(obj); err == nil {
				return r.String()
			}
		}
		return "Invalid Date"
	case "RegExp":
		return obj.String()
	case "String", "Number", "Boolean":
		if valueOf, ok := goja.AssertFunction(obj.Get("valueOf")); ok {
			if prim, err := valueOf(obj); err == nil {
				return "[" + className + ": " + in.value(prim, 0, false) + "]"
			}
		}
		return "[" + className + "]"
	}
	ctorName := constructorName(obj)
	if depth < 0 {
		if className == "Array" {
			return "[Array]"
		}
		if ctorName == "" || ctorName == "Object" {
			return "[Object]"
		}
		return "[" + ctorName + "]"
	}
	in.seen[obj] = true
	defer delete(in.seen, obj)

	switch {
	case className == "Array":
		n := obj.Get("length").ToInteger()
		items := make([]string, 0, n)
		for i := int64(0); i < n && i < 100; i++ {
			items = append(items, in.value(obj.Get(strconv.FormatInt(i, 10)), depth-1, false))
		}
		if n > 100 {
			items = append(items, fmt.Sprintf("... %d more items", n-100))
		}
		return bracket("[", items, "]")
	case ctorName == "Map" || ctorName == "Set":
		return in.collection(obj, ctorName, depth)
	case ctorName == "Promise":
		return "Promise { <pending> }"
	}
	if b, ok := BytesOf(in.vm, obj); ok && ctorName != "" {
		items := make([]string, 0, len(b))
		for i, x := range b {
			if i == 100 {
				items = append(items, fmt.Sprintf("... %d more items", len(b)-100))
				break
			}
			items = append(items, strconv.Itoa(int(x)))
		}
		if ctorName == "ArrayBuffer" {
			return fmt.Sprintf("ArrayBuffer { byteLength: %d }", len(b))
		}
		return fmt.Sprintf("%s(%d) %s", ctorName, len(b), bracket("[", items, "]"))
	}
	keys := obj.Keys()
	items := make([]string, 0, len(keys))
	for _, k := range keys {
		items = append(items, propertyKey(k)+": "+in.value(obj.Get(k), depth-1, false))
	}
	s := bracket("{", items, "}")
	if ctorName != "" && ctorName != "Object" {
		if len(items) == 0 {
			return ctorName + " {}"
		}
		return ctorName + " " + s
	}
	return s
}

func (in *inspector) collection(obj *goja.Object, kind string, depth int) string {
	var items []string
	forEach, ok := goja.AssertFunction(obj.Get("forEach"))
	if ok {
		_, _ = forEach(obj, in.vm.ToValue(func(call goja.FunctionCall) goja.Value {
			if kind == "Map" {
				items = append(items, in.value(call.Argument(1), depth-1, false)+" => "+in.value(call.Argument(0), depth-1, false))
			} else {
				items = append(items, in.value(call.Argument(0), depth-1, false))
			}
			return goja.Undefined()
		}))
	}
	return fmt.Sprintf("%s(%d) %s", kind, len(items), bracket("{", items, "}"))
}

func constructorName(obj *goja.Object) string {
	proto := obj.Prototype()
	if proto == nil {
		return "[Object: null prototype]"
	}
	ctor, ok := proto.Get("constructor").(*goja.Object)
	if !ok || ctor == nil {
		return ""
	}
	if n := ctor.Get("name"); n != nil {
		return n.String()
	}
	return ""
}

func bracket(open string, items []string, close string) string {
	if len(items) == 0 {
		return open + close
	}
	one := open + " " + strings.Join(items, ", ") + " " + close
	if len(one) <= 72 && !strings.Contains(one, "\n") {
		return one
	}
	return open + "\n  " + strings.ReplaceAll(strings.Join(items, ",\n"), "\n", "\n  ") + "\n" + close
}

func quote(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "\\", "\\\\"), "\n", "\\n") + "'"
	}
	return strconv.Quote(s)
}

func propertyKey(k string) string {
	if k == "" {
		return "''"
	}
	for i, r := range k {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return quote(k)
		}
	}
	return k
}
