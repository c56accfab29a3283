package eventloop

import (
	"container/heap"
	"sort"
	"time"

	"github.com/dop251/goja"
)

// timer is one setTimeout/setInterval registration.
type timer struct {
	id       int64
	at       time.Time
	seq      uint64 // tie-break: registration order
	interval time.Duration
	repeat   bool
	fn       *goja.Object
	args     []goja.Value
	index    int
	goFn     func() // for timers set from Go (AfterFunc)
	origin   string // the awaiting context that set it ("" outside one)
	unref    bool   // does not keep the loop alive (Timeout.unref())
}

// timerQueue is a min-heap of timers plus an index by id (loop goroutine only).
type timerQueue struct {
	items  []*timer
	byID   map[int64]*timer
	nextID int64
	seq    uint64
	refs   int // timers that keep the loop alive (not unref'd)
}

func (q *timerQueue) Len() int { return len(q.items) }
func (q *timerQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}
func (q *timerQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].index = i
	q.items[j].index = j
}
func (q *timerQueue) Push(x any) {
	t := x.(*timer)
	t.index = len(q.items)
	q.items = append(q.items, t)
}
func (q *timerQueue) Pop() any {
	n := len(q.items)
	t := q.items[n-1]
	q.items[n-1] = nil
	q.items = q.items[:n-1]
	t.index = -1
	return t
}

func (q *timerQueue) add(t *timer) int64 {
	if q.byID == nil {
		q.byID = make(map[int64]*timer)
	}
	if t.id == 0 {
		q.nextID++
		t.id = q.nextID
	}
	q.seq++
	t.seq = q.seq
	q.byID[t.id] = t
	if !t.unref {
		q.refs++
	}
	heap.Push(q, t)
	return t.id
}

// setRef makes timer id keep the loop alive or not.
func (q *timerQueue) setRef(id int64, ref bool) {
	t, ok := q.byID[id]
	if !ok || t.unref == !ref {
		return
	}
	t.unref = !ref
	if ref {
		q.refs++
	} else {
		q.refs--
	}
}

func (q *timerQueue) remove(id int64) {
	t, ok := q.byID[id]
	if !ok {
		return
	}
	delete(q.byID, id)
	if !t.unref {
		q.refs--
	}
	if t.index >= 0 {
		heap.Remove(q, t.index)
	}
}

func (q *timerQueue) next() (time.Time, bool) {
	if len(q.items) == 0 {
		return time.Time{}, false
	}
	return q.items[0].at, true
}

func (q *timerQueue) clear() {
	q.items = nil
	q.byID = nil
	q.refs = 0
}

// fireDueTimers runs every timer due at now, each as its own task, in
// deadline order. Timers a callback adds for "now" wait for the next turn.
func (l *Loop) fireDueTimers(now time.Time) {
	for n := l.timers.Len(); n > 0; n-- {
		t := l.timers.items[0]
		if t.at.After(now) {
			return
		}
		heap.Pop(&l.timers)
		if t.repeat {
			t.at = now.Add(t.interval)
			l.timers.seq++
			t.seq = l.timers.seq
			heap.Push(&l.timers, t)
		} else {
			delete(l.timers.byID, t.id)
			if !t.unref {
				l.timers.refs--
			}
		}
		l.RunTask(func() { l.fire(t) })
	}
}

func (l *Loop) fire(t *timer) {
	if t.goFn != nil {
		t.goFn()
		return
	}
	origin := "setTimeout callback"
	if t.repeat {
		origin = "setInterval callback"
	}
	ret, err := l.Dispatch(origin, t.fn, t.args...)
	if err != nil {
		l.reportCallbackError(origin, err)
		return
	}
	l.watchPromise(origin, ret)
}

// AfterFunc runs fn on the loop after d. The pending timer keeps the loop
// alive; the returned function cancels it (loop goroutine only). After
// StopTimers it does nothing.
func (l *Loop) AfterFunc(d time.Duration, fn func()) (cancel func()) {
	if l.timersOff {
		return func() {}
	}
	id := l.timers.add(&timer{at: time.Now().Add(d), goFn: fn, origin: l.currentOrigin()})
	return func() { l.timers.remove(id) }
}

// ClearRepeatingTimers cancels every setInterval timer and keeps one-shot
// timers, so a loop being drained (shutdown, reload) lets handlers waiting
// on a setTimeout finish without being kept alive forever (loop goroutine
// only).
func (l *Loop) ClearRepeatingTimers() {
	for id, t := range l.timers.byID {
		if t.repeat {
			l.timers.remove(id)
		}
	}
}

// Pending is script work outstanding on a loop, by the awaiting context
// (handler, timer callback, when) that started it.
type Pending struct {
	Origin string // "" for work started outside any awaiting context
	Ops    int    // reservations: async operations in flight
	Timers int    // pending timers
}

// Pending lists outstanding work by origin, most first (loop goroutine
// only): what would be abandoned if the loop were dropped now.
func (l *Loop) Pending() []Pending {
	by := make(map[string]*Pending)
	get := func(o string) *Pending {
		p := by[o]
		if p == nil {
			p = &Pending{Origin: o}
			by[o] = p
		}
		return p
	}
	for o, n := range l.pendingByOrigin {
		get(o).Ops += *n
	}
	for _, t := range l.timers.items {
		get(t.origin).Timers++
	}
	out := make([]Pending, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Ops+out[i].Timers, out[j].Ops+out[j].Timers
		if a != b {
			return a > b
		}
		return out[i].Origin < out[j].Origin
	})
	return out
}

// ClearTimers cancels every pending timer, e.g. at shutdown (loop goroutine only).
func (l *Loop) ClearTimers() { l.timers.clear() }

// StopTimers cancels every pending timer and makes later setTimeout,
// setInterval and AfterFunc calls register nothing, so a loop being retired
// can drain its reservations without running or waiting for timers (loop
// goroutine only).
func (l *Loop) StopTimers() {
	l.timersOff = true
	l.timers.clear()
}

// PendingTimers reports the number of pending timers (loop goroutine only).
func (l *Loop) PendingTimers() int { return l.timers.Len() }

// timeoutSource is Node's Timeout as far as scripts use it: ref, unref,
// hasRef, refresh, close, and the id as its primitive value (so +t and
// clearTimeout(t) work).
const timeoutSource = `(function (ref, hasRef, refresh, clear) {
  class Timeout {
    constructor(id) { Object.defineProperty(this, "_id", { value: id }); }
    ref() { ref(this._id, true); return this; }
    unref() { ref(this._id, false); return this; }
    hasRef() { return hasRef(this._id); }
    refresh() { refresh(this._id); return this; }
    close() { clear(this._id); return this; }
    [Symbol.toPrimitive]() { return this._id; }
  }
  return Timeout;
})`

// timeoutClass compiles the Timeout class for this loop's runtime.
func (l *Loop) timeoutClass() *goja.Object {
	vm := l.vm
	mk, err := vm.RunString(timeoutSource)
	if err != nil {
		panic(err) // a constant source
	}
	call, _ := goja.AssertFunction(mk)
	ref := l.Func("Timeout.ref", func(c goja.FunctionCall) goja.Value {
		l.timers.setRef(c.Argument(0).ToInteger(), c.Argument(1).ToBoolean())
		return goja.Undefined()
	})
	hasRef := l.Func("Timeout.hasRef", func(c goja.FunctionCall) goja.Value {
		t, ok := l.timers.byID[c.Argument(0).ToInteger()]
		return vm.ToValue(ok && !t.unref)
	})
	refresh := l.Func("Timeout.refresh", func(c goja.FunctionCall) goja.Value {
		if t, ok := l.timers.byID[c.Argument(0).ToInteger()]; ok && t.index >= 0 {
			t.at = time.Now().Add(t.interval)
			heap.Fix(&l.timers, t.index)
		}
		return goja.Undefined()
	})
	clear := l.Func("Timeout.close", func(c goja.FunctionCall) goja.Value {
		l.timers.remove(c.Argument(0).ToInteger())
		return goja.Undefined()
	})
	cls, err := call(goja.Undefined(), ref, hasRef, refresh, clear)
	if err != nil {
		panic(err)
	}
	return cls.(*goja.Object)
}

func (l *Loop) installTimers() {
	vm := l.vm
	var timeoutClass *goja.Object
	set := func(name string, repeat bool) goja.Value {
		return l.Func(name, func(call goja.FunctionCall) goja.Value {
			fn, ok := call.Argument(0).(*goja.Object)
			if _, callable := goja.AssertFunction(call.Argument(0)); !ok || !callable {
				l.ThrowTypeError("%s: the callback must be a function", name)
			}
			ms := call.Argument(1).ToFloat()
			if ms != ms || ms < 1 { // NaN or < 1: Node uses 1 ms
				ms = 1
			}
			d := time.Duration(ms * float64(time.Millisecond))
			var args []goja.Value
			if len(call.Arguments) > 2 {
				args = append(args, call.Arguments[2:]...)
			}
			var id int64
			if l.timersOff {
				l.timers.nextID++ // a valid, never-firing id
				id = l.timers.nextID
			} else {
				id = l.timers.add(&timer{at: time.Now().Add(d), interval: d, repeat: repeat, fn: fn, args: args, origin: l.currentOrigin()})
			}
			obj, err := vm.New(timeoutClass, vm.ToValue(id))
			if err != nil {
				panic(err)
			}
			return obj
		})
	}
	clear := func(name string) goja.Value {
		return l.Func(name, func(call goja.FunctionCall) goja.Value {
			if v := call.Argument(0); !goja.IsUndefined(v) && !goja.IsNull(v) {
				l.timers.remove(v.ToInteger())
			}
			return goja.Undefined()
		})
	}
	timeoutClass = l.timeoutClass()
	g := vm.GlobalObject()
	_ = g.Set("setTimeout", set("setTimeout", false))
	_ = g.Set("setInterval", set("setInterval", true))
	_ = g.Set("clearTimeout", clear("clearTimeout"))
	_ = g.Set("clearInterval", clear("clearInterval"))
}
