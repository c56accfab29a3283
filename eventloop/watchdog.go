package eventloop

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// TimeLimitError is the reason a Watchdog interrupts script code with. The
// report of the interrupted callback (CallbackError.Detail) starts with it.
type TimeLimitError struct {
	Limit time.Duration
}

func (e *TimeLimitError) Error() string {
	return fmt.Sprintf("interrupted: ran past the handler time limit of %v", e.Limit)
}

// Watchdog interrupts script code that runs longer than a limit without
// returning to its loop: a handler, a timer callback, a promise continuation
// or a script's top level. It samples each watched loop's activity beat
// (which the loop publishes with one atomic store per callback, so the hot
// path pays no timer) every Interval and interrupts the loop's runtime when
// the same callback has been running for Limit. The interrupted loop becomes
// broken (see Loop); its owner replaces it.
//
// Concurrency: all methods are safe from any goroutine. Run owns the
// sampling goroutine's lifetime: nothing runs after it returns.
type Watchdog struct {
	limit    time.Duration
	interval time.Duration

	mu    sync.Mutex
	loops map[*Loop]*watchState
}

type watchState struct {
	beat  uint64
	since time.Time
	fired bool
}

// NewWatchdog returns a watchdog with the given limit (which must be > 0).
// It samples every limit/4, but at least every 100 ms and at most every 5 ms.
func NewWatchdog(limit time.Duration) *Watchdog {
	return &Watchdog{
		limit:    limit,
		interval: min(max(limit/4, 5*time.Millisecond), 100*time.Millisecond),
		loops:    make(map[*Loop]*watchState),
	}
}

// Limit is the time a callback may run.
func (w *Watchdog) Limit() time.Duration { return w.limit }

// Watch adds l to the watched loops until the returned function is called.
func (w *Watchdog) Watch(l *Loop) (unwatch func()) {
	w.mu.Lock()
	w.loops[l] = &watchState{}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.loops, l)
		w.mu.Unlock()
	}
}

// Run samples the watched loops until ctx ends.
func (w *Watchdog) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.check(now)
		}
	}
}

// check interrupts every loop whose current callback has run past the limit.
func (w *Watchdog) check(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for l, st := range w.loops {
		b := l.beat.Load()
		switch {
		case b&1 == 0: // idle
			st.beat, st.fired = b, false
		case b != st.beat: // a new callback since the last sample
			st.beat, st.since, st.fired = b, now, false
		case !st.fired && now.Sub(st.since) >= w.limit:
			st.fired = l.interruptIfStill(b, &TimeLimitError{Limit: w.limit})
		}
	}
}

// interruptIfStill interrupts the runtime if the loop is still inside the
// activity beat b. Any goroutine.
//
// A callback that returns between the check and the interrupt would hand
// the interrupt to the next callback of the same task; that window is a few
// instructions wide after a callback that already ran for the whole limit.
// An interrupt that arrives after the task has ended is dropped (endTask).
func (l *Loop) interruptIfStill(b uint64, reason error) bool {
	l.intMu.Lock()
	defer l.intMu.Unlock()
	if l.beat.Load() != b {
		return false
	}
	l.intPending = true
	l.vm.Interrupt(reason)
	return true
}
