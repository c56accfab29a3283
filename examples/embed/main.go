// Command embed shows scriptd inside a Go program: it registers a storage
// backend of its own (an in-memory map, Storage.STORAGE_BACKEND_MEMORY),
// loads a script, feeds it events from Go goroutines and reads results back
// through a host function.
//
//	go run ./examples/embed
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/builtin"
)

// script counts failed logins per user and reports a user once when it
// reaches three failures. The count is plain JS state; "once" is the
// storage put with overwrite: false, which is atomic even across processes
// sharing a store (a get-then-put would race between concurrent handlers).
const script = `
let db;
const fails = new Map();
on("init", async () => {
  db = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_MEMORY, { memory: {} }, "string", "count")).value;
});
on("login", async (user, ok) => {
  if (ok) { fails.delete(user); return; }
  const n = (fails.get(user) || 0) + 1;
  fails.set(user, n);
  if (n < 3) return;
  const r = await Storage.Async.put(db, { key: user, value: n, overwrite: false });
  if (r.code === Storage.SUCCESS) report(user, n);
});
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "scriptd-embed")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "logins.js"), []byte(script), 0o644); err != nil {
		return err
	}

	var mu sync.Mutex
	var flagged []string
	report := func(h ext.Host) (func(), error) {
		return nil, ext.SetFunc(h, "report", func(c goja.FunctionCall) goja.Value {
			mu.Lock()
			flagged = append(flagged, fmt.Sprintf("%s reached %d failed logins", c.Argument(0), c.Argument(1).ToInteger()))
			mu.Unlock()
			return goja.Undefined()
		})
	}
	backends := append(builtin.Backends(), storagefw.BackendType{Name: "MEMORY", OptionsField: "memory", Open: openMemory})
	eng, err := engine.New(engine.Config{
		Paths:      []string{dir},
		Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: backends}), report},
	})
	if err != nil {
		return err
	}

	// Feed events from several goroutines; Emit is safe from any of them.
	var wg sync.WaitGroup
	for _, user := range []string{"alice", "bob", "carol"} {
		wg.Add(1)
		go func(user string) {
			defer wg.Done()
			fails := map[string]int{"alice": 4, "bob": 1, "carol": 3}[user]
			for i := 0; i < fails; i++ {
				_ = eng.Emit("login", user, false)
			}
			_ = eng.Emit("login", user, true)
		}(user)
	}
	wg.Wait()
	// Run until the engine is idle: every event handled, every operation settled.
	if err := eng.Run(context.Background()); err != nil {
		return err
	}
	sort.Strings(flagged)
	for _, f := range flagged {
		fmt.Println(f)
	}
	return nil
}

// memory is a storagefw.Backend over a map: the smallest complete backend.
// Its one mutex keeps operations in submission order.
type memory struct {
	mu     sync.Mutex
	data   map[string]entry
	closed bool
}

type entry struct {
	value    []byte
	expireAt float64
}

func openMemory(context.Context, storagefw.OpenConfig) (storagefw.Backend, error) {
	return &memory{data: map[string]entry{}}, nil
}

func (m *memory) Submit(ops ...*storagefw.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		if m.closed {
			op.Complete(storagefw.Reply{Code: storagefw.NotConnected})
			continue
		}
		k := string(op.Key)
		e, ok := m.data[k]
		live := ok && (e.expireAt == 0 || e.expireAt > op.Now)
		switch op.Kind {
		case storagefw.PutRequest:
			if live && !op.Overwrite {
				op.Complete(storagefw.Reply{Code: storagefw.KeyExists})
				continue
			}
			m.data[k] = entry{value: op.Value, expireAt: op.ExpireAt}
			op.Complete(storagefw.Reply{Code: storagefw.Success})
		case storagefw.GetRequest:
			if !live {
				op.Complete(storagefw.Reply{Code: storagefw.KeyNotFound})
				continue
			}
			op.Complete(storagefw.Reply{Code: storagefw.Success, Value: e.value})
		case storagefw.EraseRequest:
			delete(m.data, k)
			if !live {
				op.Complete(storagefw.Reply{Code: storagefw.KeyNotFound})
				continue
			}
			op.Complete(storagefw.Reply{Code: storagefw.Success})
		}
	}
}

func (m *memory) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
