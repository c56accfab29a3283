package eventloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// ErrStopped is returned by Submit after the loop has stopped.
var ErrStopped = errors.New("event loop stopped")

// Options configure a Loop.
type Options struct {
	// Logger receives loop diagnostics (unhandled rejections, recovered
	// panics). Defaults to slog.Default().
	Logger *slog.Logger
	// MaxCallStackSize bounds JS recursion so runaway recursion is a
	// RangeError, not a Go stack overflow. Defaults to 4096.
	MaxCallStackSize int
	// OnUnhandledRejection is called on the loop goroutine for each promise
	// rejected without a handler by the end of a task. Defaults to logging.
	OnUnhandledRejection func(reason goja.Value, stack string)
	// OnCallbackError is called on the loop goroutine when a callback the
	// loop or runtime dispatched throws or its promise rejects. Defaults to
	// logging.
	OnCallbackError func(CallbackError)
	// Clock, if set, stamps the awaiting contexts the loop creates (timer
	// callbacks) with network time.
	Clock func() float64
}

// Loop is a single-threaded JavaScript event loop.
//
// Concurrency: Submit and completion functions returned by Reserve may be
// called from any goroutine. Everything else, including every use of
// Runtime(), must happen on the loop goroutine (inside a task, a timer, a
// host function or a promise job).
type Loop struct {
	vm   *goja.Runtime
	log  *slog.Logger
	opts Options

	mu      sync.Mutex
	queue   []func()
	wake    chan struct{}
	stopped bool

	// Loop-goroutine state.
	reserved   int
	timers     timerQueue
	tracker    tracker
	trampoline goja.Callable
	current    func()
	rejected   map[*goja.Promise]struct{}
	rejectList []*goja.Promise
	running    atomic.Bool
	// belowWaiters run once reserved drops under their threshold.
	belowWaiters []belowWaiter
}

type belowWaiter struct {
	n  int
	fn func()
}

// New creates a loop with a fresh goja runtime.
func New(opts Options) *Loop {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxCallStackSize <= 0 {
		opts.MaxCallStackSize = 4096
	}
	vm := goja.New()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	vm.SetMaxCallStackSize(opts.MaxCallStackSize)
	l := &Loop{
		vm:       vm,
		log:      opts.Logger,
		opts:     opts,
		wake:     make(chan struct{}, 1),
		rejected: make(map[*goja.Promise]struct{}),
	}
	vm.SetAsyncContextTracker(&l.tracker)
	vm.SetPromiseRejectionTracker(l.trackRejection)
	l.installTrampolines()
	l.installTimers()
	return l
}

// Runtime returns the loop's goja runtime. Use it only on the loop goroutine.
func (l *Loop) Runtime() *goja.Runtime { return l.vm }

// Logger returns the loop's logger.
func (l *Loop) Logger() *slog.Logger { return l.log }

// Submit queues fn to run on the loop goroutine. It never blocks. It returns
// ErrStopped if the loop has stopped; fn is then not run. Submitted work does
// not keep an idle loop alive unless it arrives before Run notices idleness:
// use Reserve for work that completes later.
func (l *Loop) Submit(fn func()) error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return ErrStopped
	}
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Reserve registers work in flight and returns its completion function. Call
// Reserve on the loop goroutine; call the returned function exactly once,
// from any goroutine, with the code to run on the loop (nil for none). Until
// then Run does not return. A second call is ignored and logged. If the loop
// has stopped when the completion arrives, fn is dropped.
func (l *Loop) Reserve() (complete func(fn func())) {
	l.reserved++
	var done atomic.Bool
	return func(fn func()) {
		if !done.CompareAndSwap(false, true) {
			l.log.Error("eventloop: reservation completed twice", "stack", string(debug.Stack()))
			return
		}
		_ = l.Submit(func() {
			l.reserved--
			if fn != nil {
				fn()
			}
			l.wakeBelowWaiters()
		})
	}
}

// Reserved reports the number of outstanding reservations (loop goroutine only).
func (l *Loop) Reserved() int { return l.reserved }

// WhenReservedBelow runs fn on the loop as soon as fewer than n reservations
// are outstanding: at once if that holds now. Producers use it to apply
// backpressure on work in flight (loop goroutine only).
func (l *Loop) WhenReservedBelow(n int, fn func()) {
	if l.reserved < n {
		fn()
		return
	}
	l.belowWaiters = append(l.belowWaiters, belowWaiter{n: n, fn: fn})
}

func (l *Loop) wakeBelowWaiters() {
	if len(l.belowWaiters) == 0 {
		return
	}
	keep := l.belowWaiters[:0]
	var ready []func()
	for _, w := range l.belowWaiters {
		if l.reserved < w.n {
			ready = append(ready, w.fn)
		} else {
			keep = append(keep, w)
		}
	}
	l.belowWaiters = keep
	for _, fn := range ready {
		fn()
	}
}

// Run executes tasks, timers and promise jobs until the loop is idle or ctx
// ends. first, if non-nil, runs as the first task. Run returns nil when idle,
// ctx.Err() when cancelled. A loop can be Run again after it returned idle;
// after Stop it cannot.
func (l *Loop) Run(ctx context.Context, first func()) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("eventloop: Run called concurrently")
	}
	defer l.running.Store(false)
	if first != nil {
		if err := l.Submit(first); err != nil {
			return err
		}
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		tasks := l.queue
		l.queue = nil
		l.mu.Unlock()
		for i, t := range tasks {
			tasks[i] = nil
			l.RunTask(t)
		}
		l.fireDueTimers(time.Now())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.mu.Lock()
		pending := len(l.queue)
		l.mu.Unlock()
		if pending > 0 {
			continue
		}
		if l.reserved == 0 && l.timers.Len() == 0 {
			return nil
		}
		var timerC <-chan time.Time
		if next, ok := l.timers.next(); ok {
			d := time.Until(next)
			if d <= 0 {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			timerC = timer.C
		}
		select {
		case <-l.wake:
		case <-timerC:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stop makes further Submit calls fail and drops queued tasks. Call it when
// the loop will not run again, so completions arriving late are discarded.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.queue = nil
	l.mu.Unlock()
	l.timers.clear()
}

// RunTask runs fn as one macrotask on the loop goroutine: fn runs inside a
// JS call so that the promise jobs it queues are drained when it returns,
// with no awaiting context current (so the context of whatever fn dispatched
// cannot leak into unrelated jobs). Panics are recovered and logged;
// unhandled rejections are reported afterwards. RunTask may be nested; only
// the outermost call drains jobs.
func (l *Loop) RunTask(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("eventloop: panic in task", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	prev := l.current
	l.current = fn
	_, err := l.trampoline(goja.Undefined())
	l.current = prev
	if err != nil {
		l.reportTaskError(err)
	}
	l.flushRejections()
}

func (l *Loop) reportTaskError(err error) {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		l.log.Error("eventloop: uncaught exception", "error", ex.String())
		return
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		l.log.Error("eventloop: interrupted", "error", ie.String())
		return
	}
	l.log.Error("eventloop: task failed", "error", err)
}

func (l *Loop) installTrampolines() {
	// The task trampoline is a JS function calling back into Go, so every Go
	// callback runs nested inside one JS call and jobs drain after it.
	prog := goja.MustCompile("scriptd:trampoline", `(function (run) { return function () { run(); }; })`, true)
	v, err := l.vm.RunProgram(prog)
	if err != nil {
		panic(fmt.Sprintf("eventloop: trampoline: %v", err)) // static code: cannot fail
	}
	outer, _ := goja.AssertFunction(v)
	run := l.Func("task", func(goja.FunctionCall) goja.Value {
		l.current()
		return goja.Undefined()
	})
	inner, err := outer(goja.Undefined(), run)
	if err != nil {
		panic(fmt.Sprintf("eventloop: trampoline: %v", err))
	}
	l.trampoline, _ = goja.AssertFunction(inner)
}

// trackRejection follows goja's HostPromiseRejectionTracker protocol.
func (l *Loop) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		if _, ok := l.rejected[p]; !ok {
			l.rejected[p] = struct{}{}
			l.rejectList = append(l.rejectList, p)
		}
	case goja.PromiseRejectionHandle:
		delete(l.rejected, p)
	}
}

func (l *Loop) flushRejections() {
	if len(l.rejectList) == 0 {
		return
	}
	list := l.rejectList
	l.rejectList = nil
	for _, p := range list {
		if _, still := l.rejected[p]; !still {
			continue
		}
		delete(l.rejected, p)
		reason := p.Result()
		stack := ErrorStack(l.vm, reason)
		if l.opts.OnUnhandledRejection != nil {
			l.opts.OnUnhandledRejection(reason, stack)
		} else {
			l.log.Error("unhandled promise rejection", "reason", stack)
		}
	}
}

// ErrorStack renders a thrown JS value: an Error's stack (message and
// frames with file:line:col), or the value's string form.
func ErrorStack(vm *goja.Runtime, v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if o, ok := v.(*goja.Object); ok {
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) && !goja.IsNull(s) {
			return s.String()
		}
	}
	return v.String()
}
