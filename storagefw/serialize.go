package storagefw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"unicode/utf8"
)

// serialPrefix is the version tag Zeek's JSON serializer writes before the
// JSON text; a store without it was not written by this serializer.
const serialPrefix = "JSONv1;"

// serializer turns normalized values into stored bytes and back. The only
// one is Zeek's JSON serializer (Storage.STORAGE_SERIALIZER_JSON).
type serializer interface {
	Serialize(v any) ([]byte, error)
	Unserialize(b []byte) (any, error)
}

// JSONSerializer writes "JSONv1;" followed by the JSON text, byte for byte
// as Zeek's JSON serializer does (Val::ToJSON: rapidjson's Writer with
// Zeek's string escaping, double formatting and per-type layout). It is
// stateless and safe for concurrent use.
type JSONSerializer struct{}

// Serialize renders v (a normalized value, see dataType.Normalize) as
// Zeek's JSON serializer does. NaN and ±Inf, which Zeek writes as null
// (and reads back as "no value"), are refused.
func (JSONSerializer) Serialize(v any) ([]byte, error) {
	var buf []byte
	if s, ok := v.(string); ok && len(s) < 120 {
		buf = make([]byte, 0, len(serialPrefix)+len(s)+2)
	} else {
		buf = make([]byte, 0, 64)
	}
	buf = append(buf, serialPrefix...)
	buf, err := appendValue(buf, v)
	if err != nil {
		return nil, err
	}
	return buf, nil
}

// Unserialize parses bytes written by Serialize or by Zeek, the way
// Zeek's reader (rapidjson's default parse) accepts them. The result is
// only for dataType.Normalize, which decodes it under the handle's type
// with Zeek's reading rules: a wireString or wireInt (the common scalars,
// without the parser) or a *wireValue (a parsed document).
func (JSONSerializer) Unserialize(b []byte) (any, error) {
	if !bytes.HasPrefix(b, []byte(serialPrefix)) {
		n := min(len(b), 16)
		return nil, fmt.Errorf("stored data does not start with %q (starts %q)", serialPrefix, b[:n])
	}
	body := b[len(serialPrefix):]
	if v, ok := fastScalar(body); ok {
		return v, nil
	}
	node, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("stored JSON: %w", err)
	}
	return &wireValue{node}, nil
}

// wireValue is a parsed stored document, decoded by Normalize with Zeek's
// reading rules. Serialize writes it back as it was parsed.
type wireValue struct{ v any }

// wireString and wireInt are stored scalars read by the fast path: a
// JSON string without escapes, a small integer literal.
type (
	wireString string
	wireInt    int64
)

// wireObject is a parsed JSON object, members in document order.
type wireObject struct {
	names []string
	vals  []any
}

// get returns the first member of that name (rapidjson's FindMember).
func (o *wireObject) get(name string) (any, bool) {
	for i, n := range o.names {
		if n == name {
			return o.vals[i], true
		}
	}
	return nil, false
}

// appendValue appends the JSON text of a normalized value.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendZeekString(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("cannot serialize %v (Zeek would store null: no value)", x)
		}
		return appendZeekDouble(buf, x), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case nil:
		return append(buf, "null"...), nil
	case Record:
		buf = append(buf, '{')
		for i, f := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendRapidString(buf, f.Name)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, f.Value); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case Interval:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("cannot serialize interval %v", f)
		}
		buf = append(buf, '"')
		buf = appendZeekInterval(buf, f)
		return append(buf, '"'), nil
	case Port:
		buf = append(buf, `{"port":`...)
		buf = strconv.AppendUint(buf, uint64(x.Number), 10)
		buf = append(buf, `,"proto":`...)
		buf = appendRapidString(buf, x.Proto)
		return append(buf, '}'), nil
	case Table:
		buf = append(buf, '{')
		var key []byte
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if key, err = appendValue(key[:0], e.Key); err != nil {
				return nil, err
			}
			// Zeek writes the key's JSON text as the member name, quotes
			// stripped for types written as strings; the writer then
			// escapes that text again.
			switch e.Key.(type) {
			case string, Interval:
				key = key[1 : len(key)-1]
			}
			buf = appendRapidBytes(buf, key)
			buf = append(buf, ':')
			if buf, err = appendValue(buf, e.Value); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case uint64:
		return strconv.AppendUint(buf, x, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case map[string]any:
		// Values of type any: members in name order, so equal values
		// serialize to equal bytes.
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		buf = append(buf, '{')
		for i, k := range names {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendZeekString(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, x[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case *wireValue:
		return appendValue(buf, x.v)
	case wireString:
		return appendZeekString(buf, string(x)), nil
	case wireInt:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case *wireObject:
		buf = append(buf, '{')
		for i, k := range x.names {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendRapidString(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, x.vals[i]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	return appendOther(buf, v)
}

// appendOther writes Go values a caller may put in a value of type any
// (other numeric types, time.Time, structs, ...) with encoding/json, as
// the framework always has; functions, channels and the like fail.
func appendOther(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case float32:
		return appendValue(buf, float64(x))
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case uint32:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() != reflect.Uint8 {
			buf = append(buf, '[')
			for i := 0; i < rv.Len(); i++ {
				if i > 0 {
					buf = append(buf, ',')
				}
				var err error
				if buf, err = appendValue(buf, rv.Index(i).Interface()); err != nil {
					return nil, err
				}
			}
			return append(buf, ']'), nil
		}
	}
	var w bytes.Buffer
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot serialize: %w", err)
	}
	return append(buf, bytes.TrimSuffix(w.Bytes(), []byte("\n"))...), nil
}

const hexDigits = "0123456789abcdef"

// appendZeekString writes a string, enum or member name of type any as
// Zeek does: util::escape_utf8(s, ESCAPE_UNPRINTABLE_CONTROLS) and then
// rapidjson's string writer. If s holds no "bad" character (a control
// other than \b \f \n \r \t, DEL, a C1 control, invalid or overlong UTF-8,
// a surrogate, a private-use character U+E000-U+F8FF or U+FFF0-U+FFFF),
// s is written as it is (valid UTF-8 raw); otherwise every byte other than
// printable ASCII and \b \f \n \r \t becomes the text \xNN, which the
// writer escapes again (\\xNN in the stored bytes).
func appendZeekString(buf []byte, s string) []byte {
	// Fast path: printable ASCII with nothing to escape.
	i := 0
	for i < len(s) {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			break
		}
		i++
	}
	if i == len(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	if !hasBadChar(s[i:]) {
		return appendRapidString(buf, s)
	}
	buf = append(buf, '"')
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c >= 0x20 && c < 0x7f:
			buf = append(buf, c)
		case c == '\b':
			buf = append(buf, '\\', 'b')
		case c == '\f':
			buf = append(buf, '\\', 'f')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(buf, '"')
}

// hasBadChar reports whether escape_utf8 would find a character it
// refuses (check_ok_utf8 in Zeek's src/util.cc).
func hasBadChar(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' {
			i++
			continue
		}
		if c < 0x80 {
			return true // other C0 controls and DEL
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return true // invalid, truncated, overlong or a surrogate
		}
		if r <= 0x9f || r >= 0xe000 && r <= 0xf8ff || r >= 0xfff0 && r <= 0xffff {
			return true
		}
		i += size
	}
	return false
}

// appendRapidString writes s as rapidjson's Writer::String does: only
// ", \ and control characters escaped (\b \f \n \r \t, others \u00XX
// with uppercase hex); every other byte, valid UTF-8 or not, as it is.
func appendRapidString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		buf = appendRapidEscape(buf, c)
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

func appendRapidBytes(buf []byte, s []byte) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		buf = appendRapidEscape(buf, c)
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

const upperHex = "0123456789ABCDEF"

func appendRapidEscape(buf []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(buf, '\\', c)
	case '\b':
		return append(buf, '\\', 'b')
	case '\f':
		return append(buf, '\\', 'f')
	case '\n':
		return append(buf, '\\', 'n')
	case '\r':
		return append(buf, '\\', 'r')
	case '\t':
		return append(buf, '\\', 't')
	}
	return append(buf, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
}

// fastScalar decodes the most common stored values without the parser:
// a string with no escapes, or a small decimal integer. ok is false for
// anything else, which then takes the general path.
// plainString is what Unserialize reads from b when it holds a JSON string
// without escapes (fastScalar's wireString), as a string.
func plainString(b []byte) (string, bool) {
	if !bytes.HasPrefix(b, []byte(serialPrefix)) {
		return "", false
	}
	b = b[len(serialPrefix):]
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	return string(inner), true
}

func fastScalar(b []byte) (any, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 {
				return nil, false
			}
		}
		return wireString(inner), true
	}
	if len(b) == 0 || len(b) > 18 {
		return nil, false
	}
	i := 0
	if b[0] == '-' {
		i = 1
		if len(b) == 1 {
			return nil, false
		}
	}
	if b[i] == '0' && len(b) > i+1 {
		return nil, false // leading zero: invalid JSON, let the parser say so
	}
	var n int64
	for _, c := range b[i:] {
		if c < '0' || c > '9' {
			return nil, false
		}
		n = n*10 + int64(c-'0')
	}
	if i == 1 {
		n = -n
	}
	return wireInt(n), true
}

// parseJSON parses one JSON document as rapidjson's default Parse does:
// standard JSON, whitespace around tokens, raw control characters in
// strings refused, bytes >= 0x80 in strings taken as they are (no UTF-8
// validation), \u escapes with surrogate pairs. Integer literals become
// int64 (uint64 above 2^63-1, float64 above 2^64-1); other numbers
// float64, correctly rounded. Objects become *wireObject (member order
// kept, repeated names kept), arrays []any.
func parseJSON(b []byte) (any, error) {
	p := jsonParser{b: b}
	p.skipSpace()
	if p.i == len(p.b) {
		return nil, p.errorf("The document is empty.")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return nil, p.errorf("The document root must not be followed by other values.")
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) errorf(msg string) error {
	return fmt.Errorf("%s Offset: %d", msg, p.i)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

const maxJSONDepth = 1000

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.b) {
		return nil, p.errorf("Invalid value.")
	}
	if depth > maxJSONDepth {
		return nil, p.errorf("Document nested too deeply.")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		p.i++
		o := &wireObject{names: make([]string, 0, 8), vals: make([]any, 0, 8)}
		p.skipSpace()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return o, nil
		}
		for {
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return nil, p.errorf("Missing a name for object member.")
			}
			name, err := p.str()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.errorf("Missing a colon after a name of object member.")
			}
			p.i++
			p.skipSpace()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o.names = append(o.names, name)
			o.vals = append(o.vals, v)
			p.skipSpace()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				p.skipSpace()
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == '}' {
				p.i++
				return o, nil
			}
			return nil, p.errorf("Missing a comma or '}' after an object member.")
		}
	case c == '[':
		p.i++
		list := []any{}
		p.skipSpace()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return list, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			p.skipSpace()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				p.skipSpace()
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == ']' {
				p.i++
				return list, nil
			}
			return nil, p.errorf("Missing a comma or ']' after an array element.")
		}
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.errorf("Invalid value.")
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		return nil, p.errorf("Invalid value.")
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else {
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
	}
	if p.i == digits {
		return nil, p.errorf("Invalid value.")
	}
	integer := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		integer = false
		p.i++
		fd := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i == fd {
			return nil, p.errorf("Missing fraction part in number.")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integer = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		ed := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i == ed {
			return nil, p.errorf("Missing exponent in number.")
		}
	}
	lit := p.b[start:p.i]
	if integer && len(lit) <= 18 {
		// Fits int64 for sure: no need for strconv.
		var n int64
		for _, c := range lit[digits-start:] {
			n = n*10 + int64(c-'0')
		}
		if lit[0] == '-' {
			n = -n
		}
		return n, nil
	}
	text := string(lit)
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		if text[0] != '-' {
			if n, err := strconv.ParseUint(text, 10, 64); err == nil {
				return n, nil
			}
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(f, 0) {
		return nil, p.errorf("Invalid value.")
	}
	if math.IsInf(f, 0) {
		p.i = start
		return nil, p.errorf("Number too big to be stored in double.")
	}
	return f, nil
}

func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("Invalid encoding in string.")
		}
		p.i++
	}
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.errorf("Invalid encoding in string.")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		esc := p.i
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			cp, ok := p.hex4()
			if !ok {
				p.i = esc
				return "", p.errorf("Incorrect hex digit after \\u escape in string.")
			}
			if cp >= 0xD800 && cp <= 0xDFFF {
				if cp > 0xDBFF || p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
					p.i = esc
					return "", p.errorf("The surrogate pair in string is invalid.")
				}
				p.i += 2
				lo, ok := p.hex4()
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					p.i = esc
					return "", p.errorf("The surrogate pair in string is invalid.")
				}
				cp = ((cp-0xD800)<<10 | (lo - 0xDC00)) + 0x10000
			}
			out = utf8.AppendRune(out, rune(cp))
		default:
			p.i = esc
			return "", p.errorf("Invalid escape character in string.")
		}
	}
	return "", p.errorf("Missing a closing quotation mark in string.")
}

func (p *jsonParser) hex4() (uint32, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var cp uint32
	for _, c := range p.b[p.i : p.i+4] {
		cp <<= 4
		switch {
		case c >= '0' && c <= '9':
			cp |= uint32(c - '0')
		case c >= 'a' && c <= 'f':
			cp |= uint32(c-'a') + 10
		case c >= 'A' && c <= 'F':
			cp |= uint32(c-'A') + 10
		default:
			return 0, false
		}
	}
	p.i += 4
	return cp, true
}
