package storagefw

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
)

// typeKind is the kind of a storage key or value type (docs/storage.md type names).
type typeKind uint8

// The type kinds scripts name in open_backend.
const (
	kindString typeKind = iota + 1
	kindCount           // integer >= 0
	kindInt
	kindDouble
	kindBool
	kindAddr   // IPv4/IPv6 address as a string
	kindSubnet // CIDR as a string
	kindAny    // any JSON value
	kindRecord
	kindVector
)

var kindNames = map[string]typeKind{
	"string": kindString, "count": kindCount, "int": kindInt, "double": kindDouble,
	"bool": kindBool, "addr": kindAddr, "subnet": kindSubnet, "any": kindAny,
}

// dataType is a key or value type: a scalar kind, a record shape or a vector.
// Types are immutable once parsed and safe to share between goroutines.
type dataType struct {
	Kind   typeKind
	Fields []field   // KindRecord, sorted by name
	Elem   *dataType // KindVector
}

// field is one field of a record type.
type field struct {
	Name string
	Type *dataType
}

// parseType reads a type name as scripts give it: "string", a record shape
// {field: type, ...} (map[string]any) or ["vector", type].
func parseType(v any) (*dataType, error) {
	switch x := v.(type) {
	case string:
		k, ok := kindNames[x]
		if !ok {
			return nil, fmt.Errorf("unknown type %q (want string, count, int, double, bool, addr, subnet, any, a record shape or [\"vector\", type])", x)
		}
		return &dataType{Kind: k}, nil
	case map[string]any:
		if len(x) == 0 {
			return nil, fmt.Errorf("record type has no fields")
		}
		t := &dataType{Kind: kindRecord}
		for name, ft := range x {
			ftyp, err := parseType(ft)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			t.Fields = append(t.Fields, field{Name: name, Type: ftyp})
		}
		sort.Slice(t.Fields, func(i, j int) bool { return t.Fields[i].Name < t.Fields[j].Name })
		return t, nil
	case []any:
		if len(x) == 2 {
			if s, ok := x[0].(string); ok && s == "vector" {
				elem, err := parseType(x[1])
				if err != nil {
					return nil, fmt.Errorf("vector element: %w", err)
				}
				return &dataType{Kind: kindVector, Elem: elem}, nil
			}
		}
		return nil, fmt.Errorf(`a list type must be ["vector", type]`)
	case nil:
		return nil, fmt.Errorf("type is missing")
	}
	return nil, fmt.Errorf("a type must be a name, a record shape or [\"vector\", type], got %T", v)
}

// String renders the type as scripts write it.
func (t *dataType) String() string {
	switch t.Kind {
	case kindRecord:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = fmt.Sprintf("%s: %s", f.Name, f.Type)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case kindVector:
		return "vector of " + t.Elem.String()
	}
	for n, k := range kindNames {
		if k == t.Kind {
			return n
		}
	}
	return "?"
}

// Normalize checks that v (a Go value as exported from JS or decoded from
// JSON: string, int64, float64, bool, nil, map[string]any, []any) has type t
// and returns it in canonical form: integers as int64, records with exactly
// their declared fields. Optional record fields do not exist: every
// declared field must be present.
func (t *dataType) Normalize(v any) (any, error) {
	switch t.Kind {
	case kindAny:
		return v, nil
	case kindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindCount, kindInt:
		n, ok := asInteger(v)
		if ok && (t.Kind == kindInt || n >= 0) {
			return n, nil
		}
	case kindDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
	case kindAddr:
		if s, ok := v.(string); ok {
			if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
				return a.String(), nil
			}
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
	case kindSubnet:
		if s, ok := v.(string); ok {
			if p, err := netip.ParsePrefix(s); err == nil {
				return p.Masked().String(), nil
			}
			return nil, fmt.Errorf("%q is not a subnet (CIDR)", s)
		}
	case kindRecord:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(t.Fields))
		for _, f := range t.Fields {
			fv, present := m[f.Name]
			if !present {
				return nil, fmt.Errorf("record field %q is missing", f.Name)
			}
			nv, err := f.Type.Normalize(fv)
			if err != nil {
				return nil, fmt.Errorf("record field %q: %w", f.Name, err)
			}
			out[f.Name] = nv
		}
		for name := range m {
			if _, declared := t.field(name); !declared {
				return nil, fmt.Errorf("record has undeclared field %q", name)
			}
		}
		return out, nil
	case kindVector:
		list, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, len(list))
		for i, e := range list {
			nv, err := t.Elem.Normalize(e)
			if err != nil {
				return nil, fmt.Errorf("vector element %d: %w", i, err)
			}
			out[i] = nv
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not of type %s", describe(v), t)
}

func (t *dataType) field(name string) (*dataType, bool) {
	i := sort.Search(len(t.Fields), func(i int) bool { return t.Fields[i].Name >= name })
	if i < len(t.Fields) && t.Fields[i].Name == name {
		return t.Fields[i].Type, true
	}
	return nil, false
}

func asInteger(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case int64, int, float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
