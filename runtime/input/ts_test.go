package input

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
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
		`{"ts":"garbage"}`:                      0,
		`{"ts":true}`:                           0,
		`{"other":1}`:                           0,
		`{"ts":"2018-03-24T17:15:20Z","ts":12}`: 12,
	} {
		r, err := p.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if got := recordTS(r); got != want {
			t.Errorf("recordTS(%s) = %v, want %v", line, got, want)
		}
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
