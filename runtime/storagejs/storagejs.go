// Package storagejs exposes the storage framework to scripts as the Storage
// global (docs/storage.md): Storage.Async.* return promises resolved on the event
// loop when a worker goroutine completes the operation, and refuse to run
// outside an awaiting context (docs/scripts.md); Storage.Sync.* block the loop.
//
// Everything here runs on the loop goroutine except the completion
// callbacks, which only hand results back through the loop's reservations.
package storagejs

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/storagefw"
)

// Options configure the binding.
type Options struct {
	// Backends are the backend types scripts can open.
	Backends []storagefw.BackendType
	// ExpireInterval is the default sweep interval (Zeek's
	// Storage::expire_interval, 15 s).
	ExpireInterval time.Duration
	// OnFramework, if set, receives the engine's framework once created
	// (e.g. to serve its operations registry over HTTP).
	OnFramework func(*storagefw.Framework)
	// Observer receives storage activity for metrics (storagefw.Observer;
	// *metrics.Metrics is one).
	Observer storagefw.Observer
	// CloseTimeout bounds closing backends at shutdown (default 10 s).
	CloseTimeout time.Duration
}

// Extension returns a runtime extension installing Storage.
func Extension(opts Options) ext.Extension {
	return func(h ext.Host) (func(), error) {
		fw := storagefw.New(storagefw.Config{
			Backends:       opts.Backends,
			Clock:          h.NetworkTime,
			ExpireInterval: opts.ExpireInterval,
			Logger:         h.Logger(),
			Observer:       opts.Observer,
		})
		if opts.OnFramework != nil {
			opts.OnFramework(fw)
		}
		b := &binding{host: h, vm: h.Runtime(), fw: fw}
		if err := b.install(); err != nil {
			return nil, err
		}
		timeout := opts.CloseTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		return func() {
			complete := b.host.RegisterCallback()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				fw.CloseAll(ctx)
				complete(nil)
			}()
		}, nil
	}
}

type binding struct {
	host ext.Host
	vm   *goja.Runtime
	fw   *storagefw.Framework

	// codes holds each return code as a JS string, converted once.
	codes map[storagefw.Code]goja.Value
	// lastHandle caches handleArg's last answer: the wrapper objects of
	// backend handles never change what they wrap, and exporting one
	// allocates.
	lastHandleObj *goja.Object
	lastHandle    *BackendHandle
}

// BackendHandle is what open_backend gives scripts: an opaque object.
type BackendHandle struct {
	Backend string `json:"backend"`
	h       *storagefw.Handle
}

func tagName(backend string) string { return "STORAGE_BACKEND_" + backend }

func (b *binding) install() error {
	vm := b.vm
	st := vm.NewObject()
	b.codes = make(map[storagefw.Code]goja.Value)
	for _, c := range storagefw.Codes() {
		b.codes[c] = vm.ToValue(string(c))
		_ = st.Set(string(c), b.codes[c])
	}
	for _, n := range b.fw.BackendNames() {
		_ = st.Set(tagName(n), tagName(n))
	}
	_ = st.Set("STORAGE_SERIALIZER_JSON", "STORAGE_SERIALIZER_JSON")

	async := vm.NewObject()
	sync := vm.NewObject()
	_ = async.Set("open_backend", b.host.Func("Storage.Async.open_backend", b.asyncOpen))
	_ = async.Set("close_backend", b.host.Func("Storage.Async.close_backend", b.asyncClose))
	_ = async.Set("put", b.host.Func("Storage.Async.put", b.asyncKeyed("put")))
	_ = async.Set("get", b.host.Func("Storage.Async.get", b.asyncKeyed("get")))
	_ = async.Set("erase", b.host.Func("Storage.Async.erase", b.asyncKeyed("erase")))
	_ = sync.Set("open_backend", b.host.Func("Storage.Sync.open_backend", b.syncOpen))
	_ = sync.Set("close_backend", b.host.Func("Storage.Sync.close_backend", b.syncClose))
	_ = sync.Set("put", b.host.Func("Storage.Sync.put", b.syncKeyed("put")))
	_ = sync.Set("get", b.host.Func("Storage.Sync.get", b.syncKeyed("get")))
	_ = sync.Set("erase", b.host.Func("Storage.Sync.erase", b.syncKeyed("erase")))
	if err := b.installExtended(async, sync); err != nil {
		return err
	}
	_ = st.Set("Async", async)
	_ = st.Set("Sync", sync)
	_ = st.Set("is_open", b.host.Func("Storage.is_open", func(c goja.FunctionCall) goja.Value {
		h := b.handleArg("Storage.is_open", c.Argument(0))
		return vm.ToValue(h.h.IsOpen())
	}))
	_ = st.Set("is_forced_sync", b.host.Func("Storage.is_forced_sync", func(c goja.FunctionCall) goja.Value {
		h := b.handleArg("Storage.is_forced_sync", c.Argument(0))
		return vm.ToValue(h.h.IsForcedSync())
	}))
	return vm.GlobalObject().Set("Storage", st)
}

// handleArg extracts a BackendHandle or throws a TypeError.
func (b *binding) handleArg(fn string, v goja.Value) *BackendHandle {
	if o, ok := v.(*goja.Object); ok {
		if o == b.lastHandleObj {
			return b.lastHandle
		}
		if h, ok := o.Export().(*BackendHandle); ok && h != nil {
			b.lastHandleObj, b.lastHandle = o, h
			return h
		}
	}
	ext.ThrowTypeError(b.vm, "%s: the first argument must be a backend handle from open_backend", fn)
	return nil
}

// openArgs reads (btype, options, key_type, val_type).
func (b *binding) openArgs(fn string, c goja.FunctionCall) storagefw.OpenRequest {
	tag := c.Argument(0).String()
	const prefix = "STORAGE_BACKEND_"
	if len(tag) <= len(prefix) || tag[:len(prefix)] != prefix {
		ext.ThrowTypeError(b.vm, "%s: unknown backend type %q (use Storage.STORAGE_BACKEND_*)", fn, tag)
	}
	opts, _ := c.Argument(1).Export().(map[string]any)
	if opts == nil {
		opts = map[string]any{}
	}
	return storagefw.OpenRequest{
		Backend: tag[len(prefix):],
		Options: opts,
		KeyType: exportType(c.Argument(2)),
		ValType: exportType(c.Argument(3)),
	}
}

func forcedSync(req storagefw.OpenRequest) bool {
	f, _ := req.Options["forced_sync"].(bool)
	return f
}

// notifier returns the Notify func for a handle-to-be: connection events
// become Storage.backend_lost / Storage.backend_opened on the loop, with
// the options as the open reported them (every default filled in) once the
// handle exists, the script's own (redacted) before that.
func (b *binding) notifier(tag string, options map[string]any) (notify func(storagefw.EventKind, string), opened func(*storagefw.Handle)) {
	var handle atomic.Pointer[storagefw.Handle]
	redacted := storagefw.RedactOptions(options)
	optionsJS := func() goja.Value {
		if h := handle.Load(); h != nil {
			return b.toJS(h.Options())
		}
		return b.toJS(redacted)
	}
	notify = func(kind storagefw.EventKind, reason string) {
		b.host.RunOnLoop(func() {
			switch kind {
			case storagefw.BackendLost:
				b.host.Emit("Storage.backend_lost", b.vm.ToValue(tag), optionsJS(), b.vm.ToValue(reason))
			case storagefw.BackendOpened:
				b.host.Emit("Storage.backend_opened", b.vm.ToValue(tag), optionsJS())
			}
		})
	}
	return notify, func(h *storagefw.Handle) { handle.Store(h) }
}

// opened finishes an open on the loop: the result — whose value is the
// handle, also when the open failed (as Zeek hands the script the handle
// it could not open; every call on it gives NOT_CONNECTED) — and, on
// success, the backend_opened event with the options as Zeek passes them.
func (b *binding) opened(h *storagefw.Handle, res storagefw.OperationResult) goja.Value {
	if h == nil {
		return b.resultJS(res)
	}
	bh := &BackendHandle{Backend: tagName(h.BackendName()), h: h}
	res.Value = bh
	if res.Code == storagefw.Success {
		b.host.Emit("Storage.backend_opened", b.vm.ToValue(bh.Backend), b.toJS(h.Options()))
	}
	return b.resultJS(res)
}

func (b *binding) asyncOpen(c goja.FunctionCall) goja.Value {
	req := b.openArgs("Storage.Async.open_backend", c)
	if !forcedSync(req) {
		b.host.AssertAwaiting("Storage.Async.open_backend")
	}
	var known func(*storagefw.Handle)
	req.Notify, known = b.notifier(tagName(req.Backend), req.Options)
	promise, resolve, _ := b.vm.NewPromise()
	complete := b.host.RegisterCallback()
	go func() {
		h, res := b.fw.Open(b.host.Context(), req)
		known(h)
		complete(func() {
			result := b.opened(h, res)
			// As in Zeek, Storage.backend_opened is delivered before the
			// code awaiting the open goes on: the event's handlers run in
			// the task queued by Emit, the promise resolves in the next one.
			b.host.RunOnLoop(func() { _ = resolve(result) })
		})
	}()
	return b.vm.ToValue(promise)
}

func (b *binding) syncOpen(c goja.FunctionCall) goja.Value {
	req := b.openArgs("Storage.Sync.open_backend", c)
	var known func(*storagefw.Handle)
	req.Notify, known = b.notifier(tagName(req.Backend), req.Options)
	h, res := b.fw.Open(context.Background(), req)
	known(h)
	return b.opened(h, res)
}

// closed finishes a close: on success, Storage.backend_lost with Zeek's
// reason for a backend its script closed.
func (b *binding) closed(bh *BackendHandle, res storagefw.OperationResult) goja.Value {
	if res.Code == storagefw.Success {
		b.host.Emit("Storage.backend_lost", b.vm.ToValue(bh.Backend), b.toJS(bh.h.Options()), b.vm.ToValue("Client disconnected"))
	}
	return b.resultJS(res)
}

func (b *binding) asyncClose(c goja.FunctionCall) goja.Value {
	bh := b.handleArg("Storage.Async.close_backend", c.Argument(0))
	if !bh.h.IsForcedSync() {
		b.host.AssertAwaiting("Storage.Async.close_backend")
	}
	promise, resolve, _ := b.vm.NewPromise()
	complete := b.host.RegisterCallback()
	go func() {
		res := bh.h.Close(b.host.Context())
		complete(func() { _ = resolve(b.closed(bh, res)) })
	}()
	return b.vm.ToValue(promise)
}

func (b *binding) syncClose(c goja.FunctionCall) goja.Value {
	bh := b.handleArg("Storage.Sync.close_backend", c.Argument(0))
	return b.closed(bh, bh.h.Close(context.Background()))
}

// keyedArgs are a put/get/erase call's arguments, read before anything
// starts.
type keyedArgs struct {
	now        float64
	key, value any
	put        storagefw.PutArgs
}

// keyedArgs reads the arguments of put/get/erase (throwing a TypeError for
// bad ones). Inside an awaiting context the operation is issued at the
// network time of the event that began the context.
func (b *binding) keyedArgs(fn, method string, c goja.FunctionCall) keyedArgs {
	var a keyedArgs
	if ctx := b.host.CurrentContext(); ctx != nil {
		a.now = ctx.NetworkTime
	}
	if method != "put" {
		a.key = exportArg(c.Argument(1))
		return a
	}
	args, ok := c.Argument(1).(*goja.Object)
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: the second argument must be {key, value, overwrite, expire_time}", fn)
	}
	a.put.Overwrite = true
	if v := args.Get("overwrite"); v != nil && !goja.IsUndefined(v) {
		a.put.Overwrite = v.ToBoolean()
	}
	if v := args.Get("expire_time"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		d, err := storagefw.ParseInterval(v.Export(), 0)
		if err != nil {
			ext.ThrowTypeError(b.vm, "%s: expire_time: %v", fn, err)
		}
		a.put.ExpireTime = d
	}
	a.key, a.value = exportArg(args.Get("key")), exportArg(args.Get("value"))
	return a
}

// startKeyed starts put/get/erase with done as its completion.
func startKeyed(method string, bh *BackendHandle, a *keyedArgs, done func(storagefw.OperationResult)) {
	switch method {
	case "put":
		bh.h.PutAsync(a.now, a.key, a.value, a.put, done)
	case "get":
		bh.h.GetAsync(a.now, a.key, done)
	case "erase":
		bh.h.EraseAsync(a.now, a.key, done)
	}
}

func (b *binding) asyncKeyed(method string) func(goja.FunctionCall) goja.Value {
	fn := "Storage.Async." + method
	return func(c goja.FunctionCall) goja.Value {
		bh := b.handleArg(fn, c.Argument(0))
		if !bh.h.IsForcedSync() {
			b.host.AssertAwaiting(fn)
		}
		// The arguments first: a bad one throws before anything is
		// reserved.
		a := b.keyedArgs(fn, method, c)
		promise, resolve, _ := b.vm.NewPromise()
		complete := b.host.RegisterCallback()
		startKeyed(method, bh, &a, func(res storagefw.OperationResult) {
			complete(func() { _ = resolve(b.resultJS(res)) })
		})
		return b.vm.ToValue(promise)
	}
}

func (b *binding) syncKeyed(method string) func(goja.FunctionCall) goja.Value {
	fn := "Storage.Sync." + method
	return func(c goja.FunctionCall) goja.Value {
		bh := b.handleArg(fn, c.Argument(0))
		a := b.keyedArgs(fn, method, c)
		ch := make(chan storagefw.OperationResult, 1)
		startKeyed(method, bh, &a, func(res storagefw.OperationResult) { ch <- res })
		return b.resultJS(<-ch)
	}
}

// code is a return code as a JS string.
func (b *binding) code(c storagefw.Code) goja.Value {
	if v, ok := b.codes[c]; ok {
		return v
	}
	return b.vm.ToValue(string(c))
}

// resultJS builds {code, error_str?, value?}.
func (b *binding) resultJS(res storagefw.OperationResult) goja.Value {
	o := b.vm.NewObject()
	_ = o.Set("code", b.code(res.Code))
	if res.Error != "" {
		_ = o.Set("error_str", res.Error)
	}
	if res.Value != nil {
		if bh, ok := res.Value.(*BackendHandle); ok {
			_ = o.Set("value", bh)
		} else {
			_ = o.Set("value", b.toJS(res.Value))
		}
	}
	return o
}
