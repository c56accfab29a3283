package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/scriptd/scriptd/runtime/input"
)

// Observer receives engine activity, e.g. for Prometheus metrics. Methods
// are called on the loop goroutine and must not block.
type Observer interface {
	// EventDispatched reports one event's dispatch to its handlers.
	EventDispatched(name string, handlers int, took time.Duration)
	// HandlerError reports a handler or callback that threw or rejected.
	HandlerError(origin string)
	// Reload reports a hot reload attempt.
	Reload(ok bool)
}

// counters are the engine's own statistics; safe for concurrent reads.
type counters struct {
	events        atomic.Uint64
	handlerErrors atomic.Uint64
	abandoned     atomic.Int64
}

// Stats is a snapshot of engine counters.
type Stats struct {
	Events        uint64 // events dispatched (input records, emits, lifecycle)
	HandlerErrors uint64 // handler exceptions and rejections
	// Abandoned counts the origins (handler locations) whose pending work
	// was dropped: by a drain timeout at shutdown or reload, or with a
	// runtime replaced after a runaway handler. Each is reported on stderr.
	Abandoned int64
}

// Stats returns the engine's counters; safe from any goroutine.
func (e *Engine) Stats() Stats {
	return Stats{Events: e.metrics.events.Load(), HandlerErrors: e.metrics.handlerErrors.Load(), Abandoned: e.metrics.abandoned.Load()}
}

// InputStats returns each input's reader statistics (records, skipped,
// bytes read, size), in --input order; safe from any goroutine once Run
// has started.
func (e *Engine) InputStats() []input.Stats {
	readers := e.readersSnapshot()
	out := make([]input.Stats, len(readers))
	for i, r := range readers {
		out[i] = r.Stats()
	}
	return out
}

// Ping reports whether the loop turns over: it queues a no-op task on the
// current version's loop and waits for it until ctx ends. Safe from any
// goroutine. During a reload it may wait for the swap to finish.
func (e *Engine) Ping(ctx context.Context) error {
	for {
		v := e.cur.Load()
		done := make(chan struct{})
		if err := v.loop.Submit(func() { close(done) }); err != nil {
			if e.cur.Load() != v {
				continue // swapped meanwhile: ask the new version
			}
			return err
		}
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
