package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/internal/globals"
	"github.com/scriptd/scriptd/internal/watch"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/input"
)

// ErrReservedEvent is returned by Emit and EmitJSON for the names the
// engine reserves for itself (see input.ReservedEvent).
var ErrReservedEvent = errors.New("the event name is reserved for the engine (init, done, Storage.*, scriptd.*)")

// Config configures an Engine. Zero values pick the defaults noted.
type Config struct {
	// Paths are script files or directories (docs/cli.md).
	Paths []string
	// Inputs are the --input specs; read once init has settled. A spec
	// whose path is a stream URL (input.IsStreamURL) is read as a member
	// of a consumer group (package stream); it implies Follow.
	Inputs []input.Spec
	// Follow keeps reading inputs as they grow (tail -F).
	Follow bool
	// LogDir is where Log.write streams go (default: the working directory).
	LogDir string
	// Stdout and Stderr default to the process's.
	Stdout, Stderr io.Writer
	// Stdin is read for the input "-" (default os.Stdin).
	Stdin io.Reader
	// Logger receives engine diagnostics (default: text to Stderr).
	Logger *slog.Logger
	// Extensions install extra globals (the storage framework is one).
	Extensions []ext.Extension
	// Modules are Go-native modules scripts load by name with require(name)
	// or import ... from "name", made once per version of the scripts by
	// their factory (see ext.ModuleFactory). A name may not be a path or
	// a bundled scriptd/* module.
	Modules map[string]ext.ModuleFactory
	// Args are the script arguments (`scriptd run PATH... -- ARG...`):
	// process.argv is [the executable, the first of Paths (absolute),
	// Args...], so Args is process.argv.slice(2).
	Args []string
	// MaxInFlight bounds reserved async work (storage operations) before
	// input reading pauses: the backpressure that keeps memory flat on
	// large inputs. Default 10,000.
	MaxInFlight int
	// ShutdownGrace bounds how long pending work may take to settle after
	// the run context ends before done runs anyway. Default 10 s.
	ShutdownGrace time.Duration
	// Watch hot-reloads the script Paths when their files change (docs/cli.md
	// --watch).
	Watch bool
	// HandlerTimeout interrupts a handler, timer callback, promise
	// continuation or top-level script running longer than this (docs/scripts.md;
	// default 10 s). The interrupted scripts are rebuilt on a fresh runtime.
	HandlerTimeout time.Duration
	// Strict makes Run return a *ScriptsFailedError when any script error
	// was reported. Without it, Run returns one only when the scripts
	// failed on every input record (a run that did nothing useful).
	Strict bool
	// MaxMemory bounds the live Go heap the scripts may hold, in bytes (0:
	// no bound). Past it the running script code is interrupted (or, idle,
	// the runtime broken), reported like a runaway handler, and the scripts
	// are rebuilt on a fresh runtime; state in storage survives. It also
	// sets the process's soft memory limit (runtime/debug.SetMemoryLimit)
	// and a heap-goal floor (GOGC tuned so small heaps are not collected
	// over and over; see eventloop's gc floor), so an embedder that manages
	// the Go runtime's memory settings itself should leave it 0.
	MaxMemory uint64
	// Observer, if set, receives engine activity (metrics).
	Observer Observer
	// KeepAlive keeps the engine running (e.g. --listen, --watch) until the
	// run context ends, even with no inputs or pending work.
	KeepAlive bool
	// ReloadDrainTimeout bounds how long a version being replaced (a reload,
	// or the recovery from an interrupted handler) may take to settle its
	// in-flight async operations before it is torn down. Default 5 s.
	ReloadDrainTimeout time.Duration
	// WatchDebounce is how long the file watcher waits after the last change
	// before reloading (default 100 ms).
	WatchDebounce time.Duration
}

// Engine runs scripts. See the package documentation for its lifecycle.
//
// The scripts run as a version (see version): one goja runtime on one event
// loop. With Config.Watch, a change to the script files builds a new version
// off to the side and swaps it in; a handler interrupted for running past
// Config.HandlerTimeout swaps in a fresh version built from the same
// sources. Events from outside the scripts (input records, Emit) wait in the
// engine's inbox until a version takes them, so each is handled exactly
// once, by exactly one version, in order.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	stdout  io.Writer
	stderr  *lockedWriter
	clock   netClock
	wd      *eventloop.Watchdog
	metrics counters

	cur atomic.Pointer[version] // the version in service; stored on the Run goroutine
	in  inbox                   // events from outside, for the active version
	ctl control                 // requests to the Run goroutine

	// Run-goroutine state (the goroutine running the loops; before Run, the
	// one that called New).
	logs          *globals.Logs
	nextVersion   int
	inputCtx      context.Context
	inputsStarted bool
	inputsDone    bool // every input has ended (the scripts were told)
	inputsRunning bool // from startInputs until the inputs' end reaches the scripts
	keepAlive     bool
	stopping      bool
	admitPending  func() // admission of the input batch a retired version finished
	watcher       *watch.Watcher
	recovery      recoveryState

	// startupErr is why the run could not start (init never completed);
	// Run returns it.
	startupErr error
	// errs collapses repeated script errors and sums them up at exit;
	// inputEvents counts the events input records produced, firedEvents
	// the names that were dispatched (for "handlers never ran").
	errs        errorLog
	inputEvents map[string]int64
	firedEvents map[string]struct{}
	// deferredReload is a reload requested while another was on trial.
	deferredReload reloadReason

	// Stream records (Run goroutine, which runs every loop): recordCtxs
	// maps the awaiting context of an async handler still running for a
	// stream record to the record, so that a handler interrupted in a
	// continuation acknowledges its record; dispatching is the stream
	// record being dispatched (see fireRecord).
	recordCtxs  map[*eventloop.AwaitingContext]recordAck
	dispatching *input.Event

	readersMu sync.Mutex
	readers   []inputSource  // file readers and stream sources, in Inputs order
	streams   sync.WaitGroup // the Run goroutines of stream sources

	ran bool
}

// New creates an engine and loads its scripts: every file's top level runs
// now, in order, under the handler time limit. A load error is a
// *LoadError naming the file and position.
func New(cfg Config) (*Engine, error) {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 10000
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 10 * time.Second
	}
	if cfg.ReloadDrainTimeout <= 0 {
		cfg.ReloadDrainTimeout = 5 * time.Second
	}
	if cfg.LogDir == "" {
		cfg.LogDir = "."
	}
	stderr := &lockedWriter{w: cfg.Stderr}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e := &Engine{cfg: cfg, log: log, stdout: cfg.Stdout, stderr: stderr, inputEvents: map[string]int64{}, firedEvents: map[string]struct{}{}}
	e.wd = eventloop.NewWatchdog(cfg.HandlerTimeout)
	e.wd.SetMemoryLimit(cfg.MaxMemory)
	e.logs = globals.NewLogs(cfg.LogDir)
	files, err := ScriptFiles(cfg.Paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		if !cfg.Watch {
			return nil, fmt.Errorf("no script files in %s: nothing would handle the events", strings.Join(cfg.Paths, ", "))
		}
		fmt.Fprintf(stderr, "scriptd: warning: no script files in %s yet; events are dropped until one is added\n", strings.Join(cfg.Paths, ", "))
	}
	// Load without running the loop (timers and promise work that top-level
	// code starts wait for Run), but under the watchdog.
	stopWD := e.runWatchdog()
	v, err := e.newVersion(newSourceSet(files))
	stopWD()
	if err != nil {
		e.logs.Close(e.stderr)
		return nil, err
	}
	e.cur.Store(v)
	return e, nil
}

// runWatchdog runs the watchdog until the returned function is called.
func (e *Engine) runWatchdog() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.wd.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Emit queues an event from any goroutine; it never blocks. args are
// converted with the runtime's ToValue on the loop. It returns
// eventloop.ErrStopped once the engine has stopped.
//
// Like input records, emitted events wait for init to settle, and during a
// reload for the new version's init: they are handled in the order they
// were emitted, interleaved with input records as they arrived.
func (e *Engine) Emit(name string, args ...any) error {
	if input.ReservedEvent(name) {
		return fmt.Errorf("emit %q: %w", name, ErrReservedEvent)
	}
	return e.in.post(inItem{name: name, args: args})
}

// EmitJSON queues an event whose arguments are JSON text: one value, or
// with spread a JSON array whose elements are the arguments. The text is
// parsed with the script runtime's JSON.parse, so objects keep its key
// order. Unlike Emit it applies backpressure: it returns once the loop has
// taken the event and fewer than MaxInFlight async operations are
// outstanding, or with ctx's error (the event stays queued). Safe from any
// goroutine; raw must not be modified afterwards.
func (e *Engine) EmitJSON(ctx context.Context, name string, raw []byte, spread bool) error {
	if input.ReservedEvent(name) {
		return fmt.Errorf("emit %q: %w", name, ErrReservedEvent)
	}
	taken := make(chan struct{})
	if err := e.in.post(inItem{name: name, json: raw, spread: spread, taken: taken}); err != nil {
		return err
	}
	select {
	case <-taken:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run dispatches init, reads inputs once init has settled, and dispatches
// done once inputs have ended and pending work has settled (or ctx ended
// and the grace period passed). With Config.Watch it reloads the scripts
// when their files change. It returns an error only for failures of the
// engine itself (an input that cannot be opened, a watch that cannot be set
// up); script errors are reported, not returned. The goroutine calling Run
// runs every script runtime of the engine.
func (e *Engine) Run(ctx context.Context) error {
	if e.ran {
		return errors.New("runtime: Engine.Run called twice")
	}
	e.ran = true
	defer e.logs.Close(e.stderr)
	defer e.in.close()
	v := e.cur.Load()

	inputCtx, cancelInputs := context.WithCancel(context.Background())
	e.inputCtx = inputCtx
	defer cancelInputs() // the input goroutines end once their reads return
	if err := e.openInputs(); err != nil {
		e.closeVersion(v)
		return err
	}
	// Last of all, once handlers have settled: stream sources send their
	// final acknowledgements and disconnect.
	defer e.closeStreams(cancelInputs)
	e.keepAlive = e.cfg.KeepAlive

	// Background goroutines: the watchdog, the file watcher, and the
	// goroutine that turns the end of ctx into a shutdown request.
	bgCtx, stopBG := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	defer func() {
		stopBG()
		bg.Wait()
		e.recovery.stop()
	}()
	bg.Go(func() { e.wd.Run(bgCtx) })
	if e.cfg.Watch {
		if err := e.startWatcher(bgCtx, &bg); err != nil {
			e.closeVersion(v)
			return err
		}
	}
	bg.Go(func() {
		select {
		case <-ctx.Done():
			cancelInputs()
			e.ctl.requestStop()
		case <-bgCtx.Done():
		}
	})

	v = e.serve(v)
	if v.trialOf != nil {
		// The run ended before the reloaded version's init settled: the
		// old version, which ran all along, sees done.
		v, _ = e.endTrial(v, trialFailed)
	}

	// Pending work has settled (or the grace period ran out): done, then
	// close extensions (backends) and let their closes settle.
	e.stopping = true
	e.in.deactivate(v)
	e.syncHold(v)
	if v.loop.Broken() {
		fmt.Fprintln(e.stderr, "scriptd: done not dispatched: the scripts' runtime was interrupted and could not be rebuilt")
	} else {
		doneCtx, cancelDone := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
		v.expireNetTimers(doneCtx)
		_ = v.loop.Run(doneCtx, func() { v.fire("done", nil, nil) })
		cancelDone()
	}
	e.neverFired(v)
	e.closeVersion(v)
	e.printSummary()
	e.errs.summary(e.stderr)
	if e.startupErr != nil {
		return e.startupErr
	}
	if err := e.inputErrors(); err != nil {
		return err
	}
	return e.scriptsFailed()
}

// ScriptsFailedError is Run's error when the scripts failed: on every
// input record, or (Config.Strict) at all. Each error was reported, and
// summed up at exit.
type ScriptsFailedError struct {
	Errors       int64 // script errors reported
	RecordErrors int64 // of which while handling input records
	Records      int64 // input records dispatched
}

func (e *ScriptsFailedError) Error() string {
	if e.Records > 0 && e.RecordErrors >= e.Records {
		return fmt.Sprintf("the scripts failed on every input record (%d errors on %d records)", e.RecordErrors, e.Records)
	}
	return fmt.Sprintf("the scripts reported %d error(s) (--strict)", e.Errors)
}

func (e *Engine) scriptsFailed() error {
	var records int64
	for _, n := range e.inputEvents {
		records += n
	}
	errs := int64(e.metrics.handlerErrors.Load())
	everyRecord := records > 0 && e.errs.onRecords >= records
	if everyRecord || (e.cfg.Strict && errs > 0) {
		return &ScriptsFailedError{Errors: errs, RecordErrors: e.errs.onRecords, Records: records}
	}
	return nil
}

// inputErrors says which inputs could not be read to their end (nil if all
// were; each failure was reported when it happened): a run that lost part
// of an input must not look like a clean one.
func (e *Engine) inputErrors() error {
	var failed []string
	var first error
	for _, r := range e.readersSnapshot() {
		if err := r.Err(); err != nil {
			failed = append(failed, input.DisplayPath(r.Spec().Path))
			first = cmp.Or(first, err)
		}
	}
	if first == nil {
		return nil
	}
	return &InputError{Inputs: failed, Err: first}
}

// InputError is Run's error when inputs could not be read to their end.
type InputError struct {
	Inputs []string // the inputs, as given
	Err    error    // the first failure (an *input.ReadError)
}

func (e *InputError) Error() string {
	return fmt.Sprintf("not read to the end (reported above): %s", strings.Join(e.Inputs, ", "))
}

func (e *InputError) Unwrap() error { return e.Err }

// serve runs the current version's loop until the run is over, handling
// the requests that interrupt it: reloads (file changes, recovery from an
// interrupt) and the shutdown that ctx's end starts. It returns the version
// in service at the end.
func (e *Engine) serve(v *version) *version {
	start := func() { e.start(v) }
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	for {
		runCtx := e.ctl.arm()
		err := v.loop.Run(runCtx, start)
		start = nil
		req := e.ctl.take()
		if req.trial != trialPending && v.trialOf != nil {
			v, start = e.endTrial(v, req.trial)
			if d := e.deferredReload; d != reloadNone {
				e.deferredReload = reloadNone
				e.ctl.requestReload(d)
			}
		}
		switch {
		case req.graceOver:
			e.reportAbandoned(v, fmt.Sprintf("shutdown: pending work did not settle within the drain timeout (%v)", e.cfg.ShutdownGrace))
			return v
		case req.stop && !e.stopping:
			// Shut down: no more input or keep-alive, intervals cancelled;
			// pending work (operations, one-shot timers) gets ShutdownGrace
			// to settle.
			e.stopping = true
			e.keepAlive = false
			v.loop.ClearRepeatingTimers()
			e.syncHold(v)
			grace = time.AfterFunc(e.cfg.ShutdownGrace, e.ctl.requestGraceOver)
		case req.reload != reloadNone && !e.stopping && v.trialOf != nil:
			e.deferredReload = max(e.deferredReload, req.reload)
		case req.reload != reloadNone && !e.stopping:
			if nv := e.reload(v, req.reload); nv != v {
				v = nv
				start = func() { e.start(nv) }
			}
		case start != nil:
			// a trial just ended: run what it left to do
		case err == nil:
			return v // idle: inputs ended and every pending operation settled
		}
	}
}

// syncHold makes v hold a reservation exactly while the engine expects more
// work from outside the scripts: inputs still running, or a keep-alive
// (--follow, --watch, --listen) until shutdown. Loop goroutine of v.
func (e *Engine) syncHold(v *version) {
	want := !e.stopping && !v.retired && (e.keepAlive || e.inputsRunning)
	switch {
	case want && v.hold == nil:
		v.hold = v.loop.Hold()
	case !want && v.hold != nil:
		v.hold(nil)
		v.hold = nil
	}
}

// reportAbandoned says on stderr, by count and script location, what work
// of v is being dropped and why (Run goroutine, v's loop not running).
func (e *Engine) reportAbandoned(v *version, why string) {
	pending := v.loop.Pending()
	if len(pending) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "scriptd: %s; abandoned:", why)
	for _, p := range pending {
		origin := p.Origin
		if origin == "" {
			origin = "code outside any handler"
		}
		fmt.Fprintf(&b, "\n\t%s: %d async operation(s), %d timer(s)", origin, p.Ops, p.Timers)
	}
	fmt.Fprintln(e.stderr, b.String())
	e.metrics.abandoned.Add(int64(len(pending)))
}

// flushLogs writes out buffered Log.write lines (Run goroutine).
func (e *Engine) flushLogs() {
	e.logs.FlushReport(e.stderr)
}

// lockedWriter serializes writes from the loop and from reader goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// reportCallbackError prints a script error of version v: where it
// happened and its stack. An interrupt during v's load is reported by the
// load error instead.
func (e *Engine) reportCallbackError(v *version, ce eventloop.CallbackError) {
	if ce.Interrupted && v.loading {
		return
	}
	if ce.Interrupted {
		e.ackInterrupted(v, &ce) // stream records
	}
	if !v.initSettled {
		v.initErrors++
	}
	e.metrics.handlerErrors.Add(1)
	if e.cfg.Observer != nil {
		e.cfg.Observer.HandlerError(ce.Origin)
	}
	e.errs.report(e, ce)
}

func (e *Engine) reportUnhandled(_ goja.Value, stack string) {
	fmt.Fprintf(e.stderr, "unhandled promise rejection: %s\n", stack)
}

func (e *Engine) readersSnapshot() []inputSource {
	e.readersMu.Lock()
	defer e.readersMu.Unlock()
	return e.readers
}
