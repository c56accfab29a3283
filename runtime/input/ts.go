package input

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxTS is the end of the times a record's ts may hold, in epoch seconds:
// 10000-01-01T00:00:00Z (TestTSBounds checks it).
const maxTS = 253402300800

// recordTS returns the record's "ts" as epoch seconds: a number as it is, or
// a string holding either ISO-8601 / RFC 3339 time or a decimal number of
// seconds. It returns 0 when the record has no ts (or a null one), and an
// error when its ts is not a plausible time: not a number or a time string,
// or not in [0, maxTS) (from 1970 to the end of year 9999). A ts in
// milliseconds, say, would otherwise move network time millennia ahead.
// Negative times are refused too: Zeek's times are packet timestamps, and
// a capture cannot predate 1970, so a negative ts is damage (a sign error,
// a bad conversion), and honouring it would move network time back.
func recordTS(r *Record) (float64, error) {
	v, ok := r.Get("ts")
	if !ok || v == nil {
		return 0, nil
	}
	switch v := v.(type) {
	case float64:
		if v >= 0 && v < maxTS { // false for NaN too
			return v, nil
		}
		return 0, tsError(v, strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		ts, ok := ParseTime(v)
		if !ok {
			return 0, fmt.Errorf("ts %s is not a time", clip([]byte(v)))
		}
		if ts >= 0 && ts < maxTS {
			return ts, nil
		}
		return 0, tsError(ts, clip([]byte(v)))
	default:
		return 0, fmt.Errorf("ts is a %s, not a time", jsonKind(v))
	}
}

// tsError explains why ts, written text in the record, is not a plausible
// time in epoch seconds.
func tsError(ts float64, text string) error {
	if math.IsNaN(ts) || math.IsInf(ts, 0) {
		return fmt.Errorf("ts %s is not a finite number", text)
	}
	hint := ""
	for _, u := range []struct {
		div  float64
		unit string
	}{{1e3, "milliseconds"}, {1e6, "microseconds"}, {1e9, "nanoseconds"}} {
		if q := ts / u.div; q >= 0 && q < maxTS {
			hint = " (in " + u.unit + "?)"
			break
		}
	}
	return fmt.Errorf("ts %s is out of range: epoch seconds from 0 (1970) to %d (year 10000)%s", text, int64(maxTS), hint)
}

// jsonKind names the JSON kind of a parsed value.
func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case []any:
		return "array"
	case *Record:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// ParseTime parses an ISO-8601 date-time such as
// "2018-03-24T17:15:20.600843Z" (a space may replace the 'T'; the zone may
// be Z, ±hh:mm, ±hhmm or ±hh, and means UTC when missing), or a decimal
// number of epoch seconds, and returns epoch seconds. The fractional part
// is converted with correct rounding, so "…20.600843Z" gives exactly the
// float64 that the Zeek TSV value 1521911720.600843 gives.
func ParseTime(s string) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	if c := s[0]; c == '-' || c == '.' || (c >= '0' && c <= '9' && (len(s) < 5 || s[4] != '-')) {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	if ts, ok := parseISOFast(s); ok {
		return ts, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return float64(t.UnixNano()) / 1e9, true
}

func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseISOFast(s string) (float64, bool) {
	// YYYY-MM-DDThh:mm:ss
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s, 4)
	month, ok2 := digits(s[5:], 2)
	day, ok3 := digits(s[8:], 2)
	hour, ok4 := digits(s[11:], 2)
	minute, ok5 := digits(s[14:], 2)
	sec, ok6 := digits(s[17:], 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	frac := ""
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return 0, false
		}
		frac = rest[1:i]
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		h, ok := digits(z, 2)
		if !ok {
			return 0, false
		}
		m := 0
		switch len(z) {
		case 2:
		case 4:
			if m, ok = digits(z[2:], 2); !ok {
				return 0, false
			}
		case 5:
			if z[2] != ':' {
				return 0, false
			}
			if m, ok = digits(z[3:], 2); !ok {
				return 0, false
			}
		default:
			return 0, false
		}
		if h > 23 || m > 59 {
			return 0, false
		}
		offset = h*3600 + m*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	epoch := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	if frac == "" {
		return float64(epoch), true
	}
	if len(frac) > 18 {
		frac = frac[:18]
	}
	if epoch >= 0 && epoch < 1<<40 && len(frac) <= 22 {
		// Clinger's fast path: when every digit of "epoch.frac" fits in
		// a 2^53 mantissa, one division by an exact power of ten rounds
		// correctly.
		m := uint64(epoch)
		ok := true
		for i := 0; i < len(frac); i++ {
			m = m*10 + uint64(frac[i]-'0')
			if m >= 1<<53 {
				ok = false
				break
			}
		}
		if ok {
			return float64(m) / pow10[len(frac)], true
		}
	}
	if epoch < 0 {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return 0, false
		}
		return float64(epoch) + f, true
	}
	// Round once, from the exact decimal.
	var buf [48]byte
	b := strconv.AppendInt(buf[:0], epoch, 10)
	b = append(b, '.')
	b = append(b, frac...)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ZeekTime recognizes a time value as Zeek's JSON writer emits it with ISO
// timestamps ("2018-03-24T17:15:20.615923Z": a 'T', UTC 'Z', at most
// nanoseconds) and returns it as epoch seconds. Records give scripts time
// values as numbers whichever format Zeek wrote the log in; other strings
// (a user agent, a URL) never have this exact shape.
func ZeekTime(s string) (float64, bool) {
	n := len(s)
	if n < 20 || n > 30 || s[n-1] != 'Z' || s[10] != 'T' || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if n > 20 {
		if s[19] != '.' || n == 21 {
			return 0, false
		}
		for i := 20; i < n-1; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
	}
	return parseISOFast(s)
}
