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
