package storagejs

import (
	"sort"
	"strconv"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/storagefw"
)

// Conversions between script values and the framework's Go values.
//
// Keys and values go to the framework as goja exports them (objects as
// map[string]any, arrays and Sets as []any, Maps as [][2]any): the
// declared type puts record fields in order. Type arguments of
// open_backend keep the order of a record shape's fields, which is the
// declared order Zeek writes records in. Values coming back become plain
// JS values: records as objects with their fields in declared order
// (unset optional fields absent), tables as Maps, ports as "80/tcp",
// intervals as seconds.

// exportType exports a key_type/val_type argument, record shapes as
// storagefw.Record so that their field order survives.
func exportType(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	return exportOrdered(v)
}

func exportOrdered(v goja.Value) any {
	obj, ok := v.(*goja.Object)
	if !ok {
		return v.Export()
	}
	switch obj.ClassName() {
	case "Object":
		keys := obj.Keys()
		rec := make(storagefw.Record, len(keys))
		for i, k := range keys {
			rec[i] = storagefw.Field{Name: k, Value: exportOrdered(obj.Get(k))}
		}
		return rec
	case "Array":
		n := obj.Get("length").ToInteger()
		list := make([]any, n)
		for i := int64(0); i < n; i++ {
			list[i] = exportOrdered(obj.Get(strconv.FormatInt(i, 10)))
		}
		return list
	}
	return v.Export()
}

// exportArg exports a key or value argument.
func exportArg(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	return v.Export()
}

// toJS converts framework values to plain JS values.
func (b *binding) toJS(v any) goja.Value {
	switch x := v.(type) {
	case string:
		return b.vm.ToValue(x)
	case int64:
		return b.vm.ToValue(x)
	case float64:
		return b.vm.ToValue(x)
	case bool:
		return b.vm.ToValue(x)
	case nil:
		return goja.Null()
	case storagefw.Record:
		o := b.vm.NewObject()
		for _, f := range x {
			_ = o.Set(f.Name, b.toJS(f.Value))
		}
		return o
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = b.toJS(e)
		}
		return b.vm.NewArray(items...)
	case storagefw.Table:
		return b.newMap(x)
	case storagefw.Port:
		return b.vm.ToValue(x.String())
	case storagefw.Interval:
		return b.vm.ToValue(float64(x))
	case map[string]any:
		// Objects inside values of type any (and event options): keys sorted.
		o := b.vm.NewObject()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, b.toJS(x[k]))
		}
		return o
	}
	return b.vm.ToValue(v)
}

// newMap builds a JS Map with the table's entries in order.
func (b *binding) newMap(t storagefw.Table) goja.Value {
	m, err := b.vm.New(b.vm.Get("Map"))
	if err != nil {
		panic(b.vm.NewTypeError("Storage: cannot create a Map: %v", err))
	}
	set, ok := goja.AssertFunction(m.Get("set"))
	if !ok {
		panic(b.vm.NewTypeError("Storage: Map.prototype.set is not a function"))
	}
	for _, e := range t {
		if _, err := set(m, b.toJS(e.Key), b.toJS(e.Value)); err != nil {
			panic(err)
		}
	}
	return m
}
