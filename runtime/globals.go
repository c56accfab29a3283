package runtime

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// installGlobals defines print, console, Log, network_time, current_time
// and when (SPEC §2, §4).
func (e *Engine) installGlobals() {
	vm := e.loop.Runtime()
	g := vm.GlobalObject()
	stringify := jsonStringify(vm)

	_ = g.Set("print", e.loop.Func("print", func(call goja.FunctionCall) goja.Value {
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
		_, _ = e.stdout.Write(b.Bytes())
		return goja.Undefined()
	}))

	console := vm.NewObject()
	logTo := func(name string, w func([]byte)) {
		_ = console.Set(name, e.loop.Func("console."+name, func(call goja.FunctionCall) goja.Value {
			w([]byte(formatConsole(vm, call.Arguments) + "\n"))
			return goja.Undefined()
		}))
	}
	out := func(p []byte) { _, _ = e.stdout.Write(p) }
	errw := func(p []byte) { _, _ = e.stderr.Write(p) }
	logTo("log", out)
	logTo("info", out)
	logTo("debug", out)
	logTo("warn", errw)
	logTo("error", errw)
	_ = g.Set("console", console)

	logObj := vm.NewObject()
	_ = logObj.Set("write", e.loop.Func("Log.write", func(call goja.FunctionCall) goja.Value {
		stream := call.Argument(0).String()
		if err := validStream(stream); err != nil {
			e.loop.ThrowTypeError("Log.write: %v", err)
		}
		rec := call.Argument(1)
		if _, ok := rec.(*goja.Object); !ok {
			e.loop.ThrowTypeError("Log.write(%q): the record must be an object", stream)
		}
		line := compactJSON(stringify, rec)
		if err := e.logs.write(stream, line); err != nil {
			e.loop.Throw(fmt.Errorf("Log.write(%q): %w", stream, err))
		}
		e.scheduleLogFlush()
		return goja.Undefined()
	}))
	_ = g.Set("Log", logObj)

	_ = g.Set("network_time", e.loop.Func("network_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(e.clock.Now())
	}))
	_ = g.Set("current_time", e.loop.Func("current_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(wallNow())
	}))
	e.installWhen()
	e.installProcess()
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
func (e *Engine) scheduleLogFlush() {
	if e.logs.flushScheduled {
		return
	}
	e.logs.flushScheduled = true
	_ = e.loop.Submit(func() {
		e.logs.flushScheduled = false
		if err := e.logs.flush(); err != nil {
			fmt.Fprintf(e.stderr, "Log.write: %v\n", err)
		}
	})
}
