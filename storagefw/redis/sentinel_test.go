package redis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// testSentinels is a Sentinel setup owned by one test: a master, a replica
// and n sentinels (redis-server --sentinel) monitoring the master as
// "mymaster" with quorum 1, all on free loopback ports, killed by PID.
type testSentinels struct {
	tb        testing.TB
	master    *testServer
	replica   *testServer
	sentinels []*exec.Cmd
	ports     []int
}

func startSentinels(tb testing.TB, n int) *testSentinels {
	tb.Helper()
	ts := &testSentinels{tb: tb}
	ts.master = startServer(tb)
	ts.replica = startServer(tb, "--replicaof", "127.0.0.1", strconv.Itoa(ts.master.port))
	testutil.Eventually(tb, 30*time.Second, "the replica in sync", func() bool {
		info := ts.replica.client().Info(context.Background(), "replication").Val()
		return strings.Contains(info, "master_link_status:up")
	})
	for i := range n {
		dir := tb.TempDir()
		port := testutil.FreePort(tb)
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds mymaster 2000\nsentinel failover-timeout mymaster 10000\n", port, dir, ts.master.port)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("redis-server", conf, "--sentinel")
		out := &testutil.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("starting sentinel %d: %v", i, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		tb.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); <-exited })
		ts.sentinels = append(ts.sentinels, cmd)
		ts.ports = append(ts.ports, port)
	}
	// Every sentinel knows the replica (SENTINEL FAILOVER needs one).
	testutil.Eventually(tb, 30*time.Second, "sentinels see the replica", func() bool {
		for i := range ts.ports {
			reps, err := ts.sentinel(i).Do(context.Background(), "SENTINEL", "REPLICAS", "mymaster").Slice()
			if err != nil || len(reps) == 0 || !strings.Contains(fmt.Sprint(reps), "master-link-status ok") {
				return false
			}
		}
		return true
	})
	return ts
}

// sentinel returns a client of sentinel i.
func (ts *testSentinels) sentinel(i int) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ts.ports[i])), Protocol: 2, MaxRetries: -1, DisableIdentity: true})
	ts.tb.Cleanup(func() { c.Close() })
	return c
}

// masterAddr asks sentinel 0 for the master's address.
func (ts *testSentinels) masterAddr() string {
	a, err := ts.sentinel(0).Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
	if err != nil || len(a) != 2 {
		ts.tb.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME: %v %v", a, err)
	}
	return net.JoinHostPort(a[0], a[1])
}

func (ts *testSentinels) options(prefix string, kv ...any) map[string]any {
	var addrs []any
	for _, p := range ts.ports {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	m := map[string]any{"sentinel_master": "mymaster", "sentinel_addrs": addrs, "key_prefix": prefix}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestSentinelBasics: through Sentinel the backend finds the master and
// runs the suite's ops there.
func TestSentinelBasics(t *testing.T) {
	storagetest.VerifyNoLeaks(t)
	ts := startSentinels(t, 1)
	b := openTest(t, storagefw.OpenConfig{Options: ts.options("sb"), Clock: wallNow})
	now := wallNow()
	expect(t, "put", do(t, b, storagetest.PutOp(ser("k"), ser("v"), true, 0, now)), storagefw.Success, nil)
	expect(t, "get", do(t, b, storagetest.GetOp(ser("k"), now)), storagefw.Success, ser("v"))
	if got := ts.master.client().Get(context.Background(), `sb:JSONv1;"k"`).Val(); got != string(ser("v")) {
		t.Fatalf("the master holds %q", got)
	}
}

// TestSentinelFailover writes keys continuously, with many in flight, and
// forces a failover (SENTINEL FAILOVER) in the middle: the backend reports
// the loss and the return of the (new) master, and every write it
// acknowledged with SUCCESS is on the new master afterwards.
func TestSentinelFailover(t *testing.T) {
	ts := startSentinels(t, 3)
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: ts.options("fo"), Clock: wallNow, Notify: ev.notify})
	oldMaster := ts.masterAddr()

	var (
		mu       sync.Mutex
		acked    []int
		codes    = map[storagefw.Code]int{}
		inflight = make(chan struct{}, 64)
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	successes := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case inflight <- struct{}{}:
			}
			i := int(next.Add(1))
			op := storagefw.NewRequest(storagefw.PutRequest, func(r storagefw.Reply) {
				mu.Lock()
				codes[r.Code]++
				if r.Code == storagefw.Success {
					acked = append(acked, i)
				}
				mu.Unlock()
				<-inflight
			})
			op.Key, op.Value, op.Overwrite, op.Now = ser(fmt.Sprintf("w%d", i)), ser(i), true, wallNow()
			b.Submit(op)
			if r := len(inflight); r == cap(inflight) {
				time.Sleep(50 * time.Microsecond) // keep the stream going, not flooding the loop
			}
		}
	})
	testutil.Eventually(t, 20*time.Second, "writes before the failover", func() bool { return successes() > 2000 })
	if err := ts.sentinel(0).Do(context.Background(), "SENTINEL", "FAILOVER", "mymaster").Err(); err != nil {
		t.Fatal(err)
	}
	failedOver := time.Now()
	testutil.Eventually(t, 30*time.Second, "the new master", func() bool { return ts.masterAddr() != oldMaster })
	t.Logf("sentinel names the new master %v after SENTINEL FAILOVER", time.Since(failedOver))
	before := successes()
	testutil.Eventually(t, 20*time.Second, "writes after the failover", func() bool { return successes() > before+2000 })
	close(stop)
	wg.Wait()
	for range cap(inflight) {
		inflight <- struct{}{}
	}
	newMaster := ts.masterAddr()
	if newMaster == oldMaster {
		t.Fatalf("the master is still %s", oldMaster)
	}
	rc := goredis.NewClient(&goredis.Options{Addr: newMaster, Protocol: 2, MaxRetries: -1, DisableIdentity: true})
	defer rc.Close()
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	var firstMissing []int
	for _, i := range acked {
		if rc.Exists(context.Background(), "fo:"+string(ser(fmt.Sprintf("w%d", i)))).Val() != 1 {
			missing++
			if len(firstMissing) < 10 {
				firstMissing = append(firstMissing, i)
			}
		}
	}
	t.Logf("old master %s: %d keys, role %v; new master %s: %d keys", oldMaster, goredis.NewClient(&goredis.Options{Addr: oldMaster, Protocol: 2}).DBSize(context.Background()).Val(),
		goredis.NewClient(&goredis.Options{Addr: oldMaster, Protocol: 2}).Do(context.Background(), "ROLE").Val(), newMaster, rc.DBSize(context.Background()).Val())
	ev.mu.Lock()
	t.Logf("events: %v", ev.all)
	ev.mu.Unlock()
	t.Logf("codes %v; %d acknowledged writes, %d missing on the new master %s (first: %v)", codes, len(acked), missing, newMaster, firstMissing)
	if missing > 0 {
		t.Errorf("%d writes acknowledged with SUCCESS are missing after the failover", missing)
	}
}

// BenchmarkSentinelWait measures what WAIT 1 costs: the bench workload
// (50% puts) through Sentinel to a master with a replica (every pipeline of
// writes ends with WAIT 1) and to one without (no WAIT).
func BenchmarkSentinelWait(b *testing.B) {
	for _, replica := range []bool{true, false} {
		for _, inflight := range []int{1, 1000} {
			b.Run(fmt.Sprintf("replica=%v/inflight=%d", replica, inflight), func(b *testing.B) {
				ts := startSentinels(b, 1)
				if !replica {
					ts.replica.kill()
					testutil.Eventually(b, 10*time.Second, "no replica", func() bool {
						return !strings.Contains(ts.master.client().Info(context.Background(), "replication").Val(), "slave0:")
					})
				}
				be := openTest(b, storagefw.OpenConfig{Options: ts.options("bench"), Clock: wallNow})
				if got := be.replicas.Load() > 0; got != replica {
					b.Fatalf("replicas %d", be.replicas.Load())
				}
				benchSubmit(b, be, wallNow(), inflight)
			})
		}
	}
}

// TestSentinelMasterKilled kills the master (kill -9): the backend reports
// the loss, fails operations promptly, and once the sentinels have promoted
// the replica reports backend_opened and writes to it (which has no replica
// now, so nothing is waited for).
func TestSentinelMasterKilled(t *testing.T) {
	ts := startSentinels(t, 1)
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: ts.options("mk"), Clock: wallNow, Notify: ev.notify})
	expect(t, "put", do(t, b, storagetest.PutOp(ser("before"), ser(1), true, 0, wallNow())), storagefw.Success, nil)
	oldMaster := ts.masterAddr()
	ts.master.kill()
	if e := ev.wait(t, storagefw.BackendLost, 5*time.Second); e.reason != "Server closed the connection" {
		t.Errorf("backend_lost reason %q", e.reason)
	}
	start := time.Now()
	r := do(t, b, storagetest.PutOp(ser("down"), ser(1), true, 0, wallNow()))
	if r.Code != storagefw.NotConnected || time.Since(start) > time.Second {
		t.Fatalf("put while the master is down: %s %q after %v", r.Code, r.Error, time.Since(start))
	}
	ev.wait(t, storagefw.BackendOpened, 30*time.Second)
	if ts.masterAddr() == oldMaster {
		t.Fatal("backend_opened before the sentinels promoted the replica")
	}
	expect(t, "get after the failover", do(t, b, storagetest.GetOp(ser("before"), wallNow())), storagefw.Success, ser(1))
	expect(t, "put after the failover", do(t, b, storagetest.PutOp(ser("after"), ser(2), true, 0, wallNow())), storagefw.Success, nil)
	if got := ts.replica.client().Get(context.Background(), "mk:"+string(ser("after"))).Val(); got != string(ser(2)) {
		t.Fatalf("the promoted replica holds %q", got)
	}
}
