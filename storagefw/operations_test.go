package storagefw

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// The log of finished operations is bounded by bytes, not only by count:
// it keeps a cut copy of each key, never the caller's (issue 12, item 11).
func TestOperationLogDoesNotRetainLargeKeys(t *testing.T) {
	log := newOperationLog(time.Hour, 10000)
	heapAfterGC := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heapAfterGC()
	const ops, keySize = 40, 4 << 20
	for i := 0; i < ops; i++ {
		key := strings.Repeat(string(rune('a'+i%26)), keySize)
		e := log.start("get", "SQLITE", key)
		log.finish(e, OperationResult{Code: KeyNotFound, Error: strings.Repeat("e", keySize)})
	}
	grown := int64(heapAfterGC()) - int64(before)
	if limit := int64(ops * 4096); grown > limit {
		t.Fatalf("the log retains %d bytes for %d finished operations with 4 MB keys (limit %d)", grown, ops, limit)
	}
	list := log.List()
	if len(list) != ops {
		t.Fatalf("%d operations listed, want %d", len(list), ops)
	}
	for _, info := range list {
		if len(info.Key) > 2*maxRetainedKey || len(info.Error) > maxRetainedError+8 {
			t.Fatalf("operation %s keeps a %d-byte key and a %d-byte error", info.ID, len(info.Key), len(info.Error))
		}
		if !strings.HasSuffix(info.Key, "…") {
			t.Fatalf("a cut key does not say so: %.40q…", info.Key)
		}
	}
	// A composite key is rendered once, not rendered again as a string.
	e := log.start("get", "SQLITE", map[string]any{"host": "10.0.0.1"})
	log.finish(e, OperationResult{Code: Success})
	if got, _ := log.Get(log.List()[ops].ID); got.Key != `{"host":"10.0.0.1"}` {
		t.Errorf("composite key rendered as %q", got.Key)
	}
}

// A long-running operation does not pin the registry's index: while it
// runs, many short ones come and go, the index stays small, and the long
// one is still found, listed, cancelled-or-not and finished by id.
func TestOperationLogLongRunnerAmongShortOnes(t *testing.T) {
	log := newOperationLog(time.Hour, 100)
	long := log.start("get", "SQLITE", "slow")
	mid := log.start("put", "SQLITE", "mid")
	for i := 0; i < 100000; i++ {
		log.finish(log.start("put", "SQLITE", "k"), OperationResult{Code: Success})
		if i == 50000 {
			log.finish(mid, OperationResult{Code: Success})
		}
	}
	if n := len(log.byID.window); n > 2*log.byID.n+1024 {
		t.Fatalf("index window holds %d slots for %d entries", n, log.byID.n)
	}
	if got := log.InFlight(); got != 1 {
		t.Fatalf("InFlight = %d, want 1", got)
	}
	if info, ok := log.Get("1"); !ok || info.State != StateRunning || info.Key != `"slow"` {
		t.Fatalf("Get(1) = %+v, %v", info, ok)
	}
	if _, ok := log.Get("2"); ok {
		t.Fatal("the finished operation 2 is still listed after 100 more finished")
	}
	list := log.List()
	if len(list) != 101 || list[0].ID != "1" || list[1].ID != "99903" || list[100].ID != "100002" {
		t.Fatalf("List: %d entries, first %+v, second %+v", len(list), list[0], list[1])
	}
	if err := log.Forget("1"); err != ErrOperationRunning {
		t.Fatalf("Forget(running) = %v", err)
	}
	log.finish(long, OperationResult{Code: KeyNotFound})
	if info, ok := log.Get("1"); !ok || info.State != StateDone || info.Code != KeyNotFound {
		t.Fatalf("Get(1) after finish = %+v, %v", info, ok)
	}
	if err := log.Forget("1"); err != nil {
		t.Fatalf("Forget(1) = %v", err)
	}
	if _, ok := log.Get("1"); ok || log.byID.n != 99 {
		t.Fatalf("after Forget: found, or %d entries held", log.byID.n)
	}
}
