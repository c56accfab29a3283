package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/input"
)

// dispatches is an Observer passing on the name of every event dispatched
// to its handlers: the signal that they have run. Its buffer must hold all
// the dispatches of a test (Observer methods must not block).
type dispatches chan string

func newDispatches() dispatches { return make(dispatches, 64) }

func (d dispatches) EventDispatched(name string, _ int, _ time.Duration) { d <- name }
func (dispatches) HandlerError(string)                                   {}
func (dispatches) Reload(bool)                                           {}

// await waits until the events names have been dispatched, in this order
// (other events in between are passed over).
func (d dispatches) await(t *testing.T, names ...string) {
	t.Helper()
	timeout := time.After(testutil.DefaultTimeout)
	for _, want := range names {
		for got := ""; got != want; {
			select {
			case got = <-d:
			case <-timeout:
				t.Fatalf("timed out waiting for the dispatch of %q", want)
			}
		}
	}
}

// engineRun is an engine running in the background with KeepAlive, its
// stdout captured and its dispatches signalled.
type engineRun struct {
	*Engine
	ctx        context.Context // Run's; stop ends it
	out        *testutil.Buffer
	dispatched dispatches
	stop       func() // cancel Run and wait for it, failing the test on its error
}

// startEngine runs New(cfg) in the background; the test's cleanup stops it
// if the test did not.
func startEngine(t *testing.T, cfg Config) *engineRun {
	t.Helper()
	r := &engineRun{out: &testutil.Buffer{}, dispatched: newDispatches()}
	cfg.Stdout, cfg.Stderr, cfg.KeepAlive, cfg.Observer = r.out, &testutil.Buffer{}, true, r.dispatched
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { runErr = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	r.Engine, r.ctx = e, ctx
	r.stop = func() {
		t.Helper()
		cancel()
		<-done
		if runErr != nil {
			t.Fatalf("Run: %v", runErr)
		}
	}
	return r
}

// writeScripts creates a script directory from name → source.
func writeScripts(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type runResult struct {
	stdout, stderr string
}

func runEngine(t *testing.T, cfg Config) runResult {
	t.Helper()
	var out, errb testutil.Buffer
	cfg.Stdout, cfg.Stderr = &out, &errb
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return runResult{stdout: out.String(), stderr: errb.String()}
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestPrioritiesEmitOrderAndOff(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		const order = [];
		on("e", () => order.push("p0"));
		on("e", () => { order.push("p10"); emit("nested"); order.push("p10-after-emit"); }, { priority: 10 });
		on("e", () => order.push("p-5"), { priority: -5 });
		const off = on("e", () => order.push("removed"));
		off();
		on("nested", () => order.push("nested"));
		on("init", () => { emit("e"); order.push("init-after-emit"); });
		on("done", () => print(order.join(",")));
	`})
	r := runEngine(t, Config{Paths: []string{dir}})
	want := "init-after-emit,p10,p10-after-emit,p0,p-5,nested"
	if got := strings.TrimSpace(r.stdout); got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
}

func TestHandlerErrorsAreIsolatedAndLocated(t *testing.T) {
	dir := writeScripts(t, map[string]string{"h.js": `
		on("init", () => { throw new Error("first-fails"); });
		on("init", () => print("second-runs"));
		on("init", async () => { await null; throw new Error("async-fails"); });
		on("init", () => { throw "a-string"; });
	`})
	r := runEngine(t, Config{Paths: []string{dir}})
	if !strings.Contains(r.stdout, "second-runs") {
		t.Errorf("second handler did not run: %q", r.stdout)
	}
	for _, want := range []string{"first-fails", "h.js:2", "async-fails", "h.js:4", `handler for "init" (`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// A thrown non-Error has no stack: the handler's registration locates it.
	if !strings.Contains(r.stderr, "h.js:5") || !strings.Contains(r.stderr, "a-string") {
		t.Errorf("string throw not located:\n%s", r.stderr)
	}
}

// TestEmittedEventsRunAfterTheHandlersPromiseJobs: an emitted event is
// dispatched after the handler that emitted it and that task's promise
// jobs — the bodies of its when()s whose condition is a plain value
// included, as Zeek runs such a body inline before the events the handler
// raised — and, for an input record, before the next record.
func TestEmittedEventsRunAfterTheHandlersPromiseJobs(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(in, []byte(`{"_path":"rec","ts":1}`+"\n"+`{"_path":"rec","ts":2}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeScripts(t, map[string]string{"a.js": `
		const order = [];
		on("e", () => { order.push("e"); emit("f"); Promise.resolve().then(() => order.push("e-job")); });
		on("f", () => order.push("f"));
		on("init", () => {
			emit("e");
			when(() => 1, () => { order.push("when-body"); when(() => 2, () => order.push("nested-when-body")); });
			order.push("init-end");
		});
		on("rec", (r) => {
			order.push("rec" + r.ts);
			if (r.ts === 1) { emit("x"); when(() => 0, () => order.push("rec1-when-body")); }
		});
		on("x", () => order.push("x"));
		on("done", () => print(order.join(",")));
	`})
	r := runEngine(t, Config{Paths: []string{dir}, Inputs: []input.Spec{{Path: in}}})
	want := "init-end,when-body,nested-when-body,e,e-job,f,rec1,rec1-when-body,x,rec2"
	if got := strings.TrimSpace(r.stdout); got != want {
		t.Fatalf("order = %s\nwant    %s", got, want)
	}
}

func TestInitSettlesBeforeInputAndDoneAfterPendingWork(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(in, []byte(`{"_path":"rec","ts":1}`+"\n"+`{"_path":"rec","ts":2}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeScripts(t, map[string]string{"a.js": `
		const log = [];
		on("init", async () => { await new Promise((r) => setTimeout(r, 20)); log.push("init-settled"); });
		on("rec", async (r) => {
			log.push("rec" + r.ts);
			await new Promise((res) => setTimeout(res, 10));
			log.push("rec-late" + r.ts);
		});
		on("done", () => print(log.join(",")));
	`})
	r := runEngine(t, Config{Paths: []string{dir}, Inputs: []input.Spec{{Path: in}}})
	got := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(got, "init-settled,rec1,rec2") || !strings.Contains(got, "rec-late1") || !strings.Contains(got, "rec-late2") {
		t.Fatalf("log = %s", got)
	}
}

func TestAwaitingContextThroughRuntime(t *testing.T) {
	// Storage.Async is a host function asserting the context; here a stand-in
	// global with the same assertion shows which call sites count.
	dir := writeScripts(t, map[string]string{"a.js": `
		const res = {};
		function probe(name) { try { needsCtx(); res[name] = true; } catch (e) { res[name] = /awaiting context/.test(e.message) ? false : "wrong-error"; } }
		probe("top");
		on("init", () => probe("sync-handler"));
		on("init", async () => {
			probe("async-handler");
			await null;
			probe("after-await");
			Promise.resolve().then(() => probe("then"));
		});
		const obj = { async method() { probe("async-method"); } };
		on("init", obj.method);
		on("init", () => {
			when(() => { probe("when-cond"); return 1; }, () => probe("when-body"));
			setTimeout(() => probe("plain-timer"), 1);
			setTimeout(async () => probe("async-timer"), 1);
		});
		on("done", () => print(JSON.stringify(res, Object.keys(res).sort())));
	`})
	cfg := Config{Paths: []string{dir}, Extensions: []ext.Extension{func(h ext.Host) (func(), error) {
		return nil, h.Runtime().Set("needsCtx", h.Func("needsCtx", func(goja.FunctionCall) goja.Value {
			h.AssertAwaiting("needsCtx")
			return nil
		}))
	}}}
	r := runEngine(t, cfg)
	want := `{"after-await":true,"async-handler":true,"async-method":true,"async-timer":true,"plain-timer":false,"sync-handler":false,"then":true,"top":false,"when-body":true,"when-cond":true}`
	if got := strings.TrimSpace(r.stdout); got != want {
		t.Fatalf("contexts:\n got %s\nwant %s\nstderr: %s", got, want, r.stderr)
	}
}

func TestWhenTimeout(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		on("init", async () => {
			const v = await when(() => new Promise(() => {}), () => "body", { timeout: "20ms", timeout_body: () => "timed-out" });
			const w = await when(async () => 41, (x) => x + 1, { timeout: 5 });
			print(v, w);
		});
	`})
	r := runEngine(t, Config{Paths: []string{dir}})
	if got := strings.TrimSpace(r.stdout); got != "timed-out 42" {
		t.Fatalf("got %q, stderr %s", got, r.stderr)
	}
}

func TestRequireRelativeAndModuleScope(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"10-main.js":  `const lib = require("./lib/util"); const x = "main"; on("done", () => print(lib.twice(21), x));`,
		"20-other.js": `const x = "other";`, // same name, own scope
		"lib/util.js": `exports.twice = (n) => n * 2;`,
	})
	r := runEngine(t, Config{Paths: []string{dir}})
	if got := strings.TrimSpace(r.stdout); got != "42 main" {
		t.Fatalf("got %q stderr %s", got, r.stderr)
	}
}

func TestLoadErrorNamesFileAndLine(t *testing.T) {
	dir := writeScripts(t, map[string]string{"bad.js": "\n\nthrow new Error('top-level-throw');\n"})
	_, err := New(Config{Paths: []string{dir}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "bad.js:3") || !strings.Contains(err.Error(), "top-level-throw") {
		t.Fatalf("err = %v", err)
	}
	dir2 := writeScripts(t, map[string]string{"syn.js": "let x = ;\n"})
	_, err = New(Config{Paths: []string{dir2}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "syn.js") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckReportsEverySyntaxError(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"a.js":     "let ok = 1;\n",
		"b.js":     "let x = ;\n",
		"c.js":     "\n\nfunction (\n",
		"lib/d.js": "}\n",
	})
	errs, err := Check([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, filepath.Base(e.File)+":"+itoa(e.Line)+":"+itoa(e.Col))
	}
	want := []string{"b.js:1:9", "c.js:3:10", "d.js:1:1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("positions = %v, want %v (%v)", got, want, errs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLogWriteAndPrint(t *testing.T) {
	logDir := t.TempDir()
	dir := writeScripts(t, map[string]string{"a.js": `
		on("init", () => {
			Log.write("notice", { note: "X", n: 1 });
			Log.write("notice", { note: "Y", n: 2 });
			print("fmt", 1, { a: 1 }, [1, "x"], true, null, undefined);
			console.log("%s=%d", "n", 5, { b: [1, 2] });
		});
	`})
	r := runEngine(t, Config{Paths: []string{dir}, LogDir: logDir})
	b, err := os.ReadFile(filepath.Join(logDir, "notice.log"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"note":"X","n":1}`+"\n"+`{"note":"Y","n":2}`+"\n" {
		t.Fatalf("notice.log = %q", b)
	}
	out := lines(r.stdout)
	if out[0] != `fmt 1 {"a":1} [1,"x"] true null undefined` || out[1] != `n=5 { b: [ 1, 2 ] }` {
		t.Fatalf("stdout = %q", out)
	}
}

func TestNetworkTimeFollowsRecords(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.json")
	data := `{"_path":"r","ts":100.5}` + "\n" + `{"_path":"r","ts":"2018-03-24T17:15:20.5Z"}` + "\n" + `{"_path":"r","ts":50}` + "\n"
	if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeScripts(t, map[string]string{"a.js": `const seen = []; on("r", () => seen.push(network_time())); on("done", () => print(seen.join(" ")));`})
	r := runEngine(t, Config{Paths: []string{dir}, Inputs: []input.Spec{{Path: in}}})
	if got := strings.TrimSpace(r.stdout); got != "100.5 1521911720.5 1521911720.5" {
		t.Fatalf("network times %q", got)
	}
}

func TestShutdownOnContextRunsDone(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		setInterval(() => {}, 5);
		on("done", () => print("done-ran"));
	`})
	r := startEngine(t, Config{Paths: []string{dir}})
	// Cancel a running engine: init has run and the interval keeps it busy.
	r.dispatched.await(t, "init")
	r.stop()
	if strings.TrimSpace(r.out.String()) != "done-ran" {
		t.Fatalf("stdout %q", r.out.String())
	}
}

func TestEmitFromGoroutine(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `on("ext", (a, b) => print("got", a, b.k));`})
	r := startEngine(t, Config{Paths: []string{dir}})
	if err := r.Emit("ext", 1, map[string]any{"k": "v"}); err != nil { // not Run's goroutine
		t.Fatal(err)
	}
	r.dispatched.await(t, "ext")
	r.stop()
	if strings.TrimSpace(r.out.String()) != "got 1 v" {
		t.Fatalf("stdout %q", r.out.String())
	}
}

func TestEmitBeforeRunWaitsForInit(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		const log = [];
		on("init", async () => { await new Promise((r) => setTimeout(r, 10)); log.push("init"); });
		on("ext", (n) => log.push("ext" + n));
		on("done", () => print(log.join(",")));
	`})
	var out testutil.Buffer
	e, err := New(Config{Paths: []string{dir}, Stdout: &out, Stderr: &testutil.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := e.Emit("ext", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "init,ext1,ext2" {
		t.Fatalf("order %q", got)
	}
}

func TestEmitJSONKeepsKeyOrderAndSpreads(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		on("one", (o) => print(JSON.stringify(o), Object.keys(o.nested).join("")));
		on("many", (a, b, c) => print(a, b, JSON.stringify(c)));
	`})
	r := startEngine(t, Config{Paths: []string{dir}})
	if err := r.EmitJSON(r.ctx, "one", []byte(`{"z":1,"a":[1,{"y":2,"b":3}],"nested":{"q":1,"c":2,"m":3}}`), false); err != nil {
		t.Fatal(err)
	}
	if err := r.EmitJSON(r.ctx, "many", []byte(`[1,"two",{"k":[]}]`), true); err != nil {
		t.Fatal(err)
	}
	r.dispatched.await(t, "one", "many")
	r.stop()
	want := `{"z":1,"a":[1,{"y":2,"b":3}],"nested":{"q":1,"c":2,"m":3}} qcm` + "\n" + `1 two {"k":[]}` + "\n"
	if r.out.String() != want {
		t.Fatalf("got %q\nwant %q", r.out.String(), want)
	}
}

// EmitJSON returns only when in-flight work is under MaxInFlight: with a
// bound of 1 and a handler that holds a reservation until released, a second
// EmitJSON blocks until the release.
func TestEmitJSONBackpressure(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `on("work", async () => { await hold(); });`})
	release := make(chan struct{})
	hold := func(h ext.Host) (func(), error) {
		return nil, ext.SetFunc(h, "hold", func(goja.FunctionCall) goja.Value {
			p, resolve, _ := h.Runtime().NewPromise()
			complete := h.RegisterCallback()
			go func() { <-release; complete(func() { _ = resolve(goja.Undefined()) }) }()
			return h.Runtime().ToValue(p)
		})
	}
	r := startEngine(t, Config{Paths: []string{dir}, MaxInFlight: 1, Extensions: []ext.Extension{hold}})
	second := make(chan error, 1)
	go func() {
		if err := r.EmitJSON(r.ctx, "work", []byte(`1`), false); err != nil {
			second <- err
			return
		}
		second <- r.EmitJSON(r.ctx, "work", []byte(`2`), false)
	}()
	// Both handlers holding means the loop has taken the second event and
	// decided on its EmitJSON with the only slot held: it must not have
	// returned.
	r.dispatched.await(t, "work", "work")
	select {
	case err := <-second:
		t.Fatalf("second EmitJSON returned while the first held the only slot: %v", err)
	default:
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	r.stop()
}
