package input

// Record is one parsed record with its fields in file order.
//
// A Record and everything reachable from it is immutable once handed out:
// neither the parser nor the Reader changes it afterwards, and its strings
// never alias a buffer that is reused. Records produced by one parser may
// share backing arrays (their Fields slices have their capacity capped, so
// appending to one never writes into another).
//
// Field names are unique: a JSON object with a repeated key yields one
// field, at the position of the key's first occurrence, holding the value
// of its last, as JavaScript's JSON.parse does (encoding/json keeps the
// last value too).
type Record struct {
	Fields []Field
}

// Field is one named value of a [Record].
//
// Value is one of: nil (JSON null, or an unset element of a Zeek container),
// string, float64, bool, []any (whose elements are these same types), or
// *Record (a nested JSON object). An unset Zeek TSV field ("-") is absent
// from the record rather than present with a nil value.
type Field struct {
	Name  string
	Value any
}

// Get returns the value of the field called name. Names are unique, so it
// searches from the front, where Zeek puts the fields the reader looks up
// for every record (_path, ts).
func (r *Record) Get(name string) (any, bool) {
	if r == nil {
		return nil, false
	}
	for i := range r.Fields {
		if r.Fields[i].Name == name {
			return r.Fields[i].Value, true
		}
	}
	return nil, false
}

// Len returns the number of fields.
func (r *Record) Len() int {
	if r == nil {
		return 0
	}
	return len(r.Fields)
}
