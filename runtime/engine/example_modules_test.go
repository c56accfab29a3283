package engine_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
)

// A Go-native module: scripts import it (or require it) by name. The
// factory runs once per version of the scripts; its exports are a
// map[string]any of Go functions and values. lookup is asynchronous, under
// the RegisterCallback contract; a panic in any exported function is a JS
// Error the script can catch.
func Example_modules() {
	dir, err := os.MkdirTemp("", "scriptd-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	script := `import { upper, lookup, broken } from "acme/strings";
on("init", async () => {
  print(upper("hello"), await lookup("answer"));
  try { broken(); } catch (e) { print("caught:", e.message); }
});
`
	if err := os.WriteFile(filepath.Join(dir, "main.ts"), []byte(script), 0o644); err != nil {
		panic(err)
	}
	acme := func(h ext.Host) (any, error) {
		return map[string]any{
			"upper":  strings.ToUpper,
			"broken": func() { panic("out of order") },
			"lookup": func(c goja.FunctionCall) goja.Value {
				key := c.Argument(0).String()
				promise, resolve, _ := h.Runtime().NewPromise()
				complete := h.RegisterCallback() // on the loop, before the work starts
				go func() {
					v := len(key) * 7 // the slow Go work, off the loop
					complete(func() { _ = resolve(v) })
				}()
				return h.Runtime().ToValue(promise)
			},
		}, nil
	}
	eng, err := engine.New(engine.Config{
		Paths:   []string{dir},
		Modules: map[string]ext.ModuleFactory{"acme/strings": acme},
		Logger:  slog.New(slog.DiscardHandler), // the panic is logged with its Go stack
	})
	if err != nil {
		panic(err)
	}
	if err := eng.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// HELLO 42
	// caught: internal error in acme/strings.broken: out of order
}
