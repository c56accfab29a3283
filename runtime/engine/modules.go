package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/scriptd/scriptd/internal/jstransform"
)

// ScriptFiles expands script PATHs: a file stands for itself, a directory
// for its top-level *.js files in lexical order (subdirectories hold modules
// for require). Paths come back absolute, so stack traces and require()
// resolve the same way whatever the working directory.
func ScriptFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("script path %s: %w", p, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("script path: %w", err)
		}
		if !st.IsDir() {
			files = append(files, abs)
			continue
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return nil, fmt.Errorf("script directory: %w", err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && isScriptFile(e.Name()) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(abs, n))
		}
	}
	return files, nil
}

// SyntaxError is one diagnostic at file:line:col: a compile error, or with
// Warning set, a mistake check can see without running the code (an
// unknown option in a literal argument).
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
	Warning   bool
}

func (e SyntaxError) Error() string {
	if e.Warning {
		return fmt.Sprintf("%s:%d:%d: warning: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// moduleWrapperPrefix is what goja_nodejs/require puts before a module's
// source on its first line; columns on line 1 are shifted by its length.
const moduleWrapperPrefix = "(function(exports,require,module,__filename,__dirname){"

// compiledModule is a module source compiled as goja_nodejs/require's
// loader compiles it (Registry.getCompiledSource): the same wrapper, the
// same parser options (source maps read through the same loader) and
// goja.CompileAST, so that every error the loader raises when `run`
// requires the file is raised here too — those of the parser and those only
// the compiler finds (`Identifier 'a' has already been declared`, a second
// constructor, `delete x` in strict code, ...).
type compiledModule struct {
	display string
	prog    *ast.Program // nil if the source did not parse
	err     *SyntaxError // the first compile error, located in the file
}

func compileModule(display string, src []byte, load func(string) ([]byte, error)) compiledModule {
	m := compiledModule{display: display}
	wrapped := moduleWrapperPrefix + string(src) + "\n})"
	var opts []parser.Option
	if load != nil {
		opts = append(opts, parser.WithSourceMapLoader(load))
	}
	// goja.Parse is parser.ParseFile with these arguments; calling the
	// parser directly keeps the error's position, which goja.Parse drops.
	prog, err := parser.ParseFile(nil, display, wrapped, 0, opts...)
	if err != nil {
		m.err = parseErrorAt(display, err, len(moduleWrapperPrefix))
		if m.err.File == display && m.err.Line > strings.Count(string(src), "\n")+1 {
			// The error is in the wrapper's closing "})" (a brace too
			// many or too few): the file parsed on its own says where.
			if _, err := parser.ParseFile(nil, display, string(src), 0, opts...); err != nil && !strings.Contains(err.Error(), "Illegal return") {
				m.err = parseErrorAt(display, err, 0)
			}
		}
		return m
	}
	m.prog = prog
	if _, err := goja.CompileAST(prog, false); err != nil {
		m.err = compileErrorAt(display, err)
	}
	return m
}

// unwrapPos converts a position in the wrapped source to one in the file:
// shift is the length of what precedes the file's text on its first line.
func unwrapPos(display string, p file.Position, shift int) (string, int, int) {
	name, line, col := p.Filename, p.Line, p.Column
	if name == "" {
		name = display
	}
	if name == display && line == 1 {
		col = max(col-shift, 1)
	}
	return name, line, col
}

func parseErrorAt(display string, err error, shift int) *SyntaxError {
	var first *parser.Error
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		first = list[0]
	} else if !errors.As(err, &first) {
		return &SyntaxError{File: display, Line: 1, Col: 1, Msg: err.Error()}
	}
	name, line, col := unwrapPos(display, first.Position, shift)
	return &SyntaxError{File: name, Line: line, Col: col, Msg: first.Message}
}

func compileErrorAt(display string, err error) *SyntaxError {
	var ce *goja.CompilerError
	var se *goja.CompilerSyntaxError
	var re *goja.CompilerReferenceError
	switch {
	case errors.As(err, &se):
		ce = &se.CompilerError
	case errors.As(err, &re):
		ce = &re.CompilerError
	}
	if ce == nil || ce.File == nil {
		msg := err.Error()
		if ce != nil {
			msg = ce.Message
		}
		return &SyntaxError{File: display, Line: 1, Col: 1, Msg: msg}
	}
	name, line, col := unwrapPos(display, ce.File.Position(ce.Offset), len(moduleWrapperPrefix))
	return &SyntaxError{File: name, Line: line, Col: col, Msg: ce.Message}
}

// CheckSource compiles src as the require loader compiles a CommonJS
// module and returns its first compile error (later ones are usually
// consequences of the first), with its position in the original file, or
// nil. display names the file. Warnings are not reported here (see Check).
func CheckSource(display string, src []byte) []SyntaxError {
	code, err := transformSource(display, src)
	if err != nil {
		return transformErrors(display, err)
	}
	if transformed(src, code) {
		return checkTransformed(display, code)
	}
	m := compileModule(display, src, nil)
	if m.err != nil {
		return []SyntaxError{*m.err}
	}
	return nil
}

// Check compiles every script under paths as `run` would load it — each
// file PATH, every *.js file under a directory PATH (recursively: the
// modules in its subdirectories too, hidden entries skipped) and every
// module they require by a literal relative path — and returns the compile
// errors and the warnings of a static look at the code (see lintModule),
// ordered by file and position. A relative require() of a module that does
// not exist is an error. Paths are reported as given.
func Check(paths []string) ([]SyntaxError, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("script path: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && isScriptFile(d.Name()) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("script directory %s: %w", p, err)
		}
	}
	sort.Strings(files)
	// The source comes through the engine's own module loader, so check
	// reads what run would compile.
	src := newSourceSet(files)
	seen := make(map[string]bool)
	key := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	var queue []string
	for _, f := range files {
		if !seen[key(f)] {
			seen[key(f)] = true
			queue = append(queue, f)
		}
	}
	var all []SyntaxError
	for i := 0; i < len(queue); i++ {
		f := queue[i]
		data, err := src.load(f)
		var te jstransform.Errors
		switch {
		case errors.As(err, &te):
			all = append(all, transformErrors(f, err)...) // esbuild's syntax errors
			continue
		case err != nil:
			return nil, fmt.Errorf("read script: %w", err)
		}
		wasTransformed := src.read[f].transformed
		if wasTransformed {
			if errs := checkTransformed(f, data); len(errs) > 0 {
				all = append(all, errs...)
				continue
			}
		}
		m := compileModule(f, data, src.load)
		if m.err != nil {
			all = append(all, *m.err)
		}
		if m.prog == nil {
			continue
		}
		diags, reqs := lintModule(m)
		if wasTransformed {
			// Positions in the transformed code: back to the file's own.
			for i := range diags {
				if l, c, ok := jstransform.OriginalPosition(data, diags[i].Line, diags[i].Col); ok {
					diags[i].Line, diags[i].Col = l, c
				}
			}
		}
		all = append(all, diags...)
		for _, r := range reqs {
			resolved, ok := resolveModule(filepath.Dir(f), r.name)
			if !ok {
				d := r.diag
				d.Msg = fmt.Sprintf("cannot find module '%s'", r.name)
				d.Warning = r.guarded
				all = append(all, d)
				continue
			}
			if seen[key(resolved)] {
				continue
			}
			seen[key(resolved)] = true
			if strings.HasSuffix(resolved, ".json") {
				// require parses a .json module with JSON.parse at load.
				data, err := src.load(resolved)
				if err != nil {
					return nil, fmt.Errorf("read module: %w", err)
				}
				if d := checkJSON(resolved, data); d != nil {
					all = append(all, *d)
				}
				continue
			}
			queue = append(queue, resolved)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return all, nil
}

// checkJSON reports a .json module that JSON.parse would refuse.
func checkJSON(display string, data []byte) *SyntaxError {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	d := &SyntaxError{File: display, Line: 1, Col: 1, Msg: "invalid JSON: " + err.Error()}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(min(se.Offset, int64(len(data))))
		before := data[:max(off-1, 0)]
		d.Line = 1 + strings.Count(string(before), "\n")
		d.Col = len(before) - strings.LastIndexByte(string(before), '\n')
	}
	return d
}

// resolveModule finds the file a relative require(name) from a module in
// dir loads, as goja_nodejs/require does: name, name.js, name.json, then
// the directory's package.json main, index.js, index.json.
func resolveModule(dir, name string) (string, bool) {
	if r := resolveScriptPath(dir, name); isFile(r) && isScriptFile(filepath.Base(r)) {
		return r, true // x.ts for "./x.js", "./x" for x.ts, ...
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, name)
	}
	asFile := func(p string) (string, bool) {
		for _, c := range []string{p, p + ".js", p + ".json"} {
			if isFile(c) {
				return c, true
			}
		}
		return "", false
	}
	index := func(p string) (string, bool) {
		for _, c := range []string{filepath.Join(p, "index.js"), filepath.Join(p, "index.json")} {
			if isFile(c) {
				return c, true
			}
		}
		return "", false
	}
	if f, ok := asFile(p); ok {
		return f, true
	}
	if buf, err := os.ReadFile(filepath.Join(p, "package.json")); err == nil {
		var pkg struct{ Main string }
		if json.Unmarshal(buf, &pkg) == nil && pkg.Main != "" {
			m := filepath.Join(p, pkg.Main)
			if f, ok := asFile(m); ok {
				return f, true
			}
			if f, ok := index(m); ok {
				return f, true
			}
		}
	}
	return index(p)
}

// Static checks.
//
// Only what is certain without running the code is reported: literal
// object arguments of the runtime's own functions whose keys are not among
// the fields those functions read (a misspelt option is otherwise silently
// ignored: {priorty: 5}, put(h, {key, value, expire: "1h"})), and relative
// require() paths that do not resolve. A global shadowed anywhere in the
// file by a declaration of the same name is not checked.

// optionShape says which argument of a call is an object literal with a
// fixed set of keys. array: the argument is an array of such objects.
type optionShape struct {
	arg   int
	noun  string // "option" or "field"
	known []string
	array bool
}

var (
	onOptions   = optionShape{arg: 2, noun: "option", known: []string{"priority", "order_by"}}
	whenOptions = optionShape{arg: 2, noun: "option", known: []string{"timeout", "timeout_body"}}
	putFields   = []string{"key", "value", "overwrite", "expire_time"}

	// storageShapes are the Storage.Async / Storage.Sync functions taking
	// literal records (SPEC §3, §3a).
	storageShapes = map[string]optionShape{
		"put":              {arg: 1, noun: "field", known: putFields},
		"put_many":         {arg: 1, noun: "field", known: putFields, array: true},
		"compare_and_swap": {arg: 1, noun: "field", known: []string{"key", "expected", "value", "expire_time"}},
		"increment":        {arg: 1, noun: "field", known: []string{"key", "by", "expire_time"}},
		"update":           {arg: 3, noun: "option", known: []string{"expire_time", "max_attempts"}},
		"scan":             {arg: 1, noun: "option", known: []string{"prefix", "cursor", "limit"}},
		"entries":          {arg: 1, noun: "option", known: []string{"prefix"}},
	}
)

// requireCall is a require() of a literal relative path.
type requireCall struct {
	name    string
	diag    SyntaxError // where it is
	guarded bool        // inside a try block: a missing module may be expected
}

// lintModule looks at a parsed module for the mistakes above and returns
// the warnings and the relative requires.
func lintModule(m compiledModule) ([]SyntaxError, []requireCall) {
	l := &linter{m: m, declared: make(map[string]bool), aliases: make(map[string]string)}
	// The module wrapper's parameters (exports, require, module, ...) are
	// the globals' own names, not the file's declarations.
	var wrapperParams ast.Node
	if len(m.prog.Body) > 0 {
		if st, ok := m.prog.Body[0].(*ast.ExpressionStatement); ok {
			if fn, ok := st.Expression.(*ast.FunctionLiteral); ok {
				wrapperParams = fn.ParameterList
			}
		}
	}
	// First pass: names declared in the file, and aliases of
	// Storage.Async / Storage.Sync (const S = Storage.Async).
	walkAST(m.prog, func(n ast.Node, _ int) bool {
		if n == wrapperParams {
			return false
		}
		switch x := n.(type) {
		case *ast.Binding:
			l.declare(x.Target)
			if id, ok := x.Target.(*ast.Identifier); ok {
				if ns := storageNamespace(x.Initializer, nil); ns != "" {
					l.aliases[id.Name.String()] = ns
				}
			}
		case *ast.FunctionLiteral:
			if x.Name != nil {
				l.declared[x.Name.Name.String()] = true
			}
			if x.ParameterList != nil && x.ParameterList.Rest != nil {
				l.declare(x.ParameterList.Rest)
			}
		case *ast.ArrowFunctionLiteral:
			if x.ParameterList != nil && x.ParameterList.Rest != nil {
				l.declare(x.ParameterList.Rest)
			}
		case *ast.ClassLiteral:
			if x.Name != nil {
				l.declared[x.Name.Name.String()] = true
			}
		case *ast.CatchStatement:
			if x.Parameter != nil {
				l.declare(x.Parameter)
			}
		case *ast.ForDeclaration:
			l.declare(x.Target)
		}
		return true
	})
	for name := range l.aliases {
		if l.declared["Storage"] {
			delete(l.aliases, name)
		}
	}
	walkAST(m.prog, func(n ast.Node, tries int) bool {
		if c, ok := n.(*ast.CallExpression); ok {
			l.call(c, tries > 0)
		}
		return true
	})
	return l.diags, l.requires
}

type linter struct {
	m        compiledModule
	declared map[string]bool   // names bound somewhere in the file
	aliases  map[string]string // local name → "Storage.Async" / "Storage.Sync"
	diags    []SyntaxError
	requires []requireCall
}

// declare records every identifier in a binding target (over-approximating
// is harmless: a declared name is only skipped).
func (l *linter) declare(target ast.Node) {
	walkAST(target, func(n ast.Node, _ int) bool {
		switch x := n.(type) {
		case *ast.Identifier:
			l.declared[x.Name.String()] = true
		case *ast.PropertyShort:
			l.declared[x.Name.Name.String()] = true
		}
		return true
	})
}

func (l *linter) at(n ast.Node) SyntaxError {
	p := l.m.prog.File.Position(int(n.Idx0()) - l.m.prog.File.Base())
	name, line, col := unwrapPos(l.m.display, p, len(moduleWrapperPrefix))
	return SyntaxError{File: name, Line: line, Col: col, Warning: true}
}

func (l *linter) global(name string) bool { return !l.declared[name] }

// storageNamespace returns "Storage.Async" or "Storage.Sync" if e is that
// member expression (Storage not shadowed) or an alias of it.
func storageNamespace(e ast.Expression, l *linter) string {
	switch x := e.(type) {
	case *ast.DotExpression:
		if id, ok := x.Left.(*ast.Identifier); ok && id.Name == "Storage" && (l == nil || l.global("Storage")) {
			if ns := x.Identifier.Name; ns == "Async" || ns == "Sync" {
				return "Storage." + ns.String()
			}
		}
	case *ast.Identifier:
		if l != nil {
			return l.aliases[x.Name.String()]
		}
	}
	return ""
}

func (l *linter) call(c *ast.CallExpression, guarded bool) {
	switch callee := c.Callee.(type) {
	case *ast.Identifier:
		switch name := callee.Name.String(); {
		case name == "on" && l.global("on"):
			l.options("on", c, onOptions)
		case name == "when" && l.global("when"):
			l.options("when", c, whenOptions)
		case name == "require" && l.global("require") && len(c.ArgumentList) > 0:
			s, ok := c.ArgumentList[0].(*ast.StringLiteral)
			if !ok {
				return
			}
			p := s.Value.String()
			if strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || p == "." || p == ".." || filepath.IsAbs(p) {
				d := l.at(s)
				d.Warning = false
				l.requires = append(l.requires, requireCall{name: p, diag: d, guarded: guarded})
			}
		}
	case *ast.DotExpression:
		ns := storageNamespace(callee.Left, l)
		if ns == "" {
			return
		}
		fn := callee.Identifier.Name.String()
		if shape, ok := storageShapes[fn]; ok {
			l.options(ns+"."+fn, c, shape)
		}
	}
}

// options checks the keys of c's literal argument described by shape.
func (l *linter) options(fn string, c *ast.CallExpression, shape optionShape) {
	if shape.arg >= len(c.ArgumentList) {
		return
	}
	arg := c.ArgumentList[shape.arg]
	if shape.array {
		if arr, ok := arg.(*ast.ArrayLiteral); ok {
			for _, el := range arr.Value {
				if obj, ok := el.(*ast.ObjectLiteral); ok {
					l.keys(fn, obj, shape)
				}
			}
		}
		return
	}
	if obj, ok := arg.(*ast.ObjectLiteral); ok {
		l.keys(fn, obj, shape)
	}
}

func (l *linter) keys(fn string, obj *ast.ObjectLiteral, shape optionShape) {
	for _, p := range obj.Value {
		var name string
		var at ast.Node
		switch x := p.(type) {
		case *ast.PropertyShort:
			name, at = x.Name.Name.String(), x
		case *ast.PropertyKeyed:
			if x.Computed {
				continue
			}
			switch k := x.Key.(type) {
			case *ast.StringLiteral:
				name = k.Value.String()
			case *ast.Identifier:
				name = k.Name.String()
			default:
				continue
			}
			at = x.Key
		default: // ...spread: its keys are unknown here
			continue
		}
		if slicesContains(shape.known, name) {
			continue
		}
		d := l.at(at)
		d.Msg = fmt.Sprintf("%s: unknown %s %s (known: %s)", fn, shape.noun, name, strings.Join(shape.known, ", "))
		l.diags = append(l.diags, d)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var (
	astNodeType = reflect.TypeOf((*ast.Node)(nil)).Elem()
	astPkgPath  = reflect.TypeOf(ast.Program{}).PkgPath()
)

// walkAST calls visit for every node under root, depth first, each once;
// visit returning false skips a node's children. tries is how many try
// blocks (their bodies, not catch or finally) enclose the node. goja's ast
// package has no walker, so this one follows the node structs' fields.
func walkAST(root ast.Node, visit func(n ast.Node, tries int) bool) {
	seen := make(map[ast.Node]bool)
	var walk func(v reflect.Value, tries int)
	walk = func(v reflect.Value, tries int) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), tries)
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), tries)
			}
		case reflect.Pointer:
			if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkgPath {
				return
			}
			if v.Type().Implements(astNodeType) {
				n := v.Interface().(ast.Node)
				if seen[n] {
					return
				}
				seen[n] = true
				if !visit(n, tries) {
					return
				}
				if t, ok := n.(*ast.TryStatement); ok {
					walk(reflect.ValueOf(t.Body), tries+1)
					walk(reflect.ValueOf(t.Catch), tries)
					walk(reflect.ValueOf(t.Finally), tries)
					return
				}
			}
			walk(v.Elem(), tries)
		case reflect.Struct:
			if v.Type().PkgPath() != astPkgPath {
				return
			}
			if v.CanAddr() && v.Addr().Type().Implements(astNodeType) {
				// A node held by value (DotExpression.Identifier, ...), or
				// the struct of a pointer visited above: visit through its
				// address, once.
				if n := v.Addr().Interface().(ast.Node); !seen[n] {
					seen[n] = true
					if !visit(n, tries) {
						return
					}
				}
			}
			for i := 0; i < v.NumField(); i++ {
				if f := v.Type().Field(i); f.IsExported() {
					walk(v.Field(i), tries)
				}
			}
		}
	}
	walk(reflect.ValueOf(root), 0)
}

// transformErrors presents the errors transformSource found (esbuild's,
// at positions in the file) as check reports them: the first one.
func transformErrors(display string, err error) []SyntaxError {
	var errs jstransform.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return []SyntaxError{{File: display, Line: 1, Col: 1, Msg: err.Error()}}
	}
	e := errs[0]
	return []SyntaxError{{File: display, Line: max(e.Line, 1), Col: max(e.Col, 1), Msg: e.Msg}}
}

// checkTransformed parses transformed code as the require loader will
// (esbuild's output is valid JavaScript, but goja may still refuse some
// of it), locating an error in the file through the code's source map.
func checkTransformed(display string, code []byte) []SyntaxError {
	_, err := parser.ParseFile(nil, display, moduleWrapperPrefix+string(code)+"\n})", 0)
	if err == nil {
		return nil
	}
	se := SyntaxError{File: display, Line: 1, Col: 1, Msg: err.Error()}
	var first *parser.Error
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		first = list[0]
	} else {
		errors.As(err, &first)
	}
	if first != nil {
		se.Msg = first.Message
		if l, c, ok := jstransform.OriginalPosition(code, first.Position.Line, first.Position.Column); ok {
			se.Line, se.Col = l, c
		}
	}
	return []SyntaxError{se}
}
