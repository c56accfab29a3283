package globals

import (
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// This file renders values for console.log as Node.js 20 does: a port of
// util.format and util.inspect (lib/internal/util/inspect.js) with Node's
// default options — depth 2, 80 columns, compact 3, 100 array items,
// 10,000 string characters, no colours — so that Map, Set, class
// instances, errors, typed arrays, holes, cycles and nested values print
// the same in both. Left out: colours, showHidden's prototype properties,
// previews of Map/Set iterators (their entries cannot be read without
// consuming them), and proxies' targets are shown as Node shows them by
// default (the target, no trap called).

// formatConsole formats console.log arguments as Node's util.format does:
// a leading string may hold %s %d %i %f %j %o %O %c %% directives; other
// arguments follow separated by spaces, strings as-is, other values
// inspected ({ a: 1, b: 'x' }).
func formatConsole(vm *goja.Runtime, args []goja.Value) string {
	if len(args) == 0 {
		return ""
	}
	first, firstIsString := stringValue(args[0])
	if firstIsString && len(args) == 1 {
		return first
	}
	var str strings.Builder
	a := 0
	join := ""
	if firstIsString {
		lastPos := 0
		// Indexes are bytes; every directive is ASCII.
		for i := 0; i < len(first)-1; i++ {
			if first[i] != '%' {
				continue
			}
			i++
			next := first[i]
			if a+1 != len(args) {
				var temp string
				switch next {
				case 's':
					a++
					temp = formatS(vm, args[a])
				case 'j':
					a++
					temp = formatJ(vm, args[a])
				case 'd':
					a++
					temp = formatD(vm, args[a])
				case 'O':
					a++
					temp = Inspect(vm, args[a], InspectOptions{})
				case 'o':
					a++
					temp = Inspect(vm, args[a], InspectOptions{ShowHidden: true, Depth: 4})
				case 'i':
					a++
					temp = formatIF(vm, args[a], "parseInt")
				case 'f':
					a++
					temp = formatIF(vm, args[a], "parseFloat")
				case 'c':
					a++
					temp = ""
				case '%':
					str.WriteString(first[lastPos:i])
					lastPos = i + 1
					continue
				default:
					continue
				}
				if lastPos != i-1 {
					str.WriteString(first[lastPos : i-1])
				}
				str.WriteString(temp)
				lastPos = i + 1
			} else if next == '%' {
				str.WriteString(first[lastPos:i])
				lastPos = i + 1
			}
		}
		if lastPos != 0 {
			a++
			join = " "
			if lastPos < len(first) {
				str.WriteString(first[lastPos:])
			}
		}
	}
	for ; a < len(args); a++ {
		str.WriteString(join)
		if s, ok := stringValue(args[a]); ok {
			str.WriteString(s)
		} else {
			str.WriteString(Inspect(vm, args[a], InspectOptions{}))
		}
		join = " "
	}
	return str.String()
}

func stringValue(v goja.Value) (string, bool) {
	if v == nil || !goja.IsString(v) {
		return "", false
	}
	return v.String(), true
}

// formatS is %s: numbers and BigInts as inspect writes them, objects with
// only built-in toString methods inspected to depth 0, anything else
// String(v).
func formatS(vm *goja.Runtime, v goja.Value) string {
	if goja.IsNumber(v) {
		return formatNumber(v)
	}
	if goja.IsBigInt(v) {
		return v.String() + "n"
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return primitiveString(v)
	}
	c := newInspector(vm, InspectOptions{Depth: 0})
	if !c.hasBuiltInToString(o) {
		return o.String()
	}
	return c.inspect(v)
}

func formatJ(vm *goja.Runtime, v goja.Value) string {
	s, err := jsonStringify(vm)(goja.Undefined(), v)
	if err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) && strings.Contains(ex.Error(), "circular") {
			return "[Circular]"
		}
		panic(err)
	}
	if s == nil || goja.IsUndefined(s) {
		return "undefined"
	}
	return s.String()
}

func formatD(vm *goja.Runtime, v goja.Value) string {
	switch {
	case goja.IsBigInt(v):
		return v.String() + "n"
	case isSymbol(v):
		return "NaN"
	}
	return formatNumber(v.ToNumber())
}

// formatIF is %i (parseInt) and %f (parseFloat).
func formatIF(vm *goja.Runtime, v goja.Value, parse string) string {
	if parse == "parseInt" && goja.IsBigInt(v) {
		return v.String() + "n"
	}
	if isSymbol(v) {
		return "NaN"
	}
	fn, ok := goja.AssertFunction(vm.Get(parse))
	if !ok {
		return "NaN"
	}
	n, err := fn(goja.Undefined(), v)
	if err != nil {
		panic(err)
	}
	return formatNumber(n)
}

func isSymbol(v goja.Value) bool {
	_, ok := v.(*goja.Symbol)
	return ok
}

// InspectOptions are util.inspect's options that scriptd supports; the
// zero value is Node's defaults (depth 2).
type InspectOptions struct {
	// Depth is how many levels of nesting are shown (0: Node's default
	// of 2; negative: unlimited).
	Depth int
	// ShowHidden adds non-enumerable own properties (as [key]).
	ShowHidden bool
}

// Inspect renders v as Node's util.inspect(v, opts) does.
func Inspect(vm *goja.Runtime, v goja.Value, opts InspectOptions) string {
	if opts.Depth == 0 && !opts.ShowHidden {
		opts.Depth = 2
	}
	return newInspector(vm, opts).inspect(v)
}

const (
	kObjectType = iota
	kArrayType
	kArrayExtrasType
)

const (
	breakLength     = 80
	compactLevel    = 3
	maxArrayLength  = 100
	maxStringLength = 10000
	minLineLength   = 16
)

// inspector is one util.inspect call's context (Node's ctx).
type inspector struct {
	vm             *goja.Runtime
	depth          int // math.MaxInt for unlimited
	showHidden     bool
	seen           []*goja.Object
	circular       map[*goja.Object]int
	indentationLvl int
	currentDepth   int

	gopd          goja.Callable // Object.getOwnPropertyDescriptor
	fnToString    goja.Callable // Function.prototype.toString
	objectProto   *goja.Object
	functionProto *goja.Object
	customSym     *goja.Symbol // Symbol.for('nodejs.util.inspect.custom')
	inspectFn     goja.Value   // util.inspect for custom inspectors, made on demand
}

func newInspector(vm *goja.Runtime, opts InspectOptions) *inspector {
	c := &inspector{vm: vm, depth: opts.Depth, showHidden: opts.ShowHidden}
	if c.depth < 0 {
		c.depth = math.MaxInt
	}
	object := vm.Get("Object").(*goja.Object)
	c.gopd, _ = goja.AssertFunction(object.Get("getOwnPropertyDescriptor"))
	c.objectProto = object.Get("prototype").(*goja.Object)
	if fn, ok := vm.Get("Function").(*goja.Object); ok {
		c.functionProto = fn.Get("prototype").(*goja.Object)
		c.fnToString, _ = goja.AssertFunction(c.functionProto.Get("toString"))
	}
	if sym, ok := vm.Get("Symbol").(*goja.Object); ok {
		if forFn, ok := goja.AssertFunction(sym.Get("for")); ok {
			if s, err := forFn(sym, vm.ToValue("nodejs.util.inspect.custom")); err == nil {
				c.customSym, _ = s.(*goja.Symbol)
			}
		}
	}
	return c
}

func (c *inspector) inspect(v goja.Value) string {
	return c.formatValue(v, 0, false)
}

// call calls fn, rethrowing a JS exception into the calling script.
func (c *inspector) call(fn goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	v, err := fn(this, args...)
	if err != nil {
		panic(err)
	}
	return v
}

// propKey is a property key: a string or a symbol.
type propKey struct {
	name string
	sym  *goja.Symbol
}

func (k propKey) value(vm *goja.Runtime) goja.Value {
	if k.sym != nil {
		return k.sym
	}
	return vm.ToValue(k.name)
}

// descriptor is an own property's descriptor; ok is false if there is no
// such own property.
type descriptor struct {
	ok                    bool
	value, get, set       goja.Value
	enumerable, hasAccess bool
}

func (c *inspector) ownProperty(o *goja.Object, k propKey) descriptor {
	d := c.call(c.gopd, goja.Undefined(), o, k.value(c.vm))
	do, isObj := d.(*goja.Object)
	if !isObj {
		return descriptor{}
	}
	get, set := do.Get("get"), do.Get("set")
	return descriptor{
		ok: true, value: do.Get("value"), get: get, set: set,
		enumerable: do.Get("enumerable").ToBoolean(),
		hasAccess:  (get != nil && !goja.IsUndefined(get)) || (set != nil && !goja.IsUndefined(set)),
	}
}

func (c *inspector) hasOwn(o *goja.Object, name string) bool {
	return c.ownProperty(o, propKey{name: name}).ok
}

func (c *inspector) get(o *goja.Object, k propKey) goja.Value {
	var v goja.Value
	if k.sym != nil {
		v = o.GetSymbol(k.sym)
	} else {
		v = o.Get(k.name)
	}
	if v == nil {
		return goja.Undefined()
	}
	return v
}

func isUndef(v goja.Value) bool { return v == nil || goja.IsUndefined(v) }

var (
	proxyType    = reflect.TypeOf(goja.Proxy{})
	mapType      = reflect.TypeOf([][2]any{})
	setType      = reflect.TypeOf([]any{})
	promiseType  = reflect.TypeOf((*goja.Promise)(nil))
	bufferType   = reflect.TypeOf(goja.ArrayBuffer{})
	bigIntType   = reflect.TypeOf((*big.Int)(nil))
	stringType   = reflect.TypeOf("")
	typedArrayOf = map[reflect.Type]bool{
		reflect.TypeOf([]int8{}): true, reflect.TypeOf([]uint8{}): true, reflect.TypeOf([]int16{}): true,
		reflect.TypeOf([]uint16{}): true, reflect.TypeOf([]int32{}): true, reflect.TypeOf([]uint32{}): true,
		reflect.TypeOf([]float32{}): true, reflect.TypeOf([]float64{}): true, reflect.TypeOf([]int64{}): true,
		reflect.TypeOf([]uint64{}): true,
	}
)

func (c *inspector) formatValue(v goja.Value, recurseTimes int, typedArray bool) string {
	o, ok := v.(*goja.Object)
	if !ok {
		return c.formatPrimitive(v)
	}
	context := o
	if o.ExportType() == proxyType {
		p, _ := o.Export().(goja.Proxy)
		t := p.Target()
		if t == nil {
			return "<Revoked Proxy>"
		}
		o = t
	}
	if c.customSym != nil {
		if fn, ok := goja.AssertFunction(o.GetSymbol(c.customSym)); ok && !c.isPrototypeObject(o) {
			depth := goja.Value(goja.Null())
			if c.depth != math.MaxInt {
				depth = c.vm.ToValue(c.depth - recurseTimes)
			}
			opts := c.vm.NewObject()
			_ = opts.Set("depth", depth)
			ret := c.call(fn, context, depth, opts, c.inspectFunc())
			if ret != goja.Value(context) {
				if s, ok := stringValue(ret); ok {
					return strings.ReplaceAll(s, "\n", "\n"+spaces(c.indentationLvl))
				}
				return c.formatValue(ret, recurseTimes, false)
			}
		}
	}
	for _, s := range c.seen {
		if s == o {
			if c.circular == nil {
				c.circular = make(map[*goja.Object]int)
			}
			idx, ok := c.circular[o]
			if !ok {
				idx = len(c.circular) + 1
				c.circular[o] = idx
			}
			return "[Circular *" + strconv.Itoa(idx) + "]"
		}
	}
	return c.formatRaw(o, recurseTimes, typedArray)
}

// isPrototypeObject: value.constructor && value.constructor.prototype === value.
func (c *inspector) isPrototypeObject(o *goja.Object) bool {
	ctor, ok := o.Get("constructor").(*goja.Object)
	return ok && ctor.Get("prototype") == goja.Value(o)
}

// inspectFunc is the util.inspect handed to custom inspectors.
func (c *inspector) inspectFunc() goja.Value {
	if c.inspectFn == nil {
		vm := c.vm
		c.inspectFn = vm.ToValue(func(call goja.FunctionCall) goja.Value {
			opts := InspectOptions{}
			if o, ok := call.Argument(1).(*goja.Object); ok {
				if d := o.Get("depth"); d != nil && !goja.IsUndefined(d) {
					if goja.IsNull(d) || math.IsInf(d.ToFloat(), 1) {
						opts.Depth = -1
					} else if opts.Depth = int(d.ToInteger()); opts.Depth == 0 {
						opts.ShowHidden = o.Get("showHidden") != nil && o.Get("showHidden").ToBoolean()
						return vm.ToValue(newInspector(vm, InspectOptions{Depth: 0, ShowHidden: opts.ShowHidden}).inspect(call.Argument(0)))
					}
				}
				if sh := o.Get("showHidden"); sh != nil {
					opts.ShowHidden = sh.ToBoolean()
				}
			}
			return vm.ToValue(Inspect(vm, call.Argument(0), opts))
		})
	}
	return c.inspectFn
}

// kind is what formatRaw distinguishes.
type kind int

const (
	kindOther kind = iota
	kindArray
	kindSet
	kindMap
	kindTypedArray
	kindIterator
	kindFunction
	kindArguments
	kindRegExp
	kindDate
	kindError
	kindArrayBuffer
	kindDataView
	kindPromise
	kindWeak
	kindBoxed
)

func (c *inspector) kindOf(o *goja.Object, tag string) kind {
	if _, ok := goja.AssertFunction(o); ok {
		return kindFunction
	}
	switch o.ClassName() {
	case "Array":
		return kindArray
	case "Arguments":
		return kindArguments
	case "RegExp":
		return kindRegExp
	case "Date":
		return kindDate
	case "Error":
		return kindError
	case "Number", "String", "Boolean":
		return kindBoxed
	}
	t := o.ExportType()
	switch {
	case t == mapType:
		return kindMap
	case t == setType:
		return kindSet
	case typedArrayOf[t]:
		return kindTypedArray
	case t == bufferType:
		return kindArrayBuffer
	case t == promiseType:
		return kindPromise
	case t == bigIntType, t == stringType:
		return kindBoxed
	}
	switch c.internalTag(o) {
	case "Map Iterator", "Set Iterator":
		return kindIterator
	case "DataView":
		return kindDataView
	case "WeakMap", "WeakSet":
		return kindWeak
	}
	return kindOther
}

// internalTag is o's Symbol.toStringTag wherever it is defined.
func (c *inspector) internalTag(o *goja.Object) string {
	if s, ok := stringValue(o.GetSymbol(goja.SymToStringTag)); ok {
		return s
	}
	return ""
}

func (c *inspector) formatRaw(o *goja.Object, recurseTimes int, typedArray bool) string {
	constructor, isNull := c.getConstructorName(o, recurseTimes)
	tag := c.internalTag(o)
	if tag != "" {
		d := c.ownProperty(o, propKey{sym: goja.SymToStringTag})
		if c.showHidden && d.ok || !c.showHidden && d.ok && d.enumerable {
			tag = ""
		}
	}
	base := ""
	var keys []propKey
	var formatter func(recurseTimes int) []string
	braces := [2]string{"{", "}"}
	extrasType := kObjectType
	var numeric func(i int) bool // for grouping: is value[i] a number

	k := c.kindOf(o, tag)
	switch k {
	case kindArray:
		length := c.length(o)
		prefix := ""
		if constructor != "Array" || isNull || tag != "" {
			prefix = getPrefix(constructor, isNull, tag, "Array", "("+strconv.Itoa(length)+")")
		}
		keys = c.nonIndexKeys(o, length)
		braces = [2]string{prefix + "[", "]"}
		if length == 0 && len(keys) == 0 {
			return braces[0] + "]"
		}
		extrasType = kArrayExtrasType
		formatter = func(rt int) []string { return c.formatArray(o, length, rt) }
		numeric = func(i int) bool {
			v := o.Get(strconv.Itoa(i))
			return v != nil && (goja.IsNumber(v) || goja.IsBigInt(v))
		}
	case kindSet, kindMap:
		size := int(o.Get("size").ToInteger())
		name := "Set"
		if k == kindMap {
			name = "Map"
		}
		prefix := getPrefix(constructor, isNull, tag, name, "("+strconv.Itoa(size)+")")
		keys = c.getKeys(o)
		if size == 0 && len(keys) == 0 {
			return prefix + "{}"
		}
		braces = [2]string{prefix + "{", "}"}
		formatter = func(rt int) []string { return c.formatCollection(o, k == kindMap, size, rt) }
	case kindTypedArray:
		length := c.length(o)
		keys = c.nonIndexKeys(o, length)
		fallback := ""
		if isNull {
			fallback = tag
		}
		prefix := getPrefix(constructor, isNull, tag, fallback, "("+strconv.Itoa(length)+")")
		if constructor == "Buffer" && !isNull {
			return c.formatBuffer(o, length)
		}
		braces = [2]string{prefix + "[", "]"}
		if length == 0 && len(keys) == 0 && !c.showHidden {
			return braces[0] + "]"
		}
		formatter = func(int) []string { return c.formatTypedArray(o, length) }
		extrasType = kArrayExtrasType
		numeric = func(int) bool { return true }
	case kindIterator:
		keys = c.getKeys(o)
		t := "Map Iterator"
		if strings.HasPrefix(tag, "Set") {
			t = "Set Iterator"
		}
		braces = [2]string{"[" + t + "] {", "}"}
		formatter = func(int) []string { return nil }
	default:
		keys = c.getKeys(o)
		switch k {
		case kindFunction:
			base = c.getFunctionBase(o, constructor, isNull, tag)
			if len(keys) == 0 {
				return base
			}
		case kindRegExp:
			base = o.String()
			if prefix := getPrefix(constructor, isNull, tag, "RegExp", ""); prefix != "RegExp " {
				base = prefix + base
			}
			if len(keys) == 0 || recurseTimes > c.depth {
				return base
			}
		case kindDate:
			base = c.dateString(o)
			if prefix := getPrefix(constructor, isNull, tag, "Date", ""); prefix != "Date " {
				base = prefix + base
			}
			if len(keys) == 0 {
				return base
			}
		case kindError:
			base = c.formatError(o, constructor, isNull, tag, &keys)
			if len(keys) == 0 {
				return base
			}
		case kindArrayBuffer:
			prefix := getPrefix(constructor, isNull, tag, "ArrayBuffer", "")
			if !typedArray {
				formatter = func(int) []string { return c.formatArrayBuffer(o) }
			} else if len(keys) == 0 {
				return prefix + "{ byteLength: " + formatNumber(o.Get("byteLength")) + " }"
			}
			braces[0] = prefix + "{"
			keys = append([]propKey{{name: "byteLength"}}, keys...)
		case kindDataView:
			braces[0] = getPrefix(constructor, isNull, tag, "DataView", "") + "{"
			keys = append([]propKey{{name: "byteLength"}, {name: "byteOffset"}, {name: "buffer"}}, keys...)
		case kindPromise:
			braces[0] = getPrefix(constructor, isNull, tag, "Promise", "") + "{"
			formatter = func(rt int) []string { return c.formatPromise(o, rt) }
		case kindWeak:
			braces[0] = getPrefix(constructor, isNull, tag, tag, "") + "{"
			formatter = func(int) []string { return []string{"<items unknown>"} }
		case kindBoxed:
			base = c.getBoxedBase(o, &keys, constructor, isNull, tag)
			if len(keys) == 0 {
				return base
			}
		default:
			if constructor == "Object" && !isNull {
				if k == kindArguments {
					braces[0] = "[Arguments] {"
				} else if tag != "" {
					braces[0] = getPrefix(constructor, isNull, tag, "Object", "") + "{"
				}
				if len(keys) == 0 {
					return braces[0] + "}"
				}
			} else {
				if len(keys) == 0 {
					return c.getCtxStyle(o, constructor, isNull, tag) + "{}"
				}
				braces[0] = c.getCtxStyle(o, constructor, isNull, tag) + "{"
			}
		}
	}

	if recurseTimes > c.depth {
		name := strings.TrimSuffix(c.getCtxStyle(o, constructor, isNull, tag), " ")
		if !isNull {
			name = "[" + name + "]"
		}
		return name
	}
	recurseTimes++
	c.seen = append(c.seen, o)
	c.currentDepth = recurseTimes
	var output []string
	if formatter != nil {
		output = formatter(recurseTimes)
	}
	for _, key := range keys {
		output = append(output, c.formatProperty(o, key, recurseTimes, extrasType))
	}
	if idx, ok := c.circular[o]; ok {
		ref := "<ref *" + strconv.Itoa(idx) + ">"
		if base == "" {
			base = ref
		} else {
			base = ref + " " + base
		}
	}
	c.seen = c.seen[:len(c.seen)-1]
	return c.reduceToSingleString(output, base, braces, extrasType, recurseTimes, numeric)
}

func (c *inspector) length(o *goja.Object) int {
	v := o.Get("length")
	if v == nil {
		return 0
	}
	return int(v.ToInteger())
}

// nonIndexKeys are an array's (or typed array's) own keys that are not
// indexes (enumerable ones, or all with ShowHidden). Huge arrays are not
// searched: listing their keys would cost more than showing them.
func (c *inspector) nonIndexKeys(o *goja.Object, length int) []propKey {
	var out []propKey
	if length <= 100000 {
		names := o.Keys()
		if c.showHidden {
			names = o.GetOwnPropertyNames()
		}
		for _, n := range names {
			if !isArrayIndex(n) {
				out = append(out, propKey{name: n})
			}
		}
	}
	return append(out, c.symbolKeys(o)...)
}

func isArrayIndex(s string) bool {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n < 1<<32-1
}

// getKeys: own enumerable string keys, then own enumerable symbols (all
// own keys with ShowHidden).
func (c *inspector) getKeys(o *goja.Object) []propKey {
	var out []propKey
	names := o.Keys()
	if c.showHidden {
		names = o.GetOwnPropertyNames()
	}
	for _, n := range names {
		out = append(out, propKey{name: n})
	}
	return append(out, c.symbolKeys(o)...)
}

func (c *inspector) symbolKeys(o *goja.Object) []propKey {
	var out []propKey
	for _, s := range o.Symbols() {
		k := propKey{sym: s}
		if c.showHidden || c.ownProperty(o, k).enumerable {
			out = append(out, k)
		}
	}
	return out
}

// getConstructorName is the name of the first constructor found on o's
// prototype chain that o is an instance of; isNull when o's chain holds
// none (a null prototype).
func (c *inspector) getConstructorName(o *goja.Object, recurseTimes int) (name string, isNull bool) {
	if o.Prototype() == c.objectProto && c.objectProto != nil {
		// A plain object: what the loop below finds (an own "constructor"
		// of o that o is an instance of can only be Object).
		return "Object", false
	}
	tmp := o
	var firstProto *goja.Object
	firstSet := false
	for obj := o; obj != nil; {
		if obj == c.objectProto {
			return "Object", false
		}
		if obj == c.functionProto {
			return "Function", false
		}
		d := c.ownProperty(obj, propKey{name: "constructor"})
		if d.ok && !isUndef(d.value) {
			if ctor, ok := d.value.(*goja.Object); ok {
				if _, isFn := goja.AssertFunction(ctor); isFn {
					if n := ctor.Get("name"); n != nil && n.String() != "" && c.vm.InstanceOf(tmp, ctor) {
						return n.String(), false
					}
				}
			}
		}
		obj = obj.Prototype()
		if !firstSet {
			firstProto, firstSet = obj, true
		}
	}
	if firstProto == nil {
		return "", true
	}
	res := tmp.ClassName()
	if recurseTimes > c.depth {
		return res + " <Complex prototype>", false
	}
	protoName, protoNull := c.getConstructorName(firstProto, recurseTimes+1)
	if protoNull {
		inner := &inspector{vm: c.vm, depth: -1, gopd: c.gopd, fnToString: c.fnToString, objectProto: c.objectProto, functionProto: c.functionProto}
		return res + " <" + inner.formatValue(firstProto, 0, false) + ">", false
	}
	return res + " <" + protoName + ">", false
}

func getPrefix(constructor string, isNull bool, tag, fallback, size string) string {
	if isNull {
		if tag != "" && fallback != tag {
			return "[" + fallback + size + ": null prototype] [" + tag + "] "
		}
		return "[" + fallback + size + ": null prototype] "
	}
	if tag != "" && constructor != tag {
		return constructor + size + " [" + tag + "] "
	}
	return constructor + size + " "
}

func (c *inspector) getCtxStyle(o *goja.Object, constructor string, isNull bool, tag string) string {
	fallback := ""
	if isNull {
		fallback = o.ClassName()
		if fallback == tag {
			fallback = "Object"
		}
	}
	return getPrefix(constructor, isNull, tag, fallback, "")
}

var (
	classRegExp         = regexp.MustCompile(`^(\s+[^(]*?)\s*\{`)
	stripCommentsRegExp = regexp.MustCompile(`(//.*?\n)|(/\*(.|\n)*?\*/)`)
)

func (c *inspector) getFunctionBase(o *goja.Object, constructor string, isNull bool, tag string) string {
	if c.fnToString != nil {
		if src, err := c.fnToString(o); err == nil {
			s := src.String()
			if strings.HasPrefix(s, "class") && strings.HasSuffix(s, "}") {
				slice := s[5 : len(s)-1]
				if bi := strings.Index(slice, "{"); bi != -1 &&
					(!strings.Contains(slice[:bi], "(") || classRegExp.MatchString(stripCommentsRegExp.ReplaceAllString(slice, ""))) {
					return c.getClassBase(o, constructor, isNull, tag)
				}
			}
		}
	}
	typ := "Function"
	switch constructor {
	case "AsyncFunction", "GeneratorFunction", "AsyncGeneratorFunction":
		typ = constructor
	}
	base := "[" + typ
	if isNull {
		base += " (null prototype)"
	}
	name := o.Get("name")
	if name == nil || name.String() == "" {
		base += " (anonymous)"
	} else {
		base += ": " + name.String()
	}
	base += "]"
	if constructor != typ && !isNull {
		base += " " + constructor
	}
	if tag != "" && constructor != tag {
		base += " [" + tag + "]"
	}
	return base
}

func (c *inspector) getClassBase(o *goja.Object, constructor string, isNull bool, tag string) string {
	name := "(anonymous)"
	if c.hasOwn(o, "name") {
		if n := o.Get("name"); n != nil && n.ToBoolean() {
			name = n.String()
		}
	}
	base := "class " + name
	if constructor != "Function" && !isNull {
		base += " [" + constructor + "]"
	}
	if tag != "" && constructor != tag {
		base += " [" + tag + "]"
	}
	if !isNull {
		if p := o.Prototype(); p != nil {
			if sn := p.Get("name"); sn != nil && sn.ToBoolean() {
				base += " extends " + sn.String()
			}
		}
	} else {
		base += " extends [null prototype]"
	}
	return "[" + base + "]"
}

func (c *inspector) dateString(o *goja.Object) string {
	if math.IsNaN(o.ToFloat()) {
		return "Invalid Date"
	}
	if fn, ok := goja.AssertFunction(o.Get("toISOString")); ok {
		if s, err := fn(o); err == nil {
			return s.String()
		}
	}
	return o.String()
}

func (c *inspector) getBoxedBase(o *goja.Object, keys *[]propKey, constructor string, isNull bool, tag string) string {
	var typ string
	switch t := o.ExportType(); {
	case o.ClassName() == "Number":
		typ = "Number"
	case o.ClassName() == "String":
		typ = "String"
		n := c.length(o)
		if n > len(*keys) {
			n = len(*keys)
		}
		*keys = (*keys)[n:]
	case o.ClassName() == "Boolean":
		typ = "Boolean"
	case t == bigIntType:
		typ = "BigInt"
	default:
		typ = "Symbol"
	}
	var prim goja.Value = goja.Undefined()
	if ctor, ok := c.vm.Get(typ).(*goja.Object); ok {
		if proto, ok := ctor.Get("prototype").(*goja.Object); ok {
			if fn, ok := goja.AssertFunction(proto.Get("valueOf")); ok {
				prim = c.call(fn, o)
			}
		}
	}
	base := "[" + typ
	if typ != constructor {
		if isNull {
			base += " (null prototype)"
		} else {
			base += " (" + constructor + ")"
		}
	}
	saved := c.indentationLvl
	c.indentationLvl = 0
	base += ": " + c.formatPrimitive(prim) + "]"
	c.indentationLvl = saved
	if tag != "" && tag != constructor {
		base += " [" + tag + "]"
	}
	return base
}

// stackFrameRegExp matches goja's frame lines ("\tat f (file:1:2(3))").
var (
	gojaPCRegExp = regexp.MustCompile(`(:\d+:\d+)\(\d+\)`)
	errorNameRe1 = regexp.MustCompile(`^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n {4}at)`)
	errorNameRe2 = regexp.MustCompile(`^([a-z_A-Z0-9-]*Error)$`)
)

// moduleWrapperLen is the length of the CommonJS wrapper goja_nodejs's
// require puts before a script on its first line (runtime/engine's
// moduleWrapperPrefix): positions on line 1 of a script count it.
const moduleWrapperLen = len("(function(exports,require,module,__filename,__dirname){")

// firstLineRegExp matches a position on the first line of a script file.
var firstLineRegExp = regexp.MustCompile(`\.(?:js|mjs|cjs|ts|mts):1:(\d+)`)

func unshiftFirstLine(m string) string {
	i := strings.LastIndexByte(m, ':')
	col, err := strconv.Atoi(m[i+1:])
	if err != nil || col <= moduleWrapperLen {
		return m
	}
	return m[:i+1] + strconv.Itoa(col-moduleWrapperLen)
}

// nodeStack rewrites a goja stack in Node's layout: frames indented four
// spaces without goja's program counters, the runtime's own frames left
// out.
func nodeStack(stack string) string {
	if !strings.Contains(stack, "\tat ") {
		return strings.TrimRight(stack, "\n")
	}
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	out := lines[:0]
	for _, ln := range lines {
		if frame, ok := strings.CutPrefix(ln, "\tat "); ok {
			if strings.Contains(frame, "scriptd:") || strings.HasSuffix(frame, "(native)") || frame == "native" {
				continue
			}
			frame = gojaPCRegExp.ReplaceAllString(frame, "$1")
			frame = firstLineRegExp.ReplaceAllStringFunc(frame, unshiftFirstLine)
			ln = "    at " + frame
		}
		out = append(out, ln)
	}
	return strings.Join(out, "\n")
}

func (c *inspector) errorStack(o *goja.Object) string {
	if st := o.Get("stack"); st != nil && st.ToBoolean() {
		return nodeStack(st.String())
	}
	return o.String()
}

func (c *inspector) formatError(o *goja.Object, constructor string, isNull bool, tag string, keys *[]propKey) string {
	name := "Error"
	if n := o.Get("name"); n != nil && !goja.IsUndefined(n) && !goja.IsNull(n) {
		name = n.String()
	}
	stack := c.errorStack(o)
	// removeDuplicateErrorKeys
	if !c.showHidden && len(*keys) != 0 {
		for _, n := range []string{"name", "message", "stack"} {
			for i, k := range *keys {
				if k.sym == nil && k.name == n {
					if v := o.Get(n); v != nil && strings.Contains(stack, v.String()) {
						*keys = append((*keys)[:i:i], (*keys)[i+1:]...)
					}
					break
				}
			}
		}
	}
	hasKey := func(n string) bool {
		for _, k := range *keys {
			if k.sym == nil && k.name == n {
				return true
			}
		}
		return false
	}
	if o.Get("cause") != nil && !hasKey("cause") {
		*keys = append(*keys, propKey{name: "cause"})
	}
	if errs, ok := o.Get("errors").(*goja.Object); ok && errs.ClassName() == "Array" && !hasKey("errors") {
		*keys = append(*keys, propKey{name: "errors"})
	}
	stack = improveStack(stack, constructor, isNull, name, tag)

	pos := -1
	if m := o.Get("message"); m != nil && m.ToBoolean() {
		msg := m.String()
		if i := strings.Index(stack, msg); i > 0 {
			pos = i + len(msg)
		}
	}
	from := max(pos, 0)
	stackStart := -1
	if i := strings.Index(stack[from:], "\n    at"); i != -1 {
		stackStart = from + i
	}
	if stackStart == -1 {
		stack = "[" + stack + "]"
	}
	if c.indentationLvl != 0 {
		stack = strings.ReplaceAll(stack, "\n", "\n"+spaces(c.indentationLvl))
	}
	return stack
}

func improveStack(stack, constructor string, isNull bool, name, tag string) string {
	n := len(name)
	if isNull || (strings.HasSuffix(name, "Error") && strings.HasPrefix(stack, name) &&
		(len(stack) == n || stack[n] == ':' || stack[n] == '\n')) {
		fallback := "Error"
		if isNull {
			m := errorNameRe1.FindStringSubmatch(stack)
			if m == nil {
				m = errorNameRe2.FindStringSubmatch(stack)
			}
			fallback = ""
			if m != nil {
				fallback = m[1]
			}
			n = len(fallback)
			if fallback == "" {
				fallback = "Error"
			}
		}
		prefix := strings.TrimSuffix(getPrefix(constructor, isNull, tag, fallback, ""), " ")
		if name != prefix {
			if strings.Contains(prefix, name) {
				if n == 0 {
					stack = prefix + ": " + stack
				} else {
					stack = prefix + stack[n:]
				}
			} else {
				stack = prefix + " [" + name + "]" + stack[n:]
			}
		}
	}
	return stack
}

func remainingText(n int) string {
	if n > 1 {
		return "... " + strconv.Itoa(n) + " more items"
	}
	return "... 1 more item"
}

func (c *inspector) formatArrayElement(v goja.Value, recurseTimes int) string {
	c.indentationLvl += 2
	s := c.formatValue(v, recurseTimes, false)
	c.indentationLvl -= 2
	return s
}

func (c *inspector) formatArray(o *goja.Object, valLen, recurseTimes int) []string {
	n := min(maxArrayLength, valLen)
	output := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		v := o.Get(strconv.Itoa(i))
		if v == nil { // a hole
			return c.formatSpecialArray(o, valLen, recurseTimes, n, output, i)
		}
		output = append(output, c.formatArrayElement(v, recurseTimes))
	}
	if valLen > n {
		output = append(output, remainingText(valLen-n))
	}
	return output
}

var numberRegExp = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// formatSpecialArray formats a sparse array from index i on.
func (c *inspector) formatSpecialArray(o *goja.Object, valLen, recurseTimes, maxLength int, output []string, i int) []string {
	keys := o.Keys()
	index := i
	for ; i < len(keys) && len(output) < maxLength; i++ {
		key := keys[i]
		tmp, err := strconv.ParseFloat(key, 64)
		if err == nil && tmp > 1<<32-2 {
			break
		}
		if strconv.Itoa(index) != key {
			if !numberRegExp.MatchString(key) {
				break
			}
			empty := int(tmp) - index
			output = append(output, emptyItems(empty))
			index = int(tmp)
			if len(output) == maxLength {
				break
			}
		}
		output = append(output, c.formatArrayElement(c.get(o, propKey{name: key}), recurseTimes))
		index++
	}
	remaining := valLen - index
	if len(output) != maxLength {
		if remaining > 0 {
			output = append(output, emptyItems(remaining))
		}
	} else if remaining > 0 {
		output = append(output, remainingText(remaining))
	}
	return output
}

func emptyItems(n int) string {
	if n > 1 {
		return "<" + strconv.Itoa(n) + " empty items>"
	}
	return "<1 empty item>"
}

func (c *inspector) formatTypedArray(o *goja.Object, length int) []string {
	n := min(maxArrayLength, length)
	output := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		v := c.get(o, propKey{name: strconv.Itoa(i)})
		if goja.IsBigInt(v) {
			output = append(output, v.String()+"n")
		} else {
			output = append(output, formatNumber(v))
		}
	}
	if length > n {
		output = append(output, remainingText(length-n))
	}
	return output
}

// formatBuffer is Node's Buffer inspector: <Buffer 68 69 ...>.
func (c *inspector) formatBuffer(o *goja.Object, length int) string {
	const maxBytes = 50
	var b strings.Builder
	b.WriteString("<Buffer")
	for i := 0; i < min(length, maxBytes); i++ {
		b.WriteString(" ")
		b.WriteString(hex.EncodeToString([]byte{byte(c.get(o, propKey{name: strconv.Itoa(i)}).ToInteger())}))
	}
	if length > maxBytes {
		b.WriteString(" ... " + strconv.Itoa(length-maxBytes) + " more byte")
		if length-maxBytes > 1 {
			b.WriteString("s")
		}
	}
	b.WriteString(">")
	return b.String()
}

func (c *inspector) formatArrayBuffer(o *goja.Object) []string {
	ab, _ := o.Export().(goja.ArrayBuffer)
	data := ab.Bytes()
	if data == nil && ab.Detached() {
		return []string{"(detached)"}
	}
	n := min(maxArrayLength, len(data))
	parts := make([]string, n)
	for i := 0; i < n; i++ {
		parts[i] = hex.EncodeToString(data[i : i+1])
	}
	str := strings.Join(parts, " ")
	if rem := len(data) - maxArrayLength; rem > 0 {
		str += " ... " + strconv.Itoa(rem) + " more byte"
		if rem > 1 {
			str += "s"
		}
	}
	return []string{"[Uint8Contents]: <" + str + ">"}
}

// formatCollection is formatSet / formatMap: their entries in insertion
// order (read with the runtime's own forEach, no iterator consumed).
func (c *inspector) formatCollection(o *goja.Object, isMap bool, size, recurseTimes int) []string {
	n := min(maxArrayLength, size)
	output := make([]string, 0, n+1)
	c.indentationLvl += 2
	var entries [][2]goja.Value
	name := "Set"
	if isMap {
		name = "Map"
	}
	if ctor, ok := c.vm.Get(name).(*goja.Object); ok {
		if proto, ok := ctor.Get("prototype").(*goja.Object); ok {
			if forEach, ok := goja.AssertFunction(proto.Get("forEach")); ok {
				collect := c.vm.ToValue(func(call goja.FunctionCall) goja.Value {
					if len(entries) < n {
						entries = append(entries, [2]goja.Value{call.Argument(0), call.Argument(1)})
					}
					return goja.Undefined()
				})
				c.call(forEach, o, collect)
			}
		}
	}
	for _, e := range entries {
		if isMap {
			output = append(output, c.formatValue(e[1], recurseTimes, false)+" => "+c.formatValue(e[0], recurseTimes, false))
		} else {
			output = append(output, c.formatValue(e[0], recurseTimes, false))
		}
	}
	if size > n {
		output = append(output, remainingText(size-n))
	}
	c.indentationLvl -= 2
	return output
}

func (c *inspector) formatPromise(o *goja.Object, recurseTimes int) []string {
	p, _ := o.Export().(*goja.Promise)
	if p == nil || p.State() == goja.PromiseStatePending {
		return []string{"<pending>"}
	}
	c.indentationLvl += 2
	s := c.formatValue(p.Result(), recurseTimes, false)
	c.indentationLvl -= 2
	if p.State() == goja.PromiseStateRejected {
		s = "<rejected> " + s
	}
	return []string{s}
}

var keyStrRegExp = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z_0-9]*$`)

func (c *inspector) formatProperty(o *goja.Object, key propKey, recurseTimes, typ int) string {
	d := c.ownProperty(o, key)
	if !d.ok {
		d = descriptor{ok: true, value: c.get(o, key), enumerable: true}
	}
	var str string
	switch {
	case !isUndef(d.value):
		c.indentationLvl += 2
		str = c.formatValue(d.value, recurseTimes, false)
		c.indentationLvl -= 2
	case !isUndef(d.get):
		if !isUndef(d.set) {
			str = "[Getter/Setter]"
		} else {
			str = "[Getter]"
		}
	case !isUndef(d.set):
		str = "[Setter]"
	default:
		str = "undefined"
	}
	if typ == kArrayType {
		return str
	}
	var name string
	switch {
	case key.sym != nil:
		name = "[" + escapeAll(symbolString(key.sym)) + "]"
	case key.name == "__proto__":
		name = "['__proto__']"
	case !d.enumerable:
		name = "[" + escapeAll(key.name) + "]"
	case keyStrRegExp.MatchString(key.name):
		name = key.name
	default:
		name = strEscape(key.name)
	}
	return name + ": " + str
}

func (c *inspector) reduceToSingleString(output []string, base string, braces [2]string, extrasType, recurseTimes int, numeric func(int) bool) string {
	entries := len(output)
	if extrasType == kArrayExtrasType && entries > 6 {
		output = c.groupArrayElements(output, numeric)
	}
	if c.currentDepth-recurseTimes < compactLevel && entries == len(output) {
		start := len(output) + c.indentationLvl + jsLen(braces[0]) + jsLen(base) + 10
		if isBelowBreakLength(output, start, base) {
			joined := strings.Join(output, ", ")
			if !strings.Contains(joined, "\n") {
				b := ""
				if base != "" {
					b = base + " "
				}
				return b + braces[0] + " " + joined + " " + braces[1]
			}
		}
	}
	indentation := "\n" + spaces(c.indentationLvl)
	b := ""
	if base != "" {
		b = base + " "
	}
	return b + braces[0] + indentation + "  " + strings.Join(output, ","+indentation+"  ") + indentation + braces[1]
}

func isBelowBreakLength(output []string, start int, base string) bool {
	total := len(output) + start
	if total+len(output) > breakLength {
		return false
	}
	for _, s := range output {
		total += jsLen(s)
		if total > breakLength {
			return false
		}
	}
	return base == "" || !strings.Contains(base, "\n")
}

func (c *inspector) groupArrayElements(output []string, numeric func(int) bool) []string {
	totalLength := 0
	maxLength := 0
	outputLength := len(output)
	if maxArrayLength < len(output) {
		// The "... n more items" entry is not grouped.
		outputLength--
	}
	const separatorSpace = 2
	dataLen := make([]int, outputLength)
	for i := 0; i < outputLength; i++ {
		l := stringWidth(output[i])
		dataLen[i] = l
		totalLength += l + separatorSpace
		if maxLength < l {
			maxLength = l
		}
	}
	actualMax := maxLength + separatorSpace
	if actualMax*3+c.indentationLvl < breakLength &&
		(float64(totalLength)/float64(actualMax) > 5 || maxLength <= 6) {
		const approxCharHeights = 2.5
		averageBias := math.Sqrt(float64(actualMax) - float64(totalLength)/float64(len(output)))
		biasedMax := math.Max(float64(actualMax)-3-averageBias, 1)
		columns := min(
			int(jsRound(math.Sqrt(approxCharHeights*biasedMax*float64(outputLength))/biasedMax)),
			(breakLength-c.indentationLvl)/actualMax,
			compactLevel*4,
			15,
		)
		if columns <= 1 {
			return output
		}
		var tmp []string
		maxLineLength := make([]int, 0, columns)
		for i := 0; i < columns; i++ {
			lineMaxLength := 0
			for j := i; j < outputLength; j += columns {
				if dataLen[j] > lineMaxLength {
					lineMaxLength = dataLen[j]
				}
			}
			maxLineLength = append(maxLineLength, lineMaxLength+separatorSpace)
		}
		padStart := true
		if numeric != nil {
			for i := 0; i < len(output); i++ {
				if !numeric(i) {
					padStart = false
					break
				}
			}
		}
		for i := 0; i < outputLength; i += columns {
			maxI := min(i+columns, outputLength)
			var str strings.Builder
			j := i
			for ; j < maxI-1; j++ {
				padding := maxLineLength[j-i] + jsLen(output[j]) - dataLen[j]
				str.WriteString(pad(output[j]+", ", padding, padStart))
			}
			if padStart {
				padding := maxLineLength[j-i] + jsLen(output[j]) - dataLen[j] - separatorSpace
				str.WriteString(pad(output[j], padding, true))
			} else {
				str.WriteString(output[j])
			}
			tmp = append(tmp, str.String())
		}
		if maxArrayLength < len(output) {
			tmp = append(tmp, output[outputLength])
		}
		output = tmp
	}
	return output
}

// jsRound is Math.round.
func jsRound(x float64) float64 { return math.Floor(x + 0.5) }

func pad(s string, width int, start bool) string {
	n := width - jsLen(s)
	if n <= 0 {
		return s
	}
	if start {
		return spaces(n) + s
	}
	return s + spaces(n)
}

func spaces(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat(" ", n)
}

// jsLen is a string's JavaScript length (UTF-16 code units).
func jsLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// stringWidth approximates Node's getStringWidth: columns on a terminal,
// wide East Asian characters counting two and combining marks none.
func stringWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x300 && r <= 0x36f) || (r >= 0x200b && r <= 0x200f) || (r >= 0xfe00 && r <= 0xfe0f):
		case r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
			(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) ||
			(r >= 0xffe0 && r <= 0xffe6) || (r >= 0x1f300 && r <= 0x1f64f) || (r >= 0x1f900 && r <= 0x1f9ff) ||
			(r >= 0x20000 && r <= 0x3fffd)):
			w += 2
		default:
			w++
		}
	}
	return w
}

func (c *inspector) formatPrimitive(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case goja.IsString(v):
		s := v.String()
		trailer := ""
		if n := jsLen(s); n > maxStringLength {
			u := utf16.Encode([]rune(s))
			s = string(utf16.Decode(u[:maxStringLength]))
			rem := n - maxStringLength
			trailer = "... " + strconv.Itoa(rem) + " more character"
			if rem > 1 {
				trailer += "s"
			}
		}
		if n := jsLen(s); n > minLineLength && n > breakLength-c.indentationLvl-4 {
			var lines []string
			for rest := s; rest != ""; {
				i := strings.IndexByte(rest, '\n')
				if i < 0 {
					lines = append(lines, strEscape(rest))
					break
				}
				lines = append(lines, strEscape(rest[:i+1]))
				rest = rest[i+1:]
			}
			return strings.Join(lines, " +\n"+spaces(c.indentationLvl+2)) + trailer
		}
		return strEscape(s) + trailer
	case goja.IsNumber(v):
		return formatNumber(v)
	case goja.IsBigInt(v):
		return v.String() + "n"
	}
	if s, ok := v.(*goja.Symbol); ok {
		return symbolString(s)
	}
	return v.String()
}

// primitiveString is String(v) for a primitive.
func primitiveString(v goja.Value) string {
	if s, ok := v.(*goja.Symbol); ok {
		return symbolString(s)
	}
	if v == nil {
		return "undefined"
	}
	return v.String()
}

// symbolString is String(symbol): Symbol(description).
func symbolString(s *goja.Symbol) string {
	return "Symbol(" + s.String() + ")"
}

// formatNumber is a number as inspect writes it: -0 as -0.
func formatNumber(v goja.Value) string {
	if v == nil {
		return "NaN"
	}
	f := v.ToFloat()
	if f == 0 && math.Signbit(f) {
		return "-0"
	}
	return v.ToNumber().String()
}

var meta = func() [0xa0]string {
	var m [0xa0]string
	for i := 0; i < 0x20; i++ {
		m[i] = `\x` + strings.ToUpper(hex.EncodeToString([]byte{byte(i)}))
	}
	m['\b'], m['\t'], m['\n'], m['\f'], m['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	m['\''], m['\\'] = `\'`, `\\`
	for i := 0x7f; i < 0xa0; i++ {
		m[i] = `\x` + strings.ToUpper(hex.EncodeToString([]byte{byte(i)}))
	}
	return m
}()

// strEscape quotes a string as inspect does: single quotes, or double
// quotes (or backticks) when that avoids escaping a single quote; control
// characters, the backslash and the quote escaped.
func strEscape(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") {
		if !strings.Contains(s, `"`) {
			quote = '"'
		} else if !strings.Contains(s, "`") && !strings.Contains(s, "${") {
			quote = '`'
		}
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\'' && quote == '\'':
			b.WriteString(`\'`)
		case r == '\'':
			b.WriteByte('\'')
		case r < 0xa0 && meta[r] != "":
			b.WriteString(meta[r])
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\u` + strconv.FormatUint(uint64(s[i]), 16))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte(quote)
	return b.String()
}

// escapeAll escapes control characters, the single quote and the
// backslash without quoting (property names in brackets).
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0xa0 && meta[r] != "" {
			b.WriteString(meta[r])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// builtInObjects are the global constructors whose toString counts as
// built-in for %s.
var builtInObjects = map[string]bool{
	"Object": true, "Function": true, "Array": true, "Number": true, "Boolean": true, "String": true,
	"Symbol": true, "Date": true, "Promise": true, "RegExp": true, "Error": true, "AggregateError": true,
	"EvalError": true, "RangeError": true, "ReferenceError": true, "SyntaxError": true, "TypeError": true,
	"URIError": true, "ArrayBuffer": true, "Uint8Array": true, "Int8Array": true, "Uint16Array": true,
	"Int16Array": true, "Uint32Array": true, "Int32Array": true, "Float32Array": true, "Float64Array": true,
	"Uint8ClampedArray": true, "BigUint64Array": true, "BigInt64Array": true, "DataView": true, "Map": true,
	"BigInt": true, "Set": true, "WeakMap": true, "WeakSet": true, "Proxy": true, "Reflect": true,
	"WeakRef": true, "FinalizationRegistry": true, "SharedArrayBuffer": true,
}

// hasBuiltInToString: o's toString (or Symbol.toPrimitive) is a built-in
// one, so %s inspects it rather than calling it.
func (c *inspector) hasBuiltInToString(o *goja.Object) bool {
	if o.ExportType() == proxyType {
		p, _ := o.Export().(goja.Proxy)
		if p.Target() == nil {
			return true
		}
		o = p.Target()
	}
	toPrim := propKey{sym: goja.SymToPrimitive}
	_, hasToString := goja.AssertFunction(o.Get("toString"))
	_, hasToPrim := goja.AssertFunction(c.get(o, toPrim))
	checkToString, checkToPrim := true, true
	switch {
	case !hasToString:
		if !hasToPrim {
			return true
		} else if c.ownProperty(o, toPrim).ok {
			return false
		}
		checkToString = false
	case c.hasOwn(o, "toString"):
		return false
	case !hasToPrim:
		checkToPrim = false
	case c.ownProperty(o, toPrim).ok:
		return false
	}
	p := o
	for {
		p = p.Prototype()
		if p == nil {
			return true
		}
		if (checkToString && c.hasOwn(p, "toString")) || (checkToPrim && c.ownProperty(p, toPrim).ok) {
			break
		}
	}
	d := c.ownProperty(p, propKey{name: "constructor"})
	if ctor, ok := d.value.(*goja.Object); ok && d.ok {
		if _, isFn := goja.AssertFunction(ctor); isFn {
			return builtInObjects[ctor.Get("name").String()]
		}
	}
	return false
}
