//go:build unix

package input

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// openWithin opens spec, failing the test if Open does not return.
func openWithin(t *testing.T, spec Spec, opts Options) *Reader {
	t.Helper()
	type result struct {
		r   *Reader
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := Open(spec, opts)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.r
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a named pipe without a writer")
		return nil
	}
}

// goroutinesIn reports whether a goroutine's stack contains fn.
func goroutinesIn(fn string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestFIFONoWriter opens a named pipe that no writer opens: Open returns at
// once, Run waits for a writer and returns when its context is cancelled,
// and the abandoned open is released.
func TestFIFONoWriter(t *testing.T) {
	path := mkfifo(t)
	r := openWithin(t, Spec{Path: path}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, make(chan []Event, 1)) }()
	waitFor(t, "Run to wait in open", func() bool { return goroutinesIn("input.openCancelable.func1") })
	select {
	case err := <-errc:
		t.Fatalf("Run returned %v without a writer", err)
	default:
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel while opening a named pipe")
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v after a cancel", err)
	}
	waitFor(t, "the abandoned open to end", func() bool { return !goroutinesIn("input.openCancelable.func1") })
}

// TestFIFOWriter reads a named pipe whose writer comes after Run started,
// and a second one whose writer stays silent until Run is cancelled.
func TestFIFOWriter(t *testing.T) {
	path := mkfifo(t)
	r := openWithin(t, Spec{Path: path}, Options{})
	out := make(chan []Event, 10)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background(), out) }()
	w, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for Run's open
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		fmt.Fprintf(w, "{\"_path\":\"p\",\"i\":%d}\n", i)
	}
	w.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	close(out)
	n := 0
	for b := range out {
		for _, e := range b {
			if v, _ := e.Record.Get("i"); v != float64(n) || e.Line != n+1 {
				t.Errorf("event %d: i=%v line %d", n, v, e.Line)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d events, want 3", n)
	}

	// A writer that writes one line and then nothing: cancelling Run ends
	// its blocked read.
	path = mkfifo(t)
	r = openWithin(t, Spec{Path: path}, Options{BatchSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	out = make(chan []Event, 10)
	go func() { errc <- r.Run(ctx, out) }()
	w, err = os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fmt.Fprintf(w, "{\"_path\":\"p\"}\n")
	<-out // Run has read the line and waits for more
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel while reading an idle named pipe")
	}
}
