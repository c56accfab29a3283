package globals

import (
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// formatConsole formats console.log arguments as Node's util.format does:
// a leading string may hold %s %d %i %f %j %o %O %c %% directives; other
// arguments follow separated by spaces, strings as-is, other values
// inspected ({ a: 1, b: 'x' }).
func formatConsole(vm *goja.Runtime, args []goja.Value) string {
	if len(args) == 0 {
		return ""
	}
	var b strings.Builder
	rest := args
	if s, ok := args[0].Export().(string); ok && strings.ContainsRune(s, '%') {
		rest = args[1:]
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c != '%' || i+1 >= len(s) {
				b.WriteByte(c)
				continue
			}
			d := s[i+1]
			if d == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if !strings.ContainsRune("sdifjoOc", rune(d)) || len(rest) == 0 {
				b.WriteByte(c)
				continue
			}
			a := rest[0]
			rest = rest[1:]
			i++
			switch d {
			case 's':
				if str, ok := a.Export().(string); ok {
					b.WriteString(str)
				} else {
					b.WriteString(inspect(a, 1))
				}
			case 'd', 'i':
				n := a.ToFloat()
				if d == 'i' {
					n = float64(int64(n))
				}
				b.WriteString(vm.ToValue(n).String())
			case 'f':
				b.WriteString(strconv.FormatFloat(a.ToFloat(), 'g', -1, 64))
			case 'j':
				b.WriteString(compactJSON(jsonStringify(vm), a))
			case 'o', 'O':
				b.WriteString(inspect(a, 2))
			case 'c':
			}
		}
		if len(rest) > 0 {
			b.WriteByte(' ')
		}
	}
	for i, a := range rest {
		if i > 0 {
			b.WriteByte(' ')
		}
		if str, ok := a.Export().(string); ok {
			b.WriteString(str)
		} else {
			b.WriteString(inspect(a, 2))
		}
	}
	return b.String()
}

// inspect renders a value roughly as Node's util.inspect, to depth.
func inspect(v goja.Value, depth int) string {
	return inspectSeen(v, depth, map[*goja.Object]bool{})
}

func inspectSeen(v goja.Value, depth int, seen map[*goja.Object]bool) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if s, isStr := v.Export().(string); isStr {
			return "'" + strings.ReplaceAll(s, "'", "\\'") + "'"
		}
		return v.String()
	}
	if seen[o] {
		return "[Circular]"
	}
	if _, callable := goja.AssertFunction(o); callable {
		name := o.Get("name")
		if name == nil || name.String() == "" {
			return "[Function (anonymous)]"
		}
		return "[Function: " + name.String() + "]"
	}
	switch o.ClassName() {
	case "Error":
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) {
			return s.String()
		}
		return o.String()
	case "Date", "RegExp":
		return o.String()
	case "Promise":
		return "Promise { ... }"
	}
	if depth < 0 {
		if o.ClassName() == "Array" {
			return "[Array]"
		}
		return "[Object]"
	}
	seen[o] = true
	defer delete(seen, o)
	if o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		if n == 0 {
			return "[]"
		}
		parts := make([]string, 0, n)
		for i := 0; i < n && i < 100; i++ {
			parts = append(parts, inspectSeen(o.Get(strconv.Itoa(i)), depth-1, seen))
		}
		if n > 100 {
			parts = append(parts, "... "+strconv.Itoa(n-100)+" more items")
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	}
	keys := o.Keys()
	if len(keys) == 0 {
		return "{}"
	}
	if o.ClassName() == "Map" || o.ClassName() == "Set" {
		sort.Strings(keys)
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, inspectKey(k)+": "+inspectSeen(o.Get(k), depth-1, seen))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func inspectKey(k string) string {
	for i, r := range k {
		if !(r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			return "'" + strings.ReplaceAll(k, "'", "\\'") + "'"
		}
	}
	return k
}
