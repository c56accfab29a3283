//go:build !unix

package input

import (
	"context"
	"os"
)

// openCancelable opens path for reading, giving up when ctx is done; the
// open itself goes on on a goroutine of its own until it returns.
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
		go func() {
			if res := <-done; res.f != nil {
				res.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
