package engine

import (
	"container/heap"
	"context"
	"time"
)

// Network-time timers back schedule() and when() timeouts. While a replay
// runs (inputs configured) they are measured in network time, the records'
// ts: a timer set before the first record carries its duration until that
// record's time is known. When a replay's inputs have ended, nothing keeps
// the run alive and every pending operation has settled, the pending
// timers fire at once in due order, before done, as zeek -r expires its
// timers at the end of a trace (see expireNetTimers); a replay never waits
// on the wall clock. Live (no inputs, or once inputs ended under --follow,
// --listen or --watch) they are wall-clock timers on the loop.
//
// All of it is v's loop-goroutine state.

// replaying reports whether network time comes from input records (and
// stops there once they have ended, unless the run stays alive).
func (e *Engine) replaying() bool {
	return len(e.cfg.Inputs) > 0 && (!e.inputsDone || !e.keepAlive)
}

// afterNetwork runs fn on v's loop once d has elapsed in network time (see
// above). The returned function cancels it.
func (v *version) afterNetwork(d time.Duration, fn func()) (cancel func()) {
	e := v.e
	switch {
	case e.replaying():
		v.netSeq++
		t := &netTimer{fn: fn, seq: v.netSeq}
		if e.clock.FromInput() {
			t.at = e.clock.Now() + d.Seconds()
			heap.Push(&v.netTimers, t)
		} else {
			t.rel = d.Seconds()
			v.unbased = append(v.unbased, t)
		}
		return func() { t.fn = nil }
	}
	return v.loop.AfterFunc(d, fn)
}

// runNetTimers fires network timers that are due (network time advanced).
func (v *version) runNetTimers() {
	now := v.e.clock.Now()
	if len(v.unbased) > 0 {
		// The first record's time: timers set before it count from it.
		for _, t := range v.unbased {
			t.at = now + t.rel
			heap.Push(&v.netTimers, t)
		}
		v.unbased = nil
	}
	for v.netTimers.Len() > 0 && v.netTimers[0].at <= now {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn != nil {
			t.fn()
		}
	}
}

// inputsEnded is called when the last input has ended. If the run stays
// alive (--follow, --listen, --watch), pending network timers move to the
// wall clock for what is left of their duration; otherwise they wait for
// the end of the run (expireNetTimers).
func (v *version) inputsEnded() {
	v.e.inputsDone = true
	if !v.e.keepAlive {
		return
	}
	now := v.e.clock.Now()
	for _, t := range v.pendingNetTimers() {
		left := time.Duration((t.at - now) * float64(time.Second))
		_ = v.loop.AfterFunc(max(left, 0), t.fn)
	}
}

// expireNetTimers fires the pending network timers in due order, once the
// run is otherwise over (the end of a replay, or a shutdown), letting the
// work they start settle (Run goroutine; bounded by ctx). Timers they set
// fire too if due no later than the last of the original ones: a timer
// that keeps re-arming itself cannot keep the run alive.
func (v *version) expireNetTimers(ctx context.Context) {
	pending := v.pendingNetTimers()
	if len(pending) == 0 {
		return
	}
	horizon := pending[len(pending)-1].at
	for len(pending) > 0 && ctx.Err() == nil {
		_ = v.loop.Run(ctx, func() {
			for _, t := range pending {
				v.loop.RunTask(t.fn)
			}
		})
		pending = pending[:0]
		for _, t := range v.pendingNetTimers() {
			if t.at <= horizon {
				pending = append(pending, t)
			}
		}
	}
}

// pendingNetTimers takes every live network timer out of the queue, in due
// order (unbased ones, whose base never came, by duration).
func (v *version) pendingNetTimers() []*netTimer {
	var out []*netTimer
	for v.netTimers.Len() > 0 {
		if t := heap.Pop(&v.netTimers).(*netTimer); t.fn != nil {
			out = append(out, t)
		}
	}
	base := v.e.clock.Now()
	var unbased netTimerQueue
	for _, t := range v.unbased {
		if t.fn != nil {
			t.at = base + t.rel
			heap.Push(&unbased, t)
		}
	}
	v.unbased = nil
	for unbased.Len() > 0 {
		out = append(out, heap.Pop(&unbased).(*netTimer))
	}
	return out
}

type netTimer struct {
	at  float64 // due, in network time
	rel float64 // until based: the duration, counted from the first record
	seq uint64  // tie-break: creation order
	fn  func()
}

type netTimerQueue []*netTimer

func (q netTimerQueue) Len() int { return len(q) }
func (q netTimerQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q netTimerQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *netTimerQueue) Push(x any)   { *q = append(*q, x.(*netTimer)) }
func (q *netTimerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}
