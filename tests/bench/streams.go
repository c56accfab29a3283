package main

// ---- S1: stream intake ----
//
// Records/s through a counting handler, from a file and from a stream
// consumed by 1 and 2 workers of one group (NATS JetStream, once per
// nats-server binary given, and Redis Streams). For each, a ceiling row
// gives what a bare consumer (nats.go, go-redis) that only reads and
// acknowledges gets from the same server in the same rounds: on a small
// machine the server's per-message work (delivery and ack), not scriptd,
// bounds the rate. The same records are published to each stream beforehand
// (not timed); a stream run is timed from the workers' start until the
// group has every record delivered and acknowledged, as the file run is
// timed from start to exit, so both include process start-up.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

const countScript = `let n = 0; on("dns", () => { n++; }); on("done", () => print("events", n));`

// s1Lines returns the records: the shared dns.json (or the bundled
// excerpt) repeated to at least 200,000 lines.
func (b *bench) s1Lines() ([][]byte, error) {
	src := filepath.Join(b.shared, "dns.json.gz")
	if !exists(src) {
		wd, _ := os.Getwd()
		for !exists(filepath.Join(wd, "go.mod")) && filepath.Dir(wd) != wd {
			wd = filepath.Dir(wd)
		}
		src = filepath.Join(wd, "examples", "data", "dns.json.gz")
	}
	data, err := gunzip(src)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, errors.New("no records")
	}
	out := lines
	for len(out) < 200000 {
		out = append(out, lines...)
	}
	return out, nil
}

func (b *bench) s1() error {
	lines, err := b.s1Lines()
	if err != nil {
		return err
	}
	n := len(lines)
	path := filepath.Join(b.work, "s1.json")
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte{'\n'}), '\n'), 0o644); err != nil {
		return err
	}
	dir := b.script("s1", countScript)
	fileRun := func() (float64, error) {
		start := time.Now()
		out, _, err := b.runScriptd(nil, "run", dir, "--input", path)
		if err != nil {
			return 0, err
		}
		if !bytes.Contains([]byte(out), []byte(fmt.Sprintf("events %d", n))) {
			return 0, fmt.Errorf("S1: file run counted %q, want %d", out, n)
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}

	type config struct {
		kind    string
		workers int
		url     func(group string) string
		settled func(group string) bool
		bare    func(group string) (float64, error) // the ceiling row: no scriptd
		rates   []float64                           // per round
		ratios  []float64                           // per round, to the file run of the same round
	}
	var configs []*config
	var skipped []row
	type setup struct {
		name  string
		start func([][]byte) (func(string) string, func(), func(string) bool, error)
		bare  func(group string) (float64, error)
	}
	servers, err := natsServerBins(b.natsServers)
	if err != nil {
		skipped = append(skipped, row{id: "S1", what: "intake from JetStream", ok: "skipped: " + err.Error()})
	}
	setups := make([]setup, 0, len(servers)+1) // never grown: st below points into it
	for _, bin := range servers {
		name := "JetStream (nats-server " + natsServerVersion(bin) + ")"
		setups = append(setups, setup{name: name})
		st := &setups[len(setups)-1]
		st.start = func(lines [][]byte) (func(string) string, func(), func(string) bool, error) {
			url, stop, settled, js, err := b.s1NATS(bin, lines)
			st.bare = func(group string) (float64, error) { return s1BareNATS(js, group, len(lines), settled) }
			return url, stop, settled, err
		}
	}
	setups = append(setups, setup{name: "Redis Streams"})
	st := &setups[len(setups)-1]
	st.start = func(lines [][]byte) (func(string) string, func(), func(string) bool, error) {
		url, stop, settled, rdb, err := b.s1Redis(lines)
		st.bare = func(group string) (float64, error) { return s1BareRedis(rdb, group, len(lines), settled) }
		return url, stop, settled, err
	}
	for i := range setups {
		k := &setups[i]
		url, stop, settled, err := k.start(lines)
		if err != nil {
			skipped = append(skipped, row{id: "S1", what: "intake from " + k.name, ok: "skipped: " + err.Error()})
			continue
		}
		defer stop()
		for _, w := range []int{1, 2} {
			configs = append(configs, &config{kind: k.name, workers: w, url: url, settled: settled})
		}
		if k.bare != nil {
			configs = append(configs, &config{kind: k.name, bare: k.bare})
		}
	}
	// The machine is shared: each round runs the file and then every
	// stream set-up once, so that a rate and the file rate it is compared
	// with are measured close together; rows show medians over rounds.
	var fileRates []float64
	for run := 0; run < b.s1Rounds; run++ {
		fileRate, err := fileRun()
		if err != nil {
			return err
		}
		fileRates = append(fileRates, fileRate)
		for _, c := range configs {
			group := fmt.Sprintf("bench%d_%d", c.workers, run)
			var rate float64
			if c.bare != nil {
				rate, err = c.bare(fmt.Sprintf("bare_%d", run))
			} else {
				rate, err = b.s1Run(dir, c.url(group), c.workers, n, func() bool { return c.settled(group) })
			}
			if err != nil {
				return fmt.Errorf("S1 %s, %d worker(s): %w", c.kind, c.workers, err)
			}
			c.rates = append(c.rates, rate)
			c.ratios = append(c.ratios, rate/fileRate)
		}
	}
	fileRate := median(fileRates)
	rounds := fmt.Sprintf("median of %d rounds", b.s1Rounds)
	b.rows = append(b.rows, row{id: "S1", what: fmt.Sprintf("intake from a file, %d dns records, counting handler (reference; %s, range %s–%s)", n, rounds, num(slices.Min(fileRates)), num(slices.Max(fileRates))), value: fileRate, unit: "records/s"})
	ceiling := map[string]float64{} // kind: the bare consumer's median rate
	for _, c := range configs {
		if c.bare != nil {
			ceiling[c.kind] = median(c.rates)
		}
	}
	for _, c := range configs {
		ratio := median(c.ratios)
		vsCeiling := ""
		if top := ceiling[c.kind]; top > 0 && c.bare == nil {
			vsCeiling = fmt.Sprintf("; %.2f× the bare consumer's rate", median(c.rates)/top)
		}
		if c.bare != nil {
			b.rows = append(b.rows, row{id: "S1", what: fmt.Sprintf("ceiling: a bare consumer (nats.go, go-redis) on %s that only reads and acknowledges (no parsing, no scriptd; %s; per-round ratio to the file: median %.2f×, range %.2f–%.2f×)", c.kind, rounds, ratio, slices.Min(c.ratios), slices.Max(c.ratios)), value: median(c.rates), unit: "records/s", baseline: fileRate, baseName: "records/s from the file"})
			continue
		}
		r := row{id: "S1", what: fmt.Sprintf("intake from %s, %d worker(s) in one group, counting handler (%s; per-round ratio to the file: median %.2f×, range %.2f–%.2f×%s)", c.kind, c.workers, rounds, ratio, slices.Min(c.ratios), slices.Max(c.ratios), vsCeiling), value: median(c.rates), unit: "records/s", baseline: fileRate, baseName: "records/s from the file"}
		if c.workers == 1 {
			r.target, r.ok = "≥ 0.5× the file", verdict(ratio >= 0.5)
		}
		b.rows = append(b.rows, r)
	}
	b.rows = append(b.rows, skipped...)
	return nil
}

// natsServerBins returns the nats-server binaries S1 measures: those
// listed (comma-separated), else nats-server on PATH or
// /usr/sbin/nats-server.
func natsServerBins(list string) ([]string, error) {
	if list == "" {
		if bin, err := exec.LookPath("nats-server"); err == nil {
			return []string{bin}, nil
		}
		if bin, err := exec.LookPath("/usr/sbin/nats-server"); err == nil {
			return []string{bin}, nil
		}
		return nil, errors.New("nats-server not installed")
	}
	var bins []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		bin, err := exec.LookPath(p)
		if err != nil {
			return bins, fmt.Errorf("nats-server %s: %w", p, err)
		}
		bins = append(bins, bin)
	}
	return bins, nil
}

// natsServerVersion is what `nats-server --version` says ("v2.9.10").
func natsServerVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "of unknown version"
	}
	v := strings.TrimSpace(string(out))
	if i := strings.LastIndex(v, " "); i >= 0 {
		v = v[i+1:]
	}
	return v
}

// s1BareNATS is the JetStream ceiling: records/s that a nats.go consumer
// doing nothing but acknowledge gets from the same server, on a durable of
// its own, timed as a worker group is (until the consumer has settled).
func s1BareNATS(js jetstream.JetStream, group string, n int, settled func(string) bool) (float64, error) {
	ctx := context.Background()
	start := time.Now()
	c, err := js.CreateConsumer(ctx, "ZEEK", jetstream.ConsumerConfig{Durable: group, AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: -1})
	if err != nil {
		return 0, err
	}
	cc, err := c.Consume(func(m jetstream.Msg) { _ = m.Ack() }, jetstream.PullMaxMessages(2048))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	deadline := time.Now().Add(5 * time.Minute)
	for !settled(group) {
		if time.Now().After(deadline) {
			return 0, errors.New("the bare consumer did not settle within 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

var eventsRe = regexp.MustCompile(`events (\d+)`)

// s1Run starts workers on the stream URL and times them until the group
// has settled; then it stops them and checks they counted every record
// once.
func (b *bench) s1Run(dir, url string, workers, n int, settled func() bool) (float64, error) {
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	start := time.Now()
	for i := 0; i < workers; i++ {
		cmd := exec.Command(b.bin, "run", dir, "--input", url)
		cmd.Dir = b.work
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, cmd)
		outs = append(outs, &out)
	}
	defer func() {
		for _, c := range cmds {
			if c.ProcessState == nil {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for !settled() {
		if time.Now().After(deadline) {
			return 0, errors.New("the group did not settle within 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	total := 0
	for i, c := range cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			return 0, fmt.Errorf("worker: %w", err)
		}
		m := eventsRe.FindStringSubmatch(outs[i].String())
		if m == nil {
			return 0, fmt.Errorf("worker printed %q", outs[i].String())
		}
		k, _ := strconv.Atoi(m[1])
		total += k
	}
	if total != n {
		return 0, fmt.Errorf("workers counted %d records, want %d", total, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(port int) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return nil
		}
	}
	return errors.New("server did not start")
}

func (b *bench) s1NATS(bin string, lines [][]byte) (url func(string) string, stop func(), settled func(string) bool, js jetstream.JetStream, err error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", filepath.Join(b.work, "js"+strconv.Itoa(port)))
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, nil, err
	}
	stopSrv := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if err := waitListening(port); err != nil {
		stopSrv()
		return nil, nil, nil, nil, err
	}
	nc, err := nats.Connect("nats://127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		stopSrv()
		return nil, nil, nil, nil, err
	}
	stop = func() { nc.Close(); stopSrv() }
	js, err = jetstream.New(nc)
	if err != nil {
		stop()
		return nil, nil, nil, nil, err
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ZEEK", Subjects: []string{"ZEEK"}}); err != nil {
		stop()
		return nil, nil, nil, nil, err
	}
	var futures []jetstream.PubAckFuture
	for i, l := range lines {
		f, err := js.PublishAsync("ZEEK", l)
		if err != nil {
			stop()
			return nil, nil, nil, nil, err
		}
		futures = append(futures, f)
		if len(futures) == 4096 || i == len(lines)-1 {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					stop()
					return nil, nil, nil, nil, err
				}
			}
			futures = futures[:0]
		}
	}
	url = func(group string) string {
		return fmt.Sprintf("nats://127.0.0.1:%d/ZEEK?durable=%s", port, group)
	}
	settled = func(group string) bool {
		// One request (Consumer fetches the consumer's info), not two:
		// the polling loads the server the workers are measured on.
		c, err := js.Consumer(ctx, "ZEEK", group)
		if err != nil {
			return false
		}
		info := c.CachedInfo()
		return info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= uint64(len(lines))
	}
	return url, stop, settled, js, nil
}

func (b *bench) s1Redis(lines [][]byte) (func(string) string, func(), func(string) bool, *redis.Client, error) {
	port, stop, err := b.startRedis()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	ctx := context.Background()
	for i := 0; i < len(lines); i += 1000 {
		p := rdb.Pipeline()
		for _, l := range lines[i:min(i+1000, len(lines))] {
			p.XAdd(ctx, &redis.XAddArgs{Stream: "zeek", Values: []any{"record", l}})
		}
		if _, err := p.Exec(ctx); err != nil {
			rdb.Close()
			stop()
			return nil, nil, nil, nil, err
		}
	}
	url := func(group string) string {
		return fmt.Sprintf("redis://127.0.0.1:%d/zeek?group=%s", port, group)
	}
	settled := func(group string) bool {
		gs, err := rdb.XInfoGroups(ctx, "zeek").Result()
		if err != nil {
			return false
		}
		for _, g := range gs {
			if g.Name == group {
				return g.Lag == 0 && g.Pending == 0 && g.EntriesRead >= int64(len(lines))
			}
		}
		return false
	}
	return url, func() { rdb.Close(); stop() }, settled, rdb, nil
}

// s1BareRedis is the Redis Streams ceiling: records/s that a go-redis
// consumer doing nothing but read (XREADGROUP, COUNT 512) and acknowledge
// (XACK of each reply's IDs) gets from the same server, in a group of its
// own, timed as a worker group is (until the group has settled).
func s1BareRedis(rdb *redis.Client, group string, n int, settled func(string) bool) (float64, error) {
	ctx := context.Background()
	start := time.Now()
	if err := rdb.XGroupCreate(ctx, "zeek", group, "0").Err(); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !settled(group) {
		if time.Now().After(deadline) {
			return 0, errors.New("the bare consumer did not settle within 5 minutes")
		}
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "bare", Streams: []string{"zeek", ">"}, Count: 512, Block: 100 * time.Millisecond}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, err
		}
		for _, st := range res {
			ids := make([]string, len(st.Messages))
			for i, m := range st.Messages {
				ids[i] = m.ID
			}
			if len(ids) > 0 {
				if err := rdb.XAck(ctx, "zeek", group, ids...).Err(); err != nil {
					return 0, err
				}
			}
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
