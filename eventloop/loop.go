package eventloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// ErrStopped is returned by Submit after the loop has stopped.
var ErrStopped = errors.New("event loop stopped")

// ErrBroken is returned by CallIn and Dispatch once the loop is broken (see
// Loop.Broken): its runtime no longer runs script code. It is never reported
// as a script error.
var ErrBroken = errors.New("event loop broken by an uncatchable interrupt")

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
	// callbacks) with network time; 0 means none.
	Clock func() float64
	// OnBroken is called on the loop goroutine, once, when the loop becomes
	// broken (see Loop). It must not block; typically it schedules the
	// replacement of the loop.
	OnBroken func()
}

// Loop is a single-threaded JavaScript event loop.
//
// Concurrency: Submit and the completion functions returned by Reserve may
// be called from any goroutine, and a Watchdog samples and interrupts the
// loop from its own. Everything else, including every use of Runtime(), must
// happen on the loop goroutine: the goroutine inside Run or RunTask (which
// may be a different one from one Run to the next, but never two at once).
//
// Broken loops: goja cannot recover a runtime in which an uncatchable error
// (an interrupt, or a stack overflow inside a promise job) unwound past the
// job queue: the queued promise jobs are lost and, inside an async function,
// the runtime stops running jobs at all. The loop then marks itself broken:
// from then on CallIn and Dispatch refuse to run script code (ErrBroken)
// while Go tasks, reservations and Stop keep working, so the owner can drain
// and discard it. Options.OnBroken tells the owner.
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
	// pendingByOrigin counts outstanding reservations by the origin of the
	// awaiting context that made them, to say whose work was abandoned;
	// lastOrigin/lastCount cache the entry used last (reservations come in
	// runs from one origin).
	pendingByOrigin map[string]*int
	lastOrigin      string
	lastCount       *int
	callOrigin      string // the callback Dispatch is running, async or not
	subjFile        string // see SetSubject
	subjLine        int
	// completions of reservations waiting for runCompletions (under mu).
	completions       []completion
	completionsQueued bool
	depth             int // RunTask nesting
	// after holds the tasks AfterTask queued, run once the outermost task
	// has returned and its promise jobs have drained.
	after     []func()
	broken    bool // see Loop.Broken
	timersOff bool // StopTimers was called
	// interruptReported is set once an interrupt has been reported as a
	// callback error, so the task that unwinds from it does not report it
	// again.
	interruptReported bool

	// Activity beat for the watchdog: ticks counts entries into script code
	// (tasks, callbacks, promise jobs) on the loop goroutine; beat publishes
	// ticks<<1 | 1 while a task runs and ticks<<1 while the loop is idle.
	ticks uint64
	beat  atomic.Uint64
	// intMu orders the watchdog's Interrupt against the end of a task, so an
	// interrupt aimed at a task that has just finished never lands on the
	// next one.
	intMu      sync.Mutex
	intPending bool
}

// completion is a finished reservation's code and whose it was.
type completion struct {
	fn     func()
	origin string
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

		pendingByOrigin: make(map[string]*int),
	}
	l.tracker.loop = l
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
// has stopped when the completion arrives, fn is dropped. The work is
// counted as pending for the awaiting context in force (see Pending).
func (l *Loop) Reserve() (complete func(fn func())) {
	return l.reserve(l.currentOrigin(), true)
}

// Hold is Reserve for the loop's owner: it keeps the loop running (while
// more work is expected from outside) without counting as a script's
// pending work.
func (l *Loop) Hold() (release func(fn func())) {
	return l.reserve("", false)
}

func (l *Loop) reserve(origin string, counted bool) func(fn func()) {
	l.reserved++
	if counted {
		l.countPending(origin, 1)
	} else {
		origin = holdOrigin
	}
	var done atomic.Bool
	return func(fn func()) {
		if !done.CompareAndSwap(false, true) {
			l.log.Error("eventloop: reservation completed twice", "stack", string(debug.Stack()))
			return
		}
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return
		}
		l.completions = append(l.completions, completion{fn: fn, origin: origin})
		schedule := !l.completionsQueued
		if schedule {
			l.completionsQueued = true
			l.queue = append(l.queue, l.runCompletions)
		}
		l.mu.Unlock()
		if schedule {
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}
}

// countPending adds d to origin's count of outstanding reservations
// (loop goroutine).
func (l *Loop) countPending(origin string, d int) {
	c := l.lastCount
	if c == nil || origin != l.lastOrigin {
		if c = l.pendingByOrigin[origin]; c == nil {
			if d <= 0 {
				return
			}
			c = new(int)
			l.pendingByOrigin[origin] = c
		}
		l.lastOrigin, l.lastCount = origin, c
	}
	if *c += d; *c <= 0 {
		delete(l.pendingByOrigin, origin)
		l.lastOrigin, l.lastCount = "", nil
	}
}

// holdOrigin marks reservations made with Hold.
const holdOrigin = "\x00hold"

// currentOrigin names the awaiting context in force, else the callback
// being dispatched (a plain handler), else "".
func (l *Loop) currentOrigin() string {
	if c := l.tracker.cur; c != nil {
		return c.Origin
	}
	return l.callOrigin
}

// runCompletions runs every completion that arrived since the last turn as
// one task: a burst of finished operations (a group commit, a pipeline
// reply) costs one trip into JS and one drain of promise jobs instead of one
// per operation. A panicking completion is logged and the rest still run.
func (l *Loop) runCompletions() {
	l.mu.Lock()
	list := l.completions
	l.completions = nil
	l.completionsQueued = false
	l.mu.Unlock()
	for i, c := range list {
		list[i] = completion{}
		l.reserved--
		if c.origin != holdOrigin {
			l.countPending(c.origin, -1)
		}
		if c.fn != nil {
			l.callRecovered(c.fn)
		}
	}
	l.wakeBelowWaiters()
}

func (l *Loop) callRecovered(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("eventloop: panic in completion", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn()
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
		if l.reserved == 0 && l.timers.refs == 0 {
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
	l.completions = nil
	l.completionsQueued = false
	l.mu.Unlock()
	l.timers.clear()
}

// RunTask runs fn as one macrotask on the loop goroutine: fn runs inside a
// JS call so that the promise jobs it queues are drained when it returns,
// with no awaiting context current (so the context of whatever fn dispatched
// cannot leak into unrelated jobs). Panics are recovered and logged;
// unhandled rejections are reported afterwards. RunTask may be nested; only
// the outermost call drains jobs, and then runs the tasks AfterTask queued.
// The watchdog counts the outermost call's time as busy.
func (l *Loop) RunTask(fn func()) {
	outer := l.depth == 0
	l.runTask(fn, outer)
	if !outer {
		return
	}
	for len(l.after) > 0 {
		next := l.after[0]
		l.after[0] = nil
		l.after = l.after[1:]
		l.runTask(next, true)
	}
	l.after = nil
}

// AfterTask runs fn as a task of its own right after the current task: once
// the outermost task running now has returned and its promise jobs have
// drained, before any other task, timer or completion (tasks queued by
// AfterTask run in the order queued, those they queue after them). Outside
// a task it is Submit. Loop goroutine only.
func (l *Loop) AfterTask(fn func()) {
	if l.depth == 0 {
		_ = l.Submit(fn)
		return
	}
	l.after = append(l.after, fn)
}

func (l *Loop) runTask(fn func(), outer bool) {
	l.depth++
	if outer {
		l.tick()
	}
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("eventloop: panic in task", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
		l.depth--
		if outer {
			l.endTask()
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

// tick records an entry into script code (loop goroutine).
func (l *Loop) tick() {
	l.ticks++
	l.beat.Store(l.ticks<<1 | 1)
}

// endTask marks the loop idle after its outermost task and drops an
// interrupt that arrived too late to hit the task it was aimed at.
func (l *Loop) endTask() {
	l.intMu.Lock()
	l.beat.Store(l.ticks << 1)
	if l.intPending {
		l.intPending = false
		l.vm.ClearInterrupt()
	}
	l.intMu.Unlock()
	l.interruptReported = false
	if l.broken {
		// A job unwound by an uncatchable error leaves its context current.
		l.tracker.cur = nil
	}
}

// Broken reports whether an uncatchable error left the runtime unusable
// (see Loop). Loop goroutine only.
func (l *Loop) Broken() bool { return l.broken }

func (l *Loop) markBroken() {
	if l.broken {
		return
	}
	l.broken = true
	if l.opts.OnBroken != nil {
		l.opts.OnBroken()
	}
}

func (l *Loop) reportTaskError(err error) {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		// The interrupt unwound the whole task: goja dropped its queued
		// promise jobs (and inside a job, stops running them at all).
		l.markBroken()
		if !l.interruptReported {
			origin := "a task"
			if c := l.tracker.cur; c != nil {
				origin = c.Origin // the continuation that was running
			}
			l.ReportError(origin, err)
		}
		return
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		// Only a promise job can overflow at task level (callbacks are
		// called nested, where the error is caught); the jobs are lost.
		l.markBroken()
		origin := "a promise continuation"
		if c := l.tracker.cur; c != nil {
			origin = c.Origin
		}
		l.ReportError(origin, err)
		return
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		l.log.Error("eventloop: uncaught exception", "error", exceptionDetail(l.vm, ex))
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
// frames with file:line:col), or the value's string form. It never panics:
// a value whose conversion to a string throws (Object.create(null), a
// throwing toString or Symbol.toPrimitive, a hostile Proxy) is described
// by its kind instead.
func ErrorStack(vm *goja.Runtime, v goja.Value) (s string) {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	defer func() {
		if recover() != nil {
			s = describeUnprintable(v)
		}
	}()
	if o, ok := v.(*goja.Object); ok {
		if st := o.Get("stack"); st != nil && !goja.IsUndefined(st) && !goja.IsNull(st) {
			return st.String()
		}
	}
	return v.String()
}

// describeUnprintable names a value that has no string form.
func describeUnprintable(v goja.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "a thrown value that cannot be converted to a string"
		}
	}()
	if o, ok := v.(*goja.Object); ok {
		return fmt.Sprintf("a thrown object that cannot be converted to a string (class %s; keys: %s)", o.ClassName(), strings.Join(o.Keys(), ", "))
	}
	return "a thrown value that cannot be converted to a string"
}

// exceptionDetail renders a goja exception: the thrown value's stack when
// it is an Error, else its (safe) string form followed by where it was
// thrown.
func exceptionDetail(vm *goja.Runtime, ex *goja.Exception) string {
	val := ex.Value()
	if o, ok := val.(*goja.Object); ok {
		if st, ok := safeGet(o, "stack"); ok {
			return st
		}
	}
	var b strings.Builder
	b.WriteString(ErrorStack(vm, val))
	for _, f := range ex.Stack() {
		if f.SrcName() == "" || f.SrcName() == "<native>" {
			continue
		}
		p := f.Position()
		fmt.Fprintf(&b, "\n\tat %s:%d:%d", f.SrcName(), p.Line, p.Column)
	}
	return b.String()
}

// safeGet reads o[key] as a string, reporting false when it is absent or
// reading or converting it throws.
func safeGet(o *goja.Object, key string) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	v := o.Get(key)
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return "", false
	}
	return v.String(), true
}
