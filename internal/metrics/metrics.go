// Package metrics collects scriptd's operational metrics and serves them in
// the Prometheus exposition formats, through
// github.com/prometheus/client_golang.
//
// A Metrics value is self-contained: it owns its own prometheus.Registry
// (the global default registry is never used), so several engines in one
// process, or tests, never share state. Besides scriptd's own families the
// registry holds client_golang's standard Go runtime (go_*) and process
// (process_*) collectors.
//
// Concurrency: every method is safe for concurrent use. The observer
// methods (EventDispatched, HandlerError, Reload, HTTPRequest, and the
// storage observer: BackendOpened and the methods of the BackendObserver it
// returns) never block beyond a short mutex section, so they may be called
// from the event loop and from storage worker goroutines. The scrape-time
// sources in Options, and the storage backends' size readers
// (storagefw.BackendInfo.Size), are called from the goroutine serving
// /metrics and must be safe for that.
//
// Lifecycle: create with New before the engine (it is the observer of
// engine.Config and, as a storagefw.Observer, of storagejs.Options), serve Handler once the
// HTTP server runs. Nothing needs closing.
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/storagefw"
)

// DefaultMaxEventNames is how many distinct event names get their own
// series in scriptd_events_total before further names count as "other".
const DefaultMaxEventNames = 1000

// OtherEvent is the event label of names beyond the cap.
const OtherEvent = "other"

// Latency buckets in seconds: Zeek's Storage::latency_metric_bounds
// (1 ms, 10 ms, 100 ms, 1 s) refined, from 50 µs to 10 s.
var latencyBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configure Metrics. Every field is optional.
type Options struct {
	// Version is reported in scriptd_build_info.
	Version string
	// MaxEventNames caps distinct event label values (default
	// DefaultMaxEventNames); names beyond it are counted as OtherEvent.
	MaxEventNames int
	// Inputs names the --input specs, in order; InputStats returns their
	// statistics in the same order (engine.Engine.InputStats). Read at
	// scrape time.
	Inputs     []string
	InputStats func() []input.Stats
	// Operations returns the storage operations registry (nil while there
	// is none); read at scrape time for the in-flight gauge.
	Operations func() *storagefw.OperationLog
}

// Metrics holds scriptd's metric families. See the package documentation
// for concurrency and lifecycle rules.
type Metrics struct {
	opts    Options
	reg     *prometheus.Registry
	handler http.Handler

	events        *prometheus.CounterVec
	handlerCalls  prometheus.Counter
	dispatch      prometheus.Histogram
	handlerErrors prometheus.Counter
	reloadsOK     prometheus.Counter
	reloadsFailed prometheus.Counter
	storageOps    *prometheus.CounterVec
	storageLat    *prometheus.HistogramVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	storage       *storageFamilies // Zeek's storage metric set (storage.go)
	legacy        sync.Map         // legacyKey -> *legacySeries (storageOps, storageLat)

	mu    sync.Mutex
	names map[string]prometheus.Counter // capped event-name series
	other prometheus.Counter
}

// Interface checks: Metrics is the engine's observer.
var _ engine.Observer = (*Metrics)(nil)

// New creates the metric families in a new private registry.
func New(opts Options) *Metrics {
	if opts.MaxEventNames <= 0 {
		opts.MaxEventNames = DefaultMaxEventNames
	}
	m := &Metrics{opts: opts, reg: prometheus.NewRegistry(), names: map[string]prometheus.Counter{}}

	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_events_total",
		Help: fmt.Sprintf("Events dispatched to handlers, by event name (the first %d names; later ones as %q).", opts.MaxEventNames, OtherEvent),
	}, []string{"event"})
	m.other = m.events.WithLabelValues(OtherEvent)
	m.handlerCalls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scriptd_event_handler_calls_total",
		Help: "Handler invocations across all events.",
	})
	m.dispatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "scriptd_event_dispatch_duration_seconds",
		Help:    "Time to run one event's handlers up to their first await (synchronous dispatch time).",
		Buckets: latencyBuckets,
	})
	m.handlerErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scriptd_handler_errors_total",
		Help: "Handlers and callbacks that threw, rejected or ran past the handler time limit.",
	})
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_reloads_total",
		Help: "Hot reload attempts, by result (ok, failed).",
	}, []string{"result"})
	m.reloadsOK = reloads.WithLabelValues("ok")
	m.reloadsFailed = reloads.WithLabelValues("failed")
	m.storageOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_storage_operations_total",
		Help: "Finished storage operations issued to a backend, by operation (every call, also those beyond Zeek), backend type, result (success, failed, timeout) and return code.",
	}, []string{"operation", "backend_type", "result", "code"})
	m.storageLat = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scriptd_storage_operation_duration_seconds",
		Help:    "Storage operation latency from issue to completion, by operation and backend type.",
		Buckets: latencyBuckets,
	}, []string{"operation", "backend_type"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_http_requests_total",
		Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scriptd_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: latencyBuckets,
	}, []string{"route"})

	m.storage = newStorageFamilies()
	m.reg.MustRegister(m.storage.families...)
	m.reg.MustRegister(
		m.events, m.handlerCalls, m.dispatch, m.handlerErrors, reloads,
		m.storageOps, m.storageLat, m.httpRequests, m.httpDuration,
		newScrapeCollector(opts, time.Now()),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector must not take the other metrics down; the
		// failures are counted in promhttp_metric_handler_errors_total.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return m
}

// EventDispatched implements engine.Observer: one event's dispatch.
func (m *Metrics) EventDispatched(name string, handlers int, took time.Duration) {
	m.eventCounter(name).Inc()
	if handlers > 0 {
		m.handlerCalls.Add(float64(handlers))
	}
	m.dispatch.Observe(took.Seconds())
}

// eventCounter returns the series of name, or "other" past the cap.
func (m *Metrics) eventCounter(name string) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.names[name]; ok {
		return c
	}
	if len(m.names) >= m.opts.MaxEventNames {
		return m.other
	}
	c := m.events.WithLabelValues(labelValue(name))
	m.names[name] = c
	return c
}

// HandlerError implements engine.Observer. The origin (file:line) is not
// a label: it would be unbounded across reloads.
func (m *Metrics) HandlerError(origin string) { m.handlerErrors.Inc() }

// Reload implements engine.Observer.
func (m *Metrics) Reload(ok bool) {
	if ok {
		m.reloadsOK.Inc()
	} else {
		m.reloadsFailed.Inc()
	}
}

// resultOf maps a code to Zeek's three outcome counters.
func resultOf(c storagefw.Code) string {
	switch c {
	case storagefw.Success:
		return "success"
	case storagefw.Timeout:
		return "timeout"
	}
	return "failed"
}

// HTTPRequest records one served HTTP request. route is the matched
// ServeMux pattern ("" for none), so its values are bounded.
func (m *Metrics) HTTPRequest(route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	route = labelValue(route)
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
}

// Write gathers every family and writes it in the Prometheus text
// exposition format, families in name order. A gathering error is
// returned after the families that could be gathered are written.
func (m *Metrics) Write(w io.Writer) error {
	mfs, gatherErr := m.reg.Gather()
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return gatherErr
}

// Handler serves the metrics (GET) through promhttp: the Prometheus text
// format by default, another exposition format (protobuf) when the
// client's Accept header asks for it, compressed (gzip) when its
// Accept-Encoding allows.
func (m *Metrics) Handler() http.Handler { return m.handler }
