package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/input"
)

// handler is one on() registration.
type handler struct {
	event    string
	call     goja.Callable
	priority int
	seq      uint64
	ctx      *eventloop.AwaitingContext // non-nil for async handlers (each call gets its own)
	origin   string                     // `handler for "dns" (file.js:3)`
	removed  bool

	// orderBy, if set, keys the handler's calls: calls with equal keys run
	// one after another (see runOrdered); lanes holds the keys with a call
	// running, and the calls waiting behind it.
	orderBy goja.Callable
	lanes   map[string]*lane
}

// lane is the calls of an ordered handler for one key: one running, the
// rest waiting in arrival order. Each waiting call holds a reservation on
// the loop, so waiting calls count against --max-in-flight (a hot key
// applies backpressure instead of growing memory) and as pending work at
// shutdown and reload.
type lane struct {
	waiting []orderedCall
}

type orderedCall struct {
	args    []goja.Value
	settled func() // the dispatch's settle callback, or nil
	start   func(func())
}

// registry maps event names to handlers, highest priority first, then in
// registration order. Slices are replaced, never mutated, so a dispatch in
// progress keeps iterating its snapshot when handlers are added or removed.
type registry struct {
	byName map[string][]*handler
	seq    uint64
}

func (r *registry) add(h *handler) {
	if r.byName == nil {
		r.byName = make(map[string][]*handler)
	}
	r.seq++
	h.seq = r.seq
	old := r.byName[h.event]
	list := make([]*handler, len(old), len(old)+1)
	copy(list, old)
	list = append(list, h)
	sort.SliceStable(list, func(i, j int) bool { return list[i].priority > list[j].priority })
	r.byName[h.event] = list
}

func (r *registry) remove(h *handler) {
	if h.removed {
		return
	}
	h.removed = true
	old := r.byName[h.event]
	list := make([]*handler, 0, len(old))
	for _, x := range old {
		if x != h {
			list = append(list, x)
		}
	}
	if len(list) == 0 {
		delete(r.byName, h.event)
		return
	}
	r.byName[h.event] = list
}

func (r *registry) handlers(event string) []*handler { return r.byName[event] }

// queuedEvent is an emitted event waiting for the current handler to return.
type queuedEvent struct {
	name string
	args []goja.Value
}

// handlerOptions reads on()'s options; an unknown key is a TypeError
// naming it and the known ones (a typo must not pass silently).
func (v *version) handlerOptions(h *handler, o *goja.Object) {
	for _, k := range o.Keys() {
		switch k {
		case "priority":
			if p := o.Get(k); !goja.IsUndefined(p) {
				h.priority = int(p.ToInteger())
			}
		case "order_by":
			if f := o.Get(k); !goja.IsUndefined(f) {
				ob, ok := goja.AssertFunction(f)
				if !ok {
					v.loop.ThrowTypeError("on(%q): order_by must be a function returning the key", h.event)
				}
				h.orderBy = ob
				h.lanes = make(map[string]*lane)
			}
		default:
			v.loop.ThrowTypeError("on(%q): unknown option %q (known: priority, order_by)", h.event, k)
		}
	}
}

// installEvents defines on() and emit().
func (v *version) installEvents() {
	vm := v.loop.Runtime()
	g := vm.GlobalObject()
	_ = g.Set("on", v.loop.Func("on", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0)
		if goja.IsUndefined(name) || goja.IsNull(name) {
			v.loop.ThrowTypeError("on: the event name is required")
		}
		fnObj, ok := call.Argument(1).(*goja.Object)
		fn, callable := goja.AssertFunction(call.Argument(1))
		if !ok || !callable {
			v.loop.ThrowTypeError("on(%q): the handler must be a function", name.String())
		}
		h := &handler{event: name.String(), call: fn}
		if o, ok := call.Argument(2).(*goja.Object); ok {
			v.handlerOptions(h, o)
		} else if a := call.Argument(2); !goja.IsUndefined(a) && !goja.IsNull(a) {
			v.loop.ThrowTypeError("on(%q): the options must be an object {priority, order_by}", h.event)
		}
		h.origin = fmt.Sprintf("handler for %q", h.event)
		if where := ext.CallerLocation(vm); where != "" {
			h.origin += " (" + where + ")"
		}
		if eventloop.IsAsyncFunction(vm, fnObj) {
			h.ctx = &eventloop.AwaitingContext{Origin: h.origin}
		}
		v.events.add(h)
		return v.loop.Func("off", func(goja.FunctionCall) goja.Value {
			v.events.remove(h)
			return goja.Undefined()
		})
	}))
	_ = g.Set("emit", v.loop.Func("emit", func(call goja.FunctionCall) goja.Value {
		if len(call.Arguments) == 0 {
			v.loop.ThrowTypeError("emit: the event name is required")
		}
		name := call.Arguments[0].String()
		if input.ReservedEvent(name) {
			v.loop.ThrowTypeError("emit(%q): the event name is reserved for the engine (init, done, Storage.*, scriptd.*)", name)
		}
		args := append([]goja.Value(nil), call.Arguments[1:]...)
		v.enqueue(name, args)
		return goja.Undefined()
	}))
}

// enqueue queues an event behind the current handler (Zeek's `event`).
// Queued events are dispatched in FIFO order, each as a task of its own
// (loop.AfterTask) once the task that queued it has returned and its promise
// jobs have drained: as Zeek dispatches an event after the handler that
// raised it has run, `when` bodies included (Zeek runs the body of a `when`
// whose condition holds at once inline; here it is a promise job of the
// same task). The events a handler emits in turn follow the ones already
// queued. While the scripts load (top-level emit) the first drain is a
// task queued behind the loop's, so those events run when the loop starts,
// before init. Loop goroutine only.
func (v *version) enqueue(name string, args []goja.Value) {
	v.queue = append(v.queue, queuedEvent{name: name, args: args})
	if v.drainScheduled {
		return
	}
	v.drainScheduled = true
	if v.loading {
		_ = v.loop.Submit(v.drainNext)
		return
	}
	v.loop.AfterTask(v.drainNext)
}

// enqueueTask queues an event from outside the scripts (the inbox: HTTP,
// Engine.Emit) in a task of its own, queued behind the loop's tasks, so a
// Ping queued behind the inbox's pump answers without waiting for its
// handlers.
func (v *version) enqueueTask(name string, args []goja.Value) {
	_ = v.loop.Submit(func() { v.enqueue(name, args) })
}

// drainNext dispatches the first queued event (it runs as a task of its
// own) and schedules the next one behind this task's promise jobs.
func (v *version) drainNext() {
	v.drainScheduled = false
	if v.qhead == len(v.queue) {
		return
	}
	if v.loop.Broken() {
		clear(v.queue) // what was left is dropped with the version
		v.queue, v.qhead = v.queue[:0], 0
		return
	}
	ev := v.queue[v.qhead]
	v.queue[v.qhead] = queuedEvent{}
	v.qhead++
	switch {
	case v.qhead == len(v.queue):
		v.queue, v.qhead = v.queue[:0], 0
	case v.qhead >= 1024 && v.qhead*2 >= len(v.queue):
		// A long chain of emits: reuse the consumed front.
		n := copy(v.queue, v.queue[v.qhead:])
		clear(v.queue[n:])
		v.queue, v.qhead = v.queue[:n], 0
	}
	if v.qhead < len(v.queue) {
		v.drainScheduled = true
		v.loop.AfterTask(v.drainNext)
	}
	v.dispatch(ev.name, ev.args, nil)
}

// fire dispatches an event now; what its handlers emit is dispatched after
// this task and its promise jobs (see enqueue).
func (v *version) fire(name string, args []goja.Value, onSettled func()) {
	v.dispatch(name, args, onSettled)
}

// eventsQueued reports whether emitted events wait for the current task to
// end.
func (v *version) eventsQueued() bool { return v.qhead < len(v.queue) }

// dispatch calls every handler of name. A handler that throws or rejects is
// reported with its origin; the others still run. onSettled, if set, runs
// once every handler has returned and every async one has settled.
func (v *version) dispatch(name string, args []goja.Value, onSettled func()) {
	list := v.events.handlers(name)
	v.e.metrics.events.Add(1)
	if len(list) > 0 {
		if _, ok := v.e.firedEvents[name]; !ok {
			v.e.firedEvents[name] = struct{}{}
		}
	}
	obs := v.e.cfg.Observer
	var start time.Duration
	if obs != nil {
		start = monotonic()
	}
	var wait *settleWait // nil: nobody waits (every input record)
	if onSettled != nil {
		wait = &settleWait{pending: 1, fn: onSettled}
	}
	ok := v.callHandlers(list, args, wait)
	if obs != nil {
		obs.EventDispatched(name, len(list), monotonic()-start)
	}
	if ok {
		wait.done()
	}
}

// monotonic reads the monotonic clock only (time.Now reads the wall clock
// too, which timing a dispatch does not need).
func monotonic() time.Duration { return time.Since(monoBase) }

var monoBase = time.Now()

// callHandlers calls each handler of list with args, counting the calls
// still to settle in wait (if not nil). It returns false if a handler was
// interrupted: the version is being replaced, and the rest are not called.
func (v *version) callHandlers(list []*handler, args []goja.Value, wait *settleWait) bool {
	for _, h := range list {
		if h.removed {
			continue
		}
		if h.orderBy != nil {
			v.runOrdered(h, args, wait.add())
			if v.loop.Broken() {
				return false
			}
			continue
		}
		ctx := v.handlerContext(h)
		ret, err := v.loop.CallHandler(h.origin, ctx, h.call, args...)
		if err != nil {
			v.handlerError(h.origin, err)
			if v.loop.Broken() {
				return false
			}
			continue
		}
		if h.ctx == nil {
			continue
		}
		if wait == nil {
			v.loop.WatchPromise(h.origin, ret)
			continue
		}
		v.whenSettled(h.origin, ret, v.recordSettle(ctx, wait.add())) // recordSettle: stream records' acks (inputs.go)
	}
	return true
}

// settleWait runs fn once every call it counts has settled, and the
// dispatch that counts them has called done.
type settleWait struct {
	pending int
	fn      func()
}

// add counts one more call and returns what to run when it has settled
// (nil for a nil w).
func (w *settleWait) add() func() {
	if w == nil {
		return nil
	}
	w.pending++
	return w.done
}

func (w *settleWait) done() {
	if w == nil {
		return
	}
	w.pending--
	if w.pending == 0 {
		w.fn()
	}
}

// handlerContext is the awaiting context for one call of h: a fresh one
// for an async handler (each call gets its own), none for a plain one.
func (v *version) handlerContext(h *handler) *eventloop.AwaitingContext {
	if h.ctx == nil {
		return nil
	}
	return &eventloop.AwaitingContext{Origin: h.origin, NetworkTime: v.e.clock.Stamp()}
}

// runOrdered calls an order_by handler: at once if no call with the same
// key is running, else once the calls before it have settled. settled, if
// set, runs when this call has settled (or failed).
func (v *version) runOrdered(h *handler, args []goja.Value, settled func()) {
	keyVal, err := v.loop.CallHandler(h.origin+" order_by", nil, h.orderBy, args...)
	if err != nil {
		v.handlerError(h.origin+" order_by", err)
		if settled != nil {
			settled()
		}
		return
	}
	key := orderKey(keyVal)
	ln := h.lanes[key]
	if ln != nil {
		// A call with this key is running: wait behind it, holding a
		// reservation (backpressure, and accounted as pending work).
		ln.waiting = append(ln.waiting, orderedCall{args: append([]goja.Value(nil), args...), settled: settled, start: v.loop.Reserve()})
		return
	}
	ln = &lane{}
	h.lanes[key] = ln
	v.callOrdered(h, key, ln, args, settled)
}

// callOrdered runs one call of an ordered handler and, once it has
// settled, starts the next one waiting on its key (in a task of its own).
func (v *version) callOrdered(h *handler, key string, ln *lane, args []goja.Value, settled func()) {
	var ctx *eventloop.AwaitingContext
	if h.ctx != nil {
		ctx = &eventloop.AwaitingContext{Origin: h.origin, NetworkTime: v.e.clock.Stamp()}
	}
	next := func() {
		if settled != nil {
			settled()
		}
		if len(ln.waiting) == 0 {
			delete(h.lanes, key)
			return
		}
		c := ln.waiting[0]
		ln.waiting[0] = orderedCall{}
		ln.waiting = ln.waiting[1:]
		c.start(func() { v.callOrdered(h, key, ln, c.args, c.settled) })
	}
	ret, err := v.loop.CallHandler(h.origin, ctx, h.call, args...)
	if err != nil {
		v.handlerError(h.origin, err)
		if !v.loop.Broken() {
			next()
		}
		return
	}
	v.whenSettled(h.origin, ret, next)
}

// orderKey is an order_by result as a lane key: strings and numbers by
// value (1 and "1" are the same key), anything else by its JSON text.
func orderKey(k goja.Value) string {
	if k == nil || goja.IsUndefined(k) {
		return "undefined"
	}
	if s, ok := k.Export().(string); ok {
		return s
	}
	if _, ok := k.(*goja.Object); ok {
		if b, err := json.Marshal(k.Export()); err == nil {
			return string(b)
		}
	}
	return k.String()
}

// whenSettled reports a rejection of ret (if a promise) and calls fn once it
// has settled (at once if ret is not a pending promise).
func (v *version) whenSettled(origin string, ret goja.Value, fn func()) {
	p, ok := ret.Export().(*goja.Promise)
	if !ok || p.State() != goja.PromiseStatePending {
		v.loop.WatchPromise(origin, ret)
		fn()
		return
	}
	obj := ret.(*goja.Object)
	then, _ := goja.AssertFunction(obj.Get("then"))
	onOK := v.loop.Func("settled", func(goja.FunctionCall) goja.Value { fn(); return goja.Undefined() })
	var file string // a stream record's: its rejection names it, as a file record's does
	var line int
	if rec := v.e.dispatching; rec != nil {
		file, line = rec.File, rec.Line
	}
	onErr := v.loop.Func("settled", func(c goja.FunctionCall) goja.Value {
		if file != "" {
			v.loop.SetSubject(file, line)
		}
		v.loop.ReportRejection(origin, c.Argument(0))
		if file != "" {
			v.loop.SetSubject("", 0)
		}
		fn()
		return goja.Undefined()
	})
	if _, err := v.loop.CallIn(nil, then, obj, onOK, onErr); err != nil {
		v.handlerError(origin, err)
		fn()
	}
}

func (v *version) handlerError(origin string, err error) {
	v.loop.ReportError(origin, err)
}
