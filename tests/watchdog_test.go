package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// records writes a JSON-lines file of {"_path":"rec","seq":K} for K in
// from..to (appending if it exists).
func appendRecords(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for k := from; k <= to; k++ {
		fmt.Fprintf(&b, `{"_path":"rec","seq":%d}`+"\n", k)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// wantHandledOnce checks that stdout's "handled seq=K" lines are exactly
// the given seqs, in order.
func wantHandledOnce(t *testing.T, stdout string, seqs ...int) {
	t.Helper()
	var got []string
	for _, l := range outputLines(stdout) {
		if m := regexp.MustCompile(`handled seq=(\d+)`).FindStringSubmatch(l); m != nil {
			got = append(got, m[1])
		}
	}
	var want []string
	for _, s := range seqs {
		want = append(want, fmt.Sprint(s))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("handled %v, want %v\nstdout:\n%s", got, want, stdout)
	}
}

// TestRunawayHandlerIsInterrupted: a handler stuck in `while (true) {}`
// for one record is interrupted after --handler-timeout and reported with
// its file:line; the scripts restart on a fresh runtime (init runs again),
// the following records are handled, and the counter kept in storage
// survives the restart.
func TestRunawayHandlerIsInterrupted(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "state.sqlite")
	writeFiles(t, dir, map[string]string{"s/a.js": fmt.Sprintf(`let h;
on("init", () => {
  h = Storage.Sync.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: %q, table_name: "t" } }, "string", "count").value;
  print("init");
});
let spins = 0;
on("rec", (r) => {
  if (r.seq === 3) {
    while (true) { spins++; }
  }
  const g = Storage.Sync.get(h, "n");
  const n = (g.code === Storage.SUCCESS ? g.value : 0) + 1;
  Storage.Sync.put(h, { key: "n", value: n });
  print("handled seq=" + r.seq + " n=" + n);
});
`, db)})
	appendRecords(t, filepath.Join(dir, "in.json"), 1, 10)
	start := time.Now()
	r := runScriptd(t, dir, 60*time.Second, "run", "--handler-timeout", "300ms", "--input", "in.json", "s")
	if r.Code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.Code, r.Stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	wantHandledOnce(t, r.Stdout, 1, 2, 4, 5, 6, 7, 8, 9, 10)
	if !strings.Contains(r.Stdout, "handled seq=4 n=3\n") || !strings.Contains(r.Stdout, "handled seq=10 n=9\n") {
		t.Errorf("the counter in storage did not survive the restart:\n%s", r.Stdout)
	}
	if c := strings.Count(r.Stdout, "init\n"); c != 2 {
		t.Errorf("init ran %d times, want 2 (the fresh runtime's)", c)
	}
	for _, want := range []string{
		`error in handler for "rec" (` + filepath.Join(dir, "s", "a.js") + `:7)`, // the handler's origin
		"ran past the handler time limit of 300ms",
		"a.js:9:", // where it was spinning
		"restarted on a fresh runtime",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

// TestRunawayAsyncContinuationIsInterrupted: an async handler that spins
// after an await runs in goja's job queue, which an interrupt leaves
// unusable; the engine restarts on a fresh runtime and goes on.
func TestRunawayAsyncContinuationIsInterrupted(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	writeFiles(t, dir, map[string]string{"s/a.js": `on("init", () => print("init"));
on("rec", async (r) => {
  await new Promise((res) => setTimeout(res, 1));
  if (r.seq === 2) {
    let spins = 0;
    for (;;) { spins++; }
  }
  print("handled seq=" + r.seq);
});
`})
	appendRecords(t, in, 1, 1)
	p := startScriptd(t, dir, "run", "--follow", "--handler-timeout", "300ms", "--input", "in.json", "s")
	testutil.Eventually(t, 20*time.Second, "seq 1", func() bool { return strings.Contains(p.Stdout.String(), "handled seq=1\n") })
	appendRecords(t, in, 2, 2)
	testutil.Eventually(t, 20*time.Second, "the restart", func() bool { return strings.Contains(p.Stderr.String(), "restarted on a fresh runtime") })
	appendRecords(t, in, 3, 5)
	testutil.Eventually(t, 20*time.Second, "seq 5", func() bool { return strings.Contains(p.Stdout.String(), "handled seq=5\n") })
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	wantHandledOnce(t, p.Stdout.String(), 1, 3, 4, 5)
	stderr := p.Stderr.String()
	for _, want := range []string{`handler for "rec" (` + filepath.Join(dir, "s", "a.js") + `:2)`, "handler time limit of 300ms", "a.js:6:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if c := strings.Count(p.Stdout.String(), "init\n"); c != 2 {
		t.Errorf("init ran %d times", c)
	}
}

// TestDeepRecursionIsReported: runaway recursion is a RangeError reported
// with its file:line, and the run goes on without a restart.
func TestDeepRecursionIsReported(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `function down(n) { return down(n + 1) + 1; }
on("rec", (r) => {
  if (r.seq === 2) down(0);
  print("handled seq=" + r.seq);
});
`})
	appendRecords(t, filepath.Join(dir, "in.json"), 1, 4)
	r := runScriptd(t, dir, 60*time.Second, "run", "--handler-timeout", "300ms", "--input", "in.json", "s")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	wantHandledOnce(t, r.Stdout, 1, 3, 4)
	if !strings.Contains(r.Stderr, "maximum call stack size exceeded") || !strings.Contains(r.Stderr, "a.js:1:") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	if strings.Contains(r.Stderr, "fresh runtime") {
		t.Errorf("restarted for a catchable error: %s", r.Stderr)
	}
}

// TestTimerErrorIsReported: an error thrown in a timer callback is reported
// with its file:line and the run goes on.
func TestTimerErrorIsReported(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	writeFiles(t, dir, map[string]string{"s/a.js": `on("init", () => {
  setTimeout(() => {
    throw new Error("timer-boom");
  }, 5);
});
on("rec", (r) => print("handled seq=" + r.seq));
`})
	appendRecords(t, in, 1, 1)
	p := startScriptd(t, dir, "run", "--follow", "--handler-timeout", "300ms", "--input", "in.json", "s")
	testutil.Eventually(t, 20*time.Second, "the timer error", func() bool { return strings.Contains(p.Stderr.String(), "timer-boom") })
	appendRecords(t, in, 2, 3)
	testutil.Eventually(t, 20*time.Second, "seq 3", func() bool { return strings.Contains(p.Stdout.String(), "handled seq=3\n") })
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	wantHandledOnce(t, p.Stdout.String(), 1, 2, 3)
	if stderr := p.Stderr.String(); !strings.Contains(stderr, "error in setTimeout callback: Error: timer-boom") || !strings.Contains(stderr, "a.js:3:") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestRunawayTopLevelFailsTheLoad: a script whose top level never returns
// is interrupted too: the load fails with its file:line, exit 1.
func TestRunawayTopLevelFailsTheLoad(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": "let spins = 0;\nwhile (true) { spins++; }\n"})
	r := runScriptd(t, dir, 60*time.Second, "run", "--handler-timeout", "300ms", "s")
	if r.Code != 1 || !strings.Contains(r.Stderr, "a.js:2:") || !strings.Contains(r.Stderr, "handler time limit") {
		t.Fatalf("exit %d\nstderr: %s", r.Code, r.Stderr)
	}
}
