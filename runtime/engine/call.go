package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/input"
)

// ErrNoHandler is Call's error when no handler is registered for the event.
var ErrNoHandler = errors.New("no handler is registered for the event")

// HandlerError is Call's error when a handler threw or rejected.
type HandlerError struct {
	Origin  string // the handler: `handler for "lookup" (a.js:3)`
	Message string // the thrown value's message (first line)
}

func (e *HandlerError) Error() string { return e.Origin + ": " + e.Message }

// callRequest is an inbox item that wants its handlers' result.
type callRequest struct {
	args   []any  // Go arguments (Call), or
	json   []byte // JSON text (CallJSON)
	spread bool
	asJSON bool
	result chan callResult // buffered (1): the loop never blocks on it
}

type callResult struct {
	value   any             // Call: the result exported to Go
	jsonVal json.RawMessage // CallJSON: the result as JSON text
	err     error
}

// Call fires the event name with args, like Emit, and waits for its result:
// the first value other than undefined returned (and awaited) by its
// handlers in priority order, exported to Go (nil when every handler
// returned undefined). It returns ErrNoHandler when none is registered, a
// *HandlerError when one threw or rejected, and ctx's error when ctx ends
// first (the event is still handled). Safe from any goroutine; HTTP's
// POST /v1/call/{name} is CallJSON.
func (e *Engine) Call(ctx context.Context, name string, args ...any) (any, error) {
	res, err := e.call(ctx, name, &callRequest{args: args})
	return res.value, err
}

// CallJSON is Call with the arguments as JSON text (one value, or with
// spread an array's elements, parsed with the scripts' JSON.parse) and the
// result as JSON text ("null" for none).
func (e *Engine) CallJSON(ctx context.Context, name string, raw []byte, spread bool) (json.RawMessage, error) {
	res, err := e.call(ctx, name, &callRequest{json: raw, spread: spread, asJSON: true})
	return res.jsonVal, err
}

func (e *Engine) call(ctx context.Context, name string, req *callRequest) (callResult, error) {
	if input.ReservedEvent(name) {
		return callResult{}, fmt.Errorf("call %q: %w", name, ErrReservedEvent)
	}
	req.result = make(chan callResult, 1)
	if err := e.in.post(inItem{name: name, call: req}); err != nil {
		return callResult{}, err
	}
	select {
	case r := <-req.result:
		return r, r.err
	case <-ctx.Done():
		return callResult{}, ctx.Err()
	}
}

// deliverCall dispatches a call's event and answers it once every handler
// has settled (loop goroutine).
func (v *version) deliverCall(name string, req *callRequest) {
	var args []goja.Value
	if req.json != nil {
		vals, err := v.parseJSONArgs(req.json, req.spread)
		if err != nil {
			req.result <- callResult{err: err}
			return
		}
		args = vals
	} else {
		vm := v.loop.Runtime()
		for _, a := range req.args {
			args = append(args, vm.ToValue(a))
		}
	}
	list := v.events.handlers(name)
	if len(list) == 0 {
		req.result <- callResult{err: fmt.Errorf("call %q: %w", name, ErrNoHandler)}
		return
	}
	v.e.metrics.events.Add(1)
	outcomes := make([]callOutcome, len(list))
	pending := 1
	settle := func() {
		pending--
		if pending == 0 {
			req.result <- v.callAnswer(list, outcomes, req.asJSON)
		}
	}
	for i, h := range list {
		if h.removed {
			continue
		}
		if h.orderBy != nil {
			// Ordered calls run in their lane; their values are not collected.
			pending++
			v.runOrdered(h, args, settle)
			continue
		}
		var ctx *eventloop.AwaitingContext
		if h.ctx != nil {
			ctx = &eventloop.AwaitingContext{Origin: h.origin, NetworkTime: v.e.clock.Stamp()}
		}
		ret, err := v.loop.CallHandler(h.origin, ctx, h.call, args...)
		if err != nil {
			v.handlerError(h.origin, err)
			outcomes[i].err = &HandlerError{Origin: h.origin, Message: eventloop.ErrorDetail(err)}
			if v.loop.Broken() {
				req.result <- callResult{err: outcomes[i].err}
				return
			}
			continue
		}
		pending++
		v.awaitValue(h.origin, ret, &outcomes[i], settle)
	}
	settle()
}

// callOutcome is one handler's part of a call.
type callOutcome struct {
	value goja.Value
	err   error
}

// awaitValue records ret's settled value (or rejection) in out, then runs
// fn (at once for a value that is not a promise).
func (v *version) awaitValue(origin string, ret goja.Value, out *callOutcome, fn func()) {
	p, ok := ret.Export().(*goja.Promise)
	if !ok {
		out.value = ret
		fn()
		return
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		out.value = p.Result()
		fn()
		return
	case goja.PromiseStateRejected:
		v.loop.ReportRejection(origin, p.Result())
		out.err = &HandlerError{Origin: origin, Message: rejectionMessage(p.Result())}
		fn()
		return
	}
	obj := ret.(*goja.Object)
	then, _ := goja.AssertFunction(obj.Get("then"))
	onOK := v.loop.Func("settled", func(c goja.FunctionCall) goja.Value {
		out.value = c.Argument(0)
		fn()
		return goja.Undefined()
	})
	onErr := v.loop.Func("settled", func(c goja.FunctionCall) goja.Value {
		v.loop.ReportRejection(origin, c.Argument(0))
		out.err = &HandlerError{Origin: origin, Message: rejectionMessage(c.Argument(0))}
		fn()
		return goja.Undefined()
	})
	if _, err := v.loop.CallIn(nil, then, obj, onOK, onErr); err != nil {
		v.handlerError(origin, err)
		out.err = &HandlerError{Origin: origin, Message: eventloop.ErrorDetail(err)}
		fn()
	}
}

func rejectionMessage(reason goja.Value) string {
	d := eventloop.ErrorStack(nil, reason)
	for i := 0; i < len(d); i++ {
		if d[i] == '\n' {
			return d[:i]
		}
	}
	return d
}

// callAnswer picks a call's result: the first error, else the first value
// other than undefined, in priority order (loop goroutine).
func (v *version) callAnswer(list []*handler, outcomes []callOutcome, asJSON bool) callResult {
	for _, o := range outcomes {
		if o.err != nil {
			return callResult{err: o.err}
		}
	}
	var val goja.Value
	for _, o := range outcomes {
		if o.value != nil && !goja.IsUndefined(o.value) {
			val = o.value
			break
		}
	}
	if !asJSON {
		if val == nil {
			return callResult{}
		}
		return callResult{value: val.Export()}
	}
	if val == nil {
		return callResult{jsonVal: json.RawMessage("null")}
	}
	line, err := stringifyValue(v.loop.Runtime(), val)
	if err != nil {
		return callResult{err: &HandlerError{Origin: "the result", Message: err.Error()}}
	}
	return callResult{jsonVal: json.RawMessage(line)}
}

// stringifyValue renders v with JSON.stringify; a value JSON cannot render
// is an error.
func stringifyValue(vm *goja.Runtime, v goja.Value) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the result cannot be written as JSON")
		}
	}()
	stringify, _ := goja.AssertFunction(vm.Get("JSON").(*goja.Object).Get("stringify"))
	out, jerr := stringify(goja.Undefined(), v)
	if jerr != nil {
		return "", fmt.Errorf("the result cannot be written as JSON: %s", eventloop.ErrorDetail(jerr))
	}
	if out == nil || goja.IsUndefined(out) {
		return "null", nil
	}
	return out.String(), nil
}
