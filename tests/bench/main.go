// Command bench runs scriptd's standard workloads and prints a table, each
// figure beside a baseline measured in the same run on the same machine:
//
//	go run ./tests/bench            # everything (about two minutes)
//	go run ./tests/bench -only P1   # one row
//
// P1 dispatch of dns.json records vs Node.js (readline + JSON.parse +
// EventEmitter); P2/P3 async SQLite puts/gets from a script vs raw
// go-sqlite3; P4 async Redis operations vs go-redis; P5 hot-reload latency;
// P6 peak RSS with 10,000 operations in flight and over a 5-million-record
// input; P7 put_many/get_many batches and increments vs raw go-sqlite3.
// P2, P3 and P7 end with a row against a peer, Node.js + better-sqlite3 12
// (node-sqlite.js; installed with npm into the run's temporary folder).
// It builds the scriptd binary itself (or runs -bin) and starts its own
// redis-server; rows whose tools are missing are skipped with a note.
// input; S1 stream intake (JetStream, Redis Streams; 1 and 2 workers) vs
// the same records from a file, medians of -rounds interleaved rounds,
// JetStream once per nats-server given with -nats-server (or
// $SCRIPTD_NATS_SERVER), e.g. the distribution's and a current release:
//
//	go run ./tests/bench -only S1 -nats-server /usr/sbin/nats-server,$HOME/go/bin/nats-server
//
// It builds the scriptd binary itself and starts its own redis-server and
// nats-server; rows whose tools are missing are skipped with a note.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
	redisbackend "github.com/scriptd/scriptd/storagefw/redis"
	"github.com/scriptd/scriptd/storagefw/sqlite"
)

type row struct {
	id, what        string
	value, baseline float64
	unit, baseName  string
	target          string
	ok              string // "met", "MISSED", or a note
}

type bench struct {
	bin, work, shared string
	rows              []row

	peerOnce              sync.Once
	peerNode, peerDir     string // node and the folder holding node_modules/better-sqlite3
	peerWhy, peerNodeVers string // why there is no peer; node's version

	natsServers string // S1: -nats-server
	s1Rounds    int    // S1: -rounds
}

func main() {
	only := flag.String("only", "", "run only these rows (comma-separated, e.g. P1,P3)")
	copies := flag.Int("copies", 5, "P1: copies of dns.json concatenated")
	bin := flag.String("bin", "", "use this scriptd binary instead of building one (e.g. to alternate old and new builds)")
	natsServers := flag.String("nats-server", os.Getenv("SCRIPTD_NATS_SERVER"), "S1: the nats-server binaries to measure, comma-separated (default $SCRIPTD_NATS_SERVER, else nats-server on PATH or /usr/sbin/nats-server)")
	rounds := flag.Int("rounds", 5, "S1: rounds (each runs the file and every stream set-up once, interleaved); rows show medians")
	flag.Parse()
	b, err := setup(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(b.work)
	b.natsServers, b.s1Rounds = *natsServers, max(*rounds, 1)
	want := func(id string) bool { return *only == "" || strings.Contains(","+*only+",", ","+id+",") }
	steps := []struct {
		id string
		fn func() error
	}{
		{"P1", func() error { return b.p1(*copies) }},
		{"P2", b.p2},
		{"P3", b.p3},
		{"P4", b.p4},
		{"P5", b.p5},
		{"P6", b.p6},
		{"P7", b.p7},
		{"S1", b.s1}, // tests/bench/streams.go
	}
	for _, s := range steps {
		if !want(s.id) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", s.id)
		if err := s.fn(); err != nil {
			b.rows = append(b.rows, row{id: s.id, what: "error", ok: err.Error()})
		}
	}
	b.print(os.Stdout)
}

func setup(bin string) (*bench, error) {
	wd, _ := os.Getwd()
	root := wd
	for !exists(filepath.Join(root, "go.mod")) {
		parent := filepath.Dir(root)
		if parent == root {
			return nil, errors.New("run from inside the repository")
		}
		root = parent
	}
	work, err := os.MkdirTemp("", "scriptd-bench")
	if err != nil {
		return nil, err
	}
	b := &bench{work: work, shared: filepath.Join(root, "..", "shared", "data", "zeek-wrccdc-2018"), bin: filepath.Join(work, "scriptd")}
	if bin != "" {
		if b.bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
		return b, nil
	}
	build := exec.Command("go", "build", "-o", b.bin, "./cmd/scriptd")
	build.Dir = root
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build scriptd: %w", err)
	}
	return b, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func (b *bench) print(w io.Writer) {
	fmt.Fprintf(w, "| row | workload | scriptd | baseline | ratio | target | |\n|---|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		ratio := ""
		if r.baseline > 0 && r.value > 0 {
			ratio = fmt.Sprintf("%.2f×", r.value/r.baseline)
		}
		base := ""
		if r.baseName != "" {
			base = fmt.Sprintf("%s %s", num(r.baseline), r.baseName)
		}
		val := ""
		if r.value > 0 {
			val = num(r.value) + " " + r.unit
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.id, r.what, val, base, ratio, r.target, r.ok)
	}
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatInt(int64(v+0.5), 10)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// script writes a one-file script directory and returns its path.
func (b *bench) script(name, src string) string {
	dir := filepath.Join(b.work, name)
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, "main.js"), []byte(src), 0o644)
	return dir
}

// runScriptd runs the binary and returns stdout; a non-zero exit is an error.
func (b *bench) runScriptd(env []string, args ...string) (string, *os.ProcessState, error) {
	cmd := exec.Command(b.bin, args...)
	cmd.Dir = b.work
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), cmd.ProcessState, fmt.Errorf("scriptd %v: %w: %s", args, err, errb.String())
	}
	return out.String(), cmd.ProcessState, nil
}

var rateRe = regexp.MustCompile(`rate ([0-9.]+)`)

func parseRate(out string) (float64, error) {
	m := rateRe.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no rate in output %q", out)
	}
	return strconv.ParseFloat(m[1], 64)
}

// ---- P1: dispatch ----

func (b *bench) p1(copies int) error {
	src := filepath.Join(b.shared, "dns.json.gz")
	data, err := gunzip(src)
	if err != nil {
		return err
	}
	path := filepath.Join(b.work, "dns-copies.json")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for i := 0; i < copies; i++ {
		f.Write(data)
	}
	f.Close()
	n := bytes.Count(data, []byte{'\n'}) * copies
	dir := b.script("p1", `let n = 0; on("dns", () => { n++; }); on("done", () => print("events", n));`)
	r := row{id: "P1", what: fmt.Sprintf("dispatch, dns.json ×%d (%d records), counting handler", copies, n), unit: "events/s", target: "≥ 2× Node"}
	node, err := exec.LookPath("node")
	if err != nil {
		node = ""
	}
	// Rounds alternate scriptd and Node, so that both see the same load
	// (the machine is shared); each keeps its best round.
	const rounds = 5
	var ratios []float64
	for i := 0; i < rounds; i++ {
		start := time.Now()
		out, _, err := b.runScriptd(nil, "run", dir, "--input", path)
		if err != nil {
			return err
		}
		if !strings.Contains(out, fmt.Sprintf("events %d", n)) {
			return fmt.Errorf("P1: scriptd counted %q, want %d", out, n)
		}
		rate := float64(n) / time.Since(start).Seconds()
		r.value = max(r.value, rate)
		if node == "" {
			continue
		}
		start = time.Now()
		cmd := exec.Command(node, nodeScript(), path)
		nout, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		if !strings.Contains(string(nout), fmt.Sprintf("events %d", n)) {
			return fmt.Errorf("node counted %q", nout)
		}
		nodeRate := float64(n) / time.Since(start).Seconds()
		r.baseline = max(r.baseline, nodeRate)
		ratios = append(ratios, rate/nodeRate)
	}
	if node == "" {
		r.ok = "node not installed: no baseline"
		b.rows = append(b.rows, r)
		return nil
	}
	sort.Float64s(ratios)
	r.baseName = "events/s Node " + nodeVersion(node)
	r.ok = verdict(r.value >= 2*r.baseline) + fmt.Sprintf(" (best of %d rounds each; median round %.2f×)", rounds, ratios[len(ratios)/2])
	b.rows = append(b.rows, r)
	return nil
}

func nodeScript() string { return benchFile("node-dispatch.js") }

// benchFile finds a file of tests/bench from the working directory up.
func benchFile(name string) string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "tests", "bench", name)
		if exists(p) {
			return p
		}
		if filepath.Dir(d) == d {
			return filepath.Join("tests", "bench", name)
		}
	}
}

func nodeVersion(node string) string {
	out, _ := exec.Command(node, "--version").Output()
	return strings.TrimSpace(string(out))
}

func gunzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(gz)
}

// ---- P2/P3: SQLite ----

// storageScript issues N operations of kind (put|get|mixed) from INFLIGHT
// async workers, each awaiting its operation before issuing the next, and
// prints the rate measured inside the script.
const storageScript = `
const N = Number(process.env.N), INFLIGHT = Number(process.env.INFLIGHT), OP = process.env.OP;
const opts = process.env.BACKEND === "REDIS"
  ? { redis: { server_host: "127.0.0.1", server_port: Number(process.env.REDIS_PORT), key_prefix: "bench" } }
  : { sqlite: { database_path: process.env.DB, table_name: "bench" } };
on("init", async () => {
  const r = await Storage.Async.open_backend(Storage["STORAGE_BACKEND_" + process.env.BACKEND], opts, "string", "string");
  if (r.code !== "SUCCESS") throw new Error(r.error_str);
  const h = r.value;
  if (OP === "get" || OP === "mixed") {
    for (let i = 0; i < 1000; i++) Storage.Sync.put(h, { key: "k" + i, value: "value-" + i });
  }
  // INFLIGHT async workers, each awaiting its operation before the next.
  let issued = 0, bad = 0;
  const t0 = current_time();
  const worker = async () => {
    while (issued < N) {
      const i = issued++;
      const useGet = OP === "get" || (OP === "mixed" && i % 2 === 1);
      const r = await (useGet ? Storage.Async.get(h, "k" + (i % 1000)) : Storage.Async.put(h, { key: "k" + i, value: "value-" + i }));
      if (r.code !== "SUCCESS") bad++;
    }
  };
  const workers = [];
  for (let i = 0; i < INFLIGHT; i++) workers.push(worker());
  await Promise.all(workers);
  const secs = current_time() - t0;
  print("rate", N / secs, "failed", bad);
  await Storage.Async.close_backend(h);
});
`

func (b *bench) storageRate(backend, op string, n, inflight int, extra ...string) (float64, error) {
	dir := b.script("storage", storageScript)
	db := filepath.Join(b.work, fmt.Sprintf("p-%s-%d.db", op, time.Now().UnixNano()))
	env := append([]string{"BACKEND=" + backend, "OP=" + op, "N=" + strconv.Itoa(n), "INFLIGHT=" + strconv.Itoa(inflight), "DB=" + db}, extra...)
	out, _, err := b.runScriptd(env, "run", dir)
	if err != nil {
		return 0, err
	}
	if !strings.Contains(out, "failed 0") {
		return 0, fmt.Errorf("operations failed: %s", out)
	}
	return parseRate(out)
}

// v2Script drives the calls beyond Zeek: put_many / get_many of BATCH
// entries per call, or increment of one hot key or of 10,000 keys, with
// INFLIGHT calls outstanding; it prints entries (or increments) per second.
const v2Script = `
const N = Number(process.env.N), INFLIGHT = Number(process.env.INFLIGHT), OP = process.env.OP, BATCH = Number(process.env.BATCH || 1);
const opts = process.env.BACKEND === "REDIS"
  ? { redis: { server_host: "127.0.0.1", server_port: Number(process.env.REDIS_PORT), key_prefix: "bench2" } }
  : { sqlite: { database_path: process.env.DB, table_name: "bench" } };
on("init", async () => {
  const inc = OP.startsWith("incr");
  const r = await Storage.Async.open_backend(Storage["STORAGE_BACKEND_" + process.env.BACKEND], opts, "string", inc ? "count" : "string");
  if (r.code !== "SUCCESS") throw new Error(r.error_str);
  const h = r.value;
  if (OP === "get_many") {
    const e = [];
    for (let i = 0; i < 1000; i++) e.push({ key: "k" + i, value: "value-" + i });
    await Storage.Async.put_many(h, e);
  }
  let issued = 0, bad = 0;
  const t0 = current_time();
  const worker = async () => {
    while (issued < N) {
      const base = issued;
      issued += BATCH;
      let r;
      if (OP === "put_many") {
        const e = [];
        for (let i = base; i < base + BATCH; i++) e.push({ key: "k" + i, value: "value-" + i });
        r = await Storage.Async.put_many(h, e);
      } else if (OP === "get_many") {
        const k = [];
        for (let i = base; i < base + BATCH; i++) k.push("k" + (i % 1000));
        r = await Storage.Async.get_many(h, k);
      } else {
        r = await Storage.Async.increment(h, { key: OP === "incr_hot" ? "hot" : "k" + (base % 10000) });
      }
      if (r.code !== "SUCCESS" || (Array.isArray(r.value) && r.value.some((x) => x.code !== "SUCCESS"))) bad++;
    }
  };
  const workers = [];
  for (let i = 0; i < INFLIGHT; i++) workers.push(worker());
  await Promise.all(workers);
  const secs = current_time() - t0;
  if (OP === "incr_hot" && (await Storage.Async.get(h, "hot")).value !== N) bad++;
  print("rate", N / secs, "failed", bad);
  await Storage.Async.close_backend(h);
});
`

func (b *bench) v2Rate(backend, op string, n, inflight, batch int, extra ...string) (float64, error) {
	dir := b.script("storage-v2", v2Script)
	db := filepath.Join(b.work, fmt.Sprintf("v2-%s-%d.db", op, time.Now().UnixNano()))
	env := append([]string{"BACKEND=" + backend, "OP=" + op, "N=" + strconv.Itoa(n), "INFLIGHT=" + strconv.Itoa(inflight),
		"BATCH=" + strconv.Itoa(batch), "DB=" + db}, extra...)
	out, _, err := b.runScriptd(env, "run", dir)
	if err != nil {
		return 0, err
	}
	if !strings.Contains(out, "failed 0") {
		return 0, fmt.Errorf("operations failed: %s", out)
	}
	return parseRate(out)
}

// p7 measures the calls beyond Zeek on SQLite: batches and increments.
func (b *bench) p7() error {
	auto, err := b.rawAutocommit(20000)
	if err != nil {
		return err
	}
	tx, err := b.rawTx(200000)
	if err != nil {
		return err
	}
	raw, err := b.rawGets(300000)
	if err != nil {
		return err
	}
	pm, err := b.v2Rate("SQLITE", "put_many", 400000, 10, 100)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{id: "P7", what: "SQLite put_many from JS, batches of 100, 10 in flight", value: pm, unit: "entries/s",
		baseline: tx, baseName: "raw 1,000-row transactions puts/s", target: "≥ 0.5× raw transactions", ok: verdict(pm >= 0.5*tx)})
	if err := b.peerRow("P7", "put_many", 400000, "tx", 200000, "1,000-row transaction puts/s", 0.5,
		"SQLite put_many from JS, batches of 100, 10 in flight, vs the Node.js peer's 1,000-row transactions (medians of 3 alternating runs)", "entries/s"); err != nil {
		return err
	}
	gm, err := b.v2Rate("SQLITE", "get_many", 600000, 10, 100)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{id: "P7", what: "SQLite get_many from JS, batches of 100, 10 in flight", value: gm, unit: "entries/s",
		baseline: raw, baseName: "raw single-threaded gets/s", target: "≥ 2× raw gets", ok: verdict(gm >= 2*raw)})
	for _, op := range []struct{ name, what string }{{"incr_hot", "one hot key"}, {"incr_spread", "10k keys"}} {
		rate, err := b.v2Rate("SQLITE", op.name, 200000, 1000, 1)
		if err != nil {
			return err
		}
		b.rows = append(b.rows, row{id: "P7", what: "SQLite increment from JS, 1000 in flight, " + op.what, value: rate, unit: "increments/s",
			baseline: auto, baseName: "raw autocommit puts/s", target: "≥ 2× raw autocommit", ok: verdict(rate >= 2*auto)})
	}
	return nil
}

func openRaw(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`create table if not exists t (key_str blob primary key, value_str blob not null, expire_time real)`); err != nil {
		return nil, err
	}
	return db, nil
}

func (b *bench) rawAutocommit(n int) (float64, error) {
	db, err := openRaw(filepath.Join(b.work, fmt.Sprintf("raw-%d.db", time.Now().UnixNano())))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st, err := db.Prepare(`insert or replace into t values (?, ?, 0)`)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := st.Exec([]byte("JSONv1;\"k"+strconv.Itoa(i)+"\""), []byte("JSONv1;\"value\"")); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (b *bench) rawTx(n int) (float64, error) {
	db, err := openRaw(filepath.Join(b.work, fmt.Sprintf("rawtx-%d.db", time.Now().UnixNano())))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		st, _ := tx.Prepare(`insert or replace into t values (?, ?, 0)`)
		for j := i; j < i+1000 && j < n; j++ {
			if _, err := st.Exec([]byte("JSONv1;\"k"+strconv.Itoa(j)+"\""), []byte("JSONv1;\"value\"")); err != nil {
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (b *bench) rawGets(n int) (float64, error) {
	db, err := openRaw(filepath.Join(b.work, fmt.Sprintf("rawget-%d.db", time.Now().UnixNano())))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	tx, _ := db.Begin()
	for i := 0; i < 1000; i++ {
		tx.Exec(`insert or replace into t values (?, ?, 0)`, []byte("JSONv1;\"k"+strconv.Itoa(i)+"\""), []byte("JSONv1;\"value\""))
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	st, err := db.Prepare(`select value_str, expire_time from t where key_str = ?`)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		var v []byte
		var exp float64
		if err := st.QueryRow([]byte("JSONv1;\"k"+strconv.Itoa(i%1000)+"\"")).Scan(&v, &exp); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (b *bench) p2() error {
	auto, err := b.rawAutocommit(20000)
	if err != nil {
		return err
	}
	tx, err := b.rawTx(200000)
	if err != nil {
		return err
	}
	for _, inflight := range []int{1, 100, 1000} {
		n := 200000
		if inflight == 1 {
			n = 5000
		}
		rate, err := b.storageRate("SQLITE", "put", n, inflight)
		if err != nil {
			return err
		}
		r := row{id: "P2", what: fmt.Sprintf("SQLite async puts from JS, %d in flight, acked after commit", inflight), value: rate, unit: "puts/s", baseline: auto, baseName: "raw autocommit puts/s"}
		if inflight == 1000 {
			r.target, r.ok = "≥ 4× raw autocommit", verdict(rate >= 4*auto)
		}
		b.rows = append(b.rows, r)
	}
	goapi, err := b.goAPIRate("put", 400000, 1000)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{id: "P2", what: "SQLite async puts from the Go API (storagefw.Handle, no JS), 1000 in flight", value: goapi, unit: "puts/s", baseline: auto, baseName: "raw autocommit puts/s", target: "≥ 4× raw autocommit", ok: verdict(goapi >= 4*auto)})
	b.rows = append(b.rows, row{id: "P2", what: "raw go-sqlite3, 1,000-row transactions (reference)", value: tx, unit: "puts/s", baseline: auto, baseName: "raw autocommit puts/s"})
	return b.peerRow("P2", "put", 200000, "put", 20000, "autocommit puts/s", 3,
		"SQLite async puts from JS, 1000 in flight, vs the Node.js peer's autocommit puts (medians of 3 alternating runs)", "puts/s")
}

func (b *bench) p3() error {
	raw, err := b.rawGets(300000)
	if err != nil {
		return err
	}
	for _, inflight := range []int{1, 100, 1000} {
		n := 300000
		if inflight == 1 {
			n = 30000
		}
		rate, err := b.storageRate("SQLITE", "get", n, inflight)
		if err != nil {
			return err
		}
		r := row{id: "P3", what: fmt.Sprintf("SQLite async gets from JS, %d in flight", inflight), value: rate, unit: "gets/s", baseline: raw, baseName: "raw single-threaded gets/s"}
		if inflight == 1000 {
			r.target, r.ok = "≥ 1× raw gets", verdict(rate >= raw)
		}
		b.rows = append(b.rows, r)
	}
	goapi, err := b.goAPIRate("get", 600000, 1000)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{id: "P3", what: "SQLite async gets from the Go API (storagefw.Handle, no JS), 1000 in flight", value: goapi, unit: "gets/s", baseline: raw, baseName: "raw single-threaded gets/s", target: "≥ 1× raw gets", ok: verdict(goapi >= raw)})
	return b.peerRow("P3", "get", 300000, "get", 300000, "gets/s", 0.8,
		"SQLite async gets from JS, 1000 in flight, vs the Node.js peer's gets (medians of 3 alternating runs)", "gets/s")
}

// goAPIRate drives the storage framework's Go API (type checks,
// serialization, operations registry, SQLite backend; no JS) with inflight
// operations outstanding.
func (b *bench) goAPIRate(op string, n, inflight int) (float64, error) {
	return b.goAPIRateOn(storagefw.OpenRequest{
		Backend: "SQLITE", KeyType: "string", ValType: "string",
		Options: map[string]any{"sqlite": map[string]any{"database_path": filepath.Join(b.work, fmt.Sprintf("goapi-%d.db", time.Now().UnixNano())), "table_name": "t"}},
	}, op, n, inflight)
}

// goAPIRateOn is goAPIRate on any backend; op "mixed" alternates put and get.
func (b *bench) goAPIRateOn(req storagefw.OpenRequest, op string, n, inflight int) (float64, error) {
	fw := storagefw.New(storagefw.Config{Backends: []storagefw.BackendType{sqlite.Type(), redisbackend.Type()}})
	h, res := fw.Open(context.Background(), req)
	if res.Code != storagefw.Success {
		return 0, fmt.Errorf("open: %s", res.Error)
	}
	defer h.Close(context.Background())
	for i := 0; i < 1000; i++ {
		if r := h.Put(context.Background(), "k"+strconv.Itoa(i), "value", storagefw.PutArgs{Overwrite: true}); r.Code != storagefw.Success {
			return 0, fmt.Errorf("prefill: %s", r.Error)
		}
	}
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	var failed atomic.Int64
	done := func(r storagefw.OperationResult) {
		if r.Code != storagefw.Success {
			failed.Add(1)
		}
		<-sem
		wg.Done()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		if op == "get" || (op == "mixed" && i%2 == 1) {
			h.GetAsync(0, "k"+strconv.Itoa(i%1000), done)
		} else {
			h.PutAsync(0, "k"+strconv.Itoa(i), "value", storagefw.PutArgs{Overwrite: true}, done)
		}
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d operations failed", f)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// ---- the Node.js peer for the SQLite rows ----

// nodePeer installs better-sqlite3 12 (13 crashes on Node 20) into a
// folder of this run, once; peerWhy says why there is no peer.
func (b *bench) nodePeer() {
	b.peerOnce.Do(func() {
		node, err := exec.LookPath("node")
		if err != nil {
			b.peerWhy = "node not installed: no Node.js peer"
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			b.peerWhy = "npm not installed: no Node.js peer (it installs better-sqlite3)"
			return
		}
		dir := filepath.Join(b.work, "node-peer")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.peerWhy = err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		fmt.Fprintln(os.Stderr, "bench: npm install better-sqlite3@12 (Node.js peer)...")
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, "better-sqlite3@12")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			b.peerWhy = fmt.Sprintf("npm install better-sqlite3@12 failed (%v): %s: no Node.js peer", err, lines[len(lines)-1])
			return
		}
		b.peerNode, b.peerDir, b.peerNodeVers = node, dir, nodeVersion(node)
	})
}

// nodeSQLiteRate runs the peer (tests/bench/node-sqlite.js) in mode put,
// tx or get over n operations on a fresh database.
func (b *bench) nodeSQLiteRate(mode string, n int) (float64, error) {
	db := filepath.Join(b.work, fmt.Sprintf("node-%s-%d.db", mode, time.Now().UnixNano()))
	cmd := exec.Command(b.peerNode, benchFile("node-sqlite.js"), mode, strconv.Itoa(n), db)
	cmd.Env = append(os.Environ(), "BETTER_SQLITE3_DIR="+b.peerDir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("node-sqlite.js %s: %w: %s", mode, err, errb.String())
	}
	return parseRate(string(out))
}

// peerRow measures scriptd's op (storageRate or v2Rate, n operations)
// against the Node.js peer's mode (nodeN operations), alternating three
// runs of each, and adds a row of the medians with target ratio want.
func (b *bench) peerRow(id, op string, n int, mode string, nodeN int, nodeUnit string, want float64, what, unit string) error {
	b.nodePeer()
	target := fmt.Sprintf("≥ %g× Node", want)
	if b.peerWhy != "" {
		b.rows = append(b.rows, row{id: id, what: what, target: target, ok: b.peerWhy})
		return nil
	}
	var ours, theirs []float64
	for i := 0; i < 3; i++ {
		var r float64
		var err error
		if op == "put_many" {
			r, err = b.v2Rate("SQLITE", op, n, 10, 100)
		} else {
			r, err = b.storageRate("SQLITE", op, n, 1000)
		}
		if err != nil {
			return err
		}
		ours = append(ours, r)
		if r, err = b.nodeSQLiteRate(mode, nodeN); err != nil {
			return err
		}
		theirs = append(theirs, r)
	}
	v, base := median(ours), median(theirs)
	b.rows = append(b.rows, row{id: id, what: what, value: v, unit: unit, baseline: base,
		baseName: "Node " + b.peerNodeVers + " + better-sqlite3 12 " + nodeUnit, target: target, ok: verdict(v >= want*base)})
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ---- P4: Redis ----

func (b *bench) startRedis() (port int, stop func(), err error) {
	port, _, stop, err = b.startRedisProc()
	return port, stop, err
}

// startRedisProc is startRedis that also returns the server's process (S1
// reads its CPU time).
func (b *bench) startRedisProc() (port int, proc *os.Process, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return 0, nil, nil, errors.New("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, nil, err
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.work)
	if err := cmd.Start(); err != nil {
		return 0, nil, nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return port, cmd.Process, stop, nil
		}
	}
	stop()
	return 0, nil, nil, errors.New("redis-server did not start")
}

func goRedisRate(port, workers, pipeline, n int) (float64, error) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), PoolSize: workers})
	defer c.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	per := n / workers
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i += pipeline {
				if pipeline == 1 {
					k := fmt.Sprintf("gr:%d:%d", w, i)
					var err error
					if i%2 == 0 {
						err = c.Set(ctx, k, "value", 0).Err()
					} else {
						err = c.Get(ctx, fmt.Sprintf("gr:%d:%d", w, i-1)).Err()
					}
					if err != nil && err != redis.Nil {
						errs <- err
						return
					}
					continue
				}
				p := c.Pipeline()
				for j := i; j < i+pipeline; j++ {
					if j%2 == 0 {
						p.Set(ctx, fmt.Sprintf("gp:%d:%d", w, j), "value", 0)
					} else {
						p.Get(ctx, fmt.Sprintf("gp:%d:%d", w, j-1))
					}
				}
				if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(per*workers) / time.Since(start).Seconds(), nil
}

// rueidisRate is goRedisRate's workload (50% SET, 50% GET, one command
// per call) on rueidis with auto-pipelining: workers goroutines share one
// client, whose connection pipelines what they issue concurrently.
func rueidisRate(port, workers, n int) (float64, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:" + strconv.Itoa(port)}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	per := n / workers
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				var err error
				if i%2 == 0 {
					err = c.Do(ctx, c.B().Set().Key(fmt.Sprintf("ru:%d:%d", w, i)).Value("value").Build()).Error()
				} else {
					err = c.Do(ctx, c.B().Get().Key(fmt.Sprintf("ru:%d:%d", w, i-1)).Build()).Error()
				}
				if err != nil && !rueidis.IsRedisNil(err) {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(per*workers) / time.Since(start).Seconds(), nil
}

func (b *bench) p4() error {
	port, stop, err := b.startRedis()
	if err != nil {
		b.rows = append(b.rows, row{id: "P4", what: "Redis", ok: "skipped: " + err.Error()})
		return nil
	}
	defer stop()
	g64, err := goRedisRate(port, 64, 1, 200000)
	if err != nil {
		return err
	}
	pipe, err := goRedisRate(port, 1, 100, 400000)
	if err != nil {
		return err
	}
	rue, err := rueidisRate(port, 64, 400000)
	if err != nil {
		return err
	}
	for _, inflight := range []int{1, 64, 1000} {
		n := 300000
		if inflight == 1 {
			n = 20000
		}
		rate, err := b.storageRate("REDIS", "mixed", n, inflight, "REDIS_PORT="+strconv.Itoa(port))
		if err != nil {
			return err
		}
		r := row{id: "P4", what: fmt.Sprintf("Redis async ops from JS (50%% put, 50%% get), %d in flight", inflight), value: rate, unit: "ops/s", baseline: g64, baseName: "go-redis 64 goroutines ops/s"}
		if inflight == 1000 {
			r.target, r.ok = "≥ 3× go-redis 64 goroutines", verdict(rate >= 3*g64)
		}
		b.rows = append(b.rows, r)
	}
	goapi, err := b.goAPIRateOn(storagefw.OpenRequest{
		Backend: "REDIS", KeyType: "string", ValType: "string",
		Options: map[string]any{"redis": map[string]any{"server_host": "127.0.0.1", "server_port": float64(port), "key_prefix": "bench-go"}},
	}, "mixed", 600000, 1000)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{id: "P4", what: "Redis async ops from the Go API (storagefw.Handle, no JS), 1000 in flight", value: goapi, unit: "ops/s", baseline: g64, baseName: "go-redis 64 goroutines ops/s", target: "≥ 3× go-redis 64 goroutines", ok: verdict(goapi >= 3*g64)})
	b.rows = append(b.rows, row{id: "P4", what: "go-redis Pipeline(100), 1 goroutine (reference)", value: pipe, unit: "ops/s", baseline: g64, baseName: "go-redis 64 goroutines ops/s"})
	b.rows = append(b.rows, row{id: "P4", what: "rueidis auto-pipelining, 64 goroutines (reference; the backend's client)", value: rue, unit: "ops/s", baseline: g64, baseName: "go-redis 64 goroutines ops/s"})
	return nil
}

// ---- P5: reload latency ----

func (b *bench) p5() error {
	dir := filepath.Join(b.work, "p5")
	_ = os.MkdirAll(dir, 0o755)
	write := func(v int) error {
		tmp := filepath.Join(dir, ".main.js.tmp")
		src := fmt.Sprintf(`on("tick", (r) => print("v%d", r.seq));`, v)
		if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(dir, "main.js"))
	}
	if err := write(0); err != nil {
		return err
	}
	in := filepath.Join(b.work, "p5-input.json")
	inf, err := os.Create(in)
	if err != nil {
		return err
	}
	defer inf.Close()
	cmd := exec.Command(b.bin, "run", "--watch", "--follow", dir, "--input", "tick="+in)
	cmd.Dir = b.work
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// A feeder appends a record every 2 ms for the whole run.
	stopFeed := make(chan struct{})
	defer close(stopFeed)
	go func() {
		for seq := 0; ; seq++ {
			select {
			case <-stopFeed:
				return
			case <-time.After(2 * time.Millisecond):
				fmt.Fprintf(inf, "{\"seq\":%d}\n", seq)
			}
		}
	}()
	waitFor := func(prefix string, timeout time.Duration) error {
		deadline := time.After(timeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return errors.New("scriptd exited")
				}
				if strings.HasPrefix(l, prefix+" ") {
					return nil
				}
			case <-deadline:
				return fmt.Errorf("no %q within %v", prefix, timeout)
			}
		}
	}
	if err := waitFor("v0", 10*time.Second); err != nil {
		return err
	}
	var lat []time.Duration
	for v := 1; v <= 20; v++ {
		start := time.Now()
		if err := write(v); err != nil {
			return err
		}
		if err := waitFor(fmt.Sprintf("v%d", v), 10*time.Second); err != nil {
			return fmt.Errorf("reload %d: %w", v, err)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med := float64((lat[9]+lat[10])/2) / 1e6
	b.rows = append(b.rows, row{id: "P5", what: "reload latency: file renamed into place → first event handled by the new version (median of 20)", value: med, unit: "ms", target: "median ≤ 300 ms", ok: verdict(med <= 300) + fmt.Sprintf(" (max %.0f ms)", float64(lat[19])/1e6)})
	return nil
}

// ---- P6: memory ----

// peakRSS samples a running child's VmHWM (its peak resident set since
// exec) from /proc until stop is closed, and returns the last value in MB.
// rusage's ru_maxrss cannot be used: it survives execve, so a child forked
// from this (large) process would report this process's peak.
func peakRSS(pid int, stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		last := 0.0
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
						if kb, err := strconv.ParseFloat(f[1], 64); err == nil && kb/1024 > last {
							last = kb / 1024
						}
					}
				}
			}
			select {
			case <-stop:
				out <- last
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// runMeasured runs cmd to completion and returns its peak RSS in MB.
func runMeasured(cmd *exec.Cmd) (float64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	rss := peakRSS(cmd.Process.Pid, stop)
	// VmHWM only grows, so samples every 20 ms miss a peak only if it
	// comes in the last 20 ms of the run.
	err := cmd.Wait()
	close(stop)
	return <-rss, err
}

func (b *bench) p6() error {
	// 10,000 operations in flight at once.
	dir := b.script("p6a", `
on("init", async () => {
  const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: process.env.DB, table_name: "t" } }, "string", "string")).value;
  const ps = [];
  for (let i = 0; i < 10000; i++) ps.push(Storage.Async.put(h, { key: "k" + i, value: "x".repeat(100) }));
  const rs = await Promise.all(ps);
  print("ok", rs.filter((r) => r.code === "SUCCESS").length);
});`)
	cmd := exec.Command(b.bin, "run", dir)
	cmd.Dir = b.work
	cmd.Env = append(os.Environ(), "DB="+filepath.Join(b.work, "p6.db"))
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, os.Stderr
	inflight, err := runMeasured(cmd)
	if err != nil {
		return fmt.Errorf("P6: %w", err)
	}
	if !strings.Contains(outb.String(), "ok 10000") {
		return fmt.Errorf("P6: %q", outb.String())
	}
	b.rows = append(b.rows, row{id: "P6", what: "peak RSS, 10,000 SQLite puts in flight", value: inflight, unit: "MB", target: "≤ 150 MB", ok: verdict(inflight <= 150)})

	// Long inputs: peak RSS after 1M and after 5M records streamed on
	// stdin, each handled by an async handler doing a storage put.
	data, err := gunzip(filepath.Join(b.shared, "dns.json.gz"))
	if err != nil {
		return err
	}
	count := b.script("p6b", `
let h, n = 0;
on("init", async () => { h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: process.env.DB, table_name: "t" } }, "string", "count")).value; });
on("dns", async (r) => { n++; if (n % 50 === 0) await Storage.Async.put(h, { key: r.uid, value: n }); });
on("done", () => print("events", n));`)
	var rss [2]float64
	for i, records := range []int{1000000, 5000000} {
		cmd := exec.Command(b.bin, "run", count, "--input", "dns=-")
		cmd.Dir = b.work
		cmd.Env = append(os.Environ(), "DB="+filepath.Join(b.work, fmt.Sprintf("p6-%d.db", i)))
		stdin, _ := cmd.StdinPipe()
		var outb bytes.Buffer
		cmd.Stdout = &outb
		cmd.Stderr = os.Stderr
		go func() {
			w := bufio.NewWriterSize(stdin, 1<<20)
			sent := 0
			for sent < records {
				for _, line := range bytes.SplitAfter(data, []byte{'\n'}) {
					if len(line) == 0 || sent >= records {
						continue
					}
					w.Write(line)
					sent++
				}
			}
			w.Flush()
			stdin.Close()
		}()
		peak, err := runMeasured(cmd)
		if err != nil {
			return fmt.Errorf("P6 stream: %w", err)
		}
		if !strings.Contains(outb.String(), fmt.Sprintf("events %d", records)) {
			return fmt.Errorf("P6 stream counted %q", outb.String())
		}
		rss[i] = peak
	}
	flat := rss[1] <= 150 && rss[1] <= rss[0]*1.25
	b.rows = append(b.rows, row{id: "P6", what: "peak RSS over 5,000,000 dns records on stdin (async handler, a put every 50)", value: rss[1], unit: "MB", baseline: rss[0], baseName: "MB over 1,000,000", target: "≤ 150 MB and flat", ok: verdict(flat)})
	return nil
}
