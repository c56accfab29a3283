package storagefw

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func mustType(t *testing.T, v any) *dataType {
	t.Helper()
	typ, err := parseType(v)
	if err != nil {
		t.Fatalf("ParseType(%v): %v", v, err)
	}
	return typ
}

func TestTypeValidation(t *testing.T) {
	rec := map[string]any{"host": "addr", "n": "count", "tags": []any{"vector", "string"}}
	cases := []struct {
		typ  any
		val  any
		ok   bool
		want string // substring of the error
	}{
		{"string", "x", true, ""},
		{"string", int64(5), false, "number 5 is not of type string"},
		{"count", int64(5), true, ""},
		{"count", float64(5), true, ""},
		{"count", int64(-1), false, "not of type count"},
		{"count", 1.5, false, "not of type count"},
		{"int", int64(-1), true, ""},
		{"double", int64(2), true, ""},
		{"double", "2", false, ""},
		{"bool", true, true, ""},
		{"bool", "true", false, ""},
		{"addr", "10.0.0.1", true, ""},
		{"addr", "2001:db8::1", true, ""},
		{"addr", "10.0.0.300", false, "not an IP address"},
		{"addr", "example.com", false, "not an IP address"},
		{"subnet", "10.1.2.3/8", true, ""},
		{"subnet", "10.0.0.0", false, "not a subnet"},
		{"any", map[string]any{"x": []any{int64(1)}}, true, ""},
		{rec, map[string]any{"host": "10.0.0.1", "n": int64(3), "tags": []any{"a"}}, true, ""},
		{rec, map[string]any{"host": "10.0.0.1", "n": int64(3)}, false, `field "tags" is missing`},
		{rec, map[string]any{"host": "x", "n": int64(3), "tags": []any{}}, false, `field "host"`},
		{rec, map[string]any{"host": "10.0.0.1", "n": int64(3), "tags": []any{}, "extra": 1}, false, `undeclared field "extra"`},
		{[]any{"vector", "count"}, []any{int64(1), int64(2)}, true, ""},
		{[]any{"vector", "count"}, []any{int64(1), "2"}, false, "vector element 1"},
	}
	for _, c := range cases {
		_, err := mustType(t, c.typ).Normalize(c.val)
		if c.ok != (err == nil) {
			t.Errorf("%v ∋ %#v: err = %v, want ok=%v", c.typ, c.val, err, c.ok)
			continue
		}
		if err != nil && c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v ∋ %#v: err %q lacks %q", c.typ, c.val, err, c.want)
		}
	}
	for _, bad := range []any{"strin", []any{"set", "any"}, []any{"table", "string"}, "count?", []any{"vector", "count?"}, map[string]any{}, nil, int64(3)} {
		if _, err := parseType(bad); err == nil {
			t.Errorf("ParseType(%v) accepted", bad)
		}
	}
}

func TestSerializerMatchesZeek(t *testing.T) {
	s := JSONSerializer{}
	cases := []struct {
		v    any
		want string
	}{
		{"k", `JSONv1;"k"`},
		{"a<b>&c", `JSONv1;"a<b>&c"`},
		{int64(42), `JSONv1;42`},
		{1.5, `JSONv1;1.5`},
		{true, `JSONv1;true`},
		{map[string]any{"b": int64(1), "a": "x"}, `JSONv1;{"a":"x","b":1}`},
		{[]any{int64(1), "x"}, `JSONv1;[1,"x"]`},
	}
	for _, c := range cases {
		b, err := s.Serialize(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("Serialize(%#v) = %q, %v; want %q", c.v, b, err, c.want)
			continue
		}
		back, err := s.Unserialize(b)
		if err != nil {
			t.Errorf("Unserialize(%q): %v", b, err)
		}
		again, _ := s.Serialize(back)
		if string(again) != c.want {
			t.Errorf("round trip of %q gave %q", c.want, again)
		}
	}
	if _, err := s.Unserialize([]byte(`"no-prefix"`)); err == nil {
		t.Error("unprefixed data accepted")
	}
	if _, err := s.Unserialize([]byte(`JSONv1;{"a":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
	if _, err := s.Serialize(map[string]any{"f": func() {}}); err == nil {
		t.Error("a function serialized")
	}
}

func TestParseInterval(t *testing.T) {
	cases := map[any]time.Duration{nil: 7 * time.Second, 1.5: 1500 * time.Millisecond, int64(2): 2 * time.Second, "250ms": 250 * time.Millisecond, "1h": time.Hour, "1d": 24 * time.Hour, "2 hrs": 2 * time.Hour, "30 secs": 30 * time.Second, "1.5min": 90 * time.Second}
	for in, want := range cases {
		got, err := ParseInterval(in, 7*time.Second)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []any{"soon", -1.0, true, "5 fortnights", "d"} {
		if _, err := ParseInterval(bad, 0); err == nil {
			t.Errorf("ParseInterval(%v) accepted", bad)
		}
	}
}

func TestOperationsRegistry(t *testing.T) {
	ops := newOperationLog(time.Minute, 3)
	now := time.Unix(1000, 0)
	ops.now = func() time.Time { return now }
	a := ops.start("put", "SQLITE", "k")
	if got, ok := ops.Get("1"); !ok || got.State != StateRunning || got.Key != `"k"` || got.ID != "1" {
		t.Fatalf("Get running = %+v %v", got, ok)
	}
	waited := make(chan OperationInfo)
	go func() {
		info, _ := ops.Wait(context.Background(), "1")
		waited <- info
	}()
	ops.finish(a, OperationResult{Code: KeyExists, Error: "exists"})
	if info := <-waited; info.State != StateDone || info.Code != KeyExists {
		t.Fatalf("Wait = %+v", info)
	}
	// Wait with an expired context returns the running state.
	b := ops.start("get", "SQLITE", "k")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if info, ok := ops.Wait(ctx, "2"); !ok || info.State != StateRunning {
		t.Fatalf("Wait(cancelled) = %+v", info)
	}
	if ops.InFlight() != 1 {
		t.Fatalf("in flight = %d", ops.InFlight())
	}
	// Retention: finished ones expire after the period; running ones stay.
	now = now.Add(2 * time.Minute)
	list := ops.List()
	if len(list) != 1 || list[0].ID != "2" || b.id != 2 {
		t.Fatalf("after retention: %+v", list)
	}
	// At most maxFinished finished operations are kept.
	for i := 0; i < 5; i++ {
		ops.finish(ops.start("erase", "SQLITE", nil), OperationResult{Code: Success})
	}
	if n := len(ops.List()); n != 4 { // 3 finished + 1 running
		t.Fatalf("kept %d", n)
	}
	if _, ok := ops.Get("nope"); ok {
		t.Fatal("bad id found")
	}
}

func TestRedactOptions(t *testing.T) {
	in := map[string]any{"redis": map[string]any{"password": "hunter2", "server_host": "h"}, "forced_sync": true}
	out := RedactOptions(in)
	r := out["redis"].(map[string]any)
	if r["password"] != "<redacted>" || r["server_host"] != "h" || out["forced_sync"] != true {
		t.Fatalf("redacted = %v", out)
	}
	if in["redis"].(map[string]any)["password"] != "hunter2" {
		t.Fatal("input modified")
	}
}

// Whatever a string holds, it is written as valid JSON that reads back
// as the string itself when Zeek keeps it raw, or as its escaped form
// (each byte outside printable ASCII and \b\f\n\r\t as the text \xNN)
// when it holds a character Zeek refuses.
func FuzzStringSerialization(f *testing.F) {
	for _, s := range []string{"", "k", "a\"b\\c", "\x00\x1f\n\t\r", "<>&", "\u2028\u2029", "héllo", "\xff\xfe", "日本", "\ufffd", "\ue000", "a\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendZeekString(nil, s)
		node, err := parseJSON(out)
		if err != nil {
			t.Fatalf("%q written as %s: %v", s, out, err)
		}
		want := s
		if hasBadChar(s) {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				c := s[i]
				if c >= 0x20 && c < 0x7f || strings.IndexByte("\b\f\n\r\t", c) >= 0 {
					b.WriteByte(c)
				} else {
					fmt.Fprintf(&b, "\\x%02x", c)
				}
			}
			want = b.String()
		}
		if node != want {
			t.Fatalf("%q written as %s reads back as %q, want %q", s, out, node, want)
		}
		if utf8.ValidString(s) || hasBadChar(s) {
			if !json.Valid(out) {
				t.Fatalf("%q written as invalid JSON %s", s, out)
			}
		}
	})
}

// The decode fast path must agree with the parser.
func FuzzUnserializeFastPath(f *testing.F) {
	for _, s := range []string{`"k"`, `"a\"b"`, `"é"`, `42`, `-7`, `0`, `-0`, `007`, `-`, `1e3`, `123456789012345678`, `""`, `"x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := fastScalar([]byte(s))
		if !ok {
			return
		}
		slow, err := parseJSON([]byte(s))
		if err != nil {
			t.Fatalf("%q: fast path accepted %v, parser says %v", s, fast, err)
		}
		switch x := fast.(type) {
		case wireString:
			fast = string(x)
		case wireInt:
			fast = int64(x)
		}
		if slow != fast {
			t.Fatalf("%q: fast %#v, slow %#v", s, fast, slow)
		}
	})
}
