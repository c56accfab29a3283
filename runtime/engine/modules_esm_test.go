package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/ext"
)

func TestESMAndTypeScriptScripts(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		// A .ts module importing a .js one (CommonJS) and scriptd/known.
		"lib/names.js": "exports.prefix = 'host-';\nmodule.exports.upper = (s) => s.toUpperCase();\n",
		"lib/hosts.ts": `import { prefix, upper } from "./names.js";
import { Known } from "scriptd/known";
export interface Host { name: string; n: number }
export const known: string = typeof Known;
export function label(h: Host): string { return upper(prefix + h.name) + "#" + h.n; }
export default class Counter { private n = 0; add(): number { return ++this.n; } }
`,
		// ES module entry, importing TypeScript without an extension.
		"10-main.mjs": `import Counter, { label, known } from "./lib/hosts";
const c = new Counter();
on("done", () => print(label({ name: "a", n: c.add() }), known));
`,
		// CommonJS requiring an ES module written in TypeScript.
		"20-cjs.js": `const m = require("./lib/hosts.ts");
on("done", () => print("cjs", m.label({ name: "b", n: 2 }), typeof m.default));
`,
		// A TypeScript entry with modern syntax goja lacks.
		"30-modern.ts": `async function* pages(): AsyncGenerator<number> { yield 1; yield 2; }
on("init", async () => {
  const seen: number[] = [];
  for await (const p of pages()) seen.push(p);
  let x: number | undefined;
  x ??= seen.length;
  print("modern", seen.join(","), x, ({ a: { b: 1 } } as any)?.a?.b);
});
`,
		// A .js file with ES module syntax importing TypeScript by its .js name.
		"50-esm.js":    "import { label } from './lib/hosts.js';\non('done', () => print('js-esm', label({ name: 'c', n: 3 })));\n",
		"types.d.ts":   "declare const nothing: number;\n", // not a script
		"notes.txt":    "not a script",
		"40-plain.cjs": "print('plain cjs');\n",
	})
	r := runEngine(t, Config{Paths: []string{dir}})
	want := []string{"plain cjs", "modern 1,2 2 1", "HOST-A#1 function", "cjs HOST-B#2 function", "js-esm HOST-C#3"}
	if got := lines(r.stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.stdout, strings.Join(want, "\n"), r.stderr)
	}
}

func TestScriptFilesKinds(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"b.ts": "", "a.mjs": "", "c.js": "", "d.cjs": "", "e.mts": "", "f.cts": "",
		"g.d.ts": "", ".h.ts": "", "i.json": "{}", "sub/j.ts": "",
	})
	files, err := ScriptFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if got, want := strings.Join(names, " "), "a.mjs b.ts c.js d.cjs e.mts f.cts"; got != want {
		t.Fatalf("ScriptFiles = %s, want %s", got, want)
	}
}

func TestTypeScriptPositions(t *testing.T) {
	// A handler error in a .ts file names the .ts line and column.
	dir := writeScripts(t, map[string]string{"a.ts": `type Rec = { query: string };

on("init", (): void => {
  const r: Rec | null = null as Rec | null;
  // the types above are gone at run time; the lines are not
  print((r as any).query);
});
`})
	r := runEngine(t, Config{Paths: []string{dir}})
	if want := filepath.Join(dir, "a.ts") + ":6:20"; !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr lacks %s:\n%s", want, r.stderr)
	}

	for name, tc := range map[string]struct {
		files map[string]string
		file  string
		line  int
		col   int
		msg   string
	}{
		"ts-syntax":          {map[string]string{"a.ts": "let ok: number = 1;\nlet x: number = ;\n"}, "a.ts", 2, 17, `SyntaxError: Unexpected ";"`},
		"ts-throw":           {map[string]string{"a.ts": "const n: number = 1;\n\n  throw new Error('top');\n"}, "a.ts", 3, 9, "Error: top"},
		"ts-first-row":       {map[string]string{"a.ts": "throw new Error('top');\n"}, "a.ts", 1, 7, "Error: top"},
		"esm-module-syn":     {map[string]string{"a.mjs": "import './lib/m.ts';\n", "lib/m.ts": "export const x: number = 1;\n}\n"}, "lib/m.ts", 2, 1, `SyntaxError: Unexpected "}"`},
		"esm-module-thr":     {map[string]string{"a.mjs": "import { x } from './lib/m';\n", "lib/m.ts": "export const x = 1;\n(null as any).y;\n"}, "lib/m.ts", 2, 15, "TypeError"},
		"top-level-await":    {map[string]string{"a.mjs": "const v = await Promise.resolve(1);\n"}, "a.mjs", 1, 11, `SyntaxError: top-level await is not supported: scripts load as CommonJS modules (hint: move the code into an async function`},
		"top-level-await-js": {map[string]string{"a.js": "const x = require('./x');\n\nawait x.ready();\n", "x.js": ""}, "a.js", 3, 1, `SyntaxError: top-level await is not supported`},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeScripts(t, tc.files)
			_, err := New(Config{Paths: []string{filepath.Join(dir, "a"+filepath.Ext(firstEntry(tc.files)))}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v", err)
			}
			if le.File != filepath.Join(dir, tc.file) || le.Line != tc.line || le.Col != tc.col || !strings.HasPrefix(le.Message, tc.msg) {
				t.Fatalf("got %s:%d:%d %q, want %s:%d:%d %q\n%s", le.File, le.Line, le.Col, le.Message, tc.file, tc.line, tc.col, tc.msg, le.Stack)
			}
		})
	}
}

// firstEntry is the name of the entry file "a.*" among files.
func firstEntry(files map[string]string) string {
	for name := range files {
		if strings.HasPrefix(name, "a.") {
			return name
		}
	}
	return ""
}

func TestCheckTypeScript(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"types-only.ts": "let n: number = 'not a number';\nconst f = (s: string): number => s;\n",
		"syntax.ts":     "interface A { x: number }\n\nlet a: A = { x: 1 ;\n",
		"esm.mjs":       "import x from './lib/x.js';\nexport default x;\n",
		"lib/x.js":      "module.exports = 1;\n",
		"lib/bad.mts":   "export const = 1;\n",
		"decl.d.ts":     "this is not checked",
	})
	errs, err := Check([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s:%d:%d", filepath.Base(e.File), e.Line, e.Col))
	}
	want := []string{"bad.mts:1:14", "syntax.ts:3:19"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("check = %v, want %v (%v)", got, want, errs)
	}
}

func TestProcessArgv(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.ts": "on('done', () => print(process.argv.length, process.argv[1], ...process.argv.slice(2)));\n"})
	r := runEngine(t, Config{Paths: []string{dir}, Args: []string{"x", "--flag", "y z"}})
	if want := fmt.Sprintf("5 %s x --flag y z", dir); strings.TrimSpace(r.stdout) != want {
		t.Fatalf("stdout %q, want %q; stderr %s", r.stdout, want, r.stderr)
	}
}

// mathModule is an embedder's Go-native module: one instance per version.
func mathModule(instances *atomic.Int32) ext.ModuleFactory {
	return func(h ext.Host) (any, error) {
		n := instances.Add(1)
		return map[string]any{
			"instance": n,
			"add":      func(a, b int) int { return a + b },
			"div": func(a, b int) (int, error) {
				if b == 0 {
					return 0, errors.New("division by zero")
				}
				return a / b, nil
			},
			"explode": func(s string) string { panic("boom: " + s) },
			"raw": func(call goja.FunctionCall) goja.Value {
				var m map[string]int
				m["x"] = 1 // a nil map write: a runtime panic
				return nil
			},
			"nested": map[string]any{"twice": func(n int) int { return 2 * n }},
			// later: an async function under the RegisterCallback contract.
			"later": func(call goja.FunctionCall) goja.Value {
				vm := h.Runtime()
				v := call.Argument(0).Export()
				promise, resolve, _ := vm.NewPromise()
				complete := h.RegisterCallback()
				go func() {
					time.Sleep(20 * time.Millisecond)
					complete(func() { _ = resolve(v) })
				}()
				return vm.ToValue(promise)
			},
		}, nil
	}
}

func TestGoModuleFromESMAndCommonJS(t *testing.T) {
	var instances atomic.Int32
	dir := writeScripts(t, map[string]string{
		"a.mjs": `import { add, nested, later, instance } from "acme/math";
import * as all from "acme/math";
import whole from "acme/math";
on("init", async () => {
  print("esm", add(2, 3), nested.twice(4), await later("x"), instance, typeof all.div, whole === all.default || whole.add === add);
});
`,
		"b.ts": `const m = require("acme/math");
const { div } = require("acme/math");
on("init", () => {
  let msg = "";
  try { div(1, 0); } catch (e: any) { msg = e.message; }
  print("cjs", m.add(1, 1), div(9, 3), msg, m === require("acme/math"));
});
`,
	})
	r := runEngine(t, Config{Paths: []string{dir}, Modules: map[string]ext.ModuleFactory{"acme/math": mathModule(&instances)}})
	want := "cjs 2 3 division by zero true\nesm 5 8 x 1 function true" // esm awaits later()
	if got := strings.TrimSpace(r.stdout); got != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", got, want, r.stderr)
	}
	if n := instances.Load(); n != 1 {
		t.Fatalf("%d module instances for one version, want 1", n)
	}
}

func TestGoModuleNames(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": ""})
	for _, name := range []string{"./x", "/abs", "", "scriptd/known"} {
		_, err := New(Config{Paths: []string{dir}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{},
			Modules: map[string]ext.ModuleFactory{name: func(ext.Host) (any, error) { return nil, nil }}})
		if err == nil {
			t.Errorf("module name %q accepted", name)
		}
	}
	// A factory that fails makes the require throw, catchably.
	dir = writeScripts(t, map[string]string{"a.js": `
let msg;
try { require("bad"); } catch (e) { msg = e.message; }
on("done", () => print(msg));
`})
	r := runEngine(t, Config{Paths: []string{dir}, Modules: map[string]ext.ModuleFactory{
		"bad": func(ext.Host) (any, error) { return nil, errors.New("no licence") },
	}})
	if got := strings.TrimSpace(r.stdout); got != "module bad: no licence" {
		t.Fatalf("stdout %q stderr %s", got, r.stderr)
	}
}

// A Go function that panics — reached through a module, ext.SetValue with
// a typed function, or ext.SetFunc — throws a JS Error the script catches;
// other events' pending work goes on.
func TestGoPanicsAreCatchable(t *testing.T) {
	var instances atomic.Int32
	dir := writeScripts(t, map[string]string{"a.ts": `import { explode, raw, later } from "acme/math";
const caught: string[] = [];
function attempt(name: string, f: () => unknown) {
  try { f(); caught.push(name + ": no error"); } catch (e: any) { caught.push(name + ": " + (e instanceof Error) + " " + e.message); }
}
on("slow", async (tag: string) => {
  // pending across the panics below
  print("slow", tag, await later(tag));
});
on("bang", () => {
  attempt("module typed", () => explode("a"));
  attempt("module raw", () => raw());
  attempt("setvalue", () => (globalThis as any).typedPanic(3));
  attempt("setvalue nested", () => (globalThis as any).tools.deep.boom());
  attempt("setfunc", () => (globalThis as any).rawPanic());
  attempt("thrown on purpose", () => (globalThis as any).thrower());
});
on("init", () => { emit("slow", "s1"); emit("bang"); emit("slow", "s2"); });
on("done", () => { for (const c of caught) print(c); });
`})
	install := func(h ext.Host) (func(), error) {
		if err := ext.SetValue(h, "typedPanic", func(n int) int { panic(fmt.Sprintf("typed %d", n)) }); err != nil {
			return nil, err
		}
		if err := ext.SetValue(h, "tools", map[string]any{"deep": map[string]any{"boom": func() { panic(errors.New("deep")) }}}); err != nil {
			return nil, err
		}
		if err := ext.SetFunc(h, "rawPanic", func(goja.FunctionCall) goja.Value { panic("raw") }); err != nil {
			return nil, err
		}
		return nil, ext.SetFunc(h, "thrower", func(goja.FunctionCall) goja.Value {
			ext.ThrowTypeError(h.Runtime(), "on purpose")
			return nil
		})
	}
	var out, errb testutil.Buffer
	e, err := New(Config{Paths: []string{dir}, Stdout: &out, Stderr: &errb, LogDir: t.TempDir(),
		Extensions: []ext.Extension{install},
		Modules:    map[string]ext.ModuleFactory{"acme/math": mathModule(&instances)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run: %v\n%s", err, errb.String())
	}
	got := lines(out.String())
	if len(got) >= 2 {
		sort.Strings(got[:2]) // the two slow completions race each other
	}
	want := []string{
		"slow s1 s1", "slow s2 s2",
		"module typed: true internal error in acme/math.explode: boom: a",
		"module raw: true internal error in acme/math.raw: assignment to entry in nil map",
		"setvalue: true internal error in typedPanic: typed 3",
		"setvalue nested: true internal error in tools.deep.boom: deep",
		"setfunc: true internal error in rawPanic: raw",
		"thrown on purpose: true on purpose",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", out.String(), strings.Join(want, "\n"), errb.String())
	}
	if strings.Contains(errb.String(), "panic in task") {
		t.Fatalf("a panic escaped to the loop:\n%s", errb.String())
	}
}

func TestResolveScriptPath(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"a.ts": "", "b.js": "", "b.ts": "", "c.mts": "", "d.cts": "", "e.mjs": "",
		"f/index.ts": "", "g.ts": "", "g/index.js": "", "h.json": "{}",
	})
	for name, want := range map[string]string{
		"./a":      "a.ts",
		"./a.js":   "a.ts", // TypeScript's way of naming a.ts
		"./a.ts":   "a.ts",
		"./b":      "b", // goja_nodejs finds b.js itself, first
		"./b.js":   "b.js",
		"./c.mjs":  "c.mts",
		"./c":      "c.mts",
		"./d.cjs":  "d.cts",
		"./e":      "e.mjs",
		"./f":      "f", // a directory: goja_nodejs looks for index.js, which maps to index.ts
		"index.js": "index.js",
		"./g":      "g.ts", // a file before a directory, as Node does with g.js
		"./h":      "h",
		"./none":   "none",
		"acme/x":   "acme/x",
	} {
		if got := resolveScriptPath(dir, name); got != filepath.Join(dir, want) {
			t.Errorf("resolveScriptPath(%q) = %s, want %s", name, got, filepath.Join(dir, want))
		}
	}
	if got := resolveScriptPath(filepath.Join(dir, "f"), "index.js"); got != filepath.Join(dir, "f", "index.ts") {
		t.Errorf("index.js in f = %s, want f/index.ts", got)
	}
}

// Top-level files are read and transformed ahead of the load, under the
// path the loader is asked for, symlinks resolved; nothing prepared is
// left over.
func TestPrepareServesTheLoad(t *testing.T) {
	real := writeScripts(t, map[string]string{"a.ts": "export const a: number = 1;\n", "b.mjs": "export default 2;\n", "c.js": "exports.c = 3;\n"})
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	e, err := New(Config{Paths: []string{link}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	src := e.cur.Load().src
	if len(src.prepared) != 0 {
		t.Errorf("prepared but not loaded: %v", src.prepared)
	}
	for _, f := range []string{"a.ts", "b.mjs", "c.js"} {
		ent, ok := src.read[filepath.Join(real, f)]
		if !ok || ent.err != nil {
			t.Errorf("%s not loaded from its real path: %v %v", f, ok, ent.err)
		}
		if want := f != "c.js"; ent.transformed != want {
			t.Errorf("%s transformed = %v, want %v", f, ent.transformed, want)
		}
	}
	e.closeVersion(e.cur.Load())
}
