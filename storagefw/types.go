package storagefw

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
)

// TypeKind is the kind of a storage key or value type (SPEC §3 type names).
type TypeKind uint8

// The type kinds scripts name in open_backend.
const (
	KindString TypeKind = iota + 1
	KindCount           // integer >= 0
	KindInt
	KindDouble
	KindBool
	KindAddr   // IPv4/IPv6 address as a string
	KindSubnet // CIDR as a string
	KindAny    // any JSON value
	KindRecord
	KindVector
)

var kindNames = map[string]TypeKind{
	"string": KindString, "count": KindCount, "int": KindInt, "double": KindDouble,
	"bool": KindBool, "addr": KindAddr, "subnet": KindSubnet, "any": KindAny,
}

// Type is a key or value type: a scalar kind, a record shape or a vector.
// Types are immutable once parsed and safe to share between goroutines.
type Type struct {
	Kind   TypeKind
	Fields []Field // KindRecord, sorted by name
	Elem   *Type   // KindVector
}

// Field is one field of a record type.
type Field struct {
	Name string
	Type *Type
}

// ParseType reads a type name as scripts give it: "string", a record shape
// {field: type, ...} (map[string]any) or ["vector", type].
func ParseType(v any) (*Type, error) {
	switch x := v.(type) {
	case string:
		k, ok := kindNames[x]
		if !ok {
			return nil, fmt.Errorf("unknown type %q (want string, count, int, double, bool, addr, subnet, any, a record shape or [\"vector\", type])", x)
		}
		return &Type{Kind: k}, nil
	case map[string]any:
		if len(x) == 0 {
			return nil, fmt.Errorf("record type has no fields")
		}
		t := &Type{Kind: KindRecord}
		for name, ft := range x {
			ftyp, err := ParseType(ft)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			t.Fields = append(t.Fields, Field{Name: name, Type: ftyp})
		}
		sort.Slice(t.Fields, func(i, j int) bool { return t.Fields[i].Name < t.Fields[j].Name })
		return t, nil
	case []any:
		if len(x) == 2 {
			if s, ok := x[0].(string); ok && s == "vector" {
				elem, err := ParseType(x[1])
				if err != nil {
					return nil, fmt.Errorf("vector element: %w", err)
				}
				return &Type{Kind: KindVector, Elem: elem}, nil
			}
		}
		return nil, fmt.Errorf(`a list type must be ["vector", type]`)
	case nil:
		return nil, fmt.Errorf("type is missing")
	}
	return nil, fmt.Errorf("a type must be a name, a record shape or [\"vector\", type], got %T", v)
}

// String renders the type as scripts write it.
func (t *Type) String() string {
	switch t.Kind {
	case KindRecord:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = fmt.Sprintf("%s: %s", f.Name, f.Type)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case KindVector:
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
func (t *Type) Normalize(v any) (any, error) {
	switch t.Kind {
	case KindAny:
		return v, nil
	case KindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case KindCount, KindInt:
		n, ok := asInteger(v)
		if ok && (t.Kind == KindInt || n >= 0) {
			return n, nil
		}
	case KindDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
	case KindAddr:
		if s, ok := v.(string); ok {
			if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
				return a.String(), nil
			}
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
	case KindSubnet:
		if s, ok := v.(string); ok {
			if p, err := netip.ParsePrefix(s); err == nil {
				return p.Masked().String(), nil
			}
			return nil, fmt.Errorf("%q is not a subnet (CIDR)", s)
		}
	case KindRecord:
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
	case KindVector:
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

func (t *Type) field(name string) (*Type, bool) {
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
