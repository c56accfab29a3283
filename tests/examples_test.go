package tests

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// readJSONLines decodes every record of a (gzipped) JSON-lines log.
func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r *bufio.Scanner
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = bufio.NewScanner(gz)
	} else {
		r = bufio.NewScanner(f)
	}
	r.Buffer(make([]byte, 1<<20), 16<<20)
	var out []map[string]any
	for r.Scan() {
		if len(strings.TrimSpace(r.Text())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(r.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func isoToEpoch(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		tm, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tm.UnixNano()) / 1e9
	}
	t.Fatalf("ts %v", v)
	return 0
}

// TestDNSDetectorExample runs examples/dns-detector on the bundled excerpt
// and checks each notice against the data, and that suppression state in
// SQLite survives a second run.
func TestDNSDetectorExample(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(repoRoot, "examples", "data", "dns.json.gz")
	script := filepath.Join(repoRoot, "examples", "dns-detector")
	r := runScriptd(t, dir, 60*time.Second, "run", script, "--input", data)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d stderr %s", r.Code, r.Stderr)
	}
	notices := readJSONLines(t, filepath.Join(dir, "notice.log"))
	if len(notices) == 0 {
		t.Fatal("no notices")
	}
	// Independent check: every NXDOMAIN burst notice has >= 20 NXDOMAIN
	// answers for its source within its 5-minute epoch.
	records := readJSONLines(t, data)
	seen := map[string]bool{}
	kinds := map[string]int{}
	for _, n := range notices {
		note, src := n["note"].(string), n["src"].(string)
		kinds[note]++
		if seen[note+" "+src] {
			t.Errorf("notice %s for %s raised twice within the suppression period", note, src)
		}
		seen[note+" "+src] = true
		start := n["epoch_start"].(float64)
		count, names := 0, map[string]bool{}
		for _, rec := range records {
			ts := isoToEpoch(t, rec["ts"])
			if rec["id.orig_h"] != src || ts < start || ts >= start+300 {
				continue
			}
			if rec["rcode_name"] == "NXDOMAIN" {
				count++
			}
			if q, ok := rec["query"].(string); ok {
				names[q] = true
			}
		}
		switch note {
		case "DNS::NXDOMAIN_Burst":
			if count < 20 {
				t.Errorf("%s: only %d NXDOMAIN in its epoch", src, count)
			}
		case "DNS::Name_Sweep":
			if len(names) < 40 {
				t.Errorf("%s: only %d distinct names in its epoch", src, len(names))
			}
		default:
			t.Errorf("unknown note %q", note)
		}
	}
	if kinds["DNS::NXDOMAIN_Burst"] == 0 || kinds["DNS::Name_Sweep"] == 0 {
		t.Errorf("notice kinds = %v, want both", kinds)
	}
	// A second run over the same data: all suppressed by the SQLite state.
	if err := os.Remove(filepath.Join(dir, "notice.log")); err != nil {
		t.Fatal(err)
	}
	r = runScriptd(t, dir, 60*time.Second, "run", script, "--input", data)
	if r.Code != 0 {
		t.Fatalf("second run: exit %d stderr %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "notice.log")); !os.IsNotExist(err) {
		t.Errorf("second run raised notices despite suppression (err %v)", err)
	}
}

// TestKnownCertsExample runs examples/known-certs on the full shared logs and
// compares known_certs.log with what Zeek's known-certs policy implies for
// them, computed here independently from ssl and x509 records.
func TestKnownCertsExample(t *testing.T) {
	ssl := needShared(t, "ssl.json.gz")
	x509 := needShared(t, "x509.json.gz")
	dir := t.TempDir()
	r := runScriptd(t, dir, 120*time.Second, "run", filepath.Join(repoRoot, "examples", "known-certs"), "--input", x509, "--input", ssl)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d stderr %s", r.Code, r.Stderr)
	}
	certs := map[string]map[string]any{}
	for _, c := range readJSONLines(t, x509) {
		if c["host_cert"] != false {
			certs[c["fingerprint"].(string)] = c
		}
	}
	want := map[string]bool{}
	for _, s := range readJSONLines(t, ssl) {
		chain, _ := s["cert_chain_fps"].([]any)
		host, _ := s["id.resp_h"].(string)
		if ip := net.ParseIP(host); s["established"] != true || len(chain) == 0 || ip == nil || ip.To4() == nil || !ip.IsPrivate() {
			continue
		}
		c, ok := certs[chain[0].(string)]
		if !ok {
			continue
		}
		want[host+"|"+c["certificate.serial"].(string)+"|"+c["certificate.subject"].(string)] = true
	}
	got := map[string]bool{}
	for _, l := range readJSONLines(t, filepath.Join(dir, "known_certs.log")) {
		k := l["host"].(string) + "|" + l["serial"].(string) + "|" + l["subject"].(string)
		if got[k] {
			t.Errorf("logged twice: %s", k)
		}
		got[k] = true
		if l["port_num"] == nil || l["issuer_subject"] == nil || l["ts"] == nil {
			t.Errorf("missing Zeek field in %v", l)
		}
	}
	if len(want) == 0 || !equalSets(got, want) {
		t.Fatalf("known certs differ:\n got %d %v\nwant %d %v", len(got), keys(got), len(want), keys(want))
	}
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCountBySourceExample runs examples/count-by-source with increment and
// with update over the DNS excerpt: every source's count equals a recount
// of the raw records. (The naive get + put loses updates; it is run to show
// it, not checked for a number.)
func TestCountBySourceExample(t *testing.T) {
	data := filepath.Join(repoRoot, "examples", "data", "dns.json.gz")
	want := map[string]float64{}
	for _, rec := range readJSONLines(t, data) {
		want[rec["id.orig_h"].(string)]++
	}
	script := filepath.Join(repoRoot, "examples", "count-by-source")
	for _, method := range []string{"increment", "update", "naive"} {
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			p := startScriptdEnv(t, dir, []string{"METHOD=" + method}, "run", script, "--input", data)
			if code := p.waitExit(t, 120*time.Second); code != 0 || p.Stderr.String() != "" {
				t.Fatalf("exit %d: %s", code, p.Stderr.String())
			}
			got := map[string]float64{}
			total := 0.0
			for _, l := range readJSONLines(t, filepath.Join(dir, "counts.log")) {
				got[l["src"].(string)] = l["n"].(float64)
				total += l["n"].(float64)
			}
			if method == "naive" {
				t.Logf("naive get + put counted %v of the records", total)
				return
			}
			if len(got) != len(want) {
				t.Fatalf("%d sources, want %d", len(got), len(want))
			}
			for src, n := range want {
				if got[src] != n {
					t.Fatalf("%s: counted %v, want %v", src, got[src], n)
				}
			}
		})
	}
}
