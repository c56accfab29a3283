package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeclarationsTypeCheck checks `scriptd types` with the TypeScript
// compiler: the examples type-check clean, and a script with mistakes is
// rejected at those mistakes. Skipped (with the reason) where npm or the
// npm registry is not available.
func TestDeclarationsTypeCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("installs typescript from npm")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed: declarations not type-checked")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", dir, "typescript@5")
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install typescript failed (no registry?): %v %s", err, out)
	}
	tsc := filepath.Join(dir, "node_modules", ".bin", "tsc")

	r := runScriptd(t, dir, 10*time.Second, "types")
	if r.Code != 0 || !strings.Contains(r.Stdout, "declare namespace Storage") {
		t.Fatalf("scriptd types: %+v", r)
	}
	writeFiles(t, dir, map[string]string{"scriptd.d.ts": r.Stdout})
	files := []string{"scriptd.d.ts"}
	for _, ex := range []string{"dns-detector/detect.js", "known-certs/known-certs.js", "redis-shared/known-hosts.js"} {
		src, err := os.ReadFile(filepath.Join(repoRoot, "examples", ex))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ReplaceAll(ex, "/", "_")
		writeFiles(t, dir, map[string]string{name: string(src)})
		files = append(files, name)
	}
	check := func(files ...string) (string, error) {
		args := append([]string{"--allowJs", "--checkJs", "--noEmit", "--target", "es2022", "--lib", "es2022"}, files...)
		cmd := exec.CommandContext(ctx, tsc, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The calls beyond Zeek, used as docs/storage.md shows them.
	writeFiles(t, dir, map[string]string{"v2.js": `
on("init", async () => {
  const h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, { sqlite: { database_path: "x.db", table_name: "t" } }, "string", "count")).value;
  if (!h) return;
  const r = await Storage.Async.get_many(h, ["a", "b"]);
  for (const e of r.value || []) print(e.code, e.value);
  await Storage.Async.put_many(h, [{ key: "a", value: 1 }, { key: "b", value: 2, overwrite: false, expire_time: "1h" }]);
  await Storage.Async.erase_many(h, ["a"]);
  const c = await Storage.Async.compare_and_swap(h, { key: "a", expected: 1, value: 2, expire_time: 60 });
  if (c.code === Storage.KEY_EXISTS) print(c.value);
  const n = await Storage.Async.increment(h, { key: "n", by: 2 });
  print((n.value || 0) + 1);
  await Storage.Async.update(h, "u", async (v) => (v === undefined ? 0 : v) + 1, { max_attempts: 10 });
  const page = await Storage.Async.scan(h, { prefix: "dns:", limit: 100 });
  print(page.value && page.value.cursor);
  const it = Storage.Async.entries(h, { prefix: "a" })[Symbol.asyncIterator]();
  for (let x = await it.next(); !x.done; x = await it.next()) print(x.value.key, x.value.value);
  Storage.Sync.update(h, "s", (v) => v);
});
`})
	files = append(files, "v2.js")
	if out, err := check(files...); err != nil {
		t.Fatalf("examples do not type-check: %v\n%s", err, out)
	}
	writeFiles(t, dir, map[string]string{"bad.js": `
on("init", async () => {
  await Storage.Async.put(null, { key: "k" });
  Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE, {}, "strin", "string");
  emt("x");
});
`})
	out, err := check("scriptd.d.ts", "bad.js")
	if err == nil {
		t.Fatal("a script with mistakes type-checked")
	}
	for _, want := range []string{"bad.js(3,", "bad.js(4,", "bad.js(5,"} {
		if !strings.Contains(out, want) {
			t.Errorf("tsc output lacks an error at %s:\n%s", want, out)
		}
	}
}
