package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// durationValue is a duration flag read as the storage framework reads
// intervals (storagefw.ParseInterval), so the same forms work on the
// command line and in scripts: a number of seconds (5, 0.25), a Go
// duration (250ms, 5s, 1m30s) or Zeek's ("5 secs", "2 mins", "1 hr").
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	// A sign is read here so that a negative value reaches the flag's own
	// check ("must be positive"); intervals themselves are never negative.
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	if neg {
		t = strings.TrimSpace(t[1:])
	}
	// On the command line every value is a string; a bare number is
	// seconds, as a number option is in scripts.
	var v any = t
	if n, err := strconv.ParseFloat(t, 64); err == nil {
		v = n
	}
	dur, err := storagefw.ParseInterval(v, 0)
	if err != nil {
		return err
	}
	if neg {
		dur = -dur
	}
	*d = durationValue(dur)
	return nil
}
