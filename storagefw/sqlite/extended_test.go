package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// TestHandles runs the framework-level cases of the new calls, two
// Frameworks (each with its own writer connection) sharing one file.
func TestHandles(t *testing.T) {
	var mu sync.Mutex
	dirs := map[*testing.T]string{}
	storagetest.RunHandles(t, Type(), func(t *testing.T, store string) map[string]any {
		mu.Lock()
		defer mu.Unlock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		return map[string]any{"sqlite": fileOptions(filepath.Join(dir, "shared.db"), store)}
	})
}

// TestZeekRowsThroughNewCalls: rows as Zeek writes them (including a double
// written "1.0", which this serializer writes differently) are read and
// changed by every new call.
func TestZeekRowsThroughNewCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeek.sqlite")
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf(zeekSchema, "z")); err != nil {
		t.Fatal(err)
	}
	rows := []struct{ k, v string }{
		{`JSONv1;"dns:a"`, `JSONv1;1.0`},
		{`JSONv1;"dns:b"`, `JSONv1;2.5`},
		{`JSONv1;"ssl:c"`, `JSONv1;3.0`},
	}
	for _, r := range rows {
		if _, err := db.Exec("insert into z (key_str, value_str, expire_time) values (?, ?, 0.0)", []byte(r.k), []byte(r.v)); err != nil {
			t.Fatal(err)
		}
	}
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{Type()}})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: "double",
		Options: map[string]any{"sqlite": fileOptions(path, "z")}})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	defer h.Close(context.Background())
	ctx := context.Background()

	r := h.GetMany(ctx, []any{"dns:a", "dns:b", "nope"})
	es := r.Value.([]storagefw.EntryResult)
	if r.Code != storagefw.Success || es[0].Value != 1.0 || es[1].Value != 2.5 || es[2].Code != storagefw.KeyNotFound {
		t.Fatalf("get_many: %+v", r)
	}
	r = h.Scan(ctx, storagefw.ScanArgs{Prefix: "dns:"})
	if page := r.Value.(storagefw.ScanPage); len(page.Entries) != 2 || page.Cursor != "" {
		t.Fatalf("scan: %+v", r)
	}
	// Zeek wrote 1.0; the expected value 1 is equal under double, so the swap happens.
	if r := h.CompareAndSwap(ctx, storagefw.CASArgs{Key: "dns:a", Expected: 1.0, HasExpected: true, Value: 10.5}); r.Code != storagefw.Success {
		t.Fatalf("compare_and_swap over Zeek's bytes: %+v", r)
	}
	if r := h.CompareAndSwap(ctx, storagefw.CASArgs{Key: "ssl:c", Expected: 4.0, HasExpected: true, Value: 1.0}); r.Code != storagefw.KeyExists || r.Value != 3.0 {
		t.Fatalf("compare_and_swap conflict: %+v", r)
	}
	if r := h.Increment(ctx, "dns:b", storagefw.IncrementArgs{By: 0.5}); r.Code != storagefw.Success || r.Value != 3.0 {
		t.Fatalf("increment of Zeek's 2.5: %+v", r)
	}
	res2, err := h.Update(ctx, "ssl:c", func(cur any, found bool) (any, bool, error) { return cur.(float64) * 2, false, nil }, storagefw.UpdateArgs{})
	if err != nil || res2.Code != storagefw.Success || res2.Value != 6.0 {
		t.Fatalf("update of Zeek's 3.0: %+v %v", res2, err)
	}
	if r := h.EraseMany(ctx, []any{"dns:a", "dns:a"}); fmt.Sprint(r.Value) != "[{SUCCESS  <nil>} {KEY_NOT_FOUND  <nil>}]" {
		t.Fatalf("erase_many: %+v", r)
	}
	var n int
	if err := db.QueryRow("select count(*) from z where typeof(key_str) = 'blob' and typeof(value_str) = 'blob'").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows left: %d %v", n, err)
	}
}

// TestCancelQueuedWrite: a request still queued behind a long write batch
// can be cancelled; it is skipped, the rest runs.
func TestCancelQueuedWrite(t *testing.T) {
	b := openT(t, fileOptions(filepath.Join(t.TempDir(), "c.db"), "t"), nil, -1)
	defer closeT(t, b)
	var entries []storagefw.BatchEntry
	for i := range 20000 {
		entries = append(entries, storagefw.BatchEntry{Key: ser(i), Value: ser(i), Overwrite: true})
	}
	big := storagetest.PutManyOp(entries, t0)
	calls := []*storagetest.Call{big}
	for i := range 50 {
		calls = append(calls, storagetest.PutOp(ser(fmt.Sprintf("c%d", i)), ser(i), true, 0, t0))
	}
	storagetest.Submit(b, calls...)
	cancelled := 0
	for _, c := range calls[1:] {
		if c.Op.Cancel() {
			cancelled++
		}
	}
	for i, c := range calls {
		r := c.Wait(t)
		k := ser(fmt.Sprintf("c%d", i-1))
		got := storagetest.Do(t, b, storagetest.GetOp(k, t0))
		switch {
		case i == 0:
			if r.Code != storagefw.Success {
				t.Fatalf("big batch: %s %s", r.Code, r.Error)
			}
		case c.Op.Cancelled():
			if r.Code != storagefw.OperationFailed || r.Error != "cancelled" || got.Code != storagefw.KeyNotFound {
				t.Fatalf("cancelled put %d: %+v, stored %s", i, r, got.Code)
			}
		default:
			if r.Code != storagefw.Success || got.Code != storagefw.Success {
				t.Fatalf("put %d: %+v, stored %s", i, r, got.Code)
			}
		}
	}
	t.Logf("cancelled %d of %d queued puts", cancelled, len(calls)-1)
	if cancelled == 0 {
		t.Log("every put was taken before it could be cancelled")
	}
}

// TestCASValueEquality: compare_and_swap compares values under the value
// type, not bytes: a set Zeek wrote in another order, -0.0 for 0.0.
func TestCASValueEquality(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eq.sqlite")
	db := rawDB(t, path)
	for _, tbl := range []string{"sets", "doubles"} {
		if _, err := db.Exec(fmt.Sprintf(zeekSchema, tbl)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`insert into sets values (cast('JSONv1;"k"' as blob), cast('JSONv1;[3,1,2]' as blob), 0.0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`insert into doubles values (cast('JSONv1;"k"' as blob), cast('JSONv1;-0.0' as blob), 0.0)`); err != nil {
		t.Fatal(err)
	}
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{Type()}})
	ctx := context.Background()
	open := func(table string, val any) *storagefw.Handle {
		h, res := fw.Open(ctx, storagefw.OpenRequest{Backend: "SQLITE", KeyType: "string", ValType: val,
			Options: map[string]any{"sqlite": fileOptions(path, table)}})
		if res.Code != storagefw.Success {
			t.Fatal(res)
		}
		t.Cleanup(func() { h.Close(ctx) })
		return h
	}
	sets := open("sets", []any{"set", "count"})
	if r := sets.CompareAndSwap(ctx, storagefw.CASArgs{Key: "k", Expected: []any{int64(1), int64(2), int64(3)}, HasExpected: true, Value: []any{int64(4)}}); r.Code != storagefw.Success {
		t.Fatalf("set in another order: %+v", r)
	}
	if r := sets.CompareAndSwap(ctx, storagefw.CASArgs{Key: "k", Expected: []any{int64(1)}, HasExpected: true, Value: []any{int64(5)}}); r.Code != storagefw.KeyExists {
		t.Fatalf("another set: %+v", r)
	}
	doubles := open("doubles", "double")
	if r := doubles.CompareAndSwap(ctx, storagefw.CASArgs{Key: "k", Expected: 0.0, HasExpected: true, Value: 1.5}); r.Code != storagefw.Success {
		t.Fatalf("0.0 against Zeek's -0.0: %+v", r)
	}
}
