package tests

import (
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the web and Node.js globals of SPEC §2 (Buffer, URL,
// URLSearchParams, TextEncoder, TextDecoder, structuredClone, atob, btoa,
// queueMicrotask, crypto; fetch is in fetch_test.go): each script asserts
// behaviour (values and errors, as Node.js 20 gives them) and prints "ok".

// jsAssert is prepended to the test scripts.
const jsAssert = `
function fail(msg) { throw new Error(msg); }
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail((what || "value") + ": got " + g + ", want " + w);
}
function throwsLike(fn, check, what) {
  try { fn(); } catch (e) {
    if (!check(e)) fail((what || "error") + ": unexpected error " + e + " (" + (e && e.name) + ")");
    return e;
  }
  fail((what || "call") + ": did not throw");
}
async function rejectsLike(p, check, what) {
  try { await p; } catch (e) {
    if (!check(e)) fail((what || "error") + ": unexpected rejection " + e + " (" + (e && e.name) + ")");
    return e;
  }
  fail((what || "promise") + ": did not reject");
}
`

// runJS runs one script (jsAssert prepended) and wants exactly "ok" on
// stdout, nothing on stderr and exit code 0.
func runJS(t *testing.T, src string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.js": jsAssert + src})
	r := runScriptd(t, dir, 60*time.Second, append([]string{"run", "main.js"}, args...)...)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "ok" || r.Stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func TestGlobalsBuffer(t *testing.T) {
	runJS(t, `
eq(typeof Buffer, "function");
eq(Buffer.from("hello").toString("base64"), "aGVsbG8=", "base64");
eq(Buffer.from("aGVsbG8=", "base64").toString(), "hello", "from base64");
eq(Buffer.from("hello").toString("hex"), "68656c6c6f", "hex");
eq(Buffer.from("68656C6C6F", "hex").toString("utf8"), "hello", "from hex");
eq(Buffer.from("héllo €").toString("utf8"), "héllo €", "utf8 round trip");
eq(Buffer.from("héllo €").length, 10, "utf8 length");
eq(Buffer.byteLength("héllo €"), 10, "byteLength");
eq(Buffer.from("hi?>").toString("base64url"), "aGk_Pg", "base64url");
eq(Buffer.from("aGk_Pg", "base64url").toString(), "hi?>", "from base64url");
eq(Buffer.from("é", "latin1").toString("hex"), "e9", "latin1");
eq(Buffer.from([0xe9]).toString("binary"), "é", "binary");
eq(Buffer.from("hi", "utf16le").toString("hex"), "68006900", "utf16le");
eq(Buffer.from([0xff, 0xfe, 0x41]).toString(), "\ufffd\ufffdA", "invalid utf8 is replaced");
const b = Buffer.from("hello world");
eq(b.slice(0, 5).toString(), "hello", "slice");
eq(Buffer.isBuffer(b.slice(0, 5)), true, "slice is a Buffer");
b.slice(0, 1)[0] = 0x48;
eq(b.toString(), "Hello world", "slice shares memory");
eq(b.subarray(6).toString(), "world", "subarray");
eq(b.indexOf("o"), 4, "indexOf");
eq(b.lastIndexOf("o"), 7, "lastIndexOf");
eq(b.includes("wor"), true, "includes");
eq(b.includes(Buffer.from("xyz")), false, "includes buffer");
eq(Buffer.alloc(4, "ab").toString(), "abab", "alloc fill");
eq(Buffer.alloc(3).fill(7).toJSON(), { type: "Buffer", data: [7, 7, 7] }, "toJSON");
eq(JSON.stringify(Buffer.from("hi")), '{"type":"Buffer","data":[104,105]}', "JSON.stringify");
const w = Buffer.alloc(6);
eq(w.write("hé", 1), 3, "write returns bytes");
eq(w.toString("hex"), "0068c3a90000", "write");
const t = Buffer.alloc(3);
eq(Buffer.from("xyz").copy(t, 1), 2, "copy count");
eq(t.toString("latin1"), "\u0000xy", "copy");
eq(Buffer.concat([Buffer.from("a"), Buffer.from("bc")]).toString(), "abc", "concat");
eq(Buffer.compare(Buffer.from("a"), Buffer.from("b")), -1, "compare");
eq(Buffer.from("a").equals(Buffer.from("a")), true, "equals");
eq(Buffer.from([1, 2, 3, 4]).readUInt32BE(0), 0x01020304, "readUInt32BE");
eq(Buffer.from([1, 2]).swap16().toString("hex"), "0201", "swap16");
eq(Buffer.from(new Uint8Array([1, 2]).buffer).toString("hex"), "0102", "from ArrayBuffer");
eq(Buffer.from(Buffer.from("x").toJSON()).toString(), "x", "from toJSON form");
eq(Buffer.isEncoding("UTF-8"), true, "isEncoding");
eq(Buffer.from("abc").map((c) => c + 1).toString(), "bcd", "map keeps Buffer");
eq(Buffer.from("hi") instanceof Uint8Array, true, "instanceof Uint8Array");
throwsLike(() => Buffer.from("x").toString("nope"), (e) => e instanceof TypeError && e.code === "ERR_UNKNOWN_ENCODING", "unknown encoding");
throwsLike(() => Buffer.alloc(-1), (e) => e instanceof RangeError, "negative size");
print("ok");
`)
}

func TestGlobalsURL(t *testing.T) {
	runJS(t, `
const u = new URL("https://user:pw@Example.COM:8443/a/b/../c?x=1&y=two#frag");
eq([u.protocol, u.username, u.password, u.hostname, u.port, u.host, u.pathname, u.search, u.hash, u.origin],
   ["https:", "user", "pw", "example.com", "8443", "example.com:8443", "/a/c", "?x=1&y=two", "#frag", "https://example.com:8443"], "parts");
eq(u.searchParams.get("y"), "two", "searchParams.get");
eq(new URL("../d?q", "http://h.example/a/b/c").href, "http://h.example/a/d?q", "relative");
eq(String(new URL("http://h.example:80/")), "http://h.example/", "default port dropped");
eq(JSON.stringify({ u: new URL("http://h.example/p") }), '{"u":"http://h.example/p"}', "toJSON");
throwsLike(() => new URL("not a url"), (e) => e instanceof TypeError && e.code === "ERR_INVALID_URL", "invalid URL");
eq(URL.canParse("http://x.example/"), true, "canParse ok");
eq(URL.canParse("nope"), false, "canParse bad");
const p = new URLSearchParams("a=1&b=2&a=3");
p.append("c", "x y&z");
eq(p.getAll("a"), ["1", "3"], "getAll");
eq(p.toString(), "a=1&b=2&a=3&c=x+y%26z", "toString");
eq([...p.keys()], ["a", "b", "a", "c"], "keys");
eq(p.has("b"), true, "has");
p.delete("a");
eq(p.toString(), "b=2&c=x+y%26z", "delete");
eq(new URLSearchParams({ q: "a b", n: 1 }).toString(), "q=a+b&n=1", "from object");
eq(Object.fromEntries(new URLSearchParams([["k", "v"]])), { k: "v" }, "from pairs, iterable");
const v = new URL("http://h.example/path");
v.searchParams.set("k", "v w");
eq(v.href, "http://h.example/path?k=v+w", "searchParams writes through");
print("ok");
`)
}

func TestGlobalsTextEncoding(t *testing.T) {
	runJS(t, `
const enc = new TextEncoder();
eq(enc.encoding, "utf-8");
const bytes = enc.encode("h€\u{1F600}");
eq(bytes instanceof Uint8Array, true, "encode gives a Uint8Array");
eq(Array.from(bytes), [0x68, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], "encode");
eq(Array.from(enc.encode("\ud800")), [0xef, 0xbf, 0xbd], "lone surrogate becomes U+FFFD");
eq(enc.encode().length, 0, "encode()");
const dest = new Uint8Array(4);
eq(enc.encodeInto("a€b", dest), { read: 2, written: 4 }, "encodeInto stops at a whole character");
eq(Array.from(dest), [0x61, 0xe2, 0x82, 0xac], "encodeInto bytes");
const dec = new TextDecoder();
eq([dec.encoding, dec.fatal, dec.ignoreBOM], ["utf-8", false, false], "decoder attributes");
eq(dec.decode(bytes), "h€\u{1F600}", "decode a Uint8Array");
eq(dec.decode(bytes.buffer), "h€\u{1F600}", "decode an ArrayBuffer");
eq(dec.decode(new DataView(bytes.buffer, 1, 3)), "€", "decode a DataView");
eq(dec.decode(new Uint16Array([0x6968])), "hi", "decode another typed array's bytes");
eq(dec.decode(), "", "decode()");
eq(dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "A", "BOM stripped");
eq(new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "\ufeffA", "ignoreBOM");
eq(dec.decode(new Uint8Array([0xe2, 0x82, 0x41, 0xff])), "\ufffdA\ufffd", "replacement per maximal subpart");
const fatal = new TextDecoder("utf-8", { fatal: true });
eq(fatal.fatal, true);
throwsLike(() => fatal.decode(new Uint8Array([0xc3, 0x28])), (e) => e instanceof TypeError && e.code === "ERR_ENCODING_INVALID_ENCODED_DATA", "fatal");
const s = new TextDecoder();
eq(s.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + s.decode(new Uint8Array([0xac])), "€", "stream");
eq(new TextDecoder("utf-16le").decode(new Uint8Array([0x68, 0, 0x69, 0])), "hi", "utf-16le");
eq(new TextDecoder("latin1").decode(new Uint8Array([0xe9, 0x80])), "é€", "latin1 is windows-1252");
throwsLike(() => new TextDecoder("klingon"), (e) => e instanceof RangeError, "unknown encoding");
throwsLike(() => dec.decode("str"), (e) => e instanceof TypeError, "decode(string)");
eq(require("util").TextEncoder === undefined || require("util").TextEncoder === TextEncoder, true, "util.TextEncoder");
print("ok");
`)
}

func TestGlobalsStructuredClone(t *testing.T) {
	runJS(t, `
const src = {
  n: 1, s: "x", b: true, u: undefined, nul: null, big: 10n,
  arr: [1, [2, 3]], date: new Date(86400000), re: /a+b/gi,
  map: new Map([["k", { deep: 1 }]]), set: new Set([1, "two"]),
  u8: new Uint8Array([1, 2, 3]), f64: new Float64Array([1.5]), err: new RangeError("bad"),
};
src.self = src;
src.arr.push(src.map);
const c = structuredClone(src);
eq(c !== src && c.arr !== src.arr && c.map !== src.map, true, "a copy");
eq(c.self === c, true, "cycle kept");
eq(c.arr[2] === c.map, true, "shared reference kept");
eq([c.n, c.s, c.b, c.u, c.nul, typeof c.big, c.big === 10n], [1, "x", true, undefined, null, "bigint", true], "primitives");
eq(c.arr.slice(0, 2), [1, [2, 3]], "array");
eq(c.date instanceof Date && c.date.getTime() === 86400000, true, "Date");
eq(c.re instanceof RegExp && c.re.source === "a+b" && c.re.flags === "gi", true, "RegExp");
eq(c.map instanceof Map && c.map.get("k").deep === 1 && c.map.get("k") !== src.map.get("k"), true, "Map deep");
eq(c.set instanceof Set && c.set.has("two") && c.set.size === 2, true, "Set");
eq(c.u8 instanceof Uint8Array && Array.from(c.u8).join() === "1,2,3" && c.u8.buffer !== src.u8.buffer, true, "Uint8Array");
eq(c.f64 instanceof Float64Array && c.f64[0] === 1.5, true, "Float64Array");
eq(c.err instanceof RangeError && c.err.message === "bad", true, "Error");
src.u8[0] = 9;
eq(c.u8[0], 1, "typed array copied");
class Point { constructor() { this.x = 1; } get y() { return 2; } }
const p = structuredClone(new Point());
eq([p.x, p instanceof Point, Object.getPrototypeOf(p) === Object.prototype], [1, false, true], "class instance becomes a plain object");
for (const bad of [() => 1, Symbol("s"), { f() {} }, new WeakMap(), Promise.resolve()]) {
  throwsLike(() => structuredClone(bad), (e) => e instanceof DOMException && e.name === "DataCloneError" && e.code === 25, "DataCloneError");
}
throwsLike(() => structuredClone(), (e) => e instanceof TypeError, "no argument");
print("ok");
`)
}

func TestGlobalsAtobBtoa(t *testing.T) {
	runJS(t, `
eq(btoa("hello"), "aGVsbG8=", "btoa");
eq(btoa("\u00ff\u00e9"), "/+k=", "btoa Latin-1");
eq(btoa(""), "", "btoa empty");
eq(btoa(12), "MTI=", "btoa converts to string");
eq(atob("aGVsbG8="), "hello", "atob");
eq(atob(" aGVs bG8 "), "hello", "atob ignores ASCII whitespace");
eq(atob("aGVsbG8"), "hello", "atob without padding");
eq(atob("/+k="), "\u00ff\u00e9", "atob Latin-1");
const e = throwsLike(() => btoa("€"), (e) => e instanceof DOMException && e.name === "InvalidCharacterError" && e.code === 5, "btoa non-Latin-1");
eq(e instanceof Error, true, "DOMException is an Error");
throwsLike(() => atob("a"), (e) => e.name === "InvalidCharacterError", "atob bad length");
throwsLike(() => atob("aGVs*G8="), (e) => e.name === "InvalidCharacterError", "atob bad char");
throwsLike(() => atob(), (e) => e instanceof TypeError, "atob()");
print("ok");
`)
}

func TestGlobalsQueueMicrotask(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.js": `
const order = [];
setTimeout(() => order.push("timeout"), 0);
Promise.resolve().then(() => order.push("promise"));
queueMicrotask(() => order.push("micro1"));
queueMicrotask(() => { throw new Error("boom in microtask"); });
queueMicrotask(() => order.push("micro2"));
order.push("sync");
on("done", () => print(order.join(",")));
try { queueMicrotask("nope"); } catch (e) { print(e instanceof TypeError ? "TypeError" : "other"); }
`})
	r := runScriptd(t, dir, 30*time.Second, "run", "main.js")
	if got := outputLines(r.Stdout); strings.Join(got, "|") != "TypeError|sync,promise,micro1,micro2,timeout" {
		t.Fatalf("stdout %q, want TypeError then sync,promise,micro1,micro2,timeout\nstderr: %s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "boom in microtask") || !strings.Contains(r.Stderr, "main.js:6") {
		t.Fatalf("the microtask's error is not reported with its place:\n%s", r.Stderr)
	}
}

func TestGlobalsCrypto(t *testing.T) {
	runJS(t, `
const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ids = new Set();
for (let i = 0; i < 100; i++) {
  const id = crypto.randomUUID();
  if (!re.test(id)) fail("not a v4 UUID: " + id);
  ids.add(id);
}
eq(ids.size, 100, "distinct UUIDs");
const a = new Uint8Array(64);
eq(crypto.getRandomValues(a) === a, true, "returns its argument");
eq(a.some((x) => x !== 0), true, "filled");
const w = new Uint32Array(16);
crypto.getRandomValues(w);
eq(w.some((x) => x > 255), true, "fills every byte of wider elements");
const view = new Uint8Array(new ArrayBuffer(8), 2, 4);
crypto.getRandomValues(view);
eq(new Uint8Array(view.buffer, 0, 2).join() + new Uint8Array(view.buffer, 6, 2).join(), "0,00,0", "fills only the view");
crypto.getRandomValues(new Uint8Array(65536));
throwsLike(() => crypto.getRandomValues(new Uint8Array(65537)), (e) => e instanceof DOMException && e.name === "QuotaExceededError" && e.code === 22, "over 65536 bytes");
throwsLike(() => crypto.getRandomValues(new Float64Array(2)), (e) => e.name === "TypeMismatchError", "float array");
throwsLike(() => crypto.getRandomValues([1, 2]), (e) => e.name === "TypeMismatchError", "plain array");
print("ok");
`)
}

// require("buffer"), require("url"), require("util") and their node:
// names, as far as they work whichever module registry the engine uses.
func TestGlobalsRequireNodeModules(t *testing.T) {
	runJS(t, `
const { Buffer: B } = require("buffer");
eq(B.from("hi").toString("hex"), "6869", "require('buffer').Buffer");
eq(require("node:buffer").Buffer.from("aGk=", "base64").toString(), "hi", "node:buffer");
const { URL: U, URLSearchParams: P } = require("url");
eq(new U("http://x.example/a?b=1").searchParams.get("b"), "1", "require('url').URL");
eq(new P("a=1").get("a"), "1", "require('url').URLSearchParams");
eq(require("node:url").URL !== undefined, true, "node:url");
const util = require("util");
eq(util.format("%s has %d items", "list", 3), "list has 3 items", "util.format");
eq(require("node:util").format("%s", "x"), "x", "node:util");
print("ok");
`)
}

// Every global of SPEC §2 is defined, and the ones Node.js defines as
// classes are constructors.
func TestGlobalsAllDefined(t *testing.T) {
	runJS(t, `
for (const name of ["Buffer", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "Headers", "Request", "Response",
                    "AbortController", "AbortSignal", "DOMException", "Event", "EventTarget"]) {
  if (typeof globalThis[name] !== "function") fail(name + " is not a class");
}
for (const name of ["structuredClone", "atob", "btoa", "queueMicrotask", "fetch"]) {
  if (typeof globalThis[name] !== "function") fail(name + " is not a function");
}
eq(typeof crypto.randomUUID, "function", "crypto.randomUUID");
eq(typeof crypto.getRandomValues, "function", "crypto.getRandomValues");
eq(crypto instanceof Crypto, true, "crypto is a Crypto");
print("ok");
`)
}

// AbortController, AbortSignal, Event and EventTarget on their own.
func TestGlobalsAbortController(t *testing.T) {
	runJS(t, `
const c = new AbortController();
const seen = [];
c.signal.addEventListener("abort", (ev) => seen.push("listener:" + ev.type));
c.signal.onabort = () => seen.push("onabort");
eq(c.signal.aborted, false);
c.abort();
c.abort("again");
eq(c.signal.aborted, true, "aborted");
eq(seen.sort(), ["listener:abort", "onabort"], "listeners ran once");
eq([c.signal.reason instanceof DOMException, c.signal.reason.name, c.signal.reason.message], [true, "AbortError", "This operation was aborted"], "default reason");
throwsLike(() => c.signal.throwIfAborted(), (e) => e.name === "AbortError", "throwIfAborted");
const c2 = new AbortController();
c2.abort("why");
eq(c2.signal.reason, "why", "custom reason");
eq(AbortSignal.abort().aborted, true, "AbortSignal.abort");
throwsLike(() => new AbortSignal(), (e) => e instanceof TypeError, "no public constructor");
const t = AbortSignal.timeout(20);
const any = AbortSignal.any([new AbortController().signal, t]);
const started = Date.now();
t.addEventListener("abort", () => {
  eq([t.reason.name, t.reason.code, any.aborted, any.reason === t.reason], ["TimeoutError", 23, true, true], "timeout");
  if (Date.now() - started < 15) fail("timeout fired early");
  print("ok");
});
// The timer keeps the run alive only because of this interval.
const iv = setInterval(() => { if (t.aborted) clearInterval(iv); }, 5);
`)
}
