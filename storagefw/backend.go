package storagefw

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Code is a storage operation's return code (Zeek's Storage::ReturnCode).
// Each value equals its name, so scripts compare against strings.
type Code string

// The return codes (docs/storage.md), in Zeek's order.
const (
	Success               Code = "SUCCESS"
	ValTypeMismatch       Code = "VAL_TYPE_MISMATCH"
	KeyTypeMismatch       Code = "KEY_TYPE_MISMATCH"
	NotConnected          Code = "NOT_CONNECTED"
	Timeout               Code = "TIMEOUT"
	ConnectionLost        Code = "CONNECTION_LOST"
	OperationFailed       Code = "OPERATION_FAILED"
	KeyNotFound           Code = "KEY_NOT_FOUND"
	KeyExists             Code = "KEY_EXISTS"
	ConnectionFailed      Code = "CONNECTION_FAILED"
	DisconnectionFailed   Code = "DISCONNECTION_FAILED"
	InitializationFailed  Code = "INITIALIZATION_FAILED"
	InProgress            Code = "IN_PROGRESS"
	SerializationFailed   Code = "SERIALIZATION_FAILED"
	UnserializationFailed Code = "UNSERIALIZATION_FAILED"
)

// Codes lists every return code, for binding them as constants. Each call
// returns a fresh slice.
func Codes() []Code {
	return []Code{Success, ValTypeMismatch, KeyTypeMismatch, NotConnected, Timeout,
		ConnectionLost, OperationFailed, KeyNotFound, KeyExists, ConnectionFailed,
		DisconnectionFailed, InitializationFailed, InProgress, SerializationFailed, UnserializationFailed}
}

// Reply is what a backend reports for one operation. Value holds the
// serialized value of a successful Get (and of the other kinds as their
// comments say) and is nil otherwise.
type Reply struct {
	Code  Code
	Error string
	Value []byte
	// Key is a listed entry's serialized key (an element of a scan's Entries).
	Key []byte
	// Entries are the per-entry results of a batch, in the order of
	// Request.Entries, or the entries a scan lists. A batch reply whose Code
	// is not SUCCESS may leave Entries nil: every entry then has that code.
	Entries []Reply
	// Cursor continues a scan; nil when the scan is complete.
	Cursor []byte
}

// Error is an error carrying a return code, so a backend's Opener can say
// which code a failed open reports (e.g. CONNECTION_FAILED).
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// RequestKind names what a Request does.
type RequestKind uint8

// The operations a backend executes. Put, Get and Erase are what every
// backend must execute; the others only backends that announce them through
// the optional interfaces below (Batcher, Swapper, Incrementer, Scanner).
// The framework composes what a backend does not do natively.
const (
	PutRequest RequestKind = iota + 1
	GetRequest
	EraseRequest
	// GetManyRequest reads every Entries[i].Key. Reply.Entries[i] is what a
	// GetRequest of that key would report.
	GetManyRequest
	// PutManyRequest writes every entry (Key, Value, Overwrite, ExpireAt),
	// in order. Reply.Entries[i] is what a PutRequest would report.
	PutManyRequest
	// EraseManyRequest erases every Entries[i].Key, in order.
	EraseManyRequest
	// CompareAndSwapRequest replaces the entry Key in one atomic step when
	// it holds exactly the bytes Expected (ExpectAbsent: when it is absent
	// or expired): with Value, or by erasing it when Erase is set. The new
	// entry expires at ExpireAt (0: never), or keeps the expiry of the entry
	// it replaces when KeepExpiry is set. Reply: SUCCESS; KEY_EXISTS with the
	// stored bytes as Value when something else is stored; KEY_NOT_FOUND
	// when Expected was given and nothing live is stored.
	CompareAndSwapRequest
	// IncrementRequest adds Delta to the number stored under Key in one
	// atomic step, an absent or expired entry counting as 0, and stores the
	// result as Request.Increment computes it (expiry: as for
	// CompareAndSwapRequest). Reply: SUCCESS with the new serialized value
	// as Value, or what Request.Increment reports (VAL_TYPE_MISMATCH, ...).
	IncrementRequest
	// ScanRequest lists up to Limit live entries whose serialized key starts
	// with Prefix, continuing after Cursor (nil: from the start). Reply:
	// SUCCESS with the entries (Key and Value each) in Entries and, unless
	// the scan is complete, the Cursor to continue from. The cursor's
	// content is the backend's own.
	ScanRequest
)

func (k RequestKind) String() string {
	switch k {
	case PutRequest:
		return "put"
	case GetRequest:
		return "get"
	case EraseRequest:
		return "erase"
	case GetManyRequest:
		return "get_many"
	case PutManyRequest:
		return "put_many"
	case EraseManyRequest:
		return "erase_many"
	case CompareAndSwapRequest:
		return "compare_and_swap"
	case IncrementRequest:
		return "increment"
	case ScanRequest:
		return "scan"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// BatchEntry is one entry of a batch request (already serialized).
type BatchEntry struct {
	Key       []byte
	Value     []byte  // PutManyRequest only
	Overwrite bool    // PutManyRequest only
	ExpireAt  float64 // PutManyRequest only: absolute expiry; 0 = never
}

// NumKind is the number type an IncrementRequest works on (the handle's
// value type).
type NumKind uint8

// The number types increment accepts.
const (
	NumCount  NumKind = iota + 1 // integer >= 0
	NumInt                       // integer
	NumDouble                    // double
	NumAny                       // any JSON number: integer while both are integers
)

// Request is one operation handed to a Backend. Keys and values are already
// serialized (Zeek's "JSONv1;" + JSON text); backends store them as given.
type Request struct {
	Kind      RequestKind
	Key       []byte
	Value     []byte  // put, compare_and_swap
	Overwrite bool    // put only
	ExpireAt  float64 // put, compare_and_swap, increment: absolute expiry in network-time seconds; 0 = never
	// Now is network time when the operation was issued: an entry whose
	// expiry is <= Now is absent for this operation.
	Now float64

	// Entries are a batch's entries (GetMany, PutMany, EraseMany).
	Entries []BatchEntry

	// Expected is the stored bytes compare_and_swap requires; ExpectAbsent
	// requires an absent or expired entry instead.
	Expected     []byte
	ExpectAbsent bool
	// Erase makes a matching compare_and_swap erase the entry.
	Erase bool
	// KeepExpiry keeps the expiry of the entry a compare_and_swap or an
	// increment replaces (ExpireAt is then ignored; a new entry never
	// expires).
	KeepExpiry bool

	// Delta is what increment adds: DeltaInt when DeltaIsInt, else DeltaFloat.
	DeltaInt   int64
	DeltaFloat float64
	DeltaIsInt bool
	// Num is the number type increment works on.
	Num NumKind

	// Prefix, Cursor and Limit are a scan's: the serialized-key prefix (nil:
	// every entry), where to continue (nil: the start) and the most entries
	// to list (> 0).
	Prefix []byte
	Cursor []byte
	Limit  int

	h         *Handle       // the issuing handle (its types), nil for requests built by tests
	state     atomic.Uint32 // reqQueued, reqTaken or reqCancelled
	completed atomic.Bool
	done      func(Reply)
	// A single put, get or erase (Handle.submit) completes through result
	// instead of done: no closure per operation.
	result func(OperationResult)
	entry  *opEntry // its registry entry
}

// Request states for cancellation.
const (
	reqQueued uint32 = iota
	reqTaken
	reqCancelled
)

// NewRequest returns a Request that calls done exactly once, when Complete is called.
func NewRequest(kind RequestKind, done func(Reply)) *Request { return &Request{Kind: kind, done: done} }

// Complete reports the op's outcome. Backends call it exactly once per op,
// from any goroutine, and for writes only after the effect is durable.
// Calls after the first (and calls on a cancelled request) are ignored.
func (op *Request) Complete(r Reply) {
	if !op.completed.CompareAndSwap(false, true) {
		return
	}
	if d := op.done; d != nil {
		op.done = nil
		d(r)
	} else if f := op.result; f != nil {
		op.result = nil
		op.h.completeSingle(op, r, f)
	}
}

// Take marks the request as handed to the store: backends call it when
// they take the request from their queue to execute it (before sending it
// to a server or starting its statement). It reports false when the
// request was cancelled first; the backend must then drop it without
// executing or completing it. Taking twice is harmless.
func (op *Request) Take() bool {
	return op.state.CompareAndSwap(reqQueued, reqTaken) || op.state.Load() == reqTaken
}

// Cancel cancels the request if no backend has taken it yet: it then
// completes with OPERATION_FAILED ("cancelled") and reports true. Once taken
// (or completed) it reports false and the request runs its course.
func (op *Request) Cancel() bool {
	if op.completed.Load() || !op.state.CompareAndSwap(reqQueued, reqCancelled) {
		return false
	}
	op.Complete(Reply{Code: OperationFailed, Error: "cancelled"})
	return true
}

// Cancelled reports whether the request was cancelled.
func (op *Request) Cancelled() bool { return op.state.Load() == reqCancelled }

// Backend is an open store. Concurrency: Submit may be called from several
// goroutines; ops submitted to one Backend take effect in Submit order
// (read-your-writes within a handle). Backends batch as they see fit (group
// commit, pipelining). Lifecycle: after Close returns, every submitted op has
// been completed and no goroutine of the backend remains; Submit after Close
// completes ops with NOT_CONNECTED.
type Backend interface {
	Submit(ops ...*Request)
	Close(ctx context.Context) error
}

// The optional capabilities of a Backend, discovered by type assertion
// (as database/sql discovers a driver's): a backend implementing one, and
// reporting true, executes those request kinds itself when they are
// submitted; the framework composes the rest from what the backend offers.
// Every request submitted to a Backend, of any kind, takes effect in Submit
// order with the others (read-your-writes across singles and batches).

// Batcher executes GetManyRequest, PutManyRequest and EraseManyRequest
// (one round trip or transaction per batch). Without it the framework
// submits a batch as singles in one Submit call.
type Batcher interface {
	SupportsBatches() bool
}

// Swapper executes CompareAndSwapRequest atomically against every other
// writer of the store. Without it compare_and_swap and update report
// OPERATION_FAILED.
type Swapper interface {
	SupportsCompareAndSwap() bool
}

// Incrementer executes IncrementRequest as one atomic step. Without it the
// framework increments with reads and compare-and-swap (Swapper needed).
type Incrementer interface {
	SupportsIncrement() bool
}

// Scanner executes ScanRequest. Without it scan reports OPERATION_FAILED.
type Scanner interface {
	SupportsScan() bool
}

// Expirer is implemented by backends that can sweep expired entries on
// demand; the periodic sweep calls the same thing. It returns how many
// entries were removed.
type Expirer interface {
	Expire(ctx context.Context, now float64) (int, error)
}

// EventKind says what happened to a backend's connection.
type EventKind uint8

// Connection events a backend reports through OpenConfig.Notify.
const (
	BackendLost   EventKind = iota + 1 // connection dropped (reason given)
	BackendOpened                      // connection (re)established after a loss
)

// OpenConfig is what an Opener gets.
type OpenConfig struct {
	// Options is the backend's own sub-record of the open options (e.g.
	// options.sqlite), as plain Go values: string, float64/int64, bool,
	// map[string]any, []any. Intervals may be numbers (seconds) or strings
	// ("250ms"); use ParseInterval.
	Options map[string]any
	// Clock returns network time in seconds; safe from any goroutine.
	Clock func() float64
	// ExpireInterval is how often the backend sweeps expired entries.
	ExpireInterval time.Duration
	// Notify reports connection loss and recovery; safe from any goroutine,
	// never blocks. Nil means nobody listens.
	Notify func(kind EventKind, reason string)
	Logger *slog.Logger
	// Report receives the counts only the backend knows (data bytes read
	// and written, expired entries; see Reporter). Nil means nobody
	// listens (use NopReporter).
	Report Reporter
}

// Opener opens a backend. It returns an *Error to choose the code a failed
// open reports; any other error reports OPERATION_FAILED.
type Opener func(ctx context.Context, cfg OpenConfig) (Backend, error)

// BackendType describes a registered backend.
type BackendType struct {
	// Name is the tag's suffix: "SQLITE" becomes Storage.STORAGE_BACKEND_SQLITE.
	Name string
	// OptionsField is the field of the open options holding this backend's
	// sub-record ("sqlite").
	OptionsField string
	Open         Opener
	// Describe, if set, returns the backend's options sub-record as Zeek
	// hands it to Storage::backend_opened: every field in Zeek's declared
	// order with its default filled in (intervals as seconds; unset
	// optional fields left out). Called after a successful open, with the
	// sub-record the script gave.
	Describe func(sub map[string]any) Record
	// MaxValueSize, if positive, is the largest serialized value the
	// backend stores; a larger put is refused before it is sent
	// (OPERATION_FAILED), leaving the connection unharmed.
	MaxValueSize int
}
