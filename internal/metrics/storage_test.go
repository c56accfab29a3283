package metrics

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	redisbackend "github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

// Zeek's storage metric set against real backends: a SQLite file and a
// redis-server of the test's own, through the framework with Metrics as
// its observer, as scriptd wires it.

// testClock is a network clock the test moves.
type testClock struct{ bits atomic.Uint64 }

func newTestClock(t float64) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t float64)  { c.bits.Store(math.Float64bits(t)) }
func (c *testClock) now() float64   { return math.Float64frombits(c.bits.Load()) }
func (c *testClock) add(d float64)  { c.set(c.now() + d) }
func (c *testClock) clock() float64 { return c.now() }

// zeekSeries names the series of backend (type, config) in Zeek's set.
type zeekSeries struct{ typ, config string }

func (z zeekSeries) result(op, result string) string {
	return fmt.Sprintf(`scriptd_storage_backend_operation_results_total{config="%s",operation="%s",result="%s",type="%s"}`, z.config, op, result, z.typ)
}

func (z zeekSeries) counter(name string) string {
	return fmt.Sprintf(`scriptd_storage_backend_%s{config="%s",type="%s"}`, name, z.config, z.typ)
}

// results is the twelve operation × result series with the given counts
// (put, get, erase; each success, fail, error, timeout).
func (z zeekSeries) results(counts [3][4]float64) map[string]float64 {
	out := map[string]float64{}
	for i, op := range []string{"put", "get", "erase"} {
		for j, r := range []string{"success", "fail", "error", "timeout"} {
			out[z.result(op, r)] = counts[i][j]
		}
	}
	return out
}

// atOpen is what the backend's series read once it opened: one open,
// every other series created at 0, as in Zeek.
func (z zeekSeries) atOpen() map[string]float64 {
	return merge(z.results([3][4]float64{}), map[string]float64{
		"scriptd_storage_backends_opened_total": 1,
		z.counter("data_written_bytes_total"):   0,
		z.counter("data_read_bytes_total"):      0,
		z.counter("expired_entries_total"):      0,
	})
}

func merge(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// The serialized sizes of the test's keys and values ("JSONv1;" + JSON).
const (
	keyLen   = len(`JSONv1;"k1"`)        // 11
	valueLen = len(`JSONv1;"value5678"`) // 18, as in Zeek's Baselines
)

// runZeekOps runs the operations both backend tests share and returns what
// each should have counted: put success 1, fail 1 (KEY_EXISTS), error 1
// (value type mismatch: Zeek's Backend::Put counts it); get success 1,
// fail 1, error 1 (key type mismatch); erase success 1, fail 1 (scriptd's
// KEY_NOT_FOUND for a missing key, see tests/zeek/sqlite/erase.diff).
func runZeekOps(t *testing.T, h *storagefw.Handle) {
	t.Helper()
	ctx := context.Background()
	expect := func(what string, res storagefw.OperationResult, code storagefw.Code) {
		t.Helper()
		if res.Code != code {
			t.Fatalf("%s: %s %s, want %s", what, res.Code, res.Error, code)
		}
	}
	expect("put", h.Put(ctx, "k1", "value5678", storagefw.PutArgs{Overwrite: true}), storagefw.Success)
	expect("put existing", h.Put(ctx, "k1", "value5678", storagefw.PutArgs{}), storagefw.KeyExists)
	expect("put mismatch", h.Put(ctx, "k9", 5, storagefw.PutArgs{Overwrite: true}), storagefw.ValTypeMismatch)
	expect("get", h.Get(ctx, "k1"), storagefw.Success)
	expect("get missing", h.Get(ctx, "nope"), storagefw.KeyNotFound)
	expect("get mismatch", h.Get(ctx, 5), storagefw.KeyTypeMismatch)
	expect("erase", h.Erase(ctx, "k1"), storagefw.Success)
	expect("erase missing", h.Erase(ctx, "k1"), storagefw.KeyNotFound)
}

// putExpiring puts n entries ("e0"...) expiring after 1 s of network time.
func putExpiring(t *testing.T, h *storagefw.Handle, n int) {
	t.Helper()
	for i := range n {
		res := h.Put(context.Background(), "e"+strconv.Itoa(i), "value5678", storagefw.PutArgs{Overwrite: true, ExpireTime: time.Second})
		if res.Code != storagefw.Success {
			t.Fatalf("put e%d: %s %s", i, res.Code, res.Error)
		}
	}
}

func TestZeekStorageMetricsSQLite(t *testing.T) {
	clk := newTestClock(1000)
	fw, m := observedFramework(storagefw.Config{
		Backends: []storagefw.BackendType{sqlite.Type()},
		Clock:    clk.clock,
		Logger:   slog.New(slog.DiscardHandler),
	})
	path := filepath.Join(t.TempDir(), "test.sqlite")
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{
		Backend: "SQLITE", KeyType: "string", ValType: "string",
		Options: map[string]any{"expire_interval": 0.05, "sqlite": map[string]any{"database_path": path, "table_name": "testing"}},
	})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	z := zeekSeries{typ: "Storage::STORAGE_BACKEND_SQLITE", config: path + "-testing"}

	// Everything exists at 0 from the open, as in Zeek.
	_, fams := scrape(t, m)
	checkValues(t, fams, z.atOpen())
	if n := len(fams["scriptd_storage_backend_operation_results_total"].GetMetric()); n != 12 {
		t.Errorf("%d result series at open, want 12", n)
	}

	runZeekOps(t, h)
	putExpiring(t, h, 2)
	clk.add(10)
	testutil.Eventually(t, 10*time.Second, "the sweep removes the expired entries", func() bool {
		_, fams := scrape(t, m)
		return value(t, fams, "scriptd_storage_backend_expired_entries_total", "config", z.config, "type", z.typ) == 2
	})

	_, fams = scrape(t, m)
	checkValues(t, fams, merge(z.results([3][4]float64{{3, 1, 1, 0}, {1, 1, 1, 0}, {1, 1, 0, 0}}), map[string]float64{
		"scriptd_storage_backends_opened_total": 1,
		// Zeek's SQLite counts a put's value, KEY_EXISTS included.
		z.counter("data_written_bytes_total"): float64(4 * valueLen),
		z.counter("data_read_bytes_total"):    float64(valueLen),
		z.counter("expired_entries_total"):    2,
		// The older family is unchanged: refused operations are not in it.
		`scriptd_storage_operations_total{operation="put",backend_type="STORAGE_BACKEND_SQLITE",result="success",code="SUCCESS"}`:      3,
		`scriptd_storage_operations_total{operation="put",backend_type="STORAGE_BACKEND_SQLITE",result="failed",code="KEY_EXISTS"}`:    1,
		`scriptd_storage_operations_total{operation="get",backend_type="STORAGE_BACKEND_SQLITE",result="failed",code="KEY_NOT_FOUND"}`: 1,
	}))
	if s := series(fams, "scriptd_storage_operations_total", "operation", "put", "backend_type", "STORAGE_BACKEND_SQLITE", "result", "failed", "code", "VAL_TYPE_MISMATCH"); s != nil {
		t.Errorf("a refused put in scriptd_storage_operations_total: %v", s)
	}
	// Latency: every put, get and erase (refused ones too), Zeek's bounds.
	if h := histogram(t, fams, "scriptd_storage_backend_operation_latency_seconds", "config", z.config, "operation", "put", "type", z.typ); h.GetSampleCount() != 5 {
		t.Errorf("put latency count %d, want 5", h.GetSampleCount())
	}

	// The size gauges are the file's stat size and page_count.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int64
	if err := db.QueryRow("pragma page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	checkValues(t, fams, map[string]float64{
		`scriptd_storage_sqlite_database_size_bytes{config="` + z.config + `"}`: float64(fi.Size()),
		`scriptd_storage_sqlite_database_size_pages{config="` + z.config + `"}`: float64(pages),
	})
	if pages < 5 || fi.Size() < 4096 {
		t.Errorf("size %d bytes, %d pages: too small for two tables with their indexes", fi.Size(), pages)
	}

	// Closed: the gauges go, the counters stay; a put on the closed
	// handle is put/error (Zeek: NOT_CONNECTED from its backend).
	if res := h.Close(context.Background()); res.Code != storagefw.Success {
		t.Fatal(res)
	}
	if res := h.Put(context.Background(), "k1", "v", storagefw.PutArgs{Overwrite: true}); res.Code != storagefw.NotConnected {
		t.Fatal(res)
	}
	_, fams = scrape(t, m)
	if fams["scriptd_storage_sqlite_database_size_bytes"] != nil || fams["scriptd_storage_sqlite_database_size_pages"] != nil {
		t.Error("size gauges of a closed backend")
	}
	checkValues(t, fams, map[string]float64{z.result("put", "error"): 2, z.result("put", "success"): 3, z.counter("expired_entries_total"): 2})
}

func TestZeekStorageMetricsRedis(t *testing.T) {
	srv := testutil.StartRedis(t, false)
	// Network time far from the wall clock: replay mode, where the backend
	// sweeps expired entries itself (Zeek's pass while reading a trace) and
	// counts them.
	clk := newTestClock(1.6e9)
	fw, m := observedFramework(storagefw.Config{
		Backends: []storagefw.BackendType{redisbackend.Type()},
		Clock:    clk.clock,
		Logger:   slog.New(slog.DiscardHandler),
	})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{
		Backend: "REDIS", KeyType: "string", ValType: "string",
		Options: map[string]any{"expire_interval": 0.05, "redis": map[string]any{
			"server_host": "127.0.0.1", "server_port": srv.Port, "key_prefix": "testing", "operation_timeout": 0.3}},
	})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	defer h.Close(context.Background())
	z := zeekSeries{typ: "Storage::STORAGE_BACKEND_REDIS", config: srv.Addr() + "-testing"}

	_, fams := scrape(t, m)
	checkValues(t, fams, z.atOpen())
	if fams["scriptd_storage_redis_database_size_bytes"] != nil {
		t.Error("Redis has no size gauges")
	}

	runZeekOps(t, h)
	putExpiring(t, h, 2)
	clk.add(10)
	testutil.Eventually(t, 10*time.Second, "the sweep removes the expired entries", func() bool {
		_, fams := scrape(t, m)
		return value(t, fams, "scriptd_storage_backend_expired_entries_total", "config", z.config, "type", z.typ) == 2
	})

	// A get the server does not answer within operation_timeout: timeout,
	// and no latency observed for it (Zeek's ResultCallback::Timeout).
	pauseRedis(t, srv.Addr(), 1200)
	if res := h.Get(context.Background(), "e0"); res.Code != storagefw.Timeout {
		t.Fatalf("get during CLIENT PAUSE: %s %s", res.Code, res.Error)
	}
	time.Sleep(1300 * time.Millisecond) // the pause ends; the late reply is dropped

	_, fams = scrape(t, m)
	checkValues(t, fams, merge(z.results([3][4]float64{{3, 1, 1, 0}, {1, 1, 1, 1}, {1, 1, 0, 0}}), map[string]float64{
		// Zeek's Redis counts a put's key and value, KEY_EXISTS included.
		z.counter("data_written_bytes_total"): float64(4 * (keyLen + valueLen)),
		z.counter("data_read_bytes_total"):    float64(valueLen),
		z.counter("expired_entries_total"):    2,
	}))
	if h := histogram(t, fams, "scriptd_storage_backend_operation_latency_seconds", "config", z.config, "operation", "get", "type", z.typ); h.GetSampleCount() != 3 {
		t.Errorf("get latency count %d, want 3 (the timeout not observed)", h.GetSampleCount())
	}
}

// pauseRedis sends CLIENT PAUSE ms ALL on a connection of its own.
func pauseRedis(t *testing.T, addr string, ms int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	arg := strconv.Itoa(ms)
	fmt.Fprintf(c, "*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$%d\r\n%s\r\n$3\r\nALL\r\n", len(arg), arg)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+OK\r\n" {
		t.Fatalf("CLIENT PAUSE: %q %v", line, err)
	}
}
