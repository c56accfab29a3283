package globals

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// consoleCase is one console.log call: setup statements, then the
// argument list.
type consoleCase struct {
	Setup string `json:"setup"`
	Args  string `json:"args"`
}

// consoleCases are printed by Node 20 and by formatConsole and compared.
var consoleCases = []consoleCase{
	// primitives
	{"", "1, -0, 0, 1.5, NaN, -Infinity, 1e21, 0.1 + 0.2"},
	{"", "10n, -5n, true, false, null, undefined"},
	{"", "Symbol('s'), Symbol(), Symbol.iterator"},
	{"", "'top-level strings are raw', 'it\\'s'"},
	// strings inside values
	{"", "['a', \"it's\", 'say \"hi\" it\\'s', 'say \"hi\" it\\'s `x`', 'tab\\t', 'nl\\n', '\\x00\\x7f\\x9f', 'é ü 日本', 'back\\\\slash']"},
	{"", "{ s: 'a'.repeat(100) }"},
	{"", "{ s: 'line one is long enough\\nline two is also quite long\\nline three ends it all now, really' }"},
	{"", "'x'.repeat(10005).length, ['y'.repeat(10003)].map(s => s.length)"},
	// objects
	{"", "{ a: 1, b: 'x' }, {}"},
	{"", "{ 'a-b': 1, $c: 2, _d: 3, 1: 4, 'with space': 5, '': 6 }"},
	{"", "{ a: { b: { c: { d: 1 } } } }"},
	{"", "{ a: [[[[1]]]], b: [[[]]], c: [{ x: { y: 1 } }] }"},
	{"", "{ a: [1, 2, 3], b: { c: [1, 2, 3], d: { e: 1 } } }"},
	{"", "{ aaaaaaaaaa: 'bbbbbbbbbbbbbb', cccccccccc: 'dddddddddddddd', eeeeeeeeee: 'ffffffffffffff', g: 1 }"},
	{"", "{ level1: { level2: { level3: { level4: 'deep' } }, sibling: [1, 2] }, other: 'value that is fairly long to push things' }"},
	{"", "{ [Symbol('k')]: 1, n: 2 }"},
	{"", "{ get g() { return 1 }, set s(v) {}, get gs() { return 1 }, set gs(v) {} }"},
	{"", "{ u: undefined, n: null, f() {}, arrow: () => 1 }"},
	{"const o = { a: 1 }; Object.defineProperty(o, 'hidden', { value: 2, enumerable: false });", "o"},
	{"", "Object.create(null), Object.assign(Object.create(null), { a: 1 })"},
	{"", "Math, JSON"},
	{"", "(function () { return arguments })(1, 'two')"},
	{"", "{ [Symbol.toStringTag]: 'Tagged', a: 1 }"},
	{"class T { get [Symbol.toStringTag]() { return 'TT' } }", "new T()"},
	// arrays
	{"", "[], [1, 2, 3], [1, , 3], [, ,], new Array(5), [undefined, null]"},
	{"const a = [1, 2]; a.extra = 'x'; const s = []; s[3] = 1; s[10] = 2; s.k = 1;", "a, s"},
	{"", "[1, 'a', { b: 2 }, [3, [4, [5, [6]]]]]"},
	{"", "Array.from({ length: 101 }, (_, i) => i)"},
	{"", "Array.from({ length: 7 }, (_, i) => 'item' + i)"},
	{"", "'abcdefghijklmnopqrstuvwxyz'.split('')"},
	{"", "[1, 22, 333, 4444, 55555, 666666, 7777777, 88888888]"},
	{"", "Array.from({ length: 30 }, (_, i) => i * i * i)"},
	{"", "Array.from({ length: 8 }, (_, i) => ({ id: i }))"},
	{"", "Array.from({ length: 10 }, (_, i) => 'a somewhat longer string number ' + i)"},
	{"const big = []; big[200] = 1;", "big"},
	{"const mixed = [1, 2, 3, 4, 5, 6, 7]; mixed[20] = 'x';", "mixed"},
	// Map and Set
	{"", "new Map([[1, 2]]), new Map(), new Set([1, 2]), new Set()"},
	{"", "new Map([['a', { b: 1 }], [{ k: 1 }, [1, 2]]])"},
	{"", "new Set(Array.from({ length: 101 }, (_, i) => i))"},
	{"", "{ m: new Map([['x', new Map([['y', new Map([['z', 1]])]])]]) }"},
	{"class MyMap extends Map {}", "new MyMap([[1, 'one']])"},
	{"", "new WeakMap(), new WeakSet()"},
	// class instances and functions
	{"class Foo { constructor() { this.a = 1; } get g() { return 2 } }", "new Foo()"},
	{"class Bar {}", "new Bar()"},
	{"class Foo {} class Baz extends Foo { constructor() { super(); this.x = [1]; } }", "new Baz(), [new Baz()]"},
	{"function Old(v) { this.v = v; }", "new Old(3)"},
	{"function foo() {} async function af() {} function* gen() {}", "foo, af, gen, () => {}, function () {}"},
	{"class Foo {} class Bar extends Foo {}", "Foo, Bar, class {}, { Foo }"},
	{"const f = Object.assign(function f() {}, { x: 1 });", "f"},
	// errors (their stack frames are compared without the "at" lines)
	{"", "new Error('boom')"},
	{"", "new TypeError('bad type'), new RangeError('out')"},
	{"", "{ e: new Error('nested') }"},
	{"", "Object.assign(new Error('with code'), { code: 'E_X', n: 5 })"},
	{"class MyError extends Error {} class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError'; } }", "new MyError('m'), new ValidationError('v')"},
	{"const e = new Error('no stack'); e.stack = 'Error: no stack';", "e"},
	// typed arrays and buffers
	{"", "new Uint8Array([1, 2, 3]), new Float64Array(2), new Uint8Array(0), new Int16Array([-1, 2])"},
	{"", "new Uint8Array(120)"},
	{"", "new BigInt64Array(2)"},
	{"", "new ArrayBuffer(4), { b: new ArrayBuffer(2) }"},
	// dates, regexps, boxed primitives, promises, proxies
	{"", "new Date(0), new Date(NaN), { d: new Date(1e12) }"},
	{"", "/ab+c/gi, { r: /x/ }"},
	{"", "new Number(3), new String('ab'), new Boolean(false), Object(Symbol('q')), Object(10n)"},
	{"", "Promise.resolve(4), new Promise(() => {}), Promise.resolve({ a: [1] })"},
	{"const p = Promise.reject(3); p.catch(() => {});", "p"},
	{"", "new Proxy({ a: 1 }, {}), new Proxy([1, 2], {})"},
	// cycles
	{"const a = { name: 'a' }; a.self = a;", "a"},
	{"const a = [1]; a.push(a);", "a"},
	{"const o = { x: {} }; o.x.parent = o; const p = { y: {} }; p.y.p = p; o.p = p;", "o"},
	{"const m = new Map(); m.set('me', m);", "m"},
	// custom inspect
	{"", "{ [Symbol.for('nodejs.util.inspect.custom')]() { return 'CUSTOM' } }, { v: { [Symbol.for('nodejs.util.inspect.custom')]() { return { replaced: true } } } }"},
	// format strings
	{"", "'%s is %d years', 'Bob', 42"},
	{"", "'%j', { a: [1, 'x'] }"},
	{"const c = {}; c.c = c;", "'%j', c"},
	{"", "'%s', { a: { b: { c: 1 } } }"},
	{"", "'%s %s %s', [1, [2, [3]]], -0, 5n"},
	{"", "'%s', { toString() { return 'custom toString' } }"},
	{"class P { toString() { return 'P!' } }", "'%s', new P()"},
	{"", "'%d %d %d %d', '42', -0, {}, 7n"},
	{"", "'%i %i %f %f', 42.9, '0x10', '1.5x', 'abc'"},
	{"", "'100%%', 5"},
	{"", "'100%%'"},
	{"", "'%c styled', 'color: red'"},
	{"", "'a', 1, 'b', { c: 2 }"},
	{"", "'%s'"},
	{"", "'%x %s', 1"},
	{"", "'%s:%s', 'only one'"},
	{"", "'%O', { a: { b: { c: { d: 1 } } } }"},
}

// nodeFrames matches stack frame lines, which differ between engines.
var nodeFrames = regexp.MustCompile(`(?m)^\s*at .*\n?`)

func normalizeFrames(s string) string { return nodeFrames.ReplaceAllString(s, "") }

// TestConsoleMatchesNode prints every case with Node 20 and with
// formatConsole and compares the text (stack frames aside).
func TestConsoleMatchesNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	js, err := json.Marshal(consoleCases)
	if err != nil {
		t.Fatal(err)
	}
	prog := "const cases = " + string(js) + `;
for (const c of cases) {
  const args = (new Function(c.setup + '; return [' + c.args + '];'))();
  console.log(...args);
  process.stdout.write('\u0001\n');
}
`
	file := filepath.Join(t.TempDir(), "cases.js")
	if err := os.WriteFile(file, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, file).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	want := strings.Split(string(out), "\x01\n")
	if len(want) != len(consoleCases)+1 {
		t.Fatalf("node printed %d cases, want %d", len(want)-1, len(consoleCases))
	}
	vm := goja.New()
	for i, c := range consoleCases {
		got := func() (s string) {
			defer func() {
				if r := recover(); r != nil {
					s = "PANIC: " + strings.TrimSpace(strings.Split(errString(r), "\n")[0])
				}
			}()
			fn, err := vm.RunString("(function () { " + c.Setup + "; return [" + c.Args + "]; })")
			if err != nil {
				return "SETUP: " + err.Error()
			}
			call, _ := goja.AssertFunction(fn)
			arr, err := call(goja.Undefined())
			if err != nil {
				return "SETUP: " + err.Error()
			}
			var args []goja.Value
			o := arr.(*goja.Object)
			for j := 0; j < int(o.Get("length").ToInteger()); j++ {
				args = append(args, o.Get(strconv.Itoa(j)))
			}
			return formatConsole(vm, args) + "\n"
		}()
		w := normalizeFrames(want[i])
		if g := normalizeFrames(got); g != w {
			t.Errorf("console.log(%s)  [setup %q]\nnode:\n%s\nscriptd:\n%s", c.Args, c.Setup, w, g)
		}
	}
}

func errString(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	if v, ok := r.(goja.Value); ok {
		return v.String()
	}
	return "?"
}

// TestNodeStack: goja's stack frames are shown in Node's layout.
func TestNodeStack(t *testing.T) {
	in := "Error: boom\n\tat thrower (/s/a.js:3:29(12))\n\tat /s/a.js:1:70(3)\n\tat scriptd:trampoline (native)\n\tat native\n"
	want := "Error: boom\n    at thrower (/s/a.js:3:29)\n    at /s/a.js:1:15"
	if got := nodeStack(in); got != want {
		t.Errorf("nodeStack =\n%s\nwant\n%s", got, want)
	}
	if got := nodeStack("Error: no frames"); got != "Error: no frames" {
		t.Errorf("nodeStack = %q", got)
	}
}

// TestConsoleErrorStack: an error logged from a script shows its message
// and its frames, Node style, nested errors indented.
func TestConsoleErrorStack(t *testing.T) {
	vm := goja.New()
	v, err := vm.RunScript("/s/a.js", "function thrower() { return new Error('boom'); }\n[thrower(), { e: thrower() }]")
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*goja.Object)
	got := formatConsole(vm, []goja.Value{o.Get("0"), o.Get("1")})
	for _, w := range []string{"Error: boom\n    at thrower (/s/a.js:1:", "\n    at /s/a.js:2:", "{\n  e: Error: boom\n      at thrower (/s/a.js:1:"} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

// TestInspectDepth: Inspect's depth option (util.inspect's).
func TestInspectDepth(t *testing.T) {
	vm := goja.New()
	v, err := vm.RunString("({ a: { b: { c: { d: { e: 1 } } } } })")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts InspectOptions
		want string
	}{
		{InspectOptions{}, "{ a: { b: { c: [Object] } } }"},
		{InspectOptions{Depth: 1}, "{ a: { b: [Object] } }"},
		{InspectOptions{Depth: -1}, "{\n  a: {\n    b: { c: { d: { e: 1 } } }\n  }\n}"}, // as util.inspect(v, {depth: Infinity})
	} {
		if got := Inspect(vm, v, c.opts); got != c.want {
			t.Errorf("Inspect(%+v) = %q, want %q", c.opts, got, c.want)
		}
	}
}

func BenchmarkConsoleObject(b *testing.B) {
	vm := goja.New()
	v, err := vm.RunString("({ a: 1, b: 'x', c: [1, 2, 3], d: { e: new Map([[1, 2]]) } })")
	if err != nil {
		b.Fatal(err)
	}
	args := []goja.Value{v}
	for i := 0; i < b.N; i++ {
		formatConsole(vm, args)
	}
}
