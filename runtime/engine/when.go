package engine

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/storagefw"
)

// installWhen defines when(condition, body, {timeout, timeout_body}) (SPEC §4).
func (v *version) installWhen() {
	vm := v.loop.Runtime()
	_ = vm.GlobalObject().Set("when", v.loop.Func("when", func(call goja.FunctionCall) goja.Value {
		cond, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			v.loop.ThrowTypeError("when: the condition must be a function")
		}
		body, ok := goja.AssertFunction(call.Argument(1))
		if !ok {
			v.loop.ThrowTypeError("when: the body must be a function")
		}
		var timeout time.Duration
		var timeoutBody goja.Callable
		if o, isObj := call.Argument(2).(*goja.Object); isObj {
			if t := o.Get("timeout"); t != nil && !goja.IsUndefined(t) {
				d, err := storagefw.ParseInterval(t.Export(), 0)
				if err != nil {
					v.loop.ThrowTypeError("when: timeout: %v", err)
				}
				timeout = d
			}
			if tb := o.Get("timeout_body"); tb != nil && !goja.IsUndefined(tb) {
				if timeoutBody, ok = goja.AssertFunction(tb); !ok {
					v.loop.ThrowTypeError("when: timeout_body must be a function")
				}
			}
		}
		origin := "when"
		if where := callerLocation(vm); where != "" {
			origin += " (" + where + ")"
		}
		return v.when(origin, cond, body, timeout, timeoutBody)
	}))
}

// when runs condition in an awaiting context, awaits its value and runs
// body, unless the timeout (network time while replaying) elapses first.
func (v *version) when(origin string, cond, body goja.Callable, timeout time.Duration, timeoutBody goja.Callable) goja.Value {
	vm := v.loop.Runtime()
	promise, resolve, reject := vm.NewPromise()
	ctx := &eventloop.AwaitingContext{Origin: origin, NetworkTime: v.e.clock.Stamp()}
	finished := false
	var cancelTimer func()
	finish := func(fn goja.Callable, args ...goja.Value) {
		if finished {
			return
		}
		finished = true
		if cancelTimer != nil {
			cancelTimer()
		}
		if fn == nil {
			_ = resolve(goja.Undefined())
			return
		}
		res, err := v.loop.CallIn(ctx, fn, goja.Undefined(), args...)
		if err != nil {
			if ex, ok := err.(*goja.Exception); ok {
				_ = reject(ex.Value())
			} else {
				_ = reject(vm.NewGoError(err))
			}
			return
		}
		_ = resolve(res)
	}
	if timeout > 0 {
		cancelTimer = v.afterNetwork(timeout, func() { v.loop.RunTask(func() { finish(timeoutBody) }) })
	}
	condVal, err := v.loop.CallIn(ctx, cond, goja.Undefined())
	if err != nil {
		finished = true
		if cancelTimer != nil {
			cancelTimer()
		}
		if ex, ok := err.(*goja.Exception); ok {
			_ = reject(ex.Value())
		} else {
			_ = reject(vm.NewGoError(err))
		}
		return vm.ToValue(promise)
	}
	// Await the condition's value: Promise.resolve(condVal).then(...), registered
	// inside the context so the continuation is in it too.
	promiseCtor := vm.Get("Promise").(*goja.Object)
	resolveFn, _ := goja.AssertFunction(promiseCtor.Get("resolve"))
	wrapped, err := v.loop.CallIn(ctx, resolveFn, promiseCtor, condVal)
	if err != nil {
		v.loop.ReportError(origin, err)
		return vm.ToValue(promise)
	}
	wobj := wrapped.(*goja.Object)
	then, _ := goja.AssertFunction(wobj.Get("then"))
	onOK := v.loop.Func("when", func(c goja.FunctionCall) goja.Value {
		finish(body, c.Argument(0))
		return goja.Undefined()
	})
	onErr := v.loop.Func("when", func(c goja.FunctionCall) goja.Value {
		if !finished {
			finished = true
			if cancelTimer != nil {
				cancelTimer()
			}
			_ = reject(c.Argument(0))
		}
		return goja.Undefined()
	})
	if _, err := v.loop.CallIn(ctx, then, wobj, onOK, onErr); err != nil {
		v.loop.ReportError(origin, fmt.Errorf("when: %w", err))
	}
	return vm.ToValue(promise)
}

// afterNetwork runs fn once d has elapsed: in network time while input
// records drive it (a replay), else in wall-clock time. The wall timer keeps
// the loop alive; a network timer is kept alive by the input reading.
func (v *version) afterNetwork(d time.Duration, fn func()) (cancel func()) {
	if !v.e.clock.FromInput() || !v.e.inputsRunning {
		return v.loop.AfterFunc(d, fn)
	}
	t := &netTimer{at: v.e.clock.Now() + d.Seconds(), fn: fn}
	heap.Push(&v.netTimers, t)
	return func() { t.fn = nil }
}

// runNetTimers fires network timers that are due (network time advanced).
func (v *version) runNetTimers() {
	now := v.e.clock.Now()
	for v.netTimers.Len() > 0 && v.netTimers[0].at <= now {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn != nil {
			t.fn()
		}
	}
}

// inputsEnded moves pending network timers to wall-clock time for what is
// left of their duration: there are no more records to advance time.
func (v *version) inputsEnded() {
	now := v.e.clock.Now()
	for v.netTimers.Len() > 0 {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn == nil {
			continue
		}
		fn := t.fn
		left := time.Duration((t.at - now) * float64(time.Second))
		cancel := v.loop.AfterFunc(max(left, 0), fn)
		t.fn = nil
		_ = cancel
	}
}

// fireNetTimersAtEnd runs network timers still pending when the run ends
// early (shutdown): Zeek expires pending timers at termination.
func (v *version) fireNetTimersAtEnd() {
	for v.netTimers.Len() > 0 {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn != nil {
			t.fn()
		}
	}
}

type netTimer struct {
	at float64
	fn func()
}

type netTimerQueue []*netTimer

func (q netTimerQueue) Len() int           { return len(q) }
func (q netTimerQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q netTimerQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *netTimerQueue) Push(x any)        { *q = append(*q, x.(*netTimer)) }
func (q *netTimerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}
