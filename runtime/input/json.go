package input

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of objects and arrays accepted, the same
// limit as encoding/json's.
const maxDepth = 10000

// maxHints is the number of top-level field positions that get a hint.
const maxHints = 256

// SyntaxError describes why a line is not a valid JSON record.
type SyntaxError struct {
	Column int // 1-based byte offset in the line where the problem is
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
}

// JSONParser parses one JSON text at a time into [Record] values. It keeps
// scratch space and caches between calls, so reuse one parser for many
// lines. A JSONParser is not safe for concurrent use; the values it returns
// share no memory with the input or with the parser's scratch space and may
// be used freely from any goroutine.
//
// The parser is strict: it accepts exactly what encoding/json accepts
// (including its nesting limit and its rejection of numbers beyond float64)
// and produces the same values, except that objects become *Record with
// their fields in order. Invalid UTF-8 in strings is replaced by U+FFFD, as
// encoding/json does.
type JSONParser struct {
	data   []byte
	pos    int
	depth  int
	err    *SyntaxError
	fstack []Field
	astack []any
	buf    []byte
	hints  []hint
	// distinct is how many leading hints are known to hold pairwise
	// different keys: a record whose keys so far all equal their hints
	// cannot repeat a key below this position, so its keys need no
	// duplicate check there.
	distinct int
	topIndex map[string]int // reused by the top-level object's duplicate check
	c        *caches
	a        arena
}

// NewJSONParser returns a parser.
func NewJSONParser() *JSONParser {
	return newJSONParser(newCaches())
}

func newJSONParser(c *caches) *JSONParser {
	return &JSONParser{c: c}
}

// ParseRecord parses line, which must hold exactly one JSON object
// (surrounding whitespace allowed). line is not retained.
func (p *JSONParser) ParseRecord(line []byte) (*Record, error) {
	p.reset(line)
	p.skipWS()
	if p.pos >= len(p.data) {
		p.fail("empty input")
		return nil, p.takeErr()
	}
	if p.data[p.pos] != '{' {
		if _, ok := p.value(nil); !ok || !p.end() {
			return nil, p.takeErr()
		}
		p.data = nil
		return nil, &SyntaxError{Column: 1, Msg: "record is not a JSON object"}
	}
	r, ok := p.object()
	if !ok || !p.end() {
		return nil, p.takeErr()
	}
	p.data = nil
	return r, nil
}

// ParseValue parses data, which must hold exactly one JSON value of any
// kind. data is not retained.
func (p *JSONParser) ParseValue(data []byte) (any, error) {
	p.reset(data)
	v, ok := p.value(nil)
	if !ok || !p.end() {
		return nil, p.takeErr()
	}
	p.data = nil
	return v, nil
}

func (p *JSONParser) reset(data []byte) {
	p.data = data
	p.pos = 0
	p.depth = 0
	p.err = nil
	clear(p.fstack)
	p.fstack = p.fstack[:0]
	clear(p.astack)
	p.astack = p.astack[:0]
}

func (p *JSONParser) takeErr() error {
	err := p.err
	p.err = nil
	p.data = nil
	if err == nil { // cannot happen; keeps a failed parse from looking valid
		err = &SyntaxError{Column: p.pos + 1, Msg: "invalid JSON"}
	}
	return err
}

func (p *JSONParser) end() bool {
	p.skipWS()
	if p.pos < len(p.data) {
		return p.fail(fmt.Sprintf("invalid character %s after top-level value", quoteChar(p.data[p.pos])))
	}
	return true
}

// fail records the first error, at the current position, and returns false.
func (p *JSONParser) fail(msg string) bool {
	if p.err == nil {
		p.err = &SyntaxError{Column: p.pos + 1, Msg: msg}
	}
	return false
}

func (p *JSONParser) unexpected(context string) bool {
	if p.pos >= len(p.data) {
		return p.fail("unexpected end of input " + context)
	}
	return p.fail(fmt.Sprintf("invalid character %s %s", quoteChar(p.data[p.pos]), context))
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// skipWS skips JSON whitespace. The common case, none, is inlined.
func (p *JSONParser) skipWS() {
	if p.pos < len(p.data) && p.data[p.pos] <= ' ' {
		p.skipWSSlow()
	}
}

func (p *JSONParser) skipWSSlow() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses a value; h, if not nil, is the hint of the top-level field
// position the value is at.
func (p *JSONParser) value(h *hint) (any, bool) {
	p.skipWS()
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of input, expecting a value")
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		return p.stringValue(h)
	case c == '-' || c >= '0' && c <= '9':
		return p.number(h)
	case c == '{':
		r, ok := p.object()
		if !ok {
			return nil, false
		}
		return r, true
	case c == '[':
		return p.array(h)
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.unexpected("looking for beginning of value")
	}
}

func (p *JSONParser) literal(word string) bool {
	if end := p.pos + len(word); end <= len(p.data) && string(p.data[p.pos:end]) == word {
		p.pos = end
		return true
	}
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != word[i] {
			return p.unexpected("in literal " + word)
		}
		p.pos++
	}
	return true
}

func (p *JSONParser) object() (*Record, bool) {
	p.depth++
	if p.depth > maxDepth {
		return nil, p.fail("exceeded max nesting depth")
	}
	p.pos++ // '{'
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return p.a.record(nil), true
	}
	// The fields of the top-level object go straight into the arena; those
	// of nested objects onto the stack, then into the arena once complete.
	top := p.depth == 1
	var fs []Field
	base := len(p.fstack)
	if top {
		fs = p.a.topStart(len(p.hints) + 8)
	} else {
		fs = p.fstack
	}
	// A repeated key keeps the position of its first occurrence and takes
	// the value of its last, as JSON.parse does. same tells whether every
	// key so far equalled its position's hint; index maps names to
	// positions in fs[base:] once the object has many fields.
	same, dups := top, false
	var ix fieldIndex
	if top {
		ix.m = p.topIndex
	}
	for n := 0; ; n++ {
		var h *hint
		if top {
			if n == len(p.hints) && n < maxHints {
				p.hints = append(p.hints, hint{})
			}
			if n < len(p.hints) {
				h = &p.hints[n]
			}
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.unexpected("looking for beginning of object key string")
		}
		name, fromHint, ok := p.key(h)
		if !ok {
			return nil, false
		}
		if h != nil && !fromHint && n < p.distinct {
			p.distinct = n // the hint at n changed
		}
		same = same && fromHint
		at := -1
		if !same || n >= p.distinct {
			at = ix.find(fs[base:], name)
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.unexpected("after object key")
		}
		p.pos++
		if !top {
			p.fstack = fs
		}
		v, ok := p.value(h)
		if !ok {
			return nil, false
		}
		if !top {
			fs = p.fstack // nested values may have grown the stack
		}
		if at >= 0 {
			fs[base+at].Value = v
			dups = true
		} else {
			if ix.valid {
				ix.m[name] = len(fs) - base
			}
			fs = append(fs, Field{Name: name, Value: v})
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.unexpected("after object key:value pair")
		}
		c := p.data[p.pos]
		if c == ',' {
			p.pos++
			continue
		}
		if c == '}' {
			p.pos++
			if top && !dups {
				// The hints now hold this record's keys, all different.
				p.distinct = min(n+1, len(p.hints))
			}
			break
		}
		return nil, p.unexpected("after object key:value pair")
	}
	p.depth--
	if top {
		if len(ix.m) <= maxReusedIndex {
			p.topIndex = ix.m
		} else {
			p.topIndex = nil
		}
		return p.a.record(p.a.topCommit(fs)), true
	}
	fields := p.a.fieldsCopy(fs[base:])
	clear(fs[base:])
	p.fstack = fs[:base]
	return p.a.record(fields), true
}

// linearFields is the number of fields an object may have before its
// duplicate check uses a map.
const linearFields = 16

// fieldIndex maps the names of an object's fields to their positions.
type fieldIndex struct {
	m     map[string]int
	valid bool // m holds the object's fields
}

// find returns the position of the field called name in fs, or -1. Once
// fs is long it builds ix from fs (reusing ix's map); the caller then keeps
// ix up to date.
func (ix *fieldIndex) find(fs []Field, name string) int {
	if !ix.valid {
		if len(fs) <= linearFields {
			for i := range fs {
				if fs[i].Name == name {
					return i
				}
			}
			return -1
		}
		if ix.m == nil {
			ix.m = make(map[string]int, 2*len(fs))
		} else {
			clear(ix.m)
		}
		for i := range fs {
			ix.m[fs[i].Name] = i
		}
		ix.valid = true
	}
	if i, ok := ix.m[name]; ok {
		return i
	}
	return -1
}

// maxReusedIndex is the largest top-level index map kept for the next
// record.
const maxReusedIndex = 1024

// array parses an array; h, if not nil, is the hint of the top-level field
// position it is at.
func (p *JSONParser) array(h *hint) (any, bool) {
	p.depth++
	if p.depth > maxDepth {
		return nil, p.fail("exceeded max nesting depth")
	}
	p.pos++ // '['
	base := len(p.astack)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return []any{}, true
	}
	for j := 0; ; j++ {
		v, ok := p.value(h.elem(j))
		if !ok {
			return nil, false
		}
		p.astack = append(p.astack, v)
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.unexpected("after array element")
		}
		c := p.data[p.pos]
		if c == ',' {
			p.pos++
			continue
		}
		if c == ']' {
			p.pos++
			break
		}
		return nil, p.unexpected("after array element")
	}
	elems := p.a.anysCopy(p.astack[base:])
	clear(p.astack[base:])
	p.astack = p.astack[:base]
	p.depth--
	return elems, true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans the string starting at p.pos (a '"'). It returns the raw
// contents and whether they can be used as they are (no escapes, valid
// UTF-8). p.pos is left after the closing quote.
func (p *JSONParser) scanString() (raw []byte, plain bool, ok bool) {
	start := p.pos + 1
	i := start
	data := p.data
	// Fast path: printable ASCII without escapes, eight bytes at a time.
	// t flags each byte that is '"', '\\', a control character or not
	// ASCII; its lowest flag is exact (borrows only run upwards from a
	// flagged byte).
	for i+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[i:])
		q := w ^ (lsb * '"')
		bs := w ^ (lsb * '\\')
		t := ((w - lsb*0x20) & ^w) | ((q - lsb) & ^q) | ((bs - lsb) & ^bs) | w
		if t &= msb; t != 0 {
			i += bits.TrailingZeros64(t) >> 3
			if data[i] == '"' {
				p.pos = i + 1
				return data[start:i], true, true
			}
			return p.scanStringSlow(start, i)
		}
		i += 8
	}
	for ; i < len(data); i++ {
		c := data[i]
		if c == '"' {
			p.pos = i + 1
			return data[start:i], true, true
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	return p.scanStringSlow(start, i)
}

// scanStringSlow goes on scanning a string from i, validating escapes.
func (p *JSONParser) scanStringSlow(start, i int) (raw []byte, plain bool, ok bool) {
	data := p.data
	escaped, ascii := false, true
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			raw = data[start:i]
			if escaped || (!ascii && !utf8.Valid(raw)) {
				return raw, false, true
			}
			return raw, true, true
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				p.pos = i + 1
				return nil, false, p.unexpected("in string escape code")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(data) || !isHex(data[i+k]) {
						p.pos = i + k
						return nil, false, p.unexpected("in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				p.pos = i + 1
				return nil, false, p.unexpected("in string escape code")
			}
		case c < 0x20:
			p.pos = i
			return nil, false, p.unexpected("in string literal")
		default:
			if c >= 0x80 {
				ascii = false
			}
			i++
		}
	}
	p.pos = len(data)
	return nil, false, p.unexpected("in string literal")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	default:
		return rune(c - 'A' + 10)
	}
}

// getu4 decodes a \uXXXX escape at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		if !isHex(c) {
			return -1
		}
		r = r<<4 | hexVal(c)
	}
	return r
}

// unquote decodes the contents of a scanned string (escapes already
// validated) into p.buf, replacing invalid UTF-8 and unpaired surrogates by
// U+FFFD exactly as encoding/json does.
func (p *JSONParser) unquote(raw []byte) []byte {
	b := p.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch raw[i+1] {
			case '"', '\\', '/':
				b = append(b, raw[i+1])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := getu4(raw[i:])
				i += 6
				if utf16.IsSurrogate(r) {
					if r2 := getu4(raw[i:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							i += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, raw[i:i+size]...)
			}
			i += size
		}
	}
	p.buf = b
	return b
}

func (p *JSONParser) stringValue(h *hint) (any, bool) {
	raw, plain, ok := p.scanString()
	if !ok {
		return nil, false
	}
	if !plain {
		raw = p.unquote(raw)
	}
	return p.c.hintedStr(h, raw), true
}

// key parses an object key. fromHint reports that h is not nil and
// already held the key.
func (p *JSONParser) key(h *hint) (name string, fromHint, ok bool) {
	if h != nil && h.plain {
		// The key at a position mostly repeats from one record to the
		// next: comparing the text with it saves scanning it. A plain
		// key holds no quote, backslash or control character, so the
		// text is that key exactly when it holds its bytes and then the
		// closing quote.
		end := p.pos + 1 + len(h.key)
		if end < len(p.data) && p.data[end] == '"' && string(p.data[p.pos+1:end]) == h.key {
			p.pos = end + 1
			return h.key, true, true
		}
	}
	raw, plain, ok := p.scanString()
	if !ok {
		return "", false, false
	}
	if !plain {
		raw = p.unquote(raw)
	}
	if h == nil {
		return p.c.names.name(raw), false, true
	}
	if h.key == string(raw) {
		return h.key, true, true
	}
	h.key, h.plain = p.c.names.name(raw), plain
	return h.key, false, true
}

// number parses a number literal, computing its value on the way when it
// is simple enough (Clinger's fast path: at most 19 significant digits that
// fit in 2^53 and a power of ten up to 1e22 are both exact, so one
// multiplication or division rounds correctly), else with strconv.
func (p *JSONParser) number(h *hint) (any, bool) {
	data := p.data
	start := p.pos
	i := start
	neg := false
	if data[i] == '-' {
		neg = true
		i++
	}
	var m uint64
	sig := 0 // significant digits in m
	exact := true
	scale := 0 // value = m * 10^scale
	if i >= len(data) {
		p.pos = i
		return nil, p.unexpected("in numeric literal")
	}
	if c := data[i]; c == '0' {
		i++
	} else if c >= '1' && c <= '9' {
		for ; i < len(data); i++ {
			c := data[i]
			if c < '0' || c > '9' {
				break
			}
			if sig < 19 {
				m = m*10 + uint64(c-'0')
				sig++
			} else {
				exact = false
			}
		}
	} else {
		p.pos = i
		return nil, p.unexpected("in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		i++
		fracStart := i
		for ; i < len(data); i++ {
			c := data[i]
			if c < '0' || c > '9' {
				break
			}
			if m == 0 && c == '0' {
				scale--
			} else if sig < 19 {
				m = m*10 + uint64(c-'0')
				sig++
				scale--
			} else {
				exact = false
			}
		}
		if i == fracStart {
			p.pos = i
			return nil, p.unexpected("after decimal point in numeric literal")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		eneg := false
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			eneg = data[i] == '-'
			i++
		}
		expStart := i
		e := 0
		for ; i < len(data); i++ {
			c := data[i]
			if c < '0' || c > '9' {
				break
			}
			if e < 100000 {
				e = e*10 + int(c-'0')
			}
		}
		if i == expStart {
			p.pos = i
			return nil, p.unexpected("in exponent of numeric literal")
		}
		if eneg {
			e = -e
		}
		scale += e
	}
	p.pos = i
	var f float64
	switch {
	case m == 0 && exact:
		f = 0
	case exact && m < 1<<53 && scale >= 0 && scale <= 22:
		f = float64(m) * pow10[scale]
	case exact && m < 1<<53 && scale < 0 && scale >= -22:
		f = float64(m) / pow10[-scale]
	default:
		lit := data[start:i]
		var err error
		f, err = strconv.ParseFloat(string(lit), 64)
		if err != nil {
			p.pos = start
			return nil, p.fail(fmt.Sprintf("number %s out of range", clip(lit)))
		}
		neg = false // ParseFloat saw the sign
	}
	if neg {
		f = -f
	}
	return boxNum(h, f), true
}
