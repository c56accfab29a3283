package eventloop

import (
	"context"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
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

// MemoryLimitError is the reason a Watchdog interrupts script code with
// when the heap passes the memory limit.
type MemoryLimitError struct {
	Limit, Live uint64 // bytes
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("interrupted: the scripts' live heap (%d MiB) passed the memory limit of %d MiB (--max-memory)", e.Live>>20, e.Limit>>20)
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

	// Memory bound (see SetMemoryLimit); sampled by the Run goroutine.
	memLimit   uint64
	memArmed   bool
	memSamples []metrics.Sample
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

// SetMemoryLimit bounds the Go heap the scripts may keep live (bytes; 0:
// none). Past it the watchdog interrupts whatever script code runs, or
// breaks the idle loops, so their owner replaces them with fresh runtimes:
// a promise storm or a runaway collection cannot grow without bound. It
// also sets the Go runtime's soft memory limit a quarter above, so the
// collector works harder before the bound is reached, and a floor under
// the collector's heap goal (see setHeapGoalFloor) of heapGoalFloor or an
// eighth of the bound, whichever is less. Call it before Run.
func (w *Watchdog) SetMemoryLimit(bytes uint64) {
	w.memLimit = bytes
	w.memArmed = bytes > 0
	w.memSamples = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	if bytes > 0 {
		debug.SetMemoryLimit(int64(bytes + bytes/4))
		setHeapGoalFloor(min(heapGoalFloor, bytes/8))
	}
}

// heapGoalFloor is the least heap goal SetMemoryLimit gives the collector:
// the knee measured on P1 (tests/bench), where 16 MiB leaves a fifth of
// the collector's cost and 32 MiB saves no more.
const heapGoalFloor = 24 << 20

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

// check interrupts every loop whose current callback has run past the
// limit, and every loop if the heap passed the memory limit.
func (w *Watchdog) check(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.memLimit > 0 {
		w.checkMemory()
	}
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

// checkMemory fires once when the live heap passes the memory limit, and
// re-arms when it is back under three quarters of it (w.mu held).
func (w *Watchdog) checkMemory() {
	metrics.Read(w.memSamples)
	if w.memSamples[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := w.memSamples[0].Value.Uint64()
	switch {
	case !w.memArmed && live < w.memLimit/4*3:
		w.memArmed = true
	case w.memArmed && live > w.memLimit:
		w.memArmed = false
		reason := &MemoryLimitError{Limit: w.memLimit, Live: live}
		for l := range w.loops {
			l.interruptOrBreak(reason)
		}
	}
}

// interruptOrBreak stops l's scripts for reason: the running callback is
// interrupted (reported like a runaway one); an idle loop is broken by a
// task of its own, so its owner replaces it. Any goroutine.
func (l *Loop) interruptOrBreak(reason error) {
	l.intMu.Lock()
	running := l.beat.Load()&1 == 1
	if running {
		l.intPending = true
		l.vm.Interrupt(reason)
	}
	l.intMu.Unlock()
	if !running {
		_ = l.Submit(func() {
			if l.broken {
				return
			}
			l.emitError(CallbackError{Origin: "the scripts (idle)", Detail: reason.Error(), Interrupted: true})
			l.markBroken()
		})
	}
}
