package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/scripts"
)

// Config configures an Engine. Zero values pick the defaults noted.
type Config struct {
	// Paths are script files or directories (SPEC §1).
	Paths []string
	// Inputs are the --input specs; read once init has settled.
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
	Extensions []Extension
	// MaxInFlight bounds reserved async work (storage operations) before
	// input reading pauses: the backpressure that keeps memory flat on
	// large inputs. Default 10,000.
	MaxInFlight int
	// ShutdownGrace bounds how long pending work may take to settle after
	// the run context ends before done runs anyway. Default 10 s.
	ShutdownGrace time.Duration
	// Watch hot-reloads the script Paths when their files change (SPEC §1
	// --watch).
	Watch bool
	// HandlerTimeout interrupts a handler or callback running longer than
	// this (SPEC §2; default 10 s).
	HandlerTimeout time.Duration
	// Observer, if set, receives engine activity (metrics).
	Observer Observer
	// KeepAlive keeps the engine running (e.g. --listen, --watch) until the
	// run context ends, even with no inputs or pending work.
	KeepAlive bool
}

// Extension installs globals into a fresh engine before scripts load. It
// runs on the loop goroutine; the returned closer (may be nil) runs at
// shutdown after done, also on the loop goroutine, and may reserve work.
type Extension func(h *Host) (closer func(), err error)

// Host is what an Extension sees of the engine.
type Host struct{ e *Engine }

// Loop is the engine's event loop.
func (h *Host) Loop() *eventloop.Loop { return h.e.loop }

// Runtime is the loop's goja runtime (loop goroutine only).
func (h *Host) Runtime() *goja.Runtime { return h.e.loop.Runtime() }

// NetworkTime returns network time; safe from any goroutine.
func (h *Host) NetworkTime() float64 { return h.e.clock.Now() }

// Emit queues an event for scripts (loop goroutine only).
func (h *Host) Emit(name string, args ...goja.Value) { h.e.enqueue(name, args) }

// Logger is the engine's logger.
func (h *Host) Logger() *slog.Logger { return h.e.log }

// Engine runs scripts. See the package documentation for its lifecycle.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	stdout io.Writer
	stderr *lockedWriter
	loop   *eventloop.Loop
	clock  netClock
	req    *require.RequireModule

	// Loop-goroutine state.
	events         registry
	queue          []queuedEvent
	draining       bool
	drainScheduled bool
	closers        []func()
	logs           *logWriters
	netTimers      netTimerQueue
	inputsRunning  bool
	initSettled    bool
	beforeInit     []queuedEvent // Emit calls waiting for init to settle
	readersMu      sync.Mutex
	readers        []*input.Reader

	metrics counters
	ran     bool
}

// New creates an engine and loads its scripts: every file's top level runs
// now, in order. A load error names the file and position.
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
	if cfg.LogDir == "" {
		cfg.LogDir = "."
	}
	stderr := &lockedWriter{w: cfg.Stderr}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e := &Engine{cfg: cfg, log: log, stdout: cfg.Stdout, stderr: stderr}
	e.logs = newLogWriters(cfg.LogDir)
	e.loop = eventloop.New(eventloop.Options{
		Logger:               log,
		OnCallbackError:      e.reportCallbackError,
		OnUnhandledRejection: e.reportUnhandled,
		Clock:                e.clock.Now,
	})
	files, err := ScriptFiles(cfg.Paths)
	if err != nil {
		return nil, err
	}
	// Load as one task, without running the loop: timers and promise work
	// that top-level code starts wait for Run.
	var loadErr error
	e.loop.RunTask(func() { loadErr = e.load(files) })
	if loadErr != nil {
		return nil, loadErr
	}
	return e, nil
}

// load installs globals and runs each script's top level (loop goroutine).
func (e *Engine) load(files []string) error {
	vm := e.loop.Runtime()
	reg := require.NewRegistry()
	scripts.Register(reg)
	e.req = reg.Enable(vm)
	e.installEvents()
	e.installGlobals()
	host := &Host{e: e}
	for _, ext := range e.cfg.Extensions {
		closer, err := ext(host)
		if err != nil {
			return fmt.Errorf("extension: %w", err)
		}
		if closer != nil {
			e.closers = append(e.closers, closer)
		}
	}
	for _, f := range files {
		if _, err := e.req.Require(f); err != nil {
			return fmt.Errorf("load %s: %s", f, describeLoadError(err))
		}
	}
	return nil
}

// Emit queues an event from any goroutine; args are converted with the
// runtime's ToValue on the loop. It returns eventloop.ErrStopped once the
// engine has stopped.
//
// Like input records, events emitted before init has settled wait for it.
func (e *Engine) Emit(name string, args ...any) error {
	return e.loop.Submit(func() {
		vm := e.loop.Runtime()
		vals := make([]goja.Value, len(args))
		for i, a := range args {
			vals[i] = vm.ToValue(a)
		}
		if !e.initSettled {
			e.beforeInit = append(e.beforeInit, queuedEvent{name: name, args: vals})
			return
		}
		e.enqueue(name, vals)
	})
}

// initDone releases what waited for init to settle (loop goroutine).
func (e *Engine) initDone() {
	e.initSettled = true
	for _, ev := range e.beforeInit {
		e.enqueue(ev.name, ev.args)
	}
	e.beforeInit = nil
}

// Run dispatches init, reads inputs once init has settled, and dispatches
// done once inputs have ended and pending work has settled (or ctx ended
// and the grace period passed). It returns an error only for failures of
// the engine itself (an input that cannot be opened); script errors are
// reported, not returned.
func (e *Engine) Run(ctx context.Context) error {
	if e.ran {
		return errors.New("runtime: Engine.Run called twice")
	}
	e.ran = true
	defer e.logs.closeAll()

	readers := make([]*input.Reader, 0, len(e.cfg.Inputs))
	for _, spec := range e.cfg.Inputs {
		r, err := input.Open(spec, input.Options{
			Follow:      e.cfg.Follow,
			Stdin:       e.cfg.Stdin,
			OnBadRecord: e.badRecord,
		})
		if err != nil {
			return err
		}
		readers = append(readers, r)
	}
	e.readersMu.Lock()
	e.readers = readers
	e.readersMu.Unlock()

	inputCtx, cancelInputs := context.WithCancel(context.Background())
	defer cancelInputs()
	// loopCtx ends ShutdownGrace after ctx does, bounding a stuck shutdown.
	loopCtx, cancelLoop := context.WithCancel(context.Background())
	defer cancelLoop()
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopWatch:
			return
		}
		cancelInputs()
		_ = e.loop.Submit(func() { e.shutdown() })
		select {
		case <-time.After(e.cfg.ShutdownGrace):
			e.log.Warn("shutdown grace period over; abandoning pending work", "grace", e.cfg.ShutdownGrace)
			cancelLoop()
		case <-stopWatch:
		}
	}()

	err := e.loop.Run(loopCtx, func() {
		if e.cfg.KeepAlive {
			release := e.loop.Reserve()
			go func() {
				select {
				case <-ctx.Done():
				case <-stopWatch:
				}
				release(nil)
			}()
		}
		e.fire("init", nil, func() {
			e.initDone()
			if ctx.Err() == nil {
				e.startInputs(inputCtx, readers)
			}
		})
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	// Pending work has settled (or the grace period ran out): done, then
	// close extensions (backends) and let their closes settle.
	doneCtx, cancelDone := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancelDone()
	_ = e.loop.Run(doneCtx, func() {
		e.fireNetTimersAtEnd()
		e.fire("done", nil, nil)
	})
	_ = e.loop.Run(doneCtx, func() {
		for _, c := range e.closers {
			c()
		}
	})
	e.loop.Stop()
	e.printSummary()
	return nil
}

// shutdown stops timers so that a ctx cancellation lets the loop idle.
func (e *Engine) shutdown() {
	e.loop.ClearTimers()
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

// reportCallbackError prints a script error: where it happened and its stack.
func (e *Engine) reportCallbackError(ce eventloop.CallbackError) {
	e.metrics.handlerErrors.Add(1)
	if e.cfg.Observer != nil {
		e.cfg.Observer.HandlerError(ce.Origin)
	}
	fmt.Fprintf(e.stderr, "error in %s: %s\n", ce.Origin, ce.Detail)
}

func (e *Engine) reportUnhandled(_ goja.Value, stack string) {
	fmt.Fprintf(e.stderr, "unhandled promise rejection: %s\n", stack)
}

func (e *Engine) readersSnapshot() []*input.Reader {
	e.readersMu.Lock()
	defer e.readersMu.Unlock()
	return e.readers
}
