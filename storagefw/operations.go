package storagefw

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// OperationState is the state of a registered operation.
type OperationState string

// Operation states.
const (
	StateRunning OperationState = "running"
	StateDone    OperationState = "done"
)

// OperationInfo describes one storage operation (the long-running-operations
// pattern: an id to list, get and wait on).
type OperationInfo struct {
	ID       string         `json:"id"`
	Method   string         `json:"method"`
	Backend  string         `json:"backend"`
	Key      string         `json:"key,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished,omitzero"`
	State    OperationState `json:"state"`
	Code     Code           `json:"code,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// OperationLog is the registry of in-flight and recently finished operations.
// Finished operations are kept for the retention period (and at most
// maxFinished of them). Safe for concurrent use.
type OperationLog struct {
	mu          sync.Mutex
	retention   time.Duration
	maxFinished int
	nextID      uint64
	byID        opIndex
	finished    []*opEntry // in finish order, for expiry
	now         func() time.Time
}

type opEntry struct {
	info    OperationInfo
	id      uint64
	key     any           // rendered into info.Key only when read: the hot path never formats it
	waiters chan struct{} // closed when done; created on first Wait
	cancel  func() bool   // cancels the operation if not yet sent (nil: cannot be cancelled)
	req     *Request      // or: the request whose Cancel does it
}

// snapshot returns the entry's info with its key rendered (mutex held).
func (e *opEntry) snapshot() OperationInfo {
	if e.info.Key == "" && e.key != nil {
		e.info.Key = keyString(e.key)
	}
	return e.info
}

// newOperationLog creates a registry keeping finished operations for retention.
func newOperationLog(retention time.Duration, maxFinished int) *OperationLog {
	if retention <= 0 {
		retention = 5 * time.Minute
	}
	if maxFinished <= 0 {
		maxFinished = 10000
	}
	return &OperationLog{retention: retention, maxFinished: maxFinished, now: time.Now}
}

// start registers a running operation; key (nil for none) is rendered
// only if the operation is read.
func (o *OperationLog) start(method, backend string, key any) *opEntry {
	return o.startRequest(method, backend, key, nil)
}

// startRequest is start for an operation that req's Cancel cancels (nil:
// none yet, see setCancel).
func (o *OperationLog) startRequest(method, backend string, key any, req *Request) *opEntry {
	now := o.now()
	e := &opEntry{key: key, req: req, info: OperationInfo{Method: method, Backend: backend, Started: now, State: StateRunning}}
	o.mu.Lock()
	o.nextID++
	e.id = o.nextID
	o.byID.add(e)
	o.mu.Unlock()
	return e
}

// finish records the outcome, wakes waiters and returns the time it
// finished.
func (o *OperationLog) finish(e *opEntry, r OperationResult) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	e.info.State = StateDone
	e.info.Finished = now
	e.info.Code = r.Code
	if len(r.Error) > maxRetainedError {
		r.Error = strings.Clone(truncateUTF8(r.Error, maxRetainedError)) + "…"
	}
	e.info.Error = r.Error
	e.key = retainedKey(e)
	e.cancel, e.req = nil, nil
	if e.waiters != nil {
		close(e.waiters)
	}
	o.finished = append(o.finished, e)
	o.expireLocked(now)
	return now
}

func (o *OperationLog) expireLocked(now time.Time) {
	n := 0
	for n < len(o.finished) {
		e := o.finished[n]
		if len(o.finished)-n <= o.maxFinished && now.Sub(e.info.Finished) < o.retention {
			break
		}
		o.byID.remove(e.id)
		o.finished[n] = nil
		n++
	}
	if n > 0 {
		o.finished = o.finished[n:]
	}
}

// List returns running operations and retained finished ones, oldest first.
func (o *OperationLog) List() []OperationInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked(o.now())
	out := make([]OperationInfo, 0, o.byID.n)
	o.byID.each(func(e *opEntry) { out = append(out, e.withID()) })
	sortByID(out)
	return out
}

// InFlight returns the number of running operations.
func (o *OperationLog) InFlight() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byID.n - len(o.finished)
}

// Get returns one operation by id.
func (o *OperationLog) Get(id string) (OperationInfo, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return OperationInfo{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.byID.get(n)
	if !ok {
		return OperationInfo{}, false
	}
	return e.withID(), true
}

// Wait blocks until the operation is done or ctx ends, and returns its
// latest state (running if ctx ended first). ok is false for an unknown id.
func (o *OperationLog) Wait(ctx context.Context, id string) (info OperationInfo, ok bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return OperationInfo{}, false
	}
	o.mu.Lock()
	e, found := o.byID.get(n)
	if !found {
		o.mu.Unlock()
		return OperationInfo{}, false
	}
	if e.info.State == StateDone {
		info := e.withID()
		o.mu.Unlock()
		return info, true
	}
	if e.waiters == nil {
		e.waiters = make(chan struct{})
	}
	ch := e.waiters
	o.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return e.withID(), true
}

// withID is snapshot with the id filled in (mutex held).
func (e *opEntry) withID() OperationInfo {
	info := e.snapshot()
	info.ID = strconv.FormatUint(e.id, 10)
	return info
}

func sortByID(list []OperationInfo) {
	// IDs are decimal without leading zeros: order by length, then text.
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].ID, list[j].ID
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
}

// What a finished operation keeps of its key and error: the log holds up to
// maxFinished entries for minutes, so it must not hold the caller's 4 MB key.
const (
	maxRetainedKey   = 256
	maxRetainedError = 1024
)

// retainedKey bounds what the finished operation e keeps of its key: a long
// string is cut (and copied, so the caller's is not kept alive); a
// composite key is rendered (keyString cuts it) and dropped.
func retainedKey(e *opEntry) any {
	k := e.key
	switch x := k.(type) {
	case nil, bool, int64, uint64, float64, int:
		return k
	case string:
		if len(x) <= maxRetainedKey {
			return x
		}
		return strings.Clone(truncateUTF8(x, maxRetainedKey)) + "…"
	}
	if e.info.Key == "" {
		e.info.Key = keyString(k)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// setCancel records how to cancel a running operation: f cancels it if its
// backend has not taken it yet and reports whether it did.
func (o *OperationLog) setCancel(e *opEntry, f func() bool) {
	o.mu.Lock()
	if e.info.State == StateRunning {
		e.cancel, e.req = f, nil
	}
	o.mu.Unlock()
}

// Errors of Cancel and Forget.
var (
	// ErrUnknownOperation: no such operation (or it was forgotten or expired).
	ErrUnknownOperation = errors.New("no such operation (finished operations are kept for a limited time)")
	// ErrOperationSent: the operation was already handed to its backend (or
	// has finished) and can no longer be cancelled.
	ErrOperationSent = errors.New("the operation was already sent to its backend")
	// ErrOperationRunning: a running operation cannot be forgotten.
	ErrOperationRunning = errors.New("the operation is still running")
)

// Cancel cancels an operation its backend has not taken yet: it completes
// with OPERATION_FAILED and error "cancelled" (a promise waiting for it
// resolves so). It fails with ErrUnknownOperation or ErrOperationSent.
func (o *OperationLog) Cancel(id string) error {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return ErrUnknownOperation
	}
	o.mu.Lock()
	e, ok := o.byID.get(n)
	var f func() bool
	if ok {
		f = e.cancel
		if f == nil && e.req != nil {
			f = e.req.Cancel
		}
	}
	o.mu.Unlock()
	switch {
	case !ok:
		return ErrUnknownOperation
	case f == nil || !f():
		return ErrOperationSent
	}
	return nil
}

// Forget removes a finished operation from the registry. It fails with
// ErrUnknownOperation or ErrOperationRunning.
func (o *OperationLog) Forget(id string) error {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return ErrUnknownOperation
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.byID.get(n)
	switch {
	case !ok:
		return ErrUnknownOperation
	case e.info.State != StateDone:
		return ErrOperationRunning
	}
	o.byID.remove(n)
	for i, f := range o.finished {
		if f == e {
			o.finished = append(o.finished[:i:i], o.finished[i+1:]...)
			break
		}
	}
	return nil
}

// opIndex finds registry entries by id. Ids are handed out in sequence,
// so entries live in a window indexed by id - base (no hashing on the
// hot path); an entry still held when the window has to slide past it (a
// long-running operation among many short ones) moves to a map. The
// window holds at most about twice the entries held, plus a constant.
type opIndex struct {
	base   uint64
	window []*opEntry // window[i] has id base+i; nil once removed
	spill  map[uint64]*opEntry
	n      int // entries held
}

// add inserts e, whose id must follow every id added before.
func (x *opIndex) add(e *opEntry) {
	if len(x.window) == 0 {
		x.window = x.window[:0]
		x.base = e.id
	}
	x.window = append(x.window, e)
	x.n++
	if len(x.window) > 2*x.n+1024 {
		// Mostly holes: move what the first half still holds to the map.
		half := len(x.window) / 2
		for i, e := range x.window[:half] {
			if e != nil {
				if x.spill == nil {
					x.spill = make(map[uint64]*opEntry)
				}
				x.spill[e.id] = e
				x.window[i] = nil
			}
		}
		x.window = x.window[half:]
		x.base += uint64(half)
		x.trim()
	}
}

func (x *opIndex) get(id uint64) (*opEntry, bool) {
	if id >= x.base && id-x.base < uint64(len(x.window)) {
		e := x.window[id-x.base]
		return e, e != nil
	}
	e, ok := x.spill[id]
	return e, ok
}

func (x *opIndex) remove(id uint64) {
	if id >= x.base && id-x.base < uint64(len(x.window)) {
		if x.window[id-x.base] != nil {
			x.window[id-x.base] = nil
			x.n--
			x.trim()
		}
		return
	}
	if _, ok := x.spill[id]; ok {
		delete(x.spill, id)
		x.n--
	}
}

// trim drops the holes at the front of the window.
func (x *opIndex) trim() {
	i := 0
	for i < len(x.window) && x.window[i] == nil {
		i++
	}
	if i > 0 {
		x.window = x.window[i:]
		x.base += uint64(i)
	}
}

// each calls fn for every entry held.
func (x *opIndex) each(fn func(*opEntry)) {
	for _, e := range x.spill {
		fn(e)
	}
	for _, e := range x.window {
		if e != nil {
			fn(e)
		}
	}
}
