package main

import (
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sync"
	"syscall"
)

// pipeGuard is stdout for a run: when the reader of stdout goes away
// (`scriptd run … | head -1`), the first write that fails with EPIPE is
// reported once on stderr and later output is dropped, while the run goes
// on to its end (done, logs, storage). Go kills a process writing to a
// broken stdout with SIGPIPE unless SIGPIPE is ignored; newPipeGuard
// ignores it. Safe for concurrent use.
type pipeGuard struct {
	mu     sync.Mutex
	w      io.Writer
	stderr io.Writer
	closed bool
}

func newPipeGuard(w, stderr io.Writer) io.Writer {
	signal.Ignore(syscall.SIGPIPE)
	return &pipeGuard{w: w, stderr: stderr}
}

func (p *pipeGuard) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return len(b), nil
	}
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.closed = true
		fmt.Fprintln(p.stderr, "scriptd: stdout was closed by its reader; further output is dropped, the run goes on")
		return len(b), nil
	}
	return n, err
}
