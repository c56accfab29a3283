// Package globals installs the core script globals through the extension
// interface (package ext), like any other extension: print, console, Log,
// network_time, current_time, when, schedule and process.
//
// Concurrency: Extension runs, and the globals it defines run, on the loop
// goroutine of the version being built. A Logs value outlives versions: the
// engine creates one per run and closes it at the end; it is used from the
// goroutine running the loops only.
package globals

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/ext"
)

// Config is what the globals write to.
type Config struct {
	// Stdout receives print and console.log/info/debug; Stderr
	// console.warn/error and Log.write flush errors.
	Stdout, Stderr io.Writer
	// Logs holds the Log.write streams; it outlives the versions.
	Logs *Logs
}

// Extension returns the extension installing the core globals.
func Extension(cfg Config) ext.Extension {
	return func(h ext.Host) (func(), error) {
		install(h, cfg)
		return nil, nil
	}
}

// install defines print, console, Log, network_time, current_time, when
// and process.
func install(h ext.Host, cfg Config) {
	vm := h.Runtime()
	g := vm.GlobalObject()
	stringify := jsonStringify(vm)

	_ = g.Set("print", h.Func("print", func(call goja.FunctionCall) goja.Value {
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
		_, _ = cfg.Stdout.Write(b.Bytes())
		return goja.Undefined()
	}))

	console := vm.NewObject()
	logTo := func(name string, w func([]byte)) {
		_ = console.Set(name, h.Func("console."+name, func(call goja.FunctionCall) goja.Value {
			w([]byte(formatConsole(vm, call.Arguments) + "\n"))
			return goja.Undefined()
		}))
	}
	out := func(p []byte) { _, _ = cfg.Stdout.Write(p) }
	errw := func(p []byte) { _, _ = cfg.Stderr.Write(p) }
	logTo("log", out)
	logTo("info", out)
	logTo("debug", out)
	logTo("warn", errw)
	logTo("error", errw)
	_ = g.Set("console", console)

	logObj := vm.NewObject()
	_ = logObj.Set("write", h.Func("Log.write", func(call goja.FunctionCall) goja.Value {
		stream := call.Argument(0).String()
		if err := validStream(stream); err != nil {
			ext.ThrowTypeError(vm, "Log.write: %v", err)
		}
		rec := call.Argument(1)
		if _, ok := rec.(*goja.Object); !ok {
			ext.ThrowTypeError(vm, "Log.write(%q): the record must be an object", stream)
		}
		line, err := recordJSON(stringify, rec)
		if err != nil {
			ext.ThrowTypeError(vm, "Log.write(%q): the record cannot be written as JSON: %s", stream, err)
		}
		if err := cfg.Logs.write(stream, line); err != nil {
			ext.Throw(vm, fmt.Errorf("Log.write(%q): %w", stream, err))
		}
		cfg.Logs.scheduleFlush(h, cfg.Stderr)
		return goja.Undefined()
	}))
	_ = g.Set("Log", logObj)

	_ = g.Set("network_time", h.Func("network_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(h.NetworkTime())
	}))
	_ = g.Set("current_time", h.Func("current_time", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(float64(time.Now().UnixNano()) / 1e9)
	}))
	installWhen(h)
	installSchedule(h)
	installProcess(vm)
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

// recordJSON renders a Log.write record with JSON.stringify. A record
// JSON cannot render (a cycle, a BigInt, a throwing toJSON or getter, a
// hostile Proxy) is an error describing why, never a placeholder line.
func recordJSON(stringify goja.Callable, rec goja.Value) (line string, err error) {
	defer func() {
		if r := recover(); r != nil {
			line, err = "", fmt.Errorf("%s", describePanic(r))
		}
	}()
	s, jerr := stringify(goja.Undefined(), rec)
	if jerr != nil {
		return "", errors.New(eventloop.ErrorDetail(jerr))
	}
	if s == nil || goja.IsUndefined(s) {
		return "", errors.New("JSON.stringify gave undefined")
	}
	return s.String(), nil
}

func describePanic(r any) string {
	if v, ok := r.(goja.Value); ok {
		return eventloop.ErrorStack(nil, v)
	}
	return fmt.Sprint(r)
}

func validStream(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("invalid stream name %q", s)
	}
	return nil
}

// scheduleFlush flushes the log buffers once the current turn of the loop
// is over, so one batch of events costs one write per stream.
func (l *Logs) scheduleFlush(h ext.Host, stderr io.Writer) {
	if l.flushScheduled {
		return
	}
	l.flushScheduled = true
	h.RunOnLoop(func() {
		l.FlushReport(stderr)
	})
}
