package engine

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/dop251/goja_nodejs/require"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/internal/globals"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/scripts"
)

// version is one loaded generation of the scripts. Everything that holds
// script values lives here, so a version can be compiled off to the side and
// swapped in whole: its own loop and goja runtime, require registry (goja's
// caches compiled modules for the registry's lifetime), event registry, emit
// queue, extension closers (storage backends) and network-time timers.
// What outlives versions is the Engine's: network time, Log.write files,
// counters, the input readers and the inbox of events not yet handed out.
//
// Lifecycle, all on the Run goroutine (the goroutine running the loops):
// newVersion loads the scripts (top levels run; a failure discards it);
// start dispatches init on the version's loop; once init has settled the
// version is activated and takes events from the inbox; retire takes it out
// of service (deactivate, cancel timers, drain in-flight work with a bound,
// close extensions, stop the loop). Only the last version of a run sees done.
//
// All fields are loop-goroutine state.
type version struct {
	e       *Engine
	id      int
	loop    *eventloop.Loop
	req     *require.RequireModule
	ctx     context.Context // ext.Host.Context: ends when the version retires
	cancel  context.CancelFunc
	src     *sourceSet
	unwatch func() // stops the watchdog watching loop
	loading bool   // top levels running (load errors are reported by the caller)

	events         registry
	queue          []queuedEvent // emitted events; queue[qhead:] are waiting
	qhead          int
	drainScheduled bool
	closers        []func()
	netTimers      netTimerQueue
	unbased        []*netTimer // set before the first record's time was known
	netSeq         uint64

	// hold is a reservation that keeps the loop running while the engine
	// expects more work from outside (inputs, --watch/--listen keep-alive);
	// see Engine.syncHold.
	hold    func(func())
	retired bool

	initSettled bool // every init handler has settled
	initErrors  int  // handler errors reported before then
	// trialOf is the version this one replaces while this one's init runs
	// (a --watch reload on trial; see Engine.endTrial); began is when the
	// reload began.
	trialOf *version
	began   time.Time
}

// sourceSet is the code a version is built from: its top-level scripts and
// every module source the require loader was asked for. Recording the
// sources lets a broken version be rebuilt from exactly the code it ran,
// whatever has changed on disk since. Used on one loop goroutine only.
type sourceSet struct {
	files  []string               // top-level scripts, in load order
	read   map[string]sourceEntry // what this version's loader returned
	replay map[string]sourceEntry // served instead of the disk, if set
	last   string                 // the file read last: the one being compiled
	// prepared holds the top-level files read and transformed ahead of
	// the load, in parallel (see prepare); load takes them from here.
	prepared map[string]sourceEntry
}

type sourceEntry struct {
	data []byte // the file as read (what the watcher compares)
	code []byte // what goja compiles: data, or data transformed (transformSource)
	// transformed: code carries an inline source map and its first line
	// holds no code of the file (see jstransform.Transform), so positions
	// goja reports in it need no correction for the module wrapper.
	transformed bool
	err         error
}

func newSourceSet(files []string) *sourceSet {
	return &sourceSet{files: files, read: make(map[string]sourceEntry)}
}

// again returns a source set that serves what s read.
func (s *sourceSet) again() *sourceSet {
	return &sourceSet{files: s.files, read: make(map[string]sourceEntry, len(s.read)), replay: s.read}
}

// load is the version's require.SourceLoader: it reads the file (or
// serves what the version it replays read) and returns the code to
// compile, transformed by transformSource where needed. A transform error
// (a syntax error esbuild found) is returned as the error, with its
// position in the file.
func (s *sourceSet) load(path string) ([]byte, error) {
	ent, ok := s.replay[path]
	if !ok {
		ent, ok = s.prepared[path]
		delete(s.prepared, path)
	}
	if !ok {
		ent.data, ent.err = require.DefaultSourceLoader(path)
		if ent.err == nil {
			ent.code, ent.err = transformSource(path, ent.data)
			ent.transformed = ent.err == nil && transformed(ent.data, ent.code)
		}
	}
	s.read[path] = ent
	if ent.err == nil {
		s.last = path
	}
	return ent.code, ent.err
}

// prepare reads and transforms the top-level files ahead of the load, on
// up to GOMAXPROCS goroutines: esbuild takes a few milliseconds a file, so
// a directory of many TypeScript files loads faster (modules they import
// are read when required). A set that replays another's sources needs
// nothing. Call it before the load, from the goroutine that will load.
func (s *sourceSet) prepare() {
	if s.replay != nil || len(s.files) < 2 {
		return
	}
	// Keyed as the loader will be asked: by the path require resolves
	// (symlinks resolved, as in a Kubernetes ConfigMap volume).
	paths := make([]string, len(s.files))
	entries := make([]sourceEntry, len(s.files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(s.files)) {
		wg.Go(func() {
			for i := range next {
				paths[i] = resolveScriptPath("", s.files[i])
				ent := &entries[i]
				ent.data, ent.err = require.DefaultSourceLoader(paths[i])
				if ent.err == nil {
					ent.code, ent.err = transformSource(paths[i], ent.data)
					ent.transformed = ent.err == nil && transformed(ent.data, ent.code)
				}
			}
		})
	}
	for i := range s.files {
		next <- i
	}
	close(next)
	wg.Wait()
	s.prepared = make(map[string]sourceEntry, len(s.files))
	for i, p := range paths {
		s.prepared[p] = entries[i]
	}
}

// transformed reports whether the module at path was compiled from
// transformed code (whose positions are the file's own, through its
// source map).
func (s *sourceSet) transformed(path string) bool {
	return s.read[path].transformed
}

// loaded returns the module files the version read, with their content.
func (s *sourceSet) loaded() map[string][]byte {
	out := make(map[string][]byte, len(s.read))
	for p, ent := range s.read {
		if ent.data != nil || ent.err == nil {
			out[p] = ent.data
		}
	}
	return out
}

// newVersion builds a version from src: a fresh loop, runtime and require
// registry, the globals and extensions installed and every top-level script
// run. A script that fails to compile or throws at top level (or runs past
// the handler time limit there) fails the whole version, which is discarded
// (its extensions closed) and a *LoadError returned. Run goroutine (or New).
func (e *Engine) newVersion(src *sourceSet) (*version, error) {
	e.nextVersion++
	v := &version{e: e, id: e.nextVersion, src: src, loading: true}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.loop = eventloop.New(eventloop.Options{
		Logger:               e.log,
		OnCallbackError:      func(ce eventloop.CallbackError) { e.reportCallbackError(v, ce) },
		OnUnhandledRejection: e.reportUnhandled,
		Clock:                e.clock.Stamp,
		OnBroken:             func() { e.versionBroken(v) },
	})
	v.unwatch = e.wd.Watch(v.loop)
	src.prepare()
	var err error
	v.loop.RunTask(func() { err = v.load() })
	v.loading = false
	if err != nil {
		e.closeVersion(v)
		return nil, err
	}
	return v, nil
}

// load installs globals and extensions and runs each script's top level
// (loop goroutine).
func (v *version) load() error {
	vm := v.loop.Runtime()
	h := host{v: v}
	reg := require.NewRegistry(require.WithLoader(v.src.load), require.WithPathResolver(resolveScriptPath))
	scripts.Register(reg)
	globals.RegisterNodeModules(reg) // require("buffer"), ("url"), ("util")
	if err := v.registerModules(reg, h); err != nil {
		return err
	}
	v.req = reg.Enable(vm)
	if err := installLanguage(vm); err != nil {
		return err
	}
	v.installEvents()
	core := globals.Extension(globals.Config{Stdout: v.e.stdout, Stderr: v.e.stderr, Logs: v.e.logs})
	for _, install := range append([]ext.Extension{core}, v.e.cfg.Extensions...) {
		closer, err := install(h)
		if err != nil {
			return fmt.Errorf("extension: %w", err)
		}
		if closer != nil {
			v.closers = append(v.closers, closer)
		}
	}
	if err := v.setArgv(vm); err != nil {
		return err
	}
	for _, f := range v.src.files {
		if _, err := v.req.Require(f); err != nil {
			return newLoadError(f, err, v.src)
		}
	}
	return nil
}

// start dispatches init on v's loop (its first task). Once every init
// handler has settled, v starts the inputs if no version has yet and takes
// over the inbox.
func (e *Engine) start(v *version) {
	e.syncHold(v)
	v.fire("init", nil, func() {
		v.initSettled = true
		if v.retired || v.loop.Broken() || e.cur.Load() != v {
			return
		}
		if v.trialOf != nil {
			outcome := trialPassed
			if v.initErrors > 0 {
				outcome = trialFailed
			}
			e.ctl.requestTrialEnd(outcome)
			return
		}
		e.goLive(v)
	})
}

// goLive starts the inputs if no version has yet and lets v take events
// (v's loop, once its init has settled).
func (e *Engine) goLive(v *version) {
	if !e.inputsStarted && !e.stopping {
		e.inputsStarted = true
		e.startInputs()
	}
	e.activate(v)
}

// retire takes v out of service for its successor (Run goroutine, v's loop
// not running): the inbox stops handing it events, its intervals are
// cancelled, and its in-flight work — async operations and one-shot timers
// its handlers wait on — is drained for at most ReloadDrainTimeout (the
// continuations still run in v; past the bound, or at once if v is broken,
// what is left is abandoned and reported by handler location on stderr).
// Then its extensions are closed. v's done does not run.
func (e *Engine) retire(v *version) {
	v.retired = true
	v.cancel()
	e.in.deactivate(v)
	e.syncHold(v)
	v.loop.ClearRepeatingTimers()
	v.netTimers, v.unbased = nil, nil
	if v.loop.Broken() {
		// Nothing more can run in a broken runtime: what its handlers were
		// waiting for is lost with it.
		e.reportAbandoned(v, fmt.Sprintf("version %d of the scripts was interrupted and replaced", v.id))
		defer runtime.GC() // what the broken runtime held is garbage now: free it before the memory bound is sampled again
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ReloadDrainTimeout)
		if err := v.loop.Run(ctx, nil); err != nil {
			e.reportAbandoned(v, fmt.Sprintf("version %d of the scripts did not settle within the drain timeout (%v)", v.id, e.cfg.ReloadDrainTimeout))
		}
		cancel()
	}
	v.loop.StopTimers()
	e.closeVersion(v)
}

// closeVersion runs v's extension closers and lets what they reserve settle
// (bounded by ShutdownGrace), flushes the logs and stops v's loop for good.
func (e *Engine) closeVersion(v *version) {
	v.retired = true
	v.cancel()
	v.loop.StopTimers()
	if len(v.closers) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
		_ = v.loop.Run(ctx, func() {
			for _, c := range v.closers {
				c()
			}
		})
		cancel()
	}
	e.flushLogs()
	v.loop.Stop()
	v.unwatch()
	e.releaseRecords(v)
}
