package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/input"
)

// feed is a stream the test writes to.
type feed interface {
	url(group string, params string) string
	publish(t testing.TB, bodies ...string)
	// pendingAndLag: the group's unacknowledged and undelivered counts.
	pendingAndLag(t testing.TB, group string) (pending, lag int64)
}

type natsFeed struct {
	srv  *testutil.Server
	js   jetstream.JetStream
	name string
}

func newNATSFeed(t testing.TB) *natsFeed {
	srv := testutil.StartNATS(t)
	nc, err := nats.Connect("nats://"+srv.Addr(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &natsFeed{srv: srv, js: js, name: "ZEEK"}
}

func (f *natsFeed) url(group, params string) string {
	return "nats://" + f.srv.Addr() + "/" + f.name + "?durable=" + group + params
}

func (f *natsFeed) publish(t testing.TB, bodies ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.js.Stream(ctx, f.name); errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: f.name, Subjects: []string{f.name}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bodies {
		if _, err := f.js.Publish(ctx, f.name, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *natsFeed) pendingAndLag(t testing.TB, group string) (int64, int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := f.js.Consumer(ctx, f.name, group)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int64(info.NumAckPending), int64(info.NumPending)
}

type redisFeed struct {
	srv *testutil.Server
	rdb *redis.Client
	key string
}

func newRedisFeed(t testing.TB, persist bool) *redisFeed {
	srv := testutil.StartRedis(t, persist)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return &redisFeed{srv: srv, rdb: rdb, key: "zeek"}
}

func (f *redisFeed) url(group, params string) string {
	return "redis://" + f.srv.Addr() + "/" + f.key + "?group=" + group + params
}

func (f *redisFeed) publish(t testing.TB, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := f.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: f.key, Values: []any{"record", b}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *redisFeed) pendingAndLag(t testing.TB, group string) (int64, int64) {
	gs, err := f.rdb.XInfoGroups(context.Background(), f.key).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Name == group {
			return g.Pending, g.Lag
		}
	}
	t.Fatalf("no group %s", group)
	return 0, 0
}

// running is a Source being run by a test.
type running struct {
	src    Source
	cancel context.CancelFunc
	done   chan error
	out    chan []input.Event

	mu   sync.Mutex
	bad  []string
	warn []string
}

func run(t testing.TB, spec string, opts Options) *running {
	t.Helper()
	sp, err := input.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{out: make(chan []input.Event, 4), done: make(chan error, 1)}
	opts.OnBadRecord = func(file string, line int, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		where := file
		if line > 0 {
			where = fmt.Sprintf("%s:%d", file, line)
		}
		r.bad = append(r.bad, where+": "+err.Error())
	}
	opts.OnWarning = func(file string, line int, msg string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.warn = append(r.warn, msg)
	}
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 100 * time.Millisecond
	}
	r.src, err = Open(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.src.Run(ctx, r.out) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// halt ends Run (the process stops pulling, as if it had died: what it
// took stays unacknowledged).
func (r *running) halt(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	out := r.out
	go func() {
		for range out {
		}
	}()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Error("Run did not return within 10s of its context's end")
	}
}

// die ends Run and then the process, as if it had been killed: the
// records it took stay unacknowledged, and nothing more is sent (no
// acknowledgement, no keep-alive).
func (r *running) die(t testing.TB) {
	r.halt(t)
	if s, ok := r.src.(*natsSource); ok && s.closed.CompareAndSwap(false, true) {
		close(s.ackStop)
		<-s.ackDone
		s.nc.Close()
	}
	if s, ok := r.src.(*redisSource); ok && s.closed.CompareAndSwap(false, true) {
		close(s.ackStop) // no more acknowledgements, and no keep-alive
		<-s.ackDone
		s.rdb.Close()
	}
}

// stop ends Run and closes the source.
func (r *running) stop(t testing.TB) {
	if r.out == nil {
		return
	}
	r.halt(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.src.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	close(r.out)
	r.out = nil
}

// take receives events until n have arrived (or timeout).
func (r *running) take(t *testing.T, n int, timeout time.Duration) []input.Event {
	t.Helper()
	var evs []input.Event
	deadline := time.After(timeout)
	for len(evs) < n {
		select {
		case b := <-r.out:
			evs = append(evs, b...)
		case <-deadline:
			t.Fatalf("got %d events within %v, want %d", len(evs), timeout, n)
		}
	}
	return evs
}

// quiet checks that nothing arrives for d.
func (r *running) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case b := <-r.out:
		t.Fatalf("got %d more events, want none (first %+v)", len(b), b[0])
	case <-time.After(d):
	}
}

func records(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"_path":"dns","ts":%d.5,"id":%d}`, 1521900000+from+i, from+i)
	}
	return out
}

func ids(t *testing.T, evs []input.Event) map[int]int {
	t.Helper()
	m := map[int]int{}
	for _, ev := range evs {
		v, _ := ev.Record.Get("id")
		f, ok := v.(float64)
		if !ok {
			t.Fatalf("event without id: %+v", ev)
		}
		m[int(f)]++
	}
	return m
}

// waitAcknowledged waits until f's group has every record delivered and
// acknowledged.
func waitAcknowledged(t *testing.T, f feed, group string, within time.Duration) {
	t.Helper()
	testutil.Eventually(t, within, "every record acknowledged", func() bool {
		p, lag := f.pendingAndLag(t, group)
		return p == 0 && lag == 0
	})
}

func bothKinds(t *testing.T, fn func(t *testing.T, f feed)) {
	t.Run("nats", func(t *testing.T) { fn(t, newNATSFeed(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, newRedisFeed(t, false)) })
}

// Records arrive as events named by _path (or NAME=), with ts, a name for
// errors, and an Ack; bad messages are reported with stream and sequence
// and acknowledged; once every Ack is called the group has nothing
// pending.
func TestDeliverAndAck(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, records(0, 500)...)
		f.publish(t, `not json`, `[1,2]`, `{"_path":"init"}`, `{"_path":"dns","ts":1521900000000}`, `{"no_path":1}`)
		f.publish(t, records(500, 500)...)
		r := run(t, f.url("g", ""), Options{BatchSize: 64})
		evs := r.take(t, 1000, 20*time.Second)
		got := ids(t, evs)
		for i := 0; i < 1000; i++ {
			if got[i] != 1 {
				t.Fatalf("record %d delivered %d times", i, got[i])
			}
		}
		for _, ev := range evs {
			if ev.Name != "dns" || ev.TS < 1521900000 || ev.Ack == nil || !strings.HasPrefix(ev.File, f.url("", "")[:strings.Index(f.url("", ""), "?")]) {
				t.Fatalf("bad event %+v", ev)
			}
			if len(evs) > 0 && len(ev.Record.Fields) != 3 {
				t.Fatalf("record %+v", ev.Record)
			}
		}
		r.mu.Lock()
		bad := append([]string(nil), r.bad...)
		r.mu.Unlock()
		if len(bad) != 5 {
			t.Fatalf("bad records reported: %q, want 5", bad)
		}
		for _, b := range bad {
			// STREAM:SEQ: nats://127.0.0.1:P/ZEEK:501, redis://127.0.0.1:P/zeek:1700000000000-0
			if !strings.Contains(b, ":50") && !strings.Contains(b, "-") {
				t.Errorf("bad record %q does not name its sequence", b)
			}
		}
		if s := r.src.Stats(); s.Skipped != 5 || s.Records != 1000 || !s.Stream {
			t.Errorf("stats %+v", s)
		}
		// Nothing is acknowledged but the bad records until Ack is called.
		testutil.Eventually(t, 5*time.Second, "the bad records acknowledged", func() bool {
			return r.src.Stats().Acked == 5
		})
		if p, _ := f.pendingAndLag(t, "g"); p != 1000 {
			t.Fatalf("pending %d before acks, want 1000", p)
		}
		if s := r.src.Stats(); s.Unacked != 1000 {
			t.Fatalf("unacked %d, want 1000", s.Unacked)
		}
		for _, ev := range evs {
			ev.Ack()
			ev.Ack() // idempotent
		}
		waitAcknowledged(t, f, "g", 5*time.Second)
		testutil.Eventually(t, 5*time.Second, "stats to show it", func() bool {
			s := r.src.Stats()
			return s.Acked == 1005 && s.Unacked == 0 && s.Pending == 0 && s.Lag == 0
		})
		r.quiet(t, 300*time.Millisecond)
	})
}

// With NAME=, the event is NAME whatever _path says.
func TestNamedStream(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, `{"_path":"x","id":1}`, `{"id":2}`)
		r := run(t, "conn="+f.url("g", ""), Options{})
		for _, ev := range r.take(t, 2, 10*time.Second) {
			if ev.Name != "conn" {
				t.Errorf("event %q, want conn", ev.Name)
			}
			ev.Ack()
		}
	})
}

// Records a process took and never acknowledged go to another process of
// the group after redeliver_after; acknowledged ones never do.
func TestRedeliveryToAnotherProcess(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, records(0, 100)...)
		params := "&redeliver_after=1s"
		a := run(t, f.url("g", params), Options{Consumer: "a", BatchSize: 10})
		evs := a.take(t, 100, 10*time.Second)
		for _, ev := range evs[:60] {
			ev.Ack()
		}
		// a "dies" holding 40: b gets exactly those, after about a second.
		a.die(t)
		start := time.Now()
		b := run(t, f.url("g", params), Options{Consumer: "b"})
		got := b.take(t, 40, 15*time.Second)
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Errorf("redelivered after %v, before redeliver_after", d)
		}
		want := ids(t, evs[60:])
		gotIDs := ids(t, got)
		for id := range want {
			if gotIDs[id] != 1 {
				t.Errorf("record %d redelivered %d times, want once", id, gotIDs[id])
			}
		}
		if len(gotIDs) != 40 {
			t.Errorf("redelivered %d records, want 40", len(gotIDs))
		}
		if s := b.src.Stats(); s.Redelivered != 40 {
			t.Errorf("b's Redelivered %d, want 40", s.Redelivered)
		}
		for _, ev := range got {
			ev.Ack()
		}
		waitAcknowledged(t, f, "g", 10*time.Second)
		// a's late acks of records it lost are harmless.
		for _, ev := range evs[60:] {
			ev.Ack()
		}
		b.quiet(t, 1500*time.Millisecond)
	})
}

// A Redis entry held past half of redeliver_after is claimed again by its
// holder (XCLAIM ... JUSTID), so that neither another process's
// XAUTOCLAIM nor the holder's own takes it while its handlers still run.
func TestRedisKeepAlive(t *testing.T) {
	f := newRedisFeed(t, false)
	f.publish(t, records(0, 3)...)
	params := "&redeliver_after=1s"
	a := run(t, f.url("g", params), Options{Consumer: "a"})
	evs := a.take(t, 3, 10*time.Second)
	b := run(t, f.url("g", params), Options{Consumer: "b"})
	b.quiet(t, 3*time.Second) // three redelivery times
	a.quiet(t, 0)
	if s := a.src.Stats(); s.Redelivered != 0 {
		t.Errorf("a redelivered %d to itself", s.Redelivered)
	}
	if n := a.src.(*redisSource).keptAlive.Load(); n < 3*2 {
		t.Errorf("%d keep-alive claims in 3 s for 3 entries, want at least 6", n)
	}
	// Still a's, each delivered once: keep-alives count no delivery.
	p, err := f.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: f.key, Group: "g", Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(p) != 3 {
		t.Fatalf("pending: %v, %v; want a's 3 entries", p, err)
	}
	for _, e := range p {
		if e.Consumer != "a" || e.RetryCount != 1 {
			t.Errorf("entry %s: consumer %s, delivered %d times; want a, once", e.ID, e.Consumer, e.RetryCount)
		}
	}
	for _, ev := range evs {
		ev.Ack()
	}
	waitAcknowledged(t, f, "g", 5*time.Second)
}

// A record released (the engine's handlers were cut off) is redelivered
// at once, not after redeliver_after: NATS Nak; Redis XCLAIM with IDLE,
// taken by the next XAUTOCLAIM (every 250 ms here).
func TestReleaseRedeliversAtOnce(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, records(0, 1)...)
		r := run(t, f.url("g", "&redeliver_after=1s"), Options{})
		ev := r.take(t, 1, 10*time.Second)[0]
		start := time.Now()
		ev.Release()
		again := r.take(t, 1, 10*time.Second)[0]
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("released record redelivered after %v, not at once", d)
		}
		if again.File != ev.File || again.Line != ev.Line {
			t.Errorf("redelivered %s:%d, want %s:%d", again.File, again.Line, ev.File, ev.Line)
		}
		ev.Ack() // the old delivery's: does nothing
		again.Ack()
		waitAcknowledged(t, f, "g", 5*time.Second)
	})
}

// A process holds at most MaxInFlight unacknowledged records; acks make
// room for more.
func TestBackpressure(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, records(0, 200)...)
		r := run(t, f.url("g", ""), Options{MaxInFlight: 20})
		evs := r.take(t, 20, 10*time.Second)
		r.quiet(t, 500*time.Millisecond)
		if s := r.src.Stats(); s.Unacked != 20 {
			t.Fatalf("unacked %d, want 20", s.Unacked)
		}
		seen := len(evs)
		for seen < 200 {
			for _, ev := range evs {
				ev.Ack()
			}
			evs = r.take(t, 1, 10*time.Second)
			seen += len(evs)
			if u := r.src.Stats().Unacked; u > 20 {
				t.Fatalf("unacked %d > MaxInFlight", u)
			}
		}
		if seen != 200 {
			t.Errorf("got %d records, want 200", seen)
		}
		for _, ev := range evs {
			ev.Ack()
		}
	})
}

// Ending Run gives back what was never handed over, and Close gives back
// what was not acknowledged: another process gets those at once (NATS),
// or at its next claim (Redis: idle time set past redeliver_after), not
// after redeliver_after; acknowledged ones stay acknowledged.
func TestShutdownGivesBack(t *testing.T) {
	bothKinds(t, func(t *testing.T, f feed) {
		f.publish(t, records(0, 50)...)
		params := "&redeliver_after=20s"
		a := run(t, f.url("g", params), Options{Consumer: "a"})
		evs := a.take(t, 50, 10*time.Second)
		for _, ev := range evs[:30] {
			ev.Ack()
		}
		a.stop(t)
		start := time.Now()
		b := run(t, f.url("g", params), Options{Consumer: "b"})
		got := b.take(t, 20, 15*time.Second)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("given-back records took %v", d)
		}
		gotIDs := ids(t, got)
		for id := range ids(t, evs[30:]) {
			if gotIDs[id] != 1 {
				t.Errorf("record %d delivered to b %d times, want once", id, gotIDs[id])
			}
		}
		for _, ev := range got {
			ev.Ack()
		}
		b.quiet(t, 500*time.Millisecond)
	})
}

// A server that goes away mid-stream (stopped and started again) is
// reconnected to; acknowledged records stay acknowledged and every record
// arrives. (A server killed with -9 may lose acknowledgements it had not
// written yet — NATS writes consumer state asynchronously — and deliver
// those records again: at least once still holds.)
func TestServerRestart(t *testing.T) {
	t.Run("nats", func(t *testing.T) {
		serverRestart(t, newNATSFeed(t), func(f feed) *testutil.Server { return f.(*natsFeed).srv })
	})
	t.Run("redis", func(t *testing.T) {
		serverRestart(t, newRedisFeed(t, true), func(f feed) *testutil.Server { return f.(*redisFeed).srv })
	})
}

func serverRestart(t *testing.T, f feed, srv func(feed) *testutil.Server) {
	f.publish(t, records(0, 300)...)
	r := run(t, f.url("g", "&redeliver_after=2s"), Options{BatchSize: 50})
	seen := map[int]int{}
	evs := r.take(t, 300, 10*time.Second)
	for id, n := range ids(t, evs) {
		seen[id] += n
	}
	for _, ev := range evs[:150] {
		ev.Ack()
	}
	testutil.Eventually(t, 5*time.Second, "150 acks sent", func() bool { return r.src.Stats().Acked >= 150 })
	time.Sleep(200 * time.Millisecond) // for the server to have processed them (NATS acks are not confirmed)
	srv(f).Restart(t, true)
	for _, ev := range evs[150:] {
		ev.Ack() // queued while the server is away or just back
	}
	f.publish(t, records(300, 100)...)
	testutil.Eventually(t, 30*time.Second, "the new records, after the reconnection", func() bool {
		select {
		case b := <-r.out:
			for _, ev := range b {
				v, _ := ev.Record.Get("id")
				seen[int(v.(float64))]++
				ev.Ack()
			}
		case <-time.After(100 * time.Millisecond):
		}
		for i := 0; i < 400; i++ {
			if seen[i] == 0 {
				return false
			}
		}
		return true
	})
	for i := 0; i < 150; i++ {
		if seen[i] != 1 {
			t.Errorf("acknowledged record %d delivered %d times", i, seen[i])
		}
	}
	testutil.Eventually(t, 15*time.Second, "nothing pending", func() bool {
		select {
		case b := <-r.out:
			for _, ev := range b {
				ev.Ack()
			}
		default:
		}
		p, lag := f.pendingAndLag(t, "g")
		return p == 0 && lag == 0
	})
	if s := r.src.Stats(); s.Reconnects < 1 {
		t.Errorf("stats %+v: no reconnection counted", s)
	}
	r.mu.Lock()
	t.Logf("warnings: %q", r.warn)
	r.mu.Unlock()
}

// Open fails, naming the input, when the server is not there.
func TestOpenUnreachable(t *testing.T) {
	port := testutil.FreePort(t)
	for _, u := range []string{
		fmt.Sprintf("nats://127.0.0.1:%d/S?durable=g", port),
		fmt.Sprintf("redis://127.0.0.1:%d/k?group=g", port),
	} {
		sp, _ := input.ParseSpec(u)
		_, err := Open(sp, Options{DialTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "open input "+strings.Split(u, "?")[0]) {
			t.Errorf("Open(%s) = %v", u, err)
		}
	}
}

// consumers lists the group's consumers and their pending counts.
// waitGone waits until none of names is a consumer of group, and returns
// the group's consumers then.
func (f *redisFeed) waitGone(t *testing.T, group string, names ...string) map[string]int64 {
	t.Helper()
	var cs map[string]int64
	testutil.Eventually(t, 10*time.Second, strings.Join(names, " and ")+" removed", func() bool {
		cs = f.consumers(t, group)
		for _, n := range names {
			if _, ok := cs[n]; ok {
				return false
			}
		}
		return true
	})
	return cs
}

func (f *redisFeed) consumers(t testing.TB, group string) map[string]int64 {
	t.Helper()
	cs, err := f.rdb.XInfoConsumers(context.Background(), f.key, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Name] = c.Pending
	}
	return m
}

// The consumers of dead processes are removed from the group once they
// hold nothing and have been idle StaleConsumerAfter; one still holding
// entries is kept (removing it would make them unclaimable) until an
// XAUTOCLAIM has taken them, and a recently active one is kept.
func TestStaleConsumersRemoved(t *testing.T) {
	const stale = 1500 * time.Millisecond
	setup := func(t *testing.T) *redisFeed {
		f := newRedisFeed(t, false)
		ctx := context.Background()
		if err := f.rdb.XGroupCreateMkStream(ctx, f.key, "g", "0").Err(); err != nil {
			t.Fatal(err)
		}
		f.publish(t, records(0, 3)...)
		// "old-empty" never read; "old-holding" holds the first entry.
		if err := f.rdb.XGroupCreateConsumer(ctx, f.key, "g", "old-empty").Err(); err != nil {
			t.Fatal(err)
		}
		if err := f.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "old-holding", Streams: []string{f.key, ">"}, Count: 1}).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(stale + 200*time.Millisecond)
		if err := f.rdb.XGroupCreateConsumer(ctx, f.key, "g", "young-empty").Err(); err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Run("holding", func(t *testing.T) {
		f := setup(t)
		r := run(t, f.url("g", "&redeliver_after=60s"), Options{Consumer: "me", StaleConsumerAfter: stale})
		for _, ev := range r.take(t, 2, 10*time.Second) {
			ev.Ack()
		}
		cs := f.waitGone(t, "g", "old-empty")
		if cs["old-holding"] != 1 {
			t.Errorf("old-holding (1 entry pending) removed or changed: %v", cs)
		}
		if _, ok := cs["young-empty"]; !ok {
			t.Errorf("young-empty removed before it was idle %v: %v", stale, cs)
		}
		if _, ok := cs["me"]; !ok {
			t.Errorf("the process's own consumer removed: %v", cs)
		}
		testutil.Eventually(t, 10*time.Second, "the group to hold only old-holding's entry", func() bool {
			pending, _ := f.pendingAndLag(t, "g") // the acknowledgements are sent in the background
			return pending == 1
		})
		// Once idle long enough, young-empty goes too; old-holding stays.
		cs = f.waitGone(t, "g", "young-empty")
		if cs["old-holding"] != 1 {
			t.Errorf("old-holding removed: %v", cs)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.warn) > 0 {
			t.Errorf("warnings: %q", r.warn)
		}
	})
	t.Run("claimed", func(t *testing.T) {
		f := setup(t)
		r := run(t, f.url("g", "&redeliver_after=100ms"), Options{Consumer: "me", StaleConsumerAfter: stale})
		evs := r.take(t, 3, 10*time.Second)
		if got := ids(t, evs); len(got) != 3 {
			t.Fatalf("records %v", got)
		}
		// old-holding's entry was claimed first, so old-holding holds
		// nothing and is removed in the same round; the entry is this
		// process's until acknowledged.
		f.waitGone(t, "g", "old-empty", "old-holding")
		if cs := f.consumers(t, "g"); cs["me"] != 3 {
			t.Errorf("consumers %v; want me holding 3", cs)
		}
		for _, ev := range evs {
			ev.Ack()
		}
		testutil.Eventually(t, 10*time.Second, "the group settled", func() bool {
			pending, lag := f.pendingAndLag(t, "g")
			return pending == 0 && lag == 0
		})
	})
}

// rediss:// reads the stream over TLS: the server is verified against
// tls_ca_file by the address dialled or tls_server_name, a client
// certificate is sent when the server asks for one, and the mismatches
// fail Open naming the input.
func TestRedisTLS(t *testing.T) {
	pki := testutil.NewPKI(t)
	srv := testutil.StartRedisTLS(t, pki, "optional")
	f := &redisFeed{srv: srv, rdb: redis.NewClient(&redis.Options{Addr: srv.Addr()}), key: "zeek"} // the test writes in plain text
	t.Cleanup(func() { f.rdb.Close() })
	tlsURL := func(params string) string {
		return fmt.Sprintf("rediss://127.0.0.1:%d/zeek?group=g%s", srv.TLSPort, params)
	}
	f.publish(t, records(0, 5)...)
	r := run(t, tlsURL("&tls_ca_file="+pki.CA), Options{})
	evs := r.take(t, 5, 10*time.Second)
	if got := ids(t, evs); len(got) != 5 {
		t.Fatalf("records %v", got)
	}
	if !strings.HasPrefix(evs[0].File, fmt.Sprintf("rediss://127.0.0.1:%d/zeek:", srv.TLSPort)) {
		t.Errorf("records named %q", evs[0].File)
	}
	for _, ev := range evs {
		ev.Ack()
	}
	testutil.Eventually(t, 10*time.Second, "the records acknowledged over TLS", func() bool {
		pending, lag := f.pendingAndLag(t, "g")
		return pending == 0 && lag == 0
	})
	r.stop(t)

	open := func(url string) error {
		sp, err := input.ParseSpec(url)
		if err != nil {
			t.Fatal(err)
		}
		src, err := Open(sp, Options{DialTimeout: 3 * time.Second})
		if err == nil {
			src.Close(context.Background())
		}
		return err
	}
	for _, ok := range []string{
		tlsURL("&tls_ca_file=" + pki.CA + "&tls_server_name=localhost"),
		tlsURL("&tls_insecure_skip_verify=true"),
		tlsURL("&tls_ca_file=" + pki.CA + "&tls_cert_file=" + pki.ClientCert + "&tls_key_file=" + pki.ClientKey),
	} {
		if err := open(ok); err != nil {
			t.Errorf("Open(%s): %v", ok, err)
		}
	}
	for url, want := range map[string]string{
		tlsURL("&tls_ca_file=" + pki.CA + "&tls_server_name=redis.example.org"): "certificate is valid for",
		tlsURL(""): "certificate signed by unknown authority",
		tlsURL("&tls_ca_file=" + pki.Dir + "/missing.pem"):                                                       "tls_ca_file: open",
		tlsURL("&tls_ca_file=" + pki.ServerKey):                                                                  "tls_ca_file: no PEM certificate",
		tlsURL("&tls_ca_file=" + pki.CA + "&tls_cert_file=" + pki.ClientCert + "&tls_key_file=" + pki.ServerKey): "tls_cert_file:",
		fmt.Sprintf("rediss://%s/zeek?group=g&tls_ca_file=%s", srv.Addr(), pki.CA):                               "", // TLS to the plain port
		fmt.Sprintf("redis://127.0.0.1:%d/zeek?group=g", srv.TLSPort):                                            "", // plain text to the TLS port
	} {
		err := open(url)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "open input redis") {
			t.Errorf("Open(%s) = %v; want an error naming the input and containing %q", url, err, want)
		}
	}
}

// A server that requires client certificates gets the configured one.
func TestRedisTLSClientAuth(t *testing.T) {
	pki := testutil.NewPKI(t)
	srv := testutil.StartRedisTLS(t, pki, "yes")
	f := &redisFeed{srv: srv, rdb: redis.NewClient(&redis.Options{Addr: srv.Addr()}), key: "zeek"}
	t.Cleanup(func() { f.rdb.Close() })
	base := fmt.Sprintf("rediss://127.0.0.1:%d/zeek?group=g&tls_ca_file=%s", srv.TLSPort, pki.CA)
	sp, _ := input.ParseSpec(base)
	if src, err := Open(sp, Options{DialTimeout: 3 * time.Second}); err == nil {
		src.Close(context.Background())
		t.Fatal("opened without the client certificate the server requires")
	}
	f.publish(t, records(0, 3)...)
	r := run(t, base+"&tls_cert_file="+pki.ClientCert+"&tls_key_file="+pki.ClientKey, Options{})
	for _, ev := range r.take(t, 3, 10*time.Second) {
		ev.Ack()
	}
	testutil.Eventually(t, 10*time.Second, "the records acknowledged", func() bool {
		pending, lag := f.pendingAndLag(t, "g")
		return pending == 0 && lag == 0
	})
}
