package globals

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/eventloop"
	"github.com/scriptd/scriptd/runtime/ext"
)

// The web platform and Node.js globals of SPEC §2: Buffer, URL,
// URLSearchParams, TextEncoder, TextDecoder, structuredClone, atob, btoa,
// queueMicrotask, crypto, fetch (with Headers, Request, Response,
// AbortController, AbortSignal, DOMException, Event and EventTarget).
//
// The classes are written in JavaScript (web.js, node.js) over a few Go
// natives: byte codecs, randomness, unref'd timers and the HTTP client.
// Both preludes are compiled once per process and run once per version.
//
// Concurrency: everything here runs on the loop goroutine of the version
// being built, except fetch's HTTP exchange and the AbortSignal.timeout
// timers, which run on their own goroutines and come back to the loop
// through Host.RegisterCallback and Host.RunOnLoop.

//go:embed web.js
var webJS string

var webProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("scriptd:web.js", webJS, true)
})

// symWeb keys the prelude's internals (makeFetch, ...) on the global
// object, for FetchExtension and RegisterNodeModules.
var symWeb = goja.NewSymbol("scriptd.web")

// installWeb defines the web and Node.js globals; fetch follows opts.
func installWeb(h ext.Host, opts FetchOptions) {
	vm := h.Runtime()
	bufferExports, urlExports := nodeBase(vm)
	natives := webNatives(h)
	_ = natives.Set("fetch", fetchNative(h, opts))
	internals, err := runPrelude(vm, webProgram(), natives, vm.GlobalObject())
	if err != nil {
		h.Logger().Error("globals: the web globals are not installed", "error", err)
		return
	}
	_ = vm.GlobalObject().DefineDataPropertySymbol(symWeb, internals, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	if err := runNodePrelude(h, natives, internals, bufferExports, urlExports); err != nil {
		h.Logger().Error("globals: the Node.js modules are not installed", "error", err)
	}
}

// runPrelude runs a compiled prelude (a function expression) and calls it
// with args. A failure is a bug of the preludes, which the tests run.
func runPrelude(vm *goja.Runtime, prog *goja.Program, args ...goja.Value) (*goja.Object, error) {
	fn, err := vm.RunProgram(prog)
	if err != nil {
		return nil, fmt.Errorf("%s", eventloop.ErrorDetail(err))
	}
	call, ok := goja.AssertFunction(fn)
	if !ok {
		return nil, errors.New("the prelude is not a function")
	}
	ret, err := call(goja.Undefined(), args...)
	if err != nil {
		return nil, fmt.Errorf("%s", eventloop.ErrorDetail(err))
	}
	obj, ok := ret.(*goja.Object)
	if !ok {
		return nil, errors.New("the prelude returned no object")
	}
	return obj, nil
}

// webNatives are the Go functions web.js is built on.
func webNatives(h ext.Host) *goja.Object {
	vm := h.Runtime()
	n := vm.NewObject()
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		_ = n.Set(name, h.Func(name, fn))
	}
	u8 := vm.Get("Uint8Array")
	newU8 := func(b []byte) goja.Value {
		o, err := vm.New(u8, vm.ToValue(vm.NewArrayBuffer(b)))
		if err != nil {
			panic(err)
		}
		return o
	}
	isView, _ := goja.AssertFunction(vm.Get("ArrayBuffer").(*goja.Object).Get("isView"))
	// viewBytes returns the bytes an ArrayBuffer or ArrayBufferView holds
	// (shared, not copied), or false for anything else.
	viewBytes := func(v goja.Value) ([]byte, bool) {
		if ab, ok := v.Export().(goja.ArrayBuffer); ok {
			return ab.Bytes(), true
		}
		if r, err := isView(goja.Undefined(), v); err != nil || !r.ToBoolean() {
			return nil, false
		}
		o := v.(*goja.Object)
		ab, ok := o.Get("buffer").Export().(goja.ArrayBuffer)
		if !ok {
			return nil, false
		}
		b := ab.Bytes()
		off, length := o.Get("byteOffset").ToInteger(), o.Get("byteLength").ToInteger()
		if off < 0 || length < 0 || off+length > int64(len(b)) {
			return nil, false
		}
		return b[off : off+length], true
	}
	needBytes := func(fn string, v goja.Value) []byte {
		b, ok := viewBytes(v)
		if !ok {
			ext.ThrowTypeError(vm, "%s: the argument must be an ArrayBuffer or an ArrayBufferView", fn)
		}
		return b
	}

	// bytes(x) copies an ArrayBuffer or view's bytes into a new Uint8Array;
	// isBytes(x) says whether x is one.
	set("copyBytes", func(call goja.FunctionCall) goja.Value {
		b := needBytes("copyBytes", call.Argument(0))
		return newU8(append([]byte(nil), b...))
	})
	set("isBufferSource", func(call goja.FunctionCall) goja.Value {
		_, ok := viewBytes(call.Argument(0))
		return vm.ToValue(ok)
	})

	// TextEncoder / TextDecoder.
	set("encode", func(call goja.FunctionCall) goja.Value {
		return newU8([]byte(call.Argument(0).String()))
	})
	set("encodeInto", func(call goja.FunctionCall) goja.Value {
		s := call.Argument(0).String()
		dst := needBytes("TextEncoder.encodeInto", call.Argument(1))
		read, written := 0, 0
		for _, r := range s {
			var buf [4]byte
			n := copy(buf[:], string(r))
			if written+n > len(dst) {
				break
			}
			copy(dst[written:], buf[:n])
			written += n
			read++
			if r >= 0x10000 {
				read++
			}
		}
		return vm.NewArray(read, written)
	})
	set("encodingName", func(call goja.FunctionCall) goja.Value {
		if e := encodingName(call.Argument(0).String()); e != "" {
			return vm.ToValue(e)
		}
		return goja.Null()
	})
	set("newDecoder", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(&textDecoder{enc: call.Argument(0).String(), fatal: call.Argument(1).ToBoolean(), ignoreBOM: call.Argument(2).ToBoolean()})
	})
	set("decode", func(call goja.FunctionCall) goja.Value {
		d, ok := call.Argument(0).Export().(*textDecoder)
		if !ok {
			ext.ThrowTypeError(vm, "TextDecoder.decode: illegal invocation")
		}
		var in []byte
		if v := call.Argument(1); !goja.IsUndefined(v) && !goja.IsNull(v) {
			in = needBytes("TextDecoder.decode", v)
		}
		units, ok := d.decode(in, call.Argument(2).ToBoolean())
		if !ok {
			return goja.Null()
		}
		return vm.ToValue(goja.StringFromUTF16(units))
	})
	// Buffer's string encodings.
	set("bufferEncode", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(vm.NewArrayBuffer(bufferEncode(jsString(call.Argument(0)), call.Argument(1).String())))
	})
	set("bufferDecode", func(call goja.FunctionCall) goja.Value {
		b := needBytes("Buffer.toString", call.Argument(0))
		return bufferDecode(b, call.Argument(1).String())
	})
	set("isUtf8", func(call goja.FunctionCall) goja.Value {
		_, _, ok := utf8Decode(nil, needBytes("isUtf8", call.Argument(0)), false, true)
		return vm.ToValue(ok)
	})

	// atob / btoa: null tells web.js to throw InvalidCharacterError.
	set("atob", func(call goja.FunctionCall) goja.Value {
		b, ok := forgivingBase64Decode(call.Argument(0).String())
		if !ok {
			return goja.Null()
		}
		return vm.ToValue(bytesToLatin1(b))
	})
	set("btoa", func(call goja.FunctionCall) goja.Value {
		b, ok := latin1Units(jsString(call.Argument(0)))
		if !ok {
			return goja.Null()
		}
		return vm.ToValue(base64.StdEncoding.EncodeToString(b))
	})

	// crypto.
	set("randomUUID", func(goja.FunctionCall) goja.Value {
		return vm.ToValue(randomUUID())
	})
	set("fillRandom", func(call goja.FunctionCall) goja.Value {
		b := needBytes("crypto.getRandomValues", call.Argument(0))
		_, _ = rand.Read(b)
		return goja.Undefined()
	})

	// timer(ms, fn) calls fn on the loop after ms of wall-clock time,
	// without keeping the run alive (AbortSignal.timeout is unref'd in
	// Node.js too); it returns a function that cancels it.
	set("timer", func(call goja.FunctionCall) goja.Value {
		ms := call.Argument(0).ToFloat()
		fn, ok := goja.AssertFunction(call.Argument(1))
		if !ok {
			ext.ThrowTypeError(vm, "timer: not a function")
		}
		if !(ms*float64(time.Millisecond) < math.MaxInt64) {
			// Beyond what a time.Duration holds (292 years): never fires.
			return vm.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
		}
		cancel := unrefTimer(h, time.Duration(ms*float64(time.Millisecond)), func() {
			if _, err := fn(goja.Undefined()); err != nil {
				h.ReportError("AbortSignal.timeout", err)
			}
		})
		return vm.ToValue(func(goja.FunctionCall) goja.Value { cancel(); return goja.Undefined() })
	})
	// report(origin, error) reports an exception a callback the preludes
	// called threw (an event listener, a queueMicrotask callback).
	set("report", func(call goja.FunctionCall) goja.Value {
		h.ReportError(call.Argument(0).String(), errors.New(eventloop.ErrorStack(vm, call.Argument(1))))
		return goja.Undefined()
	})
	// caller() is the script position (file:line) calling into a prelude.
	set("caller", func(goja.FunctionCall) goja.Value {
		for _, f := range vm.CaptureCallStack(0, nil) {
			name := f.SrcName()
			if name == "" || name == "<native>" || strings.HasPrefix(name, "scriptd:") {
				continue
			}
			return vm.ToValue(fmt.Sprintf("%s:%d", name, f.Position().Line))
		}
		return vm.ToValue("")
	})
	return n
}

// jsString is v converted to a string, with its UTF-16 code units.
func jsString(v goja.Value) goja.String {
	if s, ok := v.ToString().(goja.String); ok {
		return s
	}
	return goja.StringFromUTF16(utf16.Encode([]rune(v.String())))
}

// unrefTimer runs fn on h's loop after d without holding the loop open.
// The timer is dropped when the version retires.
func unrefTimer(h ext.Host, d time.Duration, fn func()) (cancel func()) {
	var mu sync.Mutex
	var t *time.Timer
	stopCtx := context.AfterFunc(h.Context(), func() {
		mu.Lock()
		defer mu.Unlock()
		if t != nil {
			t.Stop()
		}
	})
	mu.Lock()
	t = time.AfterFunc(d, func() {
		stopCtx()
		h.RunOnLoop(fn)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		t.Stop()
		mu.Unlock()
		stopCtx()
	}
}

// randomUUID returns a random (version 4) UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
