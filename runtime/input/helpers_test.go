package input

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// badRecord is one OnBadRecord call.
type badRecord struct {
	File string
	Line int
	Err  error
}

// badLog collects OnBadRecord calls.
type badLog struct {
	mu   sync.Mutex
	recs []badRecord
}

func (b *badLog) add(file string, line int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recs = append(b.recs, badRecord{file, line, err})
}

func (b *badLog) get() []badRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]badRecord(nil), b.recs...)
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll opens spec and runs the reader to the end, returning its events.
func readAll(t testing.TB, spec Spec, opts Options) ([]Event, *Reader) {
	t.Helper()
	r, err := Open(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []Event, 8)
	errc := make(chan error, 1)
	go func() {
		errc <- r.Run(context.Background(), out)
		close(out)
	}()
	var evs []Event
	for b := range out {
		evs = append(evs, b...)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return evs, r
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func letOthersRun() { runtime.Gosched(); time.Sleep(time.Millisecond) }
