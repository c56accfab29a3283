package storagejs_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/runtime/storagejs"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/builtin"
)

// benchScript keeps INFLIGHT operations in flight from JS until N are done,
// each acknowledged (for puts: committed) before its worker issues another.
const benchScript = `
on("init", async () => {
  const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: __DB__, table_name: "bench" } }, "string", "string")).value;
  for (let i = 0; i < 1000; i++) Storage.Sync.put(h, { key: "k" + i, value: "value-" + i });
  // __INFLIGHT__ async workers, each awaiting its operation before issuing
  // the next: the way scripts are written, and cheaper in goja than .then
  // chains (await allocates no derived promise).
  let issued = 0, done = 0, bad = 0;
  const worker = async () => {
    while (issued < __N__) {
      const i = issued++;
      const r = await (__OP__ === "get" ? Storage.Async.get(h, "k" + (i % 1000)) : Storage.Async.put(h, { key: "k" + i, value: "value-" + i }));
      if (r.code !== "SUCCESS") bad++;
      done++;
    }
  };
  const workers = [];
  for (let i = 0; i < __INFLIGHT__; i++) workers.push(worker());
  await Promise.all(workers);
  if (bad > 0) throw new Error(bad + " operations failed");
  report(done);
});
`

// BenchmarkScriptOps measures Storage.Async put/get from a script through
// the whole product path (JS binding, framework, SQLite backend) with 1, 100
// and 1,000 operations in flight; compare with the backend-level
// BenchmarkPut/BenchmarkGet and the raw go-sqlite3 baselines in
// storagefw/sqlite.
func BenchmarkScriptOps(b *testing.B) {
	for _, op := range []string{"put", "get"} {
		for _, inflight := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/inflight=%d", op, inflight), func(b *testing.B) {
				dir := b.TempDir()
				src := strings.NewReplacer("__DB__", strconv.Quote(filepath.Join(dir, "b.db")), "__OP__", strconv.Quote(op),
					"__INFLIGHT__", strconv.Itoa(inflight), "__N__", strconv.Itoa(b.N)).Replace(benchScript)
				script := filepath.Join(dir, "bench.js")
				if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
					b.Fatal(err)
				}
				var done int64
				report := func(h ext.Host) (func(), error) {
					return nil, ext.SetValue(h, "report", func(n int64) { done = n })
				}
				eng, err := engine.New(engine.Config{
					Paths: []string{script}, Stdout: io.Discard, Stderr: os.Stderr,
					Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: builtin.Backends()}), report},
				})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				if err := eng.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if done != int64(b.N) {
					b.Fatalf("done %d of %d", done, b.N)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}

// instantBackend completes every request at once on its own goroutine (a
// put succeeds, a get finds "value"): with it BenchmarkScriptOverhead
// measures what the binding, the framework and the loop cost per
// operation, without a store's work.
type instantBackend struct {
	mu    sync.Mutex
	queue []*storagefw.Request
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
}

func openInstant(context.Context, storagefw.OpenConfig) (storagefw.Backend, error) {
	b := &instantBackend{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b, nil
}

var instantValue = []byte(`JSONv1;"value"`)

func (b *instantBackend) run() {
	defer close(b.done)
	for {
		select {
		case <-b.wake:
		case <-b.quit:
			return
		}
		b.mu.Lock()
		list := b.queue
		b.queue = nil
		b.mu.Unlock()
		for _, op := range list {
			if !op.Take() {
				continue
			}
			r := storagefw.Reply{Code: storagefw.Success}
			if op.Kind == storagefw.GetRequest {
				r.Value = instantValue
			}
			op.Complete(r)
		}
	}
}

func (b *instantBackend) Submit(ops ...*storagefw.Request) {
	b.mu.Lock()
	b.queue = append(b.queue, ops...)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *instantBackend) Close(context.Context) error {
	close(b.quit)
	<-b.done
	return nil
}

// BenchmarkScriptOverhead is BenchmarkScriptOps on a backend that does no
// work: ns/op is the loop's cost of one Storage.Async call from a script
// (run with -cpu 1 to count the garbage collector's share too).
func BenchmarkScriptOverhead(b *testing.B) {
	for _, op := range []string{"put", "get"} {
		b.Run(op, func(b *testing.B) {
			dir := b.TempDir()
			src := strings.NewReplacer("__DB__", `"unused"`, "__OP__", strconv.Quote(op),
				"__INFLIGHT__", "1000", "__N__", strconv.Itoa(b.N), "STORAGE_BACKEND_SQLITE", "STORAGE_BACKEND_INSTANT",
				"{ sqlite: {", "{ instant: {").Replace(benchScript)
			script := filepath.Join(dir, "bench.js")
			if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
			var done int64
			report := func(h ext.Host) (func(), error) {
				return nil, ext.SetValue(h, "report", func(n int64) { done = n })
			}
			backends := []storagefw.BackendType{{Name: "INSTANT", OptionsField: "instant", Open: openInstant}}
			eng, err := engine.New(engine.Config{
				Paths: []string{script}, Stdout: io.Discard, Stderr: os.Stderr,
				Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: backends}), report},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			if err := eng.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if done != int64(b.N) {
				b.Fatalf("done %d of %d", done, b.N)
			}
			// CPU time (every goroutine, the collector's included) is
			// steadier than wall time on a shared machine.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user+system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// batchScript keeps 10 put_many (or get_many) calls of 100 entries in
// flight until N entries are done, as tests/bench's P7 does.
const batchScript = `
on("init", async () => {
  const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: __DB__, table_name: "bench" } }, "string", "string")).value;
  const pre = [];
  for (let i = 0; i < 1000; i++) pre.push({ key: "k" + i, value: "value-" + i });
  await Storage.Async.put_many(h, pre);
  let issued = 0, done = 0, bad = 0;
  const worker = async () => {
    while (issued < __N__) {
      const base = issued;
      issued += 100;
      let r;
      if (__OP__ === "put_many") {
        const e = [];
        for (let i = base; i < base + 100; i++) e.push({ key: "k" + i, value: "value-" + i });
        r = await Storage.Async.put_many(h, e);
      } else {
        const k = [];
        for (let i = base; i < base + 100; i++) k.push("k" + (i % 1000));
        r = await Storage.Async.get_many(h, k);
      }
      if (r.code !== "SUCCESS" || r.value.some((x) => x.code !== "SUCCESS")) bad++;
      done += 100;
    }
  };
  const workers = [];
  for (let i = 0; i < 10; i++) workers.push(worker());
  await Promise.all(workers);
  if (bad > 0) throw new Error(bad + " batches failed");
  report(done);
});
`

// BenchmarkScriptBatches measures put_many/get_many of 100 entries from a
// script, 10 calls in flight, on SQLite; an op is one entry.
func BenchmarkScriptBatches(b *testing.B) {
	for _, op := range []string{"put_many", "get_many"} {
		b.Run(op, func(b *testing.B) {
			n := (b.N + 99) / 100 * 100
			dir := b.TempDir()
			src := strings.NewReplacer("__DB__", strconv.Quote(filepath.Join(dir, "b.db")), "__OP__", strconv.Quote(op),
				"__N__", strconv.Itoa(n)).Replace(batchScript)
			script := filepath.Join(dir, "bench.js")
			if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
			var done int64
			report := func(h ext.Host) (func(), error) {
				return nil, ext.SetValue(h, "report", func(n int64) { done = n })
			}
			eng, err := engine.New(engine.Config{
				Paths: []string{script}, Stdout: io.Discard, Stderr: os.Stderr,
				Extensions: []ext.Extension{storagejs.Extension(storagejs.Options{Backends: builtin.Backends()}), report},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			if err := eng.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if done != int64(n) {
				b.Fatalf("done %d of %d", done, n)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}
