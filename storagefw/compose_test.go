package storagefw_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// memBackend executes only put, get, erase and (optionally) compare-and-swap,
// in Submit order on one goroutine: the framework composes the rest.
type memBackend struct {
	cas   bool
	mu    sync.Mutex
	data  map[string][]byte
	queue chan *storagefw.Request
	done  chan struct{}
	kinds map[storagefw.RequestKind]int
}

func newMem(cas bool) *memBackend {
	b := &memBackend{cas: cas, data: map[string][]byte{}, queue: make(chan *storagefw.Request, 1<<16), done: make(chan struct{}), kinds: map[storagefw.RequestKind]int{}}
	go b.run()
	return b
}

func (b *memBackend) SupportsCompareAndSwap() bool { return b.cas }

func (b *memBackend) Submit(ops ...*storagefw.Request) {
	for _, op := range ops {
		b.queue <- op
	}
}

func (b *memBackend) run() {
	defer close(b.done)
	for op := range b.queue {
		if !op.Take() {
			continue
		}
		b.mu.Lock()
		b.kinds[op.Kind]++
		k := string(op.Key)
		cur, found := b.data[k]
		var r storagefw.Reply
		switch op.Kind {
		case storagefw.PutRequest:
			if found && !op.Overwrite {
				r.Code = storagefw.KeyExists
			} else {
				b.data[k], r.Code = op.Value, storagefw.Success
			}
		case storagefw.GetRequest:
			r.Code = storagefw.KeyNotFound
			if found {
				r = storagefw.Reply{Code: storagefw.Success, Value: cur}
			}
		case storagefw.EraseRequest:
			r.Code = storagefw.KeyNotFound
			if found {
				delete(b.data, k)
				r.Code = storagefw.Success
			}
		case storagefw.CompareAndSwapRequest:
			switch {
			case b.cas && op.ExpectAbsent && found, b.cas && !op.ExpectAbsent && found && string(cur) != string(op.Expected):
				r = storagefw.Reply{Code: storagefw.KeyExists, Value: cur}
			case b.cas && !op.ExpectAbsent && !found:
				r.Code = storagefw.KeyNotFound
			case b.cas:
				if op.Erase {
					delete(b.data, k)
				} else {
					b.data[k] = op.Value
				}
				r.Code = storagefw.Success
			default:
				r = storagefw.Reply{Code: storagefw.OperationFailed, Error: "unsupported"}
			}
		default:
			r = storagefw.Reply{Code: storagefw.OperationFailed, Error: "unsupported " + op.Kind.String()}
		}
		b.mu.Unlock()
		op.Complete(r)
	}
}

func (b *memBackend) Close(context.Context) error {
	close(b.queue)
	<-b.done
	return nil
}

func openMem(t *testing.T, cas bool) (*storagefw.Handle, *memBackend) {
	t.Helper()
	be := newMem(cas)
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{{Name: "MEM", OptionsField: "mem",
		Open: func(context.Context, storagefw.OpenConfig) (storagefw.Backend, error) { return be, nil }}}})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{Backend: "MEM", Options: map[string]any{"mem": map[string]any{}}, KeyType: "string", ValType: "count"})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, be
}

// TestComposedCalls: on a backend with singles and compare-and-swap only,
// batches run as singles, increment as read + compare-and-swap holding the
// handle (so later calls still see it), update works, scan is refused.
func TestComposedCalls(t *testing.T) {
	ctx := context.Background()
	h, be := openMem(t, true)
	r := h.PutMany(ctx, []storagefw.PutEntry{{Key: "a", Value: 1, Args: storagefw.PutArgs{Overwrite: true}}, {Key: "a", Value: 2}, {Key: "b", Value: -1}})
	if got := fmt.Sprint(r.Value); r.Code != storagefw.Success || got[:40] != "[{SUCCESS  <nil>} {KEY_EXISTS  <nil>} {V" {
		t.Fatalf("put_many: %+v", r)
	}
	// Issue order across a composed increment: calls issued right after it
	// see it, though they reach the backend while its read is in flight.
	type out struct {
		i int
		r storagefw.OperationResult
	}
	ch := make(chan out, 300)
	for i := range 100 {
		h.IncrementAsync(0, "n", storagefw.IncrementArgs{}, func(r storagefw.OperationResult) { ch <- out{3 * i, r} })
		h.GetAsync(0, "n", func(r storagefw.OperationResult) { ch <- out{3*i + 1, r} })
		h.GetManyAsync(0, []any{"n"}, func(r storagefw.OperationResult) { ch <- out{3*i + 2, r} })
	}
	got := make([]storagefw.OperationResult, 300)
	for range got {
		o := <-ch
		got[o.i] = o.r
	}
	for i := range 100 {
		inc, get, many := got[3*i], got[3*i+1], got[3*i+2]
		es, _ := many.Value.([]storagefw.EntryResult)
		if inc.Code != storagefw.Success || fmt.Sprint(inc.Value) != fmt.Sprint(i+1) || fmt.Sprint(get.Value) != fmt.Sprint(i+1) || len(es) != 1 || fmt.Sprint(es[0].Value) != fmt.Sprint(i+1) {
			t.Fatalf("round %d: increment %+v, get %+v, get_many %+v", i, inc, get, many)
		}
	}
	res, err := h.Update(ctx, "n", func(cur any, found bool) (any, bool, error) { return cur.(int64) * 2, false, nil }, storagefw.UpdateArgs{})
	if err != nil || res.Value != int64(200) {
		t.Fatalf("update: %+v %v", res, err)
	}
	if r := h.Scan(ctx, storagefw.ScanArgs{}); r.Code != storagefw.OperationFailed {
		t.Fatalf("scan without a Scanner: %+v", r)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, k := range []storagefw.RequestKind{storagefw.PutManyRequest, storagefw.GetManyRequest, storagefw.IncrementRequest} {
		if be.kinds[k] > 0 {
			t.Errorf("the backend was sent %v requests", k)
		}
	}
}

// TestComposedWithoutCAS: without compare-and-swap, the atomic calls are
// refused rather than emulated.
func TestComposedWithoutCAS(t *testing.T) {
	ctx := context.Background()
	h, _ := openMem(t, false)
	for what, r := range map[string]storagefw.OperationResult{
		"compare_and_swap": h.CompareAndSwap(ctx, storagefw.CASArgs{Key: "k", Value: 1}),
		"increment":        h.Increment(ctx, "k", storagefw.IncrementArgs{}),
	} {
		if r.Code != storagefw.OperationFailed {
			t.Errorf("%s: %+v", what, r)
		}
	}
	if r, _ := h.Update(ctx, "k", func(any, bool) (any, bool, error) { return 1, false, nil }, storagefw.UpdateArgs{}); r.Code != storagefw.OperationFailed {
		t.Errorf("update: %+v", r)
	}
	if r := h.GetMany(ctx, []any{"k"}); r.Code != storagefw.Success {
		t.Errorf("get_many as singles: %+v", r)
	}
}

// TestUpdateLanes: updates of one key naming different owners take turns
// (each calls its function once: no conflicts); one nested in another's
// function with the same owner does not wait for it.
func TestUpdateLanes(t *testing.T) {
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type()}})
	h := openSQLite(t, fw, filepath.Join(t.TempDir(), "lanes.db"), "string", "count")
	defer h.Close(context.Background())
	const n = 200
	var calls atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		owner := &i
		h.UpdateAsync(0, "k", func(cur any, found bool, reply func(any, bool, error)) {
			calls.Add(1)
			v := int64(0)
			if found {
				v = cur.(int64)
			}
			reply(v+1, false, nil)
		}, storagefw.UpdateArgs{Owner: owner}, func(r storagefw.OperationResult) {
			if r.Code != storagefw.Success {
				t.Errorf("update: %+v", r)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if c := calls.Load(); c != n {
		t.Errorf("%d calls of fn for %d updates: they conflicted", c, n)
	}
	if r := h.Get(context.Background(), "k"); r.Value != int64(n) {
		t.Fatalf("total %v", r.Value)
	}
	// Nested, same owner: the inner update runs while the outer holds the lane.
	owner := new(int)
	done := make(chan storagefw.OperationResult, 2)
	var nested atomic.Bool
	h.UpdateAsync(0, "k", func(cur any, found bool, reply func(any, bool, error)) {
		if nested.Swap(true) {
			reply(cur.(int64)+1, false, nil) // the retry after the conflict
			return
		}
		h.UpdateAsync(0, "k", func(cur any, found bool, inner func(any, bool, error)) {
			inner(cur.(int64)+1000, false, nil)
		}, storagefw.UpdateArgs{Owner: owner}, func(r storagefw.OperationResult) {
			done <- r
			reply(cur.(int64)+1, false, nil) // conflicts once, then applies on top
		})
	}, storagefw.UpdateArgs{Owner: owner}, func(r storagefw.OperationResult) { done <- r })
	for range 2 {
		select {
		case r := <-done:
			if r.Code != storagefw.Success {
				t.Fatalf("nested: %+v", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nested update of the same owner deadlocked")
		}
	}
	if r := h.Get(context.Background(), "k"); r.Value != int64(n+1001) {
		t.Fatalf("after nested updates: %v", r.Value)
	}
}
