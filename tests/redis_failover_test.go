package tests

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// TestRedisLossIsVisibleToScripts kills the Redis server under a running
// scriptd and restarts it: the script sees Storage.backend_lost, operations
// fail fast instead of hanging, Storage.backend_opened follows the restart,
// and puts succeed again.
func TestRedisLossIsVisibleToScripts(t *testing.T) {
	srv := startRedis(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/main.js": `
		let h, n = 0;
		on("Storage.backend_lost", (tag, o, why) => print("lost", tag, o.redis.password));
		on("Storage.backend_opened", (tag) => print("opened", tag));
		on("init", async () => {
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_REDIS,
				{ redis: { server_host: "127.0.0.1", server_port: Number(process.env.REDIS_PORT), operation_timeout: "5s" } }, "string", "count");
			if (r.code !== Storage.SUCCESS) throw new Error(r.error_str);
			h = r.value;
			print("ready");
			setInterval(async () => {
				const t0 = current_time();
				const p = await Storage.Async.put(h, { key: "k" + n, value: n++ });
				print("put", p.code, Math.round((current_time() - t0) * 1000));
			}, 20);
		});
	`})
	p := startScriptdEnv(t, dir, []string{"REDIS_PORT=" + strconv.Itoa(srv.Port)}, "run", "s")
	testutil.Eventually(t, 10*time.Second, "a successful put", func() bool { return strings.Contains(p.Stdout.String(), "put SUCCESS") })

	// kill -9 the server: the script hears of it and operations fail fast.
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	testutil.Eventually(t, 10*time.Second, "Storage.backend_lost", func() bool { return strings.Contains(p.Stdout.String(), "lost STORAGE_BACKEND_REDIS") })
	testutil.Eventually(t, 10*time.Second, "a failed put", func() bool {
		return strings.Contains(p.Stdout.String(), "put NOT_CONNECTED") || strings.Contains(p.Stdout.String(), "put CONNECTION_LOST")
	})
	for _, l := range outputLines(p.Stdout.String()) {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "put" && f[1] != "SUCCESS" {
			if ms, _ := strconv.Atoi(f[2]); ms > 1000 {
				t.Errorf("a failed put took %d ms; operation_timeout is 5 s and failures must be prompt", ms)
			}
		}
	}

	// Restart on the same port: backend_opened, then success again.
	before := strings.Count(p.Stdout.String(), "put SUCCESS")
	openedBefore := strings.Count(p.Stdout.String(), "opened STORAGE_BACKEND_REDIS")
	restart := exec.Command("redis-server", "--port", strconv.Itoa(srv.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := restart.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restart.Process.Kill(); _ = restart.Wait() })
	testutil.Eventually(t, 15*time.Second, "Storage.backend_opened after the restart", func() bool {
		return strings.Count(p.Stdout.String(), "opened STORAGE_BACKEND_REDIS") > openedBefore
	})
	testutil.Eventually(t, 10*time.Second, "puts succeeding again", func() bool { return strings.Count(p.Stdout.String(), "put SUCCESS") > before })
	if strings.Contains(p.Stdout.String(), "hunter2") || !strings.Contains(p.Stdout.String(), "lost STORAGE_BACKEND_REDIS undefined") {
		t.Errorf("options in backend_lost: %s", p.Stdout.String())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
}
