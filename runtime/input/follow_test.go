package input

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// follower runs a following reader and collects what it sends.
type follower struct {
	t      *testing.T
	r      *Reader
	cancel context.CancelFunc
	errc   chan error
	mu     sync.Mutex
	evs    []Event
	done   chan struct{}
}

func follow(t *testing.T, path string) *follower {
	t.Helper()
	r, err := Open(Spec{Path: path}, Options{Follow: true, PollInterval: 5 * time.Millisecond, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{t: t, r: r, cancel: cancel, errc: make(chan error, 1), done: make(chan struct{})}
	out := make(chan []Event, 2)
	go func() {
		f.errc <- r.Run(ctx, out)
		close(out)
	}()
	go func() {
		defer close(f.done)
		for b := range out {
			f.mu.Lock()
			f.evs = append(f.evs, b...)
			f.mu.Unlock()
		}
	}()
	t.Cleanup(func() { f.stop() })
	return f
}

// values returns "i@line" for each event so far.
func (f *follower) values() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.evs {
		v, _ := e.Record.Get("i")
		out = append(out, fmt.Sprintf("%v@%d", v, e.Line))
	}
	return out
}

func (f *follower) waitCount(n int) {
	f.t.Helper()
	waitFor(f.t, fmt.Sprintf("%d events", n), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.evs) >= n
	})
}

func (f *follower) stop() error {
	f.cancel()
	select {
	case err := <-f.errc:
		<-f.done
		f.errc <- err // for a second stop
		return err
	case <-time.After(10 * time.Second):
		f.t.Fatal("Run did not return after cancel")
		return nil
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i <= to; i++ {
		if _, err := fmt.Fprintf(f, "{\"_path\":\"x\",\"i\":%d}\n", i); err != nil {
			t.Fatal(err)
		}
	}
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFollowAppend(t *testing.T) {
	path := writeFile(t, t.TempDir(), "x.json", "")
	appendLines(t, path, 1, 2)
	f := follow(t, path)
	f.waitCount(2)
	// A partial line is held back until its newline arrives.
	appendRaw(t, path, `{"_path":"x",`)
	waitFor(t, "the partial line to be read", func() bool {
		return f.r.Stats().BytesRead == fileSize(t, path)
	})
	if got := f.values(); len(got) != 2 {
		t.Fatalf("partial line emitted: %v", got)
	}
	appendRaw(t, path, "\"i\":3}\n")
	appendLines(t, path, 4, 6)
	f.waitCount(6)
	if err := f.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if got, want := fmt.Sprint(f.values()), "[1@1 2@2 3@3 4@4 5@5 6@6]"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestFollowRotate(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "x.json", "")
	appendLines(t, path, 1, 3)
	f := follow(t, path)
	f.waitCount(3)
	// The writer appends a last line, then the file is rotated and a new
	// one started.
	appendLines(t, path, 4, 4)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path+".1", 5, 5) // still written through the old name
	appendLines(t, path, 6, 8)
	f.waitCount(8)
	appendLines(t, path, 9, 9)
	f.waitCount(9)
	// Rotate by removing this time.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 10, 10)
	f.waitCount(10)
	if err := f.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	got := fmt.Sprint(f.values())
	if want := "[1@1 2@2 3@3 4@4 5@5 6@1 7@2 8@3 9@4 10@1]"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
}

func TestFollowTruncate(t *testing.T) {
	path := writeFile(t, t.TempDir(), "x.json", "")
	appendLines(t, path, 1, 5)
	f := follow(t, path)
	f.waitCount(5)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 6, 7) // shorter than what was read
	f.waitCount(7)
	appendLines(t, path, 8, 8)
	f.waitCount(8)
	f.stop()
	if got, want := fmt.Sprint(f.values()), "[1@1 2@2 3@3 4@4 5@5 6@1 7@2 8@3]"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
}

// TestFollowTSVRotate follows a Zeek TSV log across a rotation: the new
// file's header is read.
func TestFollowTSVRotate(t *testing.T) {
	dir := t.TempDir()
	hdr := func(path string) string {
		return "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t" + path + "\n#fields\ti\n#types\tcount\n"
	}
	path := writeFile(t, dir, "x.log", hdr("one")+"1\n2\n")
	f := follow(t, path)
	f.waitCount(2)
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "x.log", hdr("two")+"3\n")
	f.waitCount(3)
	f.stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.evs[0].Name != "one" || f.evs[2].Name != "two" || f.evs[2].Line != 8 {
		t.Errorf("events %+v", f.evs)
	}
}

// TestFollowMissedRotation rotates a followed file twice between two polls:
// the middle file's records cannot be read, and the reader says how many
// rotations it missed. (Linux only: elsewhere nothing counts the files
// created at the path.)
func TestFollowMissedRotation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("missed rotations are counted with inotify")
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "x.json", "")
	appendLines(t, path, 1, 2)
	var warns warnLog
	r, err := Open(Spec{Path: path}, Options{Follow: true, OnWarning: warns.add})
	if err != nil {
		t.Fatal(err)
	}
	poll := make(chan time.Time)
	r.pollC = poll
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan []Event, 10)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, out) }()
	var evs []Event
	receive := func(n int) {
		t.Helper()
		for len(evs) < n {
			select {
			case b := <-out:
				evs = append(evs, b...)
			case err := <-errc:
				t.Fatalf("Run = %v", err)
			case <-time.After(10 * time.Second):
				t.Fatalf("timed out waiting for %d events, have %d", n, len(evs))
			}
		}
	}
	receive(2)
	// Run has sent what it read and waits for a poll. Two rotations before
	// it: the file with 3 and 4 is replaced before the reader looks.
	for _, lines := range [][2]int{{3, 4}, {5, 6}} {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, lines[0])); err != nil {
			t.Fatal(err)
		}
		appendLines(t, path, lines[0], lines[1])
	}
	poll <- time.Now()
	receive(4)
	var got []string
	for _, e := range evs {
		v, _ := e.Record.Get("i")
		got = append(got, fmt.Sprintf("%v@%d", v, e.Line))
	}
	if want := "[1@1 2@2 5@1 6@2]"; fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
	// The warning came before the records of the new file were sent.
	w := warns.get()
	if len(w) != 1 || w[0].File != path || !strings.Contains(w[0].Err.Error(), "missed 1 rotation") {
		t.Fatalf("warnings %v, want one about 1 missed rotation", w)
	}
	if s := r.Stats(); s.RotationsMissed != 1 || s.Warnings != 1 {
		t.Errorf("stats %+v", s)
	}
	// A rotation the reader sees is not a missed one.
	if err := os.Rename(path, path+".7"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 7, 7)
	poll <- time.Now()
	receive(5)
	poll <- time.Now()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	if s := r.Stats(); s.RotationsMissed != 1 || len(warns.get()) != 1 {
		t.Errorf("after a seen rotation: stats %+v, warnings %v", s, warns.get())
	}
}

// TestFollowRepeatedBadRecords checks that while following, repeated bad
// records are reported as a count at the end of the data once the flush
// interval has passed, and that the next one is reported in full again.
// Each batch of lines ends with a good record: once its event arrives, the
// reader has read everything and waits for the next poll.
func TestFollowRepeatedBadRecords(t *testing.T) {
	const sentinel = "{\"_path\":\"s\"}\n"
	path := writeFile(t, t.TempDir(), "x.json", sentinel)
	var bad badLog
	r, err := Open(Spec{Path: path}, Options{Follow: true, OnBadRecord: bad.add})
	if err != nil {
		t.Fatal(err)
	}
	poll := make(chan time.Time)
	r.pollC = poll
	r.repeatEvery = 0 // flush at every end of the data
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan []Event, 10)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, out) }()
	<-out
	appendRaw(t, path, "oops\noops\noops\n"+sentinel)
	poll <- time.Now()
	<-out
	appendRaw(t, path, "oops\noops\n"+sentinel)
	poll <- time.Now()
	<-out
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	var got []string
	for _, b := range bad.get() {
		var rep *RepeatedError
		if errors.As(b.Err, &rep) {
			got = append(got, fmt.Sprintf("%d:+%d(%d-%d)", b.Line, rep.Count, rep.First, rep.Last))
		} else {
			got = append(got, fmt.Sprint(b.Line))
		}
	}
	if want := "[2 4:+2(2-4) 6 7:+1(6-7)]"; fmt.Sprint(got) != want {
		t.Errorf("reports %v, want %s", got, want)
	}
	if s := r.Stats(); s.Skipped != 5 {
		t.Errorf("stats %+v", s)
	}
}
