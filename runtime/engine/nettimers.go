package engine

import (
	"container/heap"
	"time"
)

// afterNetwork runs fn once d has elapsed: in network time while input
// records drive it (a replay), else in wall-clock time. The wall timer keeps
// the loop alive; a network timer is kept alive by the input reading.
func (v *version) afterNetwork(d time.Duration, fn func()) (cancel func()) {
	if !v.e.clock.FromInput() || !v.e.inputsRunning {
		return v.loop.AfterFunc(d, fn)
	}
	t := &netTimer{at: v.e.clock.Now() + d.Seconds(), fn: fn}
	heap.Push(&v.netTimers, t)
	return func() { t.fn = nil }
}

// runNetTimers fires network timers that are due (network time advanced).
func (v *version) runNetTimers() {
	now := v.e.clock.Now()
	for v.netTimers.Len() > 0 && v.netTimers[0].at <= now {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn != nil {
			t.fn()
		}
	}
}

// inputsEnded moves pending network timers to wall-clock time for what is
// left of their duration: there are no more records to advance time.
func (v *version) inputsEnded() {
	now := v.e.clock.Now()
	for v.netTimers.Len() > 0 {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn == nil {
			continue
		}
		fn := t.fn
		left := time.Duration((t.at - now) * float64(time.Second))
		cancel := v.loop.AfterFunc(max(left, 0), fn)
		t.fn = nil
		_ = cancel
	}
}

// fireNetTimersAtEnd runs network timers still pending when the run ends
// early (shutdown): Zeek expires pending timers at termination.
func (v *version) fireNetTimersAtEnd() {
	for v.netTimers.Len() > 0 {
		t := heap.Pop(&v.netTimers).(*netTimer)
		if t.fn != nil {
			t.fn()
		}
	}
}

type netTimer struct {
	at float64
	fn func()
}

type netTimerQueue []*netTimer

func (q netTimerQueue) Len() int           { return len(q) }
func (q netTimerQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q netTimerQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *netTimerQueue) Push(x any)        { *q = append(*q, x.(*netTimer)) }
func (q *netTimerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}
