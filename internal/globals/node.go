package globals

import (
	_ "embed"
	neturl "net/url"
	"slices"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
	"github.com/dop251/goja_nodejs/require"
	"github.com/dop251/goja_nodejs/url"
	"github.com/dop251/goja_nodejs/util"

	"github.com/scriptd/scriptd/runtime/ext"
)

// Node.js's Buffer and the require()-able "buffer", "url" and "util"
// modules (also as "node:buffer", ...): goja_nodejs's buffer and url
// completed by node.js, and a util over the console's formatting.

//go:embed node.js
var nodeJS string

var nodeProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("scriptd:node.js", nodeJS, true)
})

// symNode keys a version's module exports (buffer, url, util) on its
// global object, for the loaders RegisterNodeModules registers.
var symNode = goja.NewSymbol("scriptd.node")

// nodeModules names the modules RegisterNodeModules provides.
var nodeModules = []string{"buffer", "url", "util"}

// RegisterNodeModules makes require("buffer"), require("url") and
// require("util") (and their "node:" names) load scriptd's modules on
// runtimes using reg: the very Buffer, URL and URLSearchParams the globals
// are, and a util with format, inspect, promisify, callbackify, inherits,
// deprecate, isDeepStrictEqual, types, TextEncoder and TextDecoder.
// On a runtime without scriptd's globals they fall back to goja_nodejs's
// modules. Call it when building the registry, before Enable.
func RegisterNodeModules(reg *require.Registry) {
	fallback := map[string]require.ModuleLoader{"buffer": buffer.Require, "url": url.Require, "util": util.Require}
	for _, name := range nodeModules {
		loader := nodeModuleLoader(name, fallback[name])
		reg.RegisterNativeModule(name, loader)
		reg.RegisterNativeModule("node:"+name, loader)
	}
}

func nodeModuleLoader(name string, fallback require.ModuleLoader) require.ModuleLoader {
	return func(vm *goja.Runtime, module *goja.Object) {
		exports, ok := NodeModule(vm, name)
		if !ok {
			fallback(vm, module)
			return
		}
		_ = module.Set("exports", exports)
	}
}

// NodeModule returns the exports of scriptd's "buffer", "url" or "util"
// module ("node:buffer", ... too) on vm, a runtime the core globals were
// installed on: for module loaders other than goja_nodejs's registry
// (RegisterNodeModules wires that one). False for other names.
func NodeModule(vm *goja.Runtime, name string) (goja.Value, bool) {
	name = strings.TrimPrefix(name, "node:")
	if !slices.Contains(nodeModules, name) {
		return nil, false
	}
	mods, ok := vm.GlobalObject().GetSymbol(symNode).(*goja.Object)
	if !ok {
		return nil, false
	}
	return mods.Get(name), true
}

// nodeBase builds goja_nodejs's buffer and url modules on vm, without
// going through require (whichever loader the engine uses), and defines
// the Buffer, URL and URLSearchParams globals.
func nodeBase(vm *goja.Runtime) (bufferExports, urlExports *goja.Object) {
	build := func(loader require.ModuleLoader) *goja.Object {
		m := vm.NewObject()
		exports := vm.NewObject()
		_ = m.Set("exports", exports)
		loader(vm, m)
		return m.Get("exports").(*goja.Object)
	}
	bufferExports = build(buffer.Require)
	urlExports = build(url.Require)
	_ = vm.Set("Buffer", bufferExports.Get("Buffer"))
	_ = vm.Set("URL", urlExports.Get("URL"))
	_ = vm.Set("URLSearchParams", urlExports.Get("URLSearchParams"))
	return bufferExports, urlExports
}

// runNodePrelude completes Buffer and builds the modules (node.js), and
// keeps their exports for RegisterNodeModules' loaders.
func runNodePrelude(h ext.Host, natives, web, bufferExports, urlExports *goja.Object) error {
	vm := h.Runtime()
	_ = natives.Set("inspect", h.Func("util.inspect", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(newInspector(vm, InspectOptions{Depth: max(int(call.Argument(1).ToInteger()), 0)}).inspect(call.Argument(0)))
	}))
	_ = natives.Set("format", h.Func("util.format", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(formatConsole(vm, call.Arguments))
	}))
	_ = natives.Set("resolveURL", h.Func("URL", func(call goja.FunctionCall) goja.Value {
		base, err := neturl.Parse(call.Argument(1).String())
		if err != nil {
			return goja.Null()
		}
		ref, err := neturl.Parse(call.Argument(0).String())
		if err != nil {
			return goja.Null()
		}
		return vm.ToValue(base.ResolveReference(ref).String())
	}))
	mods, err := runPrelude(vm, nodeProgram(), natives, vm.GlobalObject(), web, bufferExports, urlExports)
	if err != nil {
		return err
	}
	return vm.GlobalObject().DefineDataPropertySymbol(symNode, mods, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}
