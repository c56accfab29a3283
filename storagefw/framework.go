package storagefw

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// OperationResult is Zeek's Storage::OperationResult: a code, an error
// string for failures, and the value of a successful get (or the handle of
// a successful open).
type OperationResult struct {
	Code  Code
	Error string
	Value any
}

func fail(code Code, format string, args ...any) OperationResult {
	return OperationResult{Code: code, Error: fmt.Sprintf(format, args...)}
}

// PutArgs are Zeek's Storage::PutArgs beyond key and value.
type PutArgs struct {
	// Overwrite replaces a live entry (Zeek's default: true).
	Overwrite bool
	// ExpireTime is how long the entry lives; 0 means forever.
	ExpireTime time.Duration
}

// Config configures a Framework.
type Config struct {
	// Backends are the available backend types, by Name.
	Backends []BackendType
	// Clock is network time in seconds (default: wall clock).
	Clock func() float64
	// ExpireInterval is how often backends sweep expired entries (default 15 s).
	ExpireInterval time.Duration
	// Retention is how long finished operations stay listed (default 5 min).
	Retention time.Duration
	Logger    *slog.Logger
	// Observer, if set, receives storage activity for metrics (see
	// Observer for what and on which goroutines).
	Observer Observer
}

// Framework opens backends and runs operations on them. It is safe for
// concurrent use; it owns no goroutines of its own.
type Framework struct {
	types    map[string]BackendType
	clock    func() float64
	interval time.Duration
	log      *slog.Logger
	observe  Observer
	ops      *OperationLog
	nextID   atomic.Uint64

	mu      sync.Mutex
	handles map[uint64]*Handle
}

// New creates a framework.
func New(cfg Config) *Framework {
	if cfg.Clock == nil {
		cfg.Clock = func() float64 { return float64(time.Now().UnixNano()) / 1e9 }
	}
	if cfg.ExpireInterval <= 0 {
		cfg.ExpireInterval = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Framework{
		types: map[string]BackendType{}, clock: cfg.Clock, interval: cfg.ExpireInterval,
		log: cfg.Logger, observe: cfg.Observer, ops: newOperationLog(cfg.Retention, 0),
		handles: map[uint64]*Handle{},
	}
	for _, b := range cfg.Backends {
		f.types[b.Name] = b
	}
	return f
}

// Register adds a backend type; it must be called before use by scripts.
func (f *Framework) Register(b BackendType) error {
	if b.Name == "" || b.OptionsField == "" || b.Open == nil {
		return fmt.Errorf("storagefw: backend type needs Name, OptionsField and Open")
	}
	if _, dup := f.types[b.Name]; dup {
		return fmt.Errorf("storagefw: backend %q already registered", b.Name)
	}
	f.types[b.Name] = b
	return nil
}

// BackendNames lists registered backend names, sorted.
func (f *Framework) BackendNames() []string {
	names := make([]string, 0, len(f.types))
	for n := range f.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Operations is the framework's operations registry.
func (f *Framework) Operations() *OperationLog { return f.ops }

// Clock returns network time.
func (f *Framework) Clock() float64 { return f.clock() }

// OpenRequest is what open_backend gets.
type OpenRequest struct {
	Backend string         // registered Name, e.g. "SQLITE"
	Options map[string]any // the whole options record {serializer, forced_sync, sqlite: {...}}
	KeyType any            // a type name as ParseType reads it
	ValType any
	// Notify receives connection loss/recovery of the opened backend.
	Notify func(kind EventKind, reason string)
}

// Open opens a backend and returns its handle. It blocks while the backend
// connects; call it off the loop goroutine.
func (f *Framework) Open(ctx context.Context, req OpenRequest) (*Handle, OperationResult) {
	op := f.ops.start("open_backend", req.Backend, nil)
	h, res := f.open(ctx, req)
	f.ops.finish(op, res)
	return h, res
}

func (f *Framework) open(ctx context.Context, req OpenRequest) (*Handle, OperationResult) {
	bt, ok := f.types[req.Backend]
	if !ok {
		return nil, fail(OperationFailed, "Failed to open backend %s: no such backend (have %v)", req.Backend, f.BackendNames())
	}
	tag := "Storage::STORAGE_BACKEND_" + bt.Name // as Zeek names it in errors
	keyType, err := parseType(req.KeyType)
	if err != nil {
		return nil, fail(KeyTypeMismatch, "Failed to open backend %s: key type: %v", tag, err)
	}
	valType, err := parseType(req.ValType)
	if err != nil {
		return nil, fail(ValTypeMismatch, "Failed to open backend %s: value type: %v", tag, err)
	}
	if s, ok := req.Options["serializer"]; ok && s != nil && s != "STORAGE_SERIALIZER_JSON" {
		return nil, fail(InitializationFailed, "Failed to open backend %s: unknown serializer %v", tag, s)
	}
	sub, ok := req.Options[bt.OptionsField].(map[string]any)
	if !ok {
		return nil, fail(InitializationFailed, "Failed to open backend %s: the options record has no %q field", tag, bt.OptionsField)
	}
	forced, _ := req.Options["forced_sync"].(bool)
	id := f.nextID.Add(1)
	h := &Handle{
		fw: f, id: id, typ: bt, keyType: keyType, valType: valType, ser: JSONSerializer{},
		forcedSync: forced, options: fullOptions(bt, req.Options, sub, forced),
		report: &handleReporter{},
	}
	interval := f.interval
	if v, ok := req.Options["expire_interval"]; ok {
		if interval, err = ParseInterval(v, f.interval); err != nil {
			return nil, fail(InitializationFailed, "Failed to open backend %s: option expire_interval: %v", tag, err)
		}
	}
	backend, err := bt.Open(ctx, OpenConfig{
		Options: sub, Clock: f.clock, ExpireInterval: interval, Notify: req.Notify,
		Logger: f.log.With("backend", bt.Name, "handle", id), Report: h.report,
	})
	if err != nil {
		code := OperationFailed
		msg := err.Error()
		if se, ok := err.(*Error); ok {
			code, msg = se.Code, se.Msg
		}
		// Zeek hands the script the handle it failed to open; every call on
		// it gives NOT_CONNECTED.
		h.closed.Store(true)
		res := fail(code, "Failed to open backend %s: %s", tag, msg)
		res.Value = h
		return h, res
	}
	h.backend = backend
	h.opened()
	f.mu.Lock()
	f.handles[id] = h
	f.mu.Unlock()
	return h, OperationResult{Code: Success, Value: h}
}

// CloseAll closes every open handle (at shutdown), waiting for each.
func (f *Framework) CloseAll(ctx context.Context) {
	f.mu.Lock()
	list := make([]*Handle, 0, len(f.handles))
	for _, h := range f.handles {
		list = append(list, h)
	}
	f.mu.Unlock()
	for _, h := range list {
		h.Close(ctx)
	}
}

// fullOptions is the options record as Zeek passes it to
// Storage::backend_opened: serializer and forced_sync with their defaults,
// the backend's sub-record with every default (BackendType.Describe), then
// any other field the script gave; passwords redacted.
func fullOptions(bt BackendType, given, sub map[string]any, forced bool) Record {
	out := Record{{Name: "serializer", Value: "STORAGE_SERIALIZER_JSON"}, {Name: "forced_sync", Value: forced}}
	var described any = RedactOptions(sub)
	if bt.Describe != nil {
		described = redactRecord(bt.Describe(sub))
	}
	out = append(out, Field{Name: bt.OptionsField, Value: described})
	var rest []string
	for k := range given {
		if k != "serializer" && k != "forced_sync" && k != bt.OptionsField {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	redacted := RedactOptions(given)
	for _, k := range rest {
		out = append(out, Field{Name: k, Value: redacted[k]})
	}
	return out
}

func redactRecord(r Record) Record {
	out := make(Record, len(r))
	for i, f := range r {
		if s, ok := f.Value.(string); ok && f.Name == "password" && s != "" {
			f.Value = "<redacted>"
		}
		out[i] = f
	}
	return out
}

// RedactOptions deep-copies options with every "password" field replaced,
// for events and logs.
func RedactOptions(opts map[string]any) map[string]any {
	out := make(map[string]any, len(opts))
	for k, v := range opts {
		switch x := v.(type) {
		case map[string]any:
			out[k] = RedactOptions(x)
		default:
			if k == "password" {
				if s, ok := v.(string); ok && s != "" {
					v = "<redacted>"
				}
			}
			out[k] = v
		}
	}
	return out
}

// Handle is an open backend (Zeek's BackendHandle). Methods are safe for
// concurrent use. Operations issued on a handle take effect in issue order.
// After Close, every operation reports NOT_CONNECTED.
type Handle struct {
	fw         *Framework
	id         uint64
	typ        BackendType
	backend    Backend
	keyType    *dataType
	valType    *dataType
	ser        serializer
	forcedSync bool
	options    Record          // as Storage.backend_opened gets it (see fullOptions)
	report     *handleReporter // the backend's Reporter; holds the BackendObserver

	closed atomic.Bool

	mu       sync.Mutex
	holds    int        // composite operations holding the handle (see compose)
	draining bool       // release is handing the held work over
	held     []heldItem // issued while held, in issue order

	lanesMu sync.Mutex
	lanes   map[string]*updateLane // updates with an owner, per serialized key
}

// ID is the handle's number, unique within the framework.
func (h *Handle) ID() uint64 { return h.id }

// BackendName is the backend type's Name ("SQLITE").
func (h *Handle) BackendName() string { return h.typ.Name }

// IsOpen reports whether the handle has not been closed.
func (h *Handle) IsOpen() bool { return !h.closed.Load() }

// IsForcedSync reports whether the handle was opened with forced_sync.
func (h *Handle) IsForcedSync() bool { return h.forcedSync }

// Options returns the open options as Zeek passes them to
// Storage::backend_opened: every default filled in, in declared order,
// passwords redacted.
func (h *Handle) Options() Record { return h.options }

// keyString renders a key for the operations registry.
func keyString(k any) string {
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Sprint(k)
	}
	if len(b) > 200 {
		b = append(b[:200], "…"...)
	}
	return string(b)
}

// prepare validates and serializes the key (and value) of an operation.
func (h *Handle) prepareKey(key any) ([]byte, OperationResult, bool) {
	nk, err := h.keyType.Normalize(key)
	if err != nil {
		return nil, fail(KeyTypeMismatch, "key: %v", err), false
	}
	kb, err := h.ser.Serialize(nk)
	if err != nil {
		return nil, fail(SerializationFailed, "key: %v", err), false
	}
	return kb, OperationResult{}, true
}

// PutAsync stores value under key; done runs once, on a worker goroutine
// (or synchronously for a validation failure), with the outcome. SUCCESS
// means the write is durable. now is the network time the operation is
// issued at (0: the framework's clock); expiry is measured from it.
func (h *Handle) PutAsync(now float64, key, value any, args PutArgs, done func(OperationResult)) {
	if h.refuseClosed("put", done) {
		return
	}
	kb, res, ok := h.prepareKey(key)
	if !ok {
		h.refused("put", res)
		done(res)
		return
	}
	vb, res, ok := h.serializeValue(value)
	if !ok {
		h.refused("put", res)
		done(res)
		return
	}
	op := &Request{Kind: PutRequest, Key: kb, Value: vb, Overwrite: args.Overwrite, Now: h.now(now)}
	if args.ExpireTime > 0 {
		op.ExpireAt = op.Now + args.ExpireTime.Seconds()
	}
	h.submit(op, key, done)
}

// refuseClosed reports NOT_CONNECTED for a call on a closed handle (checked
// before the key and value types, as Zeek does). A put, get or erase
// (method) refused is reported to the observer; the calls beyond Zeek pass
// "".
func (h *Handle) refuseClosed(method string, done func(OperationResult)) bool {
	if h.closed.Load() {
		res := fail(NotConnected, "Backend is closed")
		if method != "" {
			h.refused(method, res)
		}
		done(res)
		return true
	}
	return false
}

// now picks the operation's network time.
func (h *Handle) now(t float64) float64 {
	if t > 0 {
		return t
	}
	return h.fw.clock()
}

// GetAsync reads key; done gets the value (of the handle's value type) in
// OperationResult.Value. now is as for PutAsync.
func (h *Handle) GetAsync(now float64, key any, done func(OperationResult)) {
	if h.refuseClosed("get", done) {
		return
	}
	kb, res, ok := h.prepareKey(key)
	if !ok {
		h.refused("get", res)
		done(res)
		return
	}
	h.submit(&Request{Kind: GetRequest, Key: kb, Now: h.now(now)}, key, done)
}

// EraseAsync removes key. now is as for PutAsync.
func (h *Handle) EraseAsync(now float64, key any, done func(OperationResult)) {
	if h.refuseClosed("erase", done) {
		return
	}
	kb, res, ok := h.prepareKey(key)
	if !ok {
		h.refused("erase", res)
		done(res)
		return
	}
	h.submit(&Request{Kind: EraseRequest, Key: kb, Now: h.now(now)}, key, done)
}

func (h *Handle) submit(op *Request, key any, done func(OperationResult)) {
	op.h = h
	op.result = done
	op.entry = h.fw.ops.startRequest(op.Kind.String(), h.typ.Name, key, op)
	h.send(op)
}

// completeSingle finishes what submit started: decodes a get's value,
// records the outcome and reports it.
func (h *Handle) completeSingle(op *Request, r Reply, done func(OperationResult)) {
	res := OperationResult{Code: r.Code, Error: r.Error}
	if r.Code == Success && op.Kind == GetRequest {
		res = h.decode(r.Value)
	}
	entry := op.entry
	op.entry = nil
	h.finish(entry, op.Kind.String(), entry.info.Started, res)
	done(res)
}

// finish records a finished operation in the registry and the observer
// (start is when it began, on the registry's clock).
func (h *Handle) finish(entry *opEntry, method string, start time.Time, res OperationResult) {
	now := h.fw.ops.finish(entry, res)
	if o := h.observer(); o != nil {
		o.Operation(OperationReport{Method: method, Code: res.Code, Took: now.Sub(start)})
	}
}

// send hands requests to the backend in issue order: at once, or after the
// composite operation holding the handle (see compose) has finished. After
// Close they complete with NOT_CONNECTED. Completions may run on the
// calling goroutine (a backend failing at once) and may call send again.
func (h *Handle) send(ops ...*Request) {
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		for _, op := range ops {
			op.Complete(Reply{Code: NotConnected, Error: "Backend is closed"})
		}
		return
	}
	if h.holds > 0 || h.draining {
		h.held = append(h.held, heldItem{ops: ops})
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.backend.Submit(ops...)
}

// heldItem is what waits while the handle is held: requests to send, or a
// composite operation to start.
type heldItem struct {
	ops   []*Request
	start func()
}

// sendNow hands requests of the composite operation holding the handle to
// the backend, ahead of what is held.
func (h *Handle) sendNow(ops ...*Request) {
	if h.closed.Load() {
		for _, op := range ops {
			op.Complete(Reply{Code: NotConnected, Error: "Backend is closed"})
		}
		return
	}
	h.backend.Submit(ops...)
}

// compose starts a composite operation, one that needs several requests in
// turn to take effect at its place in the issue order: start runs (now, or
// once what was issued before it is done) holding the handle, so later
// operations wait until it calls release, exactly once. It sends its own
// requests with sendNow.
func (h *Handle) compose(start func()) {
	h.mu.Lock()
	if h.holds > 0 || h.draining {
		h.held = append(h.held, heldItem{start: start})
		h.mu.Unlock()
		return
	}
	h.holds++
	h.mu.Unlock()
	start()
}

// release ends a composite operation's hold; once none is left, what was
// held goes to the backend in order, up to the next composite operation.
func (h *Handle) release() {
	h.mu.Lock()
	h.holds--
	if h.holds > 0 || h.draining {
		h.mu.Unlock()
		return
	}
	h.draining = true
	for len(h.held) > 0 && h.holds == 0 {
		if it := h.held[0]; it.start != nil {
			h.held = h.held[1:]
			h.holds++
			h.mu.Unlock()
			it.start()
			h.mu.Lock()
			continue
		}
		var ops []*Request
		n := 0
		for n < len(h.held) && h.held[n].start == nil {
			ops = append(ops, h.held[n].ops...)
			n++
		}
		h.held = h.held[n:]
		h.mu.Unlock()
		h.sendNow(ops...)
		h.mu.Lock()
	}
	if len(h.held) == 0 {
		h.held = nil
	}
	h.draining = false
	h.mu.Unlock()
}

func (h *Handle) decode(b []byte) OperationResult {
	if k := h.valType.Kind; k == kindString || k == kindEnum || k == kindAny {
		if _, isJSON := h.ser.(JSONSerializer); isJSON {
			// What Unserialize and Normalize make of a plain stored string,
			// without the steps between.
			if s, ok := plainString(b); ok {
				return OperationResult{Code: Success, Value: s}
			}
		}
	}
	v, err := h.ser.Unserialize(b)
	if err != nil {
		return fail(UnserializationFailed, "%v", err)
	}
	nv, err := h.valType.Normalize(v)
	if err != nil {
		return fail(UnserializationFailed, "stored value does not fit the value type: %v", err)
	}
	return OperationResult{Code: Success, Value: nv}
}

// Put is PutAsync that waits (Zeek's Storage::Sync::put).
func (h *Handle) Put(ctx context.Context, key, value any, args PutArgs) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.PutAsync(0, key, value, args, done) })
}

// Get is GetAsync that waits.
func (h *Handle) Get(ctx context.Context, key any) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.GetAsync(0, key, done) })
}

// Erase is EraseAsync that waits.
func (h *Handle) Erase(ctx context.Context, key any) OperationResult {
	return wait(ctx, func(done func(OperationResult)) { h.EraseAsync(0, key, done) })
}

func wait(ctx context.Context, start func(func(OperationResult))) OperationResult {
	ch := make(chan OperationResult, 1)
	start(func(r OperationResult) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return fail(Timeout, "%v", ctx.Err())
	}
}

// Close closes the handle: operations issued before it complete, later ones
// report NOT_CONNECTED. Closing twice reports NOT_CONNECTED.
func (h *Handle) Close(ctx context.Context) OperationResult {
	entry := h.fw.ops.start("close_backend", h.typ.Name, nil)
	h.mu.Lock()
	if h.closed.Swap(true) {
		h.mu.Unlock()
		res := fail(NotConnected, "Backend is already closed")
		h.fw.ops.finish(entry, res)
		return res
	}
	h.mu.Unlock()
	h.fw.mu.Lock()
	delete(h.fw.handles, h.id)
	h.fw.mu.Unlock()
	res := OperationResult{Code: Success}
	if err := h.backend.Close(ctx); err != nil {
		res = fail(DisconnectionFailed, "%v", err)
	}
	if o := h.observer(); o != nil {
		o.Closed()
	}
	h.fw.ops.finish(entry, res)
	return res
}
