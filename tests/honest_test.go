package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A script that fails on every record: the error is printed once in full
// (naming the event's handler and the record's FILE:LINE), repeats are
// counted rather than printed, the exit summary sums them up, and the run
// does not exit 0.
func TestFailingOnEveryRecordIsHonest(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&in, `{"_path":"dns","i":%d}`+"\n", i)
	}
	writeFiles(t, dir, map[string]string{
		"a.js": `let h; // never opened: every put fails
on("dns", async (r) => { await Storage.Async.put(h, { key: "k", value: 1 }); });
`,
		"in.json": in.String(),
	})
	r := runScriptd(t, dir, 60*time.Second, "run", "a.js", "--input", "in.json")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3; stderr:\n%s", r.Code, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "TypeError: Storage.Async.put: the first argument must be a backend handle"); n > 6 {
		t.Errorf("the same error was printed %d times:\n%.2000s", n, r.Stderr)
	}
	for _, want := range []string{
		`a.js:2) on in.json:1: TypeError`,
		"the same error again (1000 times so far)",
		"scriptd: 2000 script error(s):",
		`2000× handler for "dns" (`, `a.js:2): TypeError`,
		"the scripts failed on every input record",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%.3000s", want, r.Stderr)
		}
	}
}

// Handlers registered for an event the inputs never produce are named at
// exit with the likeliest intended name; --strict exits 3 on any error,
// while a plain run with some errors exits 0.
func TestTyposAndStrict(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.js": `on("dsn", () => {});
on("dns", (r) => { if (r.i === 1) throw new Error("one bad record"); });
`,
		"in.json": `{"_path":"dns","i":0}` + "\n" + `{"_path":"dns","i":1}` + "\n" + `{"_path":"conn","i":2}` + "\n",
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json")
	if r.Code != 0 {
		t.Errorf("exit %d, want 0 (one error among the records)", r.Code)
	}
	if !strings.Contains(r.Stderr, `handlers for "dsn" never ran; the inputs produced conn (1), dns (2) — did you mean "dns"?`) {
		t.Errorf("no typo hint:\n%s", r.Stderr)
	}
	r = runScriptd(t, dir, 30*time.Second, "run", "a.js", "--input", "in.json", "--strict")
	if r.Code != 3 || !strings.Contains(r.Stderr, "--strict") {
		t.Errorf("--strict: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}
