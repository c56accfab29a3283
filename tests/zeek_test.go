package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scriptd/scriptd/internal/testutil"
)

// knownDeviations lists the ported btests whose output does not match Zeek's
// Baseline because of a scriptd bug (or a difference nobody has decided to
// keep yet). They still run: a mismatch is reported with t.Skip and the
// diff, so each entry is a to-do item. Once the output matches, the test
// fails until its entry is removed here. Differences kept on purpose are not
// listed here: they are the <name>.diff patches next to the Baselines (see
// tests/zeek/README.md).
var knownDeviations = map[string]string{}

// zeekBtest is one of Zeek's storage btests ported to scriptd: the script
// tests/zeek/<name>.js, the expected output tests/zeek/<name>.out (Zeek's
// Baseline without btest's header line) and, where scriptd differs on
// purpose, the patch tests/zeek/<name>.diff applied to it first.
type zeekBtest struct {
	name string
	// redis: start a redis-server of the test's own; REDIS_PORT is
	// "<port>/tcp" as btest's @TEST-PORT sets it.
	redis     bool
	redisArgs []string
	// closedPort: REDIS_PORT names a port nobody listens on.
	closedPort bool
	// inputs are --input files, relative to tests/zeek.
	inputs []string
	// copy puts fixtures (relative to tests/zeek) into the working directory.
	copy map[string]string
	// metrics: run with --listen and fill in the @@METRICS@@ line from
	// GET /metrics (see runMetrics).
	metrics bool
	// sed rewrites the output as the btest's own sed does; PORT in a
	// pattern is the Redis port.
	sed [][2]string
	// stderrOK matches stderr lines that are expected (anything else on
	// stderr fails the test).
	stderrOK string
	// run replaces the plain run: it returns the outputs by expected file
	// (relative to tests/zeek).
	run func(t *testing.T, z *zeekEnv) map[string]string
}

var zeekBtests = []zeekBtest{
	{name: "sqlite/basic", metrics: true},
	{name: "sqlite/basic-reading-pcap", inputs: []string{"get-pcap.json"}},
	{name: "sqlite/basic-sync-in-when"},
	{name: "sqlite/cluster", run: runCluster("cluster_started", "sqlite_data_written", "put result 2", "check_removed")},
	{name: "sqlite/compound-types"},
	{name: "sqlite/erase", copy: map[string]string{"sqlite/storage-test.sqlite": "storage-test.sqlite"}},
	{name: "sqlite/error-handling"},
	{name: "sqlite/expiration", inputs: []string{"sqlite/expiration.json"}},
	{name: "sqlite/expiration-implicit", inputs: []string{"sqlite/expiration-implicit.json"}},
	{name: "sqlite/metrics", metrics: true},
	{name: "sqlite/missing-options"},
	{name: "sqlite/multi-backend", run: runMultiBackend},
	{name: "sqlite/overwriting"},

	{name: "redis/async", redis: true, metrics: true, sed: [][2]string{{`-PORT-`, `-XXXX-`}}},
	{name: "redis/async-reading-pcap", redis: true, inputs: []string{"get-pcap.json"}},
	{name: "redis/auth", redis: true, redisArgs: []string{"--requirepass", "testpassword"}},
	{name: "redis/cluster", redis: true, run: runCluster("cluster_started", "redis_data_written", "put result", "")},
	{name: "redis/disconnect", redis: true, sed: [][2]string{{`=[0-9]*/tcp`, `=xxxx/tcp`}}, run: runDisconnect,
		// scriptd reconnects after a lost connection (SPEC §3; Zeek gives up) and says so.
		stderrOK: `level=WARN msg="redis: connection lost; reconnecting"`},
	{name: "redis/erase", redis: true, sed: [][2]string{{`=[0-9]*/tcp`, `=xxxx/tcp`}}},
	{name: "redis/error-handling", closedPort: true},
	{name: "redis/expiration", redis: true, inputs: []string{"redis/expiration.json"}},
	{name: "redis/forced-sync", redis: true, metrics: true, sed: [][2]string{{`-PORT-`, `-XXXX-`}}},
	{name: "redis/missing-options", redis: true},
	{name: "redis/native-expiration", redis: true},
	{name: "redis/sync", redis: true, metrics: true, sed: [][2]string{{`=[0-9]*/tcp`, `=XXXX/tcp`}, {`-PORT-`, `-XXXX-`}}},
}

// zeekEnv is a ported btest's run: its working directory, environment and
// Redis server.
type zeekEnv struct {
	test  zeekBtest
	root  string // tests/zeek
	dir   string // working directory (Zeek's btest sandbox)
	env   []string
	redis *redisServer
	port  int // the Redis port (or the closed one)
}

func (z *zeekEnv) script() string { return filepath.Join(z.root, z.test.name+".js") }

// TestZeekBtests runs each of Zeek's storage btests ported in tests/zeek
// against the built binary and compares its output with Zeek's Baseline.
func TestZeekBtests(t *testing.T) {
	root := filepath.Join(repoRoot, "tests", "zeek")
	for _, bt := range zeekBtests {
		t.Run(bt.name, func(t *testing.T) {
			t.Parallel()
			z := &zeekEnv{test: bt, root: root, dir: t.TempDir()}
			for src, dst := range bt.copy {
				data, err := os.ReadFile(filepath.Join(root, src))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(z.dir, dst), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if bt.redis {
				z.redis = startRedisWith(t, bt.redisArgs...)
				z.port = z.redis.Port
			} else if bt.closedPort {
				z.port = freePort(t)
			}
			if z.port != 0 {
				z.env = append(z.env, "REDIS_PORT="+strconv.Itoa(z.port)+"/tcp")
			}

			var outputs map[string]string
			switch {
			case bt.run != nil:
				outputs = bt.run(t, z)
			case bt.metrics:
				outputs = map[string]string{bt.name + ".out": runMetrics(t, z)}
			default:
				args := []string{"run", z.script()}
				for _, in := range bt.inputs {
					args = append(args, "--input", filepath.Join(root, in))
				}
				p := startZeekProc(t, z, false, args...)
				p.wait(t, 30*time.Second)
				checkStderr(t, z, p)
				outputs = map[string]string{bt.name + ".out": p.Stdout.String()}
			}
			compareZeek(t, z, outputs)
		})
	}
}

// compareZeek compares each output with its expected file (after the
// btest's sed and the deliberate-difference patch).
func compareZeek(t *testing.T, z *zeekEnv, outputs map[string]string) {
	t.Helper()
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var diffs []string
	for _, name := range names {
		got := outputs[name]
		for _, s := range z.test.sed {
			pat := strings.ReplaceAll(s[0], "PORT", strconv.Itoa(z.port))
			got = regexp.MustCompile(pat).ReplaceAllString(got, s[1])
		}
		data, err := os.ReadFile(filepath.Join(z.root, name))
		if err != nil {
			t.Fatal(err)
		}
		want, label := string(data), "Zeek's Baseline"
		patch := strings.TrimSuffix(name, ".out") + ".diff"
		if p, err := os.ReadFile(filepath.Join(z.root, patch)); err == nil {
			if want, err = applyPatch(want, string(p)); err != nil {
				t.Fatalf("%s does not apply to Zeek's Baseline %s: %v", patch, name, err)
			}
			label += " with " + patch
		}
		want, got = strings.TrimSuffix(want, "\n"), strings.TrimSuffix(got, "\n")
		if want != got {
			diffs = append(diffs, fmt.Sprintf("--- %s (expected: %s)\n+++ scriptd\n%s", name, label, lineDiff(want, got)))
		}
	}
	reason, known := knownDeviations[z.test.name]
	switch {
	case len(diffs) > 0 && known:
		t.Skipf("known deviation: %s\n%s", reason, strings.Join(diffs, "\n"))
	case len(diffs) > 0:
		t.Errorf("output differs from Zeek's Baseline:\n%s", strings.Join(diffs, "\n"))
	case known:
		t.Errorf("matches Zeek's Baseline now: remove %q from knownDeviations", z.test.name)
	}
}

// checkStderr fails the test on anything scriptd wrote to stderr (Zeek's
// .stderr Baselines are empty apart from Zeek's own "received termination
// signal" lines), or skips with it for a known deviation.
func checkStderr(t *testing.T, z *zeekEnv, p *zeekProc) {
	t.Helper()
	name := z.test.name
	s := p.Stderr.String()
	if z.test.stderrOK != "" {
		ok := regexp.MustCompile(z.test.stderrOK)
		var rest []string
		for _, l := range strings.SplitAfter(s, "\n") {
			if l != "" && !ok.MatchString(l) {
				rest = append(rest, l)
			}
		}
		s = strings.Join(rest, "")
	}
	if s != "" {
		if reason, ok := knownDeviations[name]; ok {
			t.Logf("stderr (known deviation: %s):\n%s", reason, s)
			return
		}
		t.Errorf("stderr not empty:\n%s", s)
	}
}

// zeekProc is a scriptd process of a ported btest.
type zeekProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	Stdout, Stderr *testutil.Buffer
	done           chan struct{}
	err            error
}

// startZeekProc starts scriptd in z.dir with z.env (and a stdin pipe if
// asked); the test's cleanup kills it if still running.
func startZeekProc(t *testing.T, z *zeekEnv, stdin bool, args ...string) *zeekProc {
	t.Helper()
	return startZeekProcIn(t, z.dir, z.env, stdin, args...)
}

func startZeekProcIn(t *testing.T, dir string, env []string, stdin bool, args ...string) *zeekProc {
	t.Helper()
	p := &zeekProc{Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(scriptdBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if stdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.stdin = w
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end (failing the test after timeout).
func (p *zeekProc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("scriptd did not exit within %v\nstdout:\n%s\nstderr:\n%s", timeout, p.Stdout.String(), p.Stderr.String())
	}
	if p.err != nil {
		t.Errorf("scriptd: %v\nstderr:\n%s", p.err, p.Stderr.String())
	}
}

// waitOutput waits until the process's stdout contains s, and reports
// whether it did within timeout (it does not fail the test: a missing line
// shows in the comparison with the Baseline).
func (p *zeekProc) waitOutput(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; !strings.Contains(p.Stdout.String(), s); delay = min(2*delay, 20*time.Millisecond) {
		select {
		case <-p.done:
			return strings.Contains(p.Stdout.String(), s)
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay) // polling a child's pipe, which has no signal
	}
	return true
}

// startRedisWith is startRedis with extra redis-server arguments.
func startRedisWith(t *testing.T, args ...string) *redisServer {
	t.Helper()
	if len(args) == 0 {
		return startRedis(t)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testutil.Eventually(t, 10*time.Second, "redis-server to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return &redisServer{Port: port, cmd: cmd}
}

// runMetrics runs a btest that prints Zeek's telemetry: scriptd serves
// /metrics (--listen); when the script prints "@@METRICS@@" (where Zeek
// calls Telemetry::collect_metrics) the test scrapes the storage metrics,
// puts them in that line's place in Zeek's format (zeekMetrics), fires
// "metrics_scraped" for the script to go on, and stops scriptd once it has
// printed "@@END@@" (Zeek's terminate()).
func runMetrics(t *testing.T, z *zeekEnv) string {
	t.Helper()
	port := freePort(t)
	p := startZeekProc(t, z, false, "run", "--listen", "127.0.0.1:"+strconv.Itoa(port), z.script())
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if !p.waitOutput("@@METRICS@@\n", 15*time.Second) {
		t.Fatalf("the script did not reach print_metrics_and_close\nstdout:\n%s\nstderr:\n%s", p.Stdout.String(), p.Stderr.String())
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	metrics := zeekMetrics(fams, z.port)
	resp, err = http.Post(base+"/v1/events/metrics_scraped", "application/json", strings.NewReader("null"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events/metrics_scraped: %s", resp.Status)
	}
	p.waitOutput("@@END@@\n", 10*time.Second)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	checkStderr(t, z, p)
	var out []string
	for _, l := range strings.SplitAfter(p.Stdout.String(), "\n") {
		switch l {
		case "@@METRICS@@\n":
			out = append(out, metrics...)
		case "@@END@@\n":
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// zeekStorageMetrics are the storage metrics Zeek's
// Telemetry::collect_metrics("zeek", "storage*") prints, in the order of
// its Baselines.
var zeekStorageMetrics = []string{
	"zeek_storage_backends_opened_total",
	"zeek_storage_sqlite_database_size_bytes",
	"zeek_storage_sqlite_database_size_pages",
	"zeek_storage_backend_data_read_bytes_total",
	"zeek_storage_backend_expired_entries_total",
	"zeek_storage_backend_operation_results_total",
	"zeek_storage_backend_data_written_bytes_total",
}

// zeekMetrics renders scriptd's storage metrics as Zeek prints its own
// (`print m$opts$metric_type, m$opts$prefix, m$opts$name, m$label_names,
// m$label_values, m$value`), each under the Zeek name it corresponds to.
// For a Zeek metric zeek_storage_X it takes scriptd's metric of the same
// name, or else scriptd_storage_X (a prefix swap, nothing else); label
// names and values are printed as scriptd has them, so every difference
// shows. Like Zeek under running_under_test, a Redis
// server address 127.0.0.1:<port> in a label is printed as "server_addr".
func zeekMetrics(fams map[string]*dto.MetricFamily, redisPort int) []string {
	var lines []string
	for _, name := range zeekStorageMetrics {
		mf := fams[name]
		if mf == nil {
			mf = fams["scriptd_"+strings.TrimPrefix(name, "zeek_")]
		}
		if mf == nil {
			continue
		}
		kind := "COUNTER"
		if mf.GetType() == dto.MetricType_GAUGE {
			kind = "GAUGE"
		}
		type series struct {
			names, values []string
			value         float64
		}
		byKey := map[string]*series{}
		var keys []string
		for _, m := range mf.GetMetric() {
			var names, values []string
			labels := m.GetLabel()
			sort.Slice(labels, func(i, j int) bool { return labels[i].GetName() < labels[j].GetName() })
			for _, l := range labels {
				v := l.GetValue()
				if redisPort != 0 {
					v = strings.ReplaceAll(v, "127.0.0.1:"+strconv.Itoa(redisPort), "server_addr")
				}
				names, values = append(names, l.GetName()), append(values, v)
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			}
			key := strings.Join(names, ",") + "\x00" + strings.Join(values, ",")
			if s, ok := byKey[key]; ok {
				s.value += v
				continue
			}
			byKey[key] = &series{names, values, v}
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := byKey[k]
			lines = append(lines, fmt.Sprintf("Telemetry::%s, zeek, %s, [%s], [%s], %s\n",
				kind, name, strings.Join(s.names, ", "), strings.Join(s.values, ", "), zeekDouble(s.value)))
		}
	}
	return lines
}

// zeekDouble prints a metric value as Zeek's print does (1.0, 4096.0, 0.5).
func zeekDouble(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// runCluster runs a cluster btest as two scriptd processes, worker-1 and
// worker-2, sharing one store; the test plays Zeek's manager, appending
// events to each worker's input file (--input events.json --follow) with
// the ts that drives network time: start to worker-1; once worker-1 printed
// written, the relayed event to both; then (if set) later, 5 s on, to both
// (Zeek's `schedule 5secs`). Each worker prints "@@END@@" where Zeek's
// script calls terminate(); the test then stops it (--follow keeps it
// running). (Standard input would be the simpler channel, but scriptd
// holds records read from a pipe until 512 have arrived or the pipe ends.)
func runCluster(start, relayed, written, later string) func(t *testing.T, z *zeekEnv) map[string]string {
	return func(t *testing.T, z *zeekEnv) map[string]string {
		const ts = 1700000000.0
		rec := func(name string, at float64) string {
			return fmt.Sprintf(`{"_path":%q,"ts":%.6f}`, name, at)
		}
		var procs []*zeekProc
		var inputs []string
		for _, node := range []string{"worker-1", "worker-2"} {
			dir := filepath.Join(z.dir, node)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "events.json")
			if err := os.WriteFile(in, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, in)
			env := append(append([]string{}, z.env...), "CLUSTER_NODE="+node)
			procs = append(procs, startZeekProcIn(t, dir, env, false, "run", z.script(), "--input", in, "--follow"))
		}
		appendZeekRecords(t, inputs[0], rec(start, ts))
		if !procs[0].waitOutput(written, 15*time.Second) {
			t.Errorf("worker-1 did not print %q\nstdout:\n%s\nstderr:\n%s", written, procs[0].Stdout.String(), procs[0].Stderr.String())
		}
		for _, in := range inputs {
			appendZeekRecords(t, in, rec(relayed, ts))
			if later != "" {
				appendZeekRecords(t, in, rec(later, ts+5))
			}
		}
		outputs := map[string]string{}
		for i, p := range procs {
			p.waitOutput("@@END@@\n", 15*time.Second)
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			p.wait(t, 30*time.Second)
			checkStderr(t, z, p)
			outputs[fmt.Sprintf("%s.worker-%d.out", z.test.name, i+1)] = strings.ReplaceAll(p.Stdout.String(), "@@END@@\n", "")
		}
		return outputs
	}
}

// appendZeekRecords appends JSON-lines records to a followed input file.
func appendZeekRecords(t *testing.T, path string, records ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range records {
		if _, err := io.WriteString(f, r+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// runDisconnect runs redis/disconnect: once the script has opened its
// backend, the redis-server is stopped (Zeek's script runs `kill` on it);
// once backend_lost is printed, stdin (which kept the run going) is closed
// (Zeek's terminate()).
func runDisconnect(t *testing.T, z *zeekEnv) map[string]string {
	p := startZeekProc(t, z, true, "run", z.script(), "--input", "-")
	if !p.waitOutput("open_result", 15*time.Second) {
		t.Fatalf("no open_result\nstdout:\n%s\nstderr:\n%s", p.Stdout.String(), p.Stderr.String())
	}
	_ = z.redis.cmd.Process.Signal(syscall.SIGTERM)
	p.waitOutput("Storage::backend_lost", 10*time.Second)
	p.stdin.Close()
	p.wait(t, 30*time.Second)
	checkStderr(t, z, p)
	return map[string]string{z.test.name + ".out": p.Stdout.String()}
}

// runMultiBackend runs sqlite/multi-backend and then, as Zeek's test does,
// the sqlite3 CLI on each table.
func runMultiBackend(t *testing.T, z *zeekEnv) map[string]string {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 not installed (Zeek's test: @TEST-REQUIRES: which sqlite3)")
	}
	p := startZeekProc(t, z, false, "run", z.script())
	p.wait(t, 30*time.Second)
	checkStderr(t, z, p)
	outputs := map[string]string{}
	if p.Stdout.String() != "" {
		t.Errorf("unexpected output:\n%s", p.Stdout.String())
	}
	for _, q := range [][3]string{{"test1.sqlite", "testing", "test1-testing"}, {"test2.sqlite", "testing1", "test2-testing1"}, {"test2.sqlite", "testing2", "test2-testing2"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, sqlite3, q[0], "select * from "+q[1])
		cmd.Dir = z.dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("sqlite3 %s: %v: %s", q[0], err, out)
		}
		outputs[z.test.name+"."+q[2]+".out"] = string(out)
	}
	return outputs
}

// applyPatch applies a unified diff (as written by diff -u; anything before
// the first hunk is commentary) to text.
func applyPatch(text, patch string) (string, error) {
	src := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var out []string
	pos := 0 // next line of src to copy
	hunk := regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@`)
	sc := bufio.NewScanner(strings.NewReader(patch))
	inHunk := false
	for sc.Scan() {
		l := sc.Text()
		if m := hunk.FindStringSubmatch(l); m != nil {
			start, _ := strconv.Atoi(m[1])
			if m[2] == "0" {
				start++ // a pure insertion after line start
			}
			if start-1 < pos || start-1 > len(src) {
				return "", fmt.Errorf("hunk %q out of order or past the end", l)
			}
			out = append(out, src[pos:start-1]...)
			pos = start - 1
			inHunk = true
			continue
		}
		if !inHunk {
			continue
		}
		if l == `\ No newline at end of file` {
			continue
		}
		if l == "" {
			l = " " // an empty context line whose space an editor dropped
		}
		switch l[0] {
		case ' ', '-':
			if pos >= len(src) || src[pos] != l[1:] {
				got := "end of file"
				if pos < len(src) {
					got = strconv.Quote(src[pos])
				}
				return "", fmt.Errorf("line %d: expected %q, Baseline has %s", pos+1, l[1:], got)
			}
			if l[0] == ' ' {
				out = append(out, src[pos])
			}
			pos++
		case '+':
			out = append(out, l[1:])
		default:
			return "", fmt.Errorf("bad patch line %q", l)
		}
	}
	out = append(out, src[pos:]...)
	return strings.Join(out, "\n") + "\n", nil
}

// lineDiff is a unified-style line diff of want and got (longest common
// subsequence; the outputs are small), with two lines of context.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, op{'+', b[j]})
			j++
		default:
			ops = append(ops, op{'-', a[i]})
			i++
		}
	}
	const context = 2
	var sb strings.Builder
	lastPrinted := -1
	for k, o := range ops {
		if o.kind == ' ' {
			near := false
			for d := -context; d <= context; d++ {
				if k+d >= 0 && k+d < len(ops) && ops[k+d].kind != ' ' {
					near = true
				}
			}
			if !near {
				continue
			}
		}
		if lastPrinted >= 0 && k > lastPrinted+1 {
			sb.WriteString("@@\n")
		}
		sb.WriteByte(o.kind)
		sb.WriteString(o.text)
		sb.WriteByte('\n')
		lastPrinted = k
	}
	return sb.String()
}
