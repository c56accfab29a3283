package storagefw_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// A value larger than the backend stores is refused before it is sent,
// with a clear code and message; the handle goes on working (issue 12:
// a 600 MB Redis value used to drop the connection for every operation).
func TestOversizedValuesAreRefusedBeforeSending(t *testing.T) {
	if got := redis.Type().MaxValueSize; got != 512<<20 {
		t.Fatalf("redis MaxValueSize = %d, want Redis's 512 MiB proto-max-bulk-len", got)
	}
	small := sqlite.Type()
	small.Name, small.MaxValueSize = "SMALL", 64 // the same mechanism, a limit a test can reach
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{small}})
	ctx := context.Background()
	h, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SMALL", KeyType: "string", ValType: "string",
		Options: map[string]any{"sqlite": map[string]any{"database_path": filepath.Join(t.TempDir(), "s.db"), "table_name": "t"}}})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	defer h.Close(ctx)
	big := strings.Repeat("x", 100)
	if r := h.Put(ctx, "k", big, storagefw.PutArgs{Overwrite: true}); r.Code != storagefw.OperationFailed || !strings.Contains(r.Error, "more than the 64 the SMALL backend stores") {
		t.Fatalf("oversized put: %+v", r)
	}
	r := h.PutMany(ctx, []storagefw.PutEntry{{Key: "a", Value: big}, {Key: "b", Value: "ok"}})
	entries, _ := r.Value.([]storagefw.EntryResult)
	if r.Code != storagefw.Success || len(entries) != 2 || entries[0].Code != storagefw.OperationFailed || entries[1].Code != storagefw.Success {
		t.Fatalf("put_many: %+v", r)
	}
	if r := h.Get(ctx, "b"); r.Code != storagefw.Success || r.Value != "ok" {
		t.Fatalf("the handle after refusals: %+v", r)
	}
}
