package engine

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/runtime/input/stream"
)

// inputSource is what the engine reads records from: a file
// (*input.Reader) or a stream shared by a consumer group (stream.Source,
// whose events carry an Ack the dispatch calls once their handlers have
// settled).
type inputSource interface {
	Spec() input.Spec
	Run(ctx context.Context, out chan<- []input.Event) error
	Stats() input.Stats
	Err() error
}

// openInputs opens every --input: files with input.Open, stream URLs with
// stream.Open (which connects). A stream input implies Follow for the
// files beside it. On failure, what was opened is closed.
func (e *Engine) openInputs() error {
	follow := e.cfg.Follow
	for _, spec := range e.cfg.Inputs {
		follow = follow || input.IsStreamURL(spec.Path)
	}
	readers := make([]inputSource, 0, len(e.cfg.Inputs))
	for _, spec := range e.cfg.Inputs {
		var src inputSource
		var err error
		if input.IsStreamURL(spec.Path) {
			src, err = stream.Open(spec, stream.Options{
				MaxInFlight: e.cfg.MaxInFlight,
				OnBadRecord: e.badRecord,
				OnWarning:   e.inputWarning,
			})
		} else {
			src, err = input.Open(spec, input.Options{
				Follow:      follow,
				Stdin:       e.cfg.Stdin,
				OnBadRecord: e.badRecord,
				OnWarning:   e.inputWarning,
			})
		}
		if err != nil {
			for _, r := range readers {
				closeInput(r, context.Background())
			}
			return err
		}
		readers = append(readers, src)
	}
	e.readersMu.Lock()
	e.readers = readers
	e.readersMu.Unlock()
	return nil
}

// closeInput closes an input whose Run was never called or has returned.
func closeInput(r inputSource, ctx context.Context) error {
	switch r := r.(type) {
	case stream.Source:
		return r.Close(ctx)
	case *input.Reader:
		return r.Close()
	}
	return nil
}

// closeStreams ends the stream sources at the end of Run, once the
// handlers of their records have settled (or the grace period ran out):
// their Run goroutines end, then each sends its last acknowledgements and
// gives back what is unacknowledged, within ShutdownGrace.
func (e *Engine) closeStreams(cancelInputs context.CancelFunc) {
	cancelInputs()
	ran := make(chan struct{})
	go func() { e.streams.Wait(); close(ran) }()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(e.stderr, "scriptd: a stream input did not stop pulling within 5s; closing it anyway")
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancel()
	for _, r := range e.readersSnapshot() {
		if s, ok := r.(stream.Source); ok {
			if err := s.Close(ctx); err != nil {
				fmt.Fprintf(e.stderr, "scriptd: %v\n", err)
			}
		}
	}
}

// startInputs reads every input on its own goroutine and posts batches to
// the inbox one at a time (Run goroutine). Backpressure is end to end: a
// reader blocks on the bounded batch channel, the forwarder waits for the
// batch it posted to be admitted, and the version that handles a batch
// admits the next only while fewer than MaxInFlight async operations are
// outstanding. After the last batch the forwarder posts the inputs' end.
// The goroutines stop when e.inputCtx ends (a reader blocked reading a pipe
// stops when its read returns).
func (e *Engine) startInputs() {
	readers := e.readersSnapshot()
	if len(readers) == 0 {
		return
	}
	ctx := e.inputCtx
	e.inputsRunning = true
	e.syncHold(e.cur.Load())
	batches := make(chan []input.Event, 4)
	// Replays merge inputs in ts order; followed inputs (and streams)
	// interleave as records arrive, since a quiet input must not hold the
	// others back.
	merge := len(readers) > 1 && !e.cfg.Follow
	for _, r := range readers {
		if _, ok := r.(stream.Source); ok {
			merge = false
		}
	}
	var wg sync.WaitGroup
	var perInput []chan []input.Event
	for i, r := range readers {
		out := batches
		if merge {
			ch := make(chan []input.Event, 2)
			perInput = append(perInput, ch)
			out = ch
		}
		wg.Add(1)
		_, isStream := r.(stream.Source)
		if isStream {
			e.streams.Add(1)
		}
		go func(r inputSource, name string, out chan []input.Event) {
			defer wg.Done()
			if isStream {
				defer e.streams.Done()
			}
			if merge {
				defer close(out)
			}
			if err := r.Run(ctx, out); err != nil && ctx.Err() == nil {
				fmt.Fprintf(e.stderr, "scriptd: %v\n", err) // it names the input and where
			}
		}(r, e.cfg.Inputs[i].Path, out)
	}
	if merge {
		wg.Go(func() { input.MergeByTS(ctx, perInput, batches, 512) })
	}
	go func() {
		wg.Wait()
		close(batches)
	}()
	go func() {
		defer func() { _ = e.in.post(inItem{end: true}) }()
		admitted := make(chan struct{}, 1)
		for batch := range batches {
			it := inItem{batch: batch, admit: sync.OnceFunc(func() { admitted <- struct{}{} })}
			if err := e.in.post(it); err != nil {
				for range batches {
				}
				return
			}
			select {
			case <-admitted:
			case <-ctx.Done():
				for range batches {
				}
				return
			}
		}
	}()
}

// recordsPerTask bounds how many records one loop task dispatches: the
// promise continuations those handlers queue run when the task ends, so a
// bound keeps them running between records instead of piling up behind a
// whole batch (memory), at the cost of a task per slice.
const recordsPerTask = 32

// dispatchBatch fires one event per record, advancing network time first,
// for at most recordsPerTask records, and none after a record whose
// handlers emitted events (they run after this task, see enqueue). It returns how many records it
// dispatched; the caller requeues the rest, also when v broke (a handler
// was interrupted) and the rest belong to the version that replaces it.
func (v *version) dispatchBatch(batch []input.Event) int {
	vm := v.loop.Runtime()
	args := make([]goja.Value, 1)
	n := min(len(batch), recordsPerTask)
	for i := range n {
		if v.loop.Broken() {
			return i
		}
		ev := &batch[i]
		if v.e.clock.Advance(ev.TS) {
			v.runNetTimers()
		}
		args[0] = newRecordValue(vm, ev.Record)
		v.loop.SetSubject(ev.File, ev.Line)
		v.e.inputEvents[ev.Name]++
		v.fireRecord(ev, args)
		batch[i] = input.Event{}
		if v.eventsQueued() {
			// The record's handlers emitted: the task ends here, so those
			// events (after the promise jobs) run before the next record.
			v.loop.SetSubject("", 0)
			return i + 1
		}
	}
	v.loop.SetSubject("", 0)
	return n
}

// fireRecord fires an input record's event. A stream record (ev.Ack set)
// is acknowledged once every handler has settled, promises included
// (fire's onSettled), or failed. A record whose handler is interrupted
// (a runaway, reported) is acknowledged too, whether the interrupt hit the
// handler itself (the loop is broken when fire returns) or one of its
// continuations later (see ackInterrupted): redelivering it would only
// interrupt the next process. Ack is idempotent.
func (v *version) fireRecord(ev *input.Event, args []goja.Value) {
	if ev.Ack == nil {
		v.fire(ev.Name, args, nil)
		return
	}
	v.e.dispatching = ev
	v.fire(ev.Name, args, ev.Ack)
	v.e.dispatching = nil
	if v.loop.Broken() {
		ev.Ack()
	}
}

// recordAck is a stream record with an async handler still running.
type recordAck struct {
	v       *version
	ack     func()
	release func() // nil: the source has no way to give the record back
	file    string
	line    int
}

// recordSettle, while a stream record is being dispatched, remembers that
// the async handler running in ctx works for it, until done (which it
// wraps) runs at the handler's settlement.
func (v *version) recordSettle(ctx *eventloop.AwaitingContext, done func()) func() {
	e := v.e
	ev := e.dispatching
	if ev == nil || ctx == nil {
		return done
	}
	if e.recordCtxs == nil {
		e.recordCtxs = make(map[*eventloop.AwaitingContext]recordAck)
	}
	e.recordCtxs[ctx] = recordAck{v: v, ack: ev.Ack, release: ev.Release, file: ev.File, line: ev.Line}
	return func() {
		delete(e.recordCtxs, ctx)
		done()
	}
}

// ackInterrupted runs when a handler of version v was interrupted (v is
// broken): if the code interrupted was a continuation of an async handler
// of a stream record, that record is acknowledged and named in the
// report. The other records whose handlers were running on v are given
// back unacknowledged (see releaseRecords): they were cut off, not
// failed, and will be redelivered.
func (e *Engine) ackInterrupted(v *version, ce *eventloop.CallbackError) {
	if len(e.recordCtxs) == 0 {
		return
	}
	if r, ok := e.recordCtxs[v.loop.Current()]; ok {
		r.ack()
		if ce.Subject == "" {
			ce.Subject = r.file
			if r.line > 0 {
				ce.Subject += ":" + strconv.Itoa(r.line)
			}
		}
	}
	e.releaseRecords(v)
}

// releaseRecords gives back, unacknowledged, the stream records whose
// async handlers were still running on v when v stopped for good
// (interrupted, or abandoned past a drain timeout): they are redelivered
// now (Event.Release) or, where the source cannot give a record back,
// after the stream's redelivery time. A source that keeps the records it
// holds alive while their handlers run (NATS "in progress") would
// otherwise keep these until the process ends.
func (e *Engine) releaseRecords(v *version) {
	for ctx, r := range e.recordCtxs {
		if r.v == v {
			delete(e.recordCtxs, ctx)
			if r.release != nil {
				r.release()
			}
		}
	}
}

func (e *Engine) inputWarning(file string, line int, msg string) {
	if line > 0 {
		fmt.Fprintf(e.stderr, "%s:%d: warning: %s\n", file, line, msg)
		return
	}
	fmt.Fprintf(e.stderr, "%s: warning: %s\n", file, msg)
}

func (e *Engine) badRecord(file string, line int, err error) {
	if line <= 0 { // a stream entry named by file alone (input.Event.Line)
		fmt.Fprintf(e.stderr, "%s: %v\n", file, err)
		return
	}
	fmt.Fprintf(e.stderr, "%s:%d: %v\n", file, line, err)
}

// printSummary reports skipped records per input at exit.
func (e *Engine) printSummary() {
	total := int64(0)
	for _, r := range e.readers {
		total += r.Stats().Skipped
	}
	if total == 0 {
		return
	}
	fmt.Fprintf(e.stderr, "scriptd: skipped %d bad record(s):", total)
	for i, r := range e.readers {
		if s := r.Stats().Skipped; s > 0 {
			fmt.Fprintf(e.stderr, " %s: %d", input.DisplayPath(e.cfg.Inputs[i].Path), s)
		}
	}
	fmt.Fprintln(e.stderr)
}
