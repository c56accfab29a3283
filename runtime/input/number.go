package input

import (
	"errors"
	"strconv"
)

// pow10 holds the powers of ten that are exact in a float64. Read only.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

var errBadNumber = errors.New("bad number")

// parseZeekDouble parses what Zeek writes for a double, time or interval:
// a decimal, possibly with an exponent. Hex floats, "inf" and "nan" spelled
// out, and underscores are refused. The result is the nearest float64.
func parseZeekDouble(b []byte) (float64, error) {
	if f, ok := fastDecimal(b); ok {
		return f, nil
	}
	if len(b) == 0 {
		return 0, errBadNumber
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, errBadNumber
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, errBadNumber
	}
	return f, nil
}

// fastDecimal handles "-?[0-9]+(\.[0-9]+)?" whose digits, leading zeros
// aside, fit in 2^53: then both the mantissa and the power of ten are exact
// float64s and one division rounds correctly.
func fastDecimal(b []byte) (float64, bool) {
	i := 0
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		i = 1
	}
	if i >= len(b) {
		return 0, false
	}
	var m uint64
	digits := 0
	frac := -1
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			if m != 0 || c != '0' {
				digits++
				if digits > 15 {
					return 0, false
				}
			}
			m = m*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
			continue
		}
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		return 0, false
	}
	if frac == 0 || frac > 22 { // "1." or too many decimals
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// parseInt parses a Zeek count/int/port: an optional sign and decimal
// digits, converted to float64 (exactly up to 2^53, rounded beyond).
func parseInt(b []byte) (float64, bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	if i >= len(b) {
		return 0, false
	}
	if len(b)-i > 18 {
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return 0, false
		}
		for _, c := range b[i:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		return v, true
	}
	var m uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		m = m*10 + uint64(c-'0')
	}
	f := float64(m)
	if neg {
		f = -f
	}
	return f, true
}
