package eventloop

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live uint64
		want        int
	}{
		{0, 1 * mib, 100},          // no floor
		{32 * mib, 2 * mib, 1500},  // goal 2 MiB × 16 = 32 MiB
		{32 * mib, 0, 3100},        // live counted as at least 1 MiB
		{32 * mib, 3 * mib, 960},   // 966, rounded down to a step of 10
		{32 * mib, 16 * mib, 100},  // twice the live heap reaches the floor
		{32 * mib, 500 * mib, 100}, // large heaps keep the default
	} {
		if got := gcPercentFor(c.floor, c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", c.floor/mib, c.live/mib, got, c.want)
		}
	}
}
