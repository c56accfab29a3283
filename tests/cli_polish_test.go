package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCheckRejectsWhatRunRejects: every file run refuses at load because
// it does not compile — including errors only goja's compiler raises —
// makes check exit 1 with the same FILE:LINE:COL.
func TestCheckRejectsWhatRunRejects(t *testing.T) {
	cases := map[string]struct{ src, pos, msg string }{
		"redeclared.js":  {"on('x', () => {});\nlet a = 1;\nlet a = 2;\n", "3:5", "Identifier 'a' has already been declared"},
		"constructor.js": {"class A {\n  constructor() {}\n  constructor() {}\n}\n", "3:3", "A class may only have one constructor"},
		"strict.js":      {"'use strict';\nfunction f() { delete x; }\n", "2:23", "Delete of an unqualified identifier in strict mode"},
		"parse.js":       {"on('x', () => {\n  let = ;\n});\n", "2:9", "Unexpected token ;"},
	}
	dir := t.TempDir()
	files := map[string]string{}
	for name, c := range cases {
		files["s/"+name] = c.src
	}
	writeFiles(t, dir, files)
	for name, c := range cases {
		path := filepath.Join("s", name)
		chk := runScriptd(t, dir, 30*time.Second, "check", path)
		want := path + ":" + c.pos + ": " + c.msg
		if chk.Code != 1 || strings.TrimSpace(chk.Stdout) != want {
			t.Errorf("check %s: exit %d, stdout %q; want exit 1, %q", name, chk.Code, chk.Stdout, want)
		}
		run := runScriptd(t, dir, 30*time.Second, "run", path)
		if run.Code != 1 || !strings.Contains(run.Stderr, name+":"+c.pos+": SyntaxError: "+c.msg) {
			t.Errorf("run %s: exit %d, stderr %q", name, run.Code, run.Stderr)
		}
	}
	// A directory: every file, one line each, in order.
	r := runScriptd(t, dir, 30*time.Second, "check", "s")
	if r.Code != 1 || len(outputLines(r.Stdout)) != len(cases) {
		t.Errorf("check s: exit %d\n%s", r.Code, r.Stdout)
	}
}

// TestCheckWarnsOnOptionTypos: unknown keys in literal options of on() and
// Storage calls are warnings (exit 0 when there is nothing else); a
// relative require of a missing module is an error.
func TestCheckWarnsOnOptionTypos(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"w/a.js": `on("dns", async (rec) => {
  await Storage.Async.put(h, {key: rec.query, value: 1, expire: "1h"});
}, {priorty: 5});
`,
		"e/a.js":          "require('./lib/helpr');\non('x', () => {}, {priorty: 1});\n",
		"e/lib/helper.js": "module.exports = {};\n",
	})
	r := runScriptd(t, dir, 30*time.Second, "check", "w")
	want := "w/a.js:2:57: warning: Storage.Async.put: unknown field expire (known: key, value, overwrite, expire_time)\n" +
		"w/a.js:3:5: warning: on: unknown option priorty (known: priority, order_by)\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("check w: exit %d, stdout:\n%s\nwant exit 0:\n%s", r.Code, r.Stdout, want)
	}
	r = runScriptd(t, dir, 30*time.Second, "check", "e")
	if r.Code != 1 || !strings.Contains(r.Stdout, "e/a.js:1:9: cannot find module './lib/helpr'\n") || !strings.Contains(r.Stdout, "e/a.js:2:20: warning: on: unknown option priorty") {
		t.Errorf("check e: exit %d, stdout:\n%s", r.Code, r.Stdout)
	}
}

// TestHelpForEveryCommand: --help, -h and `help COMMAND` print the
// command's usage on stdout and exit 0.
func TestHelpForEveryCommand(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--help"}, "usage: scriptd run [flags] PATH..."},
		{[]string{"run", "-h"}, "--handler-timeout DURATION"},
		{[]string{"run", "scripts/", "--input", "x.json", "--help"}, "--input [NAME=]FILE"},
		{[]string{"check", "--help"}, "usage: scriptd check PATH..."},
		{[]string{"check", "-h"}, "warning:"},
		{[]string{"types", "--help"}, "usage: scriptd types"},
		{[]string{"version", "-h"}, "usage: scriptd version"},
		{[]string{"help", "run"}, "usage: scriptd run [flags] PATH..."},
		{[]string{"help", "check"}, "usage: scriptd check PATH..."},
		{[]string{"help", "version"}, "usage: scriptd version"},
		{[]string{"help"}, "run flags:"},
		{[]string{"--help"}, "commands:"},
		{[]string{"-h"}, "commands:"},
	} {
		r := runScriptd(t, dir, 30*time.Second, c.args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, c.want) || r.Stderr != "" {
			t.Errorf("scriptd %s: exit %d, stderr %q, stdout:\n%s", strings.Join(c.args, " "), r.Code, r.Stderr, r.Stdout)
		}
	}
}

// TestDidYouMean: unknown commands and flags get the nearest known one and
// a one-line usage hint, exit 2.
func TestDidYouMean(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": "print('ran');\n"})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rnu", "s"}, `scriptd: unknown command "rnu"; did you mean run?`},
		{[]string{"chekc", "s"}, `did you mean check?`},
		{[]string{"verison"}, `did you mean version?`},
		{[]string{"s/a.js"}, `did you mean scriptd run s/a.js?`},
		{[]string{"run", "--inptu", "x.json", "s"}, `scriptd run: unknown flag --inptu; did you mean --input?`},
		{[]string{"run", "s", "--handler-timout", "5"}, `unknown flag --handler-timout; did you mean --handler-timeout?`},
		{[]string{"run", "--folow", "s"}, `unknown flag --folow; did you mean --follow?`},
		{[]string{"check", "--inptu", "s"}, `scriptd check: unknown flag --inptu`},
		{[]string{"help", "rnu"}, `did you mean run?`},
	} {
		r := runScriptd(t, dir, 30*time.Second, c.args...)
		lines := outputLines(r.Stderr)
		if r.Code != 2 || r.Stdout != "" || len(lines) != 2 || lines[0] != c.want && !strings.Contains(lines[0], c.want) || !strings.HasPrefix(lines[1], "usage: scriptd ") {
			t.Errorf("scriptd %s: exit %d, stdout %q, stderr:\n%s", strings.Join(c.args, " "), r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestDurationFlagsTakeIntervalForms: --handler-timeout (and
// --drain-timeout) take what storage takes for intervals: seconds, Go
// durations and Zeek's forms.
func TestDurationFlagsTakeIntervalForms(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"slow.js": `
on('init', () => { const t = Date.now(); while (Date.now() - t < 5000) {} });
`})
	for _, form := range []string{"0.3", "300ms", "0.3 secs", "0.005 mins"} {
		start := time.Now()
		r := runScriptd(t, dir, 30*time.Second, "run", "--handler-timeout", form, "--drain-timeout", "2 mins", "slow.js")
		if took := time.Since(start); r.Code != 1 || !strings.Contains(r.Stderr, "ran past the handler time limit of 300ms") || took > 4*time.Second {
			t.Errorf("--handler-timeout %q: exit %d after %v, stderr:\n%s", form, r.Code, took, r.Stderr)
		}
	}
	r := runScriptd(t, dir, 30*time.Second, "run", "--handler-timeout", "5 parsecs", "slow.js")
	if r.Code != 2 || !strings.Contains(r.Stderr, `invalid value "5 parsecs" for flag --handler-timeout`) {
		t.Errorf("bad duration: exit %d, stderr %q", r.Code, r.Stderr)
	}
	r = runScriptd(t, dir, 30*time.Second, "run", "--drain-timeout", "0", "slow.js")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--drain-timeout 0s: must be positive") {
		t.Errorf("zero duration: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

var versionLineRe = regexp.MustCompile(`^scriptd \S+( \(rev [0-9a-f]{7}(-dirty)?(, \S+)?\))? go1\.\S+ ` + runtime.GOOS + "/" + runtime.GOARCH + `\n$`)

// TestVersionFromBuildInfo: version (and --version) print the module
// version, the VCS revision and time, and the Go version. The revision is
// checked on a build in a git repository made for the test.
func TestVersionFromBuildInfo(t *testing.T) {
	dir := t.TempDir()
	for _, arg := range []string{"version", "--version"} {
		r := runScriptd(t, dir, 30*time.Second, arg)
		if r.Code != 0 || !versionLineRe.MatchString(r.Stdout) || !strings.Contains(r.Stdout, runtime.Version()) {
			t.Errorf("scriptd %s: exit %d, %q", arg, r.Code, r.Stdout)
		}
	}
	if testing.Short() {
		t.Skip("builds scriptd in a fresh repository")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	// The working tree as it is (tracked and new files), committed in a
	// repository of its own at a known time.
	src := t.TempDir()
	list, err := exec.Command(git, "-C", repoRoot, "ls-files", "--cached", "--others", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			continue // deleted in the working tree
		}
		p := filepath.Join(src, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-12-01T17:00:00Z", "GIT_COMMITTER_DATE=2026-12-01T17:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gitIn("init", "-q")
	gitIn("add", "-A")
	gitIn("commit", "-q", "-m", "snapshot")
	rev := gitIn("rev-parse", "HEAD")
	build := func() string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "scriptd")
		cmd := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/scriptd")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		return string(out)
	}
	want := fmt.Sprintf("scriptd v0.0.0-20261201170000-%s (rev %s, 2026-12-01T17:00:00Z) %s %s/%s\n", rev[:12], rev[:7], runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if got := build(); got != want {
		t.Errorf("clean build: %q\nwant          %q", got, want)
	}
	if err := os.WriteFile(filepath.Join(src, "local-change.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("scriptd v0.0.0-20261201170000-%s+dirty (rev %s-dirty, 2026-12-01T17:00:00Z) %s %s/%s\n", rev[:12], rev[:7], runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if got := build(); got != want {
		t.Errorf("dirty build: %q\nwant          %q", got, want)
	}
}

// TestConsoleLogAsNode: console.log output of the built binary for the
// values the issue names, against Node's when node is installed, else
// against Node 20's text.
func TestConsoleLogAsNode(t *testing.T) {
	dir := t.TempDir()
	script := `class Foo { constructor() { this.a = 1; } }
const cyc = { name: 'c' }; cyc.self = cyc;
console.log(new Map([[1, 2]]), new Set([1, 2]), new Foo());
console.log(new Uint8Array([1, 2, 3]), [1, , 3], 10n, -0, Symbol('s'));
console.log(cyc, { a: { b: { c: { d: 1 } } } }, [function named() {}, class K {}]);
console.log(Array.from({ length: 101 }, (_, i) => i));
console.log({ s: "it's", n: null, u: undefined, d: new Date(0) });
console.log('%s=%d %j', 'x', 42, { a: [1] });
`
	writeFiles(t, dir, map[string]string{"log.js": script})
	r := runScriptd(t, dir, 30*time.Second, "run", "log.js")
	if r.Code != 0 {
		t.Fatalf("run: exit %d, stderr %s", r.Code, r.Stderr)
	}
	want := `Map(1) { 1 => 2 } Set(2) { 1, 2 } Foo { a: 1 }
Uint8Array(3) [ 1, 2, 3 ] [ 1, <1 empty item>, 3 ] 10n -0 Symbol(s)
<ref *1> { name: 'c', self: [Circular *1] } { a: { b: { c: [Object] } } } [ [Function: named], [class K] ]
[
   0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11,
  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
  24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
  36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
  60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,
  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,
  84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
  96, 97, 98, 99,
  ... 1 more item
]
{ s: "it's", n: null, u: undefined, d: 1970-01-01T00:00:00.000Z }
x=42 {"a":[1]}
`
	if node, err := exec.LookPath("node"); err == nil {
		out, err := exec.Command(node, filepath.Join(dir, "log.js")).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		want = string(out)
	}
	if r.Stdout != want {
		t.Errorf("scriptd:\n%s\nnode:\n%s", r.Stdout, want)
	}
}
