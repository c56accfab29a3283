package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A replay with a when() timeout of 1 h and schedule("1h") pending ends
// within seconds of its input; the timeouts and timers fire before done, in
// due order; a timer set in init (before the first record) counts from the
// first record's time; an unref'd interval does not hold the run.
func TestReplayEndsAndFiresPendingTimers(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&in, `{"_path":"x","ts":%d,"i":%d}`+"\n", 1521911720+60*i, i) // 9 minutes of records
	}
	writeFiles(t, dir, map[string]string{
		"a.js": `const fired = [];
on("init", () => {
  schedule("5 mins", () => fired.push("init+5m@" + network_time()));
  when(() => new Promise(() => {}), () => fired.push("never"), { timeout: "1h", timeout_body: () => fired.push("when-1h@" + network_time()) });
  setInterval(() => {}, 60000).unref();
});
on("x", (r) => {
  if (r.i === 0) schedule("1h", () => fired.push("sched-1h"));
  if (r.i === 1) schedule(30, (a, b) => fired.push("sched-30s " + a + b), "x", "y");
  if (r.i === 2) { const cancel = schedule("1 min", () => fired.push("cancelled")); cancel(); }
});
on("done", () => print(JSON.stringify(fired)));
`,
		"in.json": in.String(),
	})
	start := time.Now()
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the replay waited on the wall clock: %v", took)
	}
	want := `["sched-30s xy","init+5m@1521912020","when-1h@1521912260","sched-1h"]`
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Fatalf("fired %s\nwant  %s\nstderr: %s", got, want, r.Stderr)
	}
}

// Timeout objects as in Node: hasRef, unref/ref, clearTimeout with the
// object, a number as their primitive value.
func TestTimeoutObjects(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `
const t1 = setTimeout(() => print("t1 fired"), 1);
print(typeof t1, t1.hasRef(), t1.unref() === t1, t1.hasRef(), t1.ref().hasRef(), typeof +t1);
const t2 = setTimeout(() => print("t2 fired"), 1);
clearTimeout(t2);
const iv = setInterval(() => {}, 10);
iv.unref();
`})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js")
	want := "object true true false true number\nt1 fired"
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Fatalf("stdout %q, want %q; stderr: %s", got, want, r.Stderr)
	}
}

// Unknown options of on() are TypeErrors naming the known ones.
func TestOnRefusesUnknownOptions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.js": `
try { on("dns", () => {}, { priorty: 5 }); } catch (e) { print(e instanceof TypeError, e.message); }
try { on("dns", () => {}, { order_by: "src" }); } catch (e) { print(e instanceof TypeError, e.message); }
`})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.js")
	for _, want := range []string{`true on("dns"): unknown option "priorty" (known: priority, order_by)`, `true on("dns"): order_by must be a function`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
}
