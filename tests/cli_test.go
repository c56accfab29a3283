package tests

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

func TestCheckReportsSyntaxErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"s/10-ok.js":   "on('x', () => {});\n",
		"s/20-bad.js":  "on('x', () => {\n  let = ;\n});\n",
		"s/lib/mod.js": "module.exports = {;\n",
		"ok/only.js":   "print(1);\n",
	})
	r := runScriptd(t, dir, 30*time.Second, "check", "s")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1; stdout %q", r.Code, r.Stdout)
	}
	lines := outputLines(r.Stdout)
	if len(lines) != 2 || !regexp.MustCompile(`20-bad\.js:2:\d+: `).MatchString(lines[0]) || !regexp.MustCompile(`lib/mod\.js:\d+:\d+: `).MatchString(lines[1]) {
		t.Fatalf("check output:\n%s", r.Stdout)
	}
	if r := runScriptd(t, dir, 30*time.Second, "check", "ok"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("clean check: exit %d, %q", r.Code, r.Stdout)
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"good/a.js": "on('done', () => print('bye'));\n",
		"bad/a.js":  "\nthrow new Error('load-fails');\n",
	})
	if r := runScriptd(t, dir, 30*time.Second, "run", "good"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "bye" {
		t.Fatalf("good run: %+v", r)
	}
	r := runScriptd(t, dir, 30*time.Second, "run", "bad")
	if r.Code == 0 || !strings.Contains(r.Stderr, "a.js:2") || !strings.Contains(r.Stderr, "load-fails") {
		t.Fatalf("failing load: %+v", r)
	}
	r = runScriptd(t, dir, 30*time.Second, "run", "good", "--input", "missing.json")
	if r.Code == 0 || !strings.Contains(r.Stderr, "missing.json") {
		t.Fatalf("missing input: %+v", r)
	}
	if r := runScriptd(t, dir, 30*time.Second, "version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "scriptd ") {
		t.Fatalf("version: %+v", r)
	}
}

func TestSIGTERMRunsDone(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `
		on("init", () => { print("started"); setInterval(() => {}, 10); });
		on("done", () => print("done-ran"));
	`})
	p := startScriptd(t, dir, "run", "s")
	testutil.Eventually(t, 10*time.Second, "start", func() bool { return strings.Contains(p.Stdout.String(), "started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, p.Stderr.String())
	}
	if !strings.Contains(p.Stdout.String(), "done-ran") {
		t.Fatalf("done did not run: %q", p.Stdout.String())
	}
}
