package storagefw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

// JSONSerializer writes "JSONv1;" followed by the JSON text, as Zeek does.
// It is stateless and safe for concurrent use.
type JSONSerializer struct{}

// Serialize renders v (a normalized value) as Zeek's JSON serializer does.
func (JSONSerializer) Serialize(v any) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, 64))
	buf.WriteString(serialPrefix)
	if err := writeJSON(buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unserialize parses bytes written by Serialize (or by Zeek).
func (JSONSerializer) Unserialize(b []byte) (any, error) {
	if !bytes.HasPrefix(b, []byte(serialPrefix)) {
		n := min(len(b), 16)
		return nil, fmt.Errorf("stored data does not start with %q (starts %q)", serialPrefix, b[:n])
	}
	if v, ok := fastScalar(b[len(serialPrefix):]); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b[len(serialPrefix):]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("stored JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("stored JSON: trailing data")
	}
	return fromJSONNumbers(v), nil
}

// fromJSONNumbers turns json.Number into int64 when integral, else float64.
func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSONNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromJSONNumbers(e)
		}
	}
	return v
}

// writeJSON encodes normalized values; map keys are sorted (encoding/json's
// order) so equal values serialize to equal bytes and keys match.
func writeJSON(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		writeJSONString(buf, x)
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		buf.WriteString(strconv.Itoa(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("cannot serialize %v", x)
		}
		buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case bool, nil, map[string]any, []any:
		// Zeek writes <, > and & as they are; encoding/json would escape them.
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("cannot serialize: %w", err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	default:
		return fmt.Errorf("cannot serialize a %T", v)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string the way encoding/json does with
// HTML escaping off: quotes, backslashes and control characters escaped,
// U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func writeJSONString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			case '\b':
				buf.WriteString(`\b`)
			case '\f':
				buf.WriteString(`\f`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// fastScalar decodes the most common stored values without encoding/json:
// a string with no escapes, or a small decimal integer. ok is false for
// anything else, which then takes the general path.
func fastScalar(b []byte) (any, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
				return nil, false
			}
		}
		return string(inner), true
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
		return nil, false // leading zero: invalid JSON, let the decoder say so
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
	return n, true
}
