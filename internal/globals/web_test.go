package globals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/ext"
)

// testHost is an ext.Host over a bare event loop: enough to run the
// globals without the engine (which imports this package).
type testHost struct {
	loop   *eventloop.Loop
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

var _ ext.Host = (*testHost)(nil)

func (h *testHost) Runtime() *goja.Runtime         { return h.loop.Runtime() }
func (h *testHost) Context() context.Context       { return h.ctx }
func (h *testHost) RegisterCallback() func(func()) { return h.loop.Reserve() }
func (h *testHost) RunOnLoop(fn func()) bool       { return h.loop.Submit(fn) == nil }
func (h *testHost) Func(name string, fn func(goja.FunctionCall) goja.Value) goja.Value {
	return h.loop.Func(name, fn)
}
func (h *testHost) AssertAwaiting(fn string)             { h.loop.AssertAwaiting(fn) }
func (h *testHost) CurrentContext() *ext.AwaitingContext { return h.loop.Current() }
func (h *testHost) NewAwaitingContext(o string) *ext.AwaitingContext {
	return &eventloop.AwaitingContext{Origin: o}
}
func (h *testHost) CallIn(c *ext.AwaitingContext, fn goja.Callable, this goja.Value, args ...goja.Value) (goja.Value, error) {
	return h.loop.CallIn(c, fn, this, args...)
}
func (h *testHost) Invoke(origin string, fn goja.Value, args ...goja.Value) {
	if _, err := h.loop.Dispatch(origin, fn.(*goja.Object), args...); err != nil {
		h.ReportError(origin, err)
	}
}
func (h *testHost) Emit(string, ...goja.Value) {}
func (h *testHost) NetworkTime() float64       { return float64(time.Now().UnixNano()) / 1e9 }
func (h *testHost) AfterNetwork(d time.Duration, fn func()) func() {
	t := time.AfterFunc(d, func() { h.loop.Submit(fn) })
	return func() { t.Stop() }
}
func (h *testHost) ReportError(origin string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errors = append(h.errors, origin+": "+eventloop.ErrorDetail(err))
}
func (h *testHost) Logger() *slog.Logger { return slog.Default() }

func (h *testHost) reported() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errors...)
}

// newTestRuntime builds a loop with a require registry (RegisterNodeModules
// wired as the engine should), the core globals and then extra extensions.
func newTestRuntime(t *testing.T, extra ...ext.Extension) (*testHost, *bytes.Buffer, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &testHost{loop: eventloop.New(eventloop.Options{}), ctx: ctx}
	var out bytes.Buffer
	h.loop.RunTask(func() {
		reg := require.NewRegistry()
		RegisterNodeModules(reg)
		reg.Enable(h.Runtime())
		if _, err := Extension(Config{Stdout: &out, Stderr: &out, Logs: NewLogs(t.TempDir())})(h); err != nil {
			t.Fatal(err)
		}
		for _, e := range extra {
			if _, err := e(h); err != nil {
				t.Fatal(err)
			}
		}
	})
	return h, &out, cancel
}

// runScript runs src on h's loop until it is idle and returns what it
// printed.
func runScript(t *testing.T, h *testHost, out *bytes.Buffer, src string) string {
	t.Helper()
	var runErr error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.loop.Run(ctx, func() {
		_, runErr = h.Runtime().RunScript("test.js", testAsserts+src)
	}); err != nil {
		t.Fatalf("run: %v\noutput: %s", err, out.String())
	}
	if runErr != nil {
		t.Fatalf("script: %v\noutput: %s", eventloop.ErrorDetail(runErr), out.String())
	}
	return out.String()
}

const testAsserts = `
function fail(msg) { throw new Error(msg); }
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail((what || "value") + ": got " + g + ", want " + w);
}
function done(p) { p.then(() => print("ok"), (e) => print("FAILED: " + (e && e.stack || e))); }
`

func wantOK(t *testing.T, h *testHost, got string) {
	t.Helper()
	if strings.TrimSpace(got) != "ok" {
		t.Fatalf("output %q", got)
	}
	if errs := h.reported(); len(errs) > 0 {
		t.Fatalf("errors reported: %v", errs)
	}
}

// With RegisterNodeModules wired, require() returns the very objects the
// globals are, and util is Node's.
func TestRequireNodeModules(t *testing.T) {
	h, out, _ := newTestRuntime(t)
	got := runScript(t, h, out, `
eq(require("buffer").Buffer === Buffer, true, "buffer.Buffer is the global");
eq(require("node:buffer") === require("buffer"), true, "node:buffer");
eq(require("buffer").atob("aGk="), "hi", "buffer.atob");
eq(require("buffer").isUtf8(new Uint8Array([0xc3, 0x28])), false, "buffer.isUtf8");
eq(require("url").URL === URL && require("node:url").URLSearchParams === URLSearchParams, true, "url");
eq(require("url").fileURLToPath("file:///tmp/a%20b"), "/tmp/a b", "fileURLToPath");
eq(require("url").pathToFileURL("/tmp/a b").href, "file:///tmp/a%20b", "pathToFileURL");
const util = require("util");
eq(require("node:util") === util, true, "node:util");
eq(util.format("%s=%d %j", "a", 1, { b: 2 }), 'a=1 {"b":2}', "format");
eq(util.inspect({ a: [1, { b: "x" }] }), "{ a: [ 1, { b: 'x' } ] }", "inspect");
eq(util.inspect({ a: { b: { c: { d: 1 } } } }, { depth: 0 }), "{ a: [Object] }", "inspect depth");
eq(util.inspect(Buffer.from("hi")), "<Buffer 68 69>", "inspect a Buffer");
eq(util.inspect(new URL("http://x.example/p")), "URL { href: 'http://x.example/p' }", "inspect a URL");
eq([util.isDeepStrictEqual({ a: [1, new Map([[1, 2]])] }, { a: [1, new Map([[1, 2]])] }), util.isDeepStrictEqual([1], ["1"]), util.isDeepStrictEqual(NaN, NaN)], [true, false, true], "isDeepStrictEqual");
eq([util.types.isDate(new Date()), util.types.isUint8Array(Buffer.alloc(1)), util.types.isPromise({ then() {} }), util.types.isRegExp(/x/), util.types.isAsyncFunction(async () => {})], [true, true, false, true, true], "types");
eq(util.TextEncoder === TextEncoder && util.TextDecoder === TextDecoder, true, "util.TextEncoder/TextDecoder");
function Base() {}
Base.prototype.hi = () => "hi";
function Derived() {}
util.inherits(Derived, Base);
eq(new Derived().hi(), "hi", "inherits");
const cbStyle = (a, cb) => setTimeout(() => (a < 0 ? cb(new Error("neg")) : cb(null, a * 2)), 1);
done((async () => {
  eq(await util.promisify(cbStyle)(21), 42, "promisify");
  let rejected = false;
  try { await util.promisify(cbStyle)(-1); } catch (e) { rejected = e.message === "neg"; }
  eq(rejected, true, "promisify rejects");
  const back = await new Promise((res) => util.callbackify(async (x) => x + 1)(1, (err, v) => res([err, v])));
  eq(back, [null, 2], "callbackify");
})());
`)
	wantOK(t, h, got)
}

func TestFetchPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "reached") }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	cases := []struct {
		name    string
		opts    FetchOptions
		allowed bool
		message string
	}{
		{"default", FetchOptions{}, true, ""},
		{"host", FetchOptions{AllowNet: []string{"127.0.0.1"}}, true, ""},
		{"host:port", FetchOptions{AllowNet: []string{"127.0.0.1:" + port}}, true, ""},
		{"other port", FetchOptions{AllowNet: []string{"127.0.0.1:1"}}, false, "network access to 127.0.0.1:" + port + " is not allowed (allowed: 127.0.0.1:1)"},
		{"cidr", FetchOptions{AllowNet: []string{"127.0.0.0/8"}}, true, ""},
		{"other host", FetchOptions{AllowNet: []string{"example.com", "*.example.org"}}, false, "is not allowed (allowed: example.com, *.example.org)"},
		{"star", FetchOptions{AllowNet: []string{"*"}}, true, ""},
		{"deny", FetchOptions{DenyNet: true}, false, "network access is disabled for scripts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, out, _ := newTestRuntime(t, FetchExtension(c.opts))
			got := runScript(t, h, out, `fetch(`+fmt.Sprintf("%q", srv.URL)+`).then((r) => r.text()).then(print, (e) => print(e.name + ": " + e.message));`)
			if c.allowed && strings.TrimSpace(got) != "reached" {
				t.Fatalf("want the request through, got %q", got)
			}
			if !c.allowed && (!strings.HasPrefix(got, "TypeError: fetch failed: GET "+srv.URL+"/: ") || !strings.Contains(got, c.message)) {
				t.Fatalf("want a TypeError with %q, got %q", c.message, got)
			}
		})
	}
	if err := (FetchOptions{AllowNet: []string{"a b"}}).Validate(); err == nil {
		t.Error("an invalid AllowNet entry validated")
	}
	for _, ok := range []string{"example.com", "example.com:8080", "[::1]:80", "::1", "*.example.com", "10.0.0.0/8", "*"} {
		if err := (FetchOptions{AllowNet: []string{ok}}).Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// A redirect to a host outside AllowNet is refused.
func TestFetchPolicyOnRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://forbidden.invalid/", http.StatusFound)
	}))
	defer srv.Close()
	h, out, _ := newTestRuntime(t, FetchExtension(FetchOptions{AllowNet: []string{"127.0.0.1"}}))
	got := runScript(t, h, out, `fetch(`+fmt.Sprintf("%q", srv.URL)+`).then((r) => print("reached"), (e) => print(e.message));`)
	if !strings.Contains(got, "redirect to http://forbidden.invalid/: network access to forbidden.invalid:80 is not allowed") {
		t.Fatalf("got %q", got)
	}
}

// The version retiring (its context ending) cancels a pending fetch: the
// request is abandoned on the wire and the promise rejects with an
// AbortError; the loop never blocks meanwhile.
func TestFetchCancelledWhenTheVersionRetires(t *testing.T) {
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(gone)
	}))
	defer srv.Close()
	h, out, cancel := newTestRuntime(t)
	time.AfterFunc(200*time.Millisecond, cancel)
	got := runScript(t, h, out, `fetch(`+fmt.Sprintf("%q", srv.URL)+`).then(() => print("resolved"), (e) => print(e.name, e.message));`)
	if !strings.HasPrefix(got, "AbortError ") || !strings.Contains(got, "reloaded or are shutting down") {
		t.Fatalf("got %q", got)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the request end")
	}
}

// Many concurrent fetches complete through their reservations (run with
// -race: the HTTP exchanges run off the loop).
func TestFetchConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s:%s", r.URL.Query().Get("i"), b)
	}))
	defer srv.Close()
	h, out, _ := newTestRuntime(t)
	got := runScript(t, h, out, `
const jobs = [];
for (let i = 0; i < 50; i++) {
  jobs.push(fetch(`+fmt.Sprintf("%q", srv.URL)+` + "/?i=" + i, { method: "POST", body: "b" + i }).then((r) => r.text()));
}
done(Promise.all(jobs).then((texts) => texts.forEach((t, i) => eq(t, i + ":b" + i, "response " + i))));
`)
	wantOK(t, h, got)
}

// An exception in an event listener or a queueMicrotask callback is
// reported and does not stop the others.
func TestCallbackErrorsAreReported(t *testing.T) {
	h, out, _ := newTestRuntime(t)
	got := runScript(t, h, out, `
const c = new AbortController();
c.signal.addEventListener("abort", () => { throw new Error("listener boom"); });
c.signal.addEventListener("abort", () => print("second listener"));
c.abort();
queueMicrotask(() => { throw new Error("micro boom"); });
`)
	if strings.TrimSpace(got) != "second listener" {
		t.Fatalf("output %q", got)
	}
	errs := strings.Join(h.reported(), "\n")
	if !strings.Contains(errs, "abort event listener: Error: listener boom") || !strings.Contains(errs, "queueMicrotask callback (test.js:") || !strings.Contains(errs, "micro boom") {
		t.Fatalf("reported: %s", errs)
	}
}

func TestUTF8Decode(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte("plain"), "plain"},
		{[]byte{0xe2, 0x82, 0xac}, "€"},
		{[]byte{0xf0, 0x9f, 0x98, 0x80}, "\U0001F600"},
		{[]byte{0xe2, 0x82, 0x41}, "\uFFFDA"},            // truncated sequence: one U+FFFD
		{[]byte{0xc0, 0x80}, "\uFFFD\uFFFD"},             // overlong
		{[]byte{0xed, 0xa0, 0x80}, "\uFFFD\uFFFD\uFFFD"}, // surrogate
		{[]byte{0xf4, 0x90, 0x80, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{[]byte{0xf0, 0x9f, 0x98}, "\uFFFD"},
	}
	for _, c := range cases {
		units, _, ok := utf8Decode(nil, c.in, false, false)
		if got := goja.StringFromUTF16(units).String(); !ok || got != c.want {
			t.Errorf("%x: got %q, want %q", c.in, got, c.want)
		}
		if _, _, ok := utf8Decode(nil, c.in, false, true); ok != (!strings.ContainsRune(c.want, 0xFFFD)) {
			t.Errorf("%x: fatal ok=%v", c.in, ok)
		}
	}
	units, rest, _ := utf8Decode(nil, []byte{0x41, 0xf0, 0x9f}, true, false)
	if len(units) != 1 || !bytes.Equal(rest, []byte{0xf0, 0x9f}) {
		t.Errorf("stream: units %v rest %x", units, rest)
	}
}

func TestForgivingBase64(t *testing.T) {
	for in, want := range map[string]string{"": "", "YQ==": "a", "YQ": "a", " Y Q = = ": "a", "YWI=": "ab", "YWJj": "abc", "YR==": "a"} {
		got, ok := forgivingBase64Decode(in)
		if !ok || string(got) != want {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"Y", "YQ=", "YQ===", "Y*Q=", "YQ==YQ==", "-_=="} {
		if _, ok := forgivingBase64Decode(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestUnrefTimerDroppedAtRetirement(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHost{loop: eventloop.New(eventloop.Options{}), ctx: ctx}
	fired := make(chan struct{}, 1)
	unrefTimer(h, 50*time.Millisecond, func() { fired <- struct{}{} })
	cancel()
	runCtx, stop := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer stop()
	for runCtx.Err() == nil {
		_ = h.loop.Run(runCtx, nil)
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-fired:
		t.Fatal("a timer of a retired version fired")
	default:
	}
	if !errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		t.Fatal(runCtx.Err())
	}
}

// BenchmarkInstall measures what the core globals cost each version of the
// scripts (start-up, every reload).
func BenchmarkInstall(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		h := &testHost{loop: eventloop.New(eventloop.Options{}), ctx: context.Background()}
		h.loop.RunTask(func() {
			_, _ = Extension(Config{Stdout: io.Discard, Stderr: io.Discard, Logs: NewLogs(dir)})(h)
		})
	}
}
