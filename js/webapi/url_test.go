package webapi

import (
	"strings"
	"testing"
)

// urlCase is one script whose completion value, as a string, must be want.
type urlCase struct {
	name, src, want string
}

func runURLCases(t *testing.T, cases []urlCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm := newTestRuntime(t)
			if got := evalString(t, vm, tc.src); got != tc.want {
				t.Errorf("%s\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestURLConstructor(t *testing.T) {
	runURLCases(t, []urlCase{
		{"resolve dot-dot", `new URL("../d?q", "https://x.test/a/b/c").href`, "https://x.test/a/d?q"},
		{"resolve absolute path", `new URL("/p?x#y", "https://x.test/a/b").href`, "https://x.test/p?x#y"},
		{"resolve scheme-relative", `new URL("//o.test", "https://x.test/a").href`, "https://o.test/"},
		{"base is a URL", `new URL("d", new URL("https://x.test/a/b")).href`, "https://x.test/a/d"},
		{"undefined base", `new URL("https://x.test/", undefined).href`, "https://x.test/"},
		{"components", `const u = new URL("https://user:pw@EXAMPLE.com:8443/p/a?q=1#frag");
			[u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin].join("|")`,
			"https:|user|pw|example.com:8443|example.com|8443|/p/a|?q=1|#frag|https://example.com:8443"},
		{"default port", `new URL("http://h:80/").port`, ""},
		{"IPv4", `new URL("http://0x7f.1/").hostname`, "127.0.0.1"},
		{"IPv6", `new URL("http://[0:0:0:0:0:0:0:1]:8080").host`, "[::1]:8080"},
		{"IDNA", `new URL("https://bücher.example/").hostname`, "xn--bcher-kva.example"},
		{"opaque", `const u = new URL("mailto:a@b.test"); [u.pathname, u.host, u.origin].join("|")`, "a@b.test||null"},
		{"String", `String(new URL("https://x.test/a b"))`, "https://x.test/a%20b"},
		{"template", "`${new URL('https://x.test')}`", "https://x.test/"},
		{"toJSON", `JSON.stringify({u: new URL("https://x.test/?a=1")})`, `{"u":"https://x.test/?a=1"}`},
		{"toString", `new URL("https://x.test").toString()`, "https://x.test/"},
		{"lone surrogate", `new URL("https://x.test/\uD800?\uDBFF#\uDC00").href`, "https://x.test/%EF%BF%BD?%EF%BF%BD#%EF%BF%BD"},
		{"astral", `new URL("https://x.test/\u{1F600}").pathname`, "/%F0%9F%98%80"},
		{"instanceof", `const u = new URL("https://x.test"); [u instanceof URL, u.searchParams instanceof URLSearchParams, Object.prototype.toString.call(u)].join()`,
			"true,true,[object URL]"},
		{"subclass", `class MyURL extends URL { extra() { return this.host } }; const m = new MyURL("https://x.test:1/"); [m instanceof URL, m.extra()].join()`, "true,x.test:1"},
		{"argument object stringified", `new URL({toString() { return "https://o.test/p" }}).pathname`, "/p"},
	})
}

func TestURLErrors(t *testing.T) {
	runURLCases(t, []urlCase{
		{"invalid", `try { new URL("http://exa mple.com"); "no error" } catch (e) { e instanceof TypeError && e.message }`, "Invalid URL string."},
		{"relative without base", `try { new URL("/p"); "no error" } catch (e) { e.constructor.name + ": " + e.message }`, "TypeError: Invalid URL string."},
		{"invalid base", `try { new URL("p", "nope"); "no error" } catch (e) { e.message }`, "Invalid URL string."},
		{"port out of range", `try { new URL("https://a:99999"); "no error" } catch (e) { e.message }`, "Invalid URL string."},
		{"no argument", `try { new URL(); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"call without new", `try { URL("https://x.test"); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"href setter", `const u = new URL("https://x.test/"); try { u.href = "nope"; "no error" } catch (e) { (e instanceof TypeError) + "|" + u.href }`, "true|https://x.test/"},
		{"illegal invocation", `try { Object.getOwnPropertyDescriptor(URL.prototype, "href").get.call({}); "no error" } catch (e) { e.message }`, IllegalInvocation},
	})
}

func TestURLStatics(t *testing.T) {
	runURLCases(t, []urlCase{
		{"canParse", `[URL.canParse("https://x.test"), URL.canParse("nope"), URL.canParse("p", "https://x.test"), URL.canParse("p", "nope")].join()`, "true,false,true,false"},
		{"parse", `const u = URL.parse("../d", "https://x.test/a/b/c"); [u instanceof URL, u.href, URL.parse("http://[::1")].join()`, "true,https://x.test/a/d,"},
		{"parse null", `URL.parse("nope") === null`, "true"},
		{"canParse length", `URL.canParse.length + "," + URL.parse.length`, "1,1"},
	})
}

func TestURLSetters(t *testing.T) {
	runURLCases(t, []urlCase{
		{"protocol", `const u = new URL("https://x.test/"); u.protocol = "http"; u.href`, "http://x.test/"},
		{"protocol special to non-special ignored", `const u = new URL("https://x.test/"); u.protocol = "foo"; u.href`, "https://x.test/"},
		{"username password", `const u = new URL("https://x.test/"); u.username = "a b"; u.password = "p@ss"; u.href`, "https://a%20b:p%40ss@x.test/"},
		{"host", `const u = new URL("https://x.test:1/p"); u.host = "y.test:2"; u.href`, "https://y.test:2/p"},
		{"hostname", `const u = new URL("https://x.test:1/p"); u.hostname = "Y.test"; u.href`, "https://y.test:1/p"},
		{"port", `const u = new URL("https://x.test/"); u.port = "8080abc"; const a = u.href; u.port = "443"; a + "|" + u.href`, "https://x.test:8080/|https://x.test/"},
		{"port number", `const u = new URL("https://x.test/"); u.port = 81; u.port`, "81"},
		{"pathname", `const u = new URL("https://x.test/a"); u.pathname = "b c/../d"; u.href`, "https://x.test/d"},
		{"search", `const u = new URL("https://x.test/"); u.search = "a=1 2"; u.href`, "https://x.test/?a=1%202"},
		{"hash", `const u = new URL("https://x.test/"); u.hash = "top"; const a = u.href; u.hash = ""; a + "|" + u.href`, "https://x.test/#top|https://x.test/"},
		{"href", `const u = new URL("https://x.test/"); u.href = "http://y.test/z"; u.host + u.pathname`, "y.test/z"},
		{"property descriptors", `const d = Object.getOwnPropertyDescriptor(URL.prototype, "search"); [typeof d.get, typeof d.set, d.enumerable, d.configurable, typeof Object.getOwnPropertyDescriptor(URL.prototype, "origin").set].join()`,
			"function,function,true,true,undefined"},
	})
}

func TestURLSearchParamsLiveness(t *testing.T) {
	runURLCases(t, []urlCase{
		{"same object", `const u = new URL("https://x.test/?a=1"); u.searchParams === u.searchParams`, "true"},
		{"reads query", `new URL("https://x.test/?a=1&b=2&a=3").searchParams.getAll("a").join()`, "1,3"},
		{"append updates href", `const u = new URL("https://x.test/?a=1"); u.searchParams.append("b", "x y"); u.href`, "https://x.test/?a=1&b=x+y"},
		{"set updates search", `const u = new URL("https://x.test/?a=1&a=2&b=3"); u.searchParams.set("a", "9"); u.search`, "?a=9&b=3"},
		{"delete all makes no ?", `const u = new URL("https://x.test/p?a=1#h"); u.searchParams.delete("a"); u.href`, "https://x.test/p#h"},
		{"sort updates href", `const u = new URL("https://x.test/?c=3&a=1&b=2&a=0"); u.searchParams.sort(); u.href`, "https://x.test/?a=1&a=0&b=2&c=3"},
		{"search setter updates params", `const u = new URL("https://x.test/?a=1"); const p = u.searchParams; u.search = "?b=2&c=3"; [p.has("a"), p.get("b"), p.size].join()`, "false,2,2"},
		{"search cleared", `const u = new URL("https://x.test/?a=1"); const p = u.searchParams; u.search = ""; p.size`, "0"},
		{"href setter updates params", `const u = new URL("https://x.test/?a=1"); const p = u.searchParams; u.href = "https://y.test/?z=26"; p.get("z") + "," + p.has("a")`, "26,false"},
		{"append to empty query", `const u = new URL("https://x.test/#f"); u.searchParams.append("q", "1"); u.href`, "https://x.test/?q=1#f"},
		{"lazy params see later search", `const u = new URL("https://x.test/"); u.search = "k=v"; u.searchParams.get("k")`, "v"},
		{"standalone not linked", `const p = new URLSearchParams("a=1"); p.append("b", "2"); p.toString()`, "a=1&b=2"},
	})
}

func TestURLSearchParams(t *testing.T) {
	runURLCases(t, []urlCase{
		{"plus is space", `new URLSearchParams("a=b+c").get("a")`, "b c"},
		{"percent 20", `new URLSearchParams("a=b%20c").get("a")`, "b c"},
		{"encoded plus", `new URLSearchParams("a=b%2Bc").get("a")`, "b+c"},
		{"serialize space as plus", `const p = new URLSearchParams(); p.append("a b", "c d+e&f=g"); p.toString()`, "a+b=c+d%2Be%26f%3Dg"},
		{"serialize set", `new URLSearchParams({k: "*-._~!'()é"}).toString()`, "k=*-._%7E%21%27%28%29%C3%A9"},
		{"leading ? stripped", `new URLSearchParams("?a=1&b").toString()`, "a=1&b="},
		{"only one ? stripped", `new URLSearchParams("??a=1").toString()`, "%3Fa=1"},
		{"empty pieces", `new URLSearchParams("&&a=1&&=2&").toString()`, "a=1&=2"},
		{"record", `new URLSearchParams({a: "1", b: 2}).toString()`, "a=1&b=2"},
		{"pairs", `new URLSearchParams([["a", "1"], ["a", "2"]]).getAll("a").join()`, "1,2"},
		{"pairs from iterables", `new URLSearchParams(new Map([["x", "1"]])).toString()`, "x=1"},
		{"copy", `const a = new URLSearchParams("x=1"); const b = new URLSearchParams(a); b.append("y", "2"); a.toString() + "|" + b.toString()`, "x=1|x=1&y=2"},
		{"bad pair", `try { new URLSearchParams([["a", "b", "c"]]); "no error" } catch (e) { e.constructor.name + ": " + e.message }`, "TypeError: Invalid URL search params sequence."},
		{"short pair", `try { new URLSearchParams([["a"]]); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"non-object pair", `try { new URLSearchParams([1]); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"null init", `new URLSearchParams(null).toString()`, "null="},
		{"get missing", `new URLSearchParams("a=1").get("b") === null`, "true"},
		{"getAll missing", `JSON.stringify(new URLSearchParams("a=1").getAll("b"))`, "[]"},
		{"has", `const p = new URLSearchParams("a=1&a=2"); [p.has("a"), p.has("b"), p.has("a", "2"), p.has("a", "3")].join()`, "true,false,true,false"},
		{"delete with value", `const p = new URLSearchParams("a=1&a=2&b=1"); p.delete("a", "1"); p.toString()`, "a=2&b=1"},
		{"delete", `const p = new URLSearchParams("a=1&a=2&b=1"); p.delete("a"); p.toString()`, "b=1"},
		{"set keeps position", `const p = new URLSearchParams("a=1&b=2&a=3"); p.set("a", "x"); p.set("c", "y"); p.toString()`, "a=x&b=2&c=y"},
		{"sort stable utf16", `const p = new URLSearchParams([["\uFFFD", "2"], ["\u{1F600}", "1"], ["z", "a"], ["a", "b"], ["z", "0"]]); p.sort(); [...p.keys()].map(k => k.codePointAt(0).toString(16)).join() + "|" + p.getAll("z").join()`,
			"61,7a,7a,1f600,fffd|a,0"},
		{"size", `new URLSearchParams("a=1&b=2&a=3").size`, "3"},
		{"forEach", `const out = []; new URLSearchParams("a=1&b=2").forEach(function (v, k, p) { out.push(k + "=" + v + ":" + (p instanceof URLSearchParams) + ":" + this.t) }, {t: "T"}); out.join()`, "a=1:true:T,b=2:true:T"},
		{"forEach needs function", `try { new URLSearchParams().forEach(1); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"append needs two args", `try { new URLSearchParams().append("a"); "no error" } catch (e) { e instanceof TypeError }`, "true"},
		{"unicode", `const p = new URLSearchParams("%C3%A9=%E2%82%AC&bad=%zz%F0"); p.get("é") + "|" + p.get("bad")`, "€|%zz\uFFFD"},
		{"stringify", `String(new URLSearchParams({q: "a&b"}))`, "q=a%26b"},
		{"lone surrogate", `const p = new URLSearchParams(); p.append("\uD800", "\uDC00x"); p.toString()`, "%EF%BF%BD=%EF%BF%BDx"},
		{"toStringTag", `Object.prototype.toString.call(new URLSearchParams())`, "[object URLSearchParams]"},
	})
}

func TestURLSearchParamsIteration(t *testing.T) {
	runURLCases(t, []urlCase{
		{"spread", `JSON.stringify([...new URLSearchParams("a=1&b=2")])`, `[["a","1"],["b","2"]]`},
		{"for of", `let s = ""; for (const [k, v] of new URLSearchParams("a=1&b=2")) s += k + v; s`, "a1b2"},
		{"keys values", `const p = new URLSearchParams("a=1&b=2"); [...p.keys()].join() + "|" + [...p.values()].join()`, "a,b|1,2"},
		{"entries is iterator", `const p = new URLSearchParams("a=1"); p[Symbol.iterator] === p.entries`, "true"},
		{"next protocol", `const it = new URLSearchParams("a=1").keys(); const r1 = it.next(); const r2 = it.next(); [r1.value, r1.done, r2.value, r2.done].join()`, "a,false,,true"},
		{"iterator iterable", `const it = new URLSearchParams("a=1").entries(); it[Symbol.iterator]() === it`, "true"},
		{"iterator tag", `Object.prototype.toString.call(new URLSearchParams().values())`, "[object URLSearchParams Iterator]"},
		{"live iteration", `const p = new URLSearchParams("a=1"); const seen = []; for (const [k] of p) { seen.push(k); if (k === "a") p.append("b", "2") } seen.join()`, "a,b"},
		{"Object.fromEntries", `JSON.stringify(Object.fromEntries(new URL("https://x.test/?a=1&b=2").searchParams))`, `{"a":"1","b":"2"}`},
		{"Array.from", `Array.from(new URLSearchParams("x=1").entries()).length`, "1"},
	})
}

func TestURLInstallsGlobals(t *testing.T) {
	vm := newTestRuntime(t)
	got := evalString(t, vm, `[typeof URL, typeof URLSearchParams, URL.name, URLSearchParams.name].join()`)
	if want := "function,function,URL,URLSearchParams"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	keys := evalString(t, vm, `Object.getOwnPropertyNames(URL.prototype).sort().join()`)
	for _, k := range []string{"href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "searchParams", "hash", "toJSON", "toString"} {
		if !strings.Contains(","+keys+",", ","+k+",") {
			t.Errorf("URL.prototype lacks %s (has %s)", k, keys)
		}
	}
}
