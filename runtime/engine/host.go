package engine

import (
	"fmt"
	"log/slog"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
)

// Extension installs globals into a fresh script runtime before its scripts
// load. It runs on the loop goroutine; the returned closer (may be nil) runs
// when that runtime is retired, also on the loop goroutine, and may reserve
// work: at the end of the run after done, and, with Config.Watch or after a
// handler was interrupted, each time the scripts are reloaded on a fresh
// runtime (each load calls the extension again; state that must survive a
// reload belongs in storage, not in the extension's runtime objects).
type Extension func(h *Host) (closer func(), err error)

// Host is what an Extension sees of the engine: one loaded version of the
// scripts, with its own loop and goja runtime.
type Host struct{ v *version }

// Loop is the event loop of the runtime being set up.
func (h *Host) Loop() *eventloop.Loop { return h.v.loop }

// Runtime is the loop's goja runtime (loop goroutine only).
func (h *Host) Runtime() *goja.Runtime { return h.v.loop.Runtime() }

// NetworkTime returns network time; safe from any goroutine.
func (h *Host) NetworkTime() float64 { return h.v.e.clock.Now() }

// Emit queues an event for this runtime's scripts (loop goroutine only).
func (h *Host) Emit(name string, args ...goja.Value) { h.v.enqueue(name, args) }

// Logger is the engine's logger.
func (h *Host) Logger() *slog.Logger { return h.v.e.log }

// SetFunc defines a global function for scripts, implemented in Go. A panic
// inside fn becomes a JS Error, never a crash. Call it from an Extension
// (on the loop goroutine).
func (h *Host) SetFunc(name string, fn func(goja.FunctionCall) goja.Value) error {
	if err := h.v.loop.Runtime().Set(name, h.v.loop.Func(name, fn)); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}

// SetValue defines a global value (converted with goja's ToValue).
func (h *Host) SetValue(name string, v any) error {
	if err := h.v.loop.Runtime().Set(name, v); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}
