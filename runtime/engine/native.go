package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/scripts"
)

// registerModules makes each of Config.Modules loadable on reg (one
// version's registry) by require and import: the module's factory runs on
// the first require in this version and its exports (converted with
// ext.ToValue) are the module's. A factory's error or panic is thrown to
// the script that required the module.
func (v *version) registerModules(reg *require.Registry, h host) error {
	for name, factory := range v.e.cfg.Modules {
		if err := checkModuleName(name); err != nil {
			return err
		}
		if factory == nil {
			return fmt.Errorf("module %q: nil ModuleFactory", name)
		}
		reg.RegisterNativeModule(name, func(vm *goja.Runtime, module *goja.Object) {
			exports, err := callFactory(h, name, factory)
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("module %s: %w", name, err)))
			}
			_ = module.Set("exports", ext.ToValue(h, name, exports))
		})
	}
	return nil
}

// callFactory runs factory, turning a panic into an error.
func callFactory(h host, name string, factory ext.ModuleFactory) (exports any, err error) {
	defer func() {
		if r := recover(); r != nil {
			switch r.(type) {
			case goja.Value, *goja.Exception, *goja.InterruptedError, *goja.StackOverflowError:
				panic(r) // thrown on purpose, or the watchdog: passes through
			}
			h.Logger().Error("panic in module factory", "module", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return factory(h)
}

// checkModuleName refuses names require would never look up as a Go
// module (paths) and names of the bundled library.
func checkModuleName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) != name:
		return fmt.Errorf("module name %q: empty or padded", name)
	case name == "." || name == ".." || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/"):
		return fmt.Errorf("module name %q: a path, not a module name", name)
	}
	if _, bundled := scripts.Source(name); bundled {
		return fmt.Errorf("module name %q: taken by the bundled library", name)
	}
	return nil
}

// argv is process.argv: the executable, the first script PATH (absolute)
// and Config.Args, as `scriptd run PATH... -- ARG...` passes them.
func (e *Engine) argv() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	argv := []string{exe}
	if len(e.cfg.Paths) > 0 {
		p := e.cfg.Paths[0]
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		argv = append(argv, p)
	}
	return append(argv, e.cfg.Args...)
}

// setArgv sets process.argv (a fresh array per version, scripts may
// change it) on the process object the core globals installed, or on a
// new one if there is none.
func (v *version) setArgv(vm *goja.Runtime) error {
	proc, _ := vm.Get("process").(*goja.Object)
	if proc == nil {
		proc = vm.NewObject()
		if err := vm.Set("process", proc); err != nil {
			return fmt.Errorf("define process: %w", err)
		}
	}
	argv := v.e.argv()
	items := make([]any, len(argv))
	for i, a := range argv {
		items[i] = a
	}
	if err := proc.Set("argv", vm.NewArray(items...)); err != nil {
		return fmt.Errorf("define process.argv: %w", err)
	}
	return nil
}

// languageSetup completes goja's built-ins with what the language has and
// transformed code relies on: the well-known symbols Symbol.asyncIterator
// (the protocol `for await` and async generators use, lowered by esbuild
// to code that looks the symbol up on Symbol), Symbol.dispose and
// Symbol.asyncDispose (`using`). Each is the registered symbol esbuild's
// helpers fall back to, so code transformed before and after agrees.
var languageSetup = goja.MustCompile("scriptd:language.js", `(function () {
  for (var name of ["asyncIterator", "dispose", "asyncDispose"]) {
    if (typeof Symbol[name] !== "symbol") {
      Object.defineProperty(Symbol, name, { value: Symbol.for("Symbol." + name) });
    }
  }
})()`, true)

func installLanguage(vm *goja.Runtime) error {
	if _, err := vm.RunProgram(languageSetup); err != nil {
		return fmt.Errorf("language setup: %w", err)
	}
	return nil
}
