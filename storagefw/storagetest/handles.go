package storagetest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// RunHandles runs the framework-level cases of the calls beyond Zeek
// against a backend type: through Handles of two Frameworks sharing one
// store, as two scriptd processes would. options returns the open options
// record (e.g. {"sqlite": {...}}) of the store named store; equal names
// must give the same store, each test its own.
func RunHandles(t *testing.T, backend storagefw.BackendType, options func(t *testing.T, store string) map[string]any) {
	for _, c := range handleCases {
		t.Run(c.name, func(t *testing.T) {
			hs := &handles{t: t, backend: backend, options: options}
			c.run(hs)
		})
	}
}

type handles struct {
	t       *testing.T
	backend storagefw.BackendType
	options func(t *testing.T, store string) map[string]any
}

// open opens a handle on store in a new Framework, closed at the end of the test.
func (hs *handles) open(store string, keyType, valType any) *storagefw.Handle {
	hs.t.Helper()
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{hs.backend}, Logger: slog.New(slog.DiscardHandler)})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{
		Backend: hs.backend.Name, Options: hs.options(hs.t, store), KeyType: keyType, ValType: valType})
	if res.Code != storagefw.Success {
		hs.t.Fatalf("open %s: %s %s", store, res.Code, res.Error)
	}
	hs.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
		defer cancel()
		h.Close(ctx)
	})
	return h
}

var handleCases = []struct {
	name string
	run  func(hs *handles)
}{
	{"TwoFrameworksIncrementAndUpdate", handlesIncrementUpdate},
	{"TwoFrameworksCASRace", handlesCASRace},
	{"UpdateFunctionErrorWritesNothing", handlesUpdateError},
	{"ReadYourWritesAcrossCalls", handlesReadYourWrites},
	{"ScanDecodesKeysAndValues", handlesScan},
}

func ctxT() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), WaitTimeout)
}

// handlesIncrementUpdate: 500 increments and 500 updates of one key, issued
// concurrently from two frameworks, lose nothing.
func handlesIncrementUpdate(hs *handles) {
	const n = 500
	a, b := hs.open("counter", "string", "count"), hs.open("counter", "string", "count")
	var wg sync.WaitGroup
	var failed atomic.Int32
	var firstErr atomic.Value
	report := func(what string, r storagefw.OperationResult) {
		if r.Code != storagefw.Success && failed.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf("%s: %s %s", what, r.Code, r.Error))
		}
	}
	for i := range n {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Add(2)
		h.IncrementAsync(0, "hot", storagefw.IncrementArgs{}, func(r storagefw.OperationResult) { report("increment", r); wg.Done() })
		h.UpdateAsync(0, "hot", func(cur any, found bool, reply func(any, bool, error)) {
			var v int64
			if found {
				switch x := cur.(type) {
				case int64:
					v = x
				case uint64:
					v = int64(x)
				}
			}
			reply(v+1, false, nil)
		}, storagefw.UpdateArgs{MaxAttempts: 10 * n}, func(r storagefw.OperationResult) { report("update", r); wg.Done() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * WaitTimeout):
		hs.t.Fatal("increments and updates did not finish")
	}
	if failed.Load() > 0 {
		hs.t.Fatalf("%d operations failed; first: %v", failed.Load(), firstErr.Load())
	}
	ctx, cancel := ctxT()
	defer cancel()
	r := a.Get(ctx, "hot")
	if r.Code != storagefw.Success || fmt.Sprint(r.Value) != fmt.Sprint(2*n) {
		hs.t.Fatalf("total %v (%s %s), want %d", r.Value, r.Code, r.Error, 2*n)
	}
}

// handlesCASRace: 300 compare-and-swaps from two frameworks, exactly one wins.
func handlesCASRace(hs *handles) {
	const n = 300
	a, b := hs.open("race", "string", "string"), hs.open("race", "string", "string")
	ctx, cancel := ctxT()
	defer cancel()
	if r := a.Put(ctx, "k", "start", storagefw.PutArgs{Overwrite: true}); r.Code != storagefw.Success {
		hs.t.Fatal(r)
	}
	results := make([]storagefw.OperationResult, n)
	var wg sync.WaitGroup
	for i := range n {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.CompareAndSwap(ctx, storagefw.CASArgs{Key: "k", Expected: "start", HasExpected: true, Value: fmt.Sprint(i)})
		}()
	}
	wg.Wait()
	winner := -1
	for i, r := range results {
		switch r.Code {
		case storagefw.Success:
			if winner >= 0 {
				hs.t.Fatalf("two winners: %d and %d", winner, i)
			}
			winner = i
		case storagefw.KeyExists:
			if r.Value == "start" {
				hs.t.Fatalf("racer %d lost to the value it expected", i)
			}
		default:
			hs.t.Fatalf("racer %d: %s %s", i, r.Code, r.Error)
		}
	}
	if winner < 0 {
		hs.t.Fatal("no winner")
	}
	if r := b.Get(ctx, "k"); r.Value != fmt.Sprint(winner) {
		hs.t.Fatalf("stored %v, winner %d", r.Value, winner)
	}
}

func handlesUpdateError(hs *handles) {
	h := hs.open("upderr", "string", "count")
	ctx, cancel := ctxT()
	defer cancel()
	h.Put(ctx, "k", 5, storagefw.PutArgs{Overwrite: true})
	boom := fmt.Errorf("boom")
	res, err := h.Update(ctx, "k", func(cur any, found bool) (any, bool, error) { return nil, false, boom }, storagefw.UpdateArgs{})
	if err != boom || res.Code != storagefw.OperationFailed {
		hs.t.Fatalf("update with a failing function: %+v, %v", res, err)
	}
	res, err = h.Update(ctx, "k", func(cur any, found bool) (any, bool, error) { return "not a count", false, nil }, storagefw.UpdateArgs{})
	if err != nil || res.Code != storagefw.ValTypeMismatch {
		hs.t.Fatalf("update to a bad value: %+v, %v", res, err)
	}
	if r := h.Get(ctx, "k"); fmt.Sprint(r.Value) != "5" {
		hs.t.Fatalf("value changed to %v", r.Value)
	}
	res, err = h.Update(ctx, "k", func(cur any, found bool) (any, bool, error) { return nil, true, nil }, storagefw.UpdateArgs{})
	if err != nil || res.Code != storagefw.Success || res.Value != nil {
		hs.t.Fatalf("update erasing: %+v, %v", res, err)
	}
	if r := h.Get(ctx, "k"); r.Code != storagefw.KeyNotFound {
		hs.t.Fatalf("after erase: %+v", r)
	}
	calls := 0
	res, _ = h.Update(ctx, "k", func(cur any, found bool) (any, bool, error) {
		calls++
		h.Put(ctx, "k", calls*100, storagefw.PutArgs{Overwrite: true}) // always conflicts
		return 1, false, nil
	}, storagefw.UpdateArgs{MaxAttempts: 4})
	if res.Code != storagefw.OperationFailed || calls != 4 {
		hs.t.Fatalf("attempts exhausted: %+v after %d calls", res, calls)
	}
}

// handlesReadYourWrites issues every kind of call without waiting; each
// sees the ones issued before it.
func handlesReadYourWrites(hs *handles) {
	h := hs.open("ryw", "string", "count")
	type out struct {
		i int
		r storagefw.OperationResult
	}
	ch := make(chan out, 16)
	res := func(i int) func(storagefw.OperationResult) {
		return func(r storagefw.OperationResult) { ch <- out{i, r} }
	}
	h.PutAsync(0, "a", 1, storagefw.PutArgs{Overwrite: true}, res(0))
	h.IncrementAsync(0, "a", storagefw.IncrementArgs{By: int64(2)}, res(1))
	h.GetManyAsync(0, []any{"a", "b"}, res(2))
	h.PutManyAsync(0, []storagefw.PutEntry{{Key: "b", Value: 7, Args: storagefw.PutArgs{Overwrite: true}}}, res(3))
	h.CompareAndSwapAsync(0, storagefw.CASArgs{Key: "b", Expected: 7, HasExpected: true, Value: 8}, res(4))
	h.GetAsync(0, "b", res(5))
	h.EraseManyAsync(0, []any{"a"}, res(6))
	h.GetAsync(0, "a", res(7))
	got := make([]storagefw.OperationResult, 8)
	for range got {
		select {
		case o := <-ch:
			got[o.i] = o.r
		case <-time.After(WaitTimeout):
			hs.t.Fatal("calls did not complete")
		}
	}
	batch := func(r storagefw.OperationResult) string {
		es, _ := r.Value.([]storagefw.EntryResult)
		s := ""
		for _, e := range es {
			s += fmt.Sprintf("%s=%v;", e.Code, e.Value)
		}
		return s
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"increment sees the put", fmt.Sprint(got[1].Value) == "3"},
		{"get_many sees the increment", batch(got[2]) == "SUCCESS=3;KEY_NOT_FOUND=<nil>;"},
		{"cas sees put_many", got[4].Code == storagefw.Success},
		{"get sees the cas", fmt.Sprint(got[5].Value) == "8"},
		{"get sees erase_many", got[7].Code == storagefw.KeyNotFound},
	}
	for _, c := range checks {
		if !c.ok {
			hs.t.Errorf("%s: %+v", c.what, got)
		}
	}
}

// handlesScan: scan pages decode keys and values of the handle's types.
func handlesScan(hs *handles) {
	h := hs.open("scan", "string", map[string]any{"n": "count", "s": "string"})
	ctx, cancel := ctxT()
	defer cancel()
	var entries []storagefw.PutEntry
	for i := range 25 {
		entries = append(entries, storagefw.PutEntry{Key: fmt.Sprintf("k:%02d", i), Value: map[string]any{"n": int64(i), "s": "x"}, Args: storagefw.PutArgs{Overwrite: true}})
	}
	entries = append(entries, storagefw.PutEntry{Key: "other", Value: map[string]any{"n": int64(0), "s": ""}, Args: storagefw.PutArgs{Overwrite: true}})
	if r := h.PutMany(ctx, entries); r.Code != storagefw.Success {
		hs.t.Fatal(r)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		r := h.Scan(ctx, storagefw.ScanArgs{Prefix: "k:", Cursor: cursor, Limit: 4})
		if r.Code != storagefw.Success {
			hs.t.Fatal(r)
		}
		page := r.Value.(storagefw.ScanPage)
		for _, e := range page.Entries {
			k := e.Key.(string)
			if m, ok := e.Value.(map[string]any); ok && (fmt.Sprint(m["n"]) != fmt.Sprint(atoi(k[2:])) || m["s"] != "x") {
				hs.t.Fatalf("entry %s = %v", k, e.Value)
			}
			seen[k] = true
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	if len(seen) != 25 {
		hs.t.Fatalf("listed %d keys, want 25", len(seen))
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
