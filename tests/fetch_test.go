package tests

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// End-to-end tests of fetch (SPEC §2) against a local HTTP server the test
// starts on 127.0.0.1.

// fetchServer is the test's HTTP server; cancelled counts requests whose
// client went away before the handler finished (an abort reaching the
// network).
type fetchServer struct {
	*httptest.Server
	cancelled atomic.Int64
}

func startFetchServer(t *testing.T) *fetchServer {
	t.Helper()
	s := &fetchServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Test", "yes")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		fmt.Fprint(w, `{"hello":"world","n":42,"list":[1,2]}`)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
		fmt.Fprint(w, http.StatusText(code))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method":      r.Method,
			"path":        r.URL.RequestURI(),
			"body":        string(body),
			"contentType": r.Header.Get("Content-Type"),
			"custom":      r.Header.Get("X-Custom"),
			"userAgent":   r.Header.Get("User-Agent"),
			"accept":      r.Header.Get("Accept"),
		})
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		if d == 0 {
			d = 20 * time.Second
		}
		select {
		case <-time.After(d):
			fmt.Fprint(w, "slow done")
		case <-r.Context().Done():
			s.cancelled.Add(1)
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := strings.Repeat("x", 64<<10)
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := io.WriteString(w, chunk[:k]); err != nil {
				return
			}
			n -= k
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		// n bytes of "z", gzip-compressed whatever the request asked.
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		chunk := strings.Repeat("z", 64<<10)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := io.WriteString(zw, chunk[:k]); err != nil {
				return
			}
			n -= k
		}
		_ = zw.Close()
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/redirect/"))
		if n <= 0 {
			fmt.Fprint(w, "landed")
			return
		}
		http.Redirect(w, r, "/redirect/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/see-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusSeeOther)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// fetchScript wraps an async test body: it runs at top level (fetch may be
// called anywhere) and prints "ok" once every assertion held.
func fetchScript(base, body string) string {
	return `const BASE = ` + strconv.Quote(base) + `;
(async () => {
` + body + `
})().then(() => print("ok"), (e) => print("FAILED: " + (e && e.stack || e)));
`
}

func TestFetchResponse(t *testing.T) {
	s := startFetchServer(t)
	runJS(t, fetchScript(s.URL, `
const res = await fetch(BASE + "/json");
eq(res instanceof Response, true, "a Response");
eq([res.status, res.ok, res.statusText, res.url, res.redirected, res.type], [200, true, "OK", BASE + "/json", false, "basic"], "status line");
eq(res.headers instanceof Headers, true, "Headers");
eq(res.headers.get("Content-Type"), "application/json", "headers.get is case-insensitive");
eq(res.headers.get("x-multi"), "one, two", "repeated headers are combined");
eq(res.headers.has("X-TEST"), true, "headers.has");
eq(res.headers.has("x-absent"), false, "headers.has absent");
eq(res.headers.get("x-absent"), null, "headers.get absent");
eq(res.headers.getSetCookie(), ["a=1", "b=2"], "getSetCookie");
const names = [];
res.headers.forEach((v, k) => names.push(k));
eq(names.filter((n) => n.startsWith("x-") || n === "set-cookie"), ["set-cookie", "set-cookie", "x-multi", "x-test"], "forEach in sorted order");
eq([...res.headers.entries()].find(([k]) => k === "x-test"), ["x-test", "yes"], "entries");
throwsLike(() => res.headers.set("x-test", "no"), (e) => e instanceof TypeError, "response headers are immutable");
eq(res.bodyUsed, false, "bodyUsed before");
eq(await res.json(), { hello: "world", n: 42, list: [1, 2] }, "json()");
eq(res.bodyUsed, true, "bodyUsed after");
await rejectsLike(res.text(), (e) => e instanceof TypeError && /already been read/.test(e.message), "a body reads once");

const nf = await fetch(BASE + "/status/404");
eq([nf.status, nf.ok, nf.statusText], [404, false, "Not Found"], "404 resolves, not ok");
eq(await nf.text(), "Not Found", "text()");
const ab = await (await fetch(BASE + "/json")).arrayBuffer();
eq(ab instanceof ArrayBuffer, true, "arrayBuffer()");
eq(new TextDecoder().decode(ab).slice(0, 9), '{"hello":', "arrayBuffer bytes");
const c = await fetch(BASE + "/json");
const c2 = c.clone();
eq([(await c.json()).n, (await c2.json()).n], [42, 42], "clone");
const h = await fetch(BASE + "/json", { method: "HEAD" });
eq([h.status, await h.text()], [200, ""], "HEAD has no body");
const e = await fetch(new URL("/echo?q=1", BASE));
eq((await e.json()).path, "/echo?q=1", "a URL object as input");
const bad = await (await fetch(BASE + "/status/200")).text();
eq(bad, "OK", "text of a 200");
await rejectsLike((await fetch(BASE + "/status/404")).json(), (e) => e instanceof SyntaxError, "json() of a non-JSON body");
`))
}

func TestFetchRequestBodyAndHeaders(t *testing.T) {
	s := startFetchServer(t)
	runJS(t, fetchScript(s.URL, `
let r = await (await fetch(BASE + "/echo", { method: "POST", body: JSON.stringify({ a: 1 }), headers: { "Content-Type": "application/json", "X-Custom": "v1" } })).json();
eq([r.method, r.body, r.contentType, r.custom], ["POST", '{"a":1}', "application/json", "v1"], "POST JSON");
eq([r.userAgent, r.accept], ["scriptd", "*/*"], "default user agent and accept");
r = await (await fetch(BASE + "/echo", { method: "post", body: "plain" })).json();
eq([r.method, r.body, r.contentType], ["POST", "plain", "text/plain;charset=UTF-8"], "string body, method normalized");
r = await (await fetch(BASE + "/echo", { method: "PUT", body: new Uint8Array([104, 105]), headers: new Headers([["x-custom", "v2"]]) })).json();
eq([r.method, r.body, r.contentType, r.custom], ["PUT", "hi", "", "v2"], "bytes body, Headers instance");
r = await (await fetch(BASE + "/echo", { method: "POST", body: new URLSearchParams({ q: "a b", n: "1" }) })).json();
eq([r.body, r.contentType], ["q=a+b&n=1", "application/x-www-form-urlencoded;charset=UTF-8"], "URLSearchParams body");
const req = new Request(BASE + "/echo", { method: "PATCH", body: "from a Request", headers: { "x-custom": "v3" } });
eq([req.method, req.url, req.headers.get("x-custom"), req.redirect], ["PATCH", BASE + "/echo", "v3", "follow"], "Request fields");
r = await (await fetch(req)).json();
eq([r.method, r.body, r.custom], ["PATCH", "from a Request", "v3"], "fetch(Request)");
r = await (await fetch(BASE + "/echo", { method: "DELETE" })).json();
eq([r.method, r.body], ["DELETE", ""], "DELETE without a body");
await rejectsLike(fetch(BASE + "/echo", { body: "x" }), (e) => e instanceof TypeError && /GET\/HEAD/.test(e.message), "GET with a body");
await rejectsLike(fetch(BASE + "/echo", { headers: { "bad name": "x" } }), (e) => e instanceof TypeError, "invalid header name");
await rejectsLike(fetch(BASE + "/echo", { method: "CONNECT" }), (e) => e instanceof TypeError, "forbidden method");
`))
}

func TestFetchRedirects(t *testing.T) {
	s := startFetchServer(t)
	runJS(t, fetchScript(s.URL, `
let res = await fetch(BASE + "/redirect/3");
eq([res.status, res.redirected, res.url, await res.text()], [200, true, BASE + "/redirect/0", "landed"], "followed");
res = await fetch(BASE + "/redirect/20");
eq([res.status, await res.text()], [200, "landed"], "20 redirects are followed");
const err = await rejectsLike(fetch(BASE + "/redirect/21"), (e) => e instanceof TypeError && /fetch failed/.test(e.message) && /redirect count exceeded/.test(e.message), "more than 20");
eq(err.cause instanceof Error, true, "the error has a cause");
await rejectsLike(fetch(BASE + "/redirect/1", { redirect: "error" }), (e) => e instanceof TypeError && /unexpected redirect/.test(e.message), "redirect: error");
res = await fetch(BASE + "/redirect/2", { redirect: "manual" });
eq([res.status, res.redirected, res.headers.get("location")], [302, false, "/redirect/1"], "redirect: manual");
const r = await (await fetch(BASE + "/see-other", { method: "POST", body: "x" })).json();
eq([r.method, r.body], ["GET", ""], "303 turns POST into GET");
await rejectsLike(fetch(BASE + "/", { redirect: "sideways" }), (e) => e instanceof TypeError, "invalid redirect mode");
`))
}

func TestFetchBodyLimit(t *testing.T) {
	s := startFetchServer(t)
	runJS(t, fetchScript(s.URL, `
const limit = 10 * 1024 * 1024;
const ok = await fetch(BASE + "/big?n=" + limit);
eq((await ok.arrayBuffer()).byteLength, limit, "a body of exactly 10 MiB");
await rejectsLike(fetch(BASE + "/big?n=" + (limit + 1)), (e) => e instanceof TypeError && /exceeds the limit of 10485760 bytes/.test(e.message), "Content-Length over the limit");
await rejectsLike(fetch(BASE + "/big?chunked=1&n=" + (11 * 1024 * 1024)), (e) => e instanceof TypeError && /exceeds the limit of 10485760 bytes/.test(e.message), "a chunked body over the limit");
eq(await (await fetch(BASE + "/gzip?n=5")).text(), "zzzzz", "gzip decoded");
eq(await (await fetch(BASE + "/gzip?n=5", { headers: { "Accept-Encoding": "gzip" } })).text(), "zzzzz", "gzip decoded when the script asked for it");
// 20 MiB inflating from a few kilobytes: the limit bounds the inflated size.
await rejectsLike(fetch(BASE + "/gzip?n=" + (20 * 1024 * 1024)), (e) => e instanceof TypeError && /exceeds the limit/.test(e.message), "gzip over the limit");
await rejectsLike(fetch(BASE + "/gzip?n=" + (20 * 1024 * 1024), { headers: { "accept-encoding": "gzip" } }), (e) => e instanceof TypeError && /exceeds the limit/.test(e.message), "gzip over the limit, asked for");
`))
}

func TestFetchTimeoutAndAbort(t *testing.T) {
	s := startFetchServer(t)
	start := time.Now()
	runJS(t, fetchScript(s.URL, `
let t0 = Date.now();
const e1 = await rejectsLike(fetch(BASE + "/slow", { signal: AbortSignal.timeout(200) }),
  (e) => e instanceof DOMException && e.name === "TimeoutError" && e.code === 23, "AbortSignal.timeout");
const took = Date.now() - t0;
if (took < 150 || took > 5000) fail("timeout took " + took + " ms");
eq(e1.message, "The operation was aborted due to timeout", "timeout message");

const c = new AbortController();
setTimeout(() => c.abort(), 100);
t0 = Date.now();
await rejectsLike(fetch(BASE + "/slow", { signal: c.signal }), (e) => e instanceof DOMException && e.name === "AbortError", "abort()");
if (Date.now() - t0 > 5000) fail("abort was slow");

const c2 = new AbortController();
setTimeout(() => c2.abort(new Error("my reason")), 50);
await rejectsLike(fetch(BASE + "/slow", { signal: c2.signal }), (e) => e.message === "my reason", "abort(reason)");

await rejectsLike(fetch(BASE + "/json", { signal: AbortSignal.abort() }), (e) => e.name === "AbortError", "an aborted signal rejects at once");
const res = await fetch(BASE + "/slow?d=10ms", { signal: AbortSignal.timeout(10000) });
eq(await res.text(), "slow done", "a timeout that does not fire");
`))
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the run took %v: aborted requests (server delay 20 s) were waited for", d)
	}
	// Every aborted request was cancelled on the wire.
	deadline := time.Now().Add(5 * time.Second)
	for s.cancelled.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.cancelled.Load(); n != 3 {
		t.Errorf("the server saw %d cancelled requests, want 3", n)
	}
}

// fetch never blocks the loop: timers tick while it is pending, it works
// from a plain (not async) handler, and the run waits for it to settle.
func TestFetchOffTheLoop(t *testing.T) {
	s := startFetchServer(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.js": `
const BASE = ` + strconv.Quote(s.URL) + `;
let ticks = 0;
const iv = setInterval(() => ticks++, 10);
on("init", () => {
  fetch(BASE + "/slow?d=300ms").then((r) => r.text()).then((text) => {
    clearInterval(iv);
    print(text, ticks >= 5 ? "loop-ran" : "loop-blocked:" + ticks);
  });
});
fetch(BASE + "/json").then((r) => r.json()).then((j) => print("top-level", j.hello));
`})
	r := runScriptd(t, dir, 30*time.Second, "run", "main.js")
	got := outputLines(r.Stdout)
	if r.Code != 0 || r.Stderr != "" || len(got) != 2 || got[0] != "top-level world" || got[1] != "slow done loop-ran" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestFetchErrors(t *testing.T) {
	s := startFetchServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := closed.URL
	closed.Close()
	runJS(t, fetchScript(s.URL, `
const dead = `+strconv.Quote(dead)+`;
const e = await rejectsLike(fetch(dead + "/x"), (e) => e instanceof TypeError && /^fetch failed/.test(e.message) && /refused/.test(e.message), "connection refused");
eq(e.cause instanceof Error && /refused/.test(e.cause.message), true, "cause");
await rejectsLike(fetch("not a url"), (e) => e instanceof TypeError && /Failed to parse URL/.test(e.message), "invalid URL");
await rejectsLike(fetch("/relative"), (e) => e instanceof TypeError, "relative URL");
const d = await fetch("data:text/plain;base64,aGVsbG8=");
eq([d.status, d.headers.get("content-type"), await d.text()], [200, "text/plain", "hello"], "data: URL");
await rejectsLike(fetch("ftp://127.0.0.1/x"), (e) => e instanceof TypeError && /scheme/.test(e.message), "unsupported scheme");
await rejectsLike(fetch("http://user:pw@127.0.0.1/"), (e) => e instanceof TypeError && /credentials/.test(e.message), "credentials in the URL");
let threw = false;
try { fetch().catch(() => {}); } catch (err) { threw = true; }
eq(threw, false, "fetch never throws synchronously");
await rejectsLike(fetch(), (e) => e instanceof TypeError, "fetch() rejects");
`))
}

// Headers, Request and Response as classes, without the network.
func TestFetchClasses(t *testing.T) {
	runJS(t, fetchScript("", `
const h = new Headers({ "Content-Type": "text/plain", "X-A": "1" });
h.append("x-a", "2");
h.set("X-B", " padded ");
eq(h.get("x-a"), "1, 2", "append combines");
eq(h.get("x-b"), "padded", "values are trimmed");
h.delete("X-A");
eq([...h.keys()], ["content-type", "x-b"], "delete, sorted keys");
eq([...new Headers([["b", "2"], ["a", "1"]])], [["a", "1"], ["b", "2"]], "iteration");
throwsLike(() => new Headers({ "bad header": "x" }), (e) => e instanceof TypeError, "invalid name");
throwsLike(() => h.set("x", "a\nb"), (e) => e instanceof TypeError, "invalid value");

const r = new Response("body text", { status: 201, statusText: "Created", headers: { "X-Y": "z" } });
eq([r.status, r.ok, r.statusText, r.headers.get("x-y"), r.headers.get("content-type")], [201, true, "Created", "z", "text/plain;charset=UTF-8"], "Response fields");
eq(await r.text(), "body text", "Response text");
const j = Response.json({ a: [1] }, { status: 202 });
eq([j.status, j.headers.get("content-type"), await j.json()], [202, "application/json", { a: [1] }], "Response.json");
eq([new Response().status, await new Response().text(), new Response(null, { status: 204 }).status], [200, "", 204], "empty Response");
throwsLike(() => new Response("x", { status: 99 }), (e) => e instanceof RangeError, "status range");
throwsLike(() => new Response("x", { status: 204 }), (e) => e instanceof TypeError, "null body status");
const err = Response.error();
eq([err.type, err.status, err.ok], ["error", 0, false], "Response.error");
const red = Response.redirect("http://x.example/next", 301);
eq([red.status, red.headers.get("location")], [301, "http://x.example/next"], "Response.redirect");
const ab = await new Response(new Uint8Array([1, 2, 3])).arrayBuffer();
eq(Array.from(new Uint8Array(ab)), [1, 2, 3], "bytes body");

const q = new Request("http://x.example/a", { method: "POST", body: "b" });
const q2 = q.clone();
eq([await q.text(), await q2.text()], ["b", "b"], "Request clone");
throwsLike(() => new Request("nope"), (e) => e instanceof TypeError, "Request with an invalid URL");
eq(new Request(q2, { method: "PUT", body: "c" }).method, "PUT", "Request from a Request with init");
eq(new Request("http://x.example/").signal instanceof AbortSignal, true, "a Request has a signal");
`))
}
