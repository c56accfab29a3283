package eventloop

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// watched is a loop under a running watchdog with the given limit.
func watched(t *testing.T, limit time.Duration) (*harness, *atomic.Int32) {
	t.Helper()
	h := newHarness(t)
	var broken atomic.Int32
	h.l.opts.OnBroken = func() { broken.Add(1) }
	wd := NewWatchdog(limit)
	unwatch := wd.Watch(h.l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wd.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; unwatch() })
	return h, &broken
}

func TestWatchdogInterruptsRunawayCallback(t *testing.T) {
	h, broken := watched(t, 50*time.Millisecond)
	start := time.Now()
	h.run(`function spin() { while (true) {} }`, "spin")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("interrupt took %v", d)
	}
	if len(h.errs) != 1 || !h.errs[0].Interrupted || h.errs[0].Origin != "spin" ||
		!strings.Contains(h.errs[0].Detail, "handler time limit of 50ms") || !strings.Contains(h.errs[0].Detail, "<eval>:1") {
		t.Fatalf("errors = %+v", h.errs)
	}
	if !h.l.Broken() || broken.Load() != 1 {
		t.Fatalf("broken = %v, OnBroken calls = %d", h.l.Broken(), broken.Load())
	}
	// A broken loop runs no more script code, silently.
	fn := h.l.Runtime().Get("spin").(*goja.Object)
	if _, err := h.l.Dispatch("again", fn); !errors.Is(err, ErrBroken) {
		t.Fatalf("dispatch on a broken loop: %v", err)
	}
	h.l.ReportError("again", ErrBroken)
	if len(h.errs) != 1 {
		t.Fatalf("ErrBroken was reported: %+v", h.errs)
	}
}

// A continuation that spins after an await runs in the job queue: the
// interrupt unwinds the whole task; it is reported once, with the
// continuation's origin.
func TestWatchdogInterruptsRunawayContinuation(t *testing.T) {
	h, broken := watched(t, 50*time.Millisecond)
	h.run(`async function handler() { await null; while (true) {} }`, "handler")
	if len(h.errs) != 1 || !h.errs[0].Interrupted || h.errs[0].Origin != "handler" {
		t.Fatalf("errors = %+v", h.errs)
	}
	if !h.l.Broken() || broken.Load() != 1 {
		t.Fatal("loop not broken")
	}
}

// A long task made of many short callbacks is not interrupted: the limit
// applies to each callback and continuation, not to the task.
func TestWatchdogTimesEachCallback(t *testing.T) {
	h, broken := watched(t, 200*time.Millisecond)
	vm := h.l.Runtime()
	fn, err := vm.RunString(`(function () { const end = Date.now() + 30; while (Date.now() < end) {} })`)
	if err != nil {
		t.Fatal(err)
	}
	call, _ := goja.AssertFunction(fn)
	h.l.RunTask(func() {
		for range 12 { // ~360 ms in one task
			if _, err := h.l.CallIn(nil, call, goja.Undefined()); err != nil {
				t.Fatalf("callback: %v", err)
			}
		}
	})
	if h.l.Broken() || broken.Load() != 0 || len(h.errs) != 0 {
		t.Fatalf("interrupted: %+v", h.errs)
	}
}

// A loop that is idle (waiting for a reservation) is never interrupted.
func TestWatchdogIgnoresIdleLoop(t *testing.T) {
	h, broken := watched(t, 20*time.Millisecond)
	var complete func(func())
	h.l.RunTask(func() { complete = h.l.Reserve() })
	time.AfterFunc(150*time.Millisecond, func() { complete(nil) }) // the loop idles meanwhile
	if err := h.l.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	h.run(`function ok() { record("ran"); }`, "ok")
	h.want("ran", false)
	if h.l.Broken() || broken.Load() != 0 {
		t.Fatal("idle loop was interrupted")
	}
}

// An interrupt aimed at a task that has already ended is not delivered, so
// it cannot land on the next task.
func TestLateInterruptIsDropped(t *testing.T) {
	h := newHarness(t)
	h.l.RunTask(func() {})
	stale := h.l.beat.Load()
	if stale&1 != 0 {
		t.Fatalf("beat %d: busy after the task", stale)
	}
	h.l.RunTask(func() {
		if h.l.interruptIfStill(stale|1, &TimeLimitError{}) {
			t.Error("interrupted a task that had ended")
		}
	})
	h.run(`function ok() { record("ran"); }`, "ok")
	h.want("ran", false)
	if h.l.Broken() || len(h.errs) != 0 {
		t.Fatalf("broken %v, errors %+v", h.l.Broken(), h.errs)
	}
}

func TestStopTimers(t *testing.T) {
	h := newHarness(t)
	h.l.RunTask(func() {
		if _, err := h.l.Runtime().RunString(`setInterval(() => record("interval"), 1)`); err != nil {
			t.Fatal(err)
		}
		h.l.StopTimers()
		if _, err := h.l.Runtime().RunString(`var id = setTimeout(() => record("late"), 1); clearTimeout(id);`); err != nil {
			t.Fatal(err)
		}
		h.l.AfterFunc(time.Millisecond, func() { h.seen["after"] = true })
	})
	if n := h.l.PendingTimers(); n != 0 {
		t.Fatalf("%d timers pending after StopTimers", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := h.l.Run(ctx, nil); err != nil {
		t.Fatalf("Run: %v (timers keep the loop alive)", err)
	}
	if len(h.seen) != 0 {
		t.Fatalf("timers fired: %v", h.seen)
	}
}
