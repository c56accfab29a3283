// Package testutil holds the helpers every test package shares: a
// goroutine-safe buffer for captured output and Eventually, polling for a
// condition that has no signal of its own (output appearing in a file or a
// child process's pipe, a server's state).
//
// Concurrency: Buffer may be written and read from any goroutines.
// Eventually runs cond on the calling goroutine.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent use: an io.Writer for a
// process's or engine's output that a test reads while it is written.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Len returns the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// Reset discards what was written.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

// DefaultTimeout is how long Eventually waits when given 0.
const DefaultTimeout = 10 * time.Second

// Eventually polls cond until it holds, failing tb with what after timeout
// (DefaultTimeout when 0). Use it only where no signal exists to wait on.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(delay) // polling a condition that has no signal
	}
}
