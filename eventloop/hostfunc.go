package eventloop

import (
	"fmt"
	"runtime/debug"

	"github.com/dop251/goja"
)

// Func wraps a host function so a Go panic inside it becomes a JS Error
// (catchable by the script) instead of crashing the process. JS values
// thrown on purpose (panic(vm.NewGoError(err)), panic(vm.ToValue(x)),
// goja exceptions and interrupts) pass through unchanged.
func (l *Loop) Func(name string, fn func(goja.FunctionCall) goja.Value) goja.Value {
	return l.vm.ToValue(func(call goja.FunctionCall) (ret goja.Value) {
		defer func() {
			if r := recover(); r != nil {
				panic(l.toJSPanic(name, r))
			}
		}()
		return fn(call)
	})
}

func (l *Loop) toJSPanic(name string, r any) any {
	switch r.(type) {
	case goja.Value, *goja.Exception, *goja.InterruptedError, *goja.StackOverflowError:
		return r
	}
	l.log.Error("eventloop: panic in host function", "function", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return l.vm.NewGoError(fmt.Errorf("internal error in %s: %v", name, r))
}

// Throw throws err as a JS Error from inside a host function.
func (l *Loop) Throw(err error) {
	panic(l.vm.NewGoError(err))
}

// ThrowTypeError throws a JS TypeError from inside a host function.
func (l *Loop) ThrowTypeError(format string, args ...any) {
	panic(l.vm.NewTypeError(fmt.Sprintf(format, args...)))
}
