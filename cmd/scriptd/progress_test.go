package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/input"
)

func TestRenderProgress(t *testing.T) {
	for _, c := range []struct {
		s    progressSample
		rate float64
		want string
	}{
		{progressSample{Inputs: []input.Stats{{Records: 1234567, BytesRead: 250, Size: 1000}}, InFlight: 17}, 52345,
			"scriptd: 1.23M records  52.3k/s  25.0% read  17 ops in flight"},
		{progressSample{Inputs: []input.Stats{{Records: 10, Size: 0}, {Records: 5, Skipped: 3, BytesRead: 900, Size: 1000}}}, 9.6,
			"scriptd: 15 records  10/s  90.0% read  0 ops in flight  3 skipped"},
		{progressSample{Inputs: []input.Stats{{Records: 7}}}, 0, // stdin: size unknown
			"scriptd: 7 records  0/s  0 ops in flight"},
		{progressSample{Inputs: []input.Stats{{BytesRead: 2000, Size: 1000}}}, -1,
			"scriptd: 0 records  0/s  100.0% read  0 ops in flight"},
	} {
		if got := renderProgress(c.s, c.rate); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
		if n := len(renderProgress(c.s, c.rate)); n >= 80 {
			t.Errorf("line of %d columns", n)
		}
	}
	for n, want := range map[float64]string{0: "0", 999: "999", 9999: "9999", 12345: "12.3k", 999999: "1000k", 1e6: "1.00M", 123456789: "123M", 4.5e9: "4.50G"} {
		if got := humanCount(n); got != want {
			t.Errorf("humanCount(%v) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var out testutil.Buffer
	var mu sync.Mutex
	records := int64(0)
	p := &progress{out: &out, interval: 10 * time.Millisecond, sample: func() progressSample {
		mu.Lock()
		defer mu.Unlock()
		records += 100
		return progressSample{Inputs: []input.Stats{{Records: records, BytesRead: records, Size: 10000}}, InFlight: 2}
	}}
	p.start()
	testutil.Eventually(t, 5*time.Second, "the progress line", func() bool { return strings.Contains(out.String(), "ops in flight") })
	fmt.Fprintf(p, "an error line\n")
	testutil.Eventually(t, 5*time.Second, "the line redrawn after other output", func() bool {
		return strings.Contains(strings.SplitAfter(out.String(), "an error line\n")[1], "ops in flight")
	})
	p.stop()
	text := out.String()
	// Other output erases the line first; stop erases it for good.
	if !strings.Contains(text, clearLine+"an error line\n") {
		t.Errorf("output not preceded by an erase: %q", text)
	}
	if !strings.HasSuffix(text, clearLine) {
		t.Errorf("line not cleared at stop: %q", text[max(0, len(text)-80):])
	}
	if strings.Contains(text, "\n") && strings.Count(text, "\n") != 1 {
		t.Errorf("the status line must not add newlines: %q", text)
	}
	// After stop, writes pass through untouched and nothing is redrawn:
	// stop has waited for the redraw goroutine to end, so no tick is left
	// to draw the line again.
	select {
	case <-p.done:
	default:
		t.Fatal("the redraw goroutine outlived stop")
	}
	before := out.String()
	fmt.Fprintf(p, "late\n")
	if got := out.String(); got != before+"late\n" {
		t.Errorf("after stop: %q", strings.TrimPrefix(got, before))
	}
}

func TestNewProgressModes(t *testing.T) {
	sample := func() progressSample { return progressSample{} }
	var buf bytes.Buffer
	if newProgress(progressAuto, &buf, 1, sample) != nil {
		t.Error("auto drew on a buffer")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if newProgress(progressAuto, f, 1, sample) != nil {
		t.Error("auto drew on a regular file")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if newProgress(progressAuto, w, 1, sample) != nil {
		t.Error("auto drew on a pipe")
	}
	if newProgress(progressAlways, &buf, 1, sample) == nil {
		t.Error("always did not draw")
	}
	if newProgress(progressAlways, &buf, 0, sample) != nil {
		t.Error("drew without inputs")
	}
	if newProgress(progressNever, &buf, 1, sample) != nil {
		t.Error("never drew")
	}
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is not a terminal")
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if !isTerminal(ptmx) {
		t.Error("a pseudo-terminal master is a terminal")
	}
	// Output to another writer on the same terminal erases the line too.
	var screen testutil.Buffer
	p := &progress{out: &screen, shown: true}
	if got := p.sameScreen(w); got != io.Writer(w) {
		t.Errorf("a pipe was wrapped: %T", got)
	}
	if _, ok := p.sameScreen(ptmx).(screenWriter); !ok {
		t.Fatalf("a terminal was not wrapped")
	}
	var other bytes.Buffer
	if _, err := (screenWriter{p, &other}).Write([]byte("x\n")); err != nil || screen.String() != clearLine || other.String() != "x\n" || p.shown {
		t.Errorf("screen %q, other %q, shown %v", screen.String(), other.String(), p.shown)
	}
}

// TestRunDrawsProgress runs a replay with --progress=always: the line is
// drawn on stderr and erased at exit; stdout is untouched.
func TestRunDrawsProgress(t *testing.T) {
	dir := t.TempDir()
	var recs strings.Builder
	for i := range 400 {
		fmt.Fprintf(&recs, `{"_path":"rec","n":%d}`+"\n", i)
	}
	script := filepath.Join(dir, "s.js")
	in := filepath.Join(dir, "in.json")
	if err := os.WriteFile(script, []byte(`
		let n = 0;
		on("rec", () => { const end = Date.now() + 2; while (Date.now() < end) {} n++; });
		on("done", () => print("records", n));
	`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(recs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr testutil.Buffer
	code := mainCode([]string{"run", "--progress=always", "--input", in, script}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || stdout.String() != "records 400\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	errText := stderr.String()
	if !strings.Contains(errText, "records") || !strings.Contains(errText, "% read") || !strings.HasSuffix(errText, clearLine) {
		t.Fatalf("stderr %q", errText)
	}
	// Without a terminal, auto stays silent.
	stdout.Reset()
	stderr.Reset()
	if code := mainCode([]string{"run", "--input", in, script}, strings.NewReader(""), &stdout, &stderr); code != 0 || stderr.String() != "" {
		t.Fatalf("auto: exit %d, stderr %q", code, stderr.String())
	}
}

func TestRunFlagValidation(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.js")
	if err := os.WriteFile(script, []byte("print('loaded');\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--progress=sometimes"}, "--progress"},
		{[]string{"--listen-token", "x"}, "--listen-token needs --listen"},
		{[]string{"--listen", "127.0.0.1:0", "--max-body", "0"}, "--max-body"},
		{[]string{"--listen", "no-port"}, "--listen"},
	} {
		var stdout, stderr testutil.Buffer
		code := mainCode(append(append([]string{"run"}, c.args...), script), nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.msg) || stdout.String() != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", c.args, code, stderr.String(), stdout.String())
		}
	}
}
