package metrics

import (
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scriptd/scriptd/storagefw"
)

// Zeek's storage metric set (src/storage/Backend.cc, InitMetrics, and the
// SQLite backend's size gauges), under scriptd's prefix: Zeek's
// zeek_storage_X is scriptd_storage_X, with the same labels, label values
// and semantics. docs/storage.md lists them.

// ZeekLatencyBounds are the buckets of
// scriptd_storage_backend_operation_latency_seconds: Zeek's
// Storage::latency_metric_bounds, in seconds.
var ZeekLatencyBounds = []float64{0.001, 0.01, 0.1, 1.0}

// zeekOperations are the operations of Zeek's per-backend series, in the
// order of backendMetrics.ops.
var zeekOperations = [...]string{"put", "get", "erase"}

// storageFamilies are the families of Zeek's storage metric set.
type storageFamilies struct {
	opened   prometheus.Counter
	results  *prometheus.CounterVec   // config, operation, result, type
	latency  *prometheus.HistogramVec // config, operation, type
	written  *prometheus.CounterVec   // config, type
	read     *prometheus.CounterVec   // config, type
	expired  *prometheus.CounterVec   // config, type
	sizes    *sizeCollector
	families []prometheus.Collector
}

func newStorageFamilies() *storageFamilies {
	f := &storageFamilies{sizes: newSizeCollector()}
	f.opened = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scriptd_storage_backends_opened_total",
		Help: "Number of backends opened (Zeek: zeek_storage_backends_opened_total).",
	})
	f.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_storage_backend_operation_results_total",
		Help: "Storage operation results (put, get, erase) per backend: success; fail (KEY_EXISTS, KEY_NOT_FOUND); timeout; error (every other code). " +
			"Zeek: zeek_storage_backend_operation_results_total.",
	}, []string{"config", "operation", "result", "type"})
	f.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scriptd_storage_backend_operation_latency_seconds",
		Help:    "Storage operation latency (put, get, erase; timeouts not observed) per backend, in Zeek's Storage::latency_metric_bounds. Zeek: zeek_storage_backend_operation_latency_seconds.",
		Buckets: ZeekLatencyBounds,
	}, []string{"config", "operation", "type"})
	f.written = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_storage_backend_data_written_bytes_total",
		Help: "Storage data written to backend (SQLite: put values; Redis: put keys and values). Zeek: zeek_storage_backend_data_written_bytes_total.",
	}, []string{"config", "type"})
	f.read = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_storage_backend_data_read_bytes_total",
		Help: "Storage data read from backend (values found by get). Zeek: zeek_storage_backend_data_read_bytes_total.",
	}, []string{"config", "type"})
	f.expired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptd_storage_backend_expired_entries_total",
		Help: "Storage expired entries removed by backend (its expiry sweeps). Zeek: zeek_storage_backend_expired_entries_total.",
	}, []string{"config", "type"})
	f.families = []prometheus.Collector{f.opened, f.results, f.latency, f.written, f.read, f.expired, f.sizes}
	return f
}

// opSeries are one operation's series of one backend.
type opSeries struct {
	success, fail, error, timeout prometheus.Counter
	latency                       prometheus.Observer
}

// backendMetrics is the storagefw.BackendObserver of one opened backend:
// its series are bound once, at open, so an operation costs atomic adds
// (and, for scriptd_storage_operations_total, one cached lookup).
type backendMetrics struct {
	m       *Metrics
	handle  uint64
	tag     string // "STORAGE_BACKEND_SQLITE", the backend_type label of the older families
	ops     [len(zeekOperations)]opSeries
	written prometheus.Counter
	read    prometheus.Counter
	expired prometheus.Counter
}

var (
	_ storagefw.Observer        = (*Metrics)(nil)
	_ storagefw.BackendObserver = (*backendMetrics)(nil)
)

// BackendOpened implements storagefw.Observer: it counts the open and
// creates the backend's series at 0 (all twelve operation × result series,
// as Zeek does when the backend opens). The SQLite size gauges are read
// from b.Size at scrape time while the backend is open.
func (m *Metrics) BackendOpened(b storagefw.BackendInfo) storagefw.BackendObserver {
	f := m.storage
	f.opened.Inc()
	typ := zeekTag(b.Type)
	config := configLabel(b.Config)
	bm := &backendMetrics{m: m, handle: b.Handle, tag: labelValue("STORAGE_BACKEND_" + b.Type)}
	for i, op := range zeekOperations {
		bm.ops[i] = opSeries{
			success: f.results.WithLabelValues(config, op, "success", typ),
			fail:    f.results.WithLabelValues(config, op, "fail", typ),
			error:   f.results.WithLabelValues(config, op, "error", typ),
			timeout: f.results.WithLabelValues(config, op, "timeout", typ),
			latency: f.latency.WithLabelValues(config, op, typ),
		}
	}
	bm.written = f.written.WithLabelValues(config, typ)
	bm.read = f.read.WithLabelValues(config, typ)
	bm.expired = f.expired.WithLabelValues(config, typ)
	if b.Size != nil {
		f.sizes.add(b.Handle, namePart(b.Type), config, b.Size)
	}
	return bm
}

// zeekTag is Zeek's type label: the backend's tag as Zeek prints it.
func zeekTag(name string) string { return labelValue("Storage::STORAGE_BACKEND_" + name) }

// namePart makes a backend type name part of a metric name: lower case,
// anything but [a-z0-9_] as "_".
func namePart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}

// maxConfigLen bounds the config label (a database path can be long, but
// not unbounded).
const maxConfigLen = 1024

// configLabel makes a backend's config a valid label value, kept whole up
// to maxConfigLen bytes.
func configLabel(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > maxConfigLen {
		cut := maxConfigLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// Operation implements storagefw.BackendObserver. Zeek's classes: SUCCESS
// is success, KEY_EXISTS and KEY_NOT_FOUND fail, TIMEOUT timeout, every
// other code error; the latency of all but timeouts is observed. Operations
// the framework refused (type mismatch, closed handle) count here, as in
// Zeek, but not in scriptd_storage_operations_total, which counts the
// operations issued to a backend (unchanged from before).
func (bm *backendMetrics) Operation(op storagefw.OperationReport) {
	if !op.Refused {
		bm.m.storageOperation(bm.tag, op)
	}
	var s *opSeries
	switch op.Method {
	case "put":
		s = &bm.ops[0]
	case "get":
		s = &bm.ops[1]
	case "erase":
		s = &bm.ops[2]
	default:
		return // the calls beyond Zeek: scriptd_storage_operations_total only
	}
	switch op.Code {
	case storagefw.Success:
		s.success.Inc()
	case storagefw.KeyExists, storagefw.KeyNotFound:
		s.fail.Inc()
	case storagefw.Timeout:
		s.timeout.Inc()
		return
	case storagefw.InProgress:
	default:
		s.error.Inc()
	}
	s.latency.Observe(op.Took.Seconds())
}

// DataWritten implements storagefw.Reporter.
func (bm *backendMetrics) DataWritten(n int) { bm.written.Add(float64(n)) }

// DataRead implements storagefw.Reporter.
func (bm *backendMetrics) DataRead(n int) { bm.read.Add(float64(n)) }

// EntriesExpired implements storagefw.Reporter.
func (bm *backendMetrics) EntriesExpired(n int) { bm.expired.Add(float64(n)) }

// Closed implements storagefw.BackendObserver: the size gauges of the
// backend go (Zeek removes their callbacks); its counters stay.
func (bm *backendMetrics) Closed() { bm.m.storage.sizes.remove(bm.handle) }

// legacyKey identifies a series of scriptd_storage_operations_total.
type legacyKey struct {
	tag, method string
	code        storagefw.Code
}

type legacySeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// storageOperation counts op in scriptd_storage_operations_total and
// scriptd_storage_operation_duration_seconds (series cached by key).
func (m *Metrics) storageOperation(tag string, op storagefw.OperationReport) {
	k := legacyKey{tag, op.Method, op.Code}
	v, ok := m.legacy.Load(k)
	if !ok {
		method := labelValue(op.Method)
		v, _ = m.legacy.LoadOrStore(k, &legacySeries{
			count:   m.storageOps.WithLabelValues(method, tag, resultOf(op.Code), labelValue(string(op.Code))),
			latency: m.storageLat.WithLabelValues(method, tag),
		})
	}
	s := v.(*legacySeries)
	s.count.Inc()
	s.latency.Observe(op.Took.Seconds())
}

// sizeCollector reports the size gauges of the open backends that have a
// size (storagefw.DatabaseSizer), read at scrape time:
// scriptd_storage_<type>_database_size_bytes and ..._pages, by config
// (Zeek: zeek_storage_sqlite_database_size_bytes and ..._pages). Several
// open handles on one store give one series (the first handle's).
type sizeCollector struct {
	mu      sync.Mutex
	sources map[uint64]sizeSource
	descs   map[string][2]*prometheus.Desc // per type: bytes, pages
}

type sizeSource struct {
	typ, config string
	size        func() (storagefw.DatabaseSize, bool)
}

func newSizeCollector() *sizeCollector {
	return &sizeCollector{sources: map[uint64]sizeSource{}, descs: map[string][2]*prometheus.Desc{}}
}

func (c *sizeCollector) add(handle uint64, typ, config string, size func() (storagefw.DatabaseSize, bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources[handle] = sizeSource{typ, config, size}
	if _, ok := c.descs[typ]; !ok {
		c.descs[typ] = [2]*prometheus.Desc{
			prometheus.NewDesc("scriptd_storage_"+typ+"_database_size_bytes",
				"Storage "+typ+" backend database file size on disk (Zeek: zeek_storage_sqlite_database_size_bytes).", []string{"config"}, nil),
			prometheus.NewDesc("scriptd_storage_"+typ+"_database_size_pages",
				"Storage "+typ+" backend value of page_count pragma (Zeek: zeek_storage_sqlite_database_size_pages).", []string{"config"}, nil),
		}
	}
}

func (c *sizeCollector) remove(handle uint64) {
	c.mu.Lock()
	delete(c.sources, handle)
	c.mu.Unlock()
}

// Describe implements prometheus.Collector. It describes nothing: the
// families appear with the backends (an unchecked collector).
func (c *sizeCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: it reads each open backend's
// size (outside the lock: it may do I/O).
func (c *sizeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	handles := make([]uint64, 0, len(c.sources))
	for h := range c.sources {
		handles = append(handles, h)
	}
	sort.Slice(handles, func(i, j int) bool { return handles[i] < handles[j] })
	srcs := make([]sizeSource, len(handles))
	descs := make([][2]*prometheus.Desc, len(handles))
	for i, h := range handles {
		srcs[i] = c.sources[h]
		descs[i] = c.descs[srcs[i].typ]
	}
	c.mu.Unlock()
	seen := map[[2]string]bool{}
	for i, s := range srcs {
		k := [2]string{s.typ, s.config}
		if seen[k] {
			continue
		}
		size, ok := s.size()
		if !ok {
			continue
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(descs[i][0], prometheus.GaugeValue, float64(size.Bytes), s.config)
		ch <- prometheus.MustNewConstMetric(descs[i][1], prometheus.GaugeValue, float64(size.Pages), s.config)
	}
}
