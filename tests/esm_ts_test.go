package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// ES modules and TypeScript as a Node.js user writes them: a .ts module
// importing a .js (CommonJS) one and scriptd/known, an .mjs entry, a
// CommonJS script requiring an ES module, `for await`, process.argv.
func TestESMAndTypeScript(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"s/lib/util.js": "exports.norm = (s) => s.trim().toLowerCase();\n",
		"s/lib/hosts.ts": `import { norm } from "./util.js";
import { Known } from "scriptd/known";
export type Verdict = "new" | "seen";
const seen = new Set<string>();
export function classify(host: string): Verdict {
  const h = norm(host);
  if (seen.has(h)) return "seen";
  seen.add(h);
  return "new";
}
export const knownIsClass: boolean = typeof Known === "function";
`,
		"s/10-main.mjs": `import { classify, knownIsClass } from "./lib/hosts.ts";
on("host", (r) => print(r.name, classify(r.name)));
on("done", async () => {
  async function* countdown(n) { while (n > 0) yield n--; }
  const got = [];
  for await (const n of countdown(3)) got.push(n);
  print("done", knownIsClass, got.join(""), JSON.stringify(process.argv.slice(2)));
});
`,
		"s/20-cjs.js": `const hosts = require("./lib/hosts");
on("done", () => print("cjs sees", typeof hosts.classify));
`,
		"in.json": `{"_path":"host","name":"A.example"}
{"_path":"host","name":" a.example "}
{"_path":"host","name":"b.example"}
`,
	})
	r := runScriptd(t, dir, 30*time.Second, "run", "--input", "in.json", "s", "--", "one", "--two", "3")
	want := []string{
		"A.example new", " a.example  seen", "b.example new",
		"cjs sees function", `done true 321 ["one","--two","3"]`, // the async done handler finishes last
	}
	if r.Code != 0 || strings.Join(outputLines(r.Stdout), "\n") != strings.Join(want, "\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.Code, r.Stdout, strings.Join(want, "\n"), r.Stderr)
	}
}

// process.argv: [the binary, the first PATH (absolute), ARG...]; a "--"
// ends the flags and PATHs, so later words are never scripts or flags.
func TestProcessArgv(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.ts": "print(JSON.stringify(process.argv));\n"})
	r := runScriptd(t, dir, 20*time.Second, "run", "a.ts", "--", "x", "--watch", "a.ts")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	want := `["` + scriptdBin + `","` + filepath.Join(dir, "a.ts") + `","x","--watch","a.ts"]`
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Fatalf("argv %s, want %s", got, want)
	}
	r = runScriptd(t, dir, 20*time.Second, "run", "a.ts")
	if got := strings.TrimSpace(r.Stdout); !strings.HasSuffix(got, `a.ts"]`) {
		t.Fatalf("argv without ARGs: %s", got)
	}
}

// Errors in TypeScript and ES module files are reported at the original
// file:line:col: handler errors, load errors, and check's.
func TestTypeScriptErrorPositions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"h/a.ts": `interface Rec { query?: string }

on("rec", (r: Rec): void => {
  const q: string = r.query!;
  print(q.toUpperCase());
});
`,
		"h/in.json": `{"_path":"rec"}` + "\n",
		"load/a.mts": `import { f } from "./lib/m.ts";
f();
`,
		"load/lib/m.ts": `export function f(): void {
  const o: { x?: { y: number } } = {};
  console.log(o.x!.y);
}
`,
		"tla/a.ts":      "const r = await Promise.resolve(1);\n",
		"syntax/a.ts":   "type T = { a: number };\nconst t: T = { a: 1 ;\n",
		"typeonly/a.ts": "const n: number = \"a string\";\nprint(n);\n",
	})
	r := runScriptd(t, dir, 20*time.Second, "run", "--input", "h/in.json", "h/a.ts")
	if want := filepath.Join(dir, "h", "a.ts") + ":5:"; !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "TypeError") {
		t.Fatalf("handler error not at %s:\n%s", want, r.Stderr)
	}

	r = runScriptd(t, dir, 20*time.Second, "run", "load/a.mts")
	// At the y of o.x!.y, where Node reports it.
	if want := filepath.Join(dir, "load", "lib", "m.ts") + ":3:20"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Fatalf("load error (exit %d) not at %s:\n%s", r.Code, want, r.Stderr)
	}
	if want := filepath.Join(dir, "load", "a.mts") + ":2:"; !strings.Contains(r.Stderr, want) {
		t.Fatalf("load error's stack lacks the importer %s:\n%s", want, r.Stderr)
	}

	r = runScriptd(t, dir, 20*time.Second, "run", "tla/a.ts")
	if r.Code == 0 || !strings.Contains(r.Stderr, "a.ts:1:11") || !strings.Contains(r.Stderr, "top-level await is not supported") || !strings.Contains(r.Stderr, `on("init", async () => {`) {
		t.Fatalf("top-level await (exit %d):\n%s", r.Code, r.Stderr)
	}

	// check: a syntax error is reported at file:line:col, a type error is
	// not (types are stripped, never checked).
	r = runScriptd(t, dir, 20*time.Second, "check", "syntax/a.ts", "typeonly/a.ts")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != `syntax/a.ts:2:21: Expected "}" but found ";"` {
		t.Fatalf("check (exit %d):\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	r = runScriptd(t, dir, 20*time.Second, "check", "typeonly/a.ts")
	if r.Code != 0 || r.Stdout != "" {
		t.Fatalf("check of a type-only error (exit %d): %s %s", r.Code, r.Stdout, r.Stderr)
	}
	r = runScriptd(t, dir, 20*time.Second, "run", "typeonly/a.ts")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "a string" {
		t.Fatalf("run of a type-only error (exit %d): %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// --watch reloads on a change to a .ts module imported by an .mjs entry,
// and a TypeScript syntax error there keeps the running version, reported
// at its position.
func TestWatchReloadsTypeScript(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"s/main.mjs":   "import { v } from './lib/v';\non('init', () => print('version', v));\n",
		"s/lib/v.ts":   "export const v: number = 1;\n",
		"s/lib/old.js": "",
	})
	p := startScriptd(t, dir, "run", "--watch", "s")
	testutil.Eventually(t, 20*time.Second, "version 1", func() bool { return strings.Contains(p.Stdout.String(), "version 1") })
	if err := os.WriteFile(filepath.Join(dir, "s/lib/v.ts"), []byte("export const v: number = ;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "s", "lib", "v.ts") + ":1:26: SyntaxError"
	testutil.Eventually(t, 20*time.Second, "the reload to fail at "+want, func() bool { return strings.Contains(p.Stderr.String(), want) })
	if err := os.WriteFile(filepath.Join(dir, "s/lib/v.ts"), []byte("export const v: number = 2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "version 2", func() bool { return strings.Contains(p.Stdout.String(), "version 2") })
	_ = p.cmd.Process.Signal(os.Interrupt)
	p.waitExit(t, 20*time.Second)
}
