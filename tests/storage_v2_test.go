package tests

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// v2CounterScript: 500 concurrent increments and 500 concurrent updates of one
// key from one process; with two processes at once the final count must be
// exactly 2000. Each process then waits for the other (a "done" counter)
// and prints what it reads.
const v2CounterScript = `
const S = Storage, A = S.Async;
on("init", async () => {
  const h = (await A.open_backend(S[process.env.BACKEND], JSON.parse(process.env.OPTS), "string", "count")).value;
  const incs = Array.from({ length: 500 }, () => A.increment(h, { key: "hits" }));
  const upds = Array.from({ length: 500 }, () => A.update(h, "hits", async (v) => (v === undefined ? 0 : v) + 1, { max_attempts: 100000 }));
  const all = await Promise.all([...incs, ...upds]);
  const bad = all.filter((r) => r.code !== S.SUCCESS);
  if (bad.length) print("failed", bad.length, JSON.stringify(bad[0]));
  await A.increment(h, { key: "done" });
  for (;;) {
    const d = await A.get(h, "done");
    if (d.value === 2) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  print("hits", (await A.get(h, "hits")).value);
});
`

func runCounters(t *testing.T, backend, opts string) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"count.js": v2CounterScript})
	env := []string{"BACKEND=" + backend, "OPTS=" + opts}
	var procs []*process
	for range 2 {
		procs = append(procs, startScriptdEnv(t, dir, env, "run", filepath.Join(dir, "count.js")))
	}
	for i, p := range procs {
		if code := p.waitExit(t, 120*time.Second); code != 0 || p.Stderr.String() != "" {
			t.Fatalf("process %d: exit %d: %s", i, code, p.Stderr.String())
		}
		if out := strings.TrimSpace(p.Stdout.String()); out != "hits 2000" {
			t.Fatalf("process %d printed %q, want hits 2000", i, out)
		}
	}
}

// TestTwoProcessesCountOnSQLite: two scriptd processes, one SQLite file,
// 1000 increments and 1000 updates of one key: none lost.
func TestTwoProcessesCountOnSQLite(t *testing.T) {
	dir := t.TempDir()
	runCounters(t, "STORAGE_BACKEND_SQLITE", `{"sqlite":{"database_path":"`+filepath.Join(dir, "shared.db")+`","table_name":"c"}}`)
}

// TestTwoProcessesCountOnRedis: the same against one redis-server.
func TestTwoProcessesCountOnRedis(t *testing.T) {
	srv := startRedis(t)
	runCounters(t, "STORAGE_BACKEND_REDIS", `{"redis":{"server_host":"127.0.0.1","server_port":`+strconv.Itoa(srv.Port)+`,"key_prefix":"c"}}`)
}
