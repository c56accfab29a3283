package redis

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// testCluster is a 3-master Redis Cluster owned by one test: three
// redis-server --cluster-enabled yes on free loopback ports, joined by
// redis-cli --cluster create. Each node keeps its nodes.conf (and port) across
// kill/restart, so a restarted node rejoins.
type testCluster struct {
	tb    testing.TB
	nodes []*testServer
}

func startCluster(tb testing.TB) *testCluster {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		tb.Skip("redis-cli not installed")
	}
	c := &testCluster{tb: tb}
	for range 3 {
		c.nodes = append(c.nodes, startServer(tb, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000"))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK()
	return c
}

// waitOK waits until every node sees the cluster as ok.
func (c *testCluster) waitOK() {
	c.tb.Helper()
	testutil.Eventually(c.tb, 30*time.Second, "cluster_state:ok on every node", func() bool {
		for _, n := range c.nodes {
			rc := goredis.NewClient(&goredis.Options{Addr: n.addr(), Protocol: 2, MaxRetries: -1, DisableIdentity: true})
			info, err := rc.ClusterInfo(context.Background()).Result()
			rc.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
}

func (c *testCluster) addrs() []any {
	var out []any
	for _, n := range c.nodes {
		out = append(out, n.addr())
	}
	return out
}

// options is the redis options record for the cluster.
func (c *testCluster) options(prefix string, kv ...any) map[string]any {
	m := map[string]any{"cluster": true, "cluster_addrs": c.addrs(), "key_prefix": prefix}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// client is a plain go-redis cluster client for checking what the backend stored.
func (c *testCluster) client() *goredis.ClusterClient {
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.addr())
	}
	rc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, Protocol: 2, MaxRetries: -1, DisableIdentity: true})
	c.tb.Cleanup(func() { rc.Close() })
	return rc
}

// keysPerNode counts the keys matching pattern on each node.
func (c *testCluster) keysPerNode(pattern string) []int {
	var out []int
	for _, n := range c.nodes {
		rc := n.client()
		keys, _ := rc.Keys(context.Background(), pattern).Result()
		out = append(out, len(keys))
	}
	return out
}

// TestClusterConformance runs the backend-agnostic suite against a 3-master
// cluster, in replay mode (the suite's clock is in 2023): the per-slot
// expiry sets and every script run on keys spread over the slots.
func TestClusterConformance(t *testing.T) {
	cl := startCluster(t)
	var n atomic.Int32
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		b, err := Open(ctx, storagefw.OpenConfig{Options: cl.options(fmt.Sprintf("cc%d", n.Add(1))), Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestClusterHandles runs the framework-level cases (increment, update,
// compare-and-swap races between two Frameworks, scan) on the cluster.
func TestClusterHandles(t *testing.T) {
	cl := startCluster(t)
	storagetest.RunHandles(t, Type(), prefixPerTest("ch", func(prefix string) map[string]any { return cl.options(prefix) }))
}

// TestClusterLayout: in a cluster, entries keep Zeek's keys byte for byte
// and spread over every master; live mode uses Redis's expiry; replay mode
// keeps each expiry in the set of the entry's slot, and the sweep finds
// them all.
func TestClusterLayout(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	rc := cl.client()

	live := openTest(t, storagefw.OpenConfig{Options: cl.options("lay"), Clock: wallNow})
	now := wallNow()
	const n = 300
	var calls []*storagetest.Call
	for i := range n {
		calls = append(calls, storagetest.Submit(live, storagetest.PutOp(ser(fmt.Sprintf("k%d", i)), ser(i), true, now+100, now))...)
	}
	for _, c := range calls {
		expect(t, "put", c.Wait(t), storagefw.Success, nil)
	}
	per := cl.keysPerNode("lay:*")
	t.Logf("entries per master: %v", per)
	for i, c := range per {
		if c == 0 {
			t.Fatalf("master %d holds none of the %d entries: %v", i, n, per)
		}
	}
	if sum := per[0] + per[1] + per[2]; sum != n {
		t.Fatalf("%d entries in the cluster, want %d", sum, n)
	}
	got, err := rc.Get(ctx, `lay:JSONv1;"k7"`).Result()
	if err != nil || got != string(ser(7)) {
		t.Fatalf("GET lay:JSONv1;\"k7\" = %q, %v", got, err)
	}
	if pexp := rc.PExpireTime(ctx, `lay:JSONv1;"k7"`).Val(); pexp != time.Duration(int64((now+100)*1e3))*time.Millisecond {
		t.Fatalf("PEXPIRETIME = %v, want PXAT %d", pexp, int64((now+100)*1e3))
	}
	// What another client writes, the backend reads, on whichever master.
	rc.Set(ctx, `lay:JSONv1;"other"`, `JSONv1;"x"`, 0)
	expect(t, "get another client's entry", do(t, live, storagetest.GetOp(ser("other"), now)), storagefw.Success, []byte(`JSONv1;"x"`))
	for i := range 20 {
		k := ser(fmt.Sprintf("k%d", i))
		expect(t, "get", do(t, live, storagetest.GetOp(k, now)), storagefw.Success, ser(i))
	}

	// Replay mode.
	clock := storagetest.NewClock(storagetest.StartTime)
	rp := openTest(t, storagefw.OpenConfig{Options: cl.options("rp"), Clock: clock.Now})
	t0 := clock.Now()
	calls = calls[:0]
	for i := range n {
		exp := 0.0
		if i%2 == 0 {
			exp = t0 + 10
		}
		calls = append(calls, storagetest.Submit(rp, storagetest.PutOp(ser(i), ser(i), true, exp, t0))...)
	}
	for _, c := range calls {
		expect(t, "replay put", c.Wait(t), storagefw.Success, nil)
	}
	key := `rp:` + string(ser(4))
	slot := keySlot(key)
	set := slotSet("rp", slot)
	if got := rc.ClusterKeySlot(ctx, set).Val(); got != int64(slot) {
		t.Fatalf("set %q is in slot %d, its entry %q in %d", set, got, key, slot)
	}
	if score, err := rc.ZScore(ctx, set, string(ser(4))).Result(); err != nil || score != t0+10 {
		t.Fatalf("ZSCORE %s = %v, %v; want %v", set, score, err, t0+10)
	}
	if ttl := rc.PTTL(ctx, key).Val(); ttl != -1 {
		t.Fatalf("replay-mode entry has a native TTL %v", ttl)
	}
	sets := cl.keysPerNode("rp_expire{*}")
	t.Logf("slot sets per master: %v", sets)
	for i, c := range sets {
		if c == 0 {
			t.Fatalf("master %d has no slot set: %v", i, sets)
		}
	}
	clock.Set(t0 + 10)
	expect(t, "expired get", do(t, rp, storagetest.GetOp(ser(4), clock.Now())), storagefw.KeyNotFound, nil)
	expect(t, "live get", do(t, rp, storagetest.GetOp(ser(5), clock.Now())), storagefw.Success, ser(5))
	start := time.Now()
	deleted, err := rp.Expire(ctx, clock.Now())
	if err != nil || deleted != n/2 {
		t.Fatalf("Expire = %d, %v; want %d", deleted, err, n/2)
	}
	t.Logf("cluster sweep of %d slots: %v", numSlots, time.Since(start))
	if per := cl.keysPerNode("rp:*"); per[0]+per[1]+per[2] != n/2 {
		t.Fatalf("entries left after the sweep: %v, want %d", per, n/2)
	}
	if sets := cl.keysPerNode("rp_expire{*}"); sets[0]+sets[1]+sets[2] != 0 {
		t.Fatalf("slot sets left after the sweep: %v", sets)
	}
}

// TestClusterScan lists a store spread over three masters page by page,
// in live and replay mode: every entry once, expired ones never.
func TestClusterScan(t *testing.T) {
	cl := startCluster(t)
	for _, mode := range []string{"live", "replay"} {
		t.Run(mode, func(t *testing.T) {
			clock := storagetest.NewClock(storagetest.StartTime)
			now := clock.Now
			if mode == "live" {
				now = wallNow
			}
			b := openTest(t, storagefw.OpenConfig{Options: cl.options("scan-" + mode), Clock: now})
			t0 := now()
			want := map[string]bool{}
			for i := range 500 {
				k := fmt.Sprintf("a%d", i)
				exp := 0.0
				if mode == "replay" && i%5 == 0 {
					exp = t0 + 1 // expired below
				} else {
					want[string(ser(k))] = true
				}
				expect(t, "put", do(t, b, storagetest.PutOp(ser(k), ser(i), true, exp, t0)), storagefw.Success, nil)
				expect(t, "put other", do(t, b, storagetest.PutOp(ser(fmt.Sprintf("b%d", i)), ser(i), true, 0, t0)), storagefw.Success, nil)
			}
			clock.Advance(2)
			var got []string
			var cursor []byte
			pages := 0
			for {
				r := do(t, b, storagetest.ScanOp(storagetest.StringPrefix("a"), cursor, 50, now()))
				if r.Code != storagefw.Success {
					t.Fatalf("scan: %s %q", r.Code, r.Error)
				}
				pages++
				for _, e := range r.Entries {
					got = append(got, string(e.Key))
				}
				if cursor = r.Cursor; cursor == nil {
					break
				}
			}
			slices.Sort(got)
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("an entry listed twice")
			}
			if len(got) != len(want) {
				t.Fatalf("scan listed %d entries, want %d", len(got), len(want))
			}
			for _, k := range got {
				if !want[k] {
					t.Fatalf("scan listed %q", k)
				}
			}
			t.Logf("%d entries in %d pages", len(got), pages)
		})
	}
}

// TestClusterNodeLoss kills one master of the three: the backend reports
// the loss, fails operations promptly, and once the node is back (and the
// cluster ok) reports backend_opened and works again.
func TestClusterNodeLoss(t *testing.T) {
	// After a topology change rueidis closes the connections of removed
	// nodes 5 s later from a goroutine of its own (cluster.go, _refresh),
	// which Close does not wait for; it ends by itself.
	storagetest.VerifyNoLeaks(t, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"))
	cl := startCluster(t)
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: cl.options("loss", "operation_timeout", "2s"), Clock: wallNow, Notify: ev.notify})
	for i := range 100 {
		expect(t, "put", do(t, b, storagetest.PutOp(ser(i), ser(i), true, 0, wallNow())), storagefw.Success, nil)
	}
	cl.nodes[1].kill()
	// Keys on the dead master fail (CONNECTION_LOST / NOT_CONNECTED) and the
	// loss is reported; nothing hangs past operation_timeout.
	deadline := time.Now().Add(10 * time.Second)
	lost := false
	for !lost && time.Now().Before(deadline) {
		for i := range 100 {
			start := time.Now()
			r := do(t, b, storagetest.PutOp(ser(i), ser(i), true, 0, wallNow()))
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("put took %v with a master down", d)
			}
			if r.Code == storagefw.ConnectionLost || r.Code == storagefw.NotConnected {
				lost = true
				break
			}
		}
	}
	if !lost {
		t.Fatal("no operation failed with a master down")
	}
	ev.wait(t, storagefw.BackendLost, 10*time.Second)
	cl.nodes[1].restart()
	cl.waitOK()
	ev.wait(t, storagefw.BackendOpened, 30*time.Second)
	for i := range 100 {
		expect(t, "put after the node is back", do(t, b, storagetest.PutOp(ser(i), ser(strconv.Itoa(i)), true, 0, wallNow())), storagefw.Success, nil)
	}
}
