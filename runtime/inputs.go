package runtime

import (
	"context"
	"fmt"
	"sync"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/input"
)

// startInputs reads every input on its own goroutine and hands batches to
// the loop one at a time (loop goroutine). Backpressure is end to end: a
// reader blocks on the bounded batch channel, the forwarder waits for the
// loop to finish a batch, and the loop admits the next batch only while
// fewer than MaxInFlight async operations are outstanding.
func (e *Engine) startInputs(ctx context.Context, readers []*input.Reader) {
	if len(readers) == 0 {
		return
	}
	e.inputsRunning = true
	complete := e.loop.Reserve()
	batches := make(chan []input.Event, 4)
	// Replays merge inputs in ts order; followed inputs interleave as
	// records arrive, since a quiet input must not hold the others back.
	merge := len(readers) > 1 && !e.cfg.Follow
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
		go func(r *input.Reader, name string, out chan []input.Event) {
			defer wg.Done()
			if merge {
				defer close(out)
			}
			if err := r.Run(ctx, out); err != nil && ctx.Err() == nil {
				fmt.Fprintf(e.stderr, "input %s: %v\n", name, err)
			}
		}(r, e.cfg.Inputs[i].Path, out)
	}
	if merge {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mergeByTS(ctx, perInput, batches, 512)
		}()
	}
	go func() {
		wg.Wait()
		close(batches)
	}()
	go func() {
		defer complete(func() {
			e.inputsRunning = false
			e.inputsEnded()
		})
		admitted := make(chan struct{}, 1)
		for batch := range batches {
			b := batch
			err := e.loop.Submit(func() {
				e.dispatchBatch(b)
				e.loop.WhenReservedBelow(e.cfg.MaxInFlight+1, func() { admitted <- struct{}{} })
			})
			if err != nil {
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

// dispatchBatch fires one event per record, advancing network time first.
func (e *Engine) dispatchBatch(batch []input.Event) {
	vm := e.loop.Runtime()
	args := make([]goja.Value, 1)
	for i := range batch {
		ev := &batch[i]
		if e.clock.Advance(ev.TS) {
			e.runNetTimers()
		}
		args[0] = newRecordValue(vm, ev.Record)
		e.fire(ev.Name, args, nil)
		batch[i] = input.Event{}
	}
}

func (e *Engine) badRecord(file string, line int, err error) {
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
			fmt.Fprintf(e.stderr, " %s: %d", e.cfg.Inputs[i].Path, s)
		}
	}
	fmt.Fprintln(e.stderr)
}
