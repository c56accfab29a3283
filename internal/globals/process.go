package globals

import (
	"os"
	"strings"

	"github.com/dop251/goja"
)

// installProcess defines a minimal Node-style `process` global: env (a
// frozen snapshot of the environment at start-up), pid and platform, so
// scripts can be configured without editing them.
func installProcess(vm *goja.Runtime) {
	env := vm.NewObject()
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			_ = env.Set(k, v)
		}
	}
	proc := vm.NewObject()
	_ = proc.Set("env", env)
	_ = proc.Set("pid", os.Getpid())
	_ = proc.Set("platform", "linux")
	if freeze, ok := goja.AssertFunction(vm.Get("Object").(*goja.Object).Get("freeze")); ok {
		_, _ = freeze(goja.Undefined(), env)
	}
	_ = vm.Set("process", proc)
}
