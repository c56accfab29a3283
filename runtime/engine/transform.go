package engine

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/dop251/goja_nodejs/require"

	"github.com/scriptd/scriptd/internal/jstransform"
)

// transformSource is what the engine compiles for the script or module
// file at path whose content is src: TypeScript, ES module syntax and the
// syntax goja cannot parse itself (for await, async generators) are
// transformed by esbuild into CommonJS with an inline source map (see
// package jstransform); plain CommonJS .js files and everything else
// (.json) come back as they are — src itself (see transformed). Errors are
// jstransform.Errors, at positions in the file. Both the require loader
// (run) and check call it, so they compile the same code.
func transformSource(path string, src []byte) ([]byte, error) {
	if !jstransform.Needed(path, src) {
		return src, nil
	}
	return jstransform.Transform(path, src)
}

// transformed reports whether code, returned by transformSource for src,
// is a transform's output rather than src itself.
func transformed(src, code []byte) bool {
	return len(code) != len(src) || (len(code) > 0 && &code[0] != &src[0])
}

// isScriptFile reports whether a directory entry named name is a script
// that a directory PATH loads (top level) or that check compiles: .js,
// .mjs, .cjs, .ts, .mts or .cts, not hidden, not a .d.ts declaration file.
func isScriptFile(name string) bool {
	return jstransform.IsScript(name) && !strings.HasPrefix(name, ".")
}

// resolveScriptPath is the require registry's PathResolver: goja_nodejs's
// default (join, resolve symlinks), and when that names no file, the
// TypeScript ways of naming a module: "./x.js" for x.ts (and .mjs for .mts,
// .cjs for .cts), which is how TypeScript's node16 resolution has imports
// written, and "./x" for x.ts, x.mts, x.mjs, x.cjs or x.cts (goja_nodejs
// itself tries x, x.js, x.json, then the directory: package.json's main,
// index.js — which this maps to index.ts — and index.json).
func resolveScriptPath(base, name string) string {
	p := require.DefaultPathResolver(base, name)
	if isFile(p) {
		return p
	}
	ext := filepath.Ext(p)
	stem := strings.TrimSuffix(p, ext)
	switch ext {
	case ".js":
		if isFile(stem + ".ts") {
			return stem + ".ts"
		}
	case ".mjs":
		if isFile(stem + ".mts") {
			return stem + ".mts"
		}
	case ".cjs":
		if isFile(stem + ".cts") {
			return stem + ".cts"
		}
	}
	if !isPathName(name) {
		// A bare name (a native module, node_modules lookups): as is.
		return p
	}
	if isFile(p+".js") || isFile(p+".json") {
		return p // goja_nodejs finds these itself, before a directory p
	}
	for _, x := range []string{".ts", ".mts", ".mjs", ".cjs", ".cts"} {
		if isFile(p + x) {
			return p + x
		}
	}
	return p
}

// isPathName reports whether a require()/import name is a path rather
// than a module name, as goja_nodejs tells them apart.
func isPathName(name string) bool {
	return name == "." || name == ".." || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || filepath.IsAbs(name)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
