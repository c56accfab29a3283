// Package optreader reads a storage backend's options record (the map a
// script passes to open_backend) into typed values. The backends of
// storagefw share it, so that they accept values and word errors alike.
//
// A Reader hands out one option at a time through typed getters, each of
// which treats a missing or null option as unset. It keeps the first error
// (a value of the wrong type or out of range, or one the backend reports
// with Fail) and, once every option has been asked for, Err reports it, or
// else the first option nobody asked for. Errors are INITIALIZATION_FAILED
// *storagefw.Errors worded `<backend> option "<name>": <problem>`.
//
// A Reader is used by one goroutine.
package optreader

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// Reader reads one options record.
type Reader struct {
	backend string
	m       map[string]any
	known   []string // the options asked for, in order
	err     error    // the first error
}

// New returns a Reader of m (nil reads as empty) for the backend named in
// its errors ("sqlite", "redis").
func New(backend string, m map[string]any) *Reader {
	return &Reader{backend: backend, m: m}
}

// Value returns option name as given, for an option the backend parses
// itself, and whether it is set (present and not null). Every getter goes
// through it: asking for an option is what makes it a known one, so a
// backend asks for each of its options on every read, set or not.
func (r *Reader) Value(name string) (any, bool) {
	if !slices.Contains(r.known, name) {
		r.known = append(r.known, name)
	}
	v, ok := r.m[name]
	return v, ok && v != nil
}

// Fail records a problem with option name, unless an error was recorded
// before.
func (r *Reader) Fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = storagefw.Errorf(storagefw.InitializationFailed, "%s option %q: %s",
			r.backend, name, fmt.Sprintf(format, args...))
	}
}

// Err returns the first error recorded, or else an error naming the first
// (by name) option that was set but never asked for, listing the known
// ones; nil when every option was read without error.
func (r *Reader) Err() error {
	if r.err != nil {
		return r.err
	}
	for _, k := range slices.Sorted(maps.Keys(r.m)) {
		if !slices.Contains(r.known, k) {
			r.Fail(k, "unknown option (known: %s)", strings.Join(r.known, ", "))
			return r.err
		}
	}
	return nil
}

// String returns a string option and whether it is set.
func (r *Reader) String(name string) (string, bool) {
	v, ok := r.Value(name)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		r.Fail(name, "must be a string, got %T", v)
		return "", false
	}
	return s, true
}

// Interval returns an interval option (see storagefw.ParseInterval: a
// number of seconds or a string such as "5s", "250ms" or "2 hrs"), def when
// it is unset or malformed.
func (r *Reader) Interval(name string, def time.Duration) time.Duration {
	v, ok := r.Value(name)
	if !ok {
		return def
	}
	d, err := storagefw.ParseInterval(v, def)
	if err != nil {
		r.Fail(name, "%v", err)
		return def
	}
	return d
}

// Port returns a TCP port option, given as a number or as a Zeek port
// literal such as "6379/tcp"; def when it is unset or malformed.
func (r *Reader) Port(name string, def int) int {
	v, ok := r.Value(name)
	if !ok {
		return def
	}
	var p float64
	switch x := v.(type) {
	case float64:
		p = x
	case float32:
		p = float64(x)
	case int:
		p = float64(x)
	case int64:
		p = float64(x)
	case string:
		num, proto, hasProto := strings.Cut(x, "/")
		if hasProto && proto != "tcp" {
			r.Fail(name, "%q is not a TCP port", x)
			return def
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			r.Fail(name, "%q is not a port", x)
			return def
		}
		p = float64(n)
	default:
		r.Fail(name, "must be a number or a string like \"6379/tcp\", got %T", v)
		return def
	}
	if p != math.Trunc(p) || p < 1 || p > 65535 {
		r.Fail(name, "%v is out of range", v)
		return def
	}
	return int(p)
}
