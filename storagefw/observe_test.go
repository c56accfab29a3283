package storagefw_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// recorder is an Observer that records what it is told.
type recorder struct {
	mu      sync.Mutex
	opened  []storagefw.BackendInfo
	ops     []storagefw.OperationReport
	written int
	read    int
	expired int
	closed  int
}

func (r *recorder) BackendOpened(b storagefw.BackendInfo) storagefw.BackendObserver {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, b)
	return r
}

func (r *recorder) Operation(op storagefw.OperationReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

func (r *recorder) DataWritten(n int) { r.mu.Lock(); r.written += n; r.mu.Unlock() }
func (r *recorder) DataRead(n int)    { r.mu.Lock(); r.read += n; r.mu.Unlock() }
func (r *recorder) EntriesExpired(n int) {
	r.mu.Lock()
	r.expired += n
	r.mu.Unlock()
}
func (r *recorder) Closed() { r.mu.Lock(); r.closed++; r.mu.Unlock() }

// TestObserver checks what the framework and the SQLite backend report:
// the open (type, config label, size reader), each put/get/erase with its
// code, refusals flagged, the value bytes, and the close.
func TestObserver(t *testing.T) {
	rec := &recorder{}
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type()}, Observer: rec})
	ctx := context.Background()

	// A failed open reports nothing (Zeek initializes its metrics only
	// once the backend is open).
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "x.sqlite")
	if _, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: "string",
		Options: map[string]any{"sqlite": map[string]any{"database_path": bad, "table_name": "t"}}}); res.Code == storagefw.Success {
		t.Fatal("opened a database in a missing directory")
	}
	if len(rec.opened) != 0 {
		t.Fatalf("failed open reported: %+v", rec.opened)
	}

	path := filepath.Join(t.TempDir(), "db.sqlite")
	h, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: "string",
		Options: map[string]any{"sqlite": map[string]any{"database_path": path, "table_name": "t"}}})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	if len(rec.opened) != 1 {
		t.Fatalf("opened %d", len(rec.opened))
	}
	info := rec.opened[0]
	if info.Handle != h.ID() || info.Type != "SQLITE" || info.Config != path+"-t" || info.Size == nil {
		t.Fatalf("info %+v", info)
	}
	if s, ok := info.Size(); !ok || s.Pages < 1 || s.Bytes < 4096 {
		t.Fatalf("size %+v %v", s, ok)
	}

	h.Put(ctx, "k", "value5678", storagefw.PutArgs{Overwrite: true})
	h.Put(ctx, "k", 1, storagefw.PutArgs{Overwrite: true})
	h.Get(ctx, "k")
	h.Erase(ctx, "k")
	h.Close(ctx)
	h.Get(ctx, "k")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []struct {
		method  string
		code    storagefw.Code
		refused bool
	}{
		{"put", storagefw.Success, false},
		{"put", storagefw.ValTypeMismatch, true},
		{"get", storagefw.Success, false},
		{"erase", storagefw.Success, false},
		{"get", storagefw.NotConnected, true},
	}
	if len(rec.ops) != len(want) {
		t.Fatalf("ops %+v", rec.ops)
	}
	for i, w := range want {
		if op := rec.ops[i]; op.Method != w.method || op.Code != w.code || op.Refused != w.refused {
			t.Errorf("op %d: %+v, want %+v", i, op, w)
		}
	}
	n := len(`JSONv1;"value5678"`)
	if rec.written != n || rec.read != n || rec.closed != 1 {
		t.Errorf("written %d read %d closed %d; want %d, %d, 1", rec.written, rec.read, rec.closed, n, n)
	}
	if _, ok := info.Size(); ok {
		t.Error("size of a closed backend")
	}
}
