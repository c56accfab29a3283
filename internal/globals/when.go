package globals

import (
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/storagefw"
)

// installWhen defines when(condition, body, {timeout, timeout_body}) (docs/scripts.md).
func installWhen(h ext.Host) {
	vm := h.Runtime()
	_ = vm.GlobalObject().Set("when", h.Func("when", func(call goja.FunctionCall) goja.Value {
		cond, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			ext.ThrowTypeError(vm, "when: the condition must be a function")
		}
		body, ok := goja.AssertFunction(call.Argument(1))
		if !ok {
			ext.ThrowTypeError(vm, "when: the body must be a function")
		}
		var timeout time.Duration
		var timeoutBody goja.Callable
		if o, isObj := call.Argument(2).(*goja.Object); isObj {
			if t := o.Get("timeout"); t != nil && !goja.IsUndefined(t) {
				d, err := storagefw.ParseInterval(t.Export(), 0)
				if err != nil {
					ext.ThrowTypeError(vm, "when: timeout: %v", err)
				}
				timeout = d
			}
			if tb := o.Get("timeout_body"); tb != nil && !goja.IsUndefined(tb) {
				if timeoutBody, ok = goja.AssertFunction(tb); !ok {
					ext.ThrowTypeError(vm, "when: timeout_body must be a function")
				}
			}
		}
		origin := "when"
		if where := ext.CallerLocation(vm); where != "" {
			origin += " (" + where + ")"
		}
		return when(h, origin, cond, body, timeout, timeoutBody)
	}))
}

// when runs condition in an awaiting context, awaits its value and runs
// body, unless the timeout (network time while replaying) elapses first.
func when(h ext.Host, origin string, cond, body goja.Callable, timeout time.Duration, timeoutBody goja.Callable) goja.Value {
	vm := h.Runtime()
	promise, resolve, reject := vm.NewPromise()
	ctx := h.NewAwaitingContext(origin)
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
		res, err := h.CallIn(ctx, fn, goja.Undefined(), args...)
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
		cancelTimer = h.AfterNetwork(timeout, func() { finish(timeoutBody) })
	}
	condVal, err := h.CallIn(ctx, cond, goja.Undefined())
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
	wrapped, err := h.CallIn(ctx, resolveFn, promiseCtor, condVal)
	if err != nil {
		h.ReportError(origin, err)
		return vm.ToValue(promise)
	}
	wobj := wrapped.(*goja.Object)
	then, _ := goja.AssertFunction(wobj.Get("then"))
	onOK := h.Func("when", func(c goja.FunctionCall) goja.Value {
		finish(body, c.Argument(0))
		return goja.Undefined()
	})
	onErr := h.Func("when", func(c goja.FunctionCall) goja.Value {
		if !finished {
			finished = true
			if cancelTimer != nil {
				cancelTimer()
			}
			_ = reject(c.Argument(0))
		}
		return goja.Undefined()
	})
	if _, err := h.CallIn(ctx, then, wobj, onOK, onErr); err != nil {
		h.ReportError(origin, fmt.Errorf("when: %w", err))
	}
	return vm.ToValue(promise)
}
