package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// benchObserver wires m as scriptd does.
func benchObserver(m *Metrics) storagefw.Observer {
	return observerFunc(func(b storagefw.BackendInfo) storagefw.BackendObserver { return m.BackendOpened(b) })
}

// BenchmarkObservedOps measures storage operations through the framework
// with Metrics as the storage observer, as scriptd runs them (SQLite file,
// up to 1,000 in flight, so group commit makes the per-operation cost
// small and the observer's share visible). nobserver is the same without
// an observer.
func BenchmarkObservedOps(b *testing.B) {
	for _, observed := range []bool{false, true} {
		for _, kind := range []string{"put", "get"} {
			b.Run(fmt.Sprintf("observer=%v/%s", observed, kind), func(b *testing.B) {
				m := New(Options{})
				cfg := storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type()}, Logger: slog.New(slog.DiscardHandler)}
				if observed {
					cfg.Observer = benchObserver(m)
				}
				fw := storagefw.New(cfg)
				h, res := fw.Open(context.Background(), storagefw.OpenRequest{
					Backend: "SQLITE", KeyType: "string", ValType: "string",
					Options: map[string]any{"sqlite": map[string]any{"database_path": filepath.Join(b.TempDir(), "b.sqlite"), "table_name": "t"}},
				})
				if res.Code != storagefw.Success {
					b.Fatal(res)
				}
				defer h.Close(context.Background())
				const keys = 10000
				if kind == "get" {
					for i := range keys {
						h.Put(context.Background(), "k"+strconv.Itoa(i), "value5678", storagefw.PutArgs{Overwrite: true})
					}
				}
				sem := make(chan struct{}, 1000)
				var wg sync.WaitGroup
				done := func(r storagefw.OperationResult) {
					if r.Code != storagefw.Success {
						b.Errorf("%s: %s %s", kind, r.Code, r.Error)
					}
					<-sem
					wg.Done()
				}
				b.ResetTimer()
				start := time.Now()
				wg.Add(b.N)
				for i := 0; i < b.N; i++ {
					sem <- struct{}{}
					k := "k" + strconv.Itoa(i%keys)
					if kind == "put" {
						h.PutAsync(0, k, "value5678", storagefw.PutArgs{Overwrite: true}, done)
					} else {
						h.GetAsync(0, k, done)
					}
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkObserverPath is the metrics work one finished put adds to the
// operation's path (CPU only, no storage): the operation report and, for
// Zeek's set, the data bytes.
func BenchmarkObserverPath(b *testing.B) {
	m := New(Options{})
	bo := m.BackendOpened(storagefw.BackendInfo{Handle: 1, Type: "SQLITE", Config: "/var/db/test.sqlite-testing"})
	op := storagefw.OperationReport{Method: "put", Code: storagefw.Success, Took: 150 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		bo.Operation(op)
		bo.DataWritten(18)
	}
}
