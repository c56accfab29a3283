package runtime

import "sync/atomic"

// counters are the engine's own statistics; safe for concurrent reads.
type counters struct {
	events        atomic.Uint64
	handlerErrors atomic.Uint64
}

func (c *counters) dispatched(string) { c.events.Add(1) }
func (c *counters) handlerError()     { c.handlerErrors.Add(1) }

// Stats is a snapshot of engine counters.
type Stats struct {
	Events        uint64 // events dispatched (input records, emits, lifecycle)
	HandlerErrors uint64 // handler exceptions and rejections
}

// Stats returns the engine's counters; safe from any goroutine.
func (e *Engine) Stats() Stats {
	return Stats{Events: e.metrics.events.Load(), HandlerErrors: e.metrics.handlerErrors.Load()}
}
