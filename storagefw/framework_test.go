package storagefw_test

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

func openSQLite(t *testing.T, fw *storagefw.Framework, path string, keyType, valType any) *storagefw.Handle {
	t.Helper()
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{
		Backend: "SQLITE", KeyType: keyType, ValType: valType,
		Options: map[string]any{"sqlite": map[string]any{"database_path": path, "table_name": "t"}},
	})
	if res.Code != storagefw.Success {
		t.Fatalf("open: %+v", res)
	}
	return h
}

func expect(t *testing.T, what string, got storagefw.OperationResult, code storagefw.Code, errPart string) {
	t.Helper()
	if got.Code != code || !strings.Contains(got.Error, errPart) {
		t.Errorf("%s: got %s %q, want %s containing %q", what, got.Code, got.Error, code, errPart)
	}
}

// TestReturnCodesThroughTheFramework drives a real SQLite file through the
// Go API and checks each return code the framework itself produces.
func TestReturnCodesThroughTheFramework(t *testing.T) {
	ctx := context.Background()
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type()}})
	path := filepath.Join(t.TempDir(), "codes.db")
	recordKey := map[string]any{"host": "addr", "net": "subnet"}
	valType := map[string]any{"n": "count", "tags": []any{"vector", "string"}, "score": "double"}
	h := openSQLite(t, fw, path, recordKey, valType)

	key := map[string]any{"host": "10.0.0.1", "net": "10.0.0.0/8"}
	good := map[string]any{"n": int64(3), "tags": []any{"a", "b"}, "score": 0.5}
	expect(t, "put", h.Put(ctx, key, good, storagefw.PutArgs{Overwrite: true}), storagefw.Success, "")
	got := h.Get(ctx, key)
	expect(t, "get", got, storagefw.Success, "")
	if v, ok := got.Value.(storagefw.Record); !ok || v.Map()["n"] != int64(3) || len(v.Map()["tags"].([]any)) != 2 {
		t.Errorf("get value = %#v", got.Value)
	}
	expect(t, "put existing, no overwrite", h.Put(ctx, key, good, storagefw.PutArgs{}), storagefw.KeyExists, "")

	// Keys and values of the wrong type are refused before the backend sees them.
	expect(t, "bad addr in key", h.Put(ctx, map[string]any{"host": "10.0.0.300", "net": "10.0.0.0/8"}, good, storagefw.PutArgs{Overwrite: true}), storagefw.KeyTypeMismatch, "not an IP address")
	expect(t, "bad subnet in key", h.Get(ctx, map[string]any{"host": "10.0.0.1", "net": "10.0.0.1"}), storagefw.KeyTypeMismatch, "not a subnet")
	expect(t, "missing key field", h.Erase(ctx, map[string]any{"host": "10.0.0.1"}), storagefw.KeyTypeMismatch, `"net" is missing`)
	expect(t, "vector element", h.Put(ctx, key, map[string]any{"n": int64(1), "tags": []any{"a", int64(2)}, "score": 1.0}, storagefw.PutArgs{Overwrite: true}), storagefw.ValTypeMismatch, "vector element 1")
	expect(t, "negative count", h.Put(ctx, key, map[string]any{"n": int64(-1), "tags": []any{}, "score": 1.0}, storagefw.PutArgs{Overwrite: true}), storagefw.ValTypeMismatch, "count")
	// A double that JSON cannot carry cannot be serialized.
	expect(t, "NaN", h.Put(ctx, key, map[string]any{"n": int64(1), "tags": []any{}, "score": math.NaN()}, storagefw.PutArgs{Overwrite: true}), storagefw.SerializationFailed, "")

	// Rows that do not decode, or no longer fit the value type, are
	// UNSERIALIZATION_FAILED, not a crash or a wrong value.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kb, _ := storagefw.JSONSerializer{}.Serialize(map[string]any{"host": "10.0.0.2", "net": "10.0.0.0/8"})
	kc, _ := storagefw.JSONSerializer{}.Serialize(map[string]any{"host": "10.0.0.3", "net": "10.0.0.0/8"})
	if _, err := db.Exec(`insert into t values (?, ?, 0), (?, ?, 0)`, kb, []byte(`JSONv1;{"n":`), kc, []byte(`JSONv1;{"n":"three","tags":[],"score":1}`)); err != nil {
		t.Fatal(err)
	}
	expect(t, "truncated row", h.Get(ctx, map[string]any{"host": "10.0.0.2", "net": "10.0.0.0/8"}), storagefw.UnserializationFailed, "stored JSON")
	expect(t, "row of another type", h.Get(ctx, map[string]any{"host": "10.0.0.3", "net": "10.0.0.0/8"}), storagefw.UnserializationFailed, "does not fit")

	expect(t, "erase", h.Erase(ctx, key), storagefw.Success, "")
	expect(t, "erase missing", h.Erase(ctx, key), storagefw.KeyNotFound, "")
	expect(t, "get missing", h.Get(ctx, key), storagefw.KeyNotFound, "")

	expect(t, "close", h.Close(ctx), storagefw.Success, "")
	expect(t, "close again", h.Close(ctx), storagefw.NotConnected, "")
	expect(t, "get after close", h.Get(ctx, key), storagefw.NotConnected, "")
	if h.IsOpen() {
		t.Error("IsOpen after Close")
	}

	// Opening: a missing sub-record, an unknown type name, a bad path.
	_, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: "string", Options: map[string]any{}})
	expect(t, "no sqlite options", res, storagefw.InitializationFailed, "Failed to open backend Storage::STORAGE_BACKEND_SQLITE")
	_, res = fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "strng", ValType: "string", Options: map[string]any{"sqlite": map[string]any{"database_path": ":memory:", "table_name": "t"}}})
	expect(t, "bad key type", res, storagefw.KeyTypeMismatch, `unknown type "strng"`)
	// A bad path: Zeek's code and words, and the unopened handle as value
	// (closed: every call on it is NOT_CONNECTED).
	failed, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: "string", Options: map[string]any{"sqlite": map[string]any{"database_path": "/nonexistent/dir/x.db", "table_name": "t"}}})
	expect(t, "bad path", res, storagefw.OperationFailed, "Failed to open backend Storage::STORAGE_BACKEND_SQLITE: SQLite call failed: unable to open database file")
	if failed == nil || res.Value != failed || failed.IsOpen() {
		t.Errorf("bad path: handle %v, value %v", failed, res.Value)
	} else {
		expect(t, "put on the unopened handle", failed.Put(ctx, 1, "x", storagefw.PutArgs{}), storagefw.NotConnected, "Backend is closed")
	}
	_, res = fw.Open(ctx, storagefw.OpenRequest{Backend: "NOPE", KeyType: "string", ValType: "string"})
	expect(t, "unknown backend", res, storagefw.OperationFailed, "no such backend")
}
