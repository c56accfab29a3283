package engine

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// installGlobals defines print, console, Log, network_time, current_time
// and when (SPEC §2, §4).
func (v *version) installGlobals() {
	vm := v.loop.Runtime()
	g := vm.GlobalObject()
	stringify := jsonStringify(vm)

	_ = g.Set("print", v.loop.Func("print", func(call goja.FunctionCall) goja.Value {
		var b bytes.Buffer
		for i, a := range call.Arguments {
			if i > 0 {
				b.WriteByte(' ')
			}
			if s, ok := a.Export().(string); ok {
				b.WriteString(s)
				continue
			}
			b.WriteString(compactJSON(stringify, a))
		}
		b.WriteByte('\n')
		_, _ = v.e.stdout.Write(b.Bytes())
		return goja.Undefined()
	}))

	console := vm.NewObject()
	logTo := func(name string, w func([]byte)) {
		_ = console.Set(name, v.loop.Func("console."+name, func(call goja.FunctionCall) goja.Value {
			w([]byte(formatConsole(vm, call.Arguments) + "\n"))
			return goja.Undefined()
		}))
	}
	out := func(p []byte) { _, _ = v.e.stdout.Write(p) }
	errw := func(p []byte) { _, _ = v.e.stderr.Write(p) }
	logTo("log", out)
	logTo("info", out)
	logTo("debug", out)
	logTo("warn", errw)
	logTo("error", errw)
	_ = g.Set("console", console)

	logObj := vm.NewObject()
	_ = logObj.Set("write", v.loop.Func("Log.write", func(call goja.FunctionCall) goja.Value {
		stream := call.Argument(0).String()
		if err := validStream(stream); err != nil {
			v.loop.ThrowTypeError("Log.write: %v", err)
		}
		rec := call.Argument(1)
		if _, ok := rec.(*goja.Object); !ok {
			v.loop.ThrowTypeError("Log.write(%q): the record must be an object", stream)
		}
		line := compactJSON(stringify, rec)
		if err := v.e.logs.write(stream, line); err != nil {
			v.loop.Throw(fmt.Errorf("Log.write(%q): %w", stream, err))
		}
		v.scheduleLogFlush()
		return goja.Undefined()
	}))
	_ = g.Set("Log", logObj)

	_ = g.Set("network_time", v.loop.Func("network_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(v.e.clock.Now())
	}))
	_ = g.Set("current_time", v.loop.Func("current_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(wallNow())
	}))
	v.installWhen()
	v.installProcess()
}

func jsonStringify(vm *goja.Runtime) goja.Callable {
	j := vm.Get("JSON").(*goja.Object)
	fn, _ := goja.AssertFunction(j.Get("stringify"))
	return fn
}

// compactJSON renders v as JSON.stringify does, or String(v) where JSON has
// no form (undefined, functions, symbols).
func compactJSON(stringify goja.Callable, v goja.Value) string {
	s, err := stringify(goja.Undefined(), v)
	if err != nil || s == nil || goja.IsUndefined(s) {
		if v == nil {
			return "undefined"
		}
		return v.String()
	}
	return s.String()
}

func validStream(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("invalid stream name %q", s)
	}
	return nil
}

// scheduleLogFlush flushes log buffers once the current turn of the loop
// is over, so one batch of events costs one write per stream.
func (v *version) scheduleLogFlush() {
	if v.e.logs.flushScheduled {
		return
	}
	v.e.logs.flushScheduled = true
	_ = v.loop.Submit(func() {
		v.e.logs.flushScheduled = false
		if err := v.e.logs.flush(); err != nil {
			fmt.Fprintf(v.e.stderr, "Log.write: %v\n", err)
		}
	})
}
