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
