package storagefw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// serialPrefix is the version tag Zeek's JSON serializer writes before the
// JSON text; a store without it was not written by this serializer.
const serialPrefix = "JSONv1;"

// Serializer turns normalized values into stored bytes and back. The only
// one is Zeek's JSON serializer (Storage.STORAGE_SERIALIZER_JSON).
type Serializer interface {
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
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		buf.WriteString(strconv.Itoa(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("cannot serialize %v", x)
		}
		buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string, bool, nil, map[string]any, []any:
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
