package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGlobalsDeclarationsTypeCheck checks that `scriptd types` declares
// the web and Node.js globals of SPEC §2: a script using them type-checks
// clean, and one misusing them is rejected at each mistake. Skipped where
// npm or the npm registry is not available.
func TestGlobalsDeclarationsTypeCheck(t *testing.T) {
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
	if r.Code != 0 {
		t.Fatalf("scriptd types: %+v", r)
	}
	writeFiles(t, dir, map[string]string{
		"scriptd.d.ts": r.Stdout,
		"good.js": `
on("init", async () => {
  const res = await fetch("http://127.0.0.1:1/x", {
    method: "POST", body: JSON.stringify({ a: 1 }), headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(1000), redirect: "manual",
  });
  const data = await res.json();
  print(res.status, res.ok, res.statusText, res.url, res.redirected, res.headers.get("x"), data);
  res.headers.forEach((v, k) => print(k, v));
  for (const [k, v] of res.headers.entries()) print(k, v);
  const ab = await new Response("x").arrayBuffer();
  const req = new Request(new URL("/p?q=1", "http://x.example"), { headers: new Headers([["a", "b"]]) });
  print(req.method, ab.byteLength, (await fetch(req)).status);
  const ctl = new AbortController();
  ctl.signal.addEventListener("abort", () => print(ctl.signal.reason instanceof DOMException));
  ctl.abort();
  const b64 = Buffer.from("hi").toString("base64");
  const hex = Buffer.from(b64, "base64").toString("hex");
  const bytes = new TextEncoder().encode(hex);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  print(atob(btoa(text)), crypto.randomUUID(), crypto.getRandomValues(new Uint8Array(4))[0]);
  const copy = structuredClone({ when: new Date(), seen: new Set([1]) });
  queueMicrotask(() => print(copy.when.getTime(), copy.seen.has(1)));
  const params = new URLSearchParams({ q: "x" });
  params.append("r", "y");
  const { Buffer: B, isUtf8 } = require("buffer");
  const { format, inspect, promisify } = require("node:util");
  const { URL: U } = require("url");
  print(format("%s %d", params.toString(), B.byteLength("x")), inspect(new U("http://x")), isUtf8(bytes), typeof promisify);
});
`,
		"bad.js": `
fetch(42);
Buffer.from("x").toString("klingon");
crypto.getRandomValues(new Float64Array(2));
new TextDecoder().decode("a string");
new Response("x").status = 3;
`,
	})
	check := func(files ...string) (string, error) {
		args := append([]string{"--allowJs", "--checkJs", "--noEmit", "--target", "es2022", "--lib", "es2022"}, files...)
		cmd := exec.CommandContext(ctx, tsc, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check("scriptd.d.ts", "good.js"); err != nil {
		t.Fatalf("a script using the globals does not type-check: %v\n%s", err, out)
	}
	out, err := check("scriptd.d.ts", "bad.js")
	if err == nil {
		t.Fatal("a script misusing the globals type-checked")
	}
	for _, want := range []string{"bad.js(2,", "bad.js(3,", "bad.js(4,", "bad.js(5,", "bad.js(6,"} {
		if !strings.Contains(out, want) {
			t.Errorf("tsc output lacks an error at %s:\n%s", want, out)
		}
	}
}
