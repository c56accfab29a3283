package tests

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
)

// startRedisCluster starts a 3-master Redis Cluster on free loopback ports
// (killed at the end of the test) and returns the nodes' addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed")
	}
	var addrs []string
	for range 3 {
		s := startRedisWith(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000")
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(s.Port))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	testutil.Eventually(t, 30*time.Second, "cluster_state:ok", func() bool {
		for _, a := range addrs {
			c := goredis.NewClient(&goredis.Options{Addr: a, Protocol: 2, DisableIdentity: true})
			info, err := c.ClusterInfo(context.Background()).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	return addrs
}

// TestRedisClusterSharedByTwoProcesses: two scriptd processes share state
// in a Redis Cluster from their scripts: increments of one counter add up,
// exactly one process wins each put with overwrite:false, a scan lists
// every entry, and the keys are Zeek's, spread over the three masters.
func TestRedisClusterSharedByTwoProcesses(t *testing.T) {
	addrs := startRedisCluster(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"w/main.js": `
		on("init", async () => {
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_REDIS,
				{ redis: { cluster: true, cluster_addrs: process.env.NODES.split(","), key_prefix: "shared" } }, "string", "count");
			if (r.code !== Storage.SUCCESS) throw new Error(r.error_str);
			const h = r.value;
			const ps = [];
			for (let i = 0; i < 500; i++) {
				ps.push(Storage.Async.increment(h, { key: "hits" }));
				ps.push(Storage.Async.put(h, { key: "seen" + i, value: Number(process.env.WORKER), overwrite: false }));
			}
			const rs = await Promise.all(ps);
			const won = rs.filter((r, i) => i % 2 === 1 && r.code === Storage.SUCCESS).length;
			const bad = rs.filter((r) => r.code !== Storage.SUCCESS && r.code !== Storage.KEY_EXISTS);
			print("won", won, "bad", bad.length, bad.length ? bad[0].code + " " + bad[0].error_str : "");
			let listed = 0, cursor;
			do {
				const s = await Storage.Async.scan(h, { prefix: "seen", cursor, limit: 100 });
				if (s.code !== Storage.SUCCESS) throw new Error(s.error_str);
				listed += s.value.entries.length;
				cursor = s.value.cursor;
			} while (cursor !== undefined);
			print("listed", listed);
			await Storage.Async.close_backend(h);
		});
	`})
	var procs []*process
	for w := 1; w <= 2; w++ {
		procs = append(procs, startScriptdEnv(t, dir, []string{"NODES=" + strings.Join(addrs, ","), "WORKER=" + strconv.Itoa(w)}, "run", "w"))
	}
	won := 0
	for i, p := range procs {
		if code := p.waitExit(t, 60*time.Second); code != 0 {
			t.Fatalf("worker %d: exit %d\nstdout: %s\nstderr: %s", i+1, code, p.Stdout.String(), p.Stderr.String())
		}
		var n, bad, listed int
		out := p.Stdout.String()
		if _, err := fmt.Sscanf(out, "won %d bad %d", &n, &bad); err != nil || bad != 0 {
			t.Fatalf("worker %d: %q", i+1, out)
		}
		if !strings.Contains(out, "listed ") {
			t.Fatalf("worker %d: no scan: %q", i+1, out)
		}
		fmt.Sscanf(out[strings.Index(out, "listed "):], "listed %d", &listed)
		if listed < 500 {
			t.Errorf("worker %d listed %d entries, want 500 (or more, listed twice)", i+1, listed)
		}
		won += n
	}
	if won != 500 {
		t.Errorf("the two workers won %d puts with overwrite:false, want 500 (each once)", won)
	}
	rc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	ctx := context.Background()
	if got := rc.Get(ctx, `shared:JSONv1;"hits"`).Val(); got != "JSONv1;1000" {
		t.Errorf("counter = %q, want JSONv1;1000", got)
	}
	perNode := []int{}
	total := 0
	for _, a := range addrs {
		c := goredis.NewClient(&goredis.Options{Addr: a, Protocol: 2, DisableIdentity: true})
		keys := c.Keys(ctx, "shared:*").Val()
		c.Close()
		perNode = append(perNode, len(keys))
		total += len(keys)
	}
	if total != 501 {
		t.Errorf("%d keys in the cluster, want 501: %v", total, perNode)
	}
	for _, n := range perNode {
		if n == 0 {
			t.Errorf("a master holds no key: %v", perNode)
		}
	}
}
