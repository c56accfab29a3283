package input

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"2018-03-24T17:15:20.600843Z", 1521911720.600843},
		{"2018-03-24T17:15:20.865716Z", 1521911720.865716},
		{"2018-03-24T17:15:20Z", 1521911720},
		{"2018-03-24T17:15:20", 1521911720},
		{"2018-03-24 17:15:20.5", 1521911720.5},
		{"2018-03-24T19:15:20.25+02:00", 1521911720.25},
		{"2018-03-24T12:15:20-0500", 1521911720},
		{"2018-03-24T18:15:20+01", 1521911720},
		{"1970-01-01T00:00:00Z", 0},
		{"1969-12-31T23:59:59.5Z", -0.5},
		{"2000-02-29T00:00:00Z", 951782400},
		{"2018-03-24T17:15:20.123456789Z", 1521911720.123456789},
		{"1521911720.600843", 1521911720.600843},
		{"-1.5", -1.5},
	}
	for _, tt := range tests {
		got, ok := ParseTime(tt.in)
		if !ok || got != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
		if tm, err := time.Parse(time.RFC3339Nano, tt.in); err == nil {
			if d := math.Abs(float64(tm.UnixNano())/1e9 - got); d > 1e-6 {
				t.Errorf("ParseTime(%q) = %v, time.Parse gives %v", tt.in, got, tm)
			}
		}
	}
	for _, bad := range []string{"", "x", "2018-13-01T00:00:00Z", "2018-02-30T00:00:00Z", "2018-03-24T24:00:00Z",
		"2018-03-24T17:15:20.Z", "2018-03-24T17:15:20+5", "2018-03-24", "NaN", "Inf", "2018-03-24T17:15:20Zjunk", "1e999"} {
		if got, ok := ParseTime(bad); ok {
			t.Errorf("ParseTime(%q) = %v, want failure", bad, got)
		}
	}
}

func TestRecordTS(t *testing.T) {
	p := NewJSONParser()
	for line, want := range map[string]float64{
		`{"ts":1521911720.5}`:                   1521911720.5,
		`{"ts":"2018-03-24T17:15:20.600843Z"}`:  1521911720.600843,
		`{"other":1}`:                           0,
		`{"ts":null}`:                           0,
		`{"ts":"2018-03-24T17:15:20Z","ts":12}`: 12,
	} {
		r, err := p.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := recordTS(r); err != nil || got != want {
			t.Errorf("recordTS(%s) = %v, %v; want %v", line, got, err, want)
		}
	}
	for _, line := range []string{`{"ts":"garbage"}`, `{"ts":true}`, `{"ts":[1]}`, `{"ts":{}}`} {
		r, err := p.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := recordTS(r); err == nil || !strings.Contains(err.Error(), "not a time") {
			t.Errorf("recordTS(%s) = %v, %v; want a 'not a time' error", line, got, err)
		}
	}
}

// TestTSBounds checks the bound on ts against the calendar, and that
// non-finite values are refused.
func TestTSBounds(t *testing.T) {
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if maxTS != end {
		t.Errorf("maxTS = %d, want %d (10000-01-01T00:00:00Z)", int64(maxTS), end)
	}
	for _, ts := range []float64{0, 1521911720.5, float64(end) - 0.001} {
		if got, err := recordTS(&Record{Fields: []Field{{"ts", ts}}}); err != nil || got != ts {
			t.Errorf("recordTS(%v) = %v, %v", ts, got, err)
		}
	}
	for _, ts := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, float64(end), 1e300, -1e300} {
		if got, err := recordTS(&Record{Fields: []Field{{"ts", ts}}}); err == nil {
			t.Errorf("recordTS(%v) = %v, want an error", ts, got)
		}
	}
}

// TestImplausibleTS reads JSON and Zeek TSV records whose ts is not a
// plausible time: each is a bad record, reported with its line and a reason
// naming the ts, and counted as skipped; the plausible ones are events
// whose TS is the epoch seconds.
func TestImplausibleTS(t *testing.T) {
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	iso := "2018-03-24T17:15:20.600843Z"
	tm, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		t.Fatal(err)
	}
	isoWant, err := strconv.ParseFloat(fmt.Sprintf("%d.600843", tm.Unix()), 64)
	if err != nil {
		t.Fatal(err)
	}
	ms := tm.UnixMilli()
	type line struct {
		ts     string // JSON text of the ts
		ok     bool
		want   float64 // TS when ok
		reason string  // part of the error otherwise
	}
	lines := []line{
		{ts: strconv.Quote(iso), ok: true, want: isoWant},
		{ts: strconv.FormatInt(ms, 10), reason: "milliseconds"},
		{ts: "1e300", reason: "out of range"},
		{ts: "-1", reason: "out of range"},
		{ts: `"1e300"`, reason: "out of range"},
		{ts: `"0001-01-01T00:00:00Z"`, reason: "out of range"},
		{ts: `"10000-01-01T00:00:00Z"`, reason: "not a time"},
		{ts: strconv.FormatInt(end, 10), reason: "out of range"},
		{ts: strconv.FormatInt(end-1, 10) + ".5", ok: true, want: float64(end-1) + 0.5},
		{ts: `"9999-12-31T23:59:59Z"`, ok: true, want: float64(end - 1)},
		{ts: `"garbage"`, reason: "not a time"},
		{ts: "true", reason: "not a time"},
		{ts: "null", ok: true},
		{ts: "0", ok: true},
	}
	var sb strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&sb, "{\"_path\":\"x\",\"ts\":%s}\n", l.ts)
	}
	path := writeFile(t, t.TempDir(), "ts.json", sb.String())
	var bad badLog
	evs, r := readAll(t, Spec{Path: path}, Options{OnBadRecord: bad.add})
	var wantEvs, wantBad []int
	for i, l := range lines {
		if l.ok {
			wantEvs = append(wantEvs, i)
		} else {
			wantBad = append(wantBad, i)
		}
	}
	if len(evs) != len(wantEvs) {
		t.Fatalf("%d events, want %d", len(evs), len(wantEvs))
	}
	for k, i := range wantEvs {
		if evs[k].Line != i+1 || evs[k].TS != lines[i].want {
			t.Errorf("event %d: line %d TS %v, want line %d TS %v", k, evs[k].Line, evs[k].TS, i+1, lines[i].want)
		}
	}
	b := bad.get()
	if len(b) != len(wantBad) {
		t.Fatalf("bad records %v, want lines %v", b, wantBad)
	}
	for k, i := range wantBad {
		msg := b[k].Err.Error()
		if b[k].File != path || b[k].Line != i+1 || !strings.Contains(msg, "ts ") || !strings.Contains(msg, lines[i].reason) {
			t.Errorf("bad record %d = %s:%d %q, want line %d %q", k, b[k].File, b[k].Line, msg, i+1, lines[i].reason)
		}
	}
	if s := r.Stats(); s.Skipped != int64(len(wantBad)) || s.Records != int64(len(wantEvs)) {
		t.Errorf("stats %+v", s)
	}

	// Zeek TSV: the ts column is typed time, as is another column; both
	// come out as numbers, and an implausible ts is a bad record.
	tsv := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tx\n" +
		"#fields\tts\tother\tdur\n#types\ttime\ttime\tinterval\n"
	rows := []struct {
		ts string
		ok bool
	}{{"1521911720.600843", true}, {strconv.FormatInt(ms, 10) + ".5", false}, {"1e300", false}, {"-5.0", false},
		{strconv.FormatInt(end, 10), false}, {"0.000000", true}}
	for _, row := range rows {
		tsv += row.ts + "\t1521911721.25\t0.5\n"
	}
	path = writeFile(t, t.TempDir(), "ts.log", tsv)
	var bad2 badLog
	evs, r = readAll(t, Spec{Path: path}, Options{OnBadRecord: bad2.add})
	k, nbad := 0, 0
	for i, row := range rows {
		lineNo := 8 + i
		if !row.ok {
			nbad++
			continue
		}
		if k >= len(evs) {
			t.Fatalf("missing event for line %d", lineNo)
		}
		e := evs[k]
		k++
		want, _ := strconv.ParseFloat(row.ts, 64)
		if e.Line != lineNo || e.TS != want {
			t.Errorf("event line %d TS %v, want line %d TS %v", e.Line, e.TS, lineNo, want)
		}
		for name, raw := range map[string]string{"ts": row.ts, "other": "1521911721.25", "dur": "0.5"} {
			want, _ := strconv.ParseFloat(raw, 64)
			if v, _ := e.Record.Get(name); v != want {
				t.Errorf("line %d: %s = %#v, want the number %v", lineNo, name, v, want)
			}
		}
	}
	if k != len(evs) {
		t.Errorf("%d events, want %d", len(evs), k)
	}
	b = bad2.get()
	if len(b) != nbad {
		t.Fatalf("bad records %v, want %d", b, nbad)
	}
	for _, x := range b {
		if x.File != path || !strings.HasPrefix(x.Err.Error(), "ts ") {
			t.Errorf("bad record %s:%d %v", x.File, x.Line, x.Err)
		}
	}
	if s := r.Stats(); s.Skipped != int64(nbad) {
		t.Errorf("stats %+v", s)
	}
}

// TestParseTimeRounding checks, over many instants, that an ISO-8601 time
// gives exactly the float64 of the decimal epoch seconds (what a Zeek TSV
// log holds for the same instant).
func TestParseTimeRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		sec := rng.Int64N(4e9)
		digits := 1 + rng.IntN(9)
		frac := rng.Int64N(int64(math.Pow10(digits)))
		fs := fmt.Sprintf("%0*d", digits, frac)
		iso := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05") + "." + fs + "Z"
		want, err := strconv.ParseFloat(fmt.Sprintf("%d.%s", sec, fs), 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := ParseTime(iso); !ok || got != want {
			t.Fatalf("ParseTime(%q) = %v, %v; want %v", iso, got, ok, want)
		}
	}
}
