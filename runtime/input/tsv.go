package input

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Zeek ASCII log ("TSV") support. The format is Zeek's ASCII writer's:
//
//	#separator \x09
//	#set_separator	,
//	#empty_field	(empty)
//	#unset_field	-
//	#path	dns
//	#open	2024-04-12-19-29-12
//	#fields	ts	uid	...
//	#types	time	string	...
//	<records>
//	#close	2024-04-12-19-34-07
//
// Values are read the way Zeek's own ASCII reader reads them: the unset
// field marks an absent value; the empty field marks an empty container or
// an empty string (the writer writes an empty string as the empty field and
// escapes a literal "(empty)" or "-" as "\x28empty)" or "\x2d"); \xHH
// sequences are decoded.

type kind uint8

const (
	kindString kind = iota // string, enum, pattern, file, func, and unknown types
	kindNumber             // double, time, interval
	kindCount              // count: 0 to 2^64-1
	kindInt                // int: -2^63 to 2^63-1
	kindPort               // port: 0 to 65535, as "80" or "80/tcp"
	kindBool               // bool: T or F (or 1 or 0)
	kindAddr               // addr: an IPv4 or IPv6 address
	kindSubnet             // subnet: an address and a prefix length
)

// kindOf returns the kind of a Zeek type name from a log's #types line,
// and false if the type is unknown.
func kindOf(typ string) (kind, bool) {
	switch typ {
	case "string", "enum", "pattern", "file", "func":
		return kindString, true
	case "double", "time", "interval":
		return kindNumber, true
	case "count":
		return kindCount, true
	case "int":
		return kindInt, true
	case "port":
		return kindPort, true
	case "bool":
		return kindBool, true
	case "addr":
		return kindAddr, true
	case "subnet":
		return kindSubnet, true
	}
	return kindString, false
}

type column struct {
	name      string
	typ       string // as declared, for messages
	kind      kind
	container bool // set[...] or vector[...]
}

// tsvState is the header of the block of a Zeek log being read, and the
// scratch space for splitting its lines. Not safe for concurrent use.
type tsvState struct {
	sep      []byte
	setSep   []byte
	empty    []byte
	unset    []byte
	path     string
	fields   []string
	types    []string
	cols     []column
	hints    []hint // one per column
	parts    [][]byte
	elems    [][]byte
	anys     []any
	buf      []byte
	c        *caches
	a        *arena
	haveCols bool
	// warn, if not nil, is called once for each unknown type the file
	// declares; warned holds the types already warned about.
	warn   func(msg string)
	warned map[string]bool
}

func newTSVState(c *caches, a *arena, warn func(msg string)) *tsvState {
	t := &tsvState{c: c, a: a, warn: warn}
	t.resetHeader()
	return t
}

// resetHeader restores Zeek's defaults, as at the start of a header block.
func (t *tsvState) resetHeader() {
	t.sep = []byte{'\t'}
	t.setSep = []byte{','}
	t.empty = []byte("(empty)")
	t.unset = []byte{'-'}
	t.path = ""
	t.fields = nil
	t.types = nil
	t.cols = nil
	t.haveCols = false
}

// isSeparatorHeader reports whether line opens a Zeek log header block.
func isSeparatorHeader(line []byte) bool {
	return bytes.HasPrefix(line, []byte("#separator"))
}

// header processes one '#' line. It returns an error for a malformed
// #separator line or a #fields/#types mismatch.
func (t *tsvState) header(line []byte) error {
	if isSeparatorHeader(line) {
		// "#separator \x09": the value follows one space and is escaped.
		rest := line[len("#separator"):]
		if len(rest) < 2 || rest[0] != ' ' {
			return errors.New("malformed #separator header")
		}
		sep := unescapeZeek(nil, rest[1:])
		if len(sep) == 0 {
			return errors.New("empty #separator")
		}
		t.resetHeader()
		t.sep = sep
		return nil
	}
	name, value, _ := bytes.Cut(line, t.sep)
	switch string(name) {
	case "#set_separator":
		if s := unescapeZeek(nil, value); len(s) > 0 {
			t.setSep = s
		}
	case "#empty_field":
		t.empty = unescapeZeek(nil, value)
	case "#unset_field":
		t.unset = unescapeZeek(nil, value)
	case "#path":
		t.path = string(unescapeZeek(nil, value))
	case "#fields":
		t.fields = splitStrings(value, t.sep)
		t.haveCols = false
	case "#types":
		t.types = splitStrings(value, t.sep)
		t.haveCols = false
	}
	if !t.haveCols && t.fields != nil && t.types != nil {
		if len(t.fields) != len(t.types) {
			return fmt.Errorf("#fields has %d names but #types has %d types", len(t.fields), len(t.types))
		}
		seen := make(map[string]bool, len(t.fields))
		for _, f := range t.fields {
			if seen[f] {
				return fmt.Errorf("#fields names %s twice", clip([]byte(f)))
			}
			seen[f] = true
		}
		t.cols = make([]column, len(t.fields))
		for i, f := range t.fields {
			col, unknown := makeColumn(f, t.types[i])
			t.cols[i] = col
			if unknown != "" && !t.warned[unknown] {
				if t.warned == nil {
					t.warned = make(map[string]bool)
				}
				t.warned[unknown] = true
				if t.warn != nil {
					t.warn(fmt.Sprintf("unknown Zeek type %s (field %s): its values are read as strings",
						clip([]byte(unknown)), clip([]byte(f))))
				}
			}
		}
		t.hints = make([]hint, len(t.cols))
		t.haveCols = true
	}
	return nil
}

func splitStrings(b, sep []byte) []string {
	parts := bytes.Split(b, sep)
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(unescapeZeek(nil, p))
	}
	return out
}

// makeColumn returns the column for a field of type typ, and the name of
// typ's (or its elements') type if it is unknown (read as strings).
func makeColumn(name, typ string) (column, string) {
	c := column{name: name, typ: typ}
	for _, prefix := range []string{"set[", "vector["} {
		if strings.HasPrefix(typ, prefix) && strings.HasSuffix(typ, "]") {
			c.container = true
			typ = typ[len(prefix) : len(typ)-1]
			break
		}
	}
	k, ok := kindOf(typ)
	c.kind = k
	if !ok {
		return c, typ
	}
	return c, ""
}

// split splits line on sep into t.parts.
func split(dst [][]byte, line, sep []byte) [][]byte {
	dst = dst[:0]
	if len(sep) == 1 {
		s := sep[0]
		start := 0
		for i, c := range line {
			if c == s {
				dst = append(dst, line[start:i])
				start = i + 1
			}
		}
		return append(dst, line[start:])
	}
	for {
		i := bytes.Index(line, sep)
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+len(sep):]
	}
}

// record parses one data line.
func (t *tsvState) record(line []byte) (*Record, error) {
	if !t.haveCols {
		return nil, errors.New("data line without valid #fields and #types headers")
	}
	t.parts = split(t.parts, line, t.sep)
	if len(t.parts) != len(t.cols) {
		return nil, fmt.Errorf("%d fields, header has %d", len(t.parts), len(t.cols))
	}
	fs := t.a.topStart(len(t.cols))
	for i, raw := range t.parts {
		col := &t.cols[i]
		if bytes.Equal(raw, t.unset) {
			continue
		}
		v, err := t.value(col, raw, &t.hints[i])
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", col.name, col.typ, err)
		}
		fs = append(fs, Field{Name: col.name, Value: v})
	}
	return t.a.record(t.a.topCommit(fs)), nil
}

func (t *tsvState) value(col *column, raw []byte, h *hint) (any, error) {
	if !col.container {
		return t.scalar(col.kind, raw, h)
	}
	if bytes.Equal(raw, t.empty) {
		return []any{}, nil
	}
	t.elems = split(t.elems, raw, t.setSep)
	as := t.anys[:0]
	for j, e := range t.elems {
		if bytes.Equal(e, t.unset) {
			as = append(as, nil)
			continue
		}
		v, err := t.scalar(col.kind, e, h.elem(j))
		if err != nil {
			clear(as)
			t.anys = as[:0]
			return nil, fmt.Errorf("element %d: %w", j+1, err)
		}
		as = append(as, v)
	}
	out := t.a.anysCopy(as)
	clear(as)
	t.anys = as[:0]
	return out, nil
}

// scalar parses one value of kind k; h, if not nil, is its column's hint.
func (t *tsvState) scalar(k kind, raw []byte, h *hint) (any, error) {
	switch k {
	case kindString:
		if bytes.Equal(raw, t.empty) {
			return "", nil
		}
		if bytes.IndexByte(raw, '\\') >= 0 {
			t.buf = unescapeZeek(t.buf[:0], raw)
			raw = t.buf
		}
		return t.c.hintedStr(h, raw), nil
	case kindBool:
		if len(raw) == 1 {
			switch raw[0] {
			case 'T', '1':
				return true, nil
			case 'F', '0':
				return false, nil
			}
		}
		return nil, fmt.Errorf("%s is not T or F", clip(raw))
	case kindNumber:
		f, err := parseZeekDouble(raw)
		if err != nil {
			return nil, fmt.Errorf("%s is not a number", clip(raw))
		}
		return boxNum(h, f), nil
	case kindCount:
		u, ok := parseCount(raw)
		if !ok {
			return nil, fmt.Errorf("%s is not an integer from 0 to 2^64-1", clip(raw))
		}
		return boxNum(h, float64(u)), nil
	case kindInt:
		f, ok := parseZeekInt(raw)
		if !ok {
			return nil, fmt.Errorf("%s is not an integer from -2^63 to 2^63-1", clip(raw))
		}
		return boxNum(h, f), nil
	case kindPort:
		p, ok := parsePort(raw)
		if !ok {
			return nil, fmt.Errorf("%s is not a port: 0 to 65535, optionally with /tcp, /udp, /icmp or /unknown", clip(raw))
		}
		return boxNum(h, float64(p)), nil
	default: // kindAddr, kindSubnet
		// A value equal to the hint's was checked when the hint took it.
		if h != nil && h.sval != nil && h.skey == string(raw) {
			return h.sval, nil
		}
		if k == kindAddr && !validAddr(raw) {
			return nil, fmt.Errorf("%s is not an IP address", clip(raw))
		}
		if k == kindSubnet && !validSubnet(raw) {
			return nil, fmt.Errorf("%s is not a subnet (address/length)", clip(raw))
		}
		return t.c.hintedStr(h, raw), nil
	}
}

// clip quotes b for an error message, shortened if long.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

// unescapeZeek appends b to dst with \xHH sequences decoded; any other
// backslash is kept as it is (as Zeek's reader does).
func unescapeZeek(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] == 'x' && isHex(b[i+2]) && isHex(b[i+3]) {
			dst = append(dst, byte(hexVal(b[i+2])<<4|hexVal(b[i+3])))
			i += 3
			continue
		}
		dst = append(dst, b[i])
	}
	return dst
}
