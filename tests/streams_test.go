package tests

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
)

// A stream feed (JetStream or Redis Streams) that the test publishes to
// and scriptd workers consume as one group (SPEC §7).
type streamFeed interface {
	kind() string
	url(params string) string // the --input, group "workers"
	publish(t *testing.T, bodies []string)
	// settled reports whether the group has every record delivered and
	// acknowledged (lag and pending 0).
	settled(t *testing.T) (bool, string)
}

type natsStreamFeed struct {
	srv *testutil.Server
	js  jetstream.JetStream
}

func newNATSStreamFeed(t *testing.T) *natsStreamFeed {
	srv := testutil.StartNATS(t)
	nc, err := nats.Connect("nats://" + srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ZEEK", Subjects: []string{"ZEEK"}}); err != nil {
		t.Fatal(err)
	}
	return &natsStreamFeed{srv: srv, js: js}
}

func (f *natsStreamFeed) kind() string { return "nats" }
func (f *natsStreamFeed) url(params string) string {
	return "nats://" + f.srv.Addr() + "/ZEEK?durable=workers" + params
}

func (f *natsStreamFeed) publish(t *testing.T, bodies []string) {
	t.Helper()
	var futures []jetstream.PubAckFuture
	for _, b := range bodies {
		fu, err := f.js.PublishAsync("ZEEK", []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, fu)
	}
	for _, fu := range futures {
		select {
		case <-fu.Ok():
		case err := <-fu.Err():
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatal("publish not acknowledged")
		}
	}
}

func (f *natsStreamFeed) settled(t *testing.T) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := f.js.Consumer(ctx, "ZEEK", "workers")
	if err != nil {
		return false, err.Error()
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false, err.Error()
	}
	return info.NumPending == 0 && info.NumAckPending == 0, fmt.Sprintf("lag %d, pending %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
}

type redisStreamFeed struct {
	srv *testutil.Server
	rdb *redis.Client
}

func newRedisStreamFeed(t *testing.T) *redisStreamFeed {
	srv := testutil.StartRedis(t, false)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return &redisStreamFeed{srv: srv, rdb: rdb}
}

func (f *redisStreamFeed) kind() string { return "redis" }
func (f *redisStreamFeed) url(params string) string {
	return "redis://" + f.srv.Addr() + "/zeek?group=workers" + params
}

func (f *redisStreamFeed) publish(t *testing.T, bodies []string) {
	t.Helper()
	pipe := f.rdb.Pipeline()
	for _, b := range bodies {
		pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: "zeek", Values: []any{"record", b}})
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *redisStreamFeed) settled(t *testing.T) (bool, string) {
	gs, err := f.rdb.XInfoGroups(context.Background(), "zeek").Result()
	if err != nil {
		return false, err.Error()
	}
	for _, g := range gs {
		if g.Name == "workers" {
			return g.Lag == 0 && g.Pending == 0, fmt.Sprintf("lag %d, pending %d", g.Lag, g.Pending)
		}
	}
	return false, "no group"
}

func eachStreamKind(t *testing.T, fn func(t *testing.T, f streamFeed)) {
	t.Run("nats", func(t *testing.T) { fn(t, newNATSStreamFeed(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, newRedisStreamFeed(t)) })
}

// workerScript stores each record's effect once in a shared Redis (put
// with overwrite: false on the record's uid) after an async pause, then
// prints "handled UID CODE": a record is acknowledged only after that
// line is written.
const workerScript = `"use strict";
const worker = process.env.WORKER;
const delay = Number(process.env.DELAY_MS || 1);
let db;
on("init", async () => {
  const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_REDIS,
    { redis: { server_host: "127.0.0.1", server_port: Number(process.env.STATE_PORT), key_prefix: "effects" } }, "string", "string");
  if (r.code !== Storage.SUCCESS) throw new Error(r.error_str);
  db = r.value;
});
on("dns", async (r) => {
  await new Promise((res) => setTimeout(res, delay));
  const res = await Storage.Async.put(db, { key: r.uid, value: worker, overwrite: false });
  print("handled " + r.uid + " " + res.code);
});
`

func streamRecords(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"_path":"dns","ts":%d.25,"uid":"C%06d","query":"host%d.example"}`, 1521900000+i/10, i, i)
	}
	return out
}

var streamHandledRe = regexp.MustCompile(`(?m)^handled (\S+) (\S+)$`)

// handled tallies a worker's "handled UID CODE" lines.
func handled(out string, seen map[string]int, stored map[string]int) int {
	n := 0
	for _, m := range streamHandledRe.FindAllStringSubmatch(out, -1) {
		seen[m[1]]++
		if m[2] == "SUCCESS" {
			stored[m[1]]++
		}
		n++
	}
	return n
}

func effectKeys(t *testing.T, state *redis.Client) int {
	t.Helper()
	n := 0
	iter := state.Scan(context.Background(), 0, "effects:*", 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func startWorkers(t *testing.T, f streamFeed, n int, state *testutil.Server, env []string, extra ...string) (dir string, ws []*process) {
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.js": workerScript})
	for i := 0; i < n; i++ {
		e := append([]string{"WORKER=w" + strconv.Itoa(i), "STATE_PORT=" + strconv.Itoa(state.Port)}, env...)
		args := append([]string{"run", "worker.js", "--input", f.url("&redeliver_after=2s")}, extra...)
		ws = append(ws, startScriptdEnv(t, dir, e, args...))
	}
	return dir, ws
}

// Three workers share a feed; one is killed with -9 mid-stream. Every
// record is handled at least once (a record is acknowledged only after
// its handler printed), and each record's effect is stored exactly once.
func TestStreamWorkersSurviveKill9(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		state := testutil.StartRedis(t, false)
		sc := redis.NewClient(&redis.Options{Addr: state.Addr()})
		defer sc.Close()
		const n = 6000
		f.publish(t, streamRecords(n))
		_, ws := startWorkers(t, f, 3, state, []string{"DELAY_MS=3"}, "--max-in-flight", "20")
		testutil.Eventually(t, 30*time.Second, "worker 0 to handle 300 records", func() bool {
			return strings.Count(ws[0].Stdout.String(), "\n") >= 300
		})
		if err := ws[0].cmd.Process.Kill(); err != nil { // kill -9, by PID
			t.Fatal(err)
		}
		ws[0].waitExit(t, 10*time.Second)
		if rf, ok := f.(*redisStreamFeed); ok {
			// The dead worker's consumer (HOSTNAME-PID) holds entries that
			// the others will claim.
			host, _ := os.Hostname()
			consumer := fmt.Sprintf("%s-%d", host, ws[0].cmd.Process.Pid)
			p, err := rf.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: "zeek", Group: "workers", Start: "-", End: "+", Count: 100, Consumer: consumer}).Result()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("the killed worker held %d entries", len(p)) // 0 is possible, if it was killed between two reads
		}
		testutil.Eventually(t, 60*time.Second, "every record's effect stored and the group settled", func() bool {
			ok, _ := f.settled(t)
			return ok && effectKeys(t, sc) == n
		})
		seen, stored := map[string]int{}, map[string]int{}
		var counts []int
		for i, w := range ws {
			if i > 0 {
				if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if code := w.waitExit(t, 30*time.Second); code != 0 {
					t.Errorf("worker %d: exit %d\nstderr: %s", i, code, w.Stderr.String())
				}
				if s := w.Stderr.String(); s != "" {
					t.Errorf("worker %d stderr: %s", i, s)
				}
			}
			counts = append(counts, handled(w.Stdout.String(), seen, stored))
		}
		twice := 0
		for i := 0; i < n; i++ {
			uid := fmt.Sprintf("C%06d", i)
			if seen[uid] == 0 {
				t.Errorf("record %s never handled", uid)
			}
			if seen[uid] > 1 {
				twice++
			}
			if stored[uid] > 1 {
				t.Errorf("record %s stored %d times", uid, stored[uid])
			}
		}
		if k := effectKeys(t, sc); k != n {
			t.Errorf("%d effects stored, want %d", k, n)
		}
		ok, why := f.settled(t)
		if !ok {
			t.Errorf("group not settled: %s", why)
		}
		t.Logf("%s: handled per worker %v (worker 0 killed); %d records handled twice; group %s", f.kind(), counts, twice, why)
	})
}

// SIGTERM stops a worker pulling, lets its in-flight records settle and
// acknowledges them: with a second worker finishing the feed, every record
// is handled exactly once. A message that is not a record is reported
// with its stream and sequence and acknowledged.
func TestStreamSIGTERMDrainsAndAcks(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		state := testutil.StartRedis(t, false)
		sc := redis.NewClient(&redis.Options{Addr: state.Addr()})
		defer sc.Close()
		const n = 2000
		recs := streamRecords(n)
		// Two bad messages in the middle.
		bodies := append(append(append([]string{}, recs[:1000]...), "not json", `{"_path":"done"}`), recs[1000:]...)
		f.publish(t, bodies)
		_, ws := startWorkers(t, f, 2, state, []string{"DELAY_MS=20"}, "--max-in-flight", "50")
		testutil.Eventually(t, 30*time.Second, "worker 0 to handle 100 records", func() bool {
			return strings.Count(ws[0].Stdout.String(), "\n") >= 100
		})
		if err := ws[0].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := ws[0].waitExit(t, 30*time.Second); code != 0 {
			t.Fatalf("worker 0: exit %d\nstderr: %s", code, ws[0].Stderr.String())
		}
		testutil.Eventually(t, 60*time.Second, "every record's effect stored and the group settled", func() bool {
			ok, _ := f.settled(t)
			return ok && effectKeys(t, sc) == n
		})
		// Let a redelivery, if any were coming, arrive.
		time.Sleep(3 * time.Second)
		if err := ws[1].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := ws[1].waitExit(t, 30*time.Second); code != 0 {
			t.Fatalf("worker 1: exit %d\nstderr: %s", code, ws[1].Stderr.String())
		}
		seen, stored := map[string]int{}, map[string]int{}
		c0 := handled(ws[0].Stdout.String(), seen, stored)
		c1 := handled(ws[1].Stdout.String(), seen, stored)
		for i := 0; i < n; i++ {
			uid := fmt.Sprintf("C%06d", i)
			if seen[uid] != 1 || stored[uid] != 1 {
				t.Errorf("record %s handled %d times, stored %d times; want once", uid, seen[uid], stored[uid])
			}
		}
		// The bad messages: reported once (by whichever worker got them),
		// named STREAM:SEQUENCE, and acknowledged (the group settled).
		stderr := ws[0].Stderr.String() + ws[1].Stderr.String()
		base := strings.SplitN(f.url(""), "?", 2)[0]
		var want []*regexp.Regexp
		if f.kind() == "nats" {
			want = []*regexp.Regexp{
				regexp.MustCompile(regexp.QuoteMeta(base) + `:1001: .*invalid character`),
				regexp.MustCompile(regexp.QuoteMeta(base) + `:1002: event "done" is reserved`),
			}
		} else {
			want = []*regexp.Regexp{
				regexp.MustCompile(regexp.QuoteMeta(base) + `:\d+-\d+: .*invalid character`),
				regexp.MustCompile(regexp.QuoteMeta(base) + `:\d+-\d+: event "done" is reserved`),
			}
		}
		for _, re := range want {
			if got := len(re.FindAllString(stderr, -1)); got != 1 {
				t.Errorf("%d reports matching %s in stderr:\n%s", got, re, stderr)
			}
		}
		if ok, why := f.settled(t); !ok {
			t.Errorf("group not settled: %s", why)
		}
		t.Logf("%s: worker 0 handled %d before SIGTERM, worker 1 %d", f.kind(), c0, c1)
	})
}

// A record is acknowledged only once all its handlers have settled,
// promises included: while an async handler waits, the record stays
// pending in the group; once it settles, it is acknowledged.
func TestStreamAckAfterSettle(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"w.js": `
on("dns", (r) => { print("sync " + r.uid); });
on("dns", async (r) => {
  print("waiting " + r.uid);
  await new Promise((res) => setTimeout(res, 2500));
  print("settled " + r.uid);
});
`})
		f.publish(t, streamRecords(3))
		p := startScriptd(t, dir, "run", "w.js", "--input", f.url(""))
		testutil.Eventually(t, 20*time.Second, "the handlers to wait", func() bool {
			return strings.Count(p.Stdout.String(), "waiting") == 3
		})
		waiting := time.Now()
		time.Sleep(500 * time.Millisecond)
		if ok, why := f.settled(t); ok || strings.Contains(p.Stdout.String(), "settled") {
			t.Fatalf("group settled while handlers wait: %s", why)
		}
		testutil.Eventually(t, 20*time.Second, "the records acknowledged", func() bool {
			ok, _ := f.settled(t)
			return ok
		})
		if d := time.Since(waiting); d < 2*time.Second {
			t.Fatalf("acknowledged %v after the handlers began to wait 2.5s", d)
		}
		testutil.Eventually(t, 5*time.Second, "the handlers' last lines", func() bool {
			return strings.Count(p.Stdout.String(), "settled") == 3
		})
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.waitExit(t, 20*time.Second); code != 0 {
			t.Fatalf("exit %d: %s", code, p.Stderr.String())
		}
	})
}

// A stream input that cannot be opened fails the run (exit 1) naming it;
// a malformed stream URL is a usage error (exit 2).
func TestStreamInputErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"w.js": `on("dns", () => {});`})
	port := freePort(t)
	res := runScriptd(t, dir, 30*time.Second, "run", "w.js", "--input", fmt.Sprintf("nats://127.0.0.1:%d/ZEEK?durable=w", port))
	if res.Code != 1 || !strings.Contains(res.Stderr, fmt.Sprintf("open input nats://127.0.0.1:%d/ZEEK", port)) {
		t.Errorf("unreachable server: exit %d, stderr %q", res.Code, res.Stderr)
	}
	res = runScriptd(t, dir, 30*time.Second, "run", "w.js", "--input", "redis://127.0.0.1:6379/zeek")
	if res.Code != 2 || !strings.Contains(res.Stderr, "group=GROUP is required") {
		t.Errorf("no group: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

// A record whose handlers throw, reject or run away (interrupted by
// --handler-timeout, here in a continuation) is still acknowledged, once,
// and the error names the record as STREAM:SEQUENCE; the records cut off
// with the interrupted runtime are redelivered and handled.
func TestStreamFailedHandlersAcked(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"w.js": `
on("dns", (r) => { if (r.uid === "C000001") throw new Error("sync boom"); });
on("dns", async (r) => {
  await null;
  if (r.uid === "C000002") throw new Error("async boom");
  if (r.uid === "C000003") for (;;) {}
  print("ok " + r.uid);
});
`})
		f.publish(t, streamRecords(6))
		p := startScriptd(t, dir, "run", "w.js", "--handler-timeout", "300ms", "--input", f.url("&redeliver_after=2s"))
		testutil.Eventually(t, 30*time.Second, "every record acknowledged", func() bool {
			ok, _ := f.settled(t)
			return ok
		})
		time.Sleep(3 * time.Second) // a record wrongly left unacknowledged would come back now
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.waitExit(t, 20*time.Second); code != 0 {
			t.Fatalf("exit %d: %s", code, p.Stderr.String())
		}
		stderr, stdout := p.Stderr.String(), p.Stdout.String()
		base := regexp.QuoteMeta(strings.SplitN(f.url(""), "?", 2)[0])
		for i, msg := range []string{"sync boom", "async boom", "interrupted"} {
			seq := fmt.Sprintf(":%d", i+2) // C000001 is the stream's second message
			if f.kind() == "redis" {
				seq = `:\d+-\d+`
			}
			re := regexp.MustCompile(" on " + base + seq + ": .*" + msg)
			if !re.MatchString(stderr) {
				t.Errorf("no report of %q naming the record (%s) in stderr:\n%s", msg, re, stderr)
			}
		}
		if n := len(regexp.MustCompile(`(?m)^error in handler .*: interrupted: ran past`).FindAllString(stderr, -1)); n != 1 {
			t.Errorf("the runaway record ran %d times, want once (acknowledged, not redelivered):\n%s", n, stderr)
		}
		for _, uid := range []string{"C000000", "C000004", "C000005"} {
			if !strings.Contains(stdout, "ok "+uid) {
				t.Errorf("record %s not handled: %s", uid, stdout)
			}
		}
		if ok, why := f.settled(t); !ok {
			t.Errorf("not settled: %s", why)
		}
	})
}

// A record whose handler takes longer than redeliver_after (here 5 s
// against 2 s) is kept alive while it is handled (JetStream: "in
// progress"; Redis: XCLAIM to its holder): it is not redelivered, to
// another worker of the group or to the same one, and it is handled once.
func TestStreamSlowHandlerNotRedelivered(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"w.js": `
on("dns", async (r) => {
  print("start " + r.uid + " " + process.env.WORKER);
  await new Promise((res) => setTimeout(res, 5000));
  print("end " + r.uid);
});
`})
		f.publish(t, streamRecords(1))
		var ws []*process
		for i := 0; i < 2; i++ {
			ws = append(ws, startScriptdEnv(t, dir, []string{"WORKER=w" + strconv.Itoa(i)}, "run", "w.js", "--input", f.url("&redeliver_after=2s")))
		}
		testutil.Eventually(t, 20*time.Second, "the record's handler to end", func() bool {
			return strings.Contains(ws[0].Stdout.String()+ws[1].Stdout.String(), "end C000000")
		})
		testutil.Eventually(t, 5*time.Second, "the record acknowledged", func() bool {
			ok, _ := f.settled(t)
			return ok
		})
		time.Sleep(2500 * time.Millisecond) // a redelivery, if one were coming, would have come by now
		out := ""
		for i, w := range ws {
			if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := w.waitExit(t, 20*time.Second); code != 0 {
				t.Fatalf("worker %d: exit %d: %s", i, code, w.Stderr.String())
			}
			out += w.Stdout.String()
		}
		if n := strings.Count(out, "start C000000"); n != 1 {
			t.Errorf("the record was handled %d times, want once:\n%s", n, out)
		}
		nf, ok := f.(*natsStreamFeed)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := nf.js.Consumer(ctx, "ZEEK", "workers")
		if err != nil {
			t.Fatal(err)
		}
		if info := c.CachedInfo(); info.NumRedelivered != 0 || info.Delivered.Consumer != 1 {
			t.Errorf("consumer delivered %d message(s), %d redelivered; want 1 delivery", info.Delivered.Consumer, info.NumRedelivered)
		}
	})
}
