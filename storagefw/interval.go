package storagefw

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseInterval reads an interval option: a number of seconds, a Go
// duration string ("250ms", "1h30m") or a Zeek-style one ("1d", "1 day",
// "2 hrs", "30 secs", "100 msec"). nil yields def.
func ParseInterval(v any, def time.Duration) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return def, nil
	case float64:
		return secondsToDuration(x)
	case float32:
		return secondsToDuration(float64(x))
	case int:
		return secondsToDuration(float64(x))
	case int64:
		return secondsToDuration(float64(x))
	case time.Duration:
		return x, nil
	case string:
		d, err := parseIntervalString(x)
		if err != nil {
			return 0, fmt.Errorf("interval %q: %w", x, err)
		}
		if d < 0 {
			return 0, fmt.Errorf("interval %q is negative", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("interval must be seconds or a string like \"5s\", got %T", v)
}

func secondsToDuration(s float64) (time.Duration, error) {
	if math.IsNaN(s) || s < 0 || s > math.MaxInt64/float64(time.Second) {
		return 0, fmt.Errorf("interval %v out of range", s)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// zeekUnits are Zeek's interval units (and short forms users write).
var zeekUnits = map[string]time.Duration{
	"usec": time.Microsecond, "usecs": time.Microsecond,
	"msec": time.Millisecond, "msecs": time.Millisecond,
	"sec": time.Second, "secs": time.Second,
	"min": time.Minute, "mins": time.Minute,
	"hr": time.Hour, "hrs": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

func parseIntervalString(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if d, err := time.ParseDuration(t); err == nil {
		return d, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	if i <= 0 {
		return 0, fmt.Errorf("want a number and a unit (ms, s, m, h, d, or Zeek's msec, sec, min, hr, day)")
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, err
	}
	unit, ok := zeekUnits[strings.TrimSpace(t[i:])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", strings.TrimSpace(t[i:]))
	}
	return time.Duration(n * float64(unit)), nil
}
