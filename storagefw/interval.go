package storagefw

import (
	"fmt"
	"math"
	"time"
)

// ParseInterval reads an interval option: a number of seconds or a Go-style
// duration string ("250ms", "5s", "1h"). nil yields def.
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
		d, err := time.ParseDuration(x)
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
