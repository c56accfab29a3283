package jstransform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"
)

func TestIsScript(t *testing.T) {
	for name, want := range map[string]bool{
		"a.js": true, "a.mjs": true, "a.cjs": true, "a.ts": true, "a.mts": true, "a.cts": true,
		"a.d.ts": false, "x/globals.d.mts": false, "a.json": false, "a.tsx": false, "a.jsx": false, "a": false,
	} {
		if got := IsScript(name); got != want {
			t.Errorf("IsScript(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNeeded(t *testing.T) {
	for _, c := range []struct {
		path, src string
		want      bool
	}{
		{"a.ts", "var x = 1", true},
		{"a.mjs", "var x = 1", true},
		{"a.js", "var x = require('./y');\nmodule.exports = x;\n", false},
		{"a.js", "on('init', async () => { await x(); });\n", false},
		{"a.js", "import { a } from './b';\n", true},
		{"a.js", "import a from './b';\n", true},
		{"a.js", "import './b';\n", true},
		{"a.js", "  export default 1;\n", true},
		{"a.js", "export { a };\n", true},
		{"a.js", "export * from './b';\n", true},
		{"a.js", "const m = import('./b');\n", true},
		{"a.js", "console.log(import.meta.url);\n", true},
		{"a.js", "async function f(it) { for await (const x of it) {} }\n", true},
		{"a.js", "async function* g() {}\n", true},
		{"a.js", "const o = { async *g() {} };\n", true},
		{"a.js", "// we export nothing, and import nothing\nvar important = 1, exported = 2;\n", false},
		{"a.cjs", "exports.x = 1;\n", false},
		{"a.js", "const r = await fetch(u);\n", true},
		{"a.js", "await setup();\n", true},
		{"a.js", "async function f() {\n  const r = await g();\n  await h();\n}\n", false},
		{"a.json", "{\"import\": 1}", false},
	} {
		if got := Needed(c.path, []byte(c.src)); got != c.want {
			t.Errorf("Needed(%s, %q) = %v, want %v", c.path, c.src, got, c.want)
		}
	}
}

func TestVLQ(t *testing.T) {
	for _, v := range []int{0, 1, -1, 15, 16, -16, 31, 32, 1000, -123456, 1 << 30} {
		s := encodeVLQ(v)
		got, n, err := decodeVLQ(s + "A")
		if err != nil || got != v || n != len(s) {
			t.Errorf("VLQ %d: %q decodes to %d (%d bytes, %v)", v, s, got, n, err)
		}
	}
	if _, _, err := decodeVLQ("g"); err == nil {
		t.Error("truncated VLQ decoded")
	}
}

func TestShiftColumns(t *testing.T) {
	// AAAA: gen 0, src 0, line 0, col 0. CAAC: gen +1, src col +1.
	got, err := shiftColumns(";AAAA,CAAC;AACA;;EAAE")
	if err != nil {
		t.Fatal(err)
	}
	// First segment per line: gen col +1 (A→C); the first source column
	// +1 (A→C); the rest unchanged.
	if want := ";CAAC,CAAC;CACA;;GAAE"; got != want {
		t.Errorf("shiftColumns = %q, want %q", got, want)
	}
}

// run loads entry through goja_nodejs/require with Transform applied where
// Needed, as the engine does.
func run(t *testing.T, dir, entry string) (*goja.Runtime, goja.Value, error) {
	t.Helper()
	vm := goja.New()
	reg := require.NewRegistry(require.WithLoader(func(p string) ([]byte, error) {
		b, err := require.DefaultSourceLoader(p)
		if err != nil || !Needed(p, b) {
			return b, err
		}
		return Transform(p, b)
	}))
	rm := reg.Enable(vm)
	v, err := rm.Require(filepath.Join(dir, entry))
	return vm, v, err
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModulesAndPositions(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"lib.js":  "exports.base = 40;\n",
		"math.ts": "import { base } from './lib.js';\nexport interface Opt { n: number }\nexport function add(o: Opt): number {\n  return base + o.n;\n}\nexport default class Box<T> { constructor(public v: T) {} }\n",
		"main.mts": "import Box, { add } from './math.ts';\n" +
			"const b: Box<number> = new Box(2);\n" +
			"export const sum = add({ n: b.v });\n" +
			"export function boom(): never {\n" +
			"  type Unused = string;\n" +
			"      throw new Error('kaboom');\n" +
			"}\n",
		"first.ts": "throw new TypeError('on line one');\n",
	})
	_, v, err := run(t, dir, "main.mts")
	if err != nil {
		t.Fatal(err)
	}
	exp := v.(*goja.Object)
	if got := exp.Get("sum").ToInteger(); got != 42 {
		t.Errorf("sum = %d, want 42", got)
	}
	boom, _ := goja.AssertFunction(exp.Get("boom"))
	_, err = boom(goja.Undefined())
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("boom: %v", err)
	}
	// The Error is made at line 6, column 13 of main.mts (1-based), where
	// Node reports it too.
	want := filepath.Join(dir, "main.mts") + ":6:13"
	if !strings.Contains(ex.String(), want) {
		t.Errorf("stack lacks %s:\n%s", want, ex.String())
	}
	top := ex.Stack()[0]
	if p := top.Position(); p.Line != 6 || p.Column != 13 || top.SrcName() != filepath.Join(dir, "main.mts") {
		t.Errorf("top frame %s %d:%d, want main.mts 6:13", top.SrcName(), p.Line, p.Column)
	}

	// A throw on line 1 (which goja_nodejs's wrapper shares with the
	// file's first line when the file is not transformed).
	_, _, err = run(t, dir, "first.ts")
	if !errors.As(err, &ex) || !strings.Contains(ex.String(), filepath.Join(dir, "first.ts")+":1:7") {
		t.Errorf("line-one throw: %v", err)
	}
}

func TestLowering(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"a.js": "async function* gen() { yield 1; yield 2; }\n" +
			"exports.run = async () => { const seen = []; for await (const v of gen()) seen.push(v); return seen.join(); };\n" +
			"class A { x = 1; static #n = 2; static n() { return A.#n } }\n" +
			"let q = null; q ??= new A().x + A.n(); exports.q = q; exports.o = ({ a: { b: 3 } })?.a?.b;\n",
	})
	vm, v, err := run(t, dir, "a.js")
	if err != nil {
		t.Fatal(err)
	}
	exp := v.(*goja.Object)
	if q, o := exp.Get("q").ToInteger(), exp.Get("o").ToInteger(); q != 3 || o != 3 {
		t.Errorf("q, o = %d, %d", q, o)
	}
	fn, _ := goja.AssertFunction(exp.Get("run"))
	p, err := fn(goja.Undefined())
	if err != nil {
		t.Fatal(err)
	}
	_ = vm
	prom := p.Export().(*goja.Promise)
	if prom.State() != goja.PromiseStateFulfilled || prom.Result().String() != "1,2" {
		t.Errorf("for await: %v %v", prom.State(), prom.Result())
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		path, src string
		line, col int
		msg       string
	}{
		{"bad.ts", "let x: number = 1;\nlet y = (;\n", 2, 10, `Unexpected ";"`},
		{"tla.mjs", "import x from './x';\n\nconst v = await x();\n", 3, 11, "top-level await is not supported"},
		{"dup.js", "export const a = 1;\nlet a = 2;\n", 2, 5, `"a" has already been declared`},
	} {
		_, err := Transform(c.path, []byte(c.src))
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		e := es[0]
		if e.File != c.path || e.Line != c.line || e.Col != c.col || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: got %s, want %d:%d %s", c.path, e, c.line, c.col, c.msg)
		}
	}
	// Types are not checked.
	if _, err := Transform("types.ts", []byte("let x: number = 'a string';\n")); err != nil {
		t.Errorf("type-only error reported: %v", err)
	}
}

func TestStrictAndMeta(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"esm.js":    "export const strict = (function () { return this === undefined; })();\nexport const url = import.meta.url, dir = import.meta.dirname;\n",
		"sloppy.ts": "const x: number = 1;\nmodule.exports = { strict: (function () { return this === undefined; })() };\n",
	})
	_, v, err := run(t, dir, "esm.js")
	if err != nil {
		t.Fatal(err)
	}
	exp := v.(*goja.Object)
	if !exp.Get("strict").ToBoolean() {
		t.Error("an ES module is not strict")
	}
	if got := exp.Get("url").String(); got != "file://"+filepath.ToSlash(filepath.Join(dir, "esm.js")) {
		t.Errorf("import.meta.url = %s", got)
	}
	if got := exp.Get("dir").String(); got != dir {
		t.Errorf("import.meta.dirname = %s", got)
	}
	_, v, err = run(t, dir, "sloppy.ts")
	if err != nil {
		t.Fatal(err)
	}
	if v.(*goja.Object).Get("strict").ToBoolean() {
		t.Error("a TypeScript file without import/export was made strict")
	}
}

// BenchmarkTransform measures one transform of a 100-line TypeScript
// module.
func BenchmarkTransform(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("import { x } from './x';\n")
	for i := 0; sb.Len() < 4000; i++ {
		fmt.Fprintf(&sb, "export function f%d(a: number, b?: string): number {\n  return (b?.length ?? 0) + a * %d + x;\n}\n", i, i)
	}
	src := []byte(sb.String())
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Transform("m.ts", src); err != nil {
			b.Fatal(err)
		}
	}
}
