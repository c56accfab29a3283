package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/input"
)

// replace writes content to path through a rename, as editors save.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerTimeoutRestartsOnFreshRuntime(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.json")
	var b strings.Builder
	for k := 1; k <= 6; k++ {
		fmt.Fprintf(&b, `{"_path":"rec","seq":%d}`+"\n", k)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeScripts(t, map[string]string{"a.js": `
		let gen = Math.random();
		on("init", () => print("init"));
		on("rec", (r) => {
			if (r.seq === 3) { let i = 0; while (true) { i++; } }
			print("handled " + r.seq);
		});
		on("done", () => print("done"));
	`})
	r := runEngine(t, Config{Paths: []string{dir}, Inputs: []input.Spec{{Path: in}}, HandlerTimeout: 100 * time.Millisecond})
	want := "init\nhandled 1\nhandled 2\ninit\nhandled 4\nhandled 5\nhandled 6\ndone\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.stdout, want, r.stderr)
	}
	for _, s := range []string{`error in handler for "rec" (`, "a.js:4)", "handler time limit of 100ms", "a.js:5:", "fresh runtime"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// A version rebuilt after a runaway handler whose init then never returns
// breaks every rebuild: the rebuilds back off instead of spinning, and
// shutdown still ends the run. (Go state counts the inits across the fresh
// runtimes: only the first one completes.)
func TestRecoveryBacksOff(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		on("init", () => { print("init"); if (initCount() > 1) { let i = 0; while (true) { i++; } } });
		on("go", () => { while (true) {} });
	`})
	var inits atomic.Int32
	counter := func(h ext.Host) (func(), error) {
		return nil, ext.SetFunc(h, "initCount", func(goja.FunctionCall) goja.Value { return h.Runtime().ToValue(inits.Add(1)) })
	}
	var out, errb testutil.Buffer
	e, err := New(Config{Paths: []string{dir}, Stdout: &out, Stderr: &errb, KeepAlive: true, HandlerTimeout: 250 * time.Millisecond,
		Extensions: []ext.Extension{counter}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Emit("go"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	testutil.Eventually(t, 20*time.Second, "a rebuilt init and a back-off", func() bool {
		return strings.Count(out.String(), "init\n") >= 2 && strings.Contains(errb.String(), "rebuilding the scripts' runtime in")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "init\n"); n < 2 || n > 7 {
		t.Errorf("init ran %d times", n)
	}
	if !strings.Contains(errb.String(), "done not dispatched") {
		t.Errorf("stderr: %s", errb.String())
	}
}

// An init that never returns at start-up fails the run at once: there is
// no version to fall back to and nothing would handle the events.
func TestStartupInitNeverReturns(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		on("init", () => { print("init"); while (true) {} });
	`})
	var out, errb testutil.Buffer
	e, err := New(Config{Paths: []string{dir}, Stdout: &out, Stderr: &errb, KeepAlive: true, HandlerTimeout: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "init did not complete") {
		t.Fatalf("Run returned %v; stderr: %s", err, errb.String())
	}
	if n := strings.Count(out.String(), "init\n"); n != 1 {
		t.Errorf("init ran %d times, want once", n)
	}
}

// TestWatchReloadUnderLoad swaps versions while events are emitted from
// another goroutine, under the race detector: each event is handled once,
// by one version, in order; a broken version leaves the running one in
// service and tells it; done runs once, on the last version.
func TestWatchReloadUnderLoad(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": script(1)})
	var out, errb testutil.Buffer
	var reloads, failures, opened, closed atomic.Int32
	count := func(h ext.Host) (func(), error) {
		opened.Add(1)
		return func() { closed.Add(1) }, nil
	}
	e, err := New(Config{
		Paths: []string{dir}, Stdout: &out, Stderr: &errb, LogDir: t.TempDir(),
		Watch: true, KeepAlive: true, WatchDebounce: 10 * time.Millisecond,
		Observer:   reloadCounter{ok: &reloads, failed: &failures},
		Extensions: []ext.Extension{count},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	stopEmit := make(chan struct{})
	emitted := make(chan int, 1)
	go func() {
		n := 0
		defer func() { emitted <- n }()
		for {
			select {
			case <-stopEmit:
				return
			default:
			}
			n++
			if err := e.Emit("ev", n); err != nil {
				t.Error(err)
				return
			}
			// Part of the scenario, not synchronisation: a steady stream
			// across the reloads, not a flood of the inbox.
			time.Sleep(200 * time.Microsecond)
		}
	}()
	handledBy := func(v int) bool { return strings.Contains(out.String(), fmt.Sprintf("v%d ev ", v)) }
	testutil.Eventually(t, 20*time.Second, "v1", func() bool { return handledBy(1) })
	for v := 2; v <= 4; v++ {
		replace(t, filepath.Join(dir, "a.js"), script(v))
		testutil.Eventually(t, 20*time.Second, fmt.Sprintf("v%d", v), func() bool { return handledBy(v) })
	}
	replace(t, filepath.Join(dir, "a.js"), "on('ev', () => {});\nthrow new Error('broken at top');\n")
	testutil.Eventually(t, 20*time.Second, "reload_failed", func() bool { return strings.Contains(out.String(), "v4 reload_failed a.js:2:7 Error: broken at top") })
	replace(t, filepath.Join(dir, "a.js"), script(5))
	testutil.Eventually(t, 20*time.Second, "v5", func() bool { return handledBy(5) })
	close(stopEmit)
	n := <-emitted
	testutil.Eventually(t, 20*time.Second, "the last event", func() bool { return strings.Contains(out.String(), fmt.Sprintf(" ev %d\n", n)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	next, lastV, initV := 1, 1, 0
	for _, l := range lines(out.String()) {
		if m := regexp.MustCompile(`^v(\d+) (init|tick)$`).FindStringSubmatch(l); m != nil {
			v, _ := strconv.Atoi(m[1])
			if m[2] == "init" {
				initV = v
			} else if v != initV {
				t.Fatalf("v%d's timer fired after v%d started", v, initV)
			}
			continue
		}
		m := regexp.MustCompile(`^v(\d+) ev (\d+)$`).FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		if k != next || v < lastV {
			t.Fatalf("event %d by v%d after event %d by v%d", k, v, next-1, lastV)
		}
		next, lastV = k+1, v
	}
	if next != n+1 {
		t.Fatalf("handled %d of %d events", next-1, n)
	}
	if !strings.HasSuffix(out.String(), "v5 done\n") || strings.Count(out.String(), "done\n") != 1 {
		t.Errorf("done: %q", out.String()[max(0, len(out.String())-200):])
	}
	if reloads.Load() != 4 || failures.Load() != 1 {
		t.Errorf("observer: %d reloads, %d failures", reloads.Load(), failures.Load())
	}
	// Five versions and the one that failed to load: each closed once.
	if opened.Load() != 6 || closed.Load() != 6 {
		t.Errorf("extension opened %d times, closed %d times", opened.Load(), closed.Load())
	}
}

// A retiring version's in-flight operations get ReloadDrainTimeout to
// settle; past it they are abandoned, and said so.
func TestReloadDrainIsBounded(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `on("init", () => { hang(); print("init"); });`})
	var out, errb testutil.Buffer
	hang := func(h ext.Host) (func(), error) {
		return nil, ext.SetFunc(h, "hang", func(goja.FunctionCall) goja.Value {
			_ = h.RegisterCallback() // an operation that never completes
			return goja.Undefined()
		})
	}
	e, err := New(Config{
		Paths: []string{dir}, Stdout: &out, Stderr: &errb, KeepAlive: true, Watch: true,
		WatchDebounce: 10 * time.Millisecond, ReloadDrainTimeout: 50 * time.Millisecond, ShutdownGrace: 50 * time.Millisecond,
		Extensions: []ext.Extension{hang},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	testutil.Eventually(t, 20*time.Second, "init", func() bool { return strings.Contains(out.String(), "init") })
	replace(t, filepath.Join(dir, "a.js"), `on("init", () => print("v2"));`)
	testutil.Eventually(t, 20*time.Second, "v2", func() bool { return strings.Contains(out.String(), "v2") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "version 1 of the scripts did not settle within the drain timeout (50ms); abandoned:") ||
		!strings.Contains(errb.String(), `handler for "init" (`) || !strings.Contains(errb.String(), "a.js:1): 1 async operation(s), 0 timer(s)") {
		t.Errorf("stderr: %s", errb.String())
	}
}

func script(v int) string {
	return fmt.Sprintf(`const V = %d;
on("init", () => { print("v" + V + " init"); setInterval(() => print("v" + V + " tick"), 1); });
on("ev", (k) => print("v" + V + " ev " + k));
on("scriptd.reload_failed", (e) => print("v" + V + " reload_failed " + e.file.split("/").pop() + ":" + e.line + ":" + e.col + " " + e.message));
on("done", () => print("v" + V + " done"));
`, v)
}

type reloadCounter struct{ ok, failed *atomic.Int32 }

func (reloadCounter) EventDispatched(string, int, time.Duration) {}
func (reloadCounter) HandlerError(string)                        {}
func (c reloadCounter) Reload(ok bool) {
	if ok {
		c.ok.Add(1)
	} else {
		c.failed.Add(1)
	}
}

func TestLoadErrorLocations(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		file  string
		line  int
		col   int
		msg   string
	}{
		"syntax":           {map[string]string{"a.js": "let ok = 1;\nlet x = ;\n"}, "a.js", 2, 9, "SyntaxError: Unexpected token ;"},
		"syntax-first-row": {map[string]string{"a.js": "  let x = ;\n"}, "a.js", 1, 11, "SyntaxError: Unexpected token ;"},
		"redeclared":       {map[string]string{"a.js": "let a = 1; let a = 2;\n"}, "a.js", 1, 16, "SyntaxError: Identifier 'a' has already been declared"},
		"throw":            {map[string]string{"a.js": "\n\n  throw new Error('top');\n"}, "a.js", 3, 9, "Error: top"},
		"throw-first-row":  {map[string]string{"a.js": "throw new Error('top');\n"}, "a.js", 1, 7, "Error: top"},
		"module-syntax":    {map[string]string{"a.js": "require('./lib/m');\n", "lib/m.js": "exports.x = 1;\n}\n"}, "lib/m.js", 2, 1, "SyntaxError: Unexpected token }"},
		"module-throw":     {map[string]string{"a.js": "require('./lib/m');\n", "lib/m.js": "\nnull.x;\n"}, "lib/m.js", 2, 6, "TypeError"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeScripts(t, tc.files)
			_, err := New(Config{Paths: []string{dir}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v", err)
			}
			if le.File != filepath.Join(dir, tc.file) || le.Line != tc.line || le.Col != tc.col || !strings.HasPrefix(le.Message, tc.msg) {
				t.Fatalf("got %s:%d:%d %q, want %s:%d:%d %q", le.File, le.Line, le.Col, le.Message, tc.file, tc.line, tc.col, tc.msg)
			}
		})
	}
}
