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
	// On the command line every value is a string; a bare number is
	// seconds, as a number option is in scripts.
	var v any = s
	if n, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		v = n
	}
	dur, err := storagefw.ParseInterval(v, 0)
	if err != nil {
		return err
	}
	*d = durationValue(dur)
	return nil
}
