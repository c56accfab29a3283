package main

// ---- S1: stream intake ----
//
// Records/s through a counting handler, from a file and from a stream
// consumed by 1 and 2 workers of one group (NATS JetStream, once per
// nats-server binary given, and Redis Streams). For each, a ceiling row
// gives what a bare consumer (nats.go, rueidis: scriptd's clients) that
// only reads and acknowledges gets from the same server in the same
// rounds: on a small machine the server's per-message work (delivery and
// ack), not scriptd, bounds the rate. Each row also gives the CPU time per
// record of scriptd (the workers' together) and of the stream server, so
// that a rate can be read against what the machine's cores give. The same
// records are published to each stream beforehand (not timed); a stream
// run is timed from the workers' start until the group has every record
// delivered and acknowledged, as the file run is timed from start to exit,
// so both include process start-up.

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
	"github.com/redis/rueidis"
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
	// fileRun returns records/s and scriptd's CPU time per record (µs).
	fileRun := func() (float64, float64, error) {
		start := time.Now()
		out, ps, err := b.runScriptd(nil, "run", dir, "--input", path)
		if err != nil {
			return 0, 0, err
		}
		if !bytes.Contains([]byte(out), []byte(fmt.Sprintf("events %d", n))) {
			return 0, 0, fmt.Errorf("S1: file run counted %q, want %d", out, n)
		}
		return float64(n) / time.Since(start).Seconds(), perRecord(childCPU(ps), n), nil
	}

	type config struct {
		kind    string
		workers int
		url     func(group string) string
		settled func(group string) bool
		bare    func(group string) (float64, error) // the ceiling row: no scriptd
		server  *os.Process
		rates   []float64 // per round
		ratios  []float64 // per round, to the file run of the same round
		cpu     []float64 // per round: CPU µs per record of the workers (of the bare consumer)
		srvCPU  []float64 // per round: CPU µs per record of the stream server
	}
	var configs []*config
	var skipped []row
	type setup struct {
		name  string
		start func([][]byte) (func(string) string, func(), func(string) bool, *os.Process, error)
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
		st.start = func(lines [][]byte) (func(string) string, func(), func(string) bool, *os.Process, error) {
			url, stop, settled, js, srv, err := b.s1NATS(bin, lines)
			st.bare = func(group string) (float64, error) { return s1BareNATS(js, group, len(lines), settled) }
			return url, stop, settled, srv, err
		}
	}
	setups = append(setups, setup{name: "Redis Streams"})
	st := &setups[len(setups)-1]
	st.start = func(lines [][]byte) (func(string) string, func(), func(string) bool, *os.Process, error) {
		url, stop, settled, rc, srv, err := b.s1Redis(lines)
		st.bare = func(group string) (float64, error) { return s1BareRedis(rc, group, len(lines), settled) }
		return url, stop, settled, srv, err
	}
	for i := range setups {
		k := &setups[i]
		url, stop, settled, srv, err := k.start(lines)
		if err != nil {
			skipped = append(skipped, row{id: "S1", what: "intake from " + k.name, ok: "skipped: " + err.Error()})
			continue
		}
		defer stop()
		for _, w := range []int{1, 2} {
			configs = append(configs, &config{kind: k.name, workers: w, url: url, settled: settled, server: srv})
		}
		if k.bare != nil {
			configs = append(configs, &config{kind: k.name, bare: k.bare, server: srv})
		}
	}
	// The machine is shared: each round runs the file and then every
	// stream set-up once, so that a rate and the file rate it is compared
	// with are measured close together; rows show medians over rounds.
	var fileRates, fileCPU []float64
	for run := 0; run < b.s1Rounds; run++ {
		fileRate, cpu, err := fileRun()
		if err != nil {
			return err
		}
		fileRates = append(fileRates, fileRate)
		fileCPU = append(fileCPU, cpu)
		for _, c := range configs {
			group := fmt.Sprintf("bench%d_%d", c.workers, run)
			var rate, clientCPU float64
			srv0 := procCPU(c.server)
			if c.bare != nil {
				self0 := selfCPU()
				rate, err = c.bare(fmt.Sprintf("bare_%d", run))
				clientCPU = selfCPU() - self0
			} else {
				rate, clientCPU, err = b.s1Run(dir, c.url(group), c.workers, n, func() bool { return c.settled(group) })
			}
			if err != nil {
				return fmt.Errorf("S1 %s, %d worker(s): %w", c.kind, c.workers, err)
			}
			c.rates = append(c.rates, rate)
			c.ratios = append(c.ratios, rate/fileRate)
			c.cpu = append(c.cpu, perRecord(clientCPU, n))
			c.srvCPU = append(c.srvCPU, perRecord(procCPU(c.server)-srv0, n))
		}
	}
	fileRate := median(fileRates)
	rounds := fmt.Sprintf("median of %d rounds", b.s1Rounds)
	b.rows = append(b.rows, row{id: "S1", what: fmt.Sprintf("intake from a file, %d dns records, counting handler (reference; %s, range %s–%s; CPU per record: scriptd %.1f µs)", n, rounds, num(slices.Min(fileRates)), num(slices.Max(fileRates)), median(fileCPU)), value: fileRate, unit: "records/s"})
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
			b.rows = append(b.rows, row{id: "S1", what: fmt.Sprintf("ceiling: a bare consumer (nats.go, rueidis) on %s that only reads and acknowledges (no parsing, no scriptd; %s; per-round ratio to the file: median %.2f×, range %.2f–%.2f×; CPU per record: consumer %.1f µs, server %.1f µs)", c.kind, rounds, ratio, slices.Min(c.ratios), slices.Max(c.ratios), median(c.cpu), median(c.srvCPU)), value: median(c.rates), unit: "records/s", baseline: fileRate, baseName: "records/s from the file"})
			continue
		}
		r := row{id: "S1", what: fmt.Sprintf("intake from %s, %d worker(s) in one group, counting handler (%s; per-round ratio to the file: median %.2f×, range %.2f–%.2f×%s; CPU per record: scriptd %.1f µs, server %.1f µs)", c.kind, c.workers, rounds, ratio, slices.Min(c.ratios), slices.Max(c.ratios), vsCeiling, median(c.cpu), median(c.srvCPU)), value: median(c.rates), unit: "records/s", baseline: fileRate, baseName: "records/s from the file"}
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
func (b *bench) s1Run(dir, url string, workers, n int, settled func() bool) (rate, cpu float64, err error) {
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	start := time.Now()
	for i := 0; i < workers; i++ {
		cmd := exec.Command(b.bin, "run", dir, "--input", url)
		cmd.Dir = b.work
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			return 0, 0, err
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
			return 0, 0, errors.New("the group did not settle within 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	total := 0
	for i, c := range cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			return 0, 0, fmt.Errorf("worker: %w", err)
		}
		m := eventsRe.FindStringSubmatch(outs[i].String())
		if m == nil {
			return 0, 0, fmt.Errorf("worker printed %q", outs[i].String())
		}
		k, _ := strconv.Atoi(m[1])
		total += k
		cpu += childCPU(c.ProcessState)
	}
	if total != n {
		return 0, 0, fmt.Errorf("workers counted %d records, want %d", total, n)
	}
	return float64(n) / elapsed.Seconds(), cpu, nil
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

func (b *bench) s1NATS(bin string, lines [][]byte) (url func(string) string, stop func(), settled func(string) bool, js jetstream.JetStream, srv *os.Process, err error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", filepath.Join(b.work, "js"+strconv.Itoa(port)))
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	stopSrv := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if err := waitListening(port); err != nil {
		stopSrv()
		return nil, nil, nil, nil, nil, err
	}
	nc, err := nats.Connect("nats://127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		stopSrv()
		return nil, nil, nil, nil, nil, err
	}
	stop = func() { nc.Close(); stopSrv() }
	js, err = jetstream.New(nc)
	if err != nil {
		stop()
		return nil, nil, nil, nil, nil, err
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ZEEK", Subjects: []string{"ZEEK"}}); err != nil {
		stop()
		return nil, nil, nil, nil, nil, err
	}
	var futures []jetstream.PubAckFuture
	for i, l := range lines {
		f, err := js.PublishAsync("ZEEK", l)
		if err != nil {
			stop()
			return nil, nil, nil, nil, nil, err
		}
		futures = append(futures, f)
		if len(futures) == 4096 || i == len(lines)-1 {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					stop()
					return nil, nil, nil, nil, nil, err
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
	return url, stop, settled, js, cmd.Process, nil
}

func (b *bench) s1Redis(lines [][]byte) (func(string) string, func(), func(string) bool, rueidis.Client, *os.Process, error) {
	port, srv, stop, err := b.startRedisProc()
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:" + strconv.Itoa(port)}, DisableCache: true, ForceSingleClient: true, AlwaysRESP2: true})
	if err != nil {
		stop()
		return nil, nil, nil, nil, nil, err
	}
	ctx := context.Background()
	for i := 0; i < len(lines); i += 1000 {
		var cmds rueidis.Commands
		for _, l := range lines[i:min(i+1000, len(lines))] {
			cmds = append(cmds, rc.B().Xadd().Key("zeek").Id("*").FieldValue().FieldValue("record", rueidis.BinaryString(l)).Build())
		}
		for _, r := range rc.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				rc.Close()
				stop()
				return nil, nil, nil, nil, nil, err
			}
		}
	}
	url := func(group string) string {
		return fmt.Sprintf("redis://127.0.0.1:%d/zeek?group=%s", port, group)
	}
	settled := func(group string) bool {
		gs, err := rc.Do(ctx, rc.B().XinfoGroups().Key("zeek").Build()).ToArray()
		if err != nil {
			return false
		}
		for _, g := range gs {
			fields, _ := g.ToArray()
			f := map[string]int64{}
			name := ""
			for i := 0; i+1 < len(fields); i += 2 {
				k, _ := fields[i].ToString()
				if k == "name" {
					name, _ = fields[i+1].ToString()
				} else if v, err := fields[i+1].AsInt64(); err == nil {
					f[k] = v
				} else {
					f[k] = -1 // nil: unknown
				}
			}
			if name == group {
				return f["lag"] == 0 && f["pending"] == 0 && f["entries-read"] >= int64(len(lines))
			}
		}
		return false
	}
	return url, func() { rc.Close(); stop() }, settled, rc, srv, nil
}

// s1BareRedis is the Redis Streams ceiling: records/s that a consumer on
// scriptd's client (rueidis) doing nothing but read (XREADGROUP, COUNT
// 512) and acknowledge (XACK of each reply's IDs) gets from the same
// server, in a group of its own, timed as a worker group is (until the
// group has settled).
func s1BareRedis(rc rueidis.Client, group string, n int, settled func(string) bool) (float64, error) {
	ctx := context.Background()
	start := time.Now()
	if err := rc.Do(ctx, rc.B().XgroupCreate().Key("zeek").Group(group).Id("0").Build()).Error(); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !settled(group) {
		if time.Now().After(deadline) {
			return 0, errors.New("the bare consumer did not settle within 5 minutes")
		}
		streams, err := rc.Do(ctx, rc.B().Xreadgroup().Group(group, "bare").Count(512).Block(100).Streams().Key("zeek").Id(">").Build()).ToArray()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, st := range streams {
			kv, err := st.ToArray()
			if err != nil || len(kv) != 2 {
				return 0, fmt.Errorf("XREADGROUP: unexpected reply %v", st)
			}
			entries, _ := kv[1].ToArray()
			ids := make([]string, 0, len(entries))
			for _, e := range entries {
				parts, err := e.ToArray()
				if err != nil || len(parts) != 2 {
					return 0, fmt.Errorf("XREADGROUP: unexpected entry %v", e)
				}
				id, _ := parts[0].ToString()
				ids = append(ids, id)
			}
			if len(ids) > 0 {
				if err := rc.Do(ctx, rc.B().Xack().Key("zeek").Group(group).Id(ids...).Build()).Error(); err != nil {
					return 0, err
				}
			}
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// procCPU returns the CPU time (user + system, seconds) p has used so far,
// from /proc (Linux); 0 where it cannot be read.
func procCPU(p *os.Process) float64 {
	if p == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, "(...)", which may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// selfCPU returns the CPU time this process has used (seconds).
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// childCPU returns the CPU time an exited process used (seconds).
func childCPU(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// perRecord turns seconds for n records into µs per record.
func perRecord(seconds float64, n int) float64 { return seconds * 1e6 / float64(n) }
