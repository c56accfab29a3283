//go:build unix

package input

import (
	"context"
	"errors"
	"math"
	"os"
	"syscall"
	"time"
)

// openCancelable opens path for reading, giving up when ctx is done. Opening
// a named pipe waits for a writer; that wait cannot be interrupted, so it
// happens on a goroutine of its own, which is abandoned when ctx is done and
// then released by opening the pipe for writing (which does not block when
// a reader waits) and closing it at once.
func openCancelable(ctx context.Context, path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(path)
		done <- result{f, err}
	}()
	select {
	case res := <-done:
		return res.f, res.err
	case <-ctx.Done():
	}
	// Release the abandoned open: open the pipe for writing, which fails
	// (ENXIO) until the open for reading is under way, and retry until
	// that open returns. If the path is no longer a pipe (removed), the
	// open cannot be reached, and its goroutine waits for a writer.
	go func() {
		for delay := time.Millisecond; ; delay = min(2*delay, time.Second) {
			w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				w.Close()
			} else if !errors.Is(err, syscall.ENXIO) {
				delay = time.Duration(math.MaxInt64) // nothing more to try
			}
			select {
			case res := <-done:
				if res.f != nil {
					res.f.Close()
				}
				return
			case <-time.After(delay):
			}
		}
	}()
	return nil, ctx.Err()
}
