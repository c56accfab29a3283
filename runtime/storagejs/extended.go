package storagejs

import (
	"context"
	"errors"
	"strconv"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/ext"
	"github.com/scriptd/scriptd/storagefw"
)

// The calls beyond Zeek (docs/storage.md): get_many, put_many, erase_many,
// compare_and_swap, increment, update, scan and entries, in Storage.Async
// (promises; refused outside an awaiting context unless the handle is
// forced_sync) and Storage.Sync (blocking; no entries).

// starter starts one operation with done as its completion; now is the
// network time it is issued at. It throws (TypeError) for bad arguments
// before starting anything.
type starter func(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult))

// installExtended adds the calls to the Async and Sync objects.
func (b *binding) installExtended(async, sync *goja.Object) error {
	calls := []struct {
		name  string
		start starter
	}{
		{"get_many", b.startGetMany},
		{"put_many", b.startPutMany},
		{"erase_many", b.startEraseMany},
		{"compare_and_swap", b.startCAS},
		{"increment", b.startIncrement},
		{"scan", b.startScan},
	}
	for _, c := range calls {
		if err := async.Set(c.name, b.host.Func("Storage.Async."+c.name, b.asyncCall("Storage.Async."+c.name, c.start))); err != nil {
			return err
		}
		if err := sync.Set(c.name, b.host.Func("Storage.Sync."+c.name, b.syncCall("Storage.Sync."+c.name, c.start))); err != nil {
			return err
		}
	}
	_ = async.Set("update", b.host.Func("Storage.Async.update", b.asyncUpdate))
	_ = sync.Set("update", b.host.Func("Storage.Sync.update", b.syncUpdate))

	// entries: an async iterable paging through scan, written in JS once
	// per runtime over the Go scan (so a script replacing
	// Storage.Async.scan does not change it).
	mk, err := b.vm.RunString(entriesJS)
	if err != nil {
		return err
	}
	mkFn, _ := goja.AssertFunction(mk)
	entries, err := mkFn(goja.Undefined(), async.Get("scan"), b.vm.ToValue(string(storagefw.Success)),
		b.host.Func("Storage.Async.entries", func(c goja.FunctionCall) goja.Value {
			bh := b.handleArg("Storage.Async.entries", c.Argument(0))
			if !bh.h.IsForcedSync() {
				b.host.AssertAwaiting("Storage.Async.entries")
			}
			return goja.Undefined()
		}))
	if err != nil {
		return err
	}
	return async.Set("entries", entries)
}

// entriesJS makes Storage.Async.entries from the Go scan. Each next()
// awaits at most one scan page; a failed scan rejects next() with an Error
// carrying the result's code and error_str.
const entriesJS = `(function (scan, SUCCESS, check) {
  return function entries(h, opts) {
    check(h);
    const prefix = opts == null ? undefined : opts.prefix;
    const limit = opts == null ? undefined : opts.limit;
    return {
      [Symbol.asyncIterator]() {
        let buf = [], i = 0, cursor, done = false;
        return {
          async next() {
            while (i >= buf.length) {
              if (done) return { done: true, value: undefined };
              const r = await scan(h, { prefix, cursor, limit });
              if (r.code !== SUCCESS) {
                done = true;
                const e = new Error("Storage.Async.entries: scan failed: " + r.code + (r.error_str ? ": " + r.error_str : ""));
                e.code = r.code;
                e.error_str = r.error_str;
                throw e;
              }
              buf = r.value.entries;
              i = 0;
              cursor = r.value.cursor;
              if (cursor === undefined) done = true;
            }
            return { done: false, value: buf[i++] };
          },
          async return(value) {
            done = true;
            buf = [];
            i = 0;
            return { done: true, value };
          },
          [Symbol.asyncIterator]() { return this; },
        };
      },
    };
  };
})`

// issueTime is the network time an operation issued now uses: the
// awaiting context's, else the framework's clock (0).
func (b *binding) issueTime() float64 {
	if ctx := b.host.CurrentContext(); ctx != nil {
		return ctx.NetworkTime
	}
	return 0
}

func (b *binding) asyncCall(fn string, start starter) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		bh := b.handleArg(fn, c.Argument(0))
		if !bh.h.IsForcedSync() {
			b.host.AssertAwaiting(fn)
		}
		promise, resolve, _ := b.vm.NewPromise()
		complete := b.host.RegisterCallback()
		started := false
		defer func() {
			if !started {
				complete(nil) // a bad argument threw: release the reservation
			}
		}()
		start(fn, c, bh, b.issueTime(), func(res storagefw.OperationResult) {
			complete(func() { _ = resolve(b.extResultJS(res)) })
		})
		started = true
		return b.vm.ToValue(promise)
	}
}

func (b *binding) syncCall(fn string, start starter) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		bh := b.handleArg(fn, c.Argument(0))
		ch := make(chan storagefw.OperationResult, 1)
		start(fn, c, bh, b.issueTime(), func(res storagefw.OperationResult) { ch <- res })
		return b.extResultJS(<-ch)
	}
}

// ---- arguments ----

// arrayArg returns the elements of an array argument or throws.
func (b *binding) arrayArg(fn, what string, v goja.Value) []goja.Value {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		ext.ThrowTypeError(b.vm, "%s: %s must be an array", fn, what)
	}
	n := int(o.Get("length").ToInteger())
	out := make([]goja.Value, n)
	for i := range out {
		out[i] = o.Get(strconv.Itoa(i))
	}
	return out
}

// objectArg returns an options object (nil when undefined or null) or throws.
func (b *binding) objectArg(fn, what string, v goja.Value) *goja.Object {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: %s must be an object", fn, what)
	}
	return o
}

// field returns o[name], nil when o is nil or the field is absent or undefined.
func field(o *goja.Object, name string) goja.Value {
	if o == nil {
		return nil
	}
	v := o.Get(name)
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	return v
}

// expireArg reads an expire_time field: set is false when it is absent
// (undefined or null).
func (b *binding) expireArg(fn string, o *goja.Object) (d storagefw.PutArgs, set bool) {
	v := field(o, "expire_time")
	if v == nil || goja.IsNull(v) {
		return d, false
	}
	t, err := storagefw.ParseInterval(v.Export(), 0)
	if err != nil {
		ext.ThrowTypeError(b.vm, "%s: expire_time: %v", fn, err)
	}
	d.ExpireTime = t
	return d, true
}

func (b *binding) keys(fn string, v goja.Value) []any {
	vals := b.arrayArg(fn, "the keys", v)
	keys := make([]any, len(vals))
	for i, k := range vals {
		keys[i] = exportArg(k)
	}
	return keys
}

func (b *binding) startGetMany(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	bh.h.GetManyAsync(now, b.keys(fn, c.Argument(1)), done)
}

func (b *binding) startEraseMany(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	bh.h.EraseManyAsync(now, b.keys(fn, c.Argument(1)), done)
}

func (b *binding) startPutMany(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	vals := b.arrayArg(fn, "the entries", c.Argument(1))
	entries := make([]storagefw.PutEntry, len(vals))
	for i, v := range vals {
		o, ok := v.(*goja.Object)
		if !ok {
			ext.ThrowTypeError(b.vm, "%s: entry %d must be {key, value, overwrite, expire_time}", fn, i)
		}
		args, _ := b.expireArg(fn, o)
		args.Overwrite = true
		if ov := field(o, "overwrite"); ov != nil {
			args.Overwrite = ov.ToBoolean()
		}
		entries[i] = storagefw.PutEntry{Key: exportArg(o.Get("key")), Value: exportArg(o.Get("value")), Args: args}
	}
	bh.h.PutManyAsync(now, entries, done)
}

func (b *binding) startCAS(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	o, ok := c.Argument(1).(*goja.Object)
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: the second argument must be {key, expected, value, expire_time}", fn)
	}
	args := storagefw.CASArgs{Key: exportArg(o.Get("key"))}
	if v := field(o, "expected"); v != nil {
		args.Expected, args.HasExpected = exportArg(v), true
	}
	if v := field(o, "value"); v != nil {
		args.Value = exportArg(v)
	} else {
		args.Erase = true
	}
	var e storagefw.PutArgs
	e, args.SetExpiry = b.expireArg(fn, o)
	args.ExpireTime = e.ExpireTime
	bh.h.CompareAndSwapAsync(now, args, done)
}

func (b *binding) startIncrement(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	o, ok := c.Argument(1).(*goja.Object)
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: the second argument must be {key, by, expire_time}", fn)
	}
	var args storagefw.IncrementArgs
	if v := field(o, "by"); v != nil {
		args.By = v.Export()
	}
	var e storagefw.PutArgs
	e, args.SetExpiry = b.expireArg(fn, o)
	args.ExpireTime = e.ExpireTime
	bh.h.IncrementAsync(now, exportArg(o.Get("key")), args, done)
}

func (b *binding) startScan(fn string, c goja.FunctionCall, bh *BackendHandle, now float64, done func(storagefw.OperationResult)) {
	o := b.objectArg(fn, "the second argument", c.Argument(1))
	var args storagefw.ScanArgs
	if v := field(o, "prefix"); v != nil && !goja.IsNull(v) {
		s, ok := v.Export().(string)
		if !ok {
			ext.ThrowTypeError(b.vm, "%s: prefix must be a string", fn)
		}
		args.Prefix = s
	}
	if v := field(o, "cursor"); v != nil && !goja.IsNull(v) {
		s, ok := v.Export().(string)
		if !ok {
			ext.ThrowTypeError(b.vm, "%s: cursor must be a string from a previous scan", fn)
		}
		args.Cursor = s
	}
	if v := field(o, "limit"); v != nil && !goja.IsNull(v) {
		n := v.ToInteger()
		if n <= 0 {
			ext.ThrowTypeError(b.vm, "%s: limit must be a positive number", fn)
		}
		args.Limit = int(min(n, storagefw.MaxScanLimit))
	}
	bh.h.ScanAsync(now, args, done)
}

// updateArgs reads update's options {expire_time, max_attempts}.
func (b *binding) updateArgs(fn string, v goja.Value) storagefw.UpdateArgs {
	o := b.objectArg(fn, "the options", v)
	e, set := b.expireArg(fn, o)
	args := storagefw.UpdateArgs{ExpireTime: e.ExpireTime, SetExpiry: set}
	if m := field(o, "max_attempts"); m != nil && !goja.IsNull(m) {
		n := m.ToInteger()
		if n <= 0 {
			ext.ThrowTypeError(b.vm, "%s: max_attempts must be a positive number", fn)
		}
		args.MaxAttempts = int(min(n, 1<<20))
	}
	return args
}

// errFnThrew marks an update whose function threw (the binding rejects
// with what it threw).
var errFnThrew = errors.New("the update function threw")

// asyncUpdate is Storage.Async.update(handle, key, fn, {expire_time,
// max_attempts}): fn runs on the loop in the caller's awaiting context,
// may be async (its promise is awaited there), and is called again on
// each conflict.
func (b *binding) asyncUpdate(c goja.FunctionCall) goja.Value {
	const fn = "Storage.Async.update"
	bh := b.handleArg(fn, c.Argument(0))
	if !bh.h.IsForcedSync() {
		b.host.AssertAwaiting(fn)
	}
	userFn, ok := goja.AssertFunction(c.Argument(2))
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: the third argument must be a function", fn)
	}
	args := b.updateArgs(fn, c.Argument(3))
	key := exportArg(c.Argument(1))
	actx := b.host.CurrentContext()
	if actx != nil {
		// Updates of one key from different handlers take turns; one
		// nested in another's fn (same context) does not wait for it.
		args.Owner = actx
	}
	now := b.issueTime()
	promise, resolve, reject := b.vm.NewPromise()

	// pending is the reservation for the next hop back to the loop: taken
	// on the loop before each step that hands work to a backend, used by
	// that work's completion.
	pending := b.host.RegisterCallback()
	var thrown goja.Value
	var threw bool
	step := func(cur any, found bool, reply func(any, bool, error)) {
		hop := pending
		hop(func() {
			arg := goja.Undefined()
			if found {
				arg = b.toJS(cur)
			}
			fail := func(reason goja.Value) {
				thrown, threw = reason, true
				pending = b.host.RegisterCallback()
				reply(nil, false, errFnThrew)
			}
			v, err := b.host.CallIn(actx, userFn, goja.Undefined(), arg)
			if err != nil {
				fail(exceptionValue(b.vm, err))
				return
			}
			b.await(actx, v, func(val goja.Value) {
				pending = b.host.RegisterCallback()
				if val == nil || goja.IsUndefined(val) {
					reply(nil, true, nil)
					return
				}
				reply(exportArg(val), false, nil)
			}, fail)
		})
	}
	bh.h.UpdateAsync(now, key, step, args, func(res storagefw.OperationResult) {
		hop := pending
		hop(func() {
			if threw {
				_ = reject(thrown)
				return
			}
			_ = resolve(b.extResultJS(res))
		})
	})
	return b.vm.ToValue(promise)
}

// exceptionValue is what a failed call threw.
func exceptionValue(vm *goja.Runtime, err error) goja.Value {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	return vm.NewGoError(err)
}

// await resolves v (a value or a promise) in the awaiting context actx and
// calls ok or fail with the outcome, on the loop.
func (b *binding) await(actx *ext.AwaitingContext, v goja.Value, ok, fail func(goja.Value)) {
	if o, isObj := v.(*goja.Object); !isObj || o.Get("then") == nil || goja.IsUndefined(o.Get("then")) {
		ok(v) // not a thenable: no need to wait a turn
		return
	}
	promiseCtor := b.vm.Get("Promise").(*goja.Object)
	resolveFn, _ := goja.AssertFunction(promiseCtor.Get("resolve"))
	wrapped, err := b.host.CallIn(actx, resolveFn, promiseCtor, v)
	if err != nil {
		fail(exceptionValue(b.vm, err))
		return
	}
	wobj := wrapped.(*goja.Object)
	then, _ := goja.AssertFunction(wobj.Get("then"))
	onOK := b.host.Func("Storage.Async.update", func(c goja.FunctionCall) goja.Value {
		ok(c.Argument(0))
		return goja.Undefined()
	})
	onErr := b.host.Func("Storage.Async.update", func(c goja.FunctionCall) goja.Value {
		fail(c.Argument(0))
		return goja.Undefined()
	})
	if _, err := b.host.CallIn(actx, then, wobj, onOK, onErr); err != nil {
		fail(exceptionValue(b.vm, err))
	}
}

// syncUpdate is Storage.Sync.update: fn runs on the loop, synchronously; it
// must not return a promise.
func (b *binding) syncUpdate(c goja.FunctionCall) goja.Value {
	const fn = "Storage.Sync.update"
	bh := b.handleArg(fn, c.Argument(0))
	userFn, ok := goja.AssertFunction(c.Argument(2))
	if !ok {
		ext.ThrowTypeError(b.vm, "%s: the third argument must be a function", fn)
	}
	args := b.updateArgs(fn, c.Argument(3))
	var thrown goja.Value
	res, err := bh.h.Update(context.Background(), exportArg(c.Argument(1)), func(cur any, found bool) (any, bool, error) {
		arg := goja.Undefined()
		if found {
			arg = b.toJS(cur)
		}
		v, err := userFn(goja.Undefined(), arg)
		if err != nil {
			thrown = exceptionValue(b.vm, err)
			return nil, false, errFnThrew
		}
		if o, isObj := v.(*goja.Object); isObj {
			if t := o.Get("then"); t != nil && !goja.IsUndefined(t) {
				thrown = b.vm.NewTypeError(fn + ": the function returned a promise; use Storage.Async.update for an async function")
				return nil, false, errFnThrew
			}
		}
		if v == nil || goja.IsUndefined(v) {
			return nil, true, nil
		}
		return exportArg(v), false, nil
	}, args)
	if err != nil && thrown != nil {
		panic(thrown)
	}
	return b.extResultJS(res)
}

// ---- results ----

// extResultJS builds {code, error_str?, value?} for the calls' values:
// entry lists, scan pages, and plain values as resultJS does.
func (b *binding) extResultJS(res storagefw.OperationResult) goja.Value {
	switch v := res.Value.(type) {
	case []storagefw.EntryResult:
		o := b.vm.NewObject()
		_ = o.Set("code", b.code(res.Code))
		if res.Error != "" {
			_ = o.Set("error_str", res.Error)
		}
		items := make([]any, len(v))
		for i, e := range v {
			eo := b.vm.NewObject()
			_ = eo.Set("code", b.code(e.Code))
			if e.Error != "" {
				_ = eo.Set("error_str", e.Error)
			}
			if e.Code == storagefw.Success && e.Value != nil {
				_ = eo.Set("value", b.toJS(e.Value))
			}
			items[i] = eo
		}
		_ = o.Set("value", b.vm.NewArray(items...))
		return o
	case storagefw.ScanPage:
		o := b.vm.NewObject()
		_ = o.Set("code", b.code(res.Code))
		page := b.vm.NewObject()
		items := make([]any, len(v.Entries))
		for i, e := range v.Entries {
			eo := b.vm.NewObject()
			_ = eo.Set("key", b.toJS(e.Key))
			_ = eo.Set("value", b.toJS(e.Value))
			items[i] = eo
		}
		_ = page.Set("entries", b.vm.NewArray(items...))
		if v.Cursor != "" {
			_ = page.Set("cursor", v.Cursor)
		}
		_ = o.Set("value", page)
		return o
	}
	return b.resultJS(res)
}
