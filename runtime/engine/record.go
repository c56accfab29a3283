package engine

import (
	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/input"
)

// recordObject presents an input record to scripts as an ordinary object
// whose keys keep the file's field order. Making one costs only the object
// itself: the record's fields are read where the parser left them (a
// Record is immutable, so sharing it is safe), and values are converted to
// JS on first access, so handlers pay only for the fields they read — a
// handler that reads none pays for none.
//
// Until a script adds or deletes a key, names and raw are nil and the
// fields are rec's; the first such change copies them (edit).
type recordObject struct {
	vm    *goja.Runtime
	rec   *input.Record
	vals  []goja.Value // converted (or assigned) values by position; nil until the first
	names []string     // after edit: the keys in order
	raw   []any        // after edit: the unconverted values (nil once converted)
}

func newRecordValue(vm *goja.Runtime, r *input.Record) goja.Value {
	if r == nil {
		return goja.Undefined()
	}
	return vm.NewDynamicObject(&recordObject{vm: vm, rec: r})
}

func (o *recordObject) edited() bool { return o.names != nil }

func (o *recordObject) len() int {
	if o.edited() {
		return len(o.names)
	}
	return len(o.rec.Fields)
}

func (o *recordObject) index(key string) int {
	if o.edited() {
		for i, n := range o.names {
			if n == key {
				return i
			}
		}
		return -1
	}
	for i := range o.rec.Fields {
		if o.rec.Fields[i].Name == key {
			return i
		}
	}
	return -1
}

// edit gives o its own copy of the keys and values, so they can change.
func (o *recordObject) edit() {
	if o.edited() {
		return
	}
	n := len(o.rec.Fields)
	o.names = make([]string, n, n+1) // never nil, even for an empty record
	o.raw = make([]any, n, n+1)
	for i, f := range o.rec.Fields {
		o.names[i] = f.Name
		o.raw[i] = f.Value
	}
	vals := make([]goja.Value, n, n+1)
	copy(vals, o.vals)
	o.vals = vals
	o.rec = nil
}

func (o *recordObject) Get(key string) goja.Value {
	i := o.index(key)
	if i < 0 {
		return nil
	}
	if o.vals == nil {
		o.vals = make([]goja.Value, o.len())
	}
	if o.vals[i] == nil {
		if o.edited() {
			o.vals[i] = toJS(o.vm, o.raw[i])
			o.raw[i] = nil
		} else {
			o.vals[i] = toJS(o.vm, o.rec.Fields[i].Value)
		}
	}
	return o.vals[i]
}

func (o *recordObject) Set(key string, val goja.Value) bool {
	if i := o.index(key); i >= 0 {
		if o.vals == nil {
			o.vals = make([]goja.Value, o.len())
		}
		o.vals[i] = val
		if o.edited() {
			o.raw[i] = nil
		}
		return true
	}
	o.edit()
	o.names = append(o.names, key)
	o.raw = append(o.raw, nil)
	o.vals = append(o.vals, val)
	return true
}

func (o *recordObject) Has(key string) bool { return o.index(key) >= 0 }

// Delete builds new slices rather than shifting in place: Keys handed out
// earlier (an enumeration in progress) must not change under their holder.
func (o *recordObject) Delete(key string) bool {
	i := o.index(key)
	if i < 0 {
		return true
	}
	o.edit()
	o.names = cut(o.names, i)
	o.raw = cut(o.raw, i)
	o.vals = cut(o.vals, i)
	return true
}

// cut returns a new slice holding s without its element i.
func cut[T any](s []T, i int) []T {
	out := make([]T, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

func (o *recordObject) Keys() []string {
	if o.edited() {
		return o.names
	}
	keys := make([]string, len(o.rec.Fields))
	for i := range o.rec.Fields {
		keys[i] = o.rec.Fields[i].Name
	}
	return keys
}

// toJS converts a parsed input value to a JS value.
func toJS(vm *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case string:
		if ts, ok := input.ZeekTime(x); ok {
			return vm.ToValue(ts) // time values are epoch seconds in every format
		}
		return vm.ToValue(x)
	case float64:
		return vm.ToValue(x)
	case bool:
		return vm.ToValue(x)
	case []any:
		items := make([]any, len(x))
		for i, it := range x {
			items[i] = toJS(vm, it)
		}
		return vm.NewArray(items...)
	case *input.Record:
		return newRecordValue(vm, x)
	}
	return vm.ToValue(v)
}
