package storagejs

import (
	"testing"

	"github.com/dop251/goja"
)

type dynRes struct {
	code, value goja.Value
}

func (d *dynRes) Get(k string) goja.Value {
	switch k {
	case "code":
		return d.code
	case "value":
		return d.value
	}
	return nil
}
func (d *dynRes) Set(k string, v goja.Value) bool { return false }
func (d *dynRes) Has(k string) bool               { return k == "code" || k == "value" }
func (d *dynRes) Delete(k string) bool            { return false }
func (d *dynRes) Keys() []string                  { return []string{"code", "value"} }

func BenchmarkResultObject(b *testing.B) {
	vm := goja.New()
	code := vm.ToValue("SUCCESS")
	val := vm.ToValue("value-1")
	read, _ := goja.AssertFunction(vm.ToValue(vm.Get("eval").Export()))
	_ = read
	reader, _ := vm.RunString(`(function (r) { return r.code === "SUCCESS" ? r.value : null })`)
	rd, _ := goja.AssertFunction(reader)
	lit, _ := vm.RunString(`(function (c, v) { return {code: c, value: v} })`)
	litFn, _ := goja.AssertFunction(lit)
	codeK := "code"
	b.Run("NewObject+Set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o := vm.NewObject()
			o.Set(codeK, code)
			o.Set("value", val)
			rd(nil, o)
		}
	})
	b.Run("NewObject+Set-string", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o := vm.NewObject()
			o.Set(codeK, "SUCCESS")
			o.Set("value", "value-1")
			rd(nil, o)
		}
	})
	b.Run("DefineDataProperty", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o := vm.NewObject()
			o.DefineDataProperty(codeK, code, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			o.DefineDataProperty("value", val, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			rd(nil, o)
		}
	})
	b.Run("Dynamic", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o := vm.NewDynamicObject(&dynRes{code, val})
			rd(nil, o)
		}
	})
	b.Run("JSLiteral", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o, _ := litFn(nil, code, val)
			rd(nil, o)
		}
	})
	b.Run("readonly", func(b *testing.B) {
		b.ReportAllocs()
		o := vm.NewObject()
		o.Set(codeK, code)
		o.Set("value", val)
		for i := 0; i < b.N; i++ {
			rd(nil, o)
		}
	})
}
