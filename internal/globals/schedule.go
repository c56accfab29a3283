package globals

import (
	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/storagefw"
)

// installSchedule defines schedule(interval, fn, ...args): Zeek's schedule,
// calling fn(...args) once network time has advanced by interval, and
// returning a function that cancels it. An async fn is an awaiting context.
func installSchedule(h ext.Host) {
	vm := h.Runtime()
	_ = vm.GlobalObject().Set("schedule", h.Func("schedule", func(call goja.FunctionCall) goja.Value {
		d, err := storagefw.ParseInterval(call.Argument(0).Export(), -1)
		if err != nil || d < 0 || call.Argument(0) == nil || goja.IsUndefined(call.Argument(0)) {
			msg := `the interval must be seconds or a string such as "5s" or "1 hr"`
			if err != nil {
				msg = err.Error()
			}
			ext.ThrowTypeError(vm, "schedule: %s", msg)
		}
		fn := call.Argument(1)
		if _, ok := goja.AssertFunction(fn); !ok {
			ext.ThrowTypeError(vm, "schedule: the second argument must be a function")
		}
		args := append([]goja.Value(nil), call.Arguments[min(2, len(call.Arguments)):]...)
		origin := "schedule callback"
		if where := ext.CallerLocation(vm); where != "" {
			origin += " (" + where + ")"
		}
		cancel := h.AfterNetwork(d, func() { h.Invoke(origin, fn, args...) })
		return h.Func("cancel schedule", func(goja.FunctionCall) goja.Value {
			cancel()
			return goja.Undefined()
		})
	}))
}
