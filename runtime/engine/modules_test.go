package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/internal/testutil"
)

// compileCases are sources run rejects at load because they do not compile
// (parser errors and errors only goja's compiler raises), and sources it
// loads. want is the position check must report, "" for a clean file.
var compileCases = []struct {
	name, src, want string
}{
	{"redeclared let", "let a = 1;\nlet a = 2;\n", "2:5: Identifier 'a' has already been declared"},
	{"let then var", "let a;\nvar a;\n", "1:5: Identifier 'a' has already been declared"},
	{"first line column", "let b; let b;\n", "1:12: Identifier 'b' has already been declared"},
	{"two constructors", "class A {\n  constructor() {}\n  constructor() {}\n}\n", "3:3: A class may only have one constructor"},
	{"strict delete", "function f() {\n  'use strict';\n  delete x;\n}\n", "3:10: Delete of an unqualified identifier in strict mode"},
	{"strict with", "'use strict';\nwith (x) {}\n", "2:1: Strict mode code may not include a with statement"},
	{"duplicate __proto__", "x = {__proto__: 1,\n  __proto__: 2};\n", "2:3: Duplicate __proto__ fields are not allowed in object literals"},
	{"let let", "let let = 1;\n", "1:5: let is disallowed as a lexically bound name"},
	{"super outside a method", "super();\n", "1:1: 'super' keyword unexpected here"},
	{"parse error", "on('x', () => {\n  let = ;\n});\n", "2:9: Unexpected token ;"},
	{"illegal break", "\nbreak;\n", "2:1: Illegal break statement"},
	{"unclosed brace", "on('x', () => {\n  print(1);\n", "3:1: Unexpected end of input"},
	{"brace too many", "on('x', () => {});\n}\n", "2:1: Unexpected token }"},
	{"top-level return is fine", "return;\n", ""},
	{"clean", "const a = 1;\non('x', () => a);\n", ""},
}

// TestCheckCompilesAsRunLoads: check reports an error exactly on the files
// engine.New (run) refuses to load, at the same position.
func TestCheckCompilesAsRunLoads(t *testing.T) {
	for _, tc := range compileCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeScripts(t, map[string]string{"s.js": tc.src})
			file := filepath.Join(dir, "s.js")
			diags, err := Check([]string{file})
			if err != nil {
				t.Fatal(err)
			}
			_, loadErr := New(Config{Paths: []string{file}, Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}})
			if tc.want == "" {
				if len(diags) != 0 || loadErr != nil {
					t.Fatalf("check %v, load %v; want both clean", diags, loadErr)
				}
				return
			}
			if len(diags) != 1 || diags[0].Warning {
				t.Fatalf("check = %v, want one error", diags)
			}
			if got := diags[0].Error(); got != file+":"+tc.want {
				t.Errorf("check: %s\nwant %s:%s", got, file, tc.want)
			}
			var le *LoadError
			if !errors.As(loadErr, &le) {
				t.Fatalf("run loaded a file check rejects (err %v)", loadErr)
			}
			d := diags[0]
			if le.File != d.File || le.Line != d.Line || le.Col != d.Col || !strings.Contains(le.Message, d.Msg) {
				t.Errorf("run: %v\ncheck: %v", le, d)
			}
			if got := CheckSource(file, []byte(tc.src)); len(got) != 1 || got[0] != d {
				t.Errorf("CheckSource = %v, want %v", got, d)
			}
		})
	}
}

// TestCheckFollowsModules: a directory is walked recursively, a file PATH's
// relative requires are compiled too, a relative require that resolves to
// nothing is an error, and a global the file declares itself is not checked.
func TestCheckFollowsModules(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"s/a.js":                  "const { helper } = require('./lib/helper');\n",
		"s/lib/helper.js":         "let x; let x;\n",
		"s/lib/sub/ok.js":         "module.exports = 1;\n",
		"s/.hidden/bad.js":        "let y; let y;\n",
		"single/main.js":          "require('../shared/util');\nrequire('./pkg');\nrequire('./data.json');\nrequire('scriptd/known');\n",
		"single/pkg/package.json": `{"main": "lib/entry"}`,
		"single/pkg/lib/entry.js": "let z; let z;\n",
		"single/data.json":        "{}",
		"single/bad.js":           "require('./broken.json');\n",
		"single/broken.json":      "{\n  \"a\": 1,\n}\n",
		"shared/util.js":          "function f() { 'use strict'; delete q; }\n",
		"c.js":                    "require('./lib/missing');\n",
		"b.js": `// the names are the file's own here: nothing to report
function on(name, fn, opts) {}
on("x", () => {}, {anything: 1});
const Storage = {Async: {put() {}}};
Storage.Async.put(1, {whatever: 2});
const when = (a, b, c) => 0;
when(1, 2, {nope: 3});
`,
	})
	diags, err := Check([]string{filepath.Join(dir, "s"), filepath.Join(dir, "single", "main.js"), filepath.Join(dir, "single", "bad.js"), filepath.Join(dir, "c.js"), filepath.Join(dir, "b.js")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diags {
		rel, _ := filepath.Rel(dir, d.File)
		got = append(got, rel+strings.TrimPrefix(d.Error(), d.File))
	}
	want := []string{
		"c.js:1:9: cannot find module './lib/missing'",
		"s/lib/helper.js:1:12: Identifier 'x' has already been declared",
		"shared/util.js:1:37: Delete of an unqualified identifier in strict mode",
		"single/broken.json:3:1: invalid JSON: invalid character '}' looking for beginning of object key string",
		"single/pkg/lib/entry.js:1:12: Identifier 'z' has already been declared",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckWarningPositions(t *testing.T) {
	src := `const S = Storage.Async;
on("dns", async (rec) => {
  await Storage.Async.put(h, {key: rec.query, value: 1, expire: "1h"});
  await S.put_many(h, [{key: 1, value: 2, overwrite: true}, {key: 2, value: 3, ttl: 5}]);
  Storage.Sync.increment(h, {key: "k", "byy": 2});
  await Storage.Async.compare_and_swap(h, {key: "k", expect: 1, value: 2});
  await Storage.Async.update(h, "k", (v) => v, {max_attempt: 3});
  await Storage.Async.scan(h, {prefix: "a", limt: 5, ...extra});
  Storage.Async.entries(h, {prefx: "a"});
  await Storage.Async.put(h, {key: 1, value: 2, overwrite: false, expire_time: "1h"});
}, {priorty: 5, order_by: (r) => r.id});
on("x", () => {}, {priority: 1, [computed]: 2});
when(() => 1, () => 2, {timeout: "1s", timout_body: () => 3});
try { require('./optional'); } catch (e) {}
`
	dir := writeScripts(t, map[string]string{"a.js": src})
	diags, err := Check([]string{filepath.Join(dir, "a.js")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%d:%d: %v %s", d.Line, d.Col, d.Warning, d.Msg))
	}
	want := []string{
		"3:57: true Storage.Async.put: unknown field expire (known: key, value, overwrite, expire_time)",
		"4:80: true Storage.Async.put_many: unknown field ttl (known: key, value, overwrite, expire_time)",
		"5:40: true Storage.Sync.increment: unknown field byy (known: key, by, expire_time)",
		"6:54: true Storage.Async.compare_and_swap: unknown field expect (known: key, expected, value, expire_time)",
		"7:49: true Storage.Async.update: unknown option max_attempt (known: expire_time, max_attempts)",
		"8:45: true Storage.Async.scan: unknown option limt (known: prefix, cursor, limit)",
		"9:29: true Storage.Async.entries: unknown option prefx (known: prefix)",
		"11:5: true on: unknown option priorty (known: priority, order_by)",
		"13:40: true when: unknown option timout_body (known: timeout, timeout_body)",
		"14:15: true cannot find module './optional'",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
