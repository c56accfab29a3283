package storagefw

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The calls beyond Zeek (docs/storage.md, "Beyond Zeek"): batches,
// compare_and_swap, increment, update and scan. Each is issued in order
// with every other operation on its handle; each reports NOT_CONNECTED on a
// closed handle before looking at its arguments.

// PutEntry is one entry of PutMany.
type PutEntry struct {
	Key, Value any
	Args       PutArgs
}

// EntryResult is one entry's outcome in a batch: its code, an error
// string for failures and, for GetMany, the value.
type EntryResult struct {
	Code  Code
	Error string
	Value any
}

// CASArgs are compare_and_swap's arguments.
type CASArgs struct {
	Key any
	// Expected is the value the entry must hold (value equality under the
	// handle's value type) when HasExpected; otherwise it must be absent or
	// expired.
	Expected    any
	HasExpected bool
	// Value replaces the entry, unless Erase is set: then a match erases it.
	Value any
	Erase bool
	// ExpireTime is the new entry's lifetime (0: forever) when SetExpiry;
	// otherwise it keeps the expiry of the entry it replaces.
	ExpireTime time.Duration
	SetExpiry  bool
}

// IncrementArgs are increment's arguments beyond the key.
type IncrementArgs struct {
	// By is what to add: an integer or a double (nil: 1).
	By any
	// ExpireTime sets the entry's lifetime (0: forever) when SetExpiry;
	// otherwise an existing entry keeps its own.
	ExpireTime time.Duration
	SetExpiry  bool
}

// UpdateArgs are update's arguments beyond the key and function.
type UpdateArgs struct {
	// ExpireTime and SetExpiry: as for CASArgs.
	ExpireTime time.Duration
	SetExpiry  bool
	// MaxAttempts bounds how often fn is called (default 100).
	MaxAttempts int
	// Owner, if not nil, makes updates of one key on the handle run one at
	// a time, in issue order (so they do not conflict with each other),
	// except that an update with the same Owner as the running one does
	// not wait (it may be nested in its function). The JS binding passes
	// the awaiting context. Nil: no waiting; concurrent updates conflict
	// and retry.
	Owner any
}

// UpdateFunc computes an entry's new value from its current one (found is
// false when it is absent or expired). It reports through reply, exactly
// once, possibly later and from another goroutine: the new value, or erase
// to erase the entry, or an error to give up without writing.
type UpdateFunc func(current any, found bool, reply func(next any, erase bool, err error))

// ScanArgs are scan's arguments.
type ScanArgs struct {
	// Prefix selects keys starting with it (key type string only; "": all).
	Prefix string
	// Cursor continues from a previous page's ScanPage.Cursor ("": start).
	Cursor string
	// Limit is the most entries per page (default 1000).
	Limit int
}

// ScanEntry is one listed entry.
type ScanEntry struct {
	Key, Value any
}

// ScanPage is a successful scan's value: the entries of one page and the
// cursor of the next ("" when the scan is complete).
type ScanPage struct {
	Entries []ScanEntry
	Cursor  string
}

// Defaults of the calls.
const (
	DefaultScanLimit         = 1000
	MaxScanLimit             = 100000
	DefaultUpdateMaxAttempts = 100
)

// ErrUpdateFunc wraps the error an UpdateFunc reported, so callers can
// tell it from storage failures.
type ErrUpdateFunc struct{ Err error }

func (e *ErrUpdateFunc) Error() string { return "update function failed: " + e.Err.Error() }
func (e *ErrUpdateFunc) Unwrap() error { return e.Err }

// capability checks.
func (h *Handle) batches() bool {
	c, ok := h.backend.(Batcher)
	return ok && c.SupportsBatches()
}

func (h *Handle) swaps() bool {
	c, ok := h.backend.(Swapper)
	return ok && c.SupportsCompareAndSwap()
}

func (h *Handle) increments() bool {
	c, ok := h.backend.(Incrementer)
	return ok && c.SupportsIncrement()
}

func (h *Handle) scans() bool {
	c, ok := h.backend.(Scanner)
	return ok && c.SupportsScan()
}

// serializeValue checks and serializes a value of the handle's value type.
func (h *Handle) serializeValue(v any) ([]byte, OperationResult, bool) {
	_, vb, res, ok := h.encodeValue(v)
	return vb, res, ok
}

// encodeValue normalizes v to the value type and serializes it, refusing a
// value the backend would not store (checkSize); nv is the normalized value.
func (h *Handle) encodeValue(v any) (nv any, vb []byte, res OperationResult, ok bool) {
	nv, err := h.valType.Normalize(v)
	if err != nil {
		return nil, nil, fail(ValTypeMismatch, "value: %v", err), false
	}
	vb, err = h.ser.Serialize(nv)
	if err != nil {
		return nil, nil, fail(SerializationFailed, "value: %v", err), false
	}
	if res, ok := h.checkSize(vb); !ok {
		return nil, nil, res, false
	}
	return nv, vb, OperationResult{}, true
}

// checkSize refuses, before anything is sent, a serialized value larger
// than the backend stores (Redis: 512 MiB, its proto-max-bulk-len), so the
// request fails alone instead of breaking the connection every other
// operation of the handle uses.
func (h *Handle) checkSize(vb []byte) (OperationResult, bool) {
	if max := h.typ.MaxValueSize; max > 0 && len(vb) > max {
		return fail(OperationFailed, "value: %d bytes serialized, more than the %d the %s backend stores", len(vb), max, h.typ.Name), false
	}
	return OperationResult{}, true
}

// expireAt turns a lifetime into an absolute expiry (0: never).
func expireAt(now float64, d time.Duration) float64 {
	if d > 0 {
		return now + d.Seconds()
	}
	return 0
}

// ---- batches ----

// batchCall is a batch on its way: the validated entries go to the
// backend, entries that failed validation already have their results.
type batchCall struct {
	h       *Handle
	kind    RequestKind
	results []EntryResult
	pos     []int // pos[i]: index in results of the i-th entry sent
	entries []BatchEntry
}

func (h *Handle) newBatch(kind RequestKind, n int) *batchCall {
	return &batchCall{h: h, kind: kind, results: make([]EntryResult, n), pos: make([]int, 0, n), entries: make([]BatchEntry, 0, n)}
}

// entryResult turns a backend's per-entry reply into an EntryResult.
func (c *batchCall) entryResult(r Reply) EntryResult {
	if c.kind == GetManyRequest && r.Code == Success {
		res := c.h.decode(r.Value)
		return EntryResult{Code: res.Code, Error: res.Error, Value: res.Value}
	}
	return EntryResult{Code: r.Code, Error: r.Error}
}

// run sends the batch (natively or as singles) and reports through done.
func (c *batchCall) run(now float64, keys any, done func(OperationResult)) {
	h := c.h
	method := c.kind.String()
	if len(c.entries) == 0 {
		res := OperationResult{Code: Success, Value: c.results}
		entry := h.fw.ops.start(method, h.typ.Name, nil)
		h.finish(entry, method, time.Now(), res)
		done(res)
		return
	}
	entry := h.fw.ops.start(method, h.typ.Name, keys)
	start := time.Now()
	finish := func(res OperationResult) {
		h.finish(entry, method, start, res)
		done(res)
	}
	if h.batches() {
		op := &Request{Kind: c.kind, Entries: c.entries, Now: now, h: h}
		op.done = func(r Reply) {
			for i, p := range c.pos {
				if i < len(r.Entries) {
					c.results[p] = c.entryResult(r.Entries[i])
				} else {
					c.results[p] = EntryResult{Code: r.Code, Error: r.Error}
					if r.Code == Success {
						c.results[p] = EntryResult{Code: OperationFailed, Error: "the backend reported no result for this entry"}
					}
				}
			}
			finish(OperationResult{Code: r.Code, Error: r.Error, Value: c.results})
		}
		h.fw.ops.setCancel(entry, op.Cancel)
		h.send(op)
		return
	}
	// As singles, in one Submit call (one round trip or transaction where
	// the backend groups what is submitted together).
	single := map[RequestKind]RequestKind{GetManyRequest: GetRequest, PutManyRequest: PutRequest, EraseManyRequest: EraseRequest}[c.kind]
	ops := make([]*Request, len(c.entries))
	var left atomic.Int32
	left.Store(int32(len(ops)))
	var mu sync.Mutex
	batchCode, batchErr := Success, ""
	for i, e := range c.entries {
		op := &Request{Kind: single, Key: e.Key, Value: e.Value, Overwrite: e.Overwrite, ExpireAt: e.ExpireAt, Now: now, h: h}
		p := c.pos[i]
		op.done = func(r Reply) {
			c.results[p] = c.entryResult(r)
			switch r.Code {
			case NotConnected, ConnectionLost, Timeout:
				mu.Lock()
				if batchCode == Success {
					batchCode, batchErr = r.Code, r.Error
				}
				mu.Unlock()
			}
			if left.Add(-1) == 0 {
				mu.Lock()
				code, msg := batchCode, batchErr
				mu.Unlock()
				finish(OperationResult{Code: code, Error: msg, Value: c.results})
			}
		}
		ops[i] = op
	}
	h.send(ops...)
}

// GetManyAsync reads keys; the result's Value is a []EntryResult in the
// order of keys (KEY_NOT_FOUND for a missing key). now is as for PutAsync.
func (h *Handle) GetManyAsync(now float64, keys []any, done func(OperationResult)) {
	h.keysBatch(GetManyRequest, now, keys, done)
}

// keysBatch runs a batch of keys alone (get_many, erase_many): a key of the
// wrong type fails on its own entry, the others go to the backend.
func (h *Handle) keysBatch(kind RequestKind, now float64, keys []any, done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	c := h.newBatch(kind, len(keys))
	for i, k := range keys {
		kb, res, ok := h.prepareKey(k)
		if !ok {
			c.results[i] = EntryResult{Code: res.Code, Error: res.Error}
			continue
		}
		c.pos = append(c.pos, i)
		c.entries = append(c.entries, BatchEntry{Key: kb})
	}
	c.run(h.now(now), keys, done)
}

// PutManyAsync writes entries in order; the result's Value is a
// []EntryResult in their order.
func (h *Handle) PutManyAsync(now float64, entries []PutEntry, done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	now = h.now(now)
	c := h.newBatch(PutManyRequest, len(entries))
	for i, e := range entries {
		kb, res, ok := h.prepareKey(e.Key)
		if !ok {
			c.results[i] = EntryResult{Code: res.Code, Error: res.Error}
			continue
		}
		vb, res, ok := h.serializeValue(e.Value)
		if !ok {
			c.results[i] = EntryResult{Code: res.Code, Error: res.Error}
			continue
		}
		c.pos = append(c.pos, i)
		c.entries = append(c.entries, BatchEntry{Key: kb, Value: vb, Overwrite: e.Args.Overwrite, ExpireAt: expireAt(now, e.Args.ExpireTime)})
	}
	var key any
	if len(entries) > 0 {
		key = entries[0].Key
	}
	c.run(now, key, done)
}

// EraseManyAsync erases keys in order; the result's Value is a
// []EntryResult (KEY_NOT_FOUND for a missing key).
func (h *Handle) EraseManyAsync(now float64, keys []any, done func(OperationResult)) {
	h.keysBatch(EraseManyRequest, now, keys, done)
}

// ---- compare_and_swap ----

// maxEqualRetries bounds how often compare_and_swap retries when the stored
// bytes differ from the expected value's but decode to an equal value
// (written by another serializer, e.g. Zeek's).
const maxEqualRetries = 3

// CompareAndSwapAsync replaces (or erases) an entry if it holds the
// expected value. Results: SUCCESS; KEY_EXISTS with the current value as
// Value; KEY_NOT_FOUND when a value was expected and none is stored.
func (h *Handle) CompareAndSwapAsync(now float64, args CASArgs, done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	kb, res, ok := h.prepareKey(args.Key)
	if !ok {
		done(res)
		return
	}
	op := &Request{Kind: CompareAndSwapRequest, Key: kb, Now: h.now(now), Erase: args.Erase, h: h}
	if !args.Erase {
		if op.Value, res, ok = h.serializeValue(args.Value); !ok {
			done(res)
			return
		}
	}
	if args.HasExpected {
		eb, res, ok := h.serializeValue(args.Expected)
		if !ok {
			res.Error = "expected " + res.Error
			done(res)
			return
		}
		op.Expected = eb
	} else {
		op.ExpectAbsent = true
	}
	if args.SetExpiry {
		op.ExpireAt = expireAt(op.Now, args.ExpireTime)
	} else {
		op.KeepExpiry = true
	}
	if !h.swaps() {
		done(fail(OperationFailed, "backend %s does not support compare_and_swap", h.typ.Name))
		return
	}
	const method = "compare_and_swap"
	entry := h.fw.ops.start(method, h.typ.Name, args.Key)
	start := time.Now()
	retries := 0
	var complete func(r Reply)
	complete = func(r Reply) {
		res := OperationResult{Code: r.Code, Error: r.Error}
		if r.Code == KeyExists && r.Value != nil {
			if !op.ExpectAbsent && retries < maxEqualRetries && !bytes.Equal(r.Value, op.Expected) && h.sameValue(r.Value, op.Expected) {
				// Equal under the value type, stored differently: swap
				// against the stored bytes.
				retries++
				next := &Request{Kind: CompareAndSwapRequest, Key: op.Key, Value: op.Value, Now: op.Now, Erase: op.Erase,
					Expected: r.Value, ExpireAt: op.ExpireAt, KeepExpiry: op.KeepExpiry, h: h}
				next.done = complete
				h.fw.ops.setCancel(entry, next.Cancel)
				h.send(next)
				return
			}
			cur := h.decode(r.Value)
			if cur.Code != Success {
				res = cur
			} else {
				res.Value = cur.Value
			}
		}
		h.finish(entry, method, start, res)
		done(res)
	}
	op.done = complete
	h.fw.ops.setCancel(entry, op.Cancel)
	h.send(op)
}

// sameValue reports whether stored bytes hold the value serialized as
// want: value equality under the value type (sets and tables in any
// order, 0.0 equal to -0.0, ...), for bytes another writer (Zeek) laid
// out differently.
func (h *Handle) sameValue(stored, want []byte) bool {
	a := h.decode(stored)
	b := h.decode(want)
	return a.Code == Success && b.Code == Success && h.valType.equal(a.Value, b.Value)
}

// ---- increment ----

// IncrementAsync adds args.By to a numeric entry in one atomic step (an
// absent or expired entry counts as 0); the result's Value is the new
// number. The value type must be count, int, double or any.
func (h *Handle) IncrementAsync(now float64, key any, args IncrementArgs, done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	kb, res, ok := h.prepareKey(key)
	if !ok {
		done(res)
		return
	}
	op := &Request{Kind: IncrementRequest, Key: kb, Now: h.now(now), h: h}
	switch h.valType.Kind {
	case kindCount:
		op.Num = NumCount
	case kindInt:
		op.Num = NumInt
	case kindDouble:
		op.Num = NumDouble
	case kindAny:
		op.Num = NumAny
	default:
		done(fail(ValTypeMismatch, "increment needs a value type of count, int, double or any, not %s", h.valType))
		return
	}
	by := args.By
	if by == nil {
		by = int64(1)
	}
	i, f, isInt, ok := numberOf(by)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		done(fail(ValTypeMismatch, "by: %s is not a number", describe(by)))
		return
	}
	if !isInt && f == float64(int64(f)) && (op.Num != NumDouble) {
		i, isInt = int64(f), true
	}
	op.DeltaInt, op.DeltaFloat, op.DeltaIsInt = i, f, isInt
	if !isInt && (op.Num == NumCount || op.Num == NumInt) {
		done(fail(ValTypeMismatch, "by: %v is not an integer", f))
		return
	}
	if args.SetExpiry {
		op.ExpireAt = expireAt(op.Now, args.ExpireTime)
	} else {
		op.KeepExpiry = true
	}
	const method = "increment"
	entry := h.fw.ops.start(method, h.typ.Name, key)
	start := time.Now()
	finish := func(r Reply) {
		res := OperationResult{Code: r.Code, Error: r.Error}
		if r.Code == Success {
			res = h.decode(r.Value)
		}
		h.finish(entry, method, start, res)
		done(res)
	}
	switch {
	case h.increments():
		op.done = finish
		h.fw.ops.setCancel(entry, op.Cancel)
		h.send(op)
	case h.swaps():
		h.incrementBySwaps(op, finish)
	default:
		finish(Reply{Code: OperationFailed, Error: fmt.Sprintf("backend %s supports neither increment nor compare_and_swap", h.typ.Name)})
	}
}

// incrementBySwaps composes an increment from a read and compare-and-swaps
// for a backend without native increments. It holds the handle meanwhile,
// so the increment takes effect at its place in the issue order.
func (h *Handle) incrementBySwaps(op *Request, finish func(Reply)) {
	h.compose(func() { h.incrementBySwapsHeld(op, finish) })
}

func (h *Handle) incrementBySwapsHeld(op *Request, finish func(Reply)) {
	var released atomic.Bool
	end := func(r Reply) {
		if released.CompareAndSwap(false, true) {
			h.release()
		}
		finish(r)
	}
	var swap func(cur []byte, found bool, attempt int)
	swap = func(cur []byte, found bool, attempt int) {
		if attempt > DefaultUpdateMaxAttempts {
			end(Reply{Code: OperationFailed, Error: fmt.Sprintf("increment: gave up after %d conflicting attempts", attempt-1)})
			return
		}
		next, r := op.Increment(cur, found)
		if r.Code != Success {
			end(r)
			return
		}
		cas := &Request{Kind: CompareAndSwapRequest, Key: op.Key, Value: next, Now: op.Now,
			Expected: cur, ExpectAbsent: !found, ExpireAt: op.ExpireAt, KeepExpiry: op.KeepExpiry, h: h}
		cas.done = func(r Reply) {
			switch r.Code {
			case Success:
				end(Reply{Code: Success, Value: next})
			case KeyExists:
				swap(r.Value, true, attempt+1)
			case KeyNotFound:
				swap(nil, false, attempt+1)
			default:
				end(r)
			}
		}
		h.sendNow(cas)
	}
	get := &Request{Kind: GetRequest, Key: op.Key, Now: op.Now, h: h}
	get.done = func(r Reply) {
		switch r.Code {
		case Success:
			swap(r.Value, true, 1)
		case KeyNotFound:
			swap(nil, false, 1)
		default:
			end(r)
		}
	}
	h.sendNow(get)
}

// ---- update ----

// UpdateAsync is optimistic read-modify-write (etcd's STM): it reads the
// entry, calls fn with its value, and writes fn's result with
// compare-and-swap, calling fn again with the newer value on a conflict,
// up to args.MaxAttempts times (then OPERATION_FAILED). fn reporting an
// error ends the update without writing (OPERATION_FAILED). The result's
// Value is the value written (nil when erased). fn is called on a backend
// goroutine and must hand longer work elsewhere.
func (h *Handle) UpdateAsync(now float64, key any, fn UpdateFunc, args UpdateArgs, done func(OperationResult)) {
	h.updateAsync(now, key, fn, args, nil, done)
}

// UpdateAsyncErr is UpdateAsync that also hands fn's error to done (nil
// unless fn failed), for callers that rethrow it.
func (h *Handle) UpdateAsyncErr(now float64, key any, fn UpdateFunc, args UpdateArgs, done func(OperationResult, error)) {
	var fnErr atomic.Pointer[error]
	h.updateAsync(now, key, fn, args, func(err error) { fnErr.Store(&err) }, func(res OperationResult) {
		var err error
		if p := fnErr.Load(); p != nil {
			err = *p
		}
		done(res, err)
	})
}

func (h *Handle) updateAsync(now float64, key any, fn UpdateFunc, args UpdateArgs, failed func(error), done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	kb, res, ok := h.prepareKey(key)
	if !ok {
		done(res)
		return
	}
	if fn == nil {
		done(fail(OperationFailed, "update: no function"))
		return
	}
	if !h.swaps() {
		done(fail(OperationFailed, "backend %s does not support compare_and_swap, which update needs", h.typ.Name))
		return
	}
	maxAttempts := args.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultUpdateMaxAttempts
	}
	now = h.now(now)
	const method = "update"
	entry := h.fw.ops.start(method, h.typ.Name, key)
	start := time.Now()
	lane := string(kb)
	var holds atomic.Bool // set before the update can run
	end := func(res OperationResult) {
		h.finish(entry, method, start, res)
		done(res)
		if holds.Load() {
			h.leaveLane(lane)
		}
	}
	run := func() { h.runUpdate(kb, now, fn, args, maxAttempts, entry, failed, end) }
	if args.Owner == nil {
		run()
		return
	}
	h.enterLane(lane, args.Owner, &holds, run)
}

// updateLane serializes the updates of one key on a handle that name an
// owner: one at a time, in issue order, so updates from one process do
// not race each other's compare-and-swaps (only other processes' can
// conflict). An update whose owner is the running update's (nested in its
// function) does not wait.
type updateLane struct {
	owner   any
	waiting []laneWaiter
}

type laneWaiter struct {
	owner any
	run   func()
}

// enterLane runs run now, or queues it behind the key's running update.
// It sets holds when the update holds the lane (and must leave it), before
// run can start.
func (h *Handle) enterLane(key string, owner any, holds *atomic.Bool, run func()) {
	h.lanesMu.Lock()
	if h.lanes == nil {
		h.lanes = map[string]*updateLane{}
	}
	l := h.lanes[key]
	switch {
	case l == nil:
		h.lanes[key] = &updateLane{owner: owner}
		holds.Store(true)
	case l.owner == owner:
	default:
		holds.Store(true)
		l.waiting = append(l.waiting, laneWaiter{owner: owner, run: run})
		h.lanesMu.Unlock()
		return
	}
	h.lanesMu.Unlock()
	run()
}

// leaveLane hands the key's lane to the next waiting update.
func (h *Handle) leaveLane(key string) {
	h.lanesMu.Lock()
	l := h.lanes[key]
	if l == nil || len(l.waiting) == 0 {
		delete(h.lanes, key)
		h.lanesMu.Unlock()
		return
	}
	next := l.waiting[0]
	l.waiting[0] = laneWaiter{}
	l.waiting = l.waiting[1:]
	l.owner = next.owner
	h.lanesMu.Unlock()
	next.run()
}

// runUpdate is one update's reads, calls of fn and compare-and-swaps.
func (h *Handle) runUpdate(kb []byte, now float64, fn UpdateFunc, args UpdateArgs, maxAttempts int, entry *opEntry, failed func(error), end func(OperationResult)) {
	var attempt func(cur []byte, found bool, n int)
	attempt = func(cur []byte, found bool, n int) {
		if n > maxAttempts {
			end(fail(OperationFailed, "update: gave up after %d attempts (the entry kept changing)", maxAttempts))
			return
		}
		var curVal any
		if found {
			r := h.decode(cur)
			if r.Code != Success {
				end(r)
				return
			}
			curVal = r.Value
		}
		var replied atomic.Bool
		fn(curVal, found, func(next any, erase bool, err error) {
			if !replied.CompareAndSwap(false, true) {
				return
			}
			if err != nil {
				if failed != nil {
					failed(err)
				}
				end(fail(OperationFailed, "%v", &ErrUpdateFunc{Err: err}))
				return
			}
			cas := &Request{Kind: CompareAndSwapRequest, Key: kb, Now: now, Erase: erase, Expected: cur, ExpectAbsent: !found, h: h}
			var written any
			if !erase {
				nv, vb, res, ok := h.encodeValue(next)
				if !ok {
					res.Error = "update: " + res.Error
					end(res)
					return
				}
				cas.Value, written = vb, nv
			}
			if args.SetExpiry {
				cas.ExpireAt = expireAt(now, args.ExpireTime)
			} else {
				cas.KeepExpiry = true
			}
			cas.done = func(r Reply) {
				switch r.Code {
				case Success:
					end(OperationResult{Code: Success, Value: written})
				case KeyExists:
					attempt(r.Value, true, n+1)
				case KeyNotFound:
					attempt(nil, false, n+1)
				default:
					end(OperationResult{Code: r.Code, Error: r.Error})
				}
			}
			h.fw.ops.setCancel(entry, cas.Cancel)
			h.send(cas)
		})
	}
	get := &Request{Kind: GetRequest, Key: kb, Now: now, h: h}
	get.done = func(r Reply) {
		switch r.Code {
		case Success:
			attempt(r.Value, true, 1)
		case KeyNotFound:
			attempt(nil, false, 1)
		default:
			end(OperationResult{Code: r.Code, Error: r.Error})
		}
	}
	h.fw.ops.setCancel(entry, get.Cancel)
	h.send(get)
}

// ---- scan ----

// ScanPrefix returns the serialized-key prefix that selects string keys
// starting with prefix: Zeek's serialization of the string without its
// closing quote ("JSONv1;\"" + the escaped prefix).
func (h *Handle) ScanPrefix(prefix string) ([]byte, error) {
	b, err := h.ser.Serialize(prefix)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[len(b)-1] != '"' {
		return nil, fmt.Errorf("serialized string %q does not end in a quote", b)
	}
	return b[:len(b)-1], nil
}

// ScanAsync lists one page of live entries; the result's Value is a
// ScanPage. Order is unspecified; an entry live and unchanged during a
// whole scan is listed at least once; expired entries never are.
func (h *Handle) ScanAsync(now float64, args ScanArgs, done func(OperationResult)) {
	if h.refuseClosed("", done) {
		return
	}
	op := &Request{Kind: ScanRequest, Now: h.now(now), Limit: args.Limit, h: h}
	if op.Limit <= 0 {
		op.Limit = DefaultScanLimit
	}
	op.Limit = min(op.Limit, MaxScanLimit)
	if args.Prefix != "" {
		if h.keyType.Kind != kindString {
			done(fail(KeyTypeMismatch, "scan: a prefix needs key type string, not %s", h.keyType))
			return
		}
		p, err := h.ScanPrefix(args.Prefix)
		if err != nil {
			done(fail(SerializationFailed, "scan: prefix: %v", err))
			return
		}
		op.Prefix = p
	}
	if args.Cursor != "" {
		c, err := base64.RawURLEncoding.DecodeString(args.Cursor)
		if err != nil || len(c) == 0 {
			done(fail(OperationFailed, "scan: not a cursor from this scan: %q", args.Cursor))
			return
		}
		op.Cursor = c
	}
	if !h.scans() {
		done(fail(OperationFailed, "backend %s does not support scan", h.typ.Name))
		return
	}
	const method = "scan"
	var key any
	if args.Prefix != "" {
		key = args.Prefix
	}
	entry := h.fw.ops.start(method, h.typ.Name, key)
	start := time.Now()
	op.done = func(r Reply) {
		res := OperationResult{Code: r.Code, Error: r.Error}
		if r.Code == Success {
			page := ScanPage{Entries: make([]ScanEntry, 0, len(r.Entries))}
			for _, e := range r.Entries {
				k, err := h.ser.Unserialize(e.Key)
				if err == nil {
					k, err = h.keyType.Normalize(k)
				}
				if err != nil {
					continue // not an entry of this key type (a shared store)
				}
				v := h.decode(e.Value)
				if v.Code != Success {
					continue
				}
				page.Entries = append(page.Entries, ScanEntry{Key: k, Value: v.Value})
			}
			if len(r.Cursor) > 0 {
				page.Cursor = base64.RawURLEncoding.EncodeToString(r.Cursor)
			}
			res.Value = page
		}
		h.finish(entry, method, start, res)
		done(res)
	}
	h.fw.ops.setCancel(entry, op.Cancel)
	h.send(op)
}

// ---- blocking forms ----

// GetMany is GetManyAsync that waits.
func (h *Handle) GetMany(ctx context.Context, keys []any) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.GetManyAsync(0, keys, done) })
}

// PutMany is PutManyAsync that waits.
func (h *Handle) PutMany(ctx context.Context, entries []PutEntry) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.PutManyAsync(0, entries, done) })
}

// EraseMany is EraseManyAsync that waits.
func (h *Handle) EraseMany(ctx context.Context, keys []any) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.EraseManyAsync(0, keys, done) })
}

// CompareAndSwap is CompareAndSwapAsync that waits.
func (h *Handle) CompareAndSwap(ctx context.Context, args CASArgs) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.CompareAndSwapAsync(0, args, done) })
}

// Increment is IncrementAsync that waits.
func (h *Handle) Increment(ctx context.Context, key any, args IncrementArgs) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.IncrementAsync(0, key, args, done) })
}

// Update is UpdateAsync with a plain function, waiting; fn runs on the
// calling goroutine. An error from fn is returned as the second result
// (the OperationResult is then OPERATION_FAILED and nothing was written).
func (h *Handle) Update(ctx context.Context, key any, fn func(current any, found bool) (next any, erase bool, err error), args UpdateArgs) (OperationResult, error) {
	type call struct {
		cur   any
		found bool
		reply func(any, bool, error)
	}
	calls := make(chan call)
	type outcome struct {
		res OperationResult
		err error
	}
	out := make(chan outcome, 1)
	h.UpdateAsyncErr(0, key, func(cur any, found bool, reply func(any, bool, error)) {
		select {
		case calls <- call{cur, found, reply}:
		case <-ctx.Done():
			reply(nil, false, ctx.Err())
		}
	}, args, func(res OperationResult, err error) { out <- outcome{res, err} })
	for {
		select {
		case c := <-calls:
			next, erase, err := fn(c.cur, c.found)
			c.reply(next, erase, err)
		case o := <-out:
			if o.err != nil && errors.Is(o.err, ctx.Err()) && ctx.Err() != nil {
				return fail(Timeout, "%v", ctx.Err()), nil
			}
			return o.res, o.err
		case <-ctx.Done():
			return fail(Timeout, "%v", ctx.Err()), nil
		}
	}
}

// Scan is ScanAsync that waits.
func (h *Handle) Scan(ctx context.Context, args ScanArgs) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.ScanAsync(0, args, done) })
}
