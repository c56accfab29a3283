package storagefw

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Value representations the framework normalizes keys and values to. A
// normalized value carries enough to be serialized without its type:
// strings (string, enum, addr and subnet in Zeek's text), int64 (count,
// int; uint64 for a count above 2^63-1), float64 (double, time), bool,
// Interval, Port, Record, Table, []any (vector, set) and, for type any,
// whatever JSON-like Go values the caller gave (maps are written with
// sorted keys).

// Record is a record value: its fields in declared order, optional fields
// that are unset absent. It is also accepted as a record shape (field
// name → type) where the order of fields matters, e.g. from a script's
// object literal.
type Record []Field

// Field is one field of a Record.
type Field struct {
	Name  string
	Value any
}

// Get returns the value of the named field.
func (r Record) Get(name string) (any, bool) {
	for _, f := range r {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Map returns the fields as a map (order lost; nested values unchanged).
func (r Record) Map() map[string]any {
	m := make(map[string]any, len(r))
	for _, f := range r {
		m[f.Name] = f.Value
	}
	return m
}

// Table is a table value: its entries in insertion order (as a JS Map
// keeps them; Zeek writes its own tables in hash order).
type Table []TableEntry

// TableEntry is one entry of a Table.
type TableEntry struct {
	Key, Value any
}

// Get returns the value stored under the (normalized) key.
func (t Table) Get(key any) (any, bool) {
	for _, e := range t {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// Port is a transport-layer port: scripts write it "80/tcp"; Zeek stores
// it as {"port":80,"proto":"tcp"}.
type Port struct {
	Number uint32
	Proto  string // tcp, udp, icmp or unknown
}

func (p Port) String() string { return strconv.FormatUint(uint64(p.Number), 10) + "/" + p.Proto }

// Interval is a time interval in seconds; Zeek stores it as its interval
// text ("1.0 hr 30.0 mins"), scripts see a number of seconds.
type Interval float64

func validProto(p string) bool {
	return p == "tcp" || p == "udp" || p == "icmp" || p == "unknown"
}

// parsePort reads "80/tcp" (Zeek's port string form).
func parsePort(s string) (Port, error) {
	i := strings.IndexByte(s, '/')
	if i > 0 && i <= 5 && validProto(s[i+1:]) {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err == nil && n <= 65535 {
			return Port{Number: uint32(n), Proto: s[i+1:]}, nil
		}
	}
	return Port{}, fmt.Errorf("%q is not a port (want e.g. \"80/tcp\": 0-65535 / tcp, udp, icmp or unknown)", s)
}

// portFromNumber checks a port number from a JSON object or a Go value.
func portNumber(v any) (uint32, bool) {
	n, ok := asInteger(v)
	if !ok || n < 0 || n > 65535 {
		return 0, false
	}
	return uint32(n), true
}

// parseZeekIntervalText reads Zeek's interval text: whitespace-separated
// pairs "<number> <unit>" (BuildVal in Zeek's src/Val.cc), summed in
// order as Zeek sums them.
func parseZeekIntervalText(s string) (float64, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
	if len(parts)%2 != 0 {
		return 0, fmt.Errorf("wrong interval format, must be pairs of values with units")
	}
	if len(parts) == 0 {
		return 0, fmt.Errorf("wrong interval format, must be pairs of values with units")
	}
	secs := 0.0
	for i := 0; i < len(parts); i += 2 {
		v, err := strconv.ParseFloat(parts[i], 64)
		if err != nil {
			return 0, fmt.Errorf("wrong interval format, %q is not a number", parts[i])
		}
		var unit float64
		switch parts[i+1] {
		case "day", "days":
			unit = 24 * 60 * 60
		case "hr", "hrs":
			unit = 60 * 60
		case "min", "mins":
			unit = 60
		case "sec", "secs":
			unit = 1
		case "msec", "msecs":
			unit = 1e-3
		case "usec", "usecs":
			unit = 1e-6
		default:
			return 0, fmt.Errorf("wrong interval format, invalid unit type %s", parts[i+1])
		}
		secs += float64(v * unit)
	}
	return secs, nil
}

// parseZeekAddr reads an address as Zeek does: IPv4 dotted quad or IPv6,
// optionally in brackets, no zone. IPv4-mapped IPv6 addresses are IPv4.
func parseZeekAddr(s string) (netip.Addr, bool) {
	if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// normalizeAddr returns s in Zeek's text form.
func normalizeAddr(s string) (string, error) {
	if a, ok := parseZeekAddr(s); ok {
		var buf [48]byte
		var text []byte
		if a.Is4() {
			text = a.AppendTo(buf[:0])
		} else {
			text = appendZeekAddr6(buf[:0], a.As16())
		}
		if string(text) == s {
			return s, nil // already in Zeek's form: no copy
		}
		return string(text), nil
	}
	return "", fmt.Errorf("%q is not an IP address", s)
}

// normalizeSubnet returns "addr/len" in Zeek's text form, host bits
// cleared. IPv4 (and IPv4-mapped) prefixes take IPv4 lengths (0-32).
func normalizeSubnet(s string) (string, error) {
	i := strings.LastIndexByte(s, '/')
	if i > 0 && i < len(s)-1 {
		a, ok := parseZeekAddr(s[:i])
		n, err := strconv.Atoi(s[i+1:])
		if ok && err == nil && n >= 0 && s[i+1] != '+' && s[i+1] != '-' {
			if p, err := a.Prefix(n); err == nil {
				if a.Is4() {
					return p.Addr().String() + "/" + strconv.Itoa(n), nil
				}
				return formatZeekAddr6(p.Addr().As16()) + "/" + strconv.Itoa(n), nil
			}
		}
	}
	return "", fmt.Errorf("%q is not a subnet (CIDR)", s)
}

// formatZeekAddr6 prints an IPv6 address as Zeek's zeek_inet_ntop6 does:
// lowercase hex without leading zeros, the longest run (the first on a
// tie) of two or more zero words as "::", and the last 32 bits as a dotted
// quad for ::a.b.c.d and ::ffff:0:a.b.c.d.
func formatZeekAddr6(b [16]byte) string {
	var buf [48]byte
	return string(appendZeekAddr6(buf[:0], b))
}

func appendZeekAddr6(out []byte, b [16]byte) []byte {
	var words [8]uint16
	for i := range words {
		words[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i, w := range words {
		if w == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
		} else if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				out = append(out, ':')
			}
			continue
		}
		if i != 0 {
			out = append(out, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 ||
			(bestLen == 7 && words[7] != 0x0001) ||
			(bestLen == 5 && words[5] == 0xffff) ||
			(bestLen == 4 && words[4] == 0xffff && words[5] == 0)) {
			return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).AppendTo(out)
		}
		out = strconv.AppendUint(out, uint64(words[i]), 16)
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		out = append(out, ':')
	}
	return out
}

// asCount reads a count: a non-negative integer up to 2^64-1, as int64
// when it fits (uint64 above).
func asCount(v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return x, true
		}
	case int:
		if x >= 0 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
		return x, true
	case float64:
		if x >= 0 && x == math.Trunc(x) {
			if x < 1<<63 {
				return int64(x), true
			}
			if x < 1<<64 {
				return uint64(x), true
			}
		}
	}
	return nil, false
}
