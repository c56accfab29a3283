package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw/builtin"
)

// writeScript puts one script in a temporary directory for the examples.
func writeScript(src string) (dir string) {
	dir, err := os.MkdirTemp("", "scriptd-example")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.js"), []byte(src), 0o644); err != nil {
		panic(err)
	}
	return dir
}

// An engine runs scripts: init, events fed from Go, then done when idle.
func Example() {
	dir := writeScript(`
		let total = 0;
		on("login", (user, ok) => { if (!ok) total++; });
		on("done", () => print("failed logins:", total));
	`)
	defer os.RemoveAll(dir)

	eng, err := engine.New(engine.Config{Paths: []string{dir}})
	if err != nil {
		panic(err)
	}
	// Emit is safe from any goroutine; events queue until the loop runs.
	for _, ok := range []bool{false, true, false} {
		if err := eng.Emit("login", "alice", ok); err != nil {
			panic(err)
		}
	}
	if err := eng.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output: failed logins: 2
}

// Host functions let scripts call into Go; results come back the same way.
func Example_extension() {
	dir := writeScript(`on("init", () => report(double(21)));`)
	defer os.RemoveAll(dir)

	var got []int64
	doubler := func(h ext.Host) (func(), error) {
		if err := ext.SetFunc(h, "double", func(c goja.FunctionCall) goja.Value {
			return h.Runtime().ToValue(c.Argument(0).ToInteger() * 2)
		}); err != nil {
			return nil, err
		}
		return nil, ext.SetFunc(h, "report", func(c goja.FunctionCall) goja.Value {
			got = append(got, c.Argument(0).ToInteger())
			return goja.Undefined()
		})
	}
	eng, err := engine.New(engine.Config{Paths: []string{dir}, Extensions: []ext.Extension{doubler}})
	if err != nil {
		panic(err)
	}
	if err := eng.Run(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(got)
	// Output: [42]
}

// The storage framework is an extension; its built-in backends are SQLite
// and Redis, and a Go program can register its own next to them.
func ExampleExtension_storage() {
	dir := writeScript(`
		on("init", async () => {
			const db = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{ sqlite: { database_path: ":memory:", table_name: "t" } }, "string", "count")).value;
			await Storage.Async.put(db, { key: "hits", value: 41 });
			const r = await Storage.Async.get(db, "hits");
			print(r.code, r.value + 1);
		});
	`)
	defer os.RemoveAll(dir)

	eng, err := engine.New(engine.Config{
		Paths:      []string{dir},
		Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: builtin.Backends()})},
	})
	if err != nil {
		panic(err)
	}
	if err := eng.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output: SUCCESS 42
}
