package textdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"run", "run", 0}, {"rnu", "run", 1}, {"inptu", "input", 1},
		{"chekc", "check", 1}, {"verison", "version", 1}, {"ru", "run", 1},
		{"handler-timout", "handler-timeout", 1}, {"abc", "xyz", 3}, {"ca", "abc", 3},
	} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
