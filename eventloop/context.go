package eventloop

import (
	"fmt"
	"regexp"

	"github.com/dop251/goja"
)

// AwaitingContext is an awaiting context (docs/scripts.md): it is current while an async
// function the runtime dispatched runs, and goja's AsyncContextTracker carries
// it into every await and .then continuation registered while it is current.
type AwaitingContext struct {
	// What made it: e.g. `handler "dns"`, "timer", "when".
	Origin string
	// NetworkTime is network time when the context began, while input
	// records drive it (0 when live or unknown).
	// Work issued from the context's continuations uses it, so a replay
	// computes expiry from the time of the event, however far reading
	// has run ahead while the work was awaited.
	NetworkTime float64
}

// tracker implements goja.AsyncContextTracker. goja calls Grab when a promise
// reaction is registered and Resumed/Exited around running it; the calls never
// nest, so Exited simply clears.
type tracker struct {
	cur  *AwaitingContext
	loop *Loop
}

func (t *tracker) Grab() any { return t.cur }

// Resumed runs before each promise job: a job is an entry into script code
// for the watchdog.
func (t *tracker) Resumed(obj any) {
	t.cur, _ = obj.(*AwaitingContext)
	t.loop.tick()
}

func (t *tracker) Exited() { t.cur = nil }

// Current returns the awaiting context in force, or nil (loop goroutine only).
func (l *Loop) Current() *AwaitingContext { return l.tracker.cur }

// InAwaitingContext reports whether the code running now is in an awaiting
// context (loop goroutine only).
func (l *Loop) InAwaitingContext() bool { return l.tracker.cur != nil }

// AssertAwaiting throws a JS Error naming fn unless the caller is in an
// awaiting context. Call it from host functions before doing any work.
func (l *Loop) AssertAwaiting(fn string) {
	if l.tracker.cur == nil {
		panic(l.vm.NewGoError(fmt.Errorf("%s must be called from an awaiting context (an async event handler or timer callback, a when() condition, or their await/.then continuations)", fn)))
	}
}

// CallIn calls fn with ctx as the current awaiting context (nil for none)
// and restores the previous one afterwards. The call is nested inside the
// current task, so promise jobs do not run inside it. Each call starts a new
// handler time for the watchdog. On a broken loop it returns ErrBroken
// without calling fn. Loop goroutine only.
func (l *Loop) CallIn(ctx *AwaitingContext, fn goja.Callable, this goja.Value, args ...goja.Value) (ret goja.Value, err error) {
	if l.broken {
		return nil, ErrBroken
	}
	l.tick()
	prev := l.tracker.cur
	l.tracker.cur = ctx
	defer func() {
		l.tracker.cur = prev
		if err != nil {
			if _, ok := err.(*goja.InterruptedError); ok {
				// The interrupt flag stays set until the task unwinds:
				// nothing more can run in this task, nor safely after it.
				l.markBroken()
			}
		}
	}()
	return fn(this, args...)
}

// CallHandler is CallIn for a handler named origin: work it starts outside
// an awaiting context (a plain handler) is still counted as its pending
// work (see Loop.Pending). Loop goroutine only.
func (l *Loop) CallHandler(origin string, ctx *AwaitingContext, fn goja.Callable, args ...goja.Value) (goja.Value, error) {
	prev := l.callOrigin
	l.callOrigin = origin
	ret, err := l.CallIn(ctx, fn, goja.Undefined(), args...)
	l.callOrigin = prev
	return ret, err
}

// Dispatch calls a script callback the way the runtime calls handlers and
// timer callbacks: an async function runs in a fresh awaiting context named
// origin, a plain function in none.
func (l *Loop) Dispatch(origin string, fn *goja.Object, args ...goja.Value) (goja.Value, error) {
	call, ok := goja.AssertFunction(fn)
	if !ok {
		return nil, fmt.Errorf("%s: not a function", origin)
	}
	var ctx *AwaitingContext
	if IsAsyncFunction(l.vm, fn) {
		ctx = &AwaitingContext{Origin: origin}
		if l.opts.Clock != nil {
			ctx.NetworkTime = l.opts.Clock()
		}
	}
	return l.CallHandler(origin, ctx, call, args...)
}

// asyncSource matches the source text of async functions, arrows and
// methods. goja gives async methods ({ async m() {} }, class methods) no
// AsyncFunction prototype, so the prototype check alone misses them; their
// source text always starts with "async". A bound async function shows
// native code and counts as plain.
var asyncSource = regexp.MustCompile(`^\s*(?:static\s+)?async\b`)

// IsAsyncFunction reports whether fn is an async function, arrow or method.
func IsAsyncFunction(vm *goja.Runtime, fn *goja.Object) bool {
	if fn == nil {
		return false
	}
	if fn.ClassName() == "AsyncFunction" {
		return true
	}
	return asyncSource.MatchString(fn.String())
}
