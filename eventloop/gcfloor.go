package eventloop

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// The heap goal floor. Go's collector starts a cycle when the heap reaches
// twice what the last cycle found live (GOGC=100), and at least 4 MiB. The
// scripts' live heap is often a few MiB, while an input replay allocates
// parsed records at hundreds of MiB a second: left alone, the collector
// runs hundreds of cycles a second, and with them its write barriers and
// mark assists, costing the replay a quarter to a third of its CPU. The floor
// raises GOGC while the live heap is small, so the heap goal is at least
// the floor, and gives it back (100) once twice the live heap passes it:
// memory use grows by at most the floor, and is unchanged for large heaps
// (which the soft memory limit bounds as before).
var (
	gcFloor      atomic.Uint64 // bytes; 0: off
	gcFloorOnce  sync.Once
	gcFloorStats = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
)

// setHeapGoalFloor keeps the collector's heap goal at least floor bytes
// (0 turns the floor off). It is process-wide, like the memory limit it
// goes with, and leaves GOGC alone if the environment sets it.
func setHeapGoalFloor(floor uint64) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	gcFloor.Store(floor)
	gcFloorOnce.Do(func() { go watchGC() })
}

// watchGC retunes GOGC after every collection (a finalizer runs once per
// cycle on an object each run allocates anew); it runs for the life of
// the process.
func watchGC() {
	cycle := make(chan struct{}, 1)
	var arm func()
	arm = func() {
		runtime.SetFinalizer(new(gcSentinel), func(*gcSentinel) {
			select {
			case cycle <- struct{}{}:
			default:
			}
			arm()
		})
	}
	arm()
	percent := 100
	var prev uint64
	for range cycle {
		live, ok := liveHeap()
		if !ok {
			continue
		}
		// The live heap varies from cycle to cycle (records in flight
		// when the marking ran); sizing by the larger of the last two
		// keeps the goal from overshooting the floor by as much.
		want := gcPercentFor(gcFloor.Load(), max(live, prev))
		prev = live
		if want != percent {
			percent = want
			debug.SetGCPercent(percent)
		}
	}
}

// gcSentinel is the object whose finalizer marks a cycle; big enough not
// to be batched by the tiny allocator (whose blocks are freed together).
type gcSentinel struct{ _ [16]byte }

// liveHeap is the heap the last cycle found live.
func liveHeap() (uint64, bool) {
	metrics.Read(gcFloorStats)
	if gcFloorStats[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return gcFloorStats[0].Value.Uint64(), true
}

// gcPercentFor returns the GOGC that makes the heap goal about floor for a
// live heap of live bytes, never less than the default 100; rounded to
// steps of 10% so small changes of the live heap do not retune.
//
// It is at most floor/4 MiB × 100: the runtime keeps every goal at least
// 4 MiB × GOGC/100, so that much makes the floor the goal of any live
// heap below it, and more would raise the goal past the floor. The bound
// also bounds the overshoot when the live heap grows before the next
// retune (the goal is at most 1+GOGC/100 times the live heap).
func gcPercentFor(floor, live uint64) int {
	if floor == 0 {
		return 100
	}
	live = max(live, 1<<20)
	if 2*live >= floor {
		return 100
	}
	p := min(int(floor*100/live)-100, int(floor*100/runtimeMinHeap))
	return max(p-p%10, 100)
}

// runtimeMinHeap is the runtime's least heap goal at GOGC=100.
const runtimeMinHeap = 4 << 20
