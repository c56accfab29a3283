package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// families are parsed metric families by name.
type families map[string]*dto.MetricFamily

// scrape writes m's metrics with Write and parses them back with the
// Prometheus text parser (legacy name validation), which also checks the
// output is well-formed.
func scrape(t *testing.T, m *Metrics) (string, families) {
	t.Helper()
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String(), parseText(t, b.String())
}

func parseText(t *testing.T, text string) families {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return fams
}

// series returns the series of family name whose label set is exactly
// labels (name, value pairs), or nil.
func series(fams families, name string, labels ...string) *dto.Metric {
	mf := fams[name]
	if mf == nil {
		return nil
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
				match = false
				break
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// value returns a counter's or gauge's value, or NaN (reported) if the
// series is missing.
func value(t *testing.T, fams families, name string, labels ...string) float64 {
	t.Helper()
	m := series(fams, name, labels...)
	switch {
	case m == nil:
		t.Errorf("no series %s%v", name, labels)
		return math.NaN()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Errorf("%s%v is neither counter nor gauge", name, labels)
	return math.NaN()
}

// histogram returns a histogram series, failing the test if missing.
func histogram(t *testing.T, fams families, name string, labels ...string) *dto.Histogram {
	t.Helper()
	m := series(fams, name, labels...)
	if m == nil || m.Histogram == nil {
		t.Fatalf("no histogram series %s%v", name, labels)
	}
	return m.Histogram
}

// cumulative returns the cumulative count of the bucket with upper bound le.
func cumulative(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Errorf("no bucket le=%v", le)
	return 0
}

func checkValues(t *testing.T, fams families, want map[string]float64) {
	t.Helper()
	for key, w := range want {
		name, labels := parseKey(key)
		if got := value(t, fams, name, labels...); got != w {
			t.Errorf("%s = %v, want %v", key, got, w)
		}
	}
}

// parseKey splits `name{a="x",b="y"}` (no commas or quotes in values)
// into the name and label pairs.
func parseKey(key string) (string, []string) {
	name, rest, ok := strings.Cut(key, "{")
	if !ok {
		return name, nil
	}
	var labels []string
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		labels = append(labels, k, strings.Trim(v, `"`))
	}
	return name, labels
}

// scriptdFamilies are the scriptd_* families with their types and help.
var scriptdFamilies = map[string]struct {
	typ  dto.MetricType
	help string
}{
	"scriptd_events_total":                       {dto.MetricType_COUNTER, `Events dispatched to handlers, by event name (the first 1000 names; later ones as "other").`},
	"scriptd_event_handler_calls_total":          {dto.MetricType_COUNTER, "Handler invocations across all events."},
	"scriptd_event_dispatch_duration_seconds":    {dto.MetricType_HISTOGRAM, "Time to run one event's handlers up to their first await (synchronous dispatch time)."},
	"scriptd_handler_errors_total":               {dto.MetricType_COUNTER, "Handlers and callbacks that threw, rejected or ran past the handler time limit."},
	"scriptd_reloads_total":                      {dto.MetricType_COUNTER, "Hot reload attempts, by result (ok, failed)."},
	"scriptd_storage_operations_total":           {dto.MetricType_COUNTER, "Finished storage operations issued to a backend, by operation (every call, also those beyond Zeek), backend type, result (success, failed, timeout) and return code."},
	"scriptd_storage_operation_duration_seconds": {dto.MetricType_HISTOGRAM, "Storage operation latency from issue to completion, by operation and backend type."},
	"scriptd_http_requests_total":                {dto.MetricType_COUNTER, "HTTP requests by route pattern and status code."},
	"scriptd_http_request_duration_seconds":      {dto.MetricType_HISTOGRAM, "HTTP request latency by route pattern."},
	"scriptd_storage_operations_in_flight":       {dto.MetricType_GAUGE, "Storage operations issued and not yet finished (all backends)."},
	"scriptd_input_records_total":                {dto.MetricType_COUNTER, "Records read from each --input and dispatched."},
	"scriptd_input_skipped_total":                {dto.MetricType_COUNTER, "Records of each --input that could not be parsed and were skipped."},
	"scriptd_input_read_bytes_total":             {dto.MetricType_COUNTER, "Bytes read from each --input (compressed bytes for .gz), across rotations."},
	"scriptd_input_size_bytes":                   {dto.MetricType_GAUGE, "Size of the file each --input reads (0 if unknown, e.g. stdin)."},
	"scriptd_build_info":                         {dto.MetricType_GAUGE, "Build information; the value is always 1."},
	"scriptd_start_time_seconds":                 {dto.MetricType_GAUGE, "When these metrics were created (about when the process started), in seconds since the Unix epoch."},
	"scriptd_storage_backends_opened_total":      {dto.MetricType_COUNTER, "Number of backends opened (Zeek: zeek_storage_backends_opened_total)."},
	"scriptd_storage_backend_operation_results_total": {dto.MetricType_COUNTER, "Storage operation results (put, get, erase) per backend: success; fail (KEY_EXISTS, KEY_NOT_FOUND); timeout; error (every other code). " +
		"Zeek: zeek_storage_backend_operation_results_total."},
	"scriptd_storage_backend_operation_latency_seconds": {dto.MetricType_HISTOGRAM, "Storage operation latency (put, get, erase; timeouts not observed) per backend, in Zeek's Storage::latency_metric_bounds. Zeek: zeek_storage_backend_operation_latency_seconds."},
	"scriptd_storage_backend_data_written_bytes_total":  {dto.MetricType_COUNTER, "Storage data written to backend (SQLite: put values; Redis: put keys and values). Zeek: zeek_storage_backend_data_written_bytes_total."},
	"scriptd_storage_backend_data_read_bytes_total":     {dto.MetricType_COUNTER, "Storage data read from backend (values found by get). Zeek: zeek_storage_backend_data_read_bytes_total."},
	"scriptd_storage_backend_expired_entries_total":     {dto.MetricType_COUNTER, "Storage expired entries removed by backend (its expiry sweeps). Zeek: zeek_storage_backend_expired_entries_total."},
}

// storageOp reports one operation through a backend observer of its own
// (a backend of type typ opened for it).
func storageOp(m *Metrics, typ, method string, code storagefw.Code, took time.Duration) {
	m.BackendOpened(storagefw.BackendInfo{Type: typ}).Operation(storagefw.OperationReport{Method: method, Code: code, Took: took})
}

func TestObserversAndFormat(t *testing.T) {
	stats := []input.Stats{{Records: 10, Skipped: 2, BytesRead: 300, Size: 1000}, {Records: 1}}
	before := time.Now()
	m := New(Options{
		Version:    "v1.2.3",
		Inputs:     []string{"conn.log", "conn.log"},
		InputStats: func() []input.Stats { return stats },
	})
	m.EventDispatched("dns", 2, 3*time.Millisecond)
	m.EventDispatched("dns", 2, time.Millisecond)
	m.EventDispatched("we\"ird\nname", 0, 0)
	m.HandlerError("handler for \"dns\" (a.js:3)")
	m.Reload(true)
	storageOp(m, "SQLITE", "put", storagefw.Success, 2*time.Millisecond)
	storageOp(m, "SQLITE", "get", storagefw.KeyNotFound, time.Millisecond)
	storageOp(m, "REDIS", "get", storagefw.Timeout, 6*time.Second)
	m.HTTPRequest("POST /v1/events/{name}", 202, time.Millisecond)
	m.HTTPRequest("", 404, time.Millisecond)

	text, fams := scrape(t, m)
	checkValues(t, fams, map[string]float64{
		`scriptd_events_total{event="dns"}`:      2,
		`scriptd_events_total{event="other"}`:    0,
		`scriptd_event_handler_calls_total`:      4,
		`scriptd_handler_errors_total`:           1,
		`scriptd_reloads_total{result="failed"}`: 0,
		`scriptd_reloads_total{result="ok"}`:     1,
		`scriptd_storage_operations_total{operation="get",backend_type="STORAGE_BACKEND_REDIS",result="timeout",code="TIMEOUT"}`:       1,
		`scriptd_storage_operations_total{operation="get",backend_type="STORAGE_BACKEND_SQLITE",result="failed",code="KEY_NOT_FOUND"}`: 1,
		`scriptd_storage_operations_total{operation="put",backend_type="STORAGE_BACKEND_SQLITE",result="success",code="SUCCESS"}`:      1,
		`scriptd_storage_operations_in_flight`:                                         0,
		`scriptd_input_records_total{input="conn.log"}`:                                10,
		`scriptd_input_records_total{input="conn.log#2"}`:                              1,
		`scriptd_input_skipped_total{input="conn.log"}`:                                2,
		`scriptd_input_read_bytes_total{input="conn.log"}`:                             300,
		`scriptd_input_size_bytes{input="conn.log"}`:                                   1000,
		`scriptd_http_requests_total{route="POST /v1/events/{name}",code="202"}`:       1,
		`scriptd_http_requests_total{route="unmatched",code="404"}`:                    1,
		`scriptd_build_info{version="v1.2.3",goversion="` + goruntime.Version() + `"}`: 1,
	})
	// Label values with quotes and newlines survive escaping.
	if got := value(t, fams, "scriptd_events_total", "event", "we\"ird\nname"); got != 1 {
		t.Errorf("escaped event name: %v", got)
	}
	if !strings.Contains(text, `scriptd_events_total{event="we\"ird\nname"} 1`+"\n") {
		t.Errorf("escaping:\n%s", text)
	}
	if st := value(t, fams, "scriptd_start_time_seconds"); st < float64(before.Unix())-1 || st > float64(time.Now().Unix())+1 {
		t.Errorf("start time %v", st)
	}

	h := histogram(t, fams, "scriptd_event_dispatch_duration_seconds")
	if cumulative(t, h, 0.001) != 2 || cumulative(t, h, 0.005) != 3 || h.GetSampleCount() != 3 || math.Abs(h.GetSampleSum()-0.004) > 1e-12 {
		t.Errorf("dispatch histogram %v", h)
	}
	if h := histogram(t, fams, "scriptd_storage_operation_duration_seconds", "operation", "put", "backend_type", "STORAGE_BACKEND_SQLITE"); cumulative(t, h, 0.001) != 0 || cumulative(t, h, 0.0025) != 1 {
		t.Errorf("put histogram %v", h)
	}
	if h := histogram(t, fams, "scriptd_storage_operation_duration_seconds", "operation", "get", "backend_type", "STORAGE_BACKEND_REDIS"); h.GetSampleCount() != 1 || cumulative(t, h, 5) != 0 || cumulative(t, h, 10) != 1 {
		t.Errorf("redis histogram %v", h)
	}
	if h := histogram(t, fams, "scriptd_http_request_duration_seconds", "route", "unmatched"); h.GetSampleCount() != 1 {
		t.Errorf("http histogram %v", h)
	}

	// Every scriptd family, with its type, help and (histograms) buckets;
	// and no other scriptd family.
	for name, want := range scriptdFamilies {
		mf := fams[name]
		if mf == nil {
			t.Errorf("family %s missing", name)
			continue
		}
		if mf.GetType() != want.typ || mf.GetHelp() != want.help {
			t.Errorf("%s: %v %q, want %v %q", name, mf.GetType(), mf.GetHelp(), want.typ, want.help)
		}
		if want.typ == dto.MetricType_HISTOGRAM {
			for _, s := range mf.GetMetric() {
				var bounds []float64
				for _, b := range s.GetHistogram().GetBucket() {
					if !math.IsInf(b.GetUpperBound(), 1) {
						bounds = append(bounds, b.GetUpperBound())
					}
				}
				wantBounds := latencyBuckets
				if name == "scriptd_storage_backend_operation_latency_seconds" {
					wantBounds = []float64{0.001, 0.01, 0.1, 1} // Zeek's Storage::latency_metric_bounds
				}
				if !slices.Equal(bounds, wantBounds) {
					t.Errorf("%s buckets %v", name, bounds)
				}
			}
		}
	}
	for name := range fams {
		if _, ok := scriptdFamilies[name]; strings.HasPrefix(name, "scriptd_") && !ok {
			t.Errorf("unexpected family %s", name)
		}
	}

	// Families come in name order.
	var names []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			names = append(names, strings.Fields(l)[2])
		}
	}
	if !sort.StringsAreSorted(names) || len(names) != len(fams) {
		t.Errorf("families out of order or repeated: %v", names)
	}
}

// TestStandardCollectors: go_* and process_* come from client_golang's
// collectors (go_goroutines and go_memstats_heap_alloc_bytes were
// hand-made before).
func TestStandardCollectors(t *testing.T) {
	_, fams := scrape(t, New(Options{}))
	want := []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_threads", "go_info", "go_gc_duration_seconds"}
	if goruntime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds")
	}
	for _, name := range want {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	if g := value(t, fams, "go_goroutines"); g < 1 {
		t.Errorf("go_goroutines %v", g)
	}
	if h := value(t, fams, "go_memstats_heap_alloc_bytes"); h <= 0 {
		t.Errorf("go_memstats_heap_alloc_bytes %v", h)
	}
}

// TestPrivateRegistry: each Metrics has its own registry; the global
// default registry stays untouched.
func TestPrivateRegistry(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.EventDispatched("x", 1, 0)
	_, fa := scrape(t, a)
	_, fb := scrape(t, b)
	if v := value(t, fa, "scriptd_events_total", "event", "x"); v != 1 {
		t.Errorf("a: %v", v)
	}
	if series(fb, "scriptd_events_total", "event", "x") != nil {
		t.Error("b sees a's event")
	}
	global, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range global {
		if strings.HasPrefix(mf.GetName(), "scriptd_") {
			t.Errorf("%s in the default registry", mf.GetName())
		}
	}
	problems, err := promtestutil.GatherAndLint(a.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestEventNameCap(t *testing.T) {
	m := New(Options{MaxEventNames: 3})
	for i := range 10 {
		m.EventDispatched(fmt.Sprintf("ev%d", i), 1, 0)
	}
	m.EventDispatched("ev1", 1, 0)
	m.EventDispatched("\xff\xfebad", 1, 0)
	m.EventDispatched(strings.Repeat("é", 200), 1, 0)
	_, fams := scrape(t, m)
	checkValues(t, fams, map[string]float64{
		`scriptd_events_total{event="ev0"}`:   1,
		`scriptd_events_total{event="ev1"}`:   2,
		`scriptd_events_total{event="ev2"}`:   1,
		`scriptd_events_total{event="other"}`: 9,
	})
	if n := len(fams["scriptd_events_total"].GetMetric()); n != 4 {
		t.Errorf("%d event series, want 4 (3 names + other)", n)
	}
	if !strings.Contains(fams["scriptd_events_total"].GetHelp(), "first 3 names") {
		t.Errorf("help %q", fams["scriptd_events_total"].GetHelp())
	}
}

// TestInvalidLabelValues: names that are not valid UTF-8 or too long are
// cleaned before they reach client_golang (which would reject them).
func TestInvalidLabelValues(t *testing.T) {
	m := New(Options{Version: "v\xff", Inputs: []string{"a\xffb"}, InputStats: func() []input.Stats { return []input.Stats{{Records: 1}} }})
	m.EventDispatched("\xff\xfebad", 1, 0)
	m.EventDispatched(strings.Repeat("é", 200), 1, 0)
	m.HTTPRequest("GET /\xff", 200, 0)
	_, fams := scrape(t, m)
	checkValues(t, fams, map[string]float64{
		"scriptd_events_total{event=\"\uFFFDbad\"}":                       1,
		`scriptd_events_total{event="` + strings.Repeat("é", 64) + `"}`:   1,
		"scriptd_input_records_total{input=\"a\uFFFDb\"}":                 1,
		"scriptd_http_requests_total{route=\"GET /\uFFFD\",code=\"200\"}": 1,
	})
	if series(fams, "scriptd_build_info", "version", "v\uFFFD", "goversion", goruntime.Version()) == nil {
		t.Error("build info with cleaned version missing")
	}
}

func TestLabelValue(t *testing.T) {
	if got := labelValue("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	got := labelValue(long)
	if len(got) > maxLabelLen || !strings.HasPrefix(long, got) || len(got) != 128 {
		t.Errorf("truncation: %d bytes", len(got))
	}
}

func TestUniqueLabels(t *testing.T) {
	got := uniqueLabels([]string{"a", "a", "a#2", "b", "a"})
	want := []string{"a", "a#2", "a#2#2", "b", "a#3"}
	if !slices.Equal(got, want) {
		t.Errorf("uniqueLabels = %q, want %q", got, want)
	}
}

// TestConcurrentObservers runs observers against scrapes (run with -race).
func TestConcurrentObservers(t *testing.T) {
	m := New(Options{MaxEventNames: 50})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			bo := m.BackendOpened(storagefw.BackendInfo{Handle: uint64(g), Type: "SQLITE", Config: "db-t"})
			for i := range 2000 {
				m.EventDispatched(fmt.Sprintf("e%d", (g*7+i)%100), 1, time.Microsecond)
				bo.Operation(storagefw.OperationReport{Method: "put", Code: storagefw.Success, Took: time.Microsecond})
				bo.DataWritten(3)
				m.HTTPRequest("GET /x", 200, time.Microsecond)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			if i%2 == 0 {
				_ = m.Write(io.Discard)
				continue
			}
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	wg.Wait()
	<-done
	_, fams := scrape(t, m)
	if h := histogram(t, fams, "scriptd_storage_operation_duration_seconds", "operation", "put", "backend_type", "STORAGE_BACKEND_SQLITE"); h.GetSampleCount() != 8000 {
		t.Errorf("storage count %d, want 8000", h.GetSampleCount())
	}
	checkValues(t, fams, map[string]float64{
		`scriptd_storage_backend_operation_results_total{config="db-t",operation="put",result="success",type="Storage::STORAGE_BACKEND_SQLITE"}`: 8000,
		`scriptd_storage_backend_data_written_bytes_total{config="db-t",type="Storage::STORAGE_BACKEND_SQLITE"}`:                                 24000,
		`scriptd_storage_backends_opened_total`: 4,
	})
	total := 0.0
	for _, s := range fams["scriptd_events_total"].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	if total != 8000 {
		t.Errorf("events total %v, want 8000", total)
	}
	if n := len(fams["scriptd_events_total"].GetMetric()); n != 51 {
		t.Errorf("%d event series, want 51", n)
	}
	if v := value(t, fams, "scriptd_event_handler_calls_total"); v != 8000 {
		t.Errorf("handler calls %v", v)
	}
}

func TestInFlightAndStorageObserver(t *testing.T) {
	be := &storagetest.HoldBackend{}
	fw, m := observedFramework(storagefw.Config{
		Backends: []storagefw.BackendType{{Name: "HOLD", OptionsField: "hold",
			Open: func(context.Context, storagefw.OpenConfig) (storagefw.Backend, error) { return be, nil }}},
	})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{Backend: "HOLD", Options: map[string]any{"hold": map[string]any{}}, KeyType: "string", ValType: "any"})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	done := make(chan struct{}, 3)
	for i := range 3 {
		go func() {
			h.Put(context.Background(), fmt.Sprint(i), i, storagefw.PutArgs{Overwrite: true})
			done <- struct{}{}
		}()
	}
	testutil.Eventually(t, 5*time.Second, "three puts in flight", func() bool { return fw.Operations().InFlight() == 3 })
	_, fams := scrape(t, m)
	checkValues(t, fams, map[string]float64{"scriptd_storage_operations_in_flight": 3})
	be.Release()
	for range 3 {
		<-done
	}
	_, fams = scrape(t, m)
	checkValues(t, fams, map[string]float64{
		"scriptd_storage_operations_in_flight": 0,
		`scriptd_storage_operations_total{operation="put",backend_type="STORAGE_BACKEND_HOLD",result="success",code="SUCCESS"}`: 3,
	})
}

// observerFunc adapts a function to storagefw.Observer.
type observerFunc func(storagefw.BackendInfo) storagefw.BackendObserver

// observedFramework makes a framework from cfg with Metrics as its storage
// observer, wired as scriptd wires them (the Metrics reads the
// framework's operations, the framework reports to the Metrics).
func observedFramework(cfg storagefw.Config) (*storagefw.Framework, *Metrics) {
	var m *Metrics
	cfg.Observer = observerFunc(func(b storagefw.BackendInfo) storagefw.BackendObserver { return m.BackendOpened(b) })
	fw := storagefw.New(cfg)
	m = New(Options{Operations: fw.Operations})
	return fw, m
}

func (f observerFunc) BackendOpened(b storagefw.BackendInfo) storagefw.BackendObserver { return f(b) }

func TestHandlerGzip(t *testing.T) {
	m := New(Options{})
	m.EventDispatched("x", 1, 0)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") ||
		!slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	checkValues(t, parseText(t, string(body)), map[string]float64{`scriptd_events_total{event="x"}`: 1})

	resp2, err := http.Get(srv.URL) // the client adds and strips gzip itself
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	checkValues(t, parseText(t, string(body2)), map[string]float64{`scriptd_events_total{event="x"}`: 1})

	req3, _ := http.NewRequest("GET", srv.URL, nil) // no compression
	resp3, err := http.DefaultTransport.RoundTrip(req3)
	if err != nil {
		t.Fatal(err)
	}
	body3, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	if resp3.Header.Get("Content-Encoding") != "" {
		t.Errorf("identity response encoded: %v", resp3.Header)
	}
	checkValues(t, parseText(t, string(body3)), map[string]float64{`scriptd_events_total{event="x"}`: 1})
}

// TestHandlerProtobuf: promhttp negotiates the protobuf format Prometheus
// servers prefer.
func TestHandlerProtobuf(t *testing.T) {
	m := New(Options{})
	m.Reload(false)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	format := expfmt.ResponseFormat(resp.Header)
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("format %q", format)
	}
	fams := families{}
	dec := expfmt.NewDecoder(resp.Body, format)
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		fams[mf.GetName()] = mf
	}
	checkValues(t, fams, map[string]float64{`scriptd_reloads_total{result="failed"}`: 1, `scriptd_reloads_total{result="ok"}`: 0})
}
