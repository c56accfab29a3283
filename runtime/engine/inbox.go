package engine

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/input"
)

// inbox holds the events that come from outside the scripts (input batches,
// the inputs' end, Engine.Emit calls) until the active version takes them,
// one item per loop task, in arrival order. There is at most one active
// version, and none while a version is being swapped in, while its init has
// not settled, or after it broke: what arrives then waits for the next
// version. An item is taken under the lock by the version that handles it,
// so no event is handed to two versions or dropped between them; a version
// that breaks in the middle of a batch puts the rest back at the front.
//
// Safe for concurrent use: producers post from any goroutine; the active
// version pumps on its loop; the Run goroutine activates and deactivates.
type inbox struct {
	mu        sync.Mutex
	items     []inItem
	active    *version
	scheduled bool // a pump task is queued on active's loop
	closed    bool
}

// inItem is one inbox entry: an emitted event, an input batch, or the end
// of the inputs.
type inItem struct {
	name  string // Engine.Emit: the event and its Go arguments
	args  []any
	batch []input.Event // input records still to dispatch
	admit func()        // for a batch: lets the forwarder read on (once)
	end   bool          // every input has ended
	// EmitJSON: the arguments as JSON text, parsed on the loop so objects
	// keep the text's key order; spread makes a JSON array's elements the
	// arguments. taken is closed once the loop has the event and fewer
	// than MaxInFlight operations are outstanding.
	json   []byte
	spread bool
	taken  chan struct{}
	// call, if set, wants the handlers' result (Engine.Call).
	call *callRequest
}

// post appends it and makes sure the active version will pump it. It
// returns eventloop.ErrStopped once the engine has stopped.
func (q *inbox) post(it inItem) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return eventloop.ErrStopped
	}
	q.items = append(q.items, it)
	v := q.kickLocked()
	q.mu.Unlock()
	if v != nil {
		_ = v.loop.Submit(v.pump) // a stopped loop was deactivated first: its successor pumps
	}
	return nil
}

// requeue puts it back at the front (a version broke in the middle of it).
func (q *inbox) requeue(it inItem) {
	q.mu.Lock()
	q.items = append(q.items, inItem{})
	copy(q.items[1:], q.items)
	q.items[0] = it
	q.mu.Unlock()
}

// kickLocked claims the pump for the active version if work is waiting and
// no pump is queued; the caller submits it. q.mu held.
func (q *inbox) kickLocked() *version {
	if q.active == nil || q.scheduled || len(q.items) == 0 {
		return nil
	}
	q.scheduled = true
	return q.active
}

// activate makes v the version that takes events.
func (q *inbox) activate(v *version) {
	q.mu.Lock()
	q.active = v
	q.scheduled = false
	kick := q.kickLocked()
	q.mu.Unlock()
	if kick != nil {
		_ = kick.loop.Submit(kick.pump)
	}
}

// deactivate stops v taking events (if it is the active version). A pump
// already queued on v's loop then finds it inactive and does nothing.
func (q *inbox) deactivate(v *version) {
	q.mu.Lock()
	if q.active == v {
		q.active = nil
		q.scheduled = false
	}
	q.mu.Unlock()
}

// close rejects further posts and drops what is left.
func (q *inbox) close() {
	q.mu.Lock()
	q.closed = true
	q.active = nil
	q.items = nil
	q.mu.Unlock()
}

// take pops the next item for v, if v is the active version.
func (q *inbox) take(v *version) (inItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active != v {
		return inItem{}, false
	}
	if len(q.items) == 0 {
		q.scheduled = false
		return inItem{}, false
	}
	it := q.items[0]
	q.items[0] = inItem{}
	q.items = q.items[1:]
	return it, true
}

// more reports whether v should pump again, releasing the pump otherwise.
func (q *inbox) more(v *version) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active != v {
		return false
	}
	if len(q.items) == 0 {
		q.scheduled = false
		return false
	}
	return true
}

// activate lets v take events from the inbox, and lets the input forwarder
// read on if the version v replaced finished a batch without admitting the
// next (Run goroutine, v's loop).
func (e *Engine) activate(v *version) {
	e.in.activate(v)
	if a := e.admitPending; a != nil {
		e.admitPending = nil
		a()
	}
}

// pump handles one inbox item as one loop task, then queues itself again
// while items remain, so timers and completions interleave with input.
func (v *version) pump() {
	it, ok := v.e.in.take(v)
	if !ok {
		return
	}
	v.deliver(it)
	if v.e.in.more(v) {
		_ = v.loop.Submit(v.pump)
	}
}

// deliver hands one inbox item to v's scripts (loop goroutine).
func (v *version) deliver(it inItem) {
	e := v.e
	switch {
	case it.end:
		e.inputsRunning = false
		v.inputsEnded()
		e.syncHold(v)
	case it.batch != nil:
		n := v.dispatchBatch(it.batch)
		if n < len(it.batch) {
			// The rest waits at the front of the inbox: for the next task of
			// v (continuations run in between), or, if v broke (an
			// interrupted handler), for the version that replaces it.
			it.batch = it.batch[n:]
			e.in.requeue(it)
			return
		}
		// Admit the next batch once v's in-flight work is below the bound.
		// Should v be retired first, its successor admits it (activate).
		admit := it.admit
		e.admitPending = admit
		v.loop.WhenReservedBelow(e.cfg.MaxInFlight+1, func() {
			e.admitPending = nil
			admit()
		})
	case it.call != nil:
		v.deliverCall(it.name, it.call)
	case it.json != nil:
		vals, err := v.parseJSONArgs(it.json, it.spread)
		if err != nil {
			fmt.Fprintf(e.stderr, "event %q: %v\n", it.name, err)
		} else {
			v.enqueueTask(it.name, vals)
		}
		taken := it.taken
		v.loop.WhenReservedBelow(e.cfg.MaxInFlight+1, func() { close(taken) })
	default:
		// Queued like a script's emit, from a task of its own queued
		// behind this pump, so a Ping queued behind the pump answers without
		// waiting for its handlers (the HTTP API acknowledges an event once
		// the loop took it).
		vm := v.loop.Runtime()
		vals := make([]goja.Value, len(it.args))
		for i, a := range it.args {
			vals[i] = vm.ToValue(a)
		}
		v.enqueueTask(it.name, vals)
	}
}

// parseJSONArgs turns JSON text into event arguments with the runtime's
// JSON.parse (loop goroutine): one value, or an array's elements.
func (v *version) parseJSONArgs(raw []byte, spread bool) ([]goja.Value, error) {
	vm := v.loop.Runtime()
	parse, _ := goja.AssertFunction(vm.Get("JSON").(*goja.Object).Get("parse"))
	val, err := parse(goja.Undefined(), vm.ToValue(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("JSON arguments: %w", err)
	}
	if !spread {
		return []goja.Value{val}, nil
	}
	arr, ok := val.(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		return nil, fmt.Errorf("JSON arguments: want an array to spread")
	}
	n := int(arr.Get("length").ToInteger())
	vals := make([]goja.Value, n)
	for i := range vals {
		vals[i] = arr.Get(strconv.Itoa(i))
	}
	return vals, nil
}
