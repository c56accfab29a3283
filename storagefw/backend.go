package storagefw

import (
	"context"
	"fmt"
	"log/slog"
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
// serialized value of a successful Get and is nil otherwise.
type Reply struct {
	Code  Code
	Error string
	Value []byte
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

// The keyed operations a backend executes.
const (
	PutRequest RequestKind = iota + 1
	GetRequest
	EraseRequest
)

func (k RequestKind) String() string {
	switch k {
	case PutRequest:
		return "put"
	case GetRequest:
		return "get"
	case EraseRequest:
		return "erase"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Request is one keyed operation handed to a Backend. Key and Value are already
// serialized (Zeek's "JSONv1;" + JSON text); backends store them as given.
type Request struct {
	Kind      RequestKind
	Key       []byte
	Value     []byte  // OpPut only
	Overwrite bool    // OpPut only
	ExpireAt  float64 // OpPut only: absolute expiry in network-time seconds; 0 = never
	// Now is network time when the operation was issued: an entry whose
	// expiry is <= Now is absent for this operation.
	Now float64

	done func(Reply)
}

// NewRequest returns a Request that calls done exactly once, when Complete is called.
func NewRequest(kind RequestKind, done func(Reply)) *Request { return &Request{Kind: kind, done: done} }

// Complete reports the op's outcome. Backends call it exactly once per op,
// from any goroutine, and for writes only after the effect is durable.
func (op *Request) Complete(r Reply) {
	if d := op.done; d != nil {
		op.done = nil
		d(r)
	}
}

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
}
