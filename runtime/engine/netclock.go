package engine

import (
	"math"
	"sync/atomic"
	"time"
)

// netClock is network time: the largest record ts seen, or wall-clock time
// while no record has carried one. Safe for concurrent use; storage workers
// read it to decide expiry.
type netClock struct {
	bits atomic.Uint64 // math.Float64bits of the largest ts; 0 = none yet
}

// Now returns network time in seconds since the epoch.
func (c *netClock) Now() float64 {
	if b := c.bits.Load(); b != 0 {
		return math.Float64frombits(b)
	}
	return wallNow()
}

// Stamp is the network time to record in an awaiting context: network time
// while input records drive it, else 0 (live: operations then read the
// clock when they are issued, which is wall-clock time).
func (c *netClock) Stamp() float64 {
	if b := c.bits.Load(); b != 0 {
		return math.Float64frombits(b)
	}
	return 0
}

// FromInput reports whether network time is driven by input records.
func (c *netClock) FromInput() bool { return c.bits.Load() != 0 }

// Advance moves network time forward to ts if ts is larger. Only the loop
// goroutine advances it, so a load-compare-store is enough.
func (c *netClock) Advance(ts float64) bool {
	if ts <= 0 || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return false
	}
	if b := c.bits.Load(); b != 0 && math.Float64frombits(b) >= ts {
		return false
	}
	c.bits.Store(math.Float64bits(ts))
	return true
}

func wallNow() float64 {
	return float64(time.Now().UnixNano()) / 1e9
}
