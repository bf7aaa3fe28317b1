package bundle

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNestingRejects(t *testing.T) {
	const n = 5000 // past every limit, far below what crashes
	tests := map[string]string{
		"brackets":       "var a = " + strings.Repeat("[", n) + strings.Repeat("]", n) + ";",
		"parens":         "var a = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + ";",
		"braces":         "var a = " + strings.Repeat("{a:", n) + "1" + strings.Repeat("}", n) + ";",
		"functions":      strings.Repeat("function f(){", n) + strings.Repeat("}", n),
		"templates":      "var a = " + strings.Repeat("`${", n) + "1" + strings.Repeat("}`", n) + ";",
		"not":            "var a = " + strings.Repeat("!", n) + "1;",
		"negation":       "var a = " + strings.Repeat("- ", n) + "1;",
		"typeof":         "var a = " + strings.Repeat("typeof ", n) + "1;",
		"new":            "var a = " + strings.Repeat("new ", n) + "A;",
		"assignments":    "var a; a" + strings.Repeat(" = a", n) + ";",
		"conditionals":   "var a; a" + strings.Repeat(" ? 1 : a", n) + ";",
		"conditionals2":  "var a; a" + strings.Repeat(" ? a\n : a", n) + ";",
		"if":             "var a; " + strings.Repeat("if (a) ", n) + "a;",
		"else if":        "var a; if (a) {}" + strings.Repeat(" else if (a) {}", n),
		"else if ;":      "var a; if (a) a;" + strings.Repeat(" else if (a) a;", n),
		"labels":         strings.Repeat("a: ", n) + "a;",
		"arrows":         "var a = " + strings.Repeat("a => ", 150) + "1;",
		"paren arrows":   "var a = " + strings.Repeat("(a) => ", 150) + "1;",
		"arrow ternary":  "var a = a" + strings.Repeat(" ? () => {} : a", n) + ";",
		"member chain":   "var a = b" + strings.Repeat(".c", n) + ";",
		"call chain":     "var a = b" + strings.Repeat("()", n) + ";",
		"fluent chain":   "app" + strings.Repeat(".get('/', (c) => c.text('x'))\n", n) + ";",
		"object pattern": "var x = {a}" + strings.Repeat(" = {a}", n) + ";",
		"json":           strings.Repeat(`{"a":[`, n) + strings.Repeat("]}", n),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckNesting(src, 1000)
			var ne *NestingError
			if !errors.As(err, &ne) {
				t.Fatalf("CheckNesting = %v, want a *NestingError", err)
			}
			if ne.Line < 1 || !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not say where", err)
			}
		})
	}
}

func TestCheckNestingAccepts(t *testing.T) {
	tests := map[string]string{
		"brackets in strings":   `var s = "` + strings.Repeat("[", 5000) + `", t = '` + strings.Repeat("(", 5000) + `';`,
		"brackets in comments":  "// " + strings.Repeat("{", 5000) + "\n/* " + strings.Repeat("[", 5000) + " */\nvar a = 1;",
		"brackets in templates": "var s = `" + strings.Repeat("{[(", 2000) + "${a}" + strings.Repeat("(", 2000) + "`;",
		"brackets in regexps": "var r = /" + strings.Repeat("\\(", 2000) + "/g, q = /[(]/, z = a / b / c;\n" +
			strings.Repeat("x = s.replace(/[([{]/g, '');\n", 2000),
		"many statements": strings.Repeat("a = b ? c : d;\n", 5000),
		"ASI statements":  strings.Repeat("a = b ? !c : -d\n", 5000),
		"sequential ifs":  "function f(a) {\n" + strings.Repeat("  if (a) { g() }\n", 5000) + "}",
		"minified ifs":    "function f(a){" + strings.Repeat("if(a){g()}", 5000) + "}",
		"long else if":    "if (a) {}" + strings.Repeat(" else if (a) { b = 1 }", 900),
		"switch": "switch (a) {\n" + strings.Repeat("case 1: case 2:\n", 2000) +
			strings.Repeat("case 3: a = 1; break;\n", 2000) + "default: a = 2 }",
		"object literal":  "var o = {\n" + strings.Repeat("  a: b ? c : d,\n", 5000) + "};",
		"array of arrows": "var a = [\n" + strings.Repeat("  (x) => x + 1,\n", 5000) + "];",
		"class members":   "class A {\n" + strings.Repeat("  a = () => 1;\n  m() { return this.a(); }\n", 2000) + "}",
		"fluent chain":    "app" + strings.Repeat(".get('/', (c) => c.text('x'))\n", 1000) + ";",
		"deep but fine":   "var a = " + strings.Repeat("[", 900) + strings.Repeat("]", 900) + ";",
		"unbalanced":      strings.Repeat(")]}", 5000),
		"typescript": `
interface A { a?: string; b: number }
export function f(a: string, b: Array<Array<number>>): Promise<void> {
	return new Promise<void>((resolve) => { resolve(); });
}
` + strings.Repeat("let x: number = 1\n", 3000),
		"jsx":      "const App = () => (\n" + strings.Repeat("  <div className=\"x\">Don't {a ? <b/> : <i>no</i>} stop</div>\n", 3000) + ");",
		"hashbang": "#!/usr/bin/env node\nvar a = 1;",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if err := CheckNesting(src, 1000); err != nil {
				t.Errorf("CheckNesting: %v", err)
			}
		})
	}
}

func TestCheckNestingJSX(t *testing.T) {
	const n = 5000
	rejects := map[string]string{
		"elements":              "let x = " + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + ";",
		"fragments":             "let x = " + strings.Repeat("<>", n) + strings.Repeat("</>", n) + ";",
		"attribute expressions": "let x = <a b={" + strings.Repeat("[", n) + strings.Repeat("]", n) + "} />;",
		// JSX attribute strings have no escapes: the "\" does not hide the rest
		"string without escapes": `let x = <a b="\">{` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}</a>;",
	}
	for name, src := range rejects {
		t.Run(name, func(t *testing.T) {
			var ne *NestingError
			if err := checkNesting(src, 1000, true); !errors.As(err, &ne) {
				t.Errorf("checkNesting = %v, want a *NestingError", err)
			}
		})
	}
	accepts := map[string]string{
		"text with quotes and brackets": "const App = () => (\n  <main>\n" +
			strings.Repeat("    <div className=\"x\" id='y' hidden>Don't (stop) {a ? <b/> : <i>no</i>} it's [here]</div>\n", 3000) +
			"  </main>\n);",
		"many attributes":    "const A = () => <div\n" + strings.Repeat("  a=\"1\" b={2} c\n", 3000) + "/>;",
		"tsx generic arrows": strings.Repeat("const f = <T,>(x: T) => x;\nconst g = <T extends object>(x: T) => x;\n", 2000),
		"comparisons":        strings.Repeat("if (a < b && c > d) { e = f << 2 }\n", 3000),
	}
	for name, src := range accepts {
		t.Run(name, func(t *testing.T) {
			if err := checkNesting(src, 1000, true); err != nil {
				t.Errorf("checkNesting: %v", err)
			}
		})
	}
}

func TestCheckNestingLocation(t *testing.T) {
	src := "var ok = [[1]];\nvar bad = " + strings.Repeat("[", 20) + strings.Repeat("]", 20) + ";\n"
	err := CheckNesting(src, 10)
	var ne *NestingError
	if !errors.As(err, &ne) {
		t.Fatalf("CheckNesting = %v", err)
	}
	// the 11th "[" passes 10 ("var x =" charges nothing: it starts a statement)
	if ne.Line != 2 || ne.Column != 20 || ne.Max != 10 || ne.LineText != strings.Split(src, "\n")[1] {
		t.Errorf("NestingError = %d:%d max %d %q", ne.Line, ne.Column, ne.Max, ne.LineText)
	}
	if err := CheckNesting(src, 0); err != nil {
		t.Errorf("default limit: %v", err)
	}
}

func BenchmarkCheckNesting(b *testing.B) {
	src := strings.Repeat(`export function handler(req, env) {
	const url = new URL(req.url); // a comment (with brackets
	if (url.pathname === "/a") { return new Response(JSON.stringify({ a: [1, 2, 3] })); }
	return fetch(req).then((r) => r.text()).then((t) => t.replace(/[(]/g, "")) + `+"`x${1}`"+`;
}
`, 2000)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := CheckNesting(src, 0); err != nil {
			b.Fatal(err)
		}
	}
}
