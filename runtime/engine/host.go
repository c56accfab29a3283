package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/ext"
)

// host is the ext.Host of one version: what extensions and the core
// globals see of the engine. See package ext for the contract.
type host struct{ v *version }

var _ ext.Host = host{}

func (h host) Runtime() *goja.Runtime         { return h.v.loop.Runtime() }
func (h host) Context() context.Context       { return h.v.ctx }
func (h host) Logger() *slog.Logger           { return h.v.e.log }
func (h host) NetworkTime() float64           { return h.v.e.clock.Now() }
func (h host) AssertAwaiting(fn string)       { h.v.loop.AssertAwaiting(fn) }
func (h host) RunOnLoop(fn func()) bool       { return h.v.loop.Submit(fn) == nil }
func (h host) RegisterCallback() func(func()) { return h.v.loop.Reserve() }

func (h host) CurrentContext() *ext.AwaitingContext { return h.v.loop.Current() }

func (h host) Func(name string, fn func(goja.FunctionCall) goja.Value) goja.Value {
	return h.v.loop.Func(name, fn)
}

func (h host) NewAwaitingContext(origin string) *ext.AwaitingContext {
	return &eventloop.AwaitingContext{Origin: origin, NetworkTime: h.v.e.clock.Stamp()}
}

func (h host) CallIn(ctx *ext.AwaitingContext, fn goja.Callable, this goja.Value, args ...goja.Value) (goja.Value, error) {
	return h.v.loop.CallIn(ctx, fn, this, args...)
}

func (h host) Emit(name string, args ...goja.Value) { h.v.enqueue(name, args) }

func (h host) AfterNetwork(d time.Duration, fn func()) (cancel func()) {
	return h.v.afterNetwork(d, func() { h.v.loop.RunTask(fn) })
}

func (h host) ReportError(origin string, err error) { h.v.loop.ReportError(origin, err) }

func (h host) Invoke(origin string, fn goja.Value, args ...goja.Value) {
	obj, ok := fn.(*goja.Object)
	if !ok {
		h.v.loop.ReportError(origin, fmt.Errorf("%s: not a function", origin))
		return
	}
	ret, err := h.v.loop.Dispatch(origin, obj, args...)
	if err != nil {
		h.v.loop.ReportError(origin, err)
		return
	}
	h.v.loop.WatchPromise(origin, ret)
}
