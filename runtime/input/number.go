package input

import (
	"bytes"
	"errors"
	"math/bits"
	"net/netip"
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

// parseCount parses a Zeek count: decimal digits of a value below 2^64.
func parseCount(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var m uint64
	if len(b) <= 19 { // cannot overflow
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			m = m*10 + uint64(c-'0')
		}
		return m, true
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		hi, lo := bits.Mul64(m, 10)
		sum, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 {
			return 0, false
		}
		m = sum
	}
	return m, true
}

// parseZeekInt parses a Zeek int: an optional sign and decimal digits of a
// value from -2^63 to 2^63-1, converted to float64 (exactly up to 2^53 in
// magnitude, rounded beyond).
func parseZeekInt(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	m, ok := parseCount(b)
	if !ok || m > 1<<63 || (!neg && m == 1<<63) {
		return 0, false
	}
	if neg && m != 0 {
		return -float64(m), true
	}
	return float64(m), true
}

// parsePort parses a Zeek port: a number from 0 to 65535, optionally
// followed by its protocol as Zeek's reader accepts it ("80/tcp").
func parsePort(b []byte) (uint64, bool) {
	if i := bytes.IndexByte(b, '/'); i >= 0 {
		switch string(b[i+1:]) {
		case "tcp", "udp", "icmp", "unknown":
		default:
			return 0, false
		}
		b = b[:i]
	}
	p, ok := parseCount(b)
	return p, ok && p <= 65535
}

// validAddr reports whether b is an IPv4 or IPv6 address (without a zone),
// as Zeek writes addresses.
func validAddr(b []byte) bool {
	if bytes.IndexByte(b, ':') < 0 {
		return validIPv4(b)
	}
	a, err := netip.ParseAddr(string(b))
	return err == nil && a.Zone() == ""
}

// validIPv4 reports whether b is a dotted-quad IPv4 address, by the rules
// of netip.ParseAddr (no leading zeros), without allocating.
func validIPv4(b []byte) bool {
	parts := 0
	for len(b) > 0 {
		n, v := 0, 0
		for n < len(b) && n < 4 && b[n] >= '0' && b[n] <= '9' {
			v = v*10 + int(b[n]-'0')
			n++
		}
		if n == 0 || n > 3 || v > 255 || (n > 1 && b[0] == '0') {
			return false
		}
		parts++
		b = b[n:]
		if len(b) > 0 {
			if b[0] != '.' || len(b) == 1 || parts == 4 {
				return false
			}
			b = b[1:]
		}
	}
	return parts == 4
}

// validSubnet reports whether b is a subnet: an address (no zone), '/' and
// a prefix length that fits the address.
func validSubnet(b []byte) bool {
	_, err := netip.ParsePrefix(string(b))
	return err == nil
}
