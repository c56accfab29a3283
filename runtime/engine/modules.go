package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dop251/goja/parser"

	"github.com/scriptd/scriptd/internal/jstransform"
)

// ScriptFiles expands script PATHs: a file stands for itself, a directory
// for its top-level script files (.js, .mjs, .cjs, .ts, .mts, .cts; not
// .d.ts) in lexical order (subdirectories hold modules for require). Paths come back absolute, so stack traces and require()
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

// SyntaxError is one compile error at file:line:col.
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e SyntaxError) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// moduleWrapperPrefix is what goja_nodejs/require puts before a module's
// source on its first line; columns on line 1 are shifted by its length.
const moduleWrapperPrefix = "(function(exports,require,module,__filename,__dirname){"

// CheckSource compiles src as a CommonJS module and returns its first
// syntax error (later ones are usually consequences of the first), with
// its position in the original file. display names the file, whose kind
// (TypeScript, ES module, plain CommonJS) decides how it is compiled, as
// run does (transformSource). Types are not checked.
func CheckSource(display string, src []byte) []SyntaxError {
	code, err := transformSource(display, src)
	if err != nil {
		return transformErrors(display, err)
	}
	if transformed(src, code) {
		return checkTransformed(display, code)
	}
	// Parse the file as written so positions are the file's own; only a
	// top-level return (legal in a CommonJS module) needs the wrapper.
	_, err = parser.ParseFile(nil, display, string(src), 0)
	shift := 0
	if err != nil && strings.Contains(err.Error(), "Illegal return") {
		_, err = parser.ParseFile(nil, display, moduleWrapperPrefix+string(src)+"\n})", 0)
		shift = len(moduleWrapperPrefix)
	}
	if err == nil {
		return nil
	}
	var first *parser.Error
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		first = list[0]
	} else if !errors.As(err, &first) {
		return []SyntaxError{{File: display, Line: 1, Col: 1, Msg: err.Error()}}
	}
	line, col := first.Position.Line, first.Position.Column
	if line == 1 {
		col = max(col-shift, 1)
	}
	return []SyntaxError{{File: display, Line: line, Col: col, Msg: first.Message}}
}

// Check compiles every script under paths (top-level files and the modules
// in their subdirectories) and returns all syntax errors found.
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
	var all []SyntaxError
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read script: %w", err)
		}
		all = append(all, CheckSource(f, src)...)
	}
	return all, nil
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
