package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
)

// opsStreams reads the "streams" part of GET /v1/operations.
func opsStreams(t *testing.T, hp *httpProc) []map[string]any {
	t.Helper()
	code, body := hp.call(t, "GET", "/v1/operations", nil)
	if code != 200 {
		t.Fatalf("GET /v1/operations: %d %s", code, body)
	}
	var resp struct {
		Operations []any            `json:"operations"`
		Streams    []map[string]any `json:"streams"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("GET /v1/operations: %v: %s", err, body)
	}
	if resp.Operations == nil {
		t.Fatalf("GET /v1/operations lost its operations field: %s", body)
	}
	return resp.Streams
}

// GET /v1/operations shows each stream input's group position and this
// process's share: while N records' handlers wait on a promise, the group
// has N pending and this process N unacknowledged; once they settle, N
// are acknowledged and the group has nothing left (lag and pending 0).
func TestStreamOperationsView(t *testing.T) {
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"w.js": `
const waiting = [];
on("dns", async (r) => {
  await new Promise((res) => waiting.push(res));
  print("settled " + r.uid);
});
on("release", () => { print("releasing " + waiting.length); waiting.splice(0).forEach((res) => res()); });
`})
		const n = 7
		f.publish(t, streamRecords(n))
		url := f.url("&redeliver_after=60s")
		hp := startListening(t, dir, "w.js", "--input", url, "--listen-token", "tok")
		var last []map[string]any
		show := func() string { b, _ := json.Marshal(last); return string(b) }
		num := func(k string) float64 {
			v, _ := last[0][k].(float64)
			return v
		}
		// records counts what reached the handlers, which trails what the
		// process took from the server (unacked) while it parses.
		testutil.Eventually(t, 20*time.Second, "the group to show the records pending and handled", func() bool {
			last = opsStreams(t, hp)
			return len(last) == 1 && num("pending") == n && num("unacked") == n && num("lag") == 0 && num("records") == n
		})
		s := last[0]
		consumer := fmt.Sprintf("-%d", hp.cmd.Process.Pid)
		if s["input"] != url || s["url"] != url || s["group"] != "workers" || !strings.HasSuffix(s["consumer"].(string), consumer) ||
			num("acked") != 0 || num("records") != n || num("skipped") != 0 {
			t.Fatalf("while the handlers wait: %s", show())
		}
		if ok, why := f.settled(t); ok {
			t.Fatalf("group settled while the handlers wait: %s", why)
		}
		if code, body := hp.post(t, "/v1/events/release", "null"); code != 202 {
			t.Fatalf("release: %d %s", code, body)
		}
		testutil.Eventually(t, 20*time.Second, "the records acknowledged", func() bool {
			last = opsStreams(t, hp)
			return len(last) == 1 && num("acked") == n && num("unacked") == 0 && num("pending") == 0 && num("lag") == 0
		})
		if ok, why := f.settled(t); !ok {
			t.Fatalf("operations view says settled, the server does not: %s (view %s)", why, show())
		}
		// The same numbers in /metrics, under the same input label.
		_, metrics := hp.call(t, "GET", "/metrics", nil)
		for _, m := range []string{
			fmt.Sprintf("scriptd_input_acked_total{input=%q} %d", url, n),
			fmt.Sprintf("scriptd_input_unacked{input=%q} 0", url),
			fmt.Sprintf("scriptd_input_stream_pending{input=%q} 0", url),
			fmt.Sprintf("scriptd_input_stream_lag{input=%q} 0", url),
		} {
			if !strings.Contains(metrics, m) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
		if got := strings.Count(hp.Stdout.String(), "settled "); got != n {
			t.Errorf("%d handlers settled, want %d", got, n)
		}
		hp.stop(t)
	})
}

// A rediss:// input: scriptd reads the stream over TLS (verifying the
// server against the test's CA, authenticating as an ACL user) and
// acknowledges every record; the operations view and the messages show
// the URL with the password redacted.
func TestStreamRedisTLS(t *testing.T) {
	pki := testutil.NewPKI(t)
	srv := testutil.StartRedisTLS(t, pki, "optional")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()}) // plain port, for the test
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Do(ctx, "ACL", "SETUSER", "worker", "on", ">s3cret-pw", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	f := &redisStreamFeed{srv: srv, rdb: rdb}
	const n = 50
	f.publish(t, streamRecords(n))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"w.js": `on("dns", async (r) => { await null; print("handled " + r.uid); });`})
	url := fmt.Sprintf("rediss://worker:s3cret-pw@127.0.0.1:%d/zeek?group=workers&tls_ca_file=%s&tls_server_name=localhost", srv.TLSPort, pki.CA)
	shown := strings.Replace(url, "s3cret-pw", "xxxxx", 1)
	hp := startListening(t, dir, "w.js", "--input", url)
	testutil.Eventually(t, 20*time.Second, "every record acknowledged over TLS", func() bool {
		ok, _ := f.settled(t)
		return ok && strings.Count(hp.Stdout.String(), "handled ") == n
	})
	var last []map[string]any
	testutil.Eventually(t, 10*time.Second, "the operations view to show them acknowledged", func() bool {
		last = opsStreams(t, hp)
		return len(last) == 1 && last[0]["acked"] == float64(n) && last[0]["pending"] == float64(0)
	})
	// input is the metrics label: the same, cut to 128 bytes.
	if in, _ := last[0]["input"].(string); last[0]["url"] != shown || in != shown[:min(len(shown), 128)] {
		t.Errorf("operations view names the input %v / %v, want %s", last[0]["url"], last[0]["input"], shown)
	}
	_, body := hp.call(t, "GET", "/v1/operations", nil)
	_, metrics := hp.call(t, "GET", "/metrics", nil)
	for what, s := range map[string]string{"operations": body, "metrics": metrics, "stderr": hp.Stderr.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("%s shows the password: %s", what, s)
		}
	}
	hp.stop(t)
	// The process removed its consumer name on the way out.
	if cs, err := rdb.XInfoConsumers(ctx, "zeek", "workers").Result(); err != nil || len(cs) != 0 {
		t.Errorf("consumers left: %+v %v", cs, err)
	}

	// Plain text to the TLS port fails the run, naming the input without
	// its password.
	res := runScriptd(t, dir, 30*time.Second, "run", "w.js", "--input", strings.Replace(url, "rediss://", "redis://", 1)[:strings.Index(url, "&tls_")-1])
	if res.Code != 1 || !strings.Contains(res.Stderr, fmt.Sprintf("open input redis://127.0.0.1:%d/zeek", srv.TLSPort)) || strings.Contains(res.Stderr, "s3cret") {
		t.Errorf("redis:// to the TLS port: exit %d, stderr %q", res.Code, res.Stderr)
	}
	// TLS options on redis:// are a usage error.
	res = runScriptd(t, dir, 30*time.Second, "run", "w.js", "--input", fmt.Sprintf("redis://%s/zeek?group=w&tls_ca_file=%s", srv.Addr(), pki.CA))
	if res.Code != 2 || !strings.Contains(res.Stderr, "write rediss://") {
		t.Errorf("tls_ca_file on redis://: exit %d, stderr %q", res.Code, res.Stderr)
	}
}
