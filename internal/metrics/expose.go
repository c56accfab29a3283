package metrics

import (
	goruntime "runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scriptd/scriptd/runtime/input"
)

// scrapeCollector is a prometheus.Collector for the families whose values
// are read at scrape time: the storage in-flight gauge and the --input
// statistics (from Options), build information and the start time.
type scrapeCollector struct {
	opts   Options
	inputs []string // unique label values for Options.Inputs
	start  float64  // seconds since the Unix epoch

	inFlight  *prometheus.Desc
	records   *prometheus.Desc
	skipped   *prometheus.Desc
	readBytes *prometheus.Desc
	size      *prometheus.Desc
	// stream inputs only
	streamLag     *prometheus.Desc
	streamPending *prometheus.Desc
	unacked       *prometheus.Desc
	acked         *prometheus.Desc
	buildInfo     *prometheus.Desc
	startTime     *prometheus.Desc
}

func newScrapeCollector(opts Options, start time.Time) *scrapeCollector {
	input := []string{"input"}
	return &scrapeCollector{
		opts:   opts,
		inputs: uniqueLabels(opts.Inputs),
		start:  float64(start.UnixNano()) / 1e9,
		inFlight: prometheus.NewDesc("scriptd_storage_operations_in_flight",
			"Storage operations issued and not yet finished (all backends).", nil, nil),
		records: prometheus.NewDesc("scriptd_input_records_total",
			"Records read from each --input and dispatched.", input, nil),
		skipped: prometheus.NewDesc("scriptd_input_skipped_total",
			"Records of each --input that could not be parsed and were skipped.", input, nil),
		readBytes: prometheus.NewDesc("scriptd_input_read_bytes_total",
			"Bytes read from each --input (compressed bytes for .gz), across rotations.", input, nil),
		size: prometheus.NewDesc("scriptd_input_size_bytes",
			"Size of the file each --input reads (0 if unknown, e.g. stdin).", input, nil),
		streamLag: prometheus.NewDesc("scriptd_input_stream_lag",
			"Records of each stream --input not yet delivered to its consumer group (-1 unknown; polled every few seconds).", input, nil),
		streamPending: prometheus.NewDesc("scriptd_input_stream_pending",
			"Records of each stream --input delivered to its group's processes and not yet acknowledged (-1 unknown; polled every few seconds).", input, nil),
		unacked: prometheus.NewDesc("scriptd_input_unacked",
			"Records of each stream --input delivered to this process and not yet acknowledged (their handlers have not all settled).", input, nil),
		acked: prometheus.NewDesc("scriptd_input_acked_total",
			"Records of each stream --input this process acknowledged (bad records included).", input, nil),
		buildInfo: prometheus.NewDesc("scriptd_build_info",
			"Build information; the value is always 1.", []string{"version", "goversion"}, nil),
		startTime: prometheus.NewDesc("scriptd_start_time_seconds",
			"When these metrics were created (about when the process started), in seconds since the Unix epoch.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.inFlight, c.records, c.skipped, c.readBytes, c.size, c.streamLag, c.streamPending, c.unacked, c.acked, c.buildInfo, c.startTime} {
		ch <- d
	}
}

// Collect implements prometheus.Collector; it calls the Options sources.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	n := 0
	if c.opts.Operations != nil {
		if ops := c.opts.Operations(); ops != nil {
			n = ops.InFlight()
		}
	}
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(n))

	if c.opts.InputStats != nil {
		for i, s := range c.opts.InputStats() {
			if i >= len(c.inputs) {
				break
			}
			c.input(ch, s, c.inputs[i])
		}
	}

	ch <- prometheus.MustNewConstMetric(c.buildInfo, prometheus.GaugeValue, 1, labelValue(c.opts.Version), goruntime.Version())
	ch <- prometheus.MustNewConstMetric(c.startTime, prometheus.GaugeValue, c.start)
}

func (c *scrapeCollector) input(ch chan<- prometheus.Metric, s input.Stats, label string) {
	ch <- prometheus.MustNewConstMetric(c.records, prometheus.CounterValue, float64(s.Records), label)
	ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(s.Skipped), label)
	ch <- prometheus.MustNewConstMetric(c.readBytes, prometheus.CounterValue, float64(s.BytesRead), label)
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.Size), label)
	if s.Stream {
		ch <- prometheus.MustNewConstMetric(c.streamLag, prometheus.GaugeValue, float64(s.Lag), label)
		ch <- prometheus.MustNewConstMetric(c.streamPending, prometheus.GaugeValue, float64(s.Pending), label)
		ch <- prometheus.MustNewConstMetric(c.unacked, prometheus.GaugeValue, float64(s.Unacked), label)
		ch <- prometheus.MustNewConstMetric(c.acked, prometheus.CounterValue, float64(s.Acked), label)
	}
}

// maxLabelLen bounds a label value taken from data (event names).
const maxLabelLen = 128

// labelValue makes s usable as a label value: valid UTF-8 (client_golang
// rejects anything else), at most maxLabelLen bytes (cut at a rune
// boundary).
func labelValue(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > maxLabelLen {
		cut := maxLabelLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// InputLabels returns the values of the "input" label for the
// Options.Inputs names (see uniqueLabels), so that other views of the
// inputs (the HTTP operations view) can name them alike.
func InputLabels(names []string) []string { return uniqueLabels(names) }

// uniqueLabels makes input names valid, distinct label values: a name
// given twice gets "#2", "#3"... appended (skipping values already taken,
// as client_golang rejects duplicate series).
func uniqueLabels(names []string) []string {
	out := make([]string, len(names))
	used := map[string]bool{}
	for i, n := range names {
		base := labelValue(n)
		v := base
		for k := 2; used[v]; k++ {
			v = base + "#" + strconv.Itoa(k)
		}
		used[v] = true
		out[i] = v
	}
	return out
}
