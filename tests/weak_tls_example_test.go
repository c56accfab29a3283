package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestWeakTLSExample runs examples/weak-tls (TypeScript, ES modules) as its
// README does and checks its log against the servers computed from the raw
// records; a second run logs nothing; `-- SSLv3` narrows it.
func TestWeakTLSExample(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(repoRoot, "examples", "data", "ssl.json.gz")
	script := filepath.Join(repoRoot, "examples", "weak-tls")

	want := map[string]bool{} // host:port/version
	perVersion := map[string]int{}
	for _, r := range readJSONLines(t, data) {
		v, _ := r["version"].(string)
		switch v {
		case "SSLv2", "SSLv3", "TLSv10", "TLSv11":
		default:
			continue
		}
		k := fmt.Sprintf("%v:%v/%s", r["id.resp_h"], r["id.resp_p"], v)
		if !want[k] {
			want[k] = true
			perVersion[v]++
		}
	}
	var parts []string
	var versions []string
	for v := range perVersion {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		parts = append(parts, fmt.Sprintf("%s: %d", v, perVersion[v]))
	}
	summary := fmt.Sprintf("weak TLS servers: %d (%s)", len(want), strings.Join(parts, ", "))

	r := runScriptd(t, dir, 60*time.Second, "run", script, "--input", data)
	if r.Code != 0 || r.Stderr != "" || strings.TrimSpace(r.Stdout) != summary {
		t.Fatalf("exit %d\nstdout: %s\nwant: %s\nstderr: %s", r.Code, r.Stdout, summary, r.Stderr)
	}
	got := map[string]bool{}
	for _, l := range readJSONLines(t, filepath.Join(dir, "weak_tls.log")) {
		k := fmt.Sprintf("%v:%v/%v", l["host"], l["port"], l["version"])
		if got[k] {
			t.Errorf("logged twice: %s", k)
		}
		got[k] = true
		if _, ok := l["ts"].(float64); !ok {
			t.Errorf("ts is not epoch seconds: %v", l)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("not logged: %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("logged but not weak: %s", k)
		}
	}

	r = runScriptd(t, dir, 60*time.Second, "run", script, "--input", data)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "weak TLS servers: 0 (none)" {
		t.Fatalf("second run: exit %d stdout %s stderr %s", r.Code, r.Stdout, r.Stderr)
	}

	dir2 := t.TempDir()
	r = runScriptd(t, dir2, 60*time.Second, "run", script, "--input", data, "--", "SSLv3")
	if want := fmt.Sprintf("weak TLS servers: %d (SSLv3: %d)", perVersion["SSLv3"], perVersion["SSLv3"]); r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("-- SSLv3: exit %d stdout %s want %s stderr %s", r.Code, r.Stdout, want, r.Stderr)
	}
}

// TestWeakTLSExampleTypeChecks type-checks examples/weak-tls with tsc and
// `scriptd types`, as its README does; a type error in it is found by tsc
// (and not by scriptd check, which does not check types). Skipped where
// npm or the npm registry is not available.
func TestWeakTLSExampleTypeChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("installs typescript from npm")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	tools := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", tools, "typescript@5")
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install typescript failed (no registry?): %v %s", err, out)
	}
	tsc := filepath.Join(tools, "node_modules", ".bin", "tsc")

	// A copy of the example, with the declarations beside it.
	dir := t.TempDir()
	src := filepath.Join(repoRoot, "examples", "weak-tls")
	for _, f := range []string{"main.ts", "tsconfig.json", "lib/tls.ts", "lib/format.js"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{f: string(b)})
	}
	r := runScriptd(t, dir, 10*time.Second, "types")
	if r.Code != 0 {
		t.Fatalf("scriptd types: %+v", r)
	}
	writeFiles(t, dir, map[string]string{"scriptd.d.ts": r.Stdout})
	check := func() (string, error) {
		cmd := exec.CommandContext(ctx, tsc, "-p", dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil {
		t.Fatalf("the example does not type-check: %v\n%s", err, out)
	}

	// A type error: tsc reports it, scriptd check does not.
	main, _ := os.ReadFile(filepath.Join(dir, "main.ts"))
	bad := strings.Replace(string(main), "const weak: ReadonlySet<string> =", "const weak: ReadonlySet<number> =", 1)
	writeFiles(t, dir, map[string]string{"main.ts": bad})
	if out, err := check(); err == nil || !strings.Contains(out, "main.ts(15,") {
		t.Fatalf("tsc missed the type error: %v\n%s", err, out)
	}
	if r := runScriptd(t, dir, 20*time.Second, "check", "main.ts"); r.Code != 0 {
		t.Fatalf("scriptd check reported a type error (types are not checked): %+v", r)
	}
}
