//go:build unix

package input

import (
	"context"
	"os"
	"syscall"
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
	// Release the abandoned open. If the path is no longer the pipe being
	// opened (removed, replaced), nothing can release it, and its
	// goroutine waits until a writer comes.
	go func() {
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		if res := <-done; res.f != nil {
			res.f.Close()
		}
	}()
	return nil, ctx.Err()
}
