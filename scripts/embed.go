// Package scripts holds the JavaScript library shipped inside the scriptd
// binary. Scripts load a module by name: require("scriptd/known"),
// require("scriptd/sumstats"). The sources are embedded at build time and
// immutable, so Register is safe to call for any number of runtimes.
package scripts

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"
)

//go:embed lib/*.js
var lib embed.FS

// Prefix is the module name prefix of the bundled library.
const Prefix = "scriptd/"

// Names lists the bundled modules ("scriptd/known", ...), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(lib, "lib")
	var names []string
	for _, e := range entries {
		names = append(names, Prefix+strings.TrimSuffix(e.Name(), ".js"))
	}
	sort.Strings(names)
	return names
}

// Source returns a bundled module's source by name ("scriptd/known").
func Source(name string) ([]byte, bool) {
	if !strings.HasPrefix(name, Prefix) {
		return nil, false
	}
	b, err := lib.ReadFile("lib/" + strings.TrimPrefix(name, Prefix) + ".js")
	return b, err == nil
}

// Register makes every bundled module loadable with require() on runtimes
// that use reg.
func Register(reg *require.Registry) {
	for _, name := range Names() {
		src, _ := Source(name)
		prog, err := goja.Compile(name+".js", "(function(exports, require, module) {"+string(src)+"\n})", false)
		if err != nil {
			// The sources are fixed at build time and compiled by the tests.
			panic(fmt.Sprintf("scripts: %s: %v", name, err))
		}
		reg.RegisterNativeModule(name, func(vm *goja.Runtime, module *goja.Object) {
			fn, err := vm.RunProgram(prog)
			if err != nil {
				panic(err)
			}
			call, _ := goja.AssertFunction(fn)
			if _, err := call(goja.Undefined(), module.Get("exports"), vm.Get("require"), module); err != nil {
				panic(err)
			}
		})
	}
}

//go:embed scriptd.d.ts
var declarations []byte

// Declarations returns the TypeScript declarations of the script globals
// and Storage (scriptd.d.ts), for editors.
func Declarations() []byte { return declarations }
