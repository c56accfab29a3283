// Package ext is everything an extension sees of the engine: the narrow
// interface through which Go code gives scripts globals (the Storage
// binding, the core globals, an embedder's own functions).
//
// An Extension is called once per version of the scripts (see package
// engine): at start-up, at every hot reload and after a runaway handler was
// interrupted, each time on a fresh goja runtime. It installs what it
// offers through the Host it is handed and may return a closer that runs
// when that version retires. State that must outlive a version belongs in
// storage or in the Go value that built the Extension, never in runtime
// objects.
//
// Concurrency: a Host belongs to the goroutine running its version's event
// loop ("the loop goroutine"). Every method is for the loop goroutine except
// those whose comment says otherwise (RunOnLoop, NetworkTime, Context, and
// the completion function RegisterCallback returns). The loop itself —
// running, stopping, its task queue — is not part of this interface.
//
// An embedder can also give scripts Go-native modules, loaded by name with
// require or import (engine.Config.Modules, see ModuleFactory), and any Go
// value through ToValue, SetValue or SetFunc: Go functions given these
// ways turn a panic into a JS Error the script can catch.
//
// Asynchronous work follows k6's RegisterCallback contract:
//
//	func (m *module) lookup(call goja.FunctionCall) goja.Value {
//		m.host.AssertAwaiting("Mod.lookup")        // refuse outside an awaiting context
//		promise, resolve, reject := m.host.Runtime().NewPromise()
//		complete := m.host.RegisterCallback()     // on the loop, before starting
//		go func() {
//			v, err := slowLookup(m.host.Context()) // any goroutine; ends at retirement
//			complete(func() {                      // exactly once, from any goroutine
//				if err != nil {
//					_ = reject(m.host.Runtime().NewGoError(err))
//					return
//				}
//				_ = resolve(v) // runs on the loop goroutine
//			})
//		}()
//		return m.host.Runtime().ToValue(promise)
//	}
package ext

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
)

// Extension installs globals into a fresh script runtime before its scripts
// load (loop goroutine). The returned closer (may be nil) runs when that
// version retires, also on the loop goroutine; it may RegisterCallback for
// work that must finish before the runtime is dropped (closing backends).
type Extension func(h Host) (closer func(), err error)

// AwaitingContext is the marker that makes code an awaiting context: it
// follows an async call across await and .then. Its NetworkTime is the
// network time of the event that began it while records drive network time
// (0 otherwise): work issued from it uses that time, so a replay computes
// expiry from the record's time however far reading has run ahead.
type AwaitingContext = eventloop.AwaitingContext

// Host is one version of the scripts as an extension sees it.
type Host interface {
	// Runtime is the version's goja runtime.
	Runtime() *goja.Runtime

	// Context ends when the version retires (reload, recovery from a
	// runaway handler, end of the run). Use it for Go work started on the
	// scripts' behalf, so work still pending at a reload is cancelled.
	// Safe from any goroutine.
	Context() context.Context

	// RegisterCallback reserves a completion for asynchronous work and
	// returns its completion function. Call RegisterCallback on the loop
	// goroutine before starting the work; call the returned function
	// exactly once, from any goroutine, with the code to run on the loop
	// (nil for none). Until then the version's loop keeps running (the run
	// does not end, a retiring version waits for it, within a bound). A
	// second call is ignored and logged; a completion arriving after the
	// version has retired is dropped.
	RegisterCallback() (complete func(fn func()))

	// RunOnLoop runs fn on the loop goroutine soon, without keeping the loop
	// alive (for notifications, such as a backend's lost connection, that
	// may never come). It reports false, and drops fn, once the version has
	// stopped. Safe from any goroutine.
	RunOnLoop(fn func()) bool

	// Func wraps a Go function for scripts: a Go panic inside it becomes a
	// JS Error the script can catch, never a crash; values thrown on
	// purpose (see Throw, ThrowTypeError) pass through unchanged.
	Func(name string, fn func(goja.FunctionCall) goja.Value) goja.Value

	// AssertAwaiting throws a JS Error naming fn unless the code running
	// now is in an awaiting context. Call it before doing any work.
	AssertAwaiting(fn string)

	// CurrentContext is the awaiting context in force, or nil.
	CurrentContext() *AwaitingContext

	// NewAwaitingContext makes a context named origin (e.g. "when
	// (a.js:3)") stamped with the current network time, for CallIn.
	NewAwaitingContext(origin string) *AwaitingContext

	// CallIn calls fn with ctx as the awaiting context (nil for none),
	// under the handler time limit; continuations registered inside it
	// stay in ctx.
	CallIn(ctx *AwaitingContext, fn goja.Callable, this goja.Value, args ...goja.Value) (goja.Value, error)

	// Invoke calls a script callback the way the runtime calls handlers
	// and timer callbacks: an async function runs in a fresh awaiting
	// context named origin, a plain one in none; a throw or a rejection is
	// reported with origin.
	Invoke(origin string, fn goja.Value, args ...goja.Value)

	// Emit queues an event for the scripts, behind the running handler
	// (Zeek's event statement).
	Emit(name string, args ...goja.Value)

	// NetworkTime is network time in epoch seconds (docs/cli.md: the largest ts
	// seen in input records, else the wall clock). Safe from any goroutine.
	NetworkTime() float64

	// AfterNetwork runs fn on the loop once d has elapsed in network time
	// while records drive it, in wall-clock time otherwise. The returned
	// function cancels it.
	AfterNetwork(d time.Duration, fn func()) (cancel func())

	// ReportError reports err on stderr the way handler errors are
	// reported, naming origin.
	ReportError(origin string, err error)

	// Logger is the engine's logger. Safe from any goroutine.
	Logger() *slog.Logger
}

// Throw throws err as a JS Error from inside a function made with
// Host.Func.
func Throw(vm *goja.Runtime, err error) {
	panic(vm.NewGoError(err))
}

// ThrowTypeError throws a JS TypeError from inside a function made with
// Host.Func.
func ThrowTypeError(vm *goja.Runtime, format string, args ...any) {
	panic(vm.NewTypeError(fmt.Sprintf(format, args...)))
}

// CallerLocation is the script position (file:line) of the JS code calling
// the current Go function, or "" when there is none.
func CallerLocation(vm *goja.Runtime) string {
	for _, f := range vm.CaptureCallStack(3, nil) {
		if f.SrcName() == "" || f.SrcName() == "<native>" {
			continue
		}
		return fmt.Sprintf("%s:%d", f.SrcName(), f.Position().Line)
	}
	return ""
}

// SetFunc defines a global function for scripts implemented in Go, wrapped
// with Host.Func (a panic becomes a JS Error). Loop goroutine only.
func SetFunc(h Host, name string, fn func(goja.FunctionCall) goja.Value) error {
	if err := h.Runtime().Set(name, h.Func(name, fn)); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}

// SetValue defines a global value, converted with ToValue (so a Go
// function in it that panics throws a JS Error the script can catch).
// Loop goroutine only.
func SetValue(h Host, name string, v any) error {
	if err := h.Runtime().Set(name, ToValue(h, name, v)); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}

// ModuleFactory makes a Go-native module: what scripts get from
// require(name) and import ... from "name", for the name it is registered
// under (engine.Config.Modules). It is called once per version of the
// scripts (at start-up, at each hot reload, after a runaway handler was
// interrupted: each time on a fresh runtime, as k6 makes its modules once
// per VU), on the loop goroutine, the first time a script of that version
// requires or imports the module; every later require of it in the
// version returns the same exports.
//
// It returns the module's exports, converted with ToValue: typically a
// map[string]any of Go functions and values (which becomes a plain object,
// so `import { f } from "name"`, `import * as m from "name"` and
// `const { f } = require("name")` all work, and `import m from "name"` is
// the whole object, as for any CommonJS module), or a *goja.Object built
// with h.Runtime(). A Go function reached through the exports that panics
// throws a JS Error the script can catch (see ToValue). An error (or a
// panic) makes the require or import that loaded the module throw.
//
// State: the module instance lives as long as its version; state that
// must outlive a reload belongs in storage or in the Go value that made
// the factory, never in runtime objects. h.Context() ends when the
// version retires: stop goroutines started for it there.
//
// Asynchronous functions follow the package's RegisterCallback contract
// (see the example at the top): check h.AssertAwaiting if the function
// must be called from an awaiting context, create the promise on the loop
// goroutine, reserve the completion with h.RegisterCallback before
// starting the Go work, and call the completion exactly once, from any
// goroutine, with the code that settles the promise (it runs on the loop;
// never touch the runtime from another goroutine). The reservation keeps
// the run alive until the completion comes, and a retiring version waits
// for it, within a bound.
type ModuleFactory func(h Host) (exports any, err error)

// ToValue converts a Go value for scripts as goja's Runtime.ToValue does,
// except that Go functions cannot take the loop down: a function — at the
// top, or a member of a map[string]any (at any depth), which becomes a
// plain JS object of converted members — is wrapped with Host.Func, so a
// Go panic inside it becomes a JS Error the script can catch (name, or
// name.member, says where), while values thrown on purpose (Throw,
// ThrowTypeError, a goja exception) pass through unchanged. A typed
// function (func(int) int, func(string) (T, error), ...) keeps goja's
// conversion of its arguments and results. goja values pass unchanged;
// functions reached through other Go values (struct methods, other map
// types) are converted by goja alone, so give scripts functions through a
// map[string]any or at the top. Loop goroutine only.
func ToValue(h Host, name string, v any) goja.Value {
	vm := h.Runtime()
	switch x := v.(type) {
	case nil:
		return goja.Undefined()
	case goja.Value:
		return x
	case func(goja.FunctionCall) goja.Value:
		return h.Func(name, x)
	case func(goja.FunctionCall, *goja.Runtime) goja.Value:
		return h.Func(name, func(call goja.FunctionCall) goja.Value { return x(call, vm) })
	case map[string]any:
		obj := vm.NewObject()
		for k, m := range x {
			_ = obj.Set(k, ToValue(h, name+"."+k, m))
		}
		return obj
	}
	if reflect.TypeOf(v).Kind() != reflect.Func {
		return vm.ToValue(v)
	}
	if reflect.ValueOf(v).IsNil() {
		return goja.Null()
	}
	// Let goja convert the arguments and results of the typed function, and
	// call it from inside a Host.Func: a panic unwinds through goja's call
	// (which restores its own state) into Host.Func's recover.
	inner, ok := goja.AssertFunction(vm.ToValue(v))
	if !ok {
		return vm.ToValue(v)
	}
	return h.Func(name, func(call goja.FunctionCall) goja.Value {
		ret, err := inner(call.This, call.Arguments...)
		if err != nil {
			panic(err) // a JS exception (or an interrupt) thrown inside: rethrown as is
		}
		return ret
	})
}
