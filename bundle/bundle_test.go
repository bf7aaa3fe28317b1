package bundle

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// project writes files (slash-separated paths relative to the project) into
// a temporary directory and returns it.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir()) // Inputs are real paths
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t *testing.T, dir, entry string) *Result {
	t.Helper()
	res, err := Build(context.Background(), Options{Entry: filepath.Join(dir, entry), ProjectDir: dir})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}

func buildErr(t *testing.T, dir, entry string) *BuildError {
	t.Helper()
	res, err := Build(context.Background(), Options{Entry: filepath.Join(dir, entry), ProjectDir: dir})
	if err == nil {
		t.Fatalf("Build succeeded, want an error; code:\n%s", res.Code)
	}
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("Build error is %T (%v), want *BuildError", err, err)
	}
	return be
}

// run compiles code as the engine does, with a minimal host object, runs it
// and returns the runtime and the bundle's exports object (nil for a script
// without exports).
func run(t *testing.T, code string) (*goja.Runtime, *goja.Object) {
	t.Helper()
	prg, err := goja.Compile(ScriptName, code, false)
	if err != nil {
		t.Fatalf("goja cannot compile the bundle: %v\n%s", err, code)
	}
	vm := goja.New()
	if _, err := vm.RunString(`
		class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
		class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
		class RpcTarget {}
		class WorkflowEntrypoint {}
		globalThis[Symbol.for("kiln.host")] = {
			DurableObject, WorkerEntrypoint, RpcTarget, WorkflowEntrypoint,
			env: { X: 1 }, waitUntil(p) {},
		};
	`); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.RunProgram(prg); err != nil {
		t.Fatalf("running the bundle: %v", err)
	}
	w := vm.Get(GlobalName)
	if w == nil || goja.IsUndefined(w) || goja.IsNull(w) {
		return vm, nil
	}
	return vm, w.ToObject(vm)
}

// call calls obj[method](args...) and, if it returns a promise, its result.
func call(t *testing.T, vm *goja.Runtime, obj *goja.Object, method string, args ...any) goja.Value {
	t.Helper()
	fn, ok := goja.AssertFunction(obj.Get(method))
	if !ok {
		t.Fatalf("%s is not a function", method)
	}
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = vm.ToValue(a)
	}
	v, err := fn(obj, vals...)
	if err != nil {
		t.Fatalf("%s threw: %v", method, err)
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return p.Result()
		case goja.PromiseStateRejected:
			t.Fatalf("%s rejected: %v", method, p.Result())
		default:
			t.Fatalf("%s: promise still pending", method)
		}
	}
	return v
}

func TestTypeScript(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
interface Env { GREETING: string }
type Handler = (req: Request, env: Env) => Promise<string>;
enum Kind { A = 1, B }
const greet: Handler = async (_req, env) => env.GREETING + " " + Kind.B;
export default {
	async fetch(req: Request, env: Env): Promise<string> {
		return greet(req, env);
	},
} satisfies { fetch: Handler };
`,
	})
	res := build(t, dir, "src/index.ts")
	if strings.Contains(res.Code, "interface") || strings.Contains(res.Code, "satisfies") {
		t.Errorf("types left in the output:\n%s", res.Code)
	}
	if !slices.Equal(res.Exports, []string{"default"}) {
		t.Errorf("Exports = %q, want [default]", res.Exports)
	}
	vm, w := run(t, res.Code)
	def := w.Get("default").ToObject(vm)
	got := call(t, vm, def, "fetch", nil, map[string]any{"GREETING": "hi"})
	if got.String() != "hi 2" {
		t.Errorf("fetch = %q, want %q", got, "hi 2")
	}
}

func TestModuleExports(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.js": `
export class Counter {
	constructor(state, env) { this.n = 0; }
	async fetch() { return String(++this.n); }
}
export const VERSION = "1";
export default { fetch(req, env) { return "ok " + env.X; } };
`,
	})
	res := build(t, dir, "src/index.js")
	if want := []string{"Counter", "VERSION", "default"}; !slices.Equal(res.Exports, want) {
		t.Errorf("Exports = %q, want %q", res.Exports, want)
	}
	vm, w := run(t, res.Code)
	def := w.Get("default").ToObject(vm)
	if got := call(t, vm, def, "fetch", nil, map[string]any{"X": 7}); got.String() != "ok 7" {
		t.Errorf("default.fetch = %q", got)
	}
	ctor, ok := goja.AssertConstructor(w.Get("Counter"))
	if !ok {
		t.Fatal("Counter is not a constructor")
	}
	obj, err := ctor(nil, vm.NewObject(), vm.NewObject())
	if err != nil {
		t.Fatal(err)
	}
	call(t, vm, obj, "fetch")
	if got := call(t, vm, obj, "fetch"); got.String() != "2" {
		t.Errorf("Counter.fetch twice = %q, want 2", got)
	}
}

func TestServiceWorker(t *testing.T) {
	dir := project(t, map[string]string{
		"worker.js": `
const greeting = "hello";
addEventListener("fetch", (event) => {
	event.respondWith(greeting + " " + event.request);
});
`,
	})
	res := build(t, dir, "worker.js")
	if len(res.Exports) != 0 {
		t.Errorf("Exports = %q, want none", res.Exports)
	}
	prg, err := goja.Compile(ScriptName, res.Code, false)
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	var handler goja.Callable
	vm.Set("addEventListener", func(typ string, fn goja.Callable) { handler = fn })
	if _, err := vm.RunProgram(prg); err != nil {
		t.Fatal(err)
	}
	if handler == nil {
		t.Fatal("the script did not register a fetch listener")
	}
	var got string
	ev := vm.NewObject()
	ev.Set("request", "/x")
	ev.Set("respondWith", func(s string) { got = s })
	if _, err := handler(nil, ev); err != nil {
		t.Fatal(err)
	}
	if got != "hello /x" {
		t.Errorf("respondWith(%q), want %q", got, "hello /x")
	}
}

func TestNPMDependency(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
import { which } from "dep";
import { other } from "legacy";
export default { fetch() { return which + "," + other; } };
`,
		"node_modules/dep/package.json": `{
	"name": "dep", "version": "1.0.0",
	"main": "./main.js", "module": "./module.js",
	"exports": {
		".": {
			"node": "./node.js",
			"workerd": "./workerd.js",
			"browser": "./browser.js",
			"import": "./module.js",
			"default": "./main.js"
		}
	}
}`,
		"node_modules/dep/workerd.js": `export const which = "workerd";`,
		"node_modules/dep/browser.js": `export const which = "browser";`,
		"node_modules/dep/node.js":    `export const which = "node";`,
		"node_modules/dep/module.js":  `export const which = "module";`,
		"node_modules/dep/main.js":    `exports.which = "main";`,
		// no "exports" map: main fields decide, "browser" first as in wrangler
		"node_modules/legacy/package.json": `{"name": "legacy", "main": "./main.js", "module": "./module.js", "browser": "./browser.js"}`,
		"node_modules/legacy/browser.js":   `export const other = "legacy-browser";`,
		"node_modules/legacy/module.js":    `export const other = "legacy-module";`,
		"node_modules/legacy/main.js":      `exports.other = "legacy-main";`,
	})
	res := build(t, dir, "src/index.ts")
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "workerd,legacy-browser" {
		t.Errorf("fetch = %q, want the workerd condition and the browser main field", got)
	}
	want := []string{
		filepath.Join(dir, "node_modules/dep/workerd.js"),
		filepath.Join(dir, "node_modules/legacy/browser.js"),
		filepath.Join(dir, "src/index.ts"),
	}
	if !slices.Equal(res.Inputs, want) {
		t.Errorf("Inputs = %q, want %q", res.Inputs, want)
	}
}

// A package's "browser" map may stub out Node.js modules; wrangler bundles
// for the browser platform, so such packages work there and must here.
func TestBrowserFieldMap(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `import { f } from "uses-fs"; export default { fetch() { return f(); } };`,
		"node_modules/uses-fs/package.json": `{"name": "uses-fs", "main": "./index.js",
			"browser": {"fs": false, "./impl-node.js": "./impl-web.js"}}`,
		"node_modules/uses-fs/index.js": `
const fs = require("fs");
const impl = require("./impl-node.js");
exports.f = () => impl.name + ":" + (Object.keys(fs).length === 0 ? "no-fs" : "fs");
`,
		"node_modules/uses-fs/impl-node.js": `exports.name = "node";`,
		"node_modules/uses-fs/impl-web.js":  `exports.name = "web";`,
	})
	res := build(t, dir, "index.js")
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "web:no-fs" {
		t.Errorf("fetch = %q, want web:no-fs", got)
	}
}

func TestCloudflareWorkers(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
import { DurableObject, WorkerEntrypoint, env, waitUntil } from "cloudflare:workers";
export class Counter extends DurableObject {
	hello() { return "env.X=" + env.X + " own=" + (this.env as any).Y; }
}
export class Api extends WorkerEntrypoint {}
export default { fetch() { return typeof waitUntil; } };
`,
	})
	res := build(t, dir, "src/index.ts")
	if !strings.Contains(res.Code, `Symbol.for("kiln.host")`) {
		t.Errorf("the bundle does not read the host object:\n%s", res.Code)
	}
	if want := []string{"Api", "Counter", "default"}; !slices.Equal(res.Exports, want) {
		t.Errorf("Exports = %q, want %q", res.Exports, want)
	}
	vm, w := run(t, res.Code)
	ctor, _ := goja.AssertConstructor(w.Get("Counter"))
	obj, err := ctor(nil, vm.NewObject(), vm.ToValue(map[string]any{"Y": 2}))
	if err != nil {
		t.Fatal(err)
	}
	if got := call(t, vm, obj, "hello"); got.String() != "env.X=1 own=2" {
		t.Errorf("hello = %q", got)
	}
	// instanceof works against the host's own class
	host := vm.Get("globalThis").ToObject(vm)
	vm.Set("obj", obj)
	isDO, err := vm.RunString(`obj instanceof globalThis[Symbol.for("kiln.host")].DurableObject`)
	if err != nil || !isDO.ToBoolean() {
		t.Errorf("instance is not an instanceof the host DurableObject (%v)", err)
	}
	_ = host
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "function" {
		t.Errorf("typeof waitUntil = %q", got)
	}
}

func TestCloudflareWorkersNeedsHost(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `import { env } from "cloudflare:workers"; export default { fetch() { return env; } };`,
	})
	res := build(t, dir, "index.js")
	prg, err := goja.Compile(ScriptName, res.Code, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = goja.New().RunProgram(prg)
	if err == nil || !strings.Contains(err.Error(), `Symbol.for("kiln.host")`) {
		t.Errorf("running without a host object: err = %v, want a message naming the host object", err)
	}
}

func TestSyntaxError(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": "export default {\n  fetch() {\n    return 1 +;\n  },\n};\n",
	})
	be := buildErr(t, dir, "src/index.ts")
	for _, want := range []string{
		"[ERROR] Unexpected \";\"",
		"src/index.ts:3:14:",
		"3 │     return 1 +;",
		"╵               ^",
	} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%s", want, be.Error())
		}
	}
	if len(be.Messages) != 1 || be.Messages[0].Location == nil || be.Messages[0].Location.Line != 3 {
		t.Errorf("Messages = %+v", be.Messages)
	}
	if want := []string{filepath.Join(dir, "src/index.ts")}; !slices.Equal(be.Inputs, want) {
		t.Errorf("Inputs = %q, want %q (to watch while broken)", be.Inputs, want)
	}
}

func TestMissingEntry(t *testing.T) {
	dir := project(t, map[string]string{})
	be := buildErr(t, dir, "src/index.ts")
	if !strings.Contains(be.Error(), "Could not resolve") {
		t.Errorf("error = %s", be)
	}
	if want := []string{filepath.Join(dir, "src/index.ts")}; !slices.Equal(be.Inputs, want) {
		t.Errorf("Inputs = %q, want %q", be.Inputs, want)
	}
}

func TestOtherCloudflareModule(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `import { connect } from "cloudflare:sockets";
export default { fetch() { return connect("x:1"); } };`,
	})
	be := buildErr(t, dir, "index.js")
	for _, want := range []string{`kiln does not provide the module "cloudflare:sockets"`, "index.js:1:24:"} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%s", want, be.Error())
		}
	}
}

func TestNodeBuiltins(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `import fs from "node:fs";
import { EventEmitter } from "events";
export default { fetch() { return [fs, EventEmitter]; } };`,
	})
	be := buildErr(t, dir, "index.js")
	for _, want := range []string{
		`Could not resolve "node:fs": kiln does not provide the Node.js built-in module "node:fs"`,
		`Could not resolve "events": kiln does not provide the Node.js built-in module "events"`,
		`If you meant the npm package "events", install it.`,
		"index.js:1:15:",
	} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%s", want, be.Error())
		}
	}
	if strings.Contains(be.Error(), "platform") {
		t.Errorf("error still suggests esbuild's platform option:\n%s", be.Error())
	}

	// A dependency that only tries a built-in inside try/catch bundles, and one
	// that is never imported does not matter.
	dir = project(t, map[string]string{
		"index.js":                             `import { hash } from "maybe-node"; export default { fetch() { return hash(); } };`,
		"node_modules/maybe-node/package.json": `{"name": "maybe-node", "main": "index.js"}`,
		"node_modules/maybe-node/index.js": `
let crypto;
try { crypto = require("node:crypto"); } catch { crypto = null; }
exports.hash = () => crypto ? "node" : "web";
`,
		"node_modules/maybe-node/unused.js": `import "node:fs";`,
	})
	res := build(t, dir, "index.js")
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "web" {
		t.Errorf("fetch = %q, want web", got)
	}
}

func TestLowering(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
async function* numbers(n: number) {
	for (let i = 1; i <= n; i++) { await null; yield i; }
}
class Store {
	set = (k: string, v: number) => { this.data[k] = v; };
	get = (k: string) => this.data[k];
	async = true;
	static get = "static";
	data: Record<string, number> = {};
}
export default {
	async fetch(): Promise<string> {
		let sum = 0;
		for await (const x of numbers(4)) sum += x;
		const s = new Store();
		s.set("a", sum);
		return s.get("a") + " " + Store.get + " " + s.async;
	},
};
`,
	})
	res := build(t, dir, "src/index.ts")
	for _, bad := range []string{"async function*", "async *", "for await", "set = ", "get = "} {
		if strings.Contains(res.Code, bad) {
			t.Errorf("output still contains %q", bad)
		}
	}
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "10 static true" {
		t.Errorf("fetch = %q, want %q", got, "10 static true")
	}
}

func TestTopLevelAwait(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": "const config = await Promise.resolve(1);\nexport default { fetch() { return config; } };\n",
	})
	be := buildErr(t, dir, "src/index.ts")
	for _, want := range []string{"Top-level await", "src/index.ts:1:15:"} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%s", want, be.Error())
		}
	}
}

func TestSourceMap(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `import { fail } from "./fail";
interface Env { X: number }

export default {
	async fetch(req: unknown, env: Env): Promise<string> {
		return fail(env.X);
	},
};
`,
		"src/fail.ts": `export function fail(x: number): string {
	if (x > 0) {
		throw new Error("boom " + x);
	}
	return "no";
}
`,
	})
	res := build(t, dir, "src/index.ts")
	const prefix = "//# sourceMappingURL=data:application/json;base64,"
	i := strings.LastIndex(res.Code, prefix)
	if i < 0 {
		t.Fatal("no inline source map")
	}
	if rest := strings.TrimRight(res.Code[i:], "\n"); strings.Contains(rest, "\n") {
		t.Error("the source map comment is not the last line (goja only reads it there)")
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(res.Code[i+len(prefix):]))
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		Sources        []string `json:"sources"`
		SourcesContent []string `json:"sourcesContent"`
	}
	if err := json.Unmarshal(data, &sm); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sm.Sources, "src/index.ts") || !slices.Contains(sm.Sources, "src/fail.ts") {
		t.Errorf("sources = %q, want src/index.ts and src/fail.ts", sm.Sources)
	}
	if len(sm.SourcesContent) != len(sm.Sources) || !strings.Contains(strings.Join(sm.SourcesContent, ""), "interface Env") {
		t.Error("sourcesContent does not hold the original TypeScript")
	}

	vm, w := run(t, res.Code)
	def := w.Get("default").ToObject(vm)
	fetch, _ := goja.AssertFunction(def.Get("fetch"))
	v, err := fetch(def, goja.Undefined(), vm.ToValue(map[string]any{"X": 1}))
	if err != nil {
		t.Fatal(err)
	}
	p := v.Export().(*goja.Promise)
	if p.State() != goja.PromiseStateRejected {
		t.Fatalf("fetch did not reject: %v", p.Result())
	}
	stack := p.Result().ToObject(vm).Get("stack").String()
	for _, re := range []string{`at fail \(src/fail\.ts:3:\d+`, `at fetch \(src/index\.ts:6:\d+`} {
		if !regexp.MustCompile(re).MatchString(stack) {
			t.Errorf("stack does not match %s:\n%s", re, stack)
		}
	}
}

func TestInputs(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts":                  `import page from "./page.html"; import { v } from "dep"; export default { fetch() { return page + v; } };`,
		"src/page.html":                 `<h1>hi</h1>`,
		"src/unused.ts":                 `export const nobody = 1;`,
		"node_modules/dep/package.json": `{"name": "dep", "module": "index.js"}`,
		"node_modules/dep/index.js":     `export const v = "!";`,
	})
	res := build(t, dir, "src/index.ts")
	want := []string{
		filepath.Join(dir, "node_modules/dep/index.js"),
		filepath.Join(dir, "src/index.ts"),
		filepath.Join(dir, "src/page.html"),
	}
	if !slices.Equal(res.Inputs, want) {
		t.Errorf("Inputs = %q, want %q", res.Inputs, want)
	}
}

func TestModuleRules(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `
import text from "./a.txt";
import html from "./b.html";
import sql from "./c.sql";
import bin from "./d.bin";
import wasm from "./e.wasm";
import data from "./f.json";
export default { fetch() {
	return [text, html, sql, bin.constructor.name + ":" + Array.from(bin).join("."), wasm.length, data.k].join("|");
} };`,
		"a.txt":  "text",
		"b.html": "<p>html</p>",
		"c.sql":  "SELECT 1",
		"d.bin":  "\x01\x02\xff",
		"e.wasm": "\x00asm\x01\x00\x00\x00",
		"f.json": `{"k": "json"}`,
	})
	res := build(t, dir, "index.js")
	vm, w := run(t, res.Code)
	got := call(t, vm, w.Get("default").ToObject(vm), "fetch").String()
	if want := "text|<p>html</p>|SELECT 1|Uint8Array:1.2.255|8|json"; got != want {
		t.Errorf("fetch = %q, want %q", got, want)
	}
}

func TestJSXInJS(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `
const React = { createElement: (tag, props, ...children) => "<" + tag + ">" + children.join("") + "</" + tag + ">" };
export default { fetch() { return <p>hi</p>; } };`,
	})
	res := build(t, dir, "index.js")
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "<p>hi</p>" {
		t.Errorf("fetch = %q", got)
	}
}

func TestFileTooLarge(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": `import { big } from "./big.js"; export default { fetch() { return big; } };`,
		"big.js":   `export const big = "` + strings.Repeat("x", 2000) + `";`,
	})
	_, err := Build(context.Background(), Options{Entry: filepath.Join(dir, "index.js"), MaxFileSize: 1000})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BuildError", err)
	}
	for _, want := range []string{"big.js is too large to bundle: 2.0 KiB, the limit for one source file is 1000 bytes", "index.js:1:20:"} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%s", want, be.Error())
		}
	}
}

func TestFileTooDeep(t *testing.T) {
	// 2 million levels: esbuild would die of a fatal stack overflow.
	const n = 2_000_000
	deep := "export const x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + ";\n"
	dir := project(t, map[string]string{
		"src/index.js": "import { x } from \"./deep.js\";\nexport default { fetch() { return x; } };\n",
		"src/deep.js":  "// generated\n" + deep,
	})
	be := buildErr(t, dir, "src/index.js")
	for _, want := range []string{
		"src/deep.js is nested more than 1000 levels deep",
		"stack overflow",
		"src/deep.js:2:",
	} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("error does not contain %q:\n%.2000s", want, be.Error())
		}
	}
	if len(be.Error()) > 4000 {
		t.Errorf("error is %d bytes long; the source line should be cut", len(be.Error()))
	}
}

func TestJSXTooDeep(t *testing.T) {
	// 1 million nested elements (7 MB) would kill esbuild too.
	const n = 1_000_000
	dir := project(t, map[string]string{
		"src/index.jsx": "const React = { createElement() {} };\nexport default { fetch() { return " +
			strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "; } };\n",
	})
	be := buildErr(t, dir, "src/index.jsx")
	if !strings.Contains(be.Error(), "src/index.jsx is nested more than 1000 levels deep") {
		t.Errorf("error = %.1000s", be.Error())
	}
}

func TestWarnings(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": "const o = { a: 1, a: 2 };\nexport default { fetch() { return o.a + String(import.meta.url); } };\n",
	})
	res := build(t, dir, "index.js")
	if len(res.Warnings) != 2 ||
		!strings.Contains(res.Warnings[0], `[WARNING] Duplicate key "a"`) || !strings.Contains(res.Warnings[0], "index.js:1:18:") ||
		!strings.Contains(res.Warnings[1], `"import.meta" is not available`) || !strings.Contains(res.Warnings[1], "index.js:2:47:") {
		t.Errorf("Warnings = %q", res.Warnings)
	}
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "2undefined" {
		t.Errorf("fetch = %q", got)
	}
}

// A CommonJS entry's module.exports is its default export, as when wrangler
// bundles it as an ES module.
func TestCommonJSEntry(t *testing.T) {
	dir := project(t, map[string]string{
		"index.js": "const { v } = require(\"./lib.cjs\");\nmodule.exports = { fetch() { return v; } };\n",
		"lib.cjs":  "exports.v = 'cjs';\n",
	})
	res := build(t, dir, "index.js")
	if !slices.Equal(res.Exports, []string{"default"}) {
		t.Errorf("Exports = %q, want [default]", res.Exports)
	}
	vm, w := run(t, res.Code)
	if got := call(t, vm, w.Get("default").ToObject(vm), "fetch"); got.String() != "cjs" {
		t.Errorf("fetch = %q", got)
	}
}

func TestDefineAndMinify(t *testing.T) {
	dir := project(t, map[string]string{
		"index.ts": `
declare const BUILD: string;
export class LongClassName { method() { return BUILD; } }
export default { fetch() { return new LongClassName().method() + (process.env.NODE_ENV); } };
`,
	})
	entry := filepath.Join(dir, "index.ts")
	plain, err := Build(context.Background(), Options{Entry: entry, Define: map[string]string{"BUILD": `"v1"`}})
	if err != nil {
		t.Fatal(err)
	}
	min, err := Build(context.Background(), Options{Entry: entry, Define: map[string]string{"BUILD": `"v1"`}, Minify: true})
	if err != nil {
		t.Fatal(err)
	}
	codeOnly := func(s string) string { return s[:strings.LastIndex(s, "//# sourceMappingURL=")] }
	if len(codeOnly(min.Code)) >= len(codeOnly(plain.Code)) {
		t.Errorf("minified code (%d bytes) is not smaller than plain (%d bytes)", len(codeOnly(min.Code)), len(codeOnly(plain.Code)))
	}
	for _, res := range []*Result{plain, min} {
		if !slices.Equal(res.Exports, []string{"LongClassName", "default"}) {
			t.Errorf("Exports = %q", res.Exports)
		}
		vm, w := run(t, res.Code)
		got := call(t, vm, w.Get("default").ToObject(vm), "fetch").String()
		if got != "v1development" && got != "v1production" {
			t.Errorf("fetch = %q", got)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	if _, err := Build(context.Background(), Options{Entry: "src/index.ts"}); err == nil {
		t.Error("a relative entry was accepted")
	}
	dir := project(t, map[string]string{"index.js": "export default {};"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, Options{Entry: filepath.Join(dir, "index.js")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// The bundle itself passes the guard the engine applies to uploaded scripts.
func TestOutputPassesNestingGuard(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
import { DurableObject } from "cloudflare:workers";
export class C extends DurableObject { async *g() { yield* [1, 2]; } x = { a: [1, { b: [2] }] }; }
export default { async fetch() { for await (const v of new C().g()) {} return "ok"; } };
`,
	})
	res := build(t, dir, "src/index.ts")
	if err := CheckNesting(res.Code, 0); err != nil {
		t.Error(err)
	}
}

// benchProject writes a TypeScript project of n modules (about 2 KB each)
// importing each other, plus a Durable Object class.
func benchProject(b *testing.B, n int) string {
	files := map[string]string{}
	var index strings.Builder
	index.WriteString("import { DurableObject } from \"cloudflare:workers\";\n")
	for i := range n {
		var m strings.Builder
		fmt.Fprintf(&m, "export interface Item%d { id: number; name: string; tags: string[] }\n", i)
		fmt.Fprintf(&m, "export class Service%d {\n\tprivate items = new Map<number, Item%d>();\n", i, i)
		for j := range 8 {
			fmt.Fprintf(&m, "\tasync op%d(id: number, name = \"x%d\"): Promise<Item%d | undefined> {\n", j, j, i)
			fmt.Fprintf(&m, "\t\tconst item = this.items.get(id) ?? { id, name, tags: [name, `${id}`] };\n")
			fmt.Fprintf(&m, "\t\tthis.items.set(id, item);\n\t\treturn item.tags.length > %d ? undefined : item;\n\t}\n", j)
		}
		m.WriteString("}\n")
		files[fmt.Sprintf("src/mod%d.ts", i)] = m.String()
		fmt.Fprintf(&index, "import { Service%d } from \"./mod%d\";\n", i, i)
	}
	index.WriteString("export class Counter extends DurableObject { n = 0; async fetch() { return ++this.n; } }\n")
	index.WriteString("export default { async fetch(req: Request): Promise<number> {\n\tlet total = 0;\n")
	for i := range n {
		fmt.Fprintf(&index, "\ttotal += (await new Service%d().op1(%d))?.id ?? 0;\n", i, i)
	}
	index.WriteString("\treturn total;\n} };\n")
	files["src/index.ts"] = index.String()
	dir := b.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func BenchmarkBuild(b *testing.B) {
	dir := benchProject(b, 25)
	opts := Options{Entry: filepath.Join(dir, "src/index.ts"), ProjectDir: dir}
	var size, in int
	for b.Loop() {
		res, err := Build(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		size = len(res.Code)
		in = len(res.Inputs)
	}
	b.ReportMetric(float64(size), "bytes/bundle")
	b.ReportMetric(float64(in), "inputs")
}

// TestBuildModule bundles for another runtime: one ES module, TypeScript
// and npm packages resolved with the workerd condition, `cloudflare:*`
// imports left in place, and the same errors as Build.
func TestBuildModule(t *testing.T) {
	dir := project(t, map[string]string{
		"src/index.ts": `
import { DurableObject } from "cloudflare:workers";
import { greet } from "lib";
export class Counter extends DurableObject {}
export default { fetch(): Response { return new Response(greet("kiln") as string); } };
`,
		"node_modules/lib/package.json": `{"name": "lib", "exports": {"workerd": "./workerd.js", "default": "./node.js"}}`,
		"node_modules/lib/workerd.js":   `export const greet = (n) => "hello from workerd, " + n;`,
		"node_modules/lib/node.js":      `export const greet = (n) => "hello from node, " + n;`,
	})
	code, err := BuildModule(context.Background(), Options{Entry: filepath.Join(dir, "src/index.ts"), ProjectDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	text := string(code)
	for _, want := range []string{`from "cloudflare:workers"`, "hello from workerd", "export {", "Counter", "as default"} {
		if !strings.Contains(text, want) {
			t.Errorf("module lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"hello from node", "as string", "kiln.host", "sourceMappingURL"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("module contains %q:\n%s", unwanted, text)
		}
	}

	bad := project(t, map[string]string{"index.js": "export default {"})
	_, err = BuildModule(context.Background(), Options{Entry: filepath.Join(bad, "index.js"), ProjectDir: bad})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Text, "index.js:1:") {
		t.Fatalf("syntax error: %v", err)
	}
}
