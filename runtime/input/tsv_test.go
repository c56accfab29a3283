package input

import (
	"reflect"
	"strings"
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
	wantMsgs := []string{"3 fields, header has 12", "field ts: invalid number", "field ok: invalid bool",
		"field cnt: invalid integer", "field nums: invalid number"}
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

// FuzzTSVLine feeds arbitrary data lines to a Zeek TSV header: the parser
// must not panic, must reject or accept consistently, and must produce the
// declared types.
func FuzzTSVLine(f *testing.F) {
	for _, s := range []string{
		"1.5\tC1\t53\t53\t1\tT\ta\t1.0\tx\tn\ts\te",
		"1521911720.865716\tCabc\t53\t80/tcp\t-\tT\ta.example,b\\x2cc,-\t2230.000000,41830.5\t(empty)\ttab\\x09in\t(empty)\tudp",
		"-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-", "\t\t\t\t\t\t\t\t\t\t\t", "x", "1e5\tC\t1/x\t/\t+1\t0\t,\t,\t,\t\\\t\\x\t\\x4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return
		}
		st := newTSVState(newCaches(), &arena{})
		for _, h := range strings.Split(strings.TrimSuffix(tsvHeader, "\n"), "\n") {
			if err := st.header([]byte(h)); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := st.record([]byte(line))
		if err != nil {
			return
		}
		for _, fl := range rec.Fields {
			var col column
			for _, c := range st.cols {
				if c.name == fl.Name {
					col = c
				}
			}
			check := func(v any) {
				switch col.kind {
				case kindString:
					if _, ok := v.(string); !ok {
						t.Fatalf("%s: %#v is not a string", fl.Name, v)
					}
				case kindBool:
					if _, ok := v.(bool); !ok {
						t.Fatalf("%s: %#v is not a bool", fl.Name, v)
					}
				default:
					if _, ok := v.(float64); !ok {
						t.Fatalf("%s: %#v is not a number", fl.Name, v)
					}
				}
			}
			if col.container {
				elems, ok := fl.Value.([]any)
				if !ok {
					t.Fatalf("%s: %#v is not a container", fl.Name, fl.Value)
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
