package eventloop

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live uint64
		want        int
	}{
		{0, 1 * mib, 100},          // no floor
		{24 * mib, 5 * mib, 380},   // goal 5 MiB × 4.8 = 24 MiB
		{24 * mib, 3 * mib, 600},   // 700, but the runtime's least goal (4 MiB × 6) is the floor already
		{24 * mib, 0, 600},         // live counted as at least 1 MiB
		{32 * mib, 2 * mib, 800},   // 4 MiB × 8
		{32 * mib, 7 * mib, 350},   // 357, rounded down to a step of 10
		{32 * mib, 16 * mib, 100},  // twice the live heap reaches the floor
		{32 * mib, 500 * mib, 100}, // large heaps keep the default
		{6 * mib, 2 * mib, 150},    // 200 capped at 150 (4 MiB × 1.5 = 6 MiB)
		{4 * mib, 1 * mib, 100},    // never below the default
	} {
		if got := gcPercentFor(c.floor, c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", c.floor/mib, c.live/mib, got, c.want)
		}
	}
}
