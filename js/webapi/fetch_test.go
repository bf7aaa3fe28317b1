package webapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	vm := newTestRuntime(t)
	cases := []struct{ src, want string }{
		{`const h = new Headers({"Content-Type": "text/html", "X-A": "1"}); h.get("content-type")`, "text/html"},
		{`const h2 = new Headers([["a", "1"], ["A", "2"]]); h2.get("a")`, "1, 2"},
		{`const h3 = new Headers(); h3.append("Set-Cookie", "a=1"); h3.append("set-cookie", "b=2"); h3.append("x", " y "); JSON.stringify([...h3])`, `[["set-cookie","a=1"],["set-cookie","b=2"],["x","y"]]`},
		{`h3.getSetCookie().join("|")`, "a=1|b=2"},
		{`h3.get("set-cookie")`, "a=1, b=2"},
		{`h3.has("X") + "," + h3.has("nope")`, "true,false"},
		{`h3.set("x", "z"); h3.get("x")`, "z"},
		{`h3.delete("X"); String(h3.get("x"))`, "null"},
		{`[...new Headers({b: "2", a: "1", C: "3"}).keys()].join()`, "a,b,c"},
		{`try { new Headers({"bad name": "x"}) } catch (e) { e.name + ": " + e.message }`, "TypeError: Invalid header name."},
		{`try { new Headers({"a": "x\ny"}) } catch (e) { e.message }`, "Invalid header value."},
		{`try { new Headers([["a"]]) } catch (e) { e.name }`, "TypeError"},
		{`const h4 = new Headers(h); h4.set("x-a", "2"); h.get("x-a") + h4.get("x-a")`, "12"},
		{`let s = ""; new Headers({a: "1", b: "2"}).forEach((v, k) => s += k + "=" + v + ";"); s`, "a=1;b=2;"},
		{`new Headers() instanceof Headers && Object.prototype.toString.call(new Headers())`, "[object Headers]"},
		{`try { Headers() } catch (e) { e.name }`, "TypeError"},
		{`try { new Headers().getAll("x") } catch (e) { e.name }`, "TypeError"},
	}
	for _, c := range cases {
		if got := evalString(t, vm, c.src); got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.src, got, c.want)
		}
	}
}

func TestRequest(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct{ src, want string }{
		{`new Request("https://example.com/a?b#c").url`, "https://example.com/a?b#c"},
		{`new Request("https://EXAMPLE.com:443/../x").url`, "https://example.com/x"},
		{`new Request("https://x.test", {method: "post"}).method`, "POST"},
		{`new Request("https://x.test", {method: "patch"}).method`, "PATCH"},
		{`try { new Request("/relative") } catch (e) { e.name }`, "TypeError"},
		{`try { new Request("https://x.test", {body: "x"}) } catch (e) { e.message }`, "Request with a GET or HEAD method cannot have a body."},
		{`const r = new Request("https://x.test", {method: "POST", body: "hi"}); r.headers.get("content-type")`, "text/plain;charset=UTF-8"},
		{`const r2 = new Request(r, {headers: {"x-y": "z"}}); r2.method + " " + r2.headers.get("x-y") + " " + r.bodyUsed`, "POST z true"},
		{`new Request("https://x.test").redirect`, "follow"},
		{`new Request("https://x.test").body === null`, "true"},
	}
	for _, c := range cases {
		if got := evalString(t, e.vm, c.src); got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.src, got, c.want)
		}
	}
	if got := e.await(t, `r2.text()`); got != "hi" {
		t.Fatalf("moved body = %q", got)
	}
}

func TestResponse(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct{ src, want string }{
		{`const r = new Response("hello", {status: 201, statusText: "Made", headers: {"x": "1"}}); [r.status, r.statusText, r.ok, r.headers.get("x"), r.headers.get("content-type")].join("|")`, "201|Made|true|1|text/plain;charset=UTF-8"},
		{`new Response(42).headers.get("content-type")`, "text/plain;charset=UTF-8"},
		{`try { new Response("x", {status: 99}) } catch (e) { e.name + ": " + e.message }`, "RangeError: Responses may only be constructed with status codes in the range 200 to 599, inclusive."},
		{`try { new Response("x", {status: 204}) } catch (e) { e.name }`, "TypeError"},
		{`new Response(null, {status: 204}).body === null`, "true"},
		{`const j = Response.json({a: 1}, {status: 202}); j.status + " " + j.headers.get("content-type")`, "202 application/json"},
		{`const rd = Response.redirect("https://x.test/a", 301); rd.status + " " + rd.headers.get("location")`, "301 https://x.test/a"},
		{`try { Response.redirect("https://x.test/", 200) } catch (e) { e.name }`, "RangeError"},
		{`Response.error().type + " " + Response.error().status`, "error 0"},
		{`new Response().status`, "200"},
		{`new Response(new Uint8Array([104, 105])).headers.has("content-type")`, "false"},
		{`try { Response.redirect("https://x/").headers.set("a", "b") } catch (e) { e.message }`, "Can't modify immutable headers."},
	}
	for _, c := range cases {
		if got := evalString(t, e.vm, c.src); got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.src, got, c.want)
		}
	}
	if got := e.await(t, `Response.json({a: [1, 2]}).json().then(v => v.a[1])`); got != "2" {
		t.Errorf("json() = %s", got)
	}
	if got := e.await(t, `new Response(new Uint8Array([104, 105])).arrayBuffer().then(b => b.byteLength)`); got != "2" {
		t.Errorf("arrayBuffer() = %s", got)
	}
	if got := e.await(t, `new Response("\uFEFFbom").text()`); got != "bom" {
		t.Errorf("BOM not stripped: %q", got)
	}
}

func TestBodyCanOnlyBeReadOnce(t *testing.T) {
	e := newTestEnv(t)
	got := e.await(t, `
		const res = new Response("once");
		res.text().then(first => res.text().then(() => "read twice", err => first + "|" + res.bodyUsed + "|" + err.name + ": " + err.message))`)
	want := "once|true|TypeError: " + errBodyUsed
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	got = e.await(t, `
		const c1 = new Response("twice");
		const c2 = c1.clone();
		Promise.all([c1.text(), c2.text()]).then(v => v.join("+"))`)
	if got != "twice+twice" {
		t.Fatalf("clone: %q", got)
	}
	got = evalString(t, e.vm, `try { const u = new Response("x"); u.text(); u.clone(); "no error" } catch (e) { e.message }`)
	if got != errBodyUsed {
		t.Fatalf("clone of used body: %q", got)
	}
}

func TestFetchLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			w.Header().Set("X-Got", r.Header.Get("X-Send"))
			_, _ = w.Write(b)
		case "/redirect":
			http.Redirect(w, r, "/echo", http.StatusFound)
		case "/stream":
			w.WriteHeader(200)
			for i := 0; i < 3; i++ {
				_, _ = io.WriteString(w, strings.Repeat("x", 100000))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := newTestEnv(t)
	if err := e.vm.Set("BASE", srv.URL); err != nil {
		t.Fatal(err)
	}
	got := e.await(t, `fetch(BASE + "/echo", {method: "PUT", body: "payload", headers: {"X-Send": "v"}}).then(async r => [r.status, r.headers.get("x-method"), r.headers.get("x-got"), await r.text()].join("|"))`)
	if got != "200|PUT|v|payload" {
		t.Fatalf("echo: %q", got)
	}
	got = e.await(t, `fetch(BASE + "/redirect").then(r => r.redirected + " " + r.url.endsWith("/echo"))`)
	if got != "true true" {
		t.Fatalf("follow: %q", got)
	}
	got = e.await(t, `fetch(BASE + "/redirect", {redirect: "manual"}).then(r => r.status + " " + r.headers.get("location"))`)
	if got != "302 /echo" {
		t.Fatalf("manual: %q", got)
	}
	got = e.await(t, `fetch(BASE + "/stream").then(r => r.arrayBuffer()).then(b => b.byteLength)`)
	if got != "300000" {
		t.Fatalf("stream length: %q", got)
	}
	got = e.await(t, `fetch(BASE + "/missing").then(r => r.status + " " + r.ok)`)
	if got != "404 false" {
		t.Fatalf("404: %q", got)
	}
	got = e.await(t, `fetch("ftp://x.test/").then(() => "resolved", e => e.name)`)
	if got != "TypeError" {
		t.Fatalf("bad scheme: %q", got)
	}
	got = e.await(t, `fetch("http://127.0.0.1:1/").then(() => "resolved", e => e.name)`)
	if got != "TypeError" {
		t.Fatalf("refused: %q", got)
	}
}
