package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scriptd/scriptd/internal/httpapi"
	"github.com/scriptd/scriptd/internal/metrics"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw"
)

// httpShutdownTimeout bounds draining HTTP requests at exit.
const httpShutdownTimeout = 10 * time.Second

// services are what runs beside the engine in `scriptd run`: metrics, the
// HTTP server (--listen) and the progress line.
//
// Lifecycle: newServices (signals are caught from here on), then configure
// (before engine.New), listenHTTP (binds the port before scripts run, so
// a busy port fails early), then run, which starts everything, runs the engine and stops everything in
// order: on SIGINT/SIGTERM the HTTP server stops accepting and drains its
// requests first, and only then is the engine told to stop, so every
// event answered 202 is dispatched before done. A second signal kills the
// process at once. close (deferred after newServices) releases the port and
// the signal handlers.
//
// Concurrency: the engine and the storage framework become known after
// newServices (the framework when the storage extension installs, again on
// a reload); they are held in atomic pointers read by the HTTP handlers,
// the metrics scrape and the progress goroutine.
type services struct {
	stdout    io.Writer // for the engine: erases the progress line first if on the same terminal
	stderr    io.Writer // for the engine and logs: erases the progress line first
	log       *slog.Logger
	metrics   *metrics.Metrics
	admission *httpapi.Admission
	srv       *httpapi.Server // nil without --listen
	listen    string
	progress  *progress // nil when silent

	// sigCtx ends at the first SIGINT/SIGTERM, caught from newServices on
	// so that a signal during script loading also stops the run in order.
	sigCtx      context.Context
	stopSignals context.CancelFunc

	eng atomic.Pointer[engine.Engine]
	fw  atomic.Pointer[storagefw.Framework]

	// Per --input, in order: its metrics label, and for a stream its
	// URL as shown (password redacted; "" for a file).
	inputLabels []string
	streamPaths []string
}

// newServices validates the service flags and creates metrics, the HTTP
// server (not yet bound) and the progress line.
func newServices(f *runFlags, specs []input.Spec, stdout, stderr io.Writer) (*services, error) {
	s := &services{stdout: stdout, stderr: stderr, listen: f.listen}
	mode := progressMode(f.progress)
	switch mode {
	case progressAuto, progressAlways, progressNever:
	default:
		return nil, fmt.Errorf("--progress %q: want auto, always or never", f.progress)
	}
	if f.listenToken != "" && f.listen == "" {
		return nil, errors.New("--listen-token needs --listen")
	}
	if f.maxBody <= 0 {
		return nil, fmt.Errorf("--max-body %d: must be positive", f.maxBody)
	}
	if f.listen != "" {
		if _, err := httpapi.ListenAddr(f.listen); err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
	}
	if p := newProgress(mode, stderr, len(specs), s.progressSample); p != nil {
		s.progress = p
		s.stderr = p
		s.stdout = p.sameScreen(stdout)
	}
	// Like the engine's own logger: warnings and errors only, so that a
	// quiet run keeps stderr empty.
	s.log = slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = input.DisplayPath(sp.Path) // no stream password in labels
	}
	s.streamPaths = make([]string, len(specs))
	for i, sp := range specs {
		if input.IsStreamURL(sp.Path) {
			s.streamPaths[i] = names[i]
		}
	}
	s.inputLabels = metrics.InputLabels(names)
	s.metrics = metrics.New(metrics.Options{
		Version:    buildVersion(),
		Inputs:     names,
		InputStats: s.inputStats,
		Operations: s.operations,
	})
	s.admission = httpapi.NewAdmission(f.maxInFlight, s.inFlight, 0)
	if f.listen != "" {
		srv, err := httpapi.New(httpapi.Config{
			Engine:     engineRef{&s.eng},
			Token:      f.listenToken,
			MaxBody:    f.maxBody,
			Operations: s.operations,
			Streams:    s.streams,
			Metrics:    s.metrics.Handler(),
			Observer:   s.metrics,
			Admission:  s.admission,
			Logger:     s.log,
		})
		if err != nil {
			return nil, err
		}
		s.srv = srv
	}
	s.sigCtx, s.stopSignals = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	return s, nil
}

// configure points the engine config at the services: stdout and stderr
// (through the progress line), the metrics observer, and the storage extension's
// hooks.
func (s *services) configure(cfg *engine.Config) {
	cfg.Stdout = newPipeGuard(s.stdout, s.stderr)
	cfg.Stderr = s.stderr
	cfg.Observer = s.metrics
	cfg.Extensions = defaultExtensions(storagejs.Options{
		Observer:    storageObserver{s},
		OnFramework: func(fw *storagefw.Framework) { s.fw.Store(fw) },
	})
}

// listen binds the --listen address (no-op without it).
func (s *services) listenHTTP() error {
	if s.srv == nil {
		return nil
	}
	addr, err := s.srv.Listen(s.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", s.listen, err)
	}
	resolved, _ := httpapi.ListenAddr(s.listen)
	if _, port, _ := net.SplitHostPort(resolved); port == "0" {
		// The system chose the port: say which.
		fmt.Fprintf(s.stderr, "scriptd: serving HTTP on %s\n", addr)
	}
	return nil
}

// close releases the port and the signal handlers; idempotent. Call it
// (deferred) after newServices, whether or not run is reached.
func (s *services) close() {
	s.stopSignals()
	if s.srv != nil {
		_ = s.srv.Shutdown(context.Background())
	}
}

// run serves HTTP, draws progress and runs eng until it ends by itself or
// a signal stops it (see the type's documentation for the order).
func (s *services) run(eng *engine.Engine) error {
	s.eng.Store(eng)
	engCtx, stopEngine := context.WithCancel(context.Background())
	defer stopEngine()

	if s.srv != nil {
		if err := s.srv.Serve(); err != nil {
			return err
		}
	}
	runDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-s.sigCtx.Done():
			s.stopSignals() // from now on a second signal kills the process
			s.shutdownHTTP()
			stopEngine()
		case <-runDone:
		}
	}()
	if s.progress != nil {
		s.progress.start()
	}
	err := eng.Run(engCtx)
	if s.progress != nil {
		s.progress.stop()
	}
	close(runDone)
	wg.Wait()
	s.shutdownHTTP()
	return err
}

// shutdownHTTP stops the server and waits for its requests (idempotent).
func (s *services) shutdownHTTP() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.log.Warn("HTTP shutdown", "err", err)
	}
}

// storageObserver feeds storage activity to the metrics and wakes events
// waiting for admission as operations finish (worker goroutines; never
// blocks).
type storageObserver struct{ s *services }

func (o storageObserver) BackendOpened(b storagefw.BackendInfo) storagefw.BackendObserver {
	return admittingObserver{o.s.metrics.BackendOpened(b), o.s.admission}
}

// admittingObserver is a backend's metrics observer that also tells the
// admission control about each finished operation.
type admittingObserver struct {
	storagefw.BackendObserver
	admission *httpapi.Admission
}

func (o admittingObserver) Operation(op storagefw.OperationReport) {
	o.BackendObserver.Operation(op)
	o.admission.Done()
}

func (s *services) operations() *storagefw.OperationLog {
	if fw := s.fw.Load(); fw != nil {
		return fw.Operations()
	}
	return nil
}

func (s *services) inFlight() int {
	if ops := s.operations(); ops != nil {
		return ops.InFlight()
	}
	return 0
}

func (s *services) inputStats() []input.Stats {
	if eng := s.eng.Load(); eng != nil {
		return eng.InputStats()
	}
	return nil
}

// streams is the stream inputs' part of GET /v1/operations.
func (s *services) streams() []httpapi.StreamInput {
	var out []httpapi.StreamInput
	for i, st := range s.inputStats() {
		if !st.Stream || i >= len(s.streamPaths) {
			continue
		}
		out = append(out, httpapi.StreamInput{
			Input:       s.inputLabels[i],
			URL:         s.streamPaths[i],
			Group:       st.Group,
			Consumer:    st.Consumer,
			Lag:         st.Lag,
			Pending:     st.Pending,
			Unacked:     st.Unacked,
			Acked:       st.Acked,
			Records:     st.Records,
			Skipped:     st.Skipped,
			Redelivered: st.Redelivered,
			Reconnects:  st.Reconnects,
		})
	}
	return out
}

func (s *services) progressSample() progressSample {
	return progressSample{Inputs: s.inputStats(), InFlight: s.inFlight()}
}

// engineRef gives the HTTP server the engine once it exists.
type engineRef struct {
	p *atomic.Pointer[engine.Engine]
}

var errNoEngine = errors.New("the engine has not started")

func (r engineRef) EmitJSON(ctx context.Context, name string, raw []byte, spread bool) error {
	if e := r.p.Load(); e != nil {
		return e.EmitJSON(ctx, name, raw, spread)
	}
	return errNoEngine
}

func (r engineRef) CallJSON(ctx context.Context, name string, raw []byte, spread bool) (json.RawMessage, error) {
	if e := r.p.Load(); e != nil {
		return e.CallJSON(ctx, name, raw, spread)
	}
	return nil, errNoEngine
}

func (r engineRef) Ping(ctx context.Context) error {
	if e := r.p.Load(); e != nil {
		return e.Ping(ctx)
	}
	return errNoEngine
}
