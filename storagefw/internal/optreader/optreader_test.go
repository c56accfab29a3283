package optreader

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

func TestGetters(t *testing.T) {
	r := New("test", map[string]any{
		"s": "x", "null": nil,
		"secs": 1.5, "dur": "250ms", "zeek": "2 hrs", "int": 3,
		"port": 6380.0, "tcp": "6379/tcp", "bare": "7000",
		"raw": []any{1},
	})
	if s, ok := r.String("s"); s != "x" || !ok {
		t.Errorf("String(s) = %q, %v", s, ok)
	}
	if s, ok := r.String("null"); s != "" || ok {
		t.Errorf("String(null) = %q, %v; want unset", s, ok)
	}
	if s, ok := r.String("absent"); s != "" || ok {
		t.Errorf("String(absent) = %q, %v; want unset", s, ok)
	}
	for name, want := range map[string]time.Duration{
		"secs": 1500 * time.Millisecond, "dur": 250 * time.Millisecond, "zeek": 2 * time.Hour,
		"int": 3 * time.Second, "absent-interval": 7 * time.Second,
	} {
		if got := r.Interval(name, 7*time.Second); got != want {
			t.Errorf("Interval(%s) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]int{"port": 6380, "tcp": 6379, "bare": 7000, "absent-port": 1} {
		if got := r.Port(name, 1); got != want {
			t.Errorf("Port(%s) = %v, want %v", name, got, want)
		}
	}
	if v, ok := r.Value("raw"); !ok || len(v.([]any)) != 1 {
		t.Errorf("Value(raw) = %v, %v", v, ok)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil: every option was asked for", err)
	}
	if err := New("test", nil).Err(); err != nil {
		t.Fatalf("nil map: %v", err)
	}
}

// problem reads m with read and returns the error message, checking it
// is an INITIALIZATION_FAILED *storagefw.Error.
func problem(t *testing.T, m map[string]any, read func(r *Reader)) string {
	t.Helper()
	r := New("test", m)
	read(r)
	err := r.Err()
	var se *storagefw.Error
	if !errors.As(err, &se) || se.Code != storagefw.InitializationFailed {
		t.Fatalf("Err() = %v, want an INITIALIZATION_FAILED *storagefw.Error", err)
	}
	return se.Msg
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		val  any
		read func(r *Reader)
		want string
	}{
		{5.0, func(r *Reader) { r.String("o") }, `test option "o": must be a string, got float64`},
		{"x", func(r *Reader) { r.Interval("o", 0) }, `test option "o": interval "x": `},
		{-1.0, func(r *Reader) { r.Interval("o", 0) }, `test option "o": interval -1 out of range`},
		{true, func(r *Reader) { r.Interval("o", 0) }, `test option "o": interval must be seconds`},
		{"6379/udp", func(r *Reader) { r.Port("o", 1) }, `test option "o": "6379/udp" is not a TCP port`},
		{"http", func(r *Reader) { r.Port("o", 1) }, `test option "o": "http" is not a port`},
		{70000.0, func(r *Reader) { r.Port("o", 1) }, `test option "o": 70000 is out of range`},
		{80.5, func(r *Reader) { r.Port("o", 1) }, `test option "o": 80.5 is out of range`},
		{true, func(r *Reader) { r.Port("o", 1) }, `test option "o": must be a number or a string like "6379/tcp", got bool`},
		{"v", func(r *Reader) { r.Value("o"); r.Fail("o", "is %s", "wrong") }, `test option "o": is wrong`},
	} {
		if got := problem(t, map[string]any{"o": tc.val}, tc.read); !strings.HasPrefix(got, tc.want) {
			t.Errorf("reading %#v: %q, want it to start with %q", tc.val, got, tc.want)
		}
	}
}

func TestFirstErrorWins(t *testing.T) {
	m := map[string]any{"a": 1.0, "b": "nope", "zz": 1, "unknown": 1}
	got := problem(t, m, func(r *Reader) {
		r.String("a")
		r.Interval("b", 0)
		r.Fail("zz", "later")
	})
	if !strings.HasPrefix(got, `test option "a": must be a string`) {
		t.Errorf("got %q, want the first error (about a)", got)
	}
	// A getter after an error still returns its default.
	r := New("test", map[string]any{"a": 1.0, "b": "nope"})
	r.String("a")
	if d := r.Interval("b", time.Second); d != time.Second {
		t.Errorf("Interval after an error = %v, want the default", d)
	}
}

func TestUnknown(t *testing.T) {
	m := map[string]any{"known": "x", "zebra": 1, "alpha": nil}
	got := problem(t, m, func(r *Reader) {
		r.String("known")
		r.Interval("other", 0)
	})
	// Sorted: alpha is reported first, even though it is null.
	if want := `test option "alpha": unknown option (known: known, other)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// An error in a known option is reported before unknown options.
	got = problem(t, map[string]any{"known": 1, "zebra": 1}, func(r *Reader) { r.String("known") })
	if !strings.Contains(got, `"known": must be a string`) {
		t.Errorf("got %q, want the type error first", got)
	}
}
