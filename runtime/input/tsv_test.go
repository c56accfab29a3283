package input

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const tsvHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tconn\n" +
	"#open\t2024-04-12-19-29-12\n" +
	"#fields\tts\tuid\tid.resp_p\tport2\tcnt\tok\tnames\tnums\ttags\tnote\tempty_str\tenum\n" +
	"#types\ttime\tstring\tport\tport\tcount\tbool\tvector[string]\tvector[interval]\tset[string]\tstring\tstring\tenum\n"

func TestTSVValues(t *testing.T) {
	dir := t.TempDir()
	content := tsvHeader +
		"1521911720.865716\tCabc\t53\t80/tcp\t-\tT\ta.example,b\\x2cc,-\t2230.000000,41830.5\t(empty)\ttab\\x09in\\x5cx \\\\y\t(empty)\tudp\n" +
		"1521911721.000000\tCdef\t443\t0\t7\tF\t(empty)\t-\tx\t\\x2d\t\\x28empty)\ttcp\n" +
		"#close\t2024-04-12-19-34-07\n"
	path := writeFile(t, dir, "conn.log", content)
	var bad badLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	if len(bad.get()) != 0 {
		t.Fatalf("bad records: %v", bad.get())
	}
	if len(evs) != 2 || r.Stats().Records != 2 {
		t.Fatalf("got %d events, stats %+v", len(evs), r.Stats())
	}
	e := evs[0]
	if e.Name != "conn" || e.Line != 9 || e.File != path || e.TS != 1521911720.865716 {
		t.Errorf("event = %+v", e)
	}
	want := map[string]any{
		"ts":        1521911720.865716,
		"uid":       "Cabc",
		"id.resp_p": 53.0,
		"port2":     80.0,
		"ok":        true,
		"names":     []any{"a.example", "b,c", nil},
		"nums":      []any{2230.0, 41830.5},
		"tags":      []any{},
		"note":      "tab\tin\\x \\\\y",
		"empty_str": "",
		"enum":      "udp",
	}
	if got := plain(e.Record); !reflect.DeepEqual(got, want) {
		t.Errorf("record 1:\n got %#v\nwant %#v", got, want)
	}
	if _, ok := e.Record.Get("cnt"); ok {
		t.Errorf("unset field present")
	}
	if got := names(e.Record)[:3]; !reflect.DeepEqual(got, []string{"ts", "uid", "id.resp_p"}) {
		t.Errorf("order %v", got)
	}
	want2 := map[string]any{
		"ts": 1521911721.0, "uid": "Cdef", "id.resp_p": 443.0, "port2": 0.0, "cnt": 7.0, "ok": false,
		"names": []any{}, "tags": []any{"x"}, "note": "-", "empty_str": "(empty)", "enum": "tcp",
	}
	if got := plain(evs[1].Record); !reflect.DeepEqual(got, want2) {
		t.Errorf("record 2:\n got %#v\nwant %#v", got, want2)
	}
}

func TestTSVBadRecords(t *testing.T) {
	dir := t.TempDir()
	good := "1.5\tC1\t53\t53\t1\tT\ta\t1.0\tx\tn\ts\te\n"
	content := tsvHeader +
		good + // line 9
		"1.5\tC1\t53\n" + // 10: too few fields
		"abc\tC1\t53\t53\t1\tT\ta\t1.0\tx\tn\ts\te\n" + // 11: bad time
		"1.5\tC1\t53\t53\t1\tyes\ta\t1.0\tx\tn\ts\te\n" + // 12: bad bool
		"1.5\tC1\t53\t53\t1.5\tT\ta\t1.0\tx\tn\ts\te\n" + // 13: count with a fraction
		"1.5\tC1\t53\t53\t1\tT\ta\t1.0,zz\tx\tn\ts\te\n" + // 14: bad vector element
		"\n" + // 15: blank
		good // 16
	path := writeFile(t, dir, "conn.log", content)
	var bad badLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	if len(evs) != 2 || evs[0].Line != 9 || evs[1].Line != 16 {
		t.Fatalf("events %+v", evs)
	}
	got := bad.get()
	wantLines := []int{10, 11, 12, 13, 14}
	wantMsgs := []string{"3 fields, header has 12", `field ts (time): "abc" is not a number`, `field ok (bool): "yes" is not T or F`,
		`field cnt (count): "1.5" is not an integer`, `field nums (vector[interval]): element 2: "zz" is not a number`}
	if len(got) != len(wantLines) {
		t.Fatalf("bad records %v", got)
	}
	for i, b := range got {
		if b.Line != wantLines[i] || b.File != path || !strings.Contains(b.Err.Error(), wantMsgs[i]) {
			t.Errorf("bad record %d = %d %v, want line %d %q", i, b.Line, b.Err, wantLines[i], wantMsgs[i])
		}
	}
	if s := r.Stats(); s.Skipped != 5 || s.Records != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestTSVNewHeaderBlock reads two logs concatenated: the second header
// block replaces the first.
func TestTSVNewHeaderBlock(t *testing.T) {
	dir := t.TempDir()
	content := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tone\n" +
		"#fields\ta\tb\n#types\tcount\tstring\n" +
		"1\tx\n" +
		"#close\t2024\n" +
		"#separator \\x7c\n#set_separator|;\n#empty_field|EMPTY\n#unset_field|NONE\n#path|two\n" +
		"#fields|c|d|e\n#types|string|set[count]|string\n" +
		"y|1;2|NONE\n" +
		"z|EMPTY|EMPTY\n"
	path := writeFile(t, dir, "cat.log", content)
	var bad badLog
	evs, _ := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	if len(bad.get()) != 0 {
		t.Fatalf("bad: %v", bad.get())
	}
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	if evs[0].Name != "one" || !reflect.DeepEqual(plain(evs[0].Record), map[string]any{"a": 1.0, "b": "x"}) {
		t.Errorf("first: %s %v", evs[0].Name, plain(evs[0].Record))
	}
	if evs[1].Name != "two" || !reflect.DeepEqual(plain(evs[1].Record), map[string]any{"c": "y", "d": []any{1.0, 2.0}}) {
		t.Errorf("second: %s %v", evs[1].Name, plain(evs[1].Record))
	}
	if !reflect.DeepEqual(plain(evs[2].Record), map[string]any{"c": "z", "d": []any{}, "e": ""}) {
		t.Errorf("third: %v", plain(evs[2].Record))
	}
}

func TestTSVNameFromSpec(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "x.log", tsvHeader+"1.5\tC1\t53\t53\t1\tT\ta\t1.0\tx\tn\ts\te\n")
	evs, _ := readAll(t, Spec{Event: "mine", Path: path}, Options{})
	if len(evs) != 1 || evs[0].Name != "mine" {
		t.Fatalf("events %+v", evs)
	}
}

func TestUnescapeZeek(t *testing.T) {
	for in, want := range map[string]string{
		`plain`: "plain", `\x09`: "\t", `a\x2cb`: "a,b", `\x`: `\x`, `\x4`: `\x4`, `\x4g`: `\x4g`,
		`\\x41`: `\A`, `end\`: `end\`, `\xe2\x82\xac`: "€",
	} {
		if got := string(unescapeZeek(nil, []byte(in))); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// warnLog collects OnWarning calls.
type warnLog struct {
	mu   sync.Mutex
	msgs []badRecord
}

func (w *warnLog) add(file string, line int, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, badRecord{file, line, errors.New(msg)})
}

func (w *warnLog) get() []badRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]badRecord(nil), w.msgs...)
}

// typedHeader declares one column of each type that TestTSVTyping checks.
const typedHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tt\n" +
	"#fields\tc\ti\tp\ta\ts\td\tb\tsc\tva\tu\tsu\n" +
	"#types\tcount\tint\tport\taddr\tsubnet\tdouble\tbool\tset[count]\tvector[addr]\tfoo\tset[bar]\n"

// TestTSVTyping checks each Zeek type's values against the standard
// library's parsers: a value out of its type's range or syntax is a bad
// record whose reason names the field and its type, in containers too.
func TestTSVTyping(t *testing.T) {
	good := []string{"18446744073709551615", "-9223372036854775808", "65535/udp", "2001:db8::1", "10.0.0.0/8",
		"1.5e3", "T", "1,2", "10.0.0.1,::1", "whatever", "x,y"}
	type change struct {
		col   int
		value string
	}
	changes := []change{
		{0, "0"}, {0, "-3"}, {0, "1e23"}, {0, "18446744073709551616"}, {0, "+1"}, {0, "1.0"}, {0, "(empty)"},
		{1, "9223372036854775807"}, {1, "+5"}, {1, "-0"}, {1, "9223372036854775808"}, {1, "-9223372036854775809"}, {1, "1.0"},
		{2, "0"}, {2, "80/tcp"}, {2, "70000"}, {2, "65536"}, {2, "-1"}, {2, "80/xyz"}, {2, "/tcp"},
		{3, "255.255.255.255"}, {3, "::ffff:1.2.3.4"}, {3, "foo"}, {3, "1.2.3"}, {3, "256.1.1.1"}, {3, "01.2.3.4"},
		{3, "fe80::1%eth0"}, {3, "1.2.3.4."}, {3, "1.2.3.4.5"},
		{4, "2001:db8::/32"}, {4, "10.0.0.0/33"}, {4, "foo"}, {4, "10.0.0.1"},
		{5, "-0.5"}, {5, "abc"}, {5, "1e400"}, {5, "inf"}, {5, "nan"}, {5, "0x10"},
		{6, "F"}, {6, "yes"}, {6, "TRUE"},
		{7, "1,-2"}, {7, "(empty)"}, {7, "5"}, {7, "1,18446744073709551616"},
		{8, "1.2.3.4,foo"}, {8, "-,::1"},
	}
	// valid reports whether value is valid for column col, by the standard
	// library's parsers.
	valid := func(col int, v string) bool {
		switch col {
		case 0:
			_, err := strconv.ParseUint(v, 10, 64)
			return err == nil
		case 1:
			_, err := strconv.ParseInt(v, 10, 64)
			return err == nil
		case 2:
			num, proto, _ := strings.Cut(v, "/")
			p, err := strconv.ParseUint(num, 10, 16)
			return err == nil && p <= 65535 && (proto == "" || proto == "tcp" || proto == "udp") && !strings.HasPrefix(num, "+")
		case 3:
			a, err := netip.ParseAddr(v)
			return err == nil && a.Zone() == ""
		case 4:
			_, err := netip.ParsePrefix(v)
			return err == nil
		case 5:
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && !strings.ContainsAny(v, "xXnN")
		case 6:
			return v == "T" || v == "F"
		case 7:
			if v == "(empty)" {
				return true
			}
			for _, e := range strings.Split(v, ",") {
				if _, err := strconv.ParseUint(e, 10, 64); err != nil {
					return false
				}
			}
			return true
		case 8:
			for _, e := range strings.Split(v, ",") {
				if a, err := netip.ParseAddr(e); e != "-" && (err != nil || a.Zone() != "") {
					return false
				}
			}
			return true
		}
		return true
	}
	types := strings.Split(strings.TrimPrefix(strings.Split(typedHeader, "\n")[6], "#types\t"), "\t")
	names := strings.Split(strings.TrimPrefix(strings.Split(typedHeader, "\n")[5], "#fields\t"), "\t")
	var sb strings.Builder
	sb.WriteString(typedHeader)
	sb.WriteString(strings.Join(good, "\t") + "\n") // line 8
	for _, c := range changes {
		row := append([]string(nil), good...)
		row[c.col] = c.value
		sb.WriteString(strings.Join(row, "\t") + "\n")
	}
	// A second header block declaring the same unknown types: no new warning.
	sb.WriteString(strings.Join(strings.Split(typedHeader, "\n")[:7], "\n") + "\n")
	path := writeFile(t, t.TempDir(), "typed.log", sb.String())
	var bad badLog
	var warns warnLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add, OnWarning: warns.add})

	var wantEv []int
	wantBad := map[int]change{}
	for k, c := range changes {
		if valid(c.col, c.value) {
			wantEv = append(wantEv, 9+k)
		} else {
			wantBad[9+k] = c
		}
	}
	if len(evs) != 1+len(wantEv) {
		t.Errorf("%d events, want %d", len(evs), 1+len(wantEv))
	}
	for k, e := range evs {
		if k == 0 {
			if e.Line != 8 {
				t.Errorf("first event at line %d", e.Line)
			}
			want := map[string]any{"c": float64(math.MaxUint64), "i": float64(math.MinInt64), "p": 65535.0, "a": "2001:db8::1",
				"s": "10.0.0.0/8", "d": 1500.0, "b": true, "sc": []any{1.0, 2.0}, "va": []any{"10.0.0.1", "::1"},
				"u": "whatever", "su": []any{"x", "y"}}
			if got := plain(e.Record); !reflect.DeepEqual(got, want) {
				t.Errorf("good row:\n got %#v\nwant %#v", got, want)
			}
			continue
		}
		if k-1 < len(wantEv) && e.Line != wantEv[k-1] {
			t.Errorf("event %d at line %d, want %d", k, e.Line, wantEv[k-1])
		}
	}
	for _, b := range bad.get() {
		c, ok := wantBad[b.Line]
		if !ok {
			t.Errorf("unexpected bad record %s:%d: %v", b.File, b.Line, b.Err)
			continue
		}
		delete(wantBad, b.Line)
		prefix := fmt.Sprintf("field %s (%s): ", names[c.col], types[c.col])
		if b.File != path || !strings.HasPrefix(b.Err.Error(), prefix) {
			t.Errorf("bad record %s:%d: %q, want it to start with %q", b.File, b.Line, b.Err, prefix)
		}
	}
	for line, c := range wantBad {
		t.Errorf("line %d (%s = %q) not reported as bad", line, names[c.col], c.value)
	}
	if s := r.Stats(); s.Skipped != int64(len(changes)-len(wantEv)) {
		t.Errorf("stats %+v, want %d skipped", s, len(changes)-len(wantEv))
	}
	// Unknown types: one warning each, for the file, at the #types line.
	w := warns.get()
	if len(w) != 2 {
		t.Fatalf("warnings %v, want one for foo and one for bar", w)
	}
	for k, typ := range []string{`"foo"`, `"bar"`} {
		if w[k].File != path || w[k].Line != 7 || !strings.Contains(w[k].Err.Error(), "unknown Zeek type "+typ) {
			t.Errorf("warning %d = %s:%d %v", k, w[k].File, w[k].Line, w[k].Err)
		}
	}
	if s := r.Stats(); s.Warnings != 2 {
		t.Errorf("stats %+v, want 2 warnings", s)
	}
	// Another file warns again.
	var warns2 warnLog
	path2 := writeFile(t, t.TempDir(), "typed2.log", typedHeader)
	readAll(t, Spec{Path: path2}, Options{OnWarning: warns2.add})
	if w := warns2.get(); len(w) != 2 || w[0].File != path2 {
		t.Errorf("second file: warnings %v", w)
	}
}

// zeekValid is the reference for which values of Zeek type typ the reader
// accepts, by the standard library's parsers. typ is a scalar type.
func zeekValid(typ, v string) bool {
	switch typ {
	case "count":
		_, err := strconv.ParseUint(v, 10, 64)
		return err == nil
	case "int":
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case "port":
		num, proto, slash := strings.Cut(v, "/")
		p, err := strconv.ParseUint(num, 10, 64)
		return err == nil && p <= 65535 &&
			(!slash || proto == "tcp" || proto == "udp" || proto == "icmp" || proto == "unknown")
	case "addr":
		a, err := netip.ParseAddr(v)
		return err == nil && a.Zone() == ""
	case "subnet":
		_, err := netip.ParsePrefix(v)
		return err == nil
	case "double", "time", "interval":
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && !math.IsInf(f, 0) && strings.Trim(v, "0123456789.+-eE") == ""
	case "bool":
		return v == "T" || v == "F" || v == "1" || v == "0"
	}
	return true // strings
}

// rowHeader declares a column of each type, scalar and in containers.
var rowHeader = func() string {
	types := []string{"count", "int", "port", "addr", "subnet", "double", "time", "bool", "string", "enum", "foo",
		"set[count]", "vector[int]", "set[port]", "vector[addr]", "set[subnet]", "vector[interval]", "set[bool]",
		"vector[string]", "set[foo]"}
	var names []string
	for i := range types {
		names = append(names, fmt.Sprintf("f%d", i))
	}
	return "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tp\n" +
		"#fields\t" + strings.Join(names, "\t") + "\n#types\t" + strings.Join(types, "\t") + "\n"
}()

// FuzzTSVRow feeds arbitrary data lines to a Zeek TSV header with a column
// of each type: the parser must not panic, must accept exactly the rows
// whose values the standard library's parsers accept for their types, must
// name the field and its type when it refuses one, and must produce values
// of the declared types.
func FuzzTSVRow(f *testing.F) {
	for _, s := range []string{
		"1\t-2\t80/tcp\t10.0.0.1\t10.0.0.0/8\t1.5\t1521911720.5\tT\ts\te\tu\t1,2\t-1\t53\t::1,1.2.3.4\t::/0\t0.5\tF\ta,-\tx",
		"-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-",
		"(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)\t(empty)",
		"18446744073709551616\t9223372036854775808\t70000\tfoo\t1.2.3.4/33\tabc\t1e400\tyes\t\\x41\t\t\t,\t+\t/tcp\t01.2.3.4\t\t\t\t\t",
		"x",
	} {
		f.Add(s)
	}
	lines := strings.Split(strings.TrimSuffix(rowHeader, "\n"), "\n")
	fields := strings.Split(strings.TrimPrefix(lines[5], "#fields\t"), "\t")
	types := strings.Split(strings.TrimPrefix(lines[6], "#types\t"), "\t")
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "\n") {
			return
		}
		st := newTSVState(newCaches(), &arena{}, nil)
		for _, h := range lines {
			if err := st.header([]byte(h)); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := st.record([]byte(line))
		parts := strings.Split(line, "\t")
		if len(parts) != len(fields) {
			if err == nil {
				t.Fatalf("%q: %d fields accepted", line, len(parts))
			}
			return
		}
		// The reference: which field, if any, is invalid.
		bad := -1
		for i, raw := range parts {
			typ, container := types[i], false
			if inner, ok := strings.CutPrefix(typ, "set["); ok {
				typ, container = strings.TrimSuffix(inner, "]"), true
			} else if inner, ok := strings.CutPrefix(typ, "vector["); ok {
				typ, container = strings.TrimSuffix(inner, "]"), true
			}
			if raw == "-" || (container && raw == "(empty)") {
				continue
			}
			elems := []string{raw}
			if container {
				elems = strings.Split(raw, ",")
			}
			for _, e := range elems {
				if (container && e == "-") || ((typ == "string" || typ == "enum" || typ == "foo") && e == "(empty)") {
					continue
				}
				if !zeekValid(typ, e) {
					bad = i
				}
			}
			if bad >= 0 {
				break
			}
		}
		if bad >= 0 {
			prefix := fmt.Sprintf("field %s (%s): ", fields[bad], types[bad])
			if err == nil || !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("%q: err %v, want one starting with %q", line, err, prefix)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v; every value is valid", line, err)
		}
		seen := map[string]bool{}
		for _, fl := range rec.Fields {
			if seen[fl.Name] {
				t.Fatalf("%q: field %s twice", line, fl.Name)
			}
			seen[fl.Name] = true
			var i int
			fmt.Sscanf(fl.Name, "f%d", &i)
			typ := types[i]
			if inner, ok := strings.CutPrefix(typ, "set["); ok {
				typ = strings.TrimSuffix(inner, "]")
			} else if inner, ok := strings.CutPrefix(typ, "vector["); ok {
				typ = strings.TrimSuffix(inner, "]")
			}
			check := func(v any) {
				ok := false
				switch typ {
				case "count", "int", "port":
					f, isNum := v.(float64)
					ok = isNum && f == math.Trunc(f) && (typ != "port" || f >= 0 && f <= 65535) && (typ != "count" || f >= 0)
				case "double", "time", "interval":
					f, isNum := v.(float64)
					ok = isNum && !math.IsInf(f, 0) && !math.IsNaN(f)
				case "bool":
					_, ok = v.(bool)
				case "addr", "subnet":
					s, isStr := v.(string)
					ok = isStr && zeekValid(typ, s)
				default:
					_, ok = v.(string)
				}
				if !ok {
					t.Fatalf("%q: %s (%s) = %#v", line, fl.Name, types[i], v)
				}
			}
			if typ != types[i] {
				elems, ok := fl.Value.([]any)
				if !ok {
					t.Fatalf("%q: %s = %#v is not a container", line, fl.Name, fl.Value)
				}
				for _, e := range elems {
					if e != nil {
						check(e)
					}
				}
			} else {
				check(fl.Value)
			}
		}
	})
}

// FuzzTSVHeader reads arbitrary input that starts like a Zeek log through
// a Reader: it must not panic or fail, every line must become an event, a
// bad record or nothing (headers, blank lines), and records must have
// unique field names.
func FuzzTSVHeader(f *testing.F) {
	for _, s := range []string{
		tsvHeader + "1.5\tC1\t53\t53\t1\tT\ta\t1.0\tx\tn\ts\te\n",
		"#separator \\x7c\n#set_separator|;\n#empty_field|EMPTY\n#unset_field|NONE\n#path|two\n#fields|c|d\n#types|string|set[count]\ny|1;2\n",
		"#separator \\x09\n#fields\ta\ta\n#types\tcount\tcount\n1\t2\n",
		"#separator \\x09\n#fields\ta\tb\n#types\tcount\n1\t2\n",
		"#separator \n#fields\ta\n#types\tvector[\n\\x\n",
		"#separator \\x2c\\x2c\n#fields,,a,,b\n#types,,table[count],,set[set[count]]\n1,,2\n#separator x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if !strings.HasPrefix(data, "#separator") {
			return
		}
		var bad badLog
		r, err := Open(Spec{Path: "-"}, Options{Stdin: strings.NewReader(data), OnBadRecord: bad.add, BatchSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		out := make(chan []Event, 1)
		if err := r.Run(context.Background(), out); err != nil {
			t.Fatalf("Run: %v", err)
		}
		close(out)
		var evs []Event
		for b := range out {
			evs = append(evs, b...)
		}
		n := strings.Count(data, "\n")
		if !strings.HasSuffix(data, "\n") {
			n++
		}
		if s := r.Stats(); s.Records != int64(len(evs)) || s.Records+s.Skipped > int64(n) {
			t.Fatalf("stats %+v for %d events, %d lines", s, len(evs), n)
		}
		for _, e := range evs {
			if e.Line < 1 || e.Line > n || e.Name == "" {
				t.Fatalf("event %+v", e)
			}
			seen := map[string]bool{}
			for _, fl := range e.Record.Fields {
				if seen[fl.Name] {
					t.Fatalf("line %d: field %s twice", e.Line, fl.Name)
				}
				seen[fl.Name] = true
			}
		}
	})
}
