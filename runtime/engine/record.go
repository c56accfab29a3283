package engine

import (
	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/input"
)

// recordObject presents an input record to scripts as an ordinary object
// whose keys keep the file's field order. Values are converted to JS on
// first access, so handlers pay only for the fields they read.
type recordObject struct {
	vm    *goja.Runtime
	names []string
	raw   []any
	vals  []goja.Value // converted, nil until first access
}

func newRecordValue(vm *goja.Runtime, r *input.Record) goja.Value {
	if r == nil {
		return goja.Undefined()
	}
	o := &recordObject{vm: vm, names: make([]string, len(r.Fields)), raw: make([]any, len(r.Fields)), vals: make([]goja.Value, len(r.Fields))}
	for i, f := range r.Fields {
		o.names[i] = f.Name
		o.raw[i] = f.Value
	}
	return vm.NewDynamicObject(o)
}

func (o *recordObject) index(key string) int {
	for i, n := range o.names {
		if n == key {
			return i
		}
	}
	return -1
}

func (o *recordObject) Get(key string) goja.Value {
	i := o.index(key)
	if i < 0 {
		return nil
	}
	if o.vals[i] == nil {
		o.vals[i] = toJS(o.vm, o.raw[i])
		o.raw[i] = nil
	}
	return o.vals[i]
}

func (o *recordObject) Set(key string, val goja.Value) bool {
	if i := o.index(key); i >= 0 {
		o.vals[i] = val
		o.raw[i] = nil
		return true
	}
	o.names = append(o.names, key)
	o.raw = append(o.raw, nil)
	o.vals = append(o.vals, val)
	return true
}

func (o *recordObject) Has(key string) bool { return o.index(key) >= 0 }

func (o *recordObject) Delete(key string) bool {
	i := o.index(key)
	if i < 0 {
		return true
	}
	o.names = append(o.names[:i], o.names[i+1:]...)
	o.raw = append(o.raw[:i], o.raw[i+1:]...)
	o.vals = append(o.vals[:i], o.vals[i+1:]...)
	return true
}

func (o *recordObject) Keys() []string { return o.names }

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
