package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/scriptd/scriptd/internal/jstransform"
	"github.com/scriptd/scriptd/internal/watch"
)

// reloadReason says why a new version is wanted; a larger value wins when
// requests pile up.
type reloadReason int

const (
	reloadNone    reloadReason = iota
	reloadRecover              // the current version broke: rebuild it from its own sources
	reloadWatch                // the script files changed: build from disk
)

// control carries requests from other goroutines (the file watcher, the
// shutdown watcher, timers) and from loop callbacks to the Run goroutine.
// Each request cancels the context the current loop runs under, so Run
// regains control between two tasks. Safe for concurrent use.
type control struct {
	mu        sync.Mutex
	cancel    context.CancelFunc
	reload    reloadReason
	stop      bool
	graceOver bool
	trial     trialOutcome
}

// requests is what take returns.
type requests struct {
	reload    reloadReason
	stop      bool
	graceOver bool
	trial     trialOutcome
}

// trialOutcome is how the init of a reloaded version on trial ended.
type trialOutcome int

const (
	trialPending trialOutcome = iota
	trialPassed               // init settled without errors: swap it in
	trialFailed               // init threw, rejected or was interrupted: keep the old version
)

// arm returns the context for the next loop run: cancelled at once if a
// request is already pending.
func (c *control) arm() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	if c.reload != reloadNone || c.stop || c.graceOver || c.trial != trialPending {
		cancel()
	}
	c.mu.Unlock()
	return ctx
}

// take returns and clears the pending requests.
func (c *control) take() requests {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := requests{reload: c.reload, stop: c.stop, graceOver: c.graceOver, trial: c.trial}
	c.reload, c.stop, c.graceOver, c.trial = reloadNone, false, false, trialPending
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	return r
}

func (c *control) request(update func()) {
	c.mu.Lock()
	update()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}

func (c *control) requestReload(why reloadReason) {
	c.request(func() { c.reload = max(c.reload, why) })
}

func (c *control) requestStop()      { c.request(func() { c.stop = true }) }
func (c *control) requestGraceOver() { c.request(func() { c.graceOver = true }) }
func (c *control) requestTrialEnd(o trialOutcome) {
	c.request(func() { c.trial = max(c.trial, o) })
}

// recoveryState paces rebuilding a version that keeps breaking (say, an
// init handler that never returns): a rebuild within recoveryWindow of the
// previous one waits, twice as long each time up to recoveryMaxDelay.
type recoveryState struct {
	last  time.Time
	delay time.Duration
	timer *time.Timer
}

const (
	recoveryWindow   = 5 * time.Second
	recoveryMinDelay = 250 * time.Millisecond
	recoveryMaxDelay = 30 * time.Second
)

// stop cancels a pending delayed request (Run goroutine, at the end).
func (r *recoveryState) stop() {
	if r.timer != nil {
		r.timer.Stop()
	}
}

// versionBroken is v's loop's OnBroken: an interrupt (or an uncatchable
// error in a promise job) left v's runtime unusable. If v is in service it
// stops taking events at once and a rebuild is requested. A version being
// loaded or retired is dealt with by its owner. Loop goroutine of v.
func (e *Engine) versionBroken(v *version) {
	if v.retired || v.loading || e.cur.Load() != v {
		return
	}
	e.in.deactivate(v)
	switch {
	case v.trialOf != nil:
		// A reloaded version whose init ran away: the old one goes on.
		e.ctl.requestTrialEnd(trialFailed)
		return
	case !v.initSettled && !e.inputsStarted:
		// init never completed at start-up: nothing to fall back to.
		e.startupErr = errors.New("init did not complete: a handler was interrupted (see above)")
		e.ctl.requestStop()
		return
	case e.stopping:
		return
	}
	e.requestRecovery()
}

// requestRecovery asks the Run goroutine to rebuild the current version,
// at once or after the back-off (Run goroutine).
func (e *Engine) requestRecovery() {
	r := &e.recovery
	if !r.last.IsZero() && time.Since(r.last) < recoveryWindow {
		r.delay = min(max(2*r.delay, recoveryMinDelay), recoveryMaxDelay)
	} else {
		r.delay = 0
	}
	if r.delay == 0 {
		e.ctl.requestReload(reloadRecover)
		return
	}
	fmt.Fprintf(e.stderr, "scriptd: rebuilding the scripts' runtime in %v\n", r.delay)
	r.stop()
	r.timer = time.AfterFunc(r.delay, func() { e.ctl.requestReload(reloadRecover) })
}

// reload builds a new version and, if it loads, swaps it in for old. As far
// as events go the swap is atomic: old takes no inbox item once the swap has
// begun (its loop is not even running while the new version compiles) and
// the new version takes them only once its init has settled, so events
// arriving meanwhile wait in the inbox and go, in order, to the new version.
//
// Sequence (Run goroutine; neither loop is running): load the new version
// off to the side (a failure keeps old in service and reports the error,
// also to old's scripts as scriptd.reload_failed); retire old (deactivate,
// cancel its timers, drain its in-flight operations with a bound, close its
// extensions, stop its loop; its done does not run); make the new version
// current. The caller then starts it: init runs, and input resumes when
// init has settled. A recovery (why == reloadRecover) rebuilds from the
// sources the broken version ran, not from disk.
func (e *Engine) reload(old *version, why reloadReason) *version {
	if why == reloadRecover && !old.loop.Broken() {
		return old // a late retry: the broken version was replaced meanwhile
	}
	began := time.Now()
	var src *sourceSet
	if why == reloadRecover {
		src = old.src.again()
		e.recovery.last = began
	} else {
		files, err := ScriptFiles(e.cfg.Paths)
		if err != nil {
			e.reloadFailed(old, why, err)
			return old
		}
		src = newSourceSet(files)
	}
	nv, err := e.newVersion(src)
	if err != nil {
		e.reloadFailed(old, why, err)
		return old
	}
	if e.watcher != nil {
		e.watcher.Track(nv.src.loaded())
	}
	if why == reloadWatch && !old.loop.Broken() {
		// On trial until its init settles: old stops taking events but
		// stays loaded, to go on if the new init fails.
		e.in.deactivate(old)
		nv.trialOf = old
		nv.began = began
		e.cur.Store(nv)
		return nv
	}
	e.retire(old)
	e.cur.Store(nv)
	e.reloaded(nv, why, began)
	return nv
}

// endTrial settles a reloaded version's trial (Run goroutine, no loop
// running): passed, the old version is retired and nv goes on to take
// events; failed, nv is discarded and the old version takes events again.
// It returns the version in service and what to run first on its loop.
func (e *Engine) endTrial(nv *version, outcome trialOutcome) (*version, func()) {
	old := nv.trialOf
	nv.trialOf = nil
	if outcome == trialPassed {
		e.retire(old)
		e.reloaded(nv, reloadWatch, nv.began)
		return nv, func() { e.goLive(nv) }
	}
	e.cur.Store(old)
	nv.retired = true
	e.syncHold(nv) // its keep-alive reservation would hold the close open
	e.closeVersion(nv)
	file := ""
	if len(nv.src.files) > 0 {
		file = nv.src.files[0]
	}
	e.reloadFailed(old, reloadWatch, &LoadError{File: file, Message: "init of the new version failed or ran past the handler time limit (reported above)"})
	return old, func() { e.activate(old) }
}

// reloaded reports a swap that took place.
func (e *Engine) reloaded(nv *version, why reloadReason, began time.Time) {
	took := time.Since(began).Round(time.Millisecond)
	if why == reloadWatch {
		if e.cfg.Observer != nil {
			e.cfg.Observer.Reload(true)
		}
		fmt.Fprintf(e.stderr, "scriptd: scripts reloaded (version %d, %v)\n", nv.id, took)
	} else {
		fmt.Fprintf(e.stderr, "scriptd: scripts restarted on a fresh runtime (version %d, %v): the previous one was interrupted; state in storage is kept\n", nv.id, took)
	}
}

// reloadFailed reports a version that did not load: on stderr with its
// file:line:col, to the running scripts as the event scriptd.reload_failed
// (a record {file, line, col, message}), and to the Observer. A broken
// version cannot go on: its rebuild is tried again later.
func (e *Engine) reloadFailed(old *version, why reloadReason, err error) {
	le := asLoadError(err)
	if why == reloadWatch && e.cfg.Observer != nil {
		e.cfg.Observer.Reload(false)
	}
	if old.loop.Broken() {
		fmt.Fprintf(e.stderr, "scriptd: rebuilding the scripts failed: %s\n", le.Error())
		e.requestRecovery()
		return
	}
	fmt.Fprintf(e.stderr, "scriptd: reload failed, the running scripts (version %d) go on: %s\n", old.id, le.Error())
	_ = old.loop.Submit(func() {
		vm := old.loop.Runtime()
		rec := vm.NewObject()
		_ = rec.Set("file", le.File)
		_ = rec.Set("line", le.Line)
		_ = rec.Set("col", le.Col)
		_ = rec.Set("message", le.Message)
		old.fire("scriptd.reload_failed", []goja.Value{rec}, nil)
	})
}

// startWatcher watches the script paths (Run goroutine): a change, once
// settled, requests a reload. Inputs are excluded, so a followed input that
// lives next to the scripts does not trigger reloads.
func (e *Engine) startWatcher(ctx context.Context, wg *sync.WaitGroup) error {
	exclude := make(map[string]bool, len(e.cfg.Inputs))
	for _, in := range e.cfg.Inputs {
		if abs, err := filepath.Abs(in.Path); err == nil {
			exclude[abs] = true
		}
	}
	w, err := watch.New(e.cfg.Paths, watch.Options{
		Debounce: e.cfg.WatchDebounce,
		Logger:   e.log,
		Include: func(path string) bool {
			return watch.DefaultInclude(path) && !exclude[path]
		},
	})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	w.Track(e.cur.Load().src.loaded())
	e.watcher = w
	wg.Go(func() {
		err := w.Run(ctx, func(c watch.Change) {
			fmt.Fprintf(e.stderr, "scriptd: scripts changed (%s); reloading\n", c)
			e.ctl.requestReload(reloadWatch)
		})
		if err != nil {
			e.log.Error("watch stopped", "error", err)
		}
	})
	return nil
}

// LoadError is a script that failed to load: it did not compile, its top
// level threw, or it ran past the handler time limit. Line and Col are
// 1-based, 0 when unknown.
type LoadError struct {
	File      string
	Line, Col int
	Message   string // the error, one line: "SyntaxError: Unexpected token ;"
	Stack     string // JS stack frames, if the error had any
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("load ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Stack != "" {
		b.WriteString("\n")
		b.WriteString(e.Stack)
	}
	return b.String()
}

// asLoadError presents any load failure as a LoadError.
func asLoadError(err error) *LoadError {
	var le *LoadError
	if errors.As(err, &le) {
		return le
	}
	return &LoadError{Message: err.Error()}
}

// newLoadError locates err, raised while requiring the top-level script
// file, at the script position it came from (which may be a module file).
// goja reports parse errors without a position, so a syntax error is
// located by parsing the file being compiled (the last one src read) again.
func newLoadError(file string, err error, src *sourceSet) *LoadError {
	le := &LoadError{File: file, Message: err.Error()}
	var terrs jstransform.Errors
	if errors.As(err, &terrs) && len(terrs) > 0 {
		// esbuild refused the file (transformSource), at its own position.
		te := terrs[0]
		le.File, le.Line, le.Col = te.File, te.Line, te.Col
		le.Message = "SyntaxError: " + te.Msg
		return le
	}
	var list parser.ErrorList
	var perr *parser.Error
	var cerr *goja.CompilerSyntaxError
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.As(err, &list) && len(list) > 0:
		perr = list[0]
		fallthrough
	case perr != nil || errors.As(err, &perr):
		le.setPos(src, perr.Position.Filename, perr.Position.Line, perr.Position.Column, false)
		le.Message = "SyntaxError: " + perr.Message
	case errors.As(err, &cerr):
		if cerr.File != nil {
			p := cerr.File.Position(cerr.Offset) // through the source map, if the code has one
			le.setPos(src, p.Filename, p.Line, p.Column, true)
			le.Message = "SyntaxError: " + cerr.Message
			break
		}
		le.Message = cerr.Message
		if ent, ok := src.read[src.last]; ok && src.last != "" {
			if errs := CheckSource(src.last, ent.data); len(errs) > 0 { // transforms ent.data again, as the loader did
				se := errs[0]
				le.File, le.Line, le.Col = se.File, se.Line, se.Col
				le.Message = "SyntaxError: " + se.Msg
			}
		}
	case errors.As(err, &ie):
		le.Message = fmt.Sprint(ie.Value())
		le.setStack(src, ie.Stack())
	case errors.As(err, &so):
		le.Message = "RangeError: maximum call stack size exceeded"
		le.setStack(src, so.Stack())
	case errors.As(err, &ex):
		if ex.Value() != nil {
			le.Message = ex.Value().String()
		}
		le.setStack(src, ex.Stack())
	}
	return le
}

// setPos records a position reported by goja, whose module wrapper shifts
// columns on a file's first line unless the file was transformed. In
// transformed code a position goja reports is the file's own when goja
// went through the code's source map (mapped), and is located through it
// here otherwise (parser errors).
func (le *LoadError) setPos(src *sourceSet, file string, line, col int, mapped bool) {
	if file != "" {
		le.File = file
	}
	if src.transformed(le.File) {
		if !mapped {
			if l, c, ok := jstransform.OriginalPosition(src.read[le.File].code, line, col); ok {
				line, col = l, c
			}
		}
	} else if line == 1 {
		col = max(col-len(moduleWrapperPrefix), 1)
	}
	le.Line, le.Col = line, col
}

// setStack locates le at the innermost script frame and keeps the frames.
// Positions in transformed files come through their source maps: they are
// the file's own.
func (le *LoadError) setStack(src *sourceSet, frames []goja.StackFrame) {
	var b strings.Builder
	located := false
	for i := range frames {
		f := &frames[i]
		name := f.SrcName()
		if name == "" || name == "<native>" || strings.HasPrefix(name, "scriptd:") {
			continue
		}
		p := f.Position()
		col := p.Column
		if p.Line == 1 && !src.transformed(name) {
			col = max(col-len(moduleWrapperPrefix), 1)
		}
		if !located {
			le.File, le.Line, le.Col = name, p.Line, col
			located = true
		}
		b.WriteString("\tat ")
		if fn := f.FuncName(); fn != "" {
			fmt.Fprintf(&b, "%s (%s:%d:%d)\n", fn, name, p.Line, col)
		} else {
			fmt.Fprintf(&b, "%s:%d:%d\n", name, p.Line, col)
		}
	}
	le.Stack = strings.TrimRight(b.String(), "\n")
}
