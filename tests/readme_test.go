package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The README's first script, run as the README says, logs exactly what an
// independent reading of the raw log says: each client's first NXDOMAIN
// answer, again once an hour (of the records' time) has passed, with the
// record's own ts.
func TestReadmeFirstScript(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## A first script\n\n```js\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: no first script")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"first-nx.js": string(m[1])})
	data := filepath.Join(repoRoot, "examples", "data", "dns.json.gz")
	r := runScriptd(t, dir, 60*time.Second, "run", "first-nx.js", "--input", data)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "bye" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	var got []string
	for _, line := range readLines(t, filepath.Join(dir, "first_nx.log")) {
		var v map[string]any // normalized: Go writes keys sorted
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("first_nx.log: %v: %q", err, line)
		}
		b, _ := json.Marshal(v)
		got = append(got, string(b))
	}

	// The oracle: records in file order; a client is logged when it has no
	// entry that is still live at the running network time (the largest ts
	// so far) — expiry is one hour after the logging record's network time.
	var want []string
	liveUntil := map[string]float64{}
	netTime := 0.0
	for _, rec := range readGzipJSON(t, data) {
		ts := isoSeconds(t, rec["ts"].(string))
		netTime = max(netTime, ts)
		if rec["rcode_name"] != "NXDOMAIN" {
			continue
		}
		src := rec["id.orig_h"].(string)
		if until, ok := liveUntil[src]; ok && netTime < until {
			continue
		}
		liveUntil[src] = netTime + 3600
		line, _ := json.Marshal(map[string]any{"ts": ts, "src": src})
		want = append(want, string(line))
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("first_nx.log (%d lines) differs from the raw log's answer (%d lines):\n got %.600v\nwant %.600v", len(got), len(want), got, want)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func isoSeconds(t *testing.T, s string) float64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return float64(tm.Unix()) + float64(tm.Nanosecond())/1e9
}
