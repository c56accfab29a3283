// Package jstransform turns a script file as written — ES module syntax,
// TypeScript, syntax goja cannot parse itself — into the CommonJS module
// source goja_nodejs/require compiles, with esbuild (one api.Transform per
// file, no bundling: modules stay separate files, resolved by require at
// run time).
//
// The output keeps the file's positions through an inline source map that
// goja reads, so stack traces, compile errors and check point at the
// original file:line:col. Types are stripped, never checked.
package jstransform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/go-sourcemap/sourcemap"
)

// Extensions are the script file kinds, in the order an extensionless
// relative import tries them after goja_nodejs's own .js and .json.
var Extensions = []string{".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"}

// IsScript reports whether a file name is a script file: .js, .mjs, .cjs,
// .ts, .mts or .cts, but not a TypeScript declaration file (.d.ts), which
// holds no code.
func IsScript(name string) bool {
	switch filepath.Ext(name) {
	case ".js", ".mjs", ".cjs":
		return true
	case ".ts", ".mts", ".cts":
		return !isDeclaration(name)
	}
	return false
}

// IsTypeScript reports whether a file name is TypeScript (.ts, .mts, .cts).
func IsTypeScript(name string) bool {
	switch filepath.Ext(name) {
	case ".ts", ".mts", ".cts":
		return true
	}
	return false
}

func isDeclaration(name string) bool {
	base := filepath.Base(name)
	for _, s := range []string{".d.ts", ".d.mts", ".d.cts"} {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// Needed reports whether the file at path must be transformed before goja
// can compile it: TypeScript and .mjs files always; .js and .cjs files
// only if they look like they use ES module syntax (import/export, import(),
// import.meta) or syntax goja lacks (for await, async generators). Plain
// CommonJS files load untouched, as fast as ever. A false positive only
// costs a transform (whose output behaves the same); anything else is a
// compile error from goja, as before.
func Needed(path string, src []byte) bool {
	switch filepath.Ext(path) {
	case ".ts", ".mts", ".cts", ".mjs":
		return true
	case ".js", ".cjs":
		if !bytes.Contains(src, []byte("import")) && !bytes.Contains(src, []byte("export")) &&
			!bytes.Contains(src, []byte("await")) && !bytes.Contains(src, []byte("async")) {
			return false
		}
		return needsRE.Match(src)
	}
	return false
}

var (
	// needsRE finds ES module syntax (statements at the start of a line,
	// dynamic import(), import.meta), the syntax goja cannot parse, and
	// what looks like a top-level await (an unindented line starting with
	// await or assigning one), for esbuild's error and its hint.
	needsRE = regexp.MustCompile(`(?m)^[ \t]*(?:import[ \t]*[{*"'\x60]|import[ \t]+[\w$]|export[ \t]*[{*]|export[ \t]+[\w$])|\bimport\s*\(|\bimport\.meta\b|\bfor\s+await\b|\basync\s*\*|\basync\s+function\s*\*|^await\b|^(?:const|let|var)\s[^=\n]*=\s*await\b`)
	// esmRE finds ES module statements: a file with them is a module, and
	// strict as modules are.
	esmRE = regexp.MustCompile(`(?m)^[ \t]*(?:import[ \t]*[{*"'\x60]|import[ \t]+[\w$]|export[ \t]*[{*]|export[ \t]+[\w$])`)
)

// Error is one error esbuild found, at its 1-based position in the file.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors are the errors of one file, in the file's order; the first is
// the one to show (later ones are often its consequences).
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	if len(es) == 1 {
		return es[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", es[0].Error(), len(es)-1)
}

// unsupported are the features of modern JavaScript goja (the version in
// go.mod) cannot parse or run, for esbuild to lower; everything else goja
// has (ES2022 and then some: class fields and static blocks, ??=, ?.,
// private #x in o, ...) is left as written.
var unsupported = map[string]bool{
	"async-generator": false,
	"for-await":       false,
	"using":           false,
	"decorators":      false,
	"dynamic-import":  false,
	"import-meta":     false,
}

// tlaHint replaces esbuild's message for top-level await.
const tlaHint = `top-level await is not supported: scripts load as CommonJS modules (hint: move the code into an async function, such as an init handler: on("init", async () => { ... }))`

// Transform converts src, the content of the file at path, into CommonJS
// for goja: ES module syntax becomes require/exports (format CJS, as
// esbuild's interop does it: `import x from "./cjs.js"` binds
// module.exports), TypeScript types are stripped (loader by extension),
// syntax goja lacks is lowered, and an inline source map points back at
// the file. The first line of the output is `"use strict";` for a module
// (a .mjs/.mts file, or one with import/export statements) and empty
// otherwise: goja_nodejs's module wrapper shares that line, so no code of
// the file sits beside it. import.meta.url, .filename and .dirname are the
// file's. Errors are Errors, at positions in the file.
func Transform(path string, src []byte) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	loader := api.LoaderJS
	if IsTypeScript(path) {
		loader = api.LoaderTS
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	res := api.Transform(string(src), api.TransformOptions{
		Loader:         loader,
		Format:         api.FormatCommonJS,
		Target:         api.ESNext,
		Supported:      unsupported,
		Sourcemap:      api.SourceMapExternal,
		SourcesContent: api.SourcesContentExclude,
		Sourcefile:     neutralName(path),
		LogLevel:       api.LogLevelSilent,
		Define: map[string]string{
			"import.meta.url":      jsonString(fileURL),
			"import.meta.filename": jsonString(abs),
			"import.meta.dirname":  jsonString(filepath.Dir(abs)),
		},
	})
	if len(res.Errors) > 0 {
		errs := make(Errors, 0, len(res.Errors))
		for _, m := range res.Errors {
			e := &Error{File: path, Msg: m.Text}
			if m.Location != nil {
				e.Line, e.Col = m.Location.Line, m.Location.Column+1
			}
			if strings.HasPrefix(m.Text, "Top-level await is") {
				e.Msg = tlaHint
			}
			errs = append(errs, e)
		}
		return nil, errs
	}
	mappings, err := shiftMappings(res.Map, filepath.Base(path))
	if err != nil {
		return nil, Errors{{File: path, Msg: "source map: " + err.Error()}}
	}
	first := "\n"
	if strict(path, src) {
		first = "\"use strict\";\n"
	}
	var b bytes.Buffer
	b.Grow(len(first) + len(res.Code) + len(mappings)*4/3 + 128)
	b.WriteString(first)
	b.Write(res.Code)
	if len(res.Code) > 0 && res.Code[len(res.Code)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("//# sourceMappingURL=data:application/json;base64,")
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	_, _ = enc.Write(mappings)
	_ = enc.Close()
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// neutralName is the name esbuild is told the file has: .mjs and .mts
// files would make its interop treat every import as Node treats an
// import of CommonJS (the default export is module.exports even for a
// module compiled from ES module syntax), while here every module is
// CommonJS and those compiled from ES modules say so with __esModule.
func neutralName(path string) string {
	base := filepath.Base(path)
	switch filepath.Ext(base) {
	case ".mjs", ".cjs":
		return strings.TrimSuffix(base, filepath.Ext(base)) + ".js"
	case ".mts", ".cts":
		return strings.TrimSuffix(base, filepath.Ext(base)) + ".ts"
	}
	return base
}

func strict(path string, src []byte) bool {
	switch filepath.Ext(path) {
	case ".mjs", ".mts":
		return true
	}
	return esmRE.Match(src)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shiftMappings rewrites esbuild's source map for goja's reading of it:
// the source is named source (goja resolves it against the module's path),
// one generated line is added at the top (the line Transform begins with),
// and columns become 1-based on both sides, because goja looks a position
// up with a 1-based column and reports the column it finds as is, while
// source maps count from 0.
func shiftMappings(mapJSON []byte, source string) ([]byte, error) {
	var m struct {
		Version  int      `json:"version"`
		Sources  []string `json:"sources"`
		Names    []string `json:"names"`
		Mappings string   `json:"mappings"`
	}
	if err := json.Unmarshal(mapJSON, &m); err != nil {
		return nil, err
	}
	shifted, err := shiftColumns(m.Mappings)
	if err != nil {
		return nil, err
	}
	m.Mappings = ";" + shifted
	m.Sources = []string{source}
	if m.Names == nil {
		m.Names = []string{}
	}
	return json.Marshal(m)
}

// shiftColumns adds 1 to every generated column (the first segment of
// each line holds it absolutely; later ones are relative) and to every
// source column (relative across the whole map, so only the first segment
// with a source holds it absolutely).
func shiftColumns(mappings string) (string, error) {
	var out strings.Builder
	out.Grow(len(mappings) + len(mappings)/8 + 8)
	srcDone := false
	for i, line := range strings.Split(mappings, ";") {
		if i > 0 {
			out.WriteByte(';')
		}
		if line == "" {
			continue
		}
		if srcDone {
			// Only the line's first generated column changes.
			v, n, err := decodeVLQ(line)
			if err != nil {
				return "", err
			}
			out.WriteString(encodeVLQ(v + 1))
			out.WriteString(line[n:])
			continue
		}
		for j, seg := range strings.Split(line, ",") {
			if j > 0 {
				out.WriteByte(',')
			}
			if j > 0 && srcDone {
				out.WriteString(seg)
				continue
			}
			var fields []int
			for rest := seg; rest != ""; {
				v, n, err := decodeVLQ(rest)
				if err != nil {
					return "", err
				}
				fields = append(fields, v)
				rest = rest[n:]
			}
			if j == 0 && len(fields) > 0 {
				fields[0]++
			}
			if !srcDone && len(fields) >= 4 {
				fields[3]++
				srcDone = true
			}
			for _, f := range fields {
				out.WriteString(encodeVLQ(f))
			}
		}
	}
	return out.String(), nil
}

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var b64index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(b64chars); i++ {
		t[b64chars[i]] = int8(i)
	}
	return t
}()

// decodeVLQ reads one base64 VLQ number from the start of s and returns
// it with the number of bytes it took.
func decodeVLQ(s string) (int, int, error) {
	var v, shift int
	for i := 0; i < len(s); i++ {
		d := b64index[s[i]]
		if d < 0 {
			return 0, 0, fmt.Errorf("bad mapping character %q", s[i])
		}
		v |= int(d&31) << shift
		if d&32 == 0 {
			if v&1 != 0 {
				return -(v >> 1), i + 1, nil
			}
			return v >> 1, i + 1, nil
		}
		shift += 5
		if shift > 60 {
			return 0, 0, fmt.Errorf("mapping number too long")
		}
	}
	return 0, 0, fmt.Errorf("truncated mapping")
}

func encodeVLQ(v int) string {
	u := v << 1
	if v < 0 {
		u = (-v << 1) | 1
	}
	var buf [13]byte
	n := 0
	for {
		d := u & 31
		u >>= 5
		if u > 0 {
			d |= 32
		}
		buf[n] = b64chars[d]
		n++
		if u == 0 {
			break
		}
	}
	return string(buf[:n])
}

// OriginalPosition maps a 1-based line and column in code, an output of
// Transform, back to the file it was made from, through the source map
// Transform appended (for positions goja reports without reading it, such
// as those of its parser's errors).
func OriginalPosition(code []byte, line, col int) (int, int, bool) {
	const marker = "//# sourceMappingURL=data:application/json;base64,"
	i := bytes.LastIndex(code, []byte(marker))
	if i < 0 {
		return 0, 0, false
	}
	data := bytes.TrimSpace(code[i+len(marker):])
	mapJSON := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(mapJSON, data)
	if err != nil {
		return 0, 0, false
	}
	sm, err := sourcemap.Parse("", mapJSON[:n])
	if err != nil {
		return 0, 0, false
	}
	_, _, l, c, ok := sm.Source(line, col)
	return l, c, ok
}
