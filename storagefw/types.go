package storagefw

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
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
	kindTime     // epoch seconds, stored as a double
	kindInterval // seconds, stored as Zeek's interval text
	kindPort     // "80/tcp", stored as {"port":80,"proto":"tcp"}
	kindEnum     // an enum name, stored as a string
	kindSet      // array of distinct elements
	kindTable    // Map, stored as an object
)

var kindNames = map[string]typeKind{
	"string": kindString, "count": kindCount, "int": kindInt, "double": kindDouble,
	"bool": kindBool, "addr": kindAddr, "subnet": kindSubnet, "any": kindAny,
	"time": kindTime, "interval": kindInterval, "port": kindPort, "enum": kindEnum,
}

// zeekTypeNames are Zeek's type_name()s, for Zeek's error texts.
var zeekTypeNames = [...]string{
	kindString: "string", kindCount: "count", kindInt: "int", kindDouble: "double",
	kindBool: "bool", kindAddr: "addr", kindSubnet: "subnet", kindAny: "any",
	kindRecord: "record", kindVector: "vector", kindTime: "time", kindInterval: "interval",
	kindPort: "port", kindEnum: "enum", kindSet: "set", kindTable: "table",
}

// dataType is a key or value type: a scalar kind, a record shape, a
// vector, a set or a table. Types are immutable once parsed and safe to
// share between goroutines.
type dataType struct {
	Kind   typeKind
	Fields []field   // kindRecord, in declared order
	Elem   *dataType // kindVector, kindSet: element; kindTable: value
	Key    *dataType // kindTable: index
	byName map[string]int
}

// field is one field of a record type.
type field struct {
	Name     string
	Type     *dataType
	Optional bool // Zeek's &optional: may be absent
}

const typeHelp = `string, count, int, double, bool, addr, subnet, time, interval, port, enum, any, a record shape, ["vector", type], ["set", type] or ["table", key_type, val_type]`

// parseType reads a type as scripts give it: a name ("string"), a record
// shape {field: type, ...} or a list type ["vector", type], ["set", type],
// ["table", key_type, val_type]. A record shape given as a Record keeps
// its field order (a script's object literal: the declared order); given
// as a map[string]any its fields are ordered by name.
func parseType(v any) (*dataType, error) {
	switch x := v.(type) {
	case string:
		if k, ok := kindNames[x]; ok {
			return &dataType{Kind: k}, nil
		}
		if _, ok := kindNames[strings.TrimSuffix(x, "?")]; ok {
			return nil, fmt.Errorf("optional type %q outside a record (only record fields can be optional)", x)
		}
		return nil, fmt.Errorf("unknown type %q (want %s)", x, typeHelp)
	case Record:
		return parseRecordType(x)
	case map[string]any:
		r := make(Record, 0, len(x))
		for name, ft := range x {
			r = append(r, Field{Name: name, Value: ft})
		}
		sort.Slice(r, func(i, j int) bool { return r[i].Name < r[j].Name })
		return parseRecordType(r)
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			switch {
			case s == "vector" && len(x) == 2:
				elem, err := parseType(x[1])
				if err != nil {
					return nil, fmt.Errorf("vector element: %w", err)
				}
				return &dataType{Kind: kindVector, Elem: elem}, nil
			case s == "set" && len(x) == 2:
				elem, err := parseIndexType(x[1])
				if err != nil {
					return nil, fmt.Errorf("set element: %w", err)
				}
				return &dataType{Kind: kindSet, Elem: elem}, nil
			case s == "table" && len(x) == 3:
				key, err := parseIndexType(x[1])
				if err != nil {
					return nil, fmt.Errorf("table key: %w", err)
				}
				val, err := parseType(x[2])
				if err != nil {
					return nil, fmt.Errorf("table value: %w", err)
				}
				return &dataType{Kind: kindTable, Key: key, Elem: val}, nil
			}
		}
		return nil, fmt.Errorf(`a list type must be ["vector", type], ["set", type] or ["table", key_type, val_type]`)
	case nil:
		return nil, fmt.Errorf("type is missing")
	}
	return nil, fmt.Errorf("a type must be one of %s, got %T", typeHelp, v)
}

// parseIndexType reads the element type of a set or the key type of a
// table: anything but any (which Zeek cannot index by).
func parseIndexType(v any) (*dataType, error) {
	t, err := parseType(v)
	if err == nil && t.Kind == kindAny {
		return nil, fmt.Errorf("any cannot index a set or table")
	}
	return t, err
}

func parseRecordType(r Record) (*dataType, error) {
	if len(r) == 0 {
		return nil, fmt.Errorf("record type has no fields")
	}
	t := &dataType{Kind: kindRecord, Fields: make([]field, 0, len(r)), byName: make(map[string]int, len(r))}
	for _, f := range r {
		if _, dup := t.byName[f.Name]; dup {
			return nil, fmt.Errorf("record field %q declared twice", f.Name)
		}
		fv, optional := f.Value, false
		if s, ok := fv.(string); ok && strings.HasSuffix(s, "?") {
			fv, optional = strings.TrimSuffix(s, "?"), true
		}
		ftyp, err := parseType(fv)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		t.byName[f.Name] = len(t.Fields)
		t.Fields = append(t.Fields, field{Name: f.Name, Type: ftyp, Optional: optional})
	}
	return t, nil
}

// String renders the type as scripts write it.
func (t *dataType) String() string {
	switch t.Kind {
	case kindRecord:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			opt := ""
			if f.Optional {
				opt = "?"
			}
			parts[i] = fmt.Sprintf("%s: %s%s", f.Name, f.Type, opt)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case kindVector:
		return "vector of " + t.Elem.String()
	case kindSet:
		return "set[" + t.Elem.String() + "]"
	case kindTable:
		return "table[" + t.Key.String() + "] of " + t.Elem.String()
	}
	if int(t.Kind) < len(zeekTypeNames) {
		return zeekTypeNames[t.Kind]
	}
	return "?"
}

// stringLike reports whether Zeek writes values of the type as JSON
// strings (UsesJSONStringType): such table keys are written without
// their quotes and read back from the member name as it is.
func (t *dataType) stringLike() bool {
	switch t.Kind {
	case kindString, kindEnum, kindAddr, kindSubnet, kindInterval:
		return true
	}
	return false
}

// Normalize checks that v has type t and returns it in canonical form
// (see Record, Table, Port, Interval): the form Serialize writes as Zeek
// does and scripts get back.
//
// v is either a Go value as exported from JS or given to the Go API
// (string, int64, float64, bool, nil, map[string]any, []any, [][2]any for
// a Map, Record, Table, Port, Interval), checked with the script-facing
// rules; or what Unserialize returned, decoded with the rules of Zeek's
// own reader (BuildVal in Zeek's src/Val.cc): unknown record members
// ignored, null elements skipped, a null at the top giving no value
// (nil, nil).
func (t *dataType) Normalize(v any) (any, error) {
	switch w := v.(type) {
	case wireString:
		if t.Kind == kindString || t.Kind == kindEnum || t.Kind == kindAny {
			return string(w), nil // the common case, first
		}
		return t.fromWire(string(w))
	case wireInt:
		switch {
		case t.Kind == kindInt || t.Kind == kindAny || t.Kind == kindCount && w >= 0:
			return int64(w), nil
		case t.Kind == kindDouble || t.Kind == kindTime:
			return float64(w), nil
		}
		return t.fromWire(int64(w))
	case *wireValue:
		return t.fromWire(w.v)
	}
	return t.fromGo(v)
}

func (t *dataType) mismatch(v any) error {
	return fmt.Errorf("%s is not of type %s", describe(v), t)
}

// fromGo checks and converts a value given by a script or a Go caller.
func (t *dataType) fromGo(v any) (any, error) {
	switch t.Kind {
	case kindAny:
		return v, nil
	case kindString, kindEnum:
		if _, ok := v.(string); ok {
			return v, nil // as given: re-boxing the string would allocate
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindCount:
		if n, ok := asCount(v); ok {
			return n, nil
		}
	case kindInt:
		if n, ok := asInteger(v); ok {
			return n, nil
		}
	case kindDouble, kindTime:
		if f, ok := asFloat(v); ok {
			return f, nil
		}
		if tm, ok := v.(time.Time); ok && t.Kind == kindTime { // a JS Date
			return float64(tm.UnixNano()) / 1e9, nil
		}
	case kindInterval:
		switch x := v.(type) {
		case Interval:
			return x, nil
		case string:
			secs, err := parseZeekIntervalText(x)
			if err != nil {
				return nil, fmt.Errorf("interval %q: %w", x, err)
			}
			return Interval(secs), nil
		}
		if f, ok := asFloat(v); ok {
			return Interval(f), nil
		}
	case kindPort:
		switch x := v.(type) {
		case Port:
			if validProto(x.Proto) && x.Number <= 65535 {
				return x, nil
			}
		case string:
			return parsePort(x)
		case map[string]any:
			return portFromObject(x["port"], x["proto"])
		}
	case kindAddr:
		if s, ok := v.(string); ok {
			return normalizeAddr(s)
		}
	case kindSubnet:
		if s, ok := v.(string); ok {
			return normalizeSubnet(s)
		}
	case kindRecord:
		switch x := v.(type) {
		case map[string]any:
			return t.recordFromMap(x)
		case Record:
			return t.recordFromRecord(x)
		}
	case kindVector:
		if list, ok := v.([]any); ok {
			out := make([]any, len(list))
			for i, e := range list {
				nv, err := t.Elem.fromGo(e)
				if err != nil {
					return nil, fmt.Errorf("vector element %d: %w", i, err)
				}
				out[i] = nv
			}
			return out, nil
		}
	case kindSet:
		if list, ok := v.([]any); ok {
			var d deduper
			out := make([]any, 0, len(list))
			for i, e := range list {
				nv, err := t.Elem.fromGo(e)
				if err != nil {
					return nil, fmt.Errorf("set element %d: %w", i, err)
				}
				if _, dup := d.seen(nv, len(out)); !dup {
					out = append(out, nv)
				}
			}
			return out, nil
		}
	case kindTable:
		return t.tableFromGo(v)
	}
	return nil, t.mismatch(v)
}

func portFromObject(num, proto any) (any, error) {
	n, ok := portNumber(num)
	p, _ := proto.(string)
	if !ok || !validProto(p) {
		return nil, fmt.Errorf("a port object needs port (0-65535) and proto (tcp, udp, icmp or unknown)")
	}
	return Port{Number: n, Proto: p}, nil
}

func (t *dataType) recordFromMap(m map[string]any) (any, error) {
	out := make(Record, 0, len(t.Fields))
	seen := 0
	for _, f := range t.Fields {
		fv, present := m[f.Name]
		if present {
			seen++
		}
		if fv == nil && f.Type.Kind != kindAny || !present {
			if f.Optional {
				continue
			}
			return nil, fmt.Errorf("record field %q is missing", f.Name)
		}
		nv, err := f.Type.fromGo(fv)
		if err != nil {
			return nil, fmt.Errorf("record field %q: %w", f.Name, err)
		}
		out = append(out, Field{Name: f.Name, Value: nv})
	}
	if seen != len(m) {
		for name := range m {
			if _, declared := t.byName[name]; !declared {
				return nil, fmt.Errorf("record has undeclared field %q", name)
			}
		}
	}
	return out, nil
}

func (t *dataType) recordFromRecord(r Record) (any, error) {
	for _, f := range r {
		if _, declared := t.byName[f.Name]; !declared {
			return nil, fmt.Errorf("record has undeclared field %q", f.Name)
		}
	}
	out := make(Record, 0, len(t.Fields))
	for _, f := range t.Fields {
		fv, present := r.Get(f.Name)
		if fv == nil && f.Type.Kind != kindAny || !present {
			if f.Optional {
				continue
			}
			return nil, fmt.Errorf("record field %q is missing", f.Name)
		}
		nv, err := f.Type.fromGo(fv)
		if err != nil {
			return nil, fmt.Errorf("record field %q: %w", f.Name, err)
		}
		out = append(out, Field{Name: f.Name, Value: nv})
	}
	return out, nil
}

// tableFromGo accepts a Map (exported as [][2]any), a Table, or a plain
// object whose member names are keys (written as a script would write
// the key, or as Zeek writes it in JSON).
func (t *dataType) tableFromGo(v any) (any, error) {
	var out Table
	var d deduper
	add := func(k, val any, what string) error {
		nk, err := t.Key.fromGo(k)
		if err != nil {
			return fmt.Errorf("table key %s: %w", what, err)
		}
		nv, err := t.Elem.fromGo(val)
		if err != nil {
			return fmt.Errorf("table value for key %s: %w", what, err)
		}
		if i, dup := d.seen(nk, len(out)); dup {
			out[i].Value = nv
		} else {
			out = append(out, TableEntry{Key: nk, Value: nv})
		}
		return nil
	}
	switch x := v.(type) {
	case [][2]any:
		out = make(Table, 0, len(x))
		for i, e := range x {
			if err := add(e[0], e[1], fmt.Sprint(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case Table:
		out = make(Table, 0, len(x))
		for i, e := range x {
			if err := add(e.Key, e.Value, fmt.Sprint(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		out = make(Table, 0, len(x))
		for _, name := range names {
			var k any = name
			if !t.Key.stringLike() {
				// A member name is the key's JSON text ("1", "true",
				// "{\"port\":80,...}") or a script's text ("80/tcp").
				if node, err := parseJSON([]byte(name)); err == nil {
					if nk, err := t.Key.fromWire(node); err == nil && nk != nil {
						k = nk
					}
				}
			}
			if err := add(k, x[name], fmt.Sprintf("%q", name)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, t.mismatch(v)
}

// deduper finds repeated set elements and table keys by their serialized
// form (equal normalized values serialize to equal bytes).
type deduper struct {
	ids map[string]int
	buf []byte
}

// seen records the element at position i and reports the position of an
// equal earlier one.
func (d *deduper) seen(v any, i int) (int, bool) {
	var err error
	d.buf, err = appendValue(d.buf[:0], v)
	if err != nil {
		return 0, false
	}
	if d.ids == nil {
		d.ids = map[string]int{}
	}
	if j, ok := d.ids[string(d.buf)]; ok {
		return j, true
	}
	d.ids[string(d.buf)] = i
	return 0, false
}

// fromWire decodes a parsed JSON node (string, int64, uint64, float64,
// bool, nil, []any, *wireObject) the way Zeek's BuildVal does. nil with
// no error means "no value" (a JSON null).
func (t *dataType) fromWire(j any) (any, error) {
	if j == nil {
		return nil, nil
	}
	switch t.Kind {
	case kindAny:
		return wireToGo(j), nil
	// Values that are already in their canonical form are returned as the
	// same interface value (no new allocation).
	case kindBool:
		if _, ok := j.(bool); ok {
			return j, nil
		}
	case kindInt:
		if _, ok := j.(int64); ok {
			return j, nil
		}
	case kindCount:
		switch n := j.(type) {
		case int64:
			if n >= 0 {
				return j, nil
			}
		case uint64:
			if n <= math.MaxInt64 {
				return int64(n), nil
			}
			return j, nil
		}
	case kindDouble, kindTime:
		if _, ok := j.(float64); ok {
			return j, nil
		}
		if f, ok := wireNumber(j); ok {
			return f, nil
		}
	case kindInterval:
		if f, ok := wireNumber(j); ok {
			return Interval(f), nil
		}
		if s, ok := j.(string); ok {
			secs, err := parseZeekIntervalText(s)
			if err != nil {
				return nil, err
			}
			return Interval(secs), nil
		}
	case kindPort:
		switch x := j.(type) {
		case string:
			p, err := parsePort(x)
			if err != nil {
				return nil, fmt.Errorf(`wrong port format, string must be /[0-9]{1,5}\/(tcp|udp|icmp|unknown)/`)
			}
			return p, nil
		case *wireObject:
			num, okN := x.get("port")
			proto, okP := x.get("proto")
			if !okN || !okP {
				return nil, fmt.Errorf("wrong port format, object must have 'port' and 'proto' members")
			}
			if _, ok := wireNumber(num); !ok {
				return nil, fmt.Errorf("wrong port format, port must be a number")
			}
			p, ok := proto.(string)
			if !ok {
				return nil, fmt.Errorf("wrong port format, protocol must be a string")
			}
			if !validProto(p) {
				return nil, fmt.Errorf("wrong port format, invalid protocol string")
			}
			n, ok := portNumber(num)
			if !ok {
				return nil, fmt.Errorf("wrong port format, port must be 0-65535")
			}
			return Port{Number: n, Proto: p}, nil
		}
		return nil, fmt.Errorf("wrong port format, must be string or object")
	case kindAddr, kindSubnet:
		if s, ok := j.(string); ok {
			var out string
			var err error
			if t.Kind == kindAddr {
				out, err = normalizeAddr(s)
			} else {
				out, err = normalizeSubnet(s)
			}
			if err != nil {
				return nil, fmt.Errorf("invalid value for %s: '%s'", zeekTypeNames[t.Kind], s)
			}
			if out == s {
				return j, nil
			}
			return out, nil
		}
	case kindString, kindEnum:
		if _, ok := j.(string); ok {
			return j, nil
		}
	case kindSet:
		if list, ok := j.([]any); ok {
			var d deduper
			out := make([]any, 0, len(list))
			for _, e := range list {
				nv, err := t.Elem.fromWire(e)
				if err != nil {
					return nil, err
				}
				if nv == nil {
					continue
				}
				if _, dup := d.seen(nv, len(out)); !dup {
					out = append(out, nv)
				}
			}
			return out, nil
		}
	case kindTable:
		if o, ok := j.(*wireObject); ok {
			out := make(Table, 0, len(o.names))
			var d deduper
			for i, name := range o.names {
				var k any
				var err error
				if t.Key.stringLike() {
					k, err = t.Key.fromWire(name)
				} else if node, perr := parseJSON([]byte(name)); perr == nil {
					k, err = t.Key.fromWire(node)
				} // else: Zeek parses it to a null document and skips it
				if err != nil {
					return nil, err
				}
				if k == nil {
					continue
				}
				v, err := t.Elem.fromWire(o.vals[i])
				if err != nil {
					return nil, err
				}
				if v == nil && t.Elem.Kind != kindAny {
					continue
				}
				if at, dup := d.seen(k, len(out)); dup {
					out[at].Value = v
				} else {
					out = append(out, TableEntry{Key: k, Value: v})
				}
			}
			return out, nil
		}
	case kindRecord:
		if o, ok := j.(*wireObject); ok {
			out := make(Record, 0, len(t.Fields))
			for _, f := range t.Fields {
				fj, present := o.get(f.Name)
				if fj == nil && present && f.Type.Kind == kindAny {
					out = append(out, Field{Name: f.Name}) // null is a value of type any
					continue
				}
				if fj == nil {
					if !f.Optional {
						state := "missing"
						if present {
							state = "null"
						}
						return nil, fmt.Errorf("required field %s is %s in JSON", f.Name, state)
					}
					continue
				}
				v, err := f.Type.fromWire(fj)
				if err != nil {
					return nil, err
				}
				out = append(out, Field{Name: f.Name, Value: v})
			}
			return out, nil
		}
	case kindVector:
		if list, ok := j.([]any); ok {
			out := make([]any, 0, len(list))
			for _, e := range list {
				v, err := t.Elem.fromWire(e)
				if err != nil {
					return nil, err
				}
				if v != nil || t.Elem.Kind == kindAny { // Zeek skips nulls: holes are not kept
					out = append(out, v)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("cannot convert JSON type '%s' to Zeek type '%s'", wireTypeName(j), zeekTypeNames[t.Kind])
}

// equal reports whether two normalized values of type t are the same
// value: sets and tables regardless of order, records field by field,
// numbers by value (0.0 equals -0.0, as in Zeek); for type any, deep
// equality. (For compare-and-swap: "value equality under val_type".)
func (t *dataType) equal(a, b any) bool {
	switch t.Kind {
	case kindAny:
		return reflect.DeepEqual(a, b)
	case kindDouble, kindTime:
		x, okA := asFloat(a)
		y, okB := asFloat(b)
		return okA && okB && x == y
	case kindInterval:
		x, okA := a.(Interval)
		y, okB := b.(Interval)
		return okA && okB && x == y
	case kindRecord:
		x, okA := a.(Record)
		y, okB := b.(Record)
		if !okA || !okB || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Name != y[i].Name || !t.Fields[t.byName[x[i].Name]].Type.equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case kindVector, kindSet:
		x, okA := a.([]any)
		y, okB := b.([]any)
		if !okA || !okB || len(x) != len(y) {
			return false
		}
		if t.Kind == kindVector {
			for i := range x {
				if !t.Elem.equal(x[i], y[i]) {
					return false
				}
			}
			return true
		}
		var d deduper
		for i, e := range x {
			d.seen(e, i)
		}
		for _, e := range y {
			if _, found := d.seen(e, -1); !found {
				return false
			}
		}
		return true
	case kindTable:
		x, okA := a.(Table)
		y, okB := b.(Table)
		if !okA || !okB || len(x) != len(y) {
			return false
		}
		var d deduper
		for i, e := range x {
			d.seen(e.Key, i)
		}
		for _, e := range y {
			i, found := d.seen(e.Key, -1)
			if !found || !t.Elem.equal(x[i].Value, e.Value) {
				return false
			}
		}
		return true
	}
	return a == b
}

func wireTypeName(j any) string {
	switch j.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case *wireObject:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case int64, uint64, float64:
		return "number"
	}
	return "unknown"
}

func wireNumber(j any) (float64, bool) {
	switch n := j.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// wireToGo turns a parsed JSON node into the plain Go values type any
// has always returned: map[string]any, []any, int64 (float64 for other
// numbers), string, bool, nil.
func wireToGo(j any) any {
	switch x := j.(type) {
	case *wireObject:
		m := make(map[string]any, len(x.names))
		for i, name := range x.names {
			if _, dup := m[name]; !dup { // the first of repeated members, as Zeek
				m[name] = wireToGo(x.vals[i])
			}
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wireToGo(e)
		}
		return out
	case uint64:
		return float64(x)
	}
	return j
}

func asInteger(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case uint64:
		return float64(x), true
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
	case int64, int, uint64, float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case map[string]any, Record:
		return "an object"
	case []any:
		return "an array"
	case [][2]any, Table:
		return "a Map"
	}
	return fmt.Sprintf("%T", v)
}
