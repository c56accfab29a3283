package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// Thrown values with no string form are reported with file:line like any
// error, and every later record is still handled (issue 12, item 1).
func TestUnprintableThrowsAreReported(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0;
on("x", (r) => {
  n++;
  if (r.i === 1) throw Object.create(null);
  if (r.i === 2) throw { toString() { throw new Error("no"); } };
  if (r.i === 3) throw { [Symbol.toPrimitive]() { return {}; } };
});
on("init", async () => {});
on("done", () => print("handled", n));
`,
		"in.json": `{"_path":"x","i":1}
{"_path":"x","i":2}
{"_path":"x","i":3}
{"_path":"x","i":4}
`,
	})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js", "--input", "in.json")
	if got := strings.TrimSpace(r.Stdout); got != "handled 4" {
		t.Fatalf("stdout %q, want every record handled; stderr:\n%s", got, r.Stderr)
	}
	for _, line := range []string{"a.js:4:", "a.js:5:", "a.js:6:"} {
		if !strings.Contains(r.Stderr, line) {
			t.Errorf("stderr does not name %s:\n%s", line, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "Could not convert") {
		t.Errorf("the reporter failed on the thrown value:\n%s", r.Stderr)
	}
}

// An async init rejecting with an unprintable value is reported and the
// records are still handled.
func TestUnprintableInitRejection(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0;
on("init", async () => { await null; throw Object.create(null); });
on("x", () => { n++; });
on("done", () => print("handled", n));
`,
		"in.json": strings.Repeat(`{"_path":"x"}`+"\n", 10),
	})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js", "--input", "in.json")
	if got := strings.TrimSpace(r.Stdout); got != "handled 10" {
		t.Fatalf("stdout %q; stderr:\n%s", got, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "cannot be converted to a string") {
		t.Errorf("the rejection was not reported:\n%s", r.Stderr)
	}
}

// Records naming a reserved event are bad records; emit() of one throws
// (issue 12, item 3).
func TestReservedEventNames(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i, name := range []string{"done", "init", "Storage.backend_lost", "scriptd.reload_failed"} {
		fmt.Fprintf(&in, `{"_path":%q,"i":%d}`+"\n", name, i)
		in.WriteString(`{"_path":"x"}` + "\n")
	}
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0, dones = 0, inits = 0;
on("init", () => { inits++; });
on("x", () => { n++; });
on("Storage.backend_lost", () => print("backend_lost fired"));
on("scriptd.reload_failed", () => print("reload_failed fired"));
on("done", () => {
  dones++;
  for (const name of ["done", "init", "Storage.x", "scriptd.y"]) {
    try { emit(name); print("emitted", name); } catch (e) { print("refused", name, e instanceof TypeError); }
  }
  print("x", n, "inits", inits, "dones", dones);
});
`,
		"in.json": in.String(),
	})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js", "--input", "in.json")
	want := "refused done true\nrefused init true\nrefused Storage.x true\nrefused scriptd.y true\nx 4 inits 1 dones 1"
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", got, want, r.Stderr)
	}
	for _, line := range []string{"in.json:1:", "in.json:3:", "in.json:5:", "in.json:7:", "skipped 4 bad record"} {
		if !strings.Contains(r.Stderr, line) {
			t.Errorf("stderr does not report %s:\n%s", line, r.Stderr)
		}
	}
	// NAME= naming a reserved event is refused the same way.
	r = runScriptd(t, dir, 20*time.Second, "run", "a.js", "--input", "done=in.json")
	if !strings.Contains(r.Stdout, "x 0 inits 1 dones 1") || !strings.Contains(r.Stderr, "skipped 8 bad record") {
		t.Errorf("NAME=done: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
}

// Log.write of a record JSON cannot render throws a TypeError naming the
// stream and the reason and writes nothing (issue 12, item 7).
func TestLogWriteRefusesUnrenderableRecords(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `on("init", () => {
  const cyc = { a: 1 }; cyc.self = cyc;
  const cases = {
    cycle: cyc,
    bigint: { n: 10n },
    tojson: { toJSON() { throw new Error("toJSON failed"); } },
    proxy: new Proxy({}, { ownKeys() { throw new Error("ownKeys failed"); } }),
  };
  for (const [k, v] of Object.entries(cases)) {
    try { Log.write("t", v); print(k, "written"); } catch (e) { print(k, e instanceof TypeError, e.message); }
  }
  Log.write("t", { ok: 1 });
});
`})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js")
	for _, want := range []string{
		`cycle true Log.write("t"): the record cannot be written as JSON: TypeError: Converting circular structure`,
		`bigint true Log.write("t"): the record cannot be written as JSON: TypeError:`,
		`tojson true Log.write("t"): the record cannot be written as JSON: Error: toJSON failed`,
		`proxy true Log.write("t"): the record cannot be written as JSON: Error: ownKeys failed`,
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "t.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != "{\"ok\":1}\n" {
		t.Errorf("t.log = %q, want only the good record", got)
	}
}

// SIGHUP stops a run gracefully, like SIGTERM: done runs and logs are
// flushed (issue 12, item 13).
func TestSIGHUPRunsDone(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0;
on("x", () => { if (++n === 1) print("first"); });
on("done", () => { print("done", n); Log.write("end", { n }); });
`,
		"in.json": `{"_path":"x"}` + "\n",
	})
	p := startScriptd(t, dir, "run", "a.js", "--input", "in.json", "--follow")
	testutil.Eventually(t, 10*time.Second, "the first record", func() bool { return strings.Contains(p.Stdout.String(), "first") })
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGHUP; stderr: %s", code, p.Stderr.String())
	}
	if !strings.Contains(p.Stdout.String(), "done 1") {
		t.Errorf("done did not run: %q", p.Stdout.String())
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "end.log")); string(data) != "{\"n\":1}\n" {
		t.Errorf("end.log = %q", data)
	}
}

// A reader closing stdout (| head -1) stops the printing with one warning;
// the run goes on to done (issue 12, item 13).
func TestClosedStdoutDoesNotKillTheRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0;
on("x", () => { n++; print("line", n); });
on("done", () => Log.write("end", { n }));
`,
		"in.json": strings.Repeat(`{"_path":"x"}`+"\n", 20000),
	})
	cmd := exec.Command(scriptdBin, "run", "a.js", "--input", "in.json")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 7)
	if _, err := io.ReadFull(stdout, first); err != nil || string(first) != "line 1\n" {
		t.Fatalf("first line %q: %v", first, err)
	}
	_ = stdout.Close() // what head does after its first line
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scriptd ended with %v after stdout closed; stderr: %s", err, errb.String())
	}
	if got := strings.Count(errb.String(), "stdout was closed"); got != 1 {
		t.Errorf("warned %d times, want once: %s", got, errb.String())
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "end.log")); string(data) != "{\"n\":20000}\n" {
		t.Errorf("end.log = %q, want every record handled", data)
	}
}

// Flag values that cannot mean anything are usage errors; an empty script
// directory is an error at start-up (issue 12, item 13).
func TestRunRefusesMeaninglessSettings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `on("done", () => print("ran"));`, "empty/.keep": ""})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "a.js", "--handler-timeout", "0"}, 2, "--handler-timeout 0s: must be positive"},
		{[]string{"run", "a.js", "--handler-timeout", "-1s"}, 2, "--handler-timeout -1s: must be positive"},
		{[]string{"run", "a.js", "--max-in-flight", "-5"}, 2, "--max-in-flight -5: must be positive"},
		{[]string{"run", "empty"}, 1, "no script files in empty"},
	} {
		r := runScriptd(t, dir, 20*time.Second, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) || strings.Contains(r.Stdout, "ran") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.Code, r.Stderr, tc.code, tc.msg)
		}
	}
}

// An init that never completes at start-up fails the run with the reason
// instead of dropping every record and exiting 0 (issue 12, item 5).
func TestStartupInitThatNeverCompletesFails(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let n = 0;
on("init", () => { while (true) {} });
on("x", () => n++);
on("done", () => print("handled", n));
`,
		"in.json": strings.Repeat(`{"_path":"x"}`+"\n", 2000),
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json", "--handler-timeout", "1s")
	if r.Code == 0 || !strings.Contains(r.Stderr, "init did not complete") {
		t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

// A reload whose init runs away is a failed reload: the previous version
// keeps handling records, and sees done with every one of them (issue 12,
// item 5).
func TestReloadWhoseInitRunsAwayKeepsThePreviousVersion(t *testing.T) {
	dir := t.TempDir()
	v1 := `let n = 0;
on("x", () => { n++; print("v1 n=" + n); });
on("scriptd.reload_failed", (e) => print("reload_failed " + e.message));
on("done", () => print("done v1 n=" + n));
`
	writeFiles(t, dir, map[string]string{"s/a.js": v1, "feed.json": ""})
	feed := filepath.Join(dir, "feed.json")
	appendRecords := func(n int) {
		f, err := os.OpenFile(feed, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(strings.Repeat(`{"_path":"x"}`+"\n", n)); err != nil {
			t.Fatal(err)
		}
	}
	p := startScriptd(t, dir, "run", "s", "--watch", "--follow", "--input", "feed.json", "--handler-timeout", "1s")
	appendRecords(100)
	testutil.Eventually(t, 15*time.Second, "v1 to handle 100 records", func() bool { return strings.Contains(p.Stdout.String(), "v1 n=100\n") })
	writeFiles(t, dir, map[string]string{"s/a.js": `on("init", () => { while (true) {} });
on("x", () => print("v2 handled a record"));
on("done", () => print("done v2"));
`})
	testutil.Eventually(t, 20*time.Second, "the failed reload", func() bool { return strings.Contains(p.Stdout.String(), "reload_failed") })
	appendRecords(100)
	testutil.Eventually(t, 15*time.Second, "v1 to handle 200 records", func() bool { return strings.Contains(p.Stdout.String(), "v1 n=200\n") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr.String())
	}
	out := p.Stdout.String()
	if strings.Contains(out, "v2") || !strings.Contains(out, "done v1 n=200") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, p.Stderr.String())
	}
	if !strings.Contains(p.Stderr.String(), "reload failed, the running scripts (version 1) go on") {
		t.Errorf("stderr does not report the failed reload:\n%s", p.Stderr.String())
	}
}

// SIGTERM while handlers wait on a timer: every event answered 202 is
// still handled — the one-shot timers fire and their puts land — before
// done (issue 12, item 4).
func TestSIGTERMLetsTimerWaitsFinish(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `let h;
on("init", async () => {
  h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: "t.db", table_name: "t" } }, "string", "count")).value;
});
on("ev", async (x) => {
  await new Promise((r) => setTimeout(r, 500));
  await Storage.Async.put(h, { key: "k" + x.i, value: x.i });
});
setInterval(() => {}, 1000); // an interval must not hold the shutdown
on("done", async () => {
  let n = 0;
  for (let i = 0; i < 20; i++) if ((await Storage.Async.get(h, "k" + i)).code === Storage.SUCCESS) n++;
  print("stored", n);
});
`})
	hp := startListening(t, dir, "s")
	for i := 0; i < 20; i++ {
		if code, body := hp.call(t, "POST", "/v1/events/ev", []byte(fmt.Sprintf(`{"i":%d}`, i))); code != 202 {
			t.Fatalf("POST %d: %d %s", i, code, body)
		}
	}
	if err := hp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := hp.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, hp.Stderr.String())
	}
	if got := strings.TrimSpace(hp.Stdout.String()); got != "stored 20" {
		t.Fatalf("stdout %q, want every 202'd event stored; stderr:\n%s", got, hp.Stderr.String())
	}
}

// Work still pending when the drain timeout ends is reported by count and
// handler location, never dropped silently (issue 12, item 4).
func TestDrainTimeoutReportsAbandonedWork(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `on("x", async () => { print("started"); await new Promise((r) => setTimeout(r, 60000)); print("finished"); });
on("done", () => print("done"));
`,
		"in.json": strings.Repeat(`{"_path":"x"}`+"\n", 3),
	})
	p := startScriptd(t, dir, "run", "a.js", "--input", "in.json", "--follow", "--drain-timeout", "300ms")
	testutil.Eventually(t, 10*time.Second, "the three handlers to start", func() bool {
		return strings.Count(p.Stdout.String(), "started") == 3
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 20*time.Second)
	errText := p.Stderr.String()
	if !strings.Contains(errText, "drain timeout (300ms); abandoned:") || !strings.Contains(errText, `a.js:1): 0 async operation(s), 3 timer(s)`) {
		t.Fatalf("stderr does not report the abandoned work:\n%s", errText)
	}
	if strings.Contains(p.Stdout.String(), "finished") || !strings.Contains(p.Stdout.String(), "done") {
		t.Errorf("stdout: %q", p.Stdout.String())
	}
}

// A hot reload lets the retiring version's handlers finish their second
// step after a timer: no record is left half-processed (issue 12, item 4).
func TestReloadLetsPendingHandlersFinish(t *testing.T) {
	dir := t.TempDir()
	script := func(v int) string {
		return fmt.Sprintf(`let h;
on("init", async () => {
  h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: "r.db", table_name: "r" } }, "count", "count")).value;
  print("v%d ready");
});
on("x", async (r) => {
  await new Promise((res) => setTimeout(res, 20));
  await Storage.Async.put(h, { key: r.i, value: %d });
  if (r.i === 1999) print("last stored");
});
on("done", async () => {
  let n = 0;
  for (let i = 0; i < 2000; i++) if ((await Storage.Async.get(h, i)).code === Storage.SUCCESS) n++;
  print("stored", n);
});
`, v, v)
	}
	var in strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&in, `{"_path":"x","i":%d}`+"\n", i)
	}
	writeFiles(t, dir, map[string]string{"s/a.js": script(1), "feed.json": in.String()})
	p := startScriptd(t, dir, "run", "s", "--watch", "--follow", "--input", "feed.json")
	testutil.Eventually(t, 15*time.Second, "v1", func() bool { return strings.Contains(p.Stdout.String(), "v1 ready") })
	writeFiles(t, dir, map[string]string{"s/a.js": script(2)})
	f, err := os.OpenFile(filepath.Join(dir, "feed.json"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1000; i < 2000; i++ {
		fmt.Fprintf(f, `{"_path":"x","i":%d}`+"\n", i)
	}
	f.Close()
	testutil.Eventually(t, 20*time.Second, "v2", func() bool { return strings.Contains(p.Stdout.String(), "v2 ready") })
	// Every record has been read and dispatched once the last one is stored.
	testutil.Eventually(t, 30*time.Second, "the last record", func() bool { return strings.Contains(p.Stdout.String(), "last stored") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr.String())
	}
	if !strings.Contains(p.Stdout.String(), "stored 2000") || strings.Contains(p.Stderr.String(), "abandoned") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", p.Stdout.String(), p.Stderr.String())
	}
}

// A promise storm is stopped by the memory bound, reported like a runaway
// handler, and the engine goes on with fresh scripts; the process runs
// under an address-space cap so a regression cannot take the machine down
// (issue 12, item 2).
func TestMemoryBoundStopsAPromiseStorm(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i <= 400; i++ {
		fmt.Fprintf(&in, `{"_path":"x","i":%d}`+"\n", i)
	}
	writeFiles(t, dir, map[string]string{
		"a.js": `async function g(x) { await null; return g(x + 1); }
on("x", (r) => { if (r.i === 5) g(0); if (r.i === 400) print("last record handled"); });
on("done", () => print("done"));
`,
		"in.json": in.String(),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "prlimit", "--as=4000000000", scriptdBin, "run", "a.js", "--input", "in.json", "--max-memory", "150MiB")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "passed the memory limit of 150 MiB") || !strings.Contains(errb.String(), "a.js:1:") {
		t.Errorf("the memory bound was not reported with the script's location:\n%s", errb.String())
	}
	if !strings.Contains(out.String(), "last record handled") || !strings.Contains(out.String(), "done") {
		t.Errorf("the run did not go on after the bound: %q", out.String())
	}
}

// Promise continuations run between records, not after a whole input batch
// has been dispatched (issue 12, item 2).
func TestContinuationsRunBetweenRecords(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&in, `{"_path":"x","i":%d}`+"\n", i)
	}
	writeFiles(t, dir, map[string]string{
		"a.js": `let maxDispatchedBeforeFirstContinuation = -1, lastDispatched = -1, first = true;
on("x", async (r) => {
  lastDispatched = r.i;
  await null;
  if (first) { first = false; maxDispatchedBeforeFirstContinuation = lastDispatched; }
});
on("done", () => print(maxDispatchedBeforeFirstContinuation));
`,
		"in.json": in.String(),
	})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js", "--input", "in.json")
	n, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatalf("stdout %q: %v; stderr: %s", r.Stdout, err, r.Stderr)
	}
	if n >= 64 {
		t.Fatalf("%d records were dispatched before the first continuation ran", n+1)
	}
}

// A truncated gzip input is an error naming the input and where; the run
// exits non-zero (issue 12, item 13).
func TestTruncatedGzipFailsTheRun(t *testing.T) {
	src := needShared(t, "dns.json.gz")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js":          `let n = 0; on("dns", () => n++); on("done", () => print(n));`,
		"trunc.json.gz": string(data[:len(data)/3]),
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "trunc.json.gz")
	if r.Code == 0 || !strings.Contains(r.Stderr, "trunc.json.gz, after line") || !strings.Contains(r.Stderr, "truncated gzip data") {
		t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(r.Stdout)); err != nil || n == 0 {
		t.Errorf("the records before the damage were not handled: %q", r.Stdout)
	}
}

// Implausible ts values are bad records and never move network time: an
// entry stored with a 1 h expiry stays readable (issue 12, item 8); a
// duplicate key keeps one key with the last value (item 9).
func TestImplausibleTSAndDuplicateKeys(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `let h;
on("init", async () => {
  h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: ":memory:", table_name: "t" } }, "string", "count")).value;
});
on("x", async (r) => {
  if (r.op === "put") await Storage.Async.put(h, { key: "k", value: 1, expire_time: "1h" });
  if (r.op === "get") print("get", (await Storage.Async.get(h, "k")).code, Math.floor(network_time()));
  if (r.op === "dup") print("dup", JSON.stringify(Object.keys(r)), r.a);
});
`,
		"in.json": `{"_path":"x","ts":1521911722.5,"op":"put"}
{"_path":"x","ts":1521911722000,"op":"bad-ms"}
{"_path":"x","ts":1e300,"op":"bad-huge"}
{"_path":"x","ts":"not a time","op":"bad-string"}
{"_path":"x","ts":1521911723.5,"op":"get"}
{"_path":"x","a":1,"op":"dup","a":2}
`,
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json")
	if !strings.Contains(r.Stdout, "get SUCCESS 1521911723") {
		t.Errorf("an implausible ts moved network time: %q\nstderr: %s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, `dup ["_path","a","op"] 2`) {
		t.Errorf("duplicate keys: %q", r.Stdout)
	}
	for _, want := range []string{"in.json:2:", "in.json:3:", "in.json:4:", "skipped 3 bad record"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

// A FIFO input with no writer does not block start-up or signals: SIGTERM
// still runs done (issue 12, item 12).
func TestFIFOWithoutWriterStillStops(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `on("init", () => print("init")); on("done", () => print("done"));`})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	p := startScriptd(t, dir, "run", "a.js", "--input", "fifo")
	testutil.Eventually(t, 10*time.Second, "init", func() bool { return strings.Contains(p.Stdout.String(), "init") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 10*time.Second)
	if !strings.Contains(p.Stdout.String(), "done") {
		t.Fatalf("done did not run: %q, stderr: %s", p.Stdout.String(), p.Stderr.String())
	}
}

// Records piped on stdin are handled as they arrive, not held back until a
// batch fills (found porting Zeek's cluster btests).
func TestPipedRecordsAreHandledAsTheyArrive(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `on("x", (r) => print("got " + r.i));`})
	cmd := exec.Command(scriptdBin, "run", "a.js", "--input", "-")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	fmt.Fprintln(stdin, `{"_path":"x","i":1}`)
	testutil.Eventually(t, 10*time.Second, "the first piped record", func() bool { return strings.Contains(out.String(), "got 1") })
	fmt.Fprintln(stdin, `{"_path":"x","i":2}`)
	testutil.Eventually(t, 10*time.Second, "the second piped record", func() bool { return strings.Contains(out.String(), "got 2") })
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
}

// When a runaway handler forces a fresh runtime, the pending work of the
// other handlers dies with the old one: it is counted and reported by
// handler location, not dropped silently (issue 12, item 2).
func TestRuntimeReplacementReportsAbandonedWork(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `on("slow", async () => { print("waiting"); await new Promise((r) => setTimeout(r, 60000)); print("never"); });
on("spin", () => { for (;;) {} });
`,
		"in.json": `{"_path":"slow"}` + "\n" + `{"_path":"slow"}` + "\n" + `{"_path":"spin"}` + "\n",
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json", "--handler-timeout", "500ms")
	if !strings.Contains(r.Stderr, "was interrupted and replaced; abandoned:") || !strings.Contains(r.Stderr, `handler for "slow" (`) ||
		!strings.Contains(r.Stderr, "a.js:1): 0 async operation(s), 2 timer(s)") {
		t.Fatalf("the abandoned waits were not reported:\n%s", r.Stderr)
	}
	if strings.Contains(r.Stdout, "never") {
		t.Errorf("stdout: %q", r.Stdout)
	}
}
