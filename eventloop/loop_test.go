package eventloop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// harness gives a test a loop with an inCtx() probe and a record() sink.
type harness struct {
	t      *testing.T
	l      *Loop
	seen   map[string]bool
	errs   []CallbackError
	unhand []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, seen: map[string]bool{}}
	h.l = New(Options{
		OnCallbackError:      func(e CallbackError) { h.errs = append(h.errs, e) },
		OnUnhandledRejection: func(_ goja.Value, stack string) { h.unhand = append(h.unhand, stack) },
	})
	vm := h.l.Runtime()
	_ = vm.Set("record", func(name string) { h.seen[name] = h.l.InAwaitingContext() })
	return h
}

// run evaluates src in one task, then dispatches the global functions named
// in dispatch (in a second task each), and runs the loop until idle.
func (h *harness) run(src string, dispatch ...string) {
	h.t.Helper()
	err := h.l.Run(context.Background(), func() {
		if _, err := h.l.Runtime().RunString(src); err != nil {
			h.t.Fatalf("script: %v", err)
		}
		for _, name := range dispatch {
			fn := h.l.Runtime().Get(name).(*goja.Object)
			ret, err := h.l.Dispatch(name, fn)
			if err != nil {
				h.l.ReportError(name, err)
				continue
			}
			h.l.WatchPromise(name, ret)
		}
	})
	if err != nil {
		h.t.Fatalf("Run: %v", err)
	}
}

func (h *harness) want(name string, inCtx bool) {
	h.t.Helper()
	got, ok := h.seen[name]
	if !ok {
		h.t.Errorf("%s: never recorded", name)
		return
	}
	if got != inCtx {
		h.t.Errorf("%s: in awaiting context = %v, want %v", name, got, inCtx)
	}
}

func TestContextFollowsAwaitThenAndHelpers(t *testing.T) {
	h := newHarness(t)
	h.run(`
		function helper(tag) { record(tag); }
		async function handler() {
			record("sync-part");
			helper("helper-before-await");
			await null;
			record("after-await");
			await new Promise((r) => setTimeout(r, 1));
			record("after-timer-await");
			Promise.resolve(1).then(() => helper("then-helper"));
			await (async () => { await 1; record("nested-async"); })();
		}
		record("top-level");
		Promise.resolve().then(() => record("top-level-then"));
	`, "handler")
	h.want("top-level", false)
	h.want("top-level-then", false)
	h.want("sync-part", true)
	h.want("helper-before-await", true)
	h.want("after-await", true)
	h.want("after-timer-await", true)
	h.want("then-helper", true)
	h.want("nested-async", true)
}

func TestPlainFunctionIsNotAwaiting(t *testing.T) {
	h := newHarness(t)
	h.run(`function plain() { record("plain"); Promise.resolve().then(() => record("plain-then")); }`, "plain")
	h.want("plain", false)
	h.want("plain-then", false)
}

// The leak trap: goja drains promise jobs when the outermost JS call returns.
// If the loop called a handler at the top level with its context set, jobs
// queued by unrelated code (a thenable's then, which goja runs without
// Resumed/Exited) would run inside that context.
func TestContextDoesNotLeakIntoUnrelatedJobs(t *testing.T) {
	h := newHarness(t)
	h.run(`
		function plain() {
			Promise.resolve({ then(res) { record("unrelated-thenable"); res(); } });
		}
		async function handler() { record("handler"); await 1; record("handler-after"); }
	`, "plain", "handler")
	h.want("handler", true)
	h.want("handler-after", true)
	h.want("unrelated-thenable", false)
}

func TestAsyncMethodsAreAwaiting(t *testing.T) {
	h := newHarness(t)
	h.run(`
		const obj = { async m() { record("object-method"); await 1; record("object-method-after"); } };
		class C { async k() { record("class-method"); } static async s() { record("static-method"); } }
		const om = obj.m, ck = C.prototype.k, cs = C.s;
		const arrow = async () => record("async-arrow");
		const bound = (async function () { record("bound-async"); }).bind(null);
	`, "om", "ck", "cs", "arrow", "bound")
	h.want("object-method", true)
	h.want("object-method-after", true)
	h.want("class-method", true)
	h.want("static-method", true)
	h.want("async-arrow", true)
	// Documented limitation: a bound function shows no source, so it is plain.
	h.want("bound-async", false)
}

func TestTimerRule(t *testing.T) {
	h := newHarness(t)
	h.run(`
		setTimeout(() => record("plain-timer"), 1);
		setTimeout(async () => { record("async-timer"); await 1; record("async-timer-after"); }, 1);
		let n = 0;
		const iv = setInterval(async () => { if (++n === 2) { record("interval"); clearInterval(iv); } }, 1);
		setTimeout((a, b) => record("args-" + a + b), 2, "x", "y");
		const c = setTimeout(() => record("cancelled"), 1); clearTimeout(c);
	`)
	h.want("plain-timer", false)
	h.want("async-timer", true)
	h.want("async-timer-after", true)
	h.want("interval", true)
	h.want("args-xy", false)
	if _, ok := h.seen["cancelled"]; ok {
		t.Error("a cleared timer fired")
	}
}

func TestTimersFireInDeadlineOrder(t *testing.T) {
	h := newHarness(t)
	var order []string
	_ = h.l.Runtime().Set("push", func(s string) { order = append(order, s) })
	h.run(`setTimeout(() => push("c"), 30); setTimeout(() => push("a"), 1); setTimeout(() => push("b"), 1);`)
	if got := strings.Join(order, ""); got != "abc" {
		t.Fatalf("order %q, want abc", got)
	}
}

func TestErrorsAndRejectionsReported(t *testing.T) {
	h := newHarness(t)
	h.run(`
		function throws() { throw new Error("sync-boom"); }
		async function rejects() { await 1; throw new Error("async-boom"); }
		setTimeout(() => { throw new Error("timer-boom"); }, 1);
		Promise.reject(new Error("nobody-handles-me"));
		Promise.reject(new Error("handled-later")).catch(() => {});
	`, "throws", "rejects")
	var all []string
	for _, e := range h.errs {
		all = append(all, e.Origin+": "+e.Detail)
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"throws: Error: sync-boom", "rejects: Error: async-boom", "setTimeout callback: Error: timer-boom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reported errors lack %q:\n%s", want, joined)
		}
	}
	if len(h.unhand) != 1 || !strings.Contains(h.unhand[0], "nobody-handles-me") {
		t.Errorf("unhandled rejections = %q, want exactly the unhandled one", h.unhand)
	}
	// Stacks carry a location.
	if !strings.Contains(joined, ":") || !strings.Contains(h.unhand[0], "at ") {
		t.Errorf("no stack frames in reports: %s / %s", joined, h.unhand)
	}
}

func TestHostPanicBecomesJSError(t *testing.T) {
	h := newHarness(t)
	vm := h.l.Runtime()
	_ = vm.Set("boom", h.l.Func("boom", func(goja.FunctionCall) goja.Value { panic("go-side failure") }))
	var caught string
	_ = vm.Set("got", func(s string) { caught = s })
	h.run(`try { boom(); } catch (e) { got(String(e)); }`)
	if !strings.Contains(caught, "internal error in boom: go-side failure") {
		t.Fatalf("caught %q", caught)
	}
}

func TestReservationKeepsLoopAliveAndCompletesOnLoop(t *testing.T) {
	l := New(Options{})
	var loopDone bool
	var wg sync.WaitGroup
	release := make(chan struct{})
	err := l.Run(context.Background(), func() {
		complete := l.Reserve()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			complete(func() { loopDone = true })
			complete(func() { t.Error("second completion ran") })
		}()
		// Let the worker finish only after Run has had a chance to idle.
		time.AfterFunc(20*time.Millisecond, func() { close(release) })
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !loopDone {
		t.Fatal("Run returned before the reservation completed")
	}
	if l.Reserved() != 0 {
		t.Fatalf("reserved = %d", l.Reserved())
	}
}

func TestRunStopsOnContext(t *testing.T) {
	l := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	err := l.Run(ctx, func() {
		l.Reserve() // never completed
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSubmitAfterStop(t *testing.T) {
	l := New(Options{})
	l.Stop()
	if err := l.Submit(func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunawayRecursionIsRangeError(t *testing.T) {
	h := newHarness(t)
	h.run(`function f() { return f() + 1; } function deep() { f(); }`, "deep")
	if len(h.errs) != 1 || !strings.Contains(h.errs[0].Detail, "maximum call stack size exceeded") || !strings.Contains(h.errs[0].Detail, "<eval>:1") {
		t.Fatalf("errors = %+v", h.errs)
	}
}

func TestAssertAwaiting(t *testing.T) {
	h := newHarness(t)
	_ = h.l.Runtime().Set("guarded", h.l.Func("guarded", func(goja.FunctionCall) goja.Value {
		h.l.AssertAwaiting("Storage.Async.get")
		return goja.Undefined()
	}))
	var msgs []string
	_ = h.l.Runtime().Set("got", func(s string) { msgs = append(msgs, s) })
	h.run(`
		try { guarded(); got("no-throw"); } catch (e) { got(e.message); }
		async function a() { guarded(); got("ok"); }
	`, "a")
	if len(msgs) != 2 || !strings.Contains(msgs[0], "Storage.Async.get") || !strings.Contains(msgs[0], "awaiting context") || msgs[1] != "ok" {
		t.Fatalf("msgs = %q", msgs)
	}
}

// Completions arriving together run as one batch; each still runs exactly
// once, and a panicking one neither stops the others nor leaks its slot.
func TestCompletionsBatchAndSurvivePanics(t *testing.T) {
	l := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	const n = 1000
	ran := 0
	err := l.Run(context.Background(), func() {
		completes := make([]func(func()), n)
		for i := range completes {
			completes[i] = l.Reserve()
		}
		go func() {
			for i, c := range completes {
				if i == 500 {
					c(func() { panic("completion-bug") })
					continue
				}
				c(func() { ran++ })
			}
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if ran != n-1 || l.Reserved() != 0 {
		t.Fatalf("ran %d of %d, reserved %d", ran, n-1, l.Reserved())
	}
}

// TestAfterTaskRunsAfterTheTasksPromiseJobs: a task AfterTask queues runs
// once the task has returned and its promise jobs have drained, before the
// tasks queued meanwhile; the ones it queues follow it, in order.
func TestAfterTaskRunsAfterTheTasksPromiseJobs(t *testing.T) {
	l := New(Options{})
	vm := l.Runtime()
	var order []string
	_ = vm.Set("push", func(s string) { order = append(order, s) })
	err := l.Run(context.Background(), func() {
		_ = l.Submit(func() { order = append(order, "submitted") })
		l.AfterTask(func() {
			order = append(order, "after1")
			l.AfterTask(func() { order = append(order, "after3") })
			if _, err := vm.RunString(`Promise.resolve().then(() => push("job2"))`); err != nil {
				t.Error(err)
			}
		})
		l.AfterTask(func() { order = append(order, "after2") })
		if _, err := vm.RunString(`Promise.resolve().then(() => push("job1")); push("task")`); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Outside a task, AfterTask is Submit.
	l.AfterTask(func() { order = append(order, "outside") })
	if err := l.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := "task,job1,after1,job2,after2,after3,submitted,outside"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
}
