package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// plain converts a parsed value to what encoding/json produces for it
// (objects become maps, the last of repeated keys winning).
func plain(v any) any {
	switch v := v.(type) {
	case *Record:
		m := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			m[f.Name] = plain(f.Value)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	default:
		return v
	}
}

func names(r *Record) []string {
	var out []string
	for _, f := range r.Fields {
		out = append(out, f.Name)
	}
	return out
}

func TestParseRecord(t *testing.T) {
	p := NewJSONParser()
	line := `{"z":1,"a":"x","m":[1,"two",true,null,{"k":-2.5e3}],"n":{"b":false,"a":[]},"e":{},"s":""}`
	r, err := p.ParseRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"z", "a", "m", "n", "e", "s"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("field order %v, want %v", got, want)
	}
	if v, _ := r.Get("z"); v != 1.0 {
		t.Errorf("z = %#v", v)
	}
	m, _ := r.Get("m")
	arr, ok := m.([]any)
	if !ok || len(arr) != 5 || arr[0] != 1.0 || arr[1] != "two" || arr[2] != true || arr[3] != nil {
		t.Fatalf("m = %#v", m)
	}
	inner, ok := arr[4].(*Record)
	if !ok {
		t.Fatalf("m[4] = %#v", arr[4])
	}
	if v, _ := inner.Get("k"); v != -2500.0 {
		t.Errorf("k = %#v", v)
	}
	n, _ := r.Get("n")
	nr := n.(*Record)
	if got := names(nr); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Errorf("nested order %v", got)
	}
	if v, _ := nr.Get("a"); !reflect.DeepEqual(v, []any{}) {
		t.Errorf("empty array = %#v", v)
	}
	if e, _ := r.Get("e"); e.(*Record).Len() != 0 {
		t.Errorf("empty object = %#v", e)
	}
	var std map[string]any
	if err := json.Unmarshal([]byte(line), &std); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain(r), std) {
		t.Errorf("differs from encoding/json:\n got %#v\nwant %#v", plain(r), std)
	}
}

func TestParseStrings(t *testing.T) {
	p := NewJSONParser()
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a long plain string of more than eight bytes"`, "a long plain string of more than eight bytes"},
		{`"tab\there\nnl \"q\" \\ \/ \b\f\r"`, "tab\there\nnl \"q\" \\ / \b\f\r"},
		{`"\u00e9t\u00E9"`, "été"},
		{`"\ud83d\ude00"`, "😀"},
		{`"x\ud83dy"`, "x\uFFFDy"},                     // lone high surrogate
		{`"\ude00"`, "\uFFFD"},                         // lone low surrogate
		{`"\ud83d\u0041"`, "\uFFFDA"},                  // high surrogate then a non-surrogate
		{"\"caf\xc3\xa9\"", "café"},                    // raw UTF-8
		{"\"bad\xff\xfeutf8\"", "bad\uFFFD\uFFFDutf8"}, // invalid UTF-8 is replaced
		{`"\u0000"`, "\x00"},
	}
	for _, tt := range tests {
		v, err := p.ParseValue([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if v != tt.want {
			t.Errorf("%s = %q, want %q", tt.in, v, tt.want)
		}
		var std any
		if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != v {
			t.Errorf("%s: encoding/json gives %q, %v", tt.in, std, err)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	p := NewJSONParser()
	for _, in := range []string{"0", "-0", "1", "-1", "53", "0.5", "0.0008699893951416016", "1521911720.865716",
		"2230.0", "1e3", "1E+3", "1e-3", "12345678901234567890", "9007199254740993", "1.7976931348623157e308",
		"5e-324", "123456789012345678901234567890e-10", "0e1000", "-0.0", "3.14159265358979323846264338327950288"} {
		v, err := p.ParseValue([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var std any
		if err := json.Unmarshal([]byte(in), &std); err != nil {
			t.Fatal(err)
		}
		f, _ := v.(float64)
		if math.Float64bits(f) != math.Float64bits(std.(float64)) {
			t.Errorf("%s = %v, want %v", in, v, std)
		}
	}
	if v, _ := p.ParseValue([]byte("-0")); !math.Signbit(v.(float64)) {
		t.Errorf("-0 lost its sign")
	}
}

func TestParseErrors(t *testing.T) {
	p := NewJSONParser()
	tests := []struct {
		in     string
		column int
		msg    string
	}{
		{`{"a":1,}`, 8, "beginning of object key"},
		{`{"a":1} x`, 9, "after top-level value"},
		{`{"a":1}}`, 8, "after top-level value"},
		{`{"a":tru}`, 9, "in literal true"},
		{`{"a":"x`, 8, "end of input"},
		{`{"a" 1}`, 6, "after object key"},
		{`{"a":01}`, 7, "after object key:value pair"},
		{`{"a":1.}`, 8, "after decimal point"},
		{`{"a":1e999}`, 6, "out of range"},
		{`{"a":-}`, 7, "in numeric literal"},
		{`{"a":"\x"}`, 8, "escape"},
		{`{"a":"\u12G4"}`, 11, "hexadecimal"},
		{"{\"a\":\"x\ty\"}", 8, "in string literal"},
		{`[1,2]`, 1, "not a JSON object"},
		{`"str"`, 1, "not a JSON object"},
		{`{`, 2, "end of input"},
		{`{"a":[1 2]}`, 9, "after array element"},
		{`  `, 3, "empty"},
		{`{'a':1}`, 2, "beginning of object key"},
	}
	for _, tt := range tests {
		_, err := p.ParseRecord([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a SyntaxError", tt.in, err)
			continue
		}
		if se.Column != tt.column || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("%s: %v; want column %d, %q", tt.in, err, tt.column, tt.msg)
		}
		if err := json.Unmarshal([]byte(tt.in), new(map[string]any)); err == nil {
			t.Errorf("%s: encoding/json accepts it", tt.in)
		}
		// The parser is usable after an error.
		if _, err := p.ParseRecord([]byte(`{"ok":true}`)); err != nil {
			t.Fatalf("after %s: %v", tt.in, err)
		}
	}
}

// kv is one member of an object in the ordered form of a JSON value.
type kv struct {
	K string
	V any
}

// ordered converts a parsed value to its ordered form: objects become
// []kv in field order.
func ordered(v any) any {
	switch v := v.(type) {
	case *Record:
		out := []kv{}
		for _, f := range v.Fields {
			out = append(out, kv{f.Name, ordered(f.Value)})
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = ordered(e)
		}
		return out
	default:
		return v
	}
}

// jsonParseOrdered is the reference for what the parser must produce: the
// ordered form of data as JSON.parse builds it (a repeated key keeps the
// position of its first occurrence and the value of its last), computed
// from encoding/json's tokens. data must be valid JSON.
func jsonParseOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	v, err := tokenValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more after the value: %v", err)
	}
	return v, nil
}

func tokenValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		out := []kv{}
		at := map[string]int{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			v, err := tokenValue(dec)
			if err != nil {
				return nil, err
			}
			if i, ok := at[k]; ok {
				out[i].V = v
			} else {
				at[k] = len(out)
				out = append(out, kv{k, v})
			}
		}
		_, err := dec.Token() // '}'
		return out, err
	case json.Delim('['):
		out := []any{}
		for dec.More() {
			v, err := tokenValue(dec)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		_, err := dec.Token() // ']'
		return out, err
	}
	return tok, nil
}

// TestParseDuplicateKeys checks that a repeated key gives one field, at the
// first occurrence's position, with the last occurrence's value, at the top
// level and nested, in small objects and in large ones, and whether or not
// the previous records had the same layout (the parser's hints).
func TestParseDuplicateKeys(t *testing.T) {
	var many strings.Builder
	many.WriteString("{")
	for i := 0; i < 50; i++ { // more than linearFields
		fmt.Fprintf(&many, `"k%d":%d,`, i, i)
	}
	for i := 0; i < 50; i += 5 {
		fmt.Fprintf(&many, `"k%d":"again %d",`, i, i)
	}
	many.WriteString(`"last":true}`)
	lines := []string{
		`{"a":1,"a":2}`,
		`{"a":1,"b":2,"a":3}`,
		`{"a":1,"b":2,"c":3}`, // same layout as below, no repeat
		`{"a":1,"b":2,"c":3,"b":4}`,
		`{"a":1,"b":2,"c":3}`,
		`{"a":1,"b":2,"a":3}`,
		`{"c":1,"b":2,"a":3,"c":4}`,
		`{"x":{"y":1,"z":2,"y":{"y":3,"y":4}},"x":[{"q":1,"q":null}]}`,
		`{"\u0061":1,"a":2}`, // the same key, escaped
		many.String(),
		many.String(), // again, with hints from the first
		`{"k0":0,"k1":1}`,
	}
	p := NewJSONParser()
	for _, line := range lines {
		want, err := jsonParseOrdered([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.ParseRecord([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := ordered(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%.60s:\n got %v\nwant %v", line, got, want)
		}
		var std map[string]any
		if err := json.Unmarshal([]byte(line), &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(plain(r), std) {
			t.Errorf("%.60s: differs from encoding/json", line)
		}
	}
	// The case from the issue, spelled out.
	r, err := p.ParseRecord([]byte(`{"a":1,"a":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(r); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("keys %v, want [a]", got)
	}
	if v, _ := r.Get("a"); v != 2.0 {
		t.Errorf("a = %v, want the last value, 2", v)
	}
}

func TestParseDepth(t *testing.T) {
	p := NewJSONParser()
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		in := `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + "}"
		_, err := p.ParseRecord([]byte(in))
		stdErr := json.Unmarshal([]byte(in), new(any))
		if (err == nil) != (stdErr == nil) {
			t.Errorf("depth %d: err %v, encoding/json %v", depth, err, stdErr)
		}
	}
}

// TestParseNoAliasing checks that parsed strings never share memory with
// the input line or with anything the parser reuses.
func TestParseNoAliasing(t *testing.T) {
	p := NewJSONParser()
	buf := []byte(`{"key":"value","esc":"a\nb","n":[ "in array" ],"o":{"k":"nested"}}`)
	r, err := p.ParseRecord(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := plain(r)
	for i := range buf {
		buf[i] = 'X'
	}
	// Parse other lines through the same parser (reusing its buffers).
	for i := 0; i < 3; i++ {
		if _, err := p.ParseRecord([]byte(`{"key":"other","esc":"c\td","n":["zzzzzzzz"],"o":{"k":"q"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := plain(r); !reflect.DeepEqual(got, want) {
		t.Errorf("record changed after its input was overwritten:\n got %v\nwant %v", got, want)
	}
	if names(r)[0] != "key" {
		t.Errorf("field name changed: %v", names(r))
	}
}

// sharedParser exercises a parser's hints and caches across fuzz inputs.
var sharedParser = struct {
	sync.Mutex
	p *JSONParser
}{p: NewJSONParser()}

// FuzzJSONLine checks that the parser agrees with encoding/json on
// validity and on values, and with JSON.parse on the order of keys and on
// repeated keys (the first position, the last value).
func FuzzJSONLine(f *testing.F) {
	for _, s := range []string{
		`{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","id.orig_p":41772,"rtt":0.0008699893951416016,"answers":["a","b"],"TTLs":[2230.0],"AA":false}`,
		`{"a":{"b":[1,{"c":null}]}}`, `[]`, `{}`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `1e400`, `-0`, `01`,
		`{"a":1,"a":2}`, `{"a":1,"b":{"c":1,"c":[2]},"a":3}`, ` {"x" : [ 1 , 2 ] } `, `{"a":"\u0041\\\/"}`, `tru`,
		`{"a":1}x`, `123456789012345678901234567890`, `{"":"","":1}`, "{\"a\":\"\x7f\x80\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var std any
		stdErr := json.Unmarshal(data, &std)
		var want any
		if stdErr == nil {
			var err error
			if want, err = jsonParseOrdered(data); err != nil {
				t.Fatalf("reference on %q: %v", data, err)
			}
		}
		sharedParser.Lock()
		defer sharedParser.Unlock()
		for _, p := range []*JSONParser{NewJSONParser(), sharedParser.p} {
			v, err := p.ParseValue(data)
			if (err == nil) != (stdErr == nil) {
				t.Fatalf("ParseValue(%q): err %v, encoding/json err %v", data, err, stdErr)
			}
			if err == nil && !reflect.DeepEqual(ordered(v), want) {
				t.Fatalf("ParseValue(%q) = %v, want %v", data, ordered(v), want)
			}
			if err == nil && !reflect.DeepEqual(plain(v), std) {
				t.Fatalf("ParseValue(%q) = %#v, encoding/json %#v", data, plain(v), std)
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("ParseValue(%q): error %v is not a SyntaxError", data, err)
			}
			if err != nil && (se.Column < 1 || se.Column > len(data)+1) {
				t.Fatalf("ParseValue(%q): column %d out of range", data, se.Column)
			}
			r, err := p.ParseRecord(data)
			_, isObj := std.(map[string]any)
			if (err == nil) != (stdErr == nil && isObj) {
				t.Fatalf("ParseRecord(%q): err %v, encoding/json err %v, object %v", data, err, stdErr, isObj)
			}
			if err == nil && !reflect.DeepEqual(ordered(r), want) {
				t.Fatalf("ParseRecord(%q) = %v, want %v", data, ordered(r), want)
			}
		}
	})
}

// The key at each position is compared with the previous record's key
// before it is scanned: texts that begin like that key, or spell it with
// escapes, must still parse as what they are.
func TestParseKeysAgainstHints(t *testing.T) {
	lines := []string{
		`{"ab":1,"c":2,"":3}`,
		`{"ab":1,"c":2,"":3}`,
		`{"a\"b":1,"c\\":2,"\"":3}`,
		`{"ab":1,"c":2,"":3}`,
		`{"a\u0062":1,"c\n":2,"\u0000":3}`,
		`{"ab":1,"c":2,"":3}`,
		`{"abc":1,"c":2,"x":3}`,
		"{\"ab\xff\":1,\"c\":2,\"\":3}",
		`{"ab":1,"c":2,"":3}`,
		`{"ab`,
		`{"ab":1,"c`,
	}
	p := NewJSONParser()
	for _, line := range lines {
		want, wantErr := jsonParseOrdered([]byte(line))
		r, err := p.ParseRecord([]byte(line))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: err %v, want %v", line, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(ordered(r), want) {
			t.Errorf("%q:\n got %v\nwant %v", line, ordered(r), want)
		}
	}
}
