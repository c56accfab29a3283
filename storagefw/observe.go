package storagefw

import (
	"sync/atomic"
	"time"
)

// Observing storage activity (metrics).
//
// The framework reports what Zeek's storage telemetry counts
// (src/storage/Backend.cc): the backends opened, every finished operation
// with its code and latency, the data bytes each backend reads and writes
// and the expired entries it removes, and, read on demand, a backend's size
// on disk. An Observer gets one BackendObserver per opened backend, so an
// implementation can bind its per-backend series once, at open, as Zeek
// does, and spend no lookups per operation.
//
// Backends take part through OpenConfig.Report (the counts only they know)
// and, optionally, the MetricsLabeler and DatabaseSizer interfaces below.

// Observer receives storage activity. Set it in Config.Observer.
//
// Concurrency: BackendOpened is called on the goroutine calling
// Framework.Open; the BackendObserver methods are called from backend and
// framework worker goroutines (and from the goroutine issuing an operation
// the framework refuses at once), concurrently with each other and with
// BackendOpened. Implementations must be safe for that and must not block:
// no I/O, no waiting on anything but short mutex sections.
type Observer interface {
	// BackendOpened reports a successful open, before Open returns (Zeek:
	// InitMetrics and backends_opened). It returns the observer of that
	// backend's activity, or nil to observe nothing more of it.
	BackendOpened(b BackendInfo) BackendObserver
}

// BackendInfo describes an opened backend to an Observer.
type BackendInfo struct {
	// Handle is the handle's ID (unique within the framework).
	Handle uint64
	// Type is the backend type's Name ("SQLITE"); Zeek's type label is its
	// tag, "Storage::STORAGE_BACKEND_" + Type.
	Type string
	// Config identifies the store as Zeek's config metrics label does
	// (MetricsLabeler); "" when the backend does not say.
	Config string
	// Size, if not nil, reads the store's size (DatabaseSizer). It may do
	// I/O: call it at scrape time, not on an operation's path. It reports
	// ok false once the backend is closed.
	Size func() (s DatabaseSize, ok bool)
}

// BackendObserver receives one opened backend's activity. Its methods
// follow the concurrency rules of Observer. Reporter's methods carry the
// counts the backend reports through OpenConfig.Report.
type BackendObserver interface {
	Reporter
	// Operation reports one finished operation.
	Operation(op OperationReport)
	// Closed reports that the handle was closed. Operations the framework
	// refuses on the closed handle are still reported afterwards.
	Closed()
}

// OperationReport is one finished operation.
type OperationReport struct {
	// Method is the operation: "put", "get", "erase" (Zeek's three), or
	// one of the calls beyond Zeek ("get_many", "increment", ...).
	Method string
	Code   Code
	// Took is the time from issue to completion.
	Took time.Duration
	// Refused is set when the framework refused the operation before it
	// reached the backend or the operations registry: a key or value that
	// does not fit the handle's types, or a closed handle. (Zeek counts
	// these as results too; scriptd's operations registry never sees them.)
	Refused bool
}

// Reporter receives the counts only a backend knows, the counterparts of
// Zeek's Backend::IncBytesWrittenMetric, IncBytesReadMetric and
// IncExpiredEntriesMetric. A backend calls it as the work happens, from any
// goroutine; the calls are cheap (an atomic load and an add) and never
// block.
type Reporter interface {
	// DataWritten counts bytes of data the backend wrote (or tried to
	// write) to its store, as the backend's documentation defines them.
	DataWritten(n int)
	// DataRead counts bytes of stored values the backend read.
	DataRead(n int)
	// EntriesExpired counts entries an expiry sweep removed.
	EntriesExpired(n int)
}

// MetricsLabeler is implemented by backends that name their store for
// metrics as Zeek's DoGetConfigMetricsLabel does (SQLite:
// "<database_path>-<table_name>", Redis: "<host>:<port>-<key_prefix>").
// Called once, after a successful open.
type MetricsLabeler interface {
	MetricsConfig() string
}

// DatabaseSize is a store's size as Zeek's SQLite gauges report it.
type DatabaseSize struct {
	// Bytes is the database file's size on disk (stat), without its
	// journal or WAL file.
	Bytes int64
	// Pages is the page_count pragma: the database's size in pages,
	// including what is still only in the WAL.
	Pages int64
}

// DatabaseSizer is implemented by backends that can report their store's
// size (SQLite). DatabaseSize may do I/O; it is called at scrape time,
// from any goroutine, and reports ok false once the backend is closed.
// On a failed read it reports the last size it read (Zeek's gauges do the
// same).
type DatabaseSizer interface {
	DatabaseSize() (s DatabaseSize, ok bool)
}

// NopReporter is a Reporter that drops everything; backends use it when
// OpenConfig.Report is nil.
type NopReporter struct{}

func (NopReporter) DataWritten(int)    {}
func (NopReporter) DataRead(int)       {}
func (NopReporter) EntriesExpired(int) {}

// handleReporter is the Reporter a backend gets: it forwards to the
// handle's BackendObserver once the open has succeeded (counts before that,
// or without an observer, are dropped, as Zeek initializes its metrics only
// once the backend is open).
type handleReporter struct {
	obs atomic.Pointer[BackendObserver]
}

func (r *handleReporter) DataWritten(n int) {
	if o := r.obs.Load(); o != nil && n > 0 {
		(*o).DataWritten(n)
	}
}

func (r *handleReporter) DataRead(n int) {
	if o := r.obs.Load(); o != nil && n > 0 {
		(*o).DataRead(n)
	}
}

func (r *handleReporter) EntriesExpired(n int) {
	if o := r.obs.Load(); o != nil && n > 0 {
		(*o).EntriesExpired(n)
	}
}

// observer returns the handle's BackendObserver, nil when there is none.
func (h *Handle) observer() BackendObserver {
	if h.report == nil {
		return nil
	}
	if o := h.report.obs.Load(); o != nil {
		return *o
	}
	return nil
}

// opened tells the framework's Observer about the handle's successful open.
func (h *Handle) opened() {
	if h.fw.observe == nil {
		return
	}
	info := BackendInfo{Handle: h.id, Type: h.typ.Name}
	if l, ok := h.backend.(MetricsLabeler); ok {
		info.Config = l.MetricsConfig()
	}
	if s, ok := h.backend.(DatabaseSizer); ok {
		info.Size = s.DatabaseSize
	}
	if o := h.fw.observe.BackendOpened(info); o != nil {
		h.report.obs.Store(&o)
	}
}

// refused reports an operation the framework refused before issuing it.
func (h *Handle) refused(method string, res OperationResult) {
	if o := h.observer(); o != nil {
		o.Operation(OperationReport{Method: method, Code: res.Code, Refused: true})
	}
}
