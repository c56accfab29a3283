package tests

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get-then-put counting per source over the bundled DNS excerpt, with
// on(..., {order_by}) serialising the calls of one source: the counts in
// storage equal an independent recount of the raw records (without
// order_by most updates are lost, the bug this option fixes).
func TestOrderByCountsExactly(t *testing.T) {
	data := filepath.Join(repoRoot, "examples", "data", "dns.json.gz")
	want := recountBy(t, data, "id.orig_h")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"count.js": `let h;
on("init", async () => {
  h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
    { sqlite: { database_path: "counts.sqlite", table_name: "by_src" } }, "addr", "count")).value;
});
const seen = new Set();
on("dns", async (r) => {
  const src = r["id.orig_h"];
  seen.add(src);
  const cur = await Storage.Async.get(h, src);
  await Storage.Async.put(h, { key: src, value: cur.code === Storage.SUCCESS ? cur.value + 1 : 1 });
}, { order_by: (r) => r["id.orig_h"] });
on("done", async () => {
  const out = {};
  for (const src of seen) out[src] = (await Storage.Async.get(h, src)).value;
  print(JSON.stringify(out));
});
`})
	r := runScriptd(t, dir, 120*time.Second, "run", "count.js", "--input", data)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var got map[string]int
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &got); err != nil {
		t.Fatalf("%v: %q", err, r.Stdout)
	}
	if len(got) != len(want) {
		t.Fatalf("%d sources counted, the log has %d", len(got), len(want))
	}
	for src, n := range want {
		if got[src] != n {
			t.Errorf("%s: counted %d, the log has %d", src, got[src], n)
		}
	}
}

// recountBy counts the records of a gzip'd JSON-lines log by a field, in Go.
func recountBy(t *testing.T, path, field string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, rec := range readGzipJSON(t, path) {
		if s, ok := rec[field].(string); ok {
			counts[s]++
		}
	}
	return counts
}

// readGzipJSON reads a gzip'd JSON-lines log with encoding/json.
func readGzipJSON(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
