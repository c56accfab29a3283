package tests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/scriptd/scriptd/internal/testutil"
)

// httpProc is a scriptd serving HTTP on a loopback port of its own.
type httpProc struct {
	*process
	Base  string // http://127.0.0.1:PORT
	Addr  string
	Token string
}

// startListening runs `scriptd run --listen 127.0.0.1:PORT args...` in dir
// and waits until /healthz answers 200.
func startListening(t *testing.T, dir string, args ...string) *httpProc {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p := startScriptd(t, dir, append([]string{"run", "--listen", addr}, args...)...)
	hp := &httpProc{process: p, Base: "http://" + addr, Addr: addr}
	for i, a := range args {
		if a == "--listen-token" && i+1 < len(args) {
			hp.Token = args[i+1]
		}
	}
	testutil.Eventually(t, 15*time.Second, "scriptd to serve /healthz", func() bool {
		select {
		case <-p.done:
			t.Fatalf("scriptd exited early\nstderr: %s", p.Stderr.String())
		default:
		}
		resp, err := http.Get(hp.Base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return hp
}

// call sends one request (with the process's token, if any, unless hdr
// sets Authorization) and returns the status and body.
func (hp *httpProc) call(t *testing.T, method, path string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, hp.Base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if hp.Token != "" {
		req.Header.Set("Authorization", "Bearer "+hp.Token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (hp *httpProc) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return hp.call(t, "POST", path, []byte(body))
}

// stop sends SIGTERM, expects exit 0 and the port released.
func (hp *httpProc) stop(t *testing.T) {
	t.Helper()
	if err := hp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := hp.waitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, hp.Stderr.String())
	}
	ln, err := net.Listen("tcp", hp.Addr)
	if err != nil {
		t.Fatalf("port %s not released: %v", hp.Addr, err)
	}
	ln.Close()
}

func TestHTTPEvents(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `
		on("ev", (...args) => print("ev", JSON.stringify(args), Array.isArray(args[0])));
		on("done", () => print("done-ran"));
	`})
	hp := startListening(t, dir, "s")

	for _, c := range []struct{ path, body, want string }{
		{"/v1/events/ev", `{"k":"v"}`, `{"event":"ev","args":1}`},
		{"/v1/events/ev?args=array", `[1,"two",null,{"x":[true]}]`, `{"event":"ev","args":4}`},
		{"/v1/events/ev", `[1,2]`, `{"event":"ev","args":1}`},
		{"/v1/events/ev", `"s"`, `{"event":"ev","args":1}`},
	} {
		if code, body := hp.post(t, c.path, c.body); code != 202 || strings.TrimSpace(body) != c.want {
			t.Fatalf("POST %s %s: %d %s", c.path, c.body, code, body)
		}
	}
	testutil.Eventually(t, 10*time.Second, "four events", func() bool { return strings.Count(hp.Stdout.String(), "ev ") == 4 })
	want := `ev [{"k":"v"}] false
ev [1,"two",null,{"x":[true]}] false
ev [[1,2]] true
ev ["s"] false
`
	if got := hp.Stdout.String(); got != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", got, want)
	}

	code, body := hp.post(t, "/v1/events/ev", `{"k": tru}`)
	if code != 400 || !strings.Contains(body, "malformed JSON at byte") {
		t.Errorf("malformed: %d %s", code, body)
	}
	if code, body := hp.post(t, "/v1/events/ev?args=array", `{"k":1}`); code != 400 || !strings.Contains(body, "JSON array") {
		t.Errorf("args=array with an object: %d %s", code, body)
	}
	if code, _ := hp.post(t, "/v1/events/init", `null`); code != 400 {
		t.Errorf("lifecycle event: %d", code)
	}
	// Default limit 1 MiB: one byte more is refused.
	big := `"` + strings.Repeat("x", 1<<20-1) + `"`
	if code, body := hp.post(t, "/v1/events/ev", big); code != 413 || !strings.Contains(body, "limit") {
		t.Errorf("oversized: %d %s", code, body)
	}
	if code, _ := hp.call(t, "GET", "/v1/events/ev", nil); code != 405 {
		t.Errorf("GET events: %d", code)
	}
	if code, _ := hp.call(t, "GET", "/nope", nil); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
	if strings.Count(hp.Stdout.String(), "ev ") != 4 {
		t.Errorf("rejected requests fired events:\n%s", hp.Stdout.String())
	}
	hp.stop(t)
	if !strings.HasSuffix(hp.Stdout.String(), "done-ran\n") {
		t.Errorf("done did not run last:\n%s", hp.Stdout.String())
	}
}

func TestHTTPToken(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `on("ev", v => print("got", v));`})
	hp := startListening(t, dir, "s", "--listen-token", "tok-123")

	for _, auth := range []string{"", "Bearer wrong", "Basic tok-123", "Bearer tok-1234"} {
		for _, r := range []struct{ method, path string }{
			{"POST", "/v1/events/ev"}, {"GET", "/metrics"}, {"GET", "/v1/operations"}, {"GET", "/v1/operations/1"},
		} {
			code, body := hp.call(t, r.method, r.path, []byte("1"), "Authorization", auth)
			if code != 401 || !strings.Contains(body, "bearer token") {
				t.Errorf("%s %s with %q: %d %s", r.method, r.path, auth, code, body)
			}
		}
	}
	if code, _ := hp.call(t, "GET", "/healthz", nil, "Authorization", ""); code != 200 {
		t.Errorf("healthz without token: %d", code)
	}
	if code, _ := hp.post(t, "/v1/events/ev", "7"); code != 202 {
		t.Errorf("with token: %d", code)
	}
	if code, body := hp.call(t, "GET", "/metrics", nil); code != 200 || !strings.Contains(body, "scriptd_events_total") {
		t.Errorf("metrics with token: %d", code)
	}
	hp.stop(t)
	if got := hp.Stdout.String(); got != "got 7\n" {
		t.Errorf("stdout %q: only the authorized event may fire", got)
	}
}

// metricValue finds one sample's value in a text-format scrape (-1 if
// absent). series is `name{label="value",...}`; its labels match in any
// order (client_golang writes them sorted by name).
func metricValue(text, series string) float64 {
	want := canonicalSeries(series)
	for _, l := range strings.Split(text, "\n") {
		i := strings.LastIndexByte(l, ' ')
		if strings.HasPrefix(l, "#") || i < 0 || canonicalSeries(l[:i]) != want {
			continue
		}
		if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
			return v
		}
	}
	return -1
}

var labelPairRE = regexp.MustCompile(`[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*"`)

// canonicalSeries sorts the label pairs of `name{...}`.
func canonicalSeries(s string) string {
	name, labels, ok := strings.Cut(s, "{")
	if !ok {
		return s
	}
	pairs := labelPairRE.FindAllString(labels, -1)
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

type operationInfo struct {
	ID      string `json:"id"`
	Method  string `json:"method"`
	Backend string `json:"backend"`
	Key     string `json:"key"`
	State   string `json:"state"`
	Code    string `json:"code"`
}

func TestHTTPStorageMetricsAndOperations(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "store.sqlite")
	writeFiles(t, dir, map[string]string{"s/a.js": `
		let h;
		on("init", async () => {
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{sqlite: {database_path: ` + strconv.Quote(db) + `, table_name: "kv", busy_timeout: "30s"}}, "string", "any");
			if (r.code !== Storage.SUCCESS) throw new Error("open: " + r.error_str);
			h = r.value;
		});
		on("store", async (v) => {
			const put = await Storage.Async.put(h, {key: v.key, value: v});
			const got = await Storage.Async.get(h, v.key);
			print("stored", v.key, put.code, got.code);
		});
		on("boom", () => { throw new Error("boom"); });
	`})
	hp := startListening(t, dir, "s")
	// Events dispatch in order: once the stores are done, boom has thrown.
	if code, _ := hp.post(t, "/v1/events/boom", "null"); code != 202 {
		t.Fatalf("post boom: %d", code)
	}
	const n = 20
	for i := range n {
		if code, body := hp.post(t, "/v1/events/store", fmt.Sprintf(`{"key":"k%d","n":%d}`, i, i)); code != 202 {
			t.Fatalf("post %d: %d %s", i, code, body)
		}
	}
	testutil.Eventually(t, 15*time.Second, "stored lines", func() bool { return strings.Count(hp.Stdout.String(), "stored ") == n })
	if c := strings.Count(hp.Stdout.String(), "SUCCESS SUCCESS"); c != n {
		t.Fatalf("%d of %d round trips succeeded:\n%s", c, n, hp.Stdout.String())
	}

	code, text := hp.call(t, "GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for series, want := range map[string]float64{
		`scriptd_events_total{event="store"}`: n,
		`scriptd_events_total{event="init"}`:  1,
		`scriptd_handler_errors_total`:        1,
		`scriptd_storage_operations_total{operation="put",backend_type="STORAGE_BACKEND_SQLITE",result="success",code="SUCCESS"}`: n,
		`scriptd_storage_operations_total{operation="get",backend_type="STORAGE_BACKEND_SQLITE",result="success",code="SUCCESS"}`: n,
		`scriptd_storage_operation_duration_seconds_count{operation="put",backend_type="STORAGE_BACKEND_SQLITE"}`:                 n,
		`scriptd_storage_operations_in_flight`:                                   0,
		`scriptd_http_requests_total{route="POST /v1/events/{name}",code="202"}`: n + 1,
		`scriptd_reloads_total{result="ok"}`:                                     0,
	} {
		if got := metricValue(text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, name := range []string{
		"scriptd_event_dispatch_duration_seconds_bucket", "scriptd_storage_operation_duration_seconds_bucket",
		"scriptd_event_handler_calls_total", "scriptd_start_time_seconds", "scriptd_build_info",
		"scriptd_http_request_duration_seconds_bucket", "go_goroutines",
	} {
		if !regexp.MustCompile(`(?m)^# TYPE ` + strings.TrimSuffix(name, "_bucket") + ` `).MatchString(text) {
			t.Errorf("family %s missing", name)
		}
	}

	// Operations: the open, then put/get pairs, all done.
	var list struct{ Operations []operationInfo }
	code, body := hp.call(t, "GET", "/v1/operations", nil)
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("list: %d %v %s", code, err, body)
	}
	if len(list.Operations) != 1+2*n || list.Operations[0].Method != "open_backend" {
		t.Fatalf("%d operations: %+v", len(list.Operations), list.Operations[:min(3, len(list.Operations))])
	}
	var put operationInfo
	for _, op := range list.Operations {
		if op.State != "done" || op.Code != "SUCCESS" {
			t.Errorf("operation %+v", op)
		}
		if op.Method == "put" && op.Key == `"k3"` {
			put = op
		}
	}
	var one operationInfo
	code, body = hp.call(t, "GET", "/v1/operations/"+put.ID, nil)
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one != put {
		t.Fatalf("get %s: %d %s", put.ID, code, body)
	}
	if code, _ := hp.call(t, "GET", "/v1/operations/123456", nil); code != 404 {
		t.Errorf("unknown operation: %d", code)
	}
	start := time.Now()
	if code, body := hp.call(t, "GET", "/v1/operations/"+put.ID+"?wait=5s", nil); code != 200 || !strings.Contains(body, `"state":"done"`) || time.Since(start) > 2*time.Second {
		t.Errorf("wait on a finished operation: %d %s after %v", code, body, time.Since(start))
	}

	// A put blocked by another writer's lock is listed as running, and
	// ?wait returns when it finishes.
	ext, err := sql.Open("sqlite3", db+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	ext.SetMaxOpenConns(1)
	conn, err := ext.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if code, _ := hp.post(t, "/v1/events/store", `{"key":"blocked"}`); code != 202 {
		t.Fatalf("post: %d", code)
	}
	var running operationInfo
	testutil.Eventually(t, 10*time.Second, "a running put", func() bool {
		_, body := hp.call(t, "GET", "/v1/operations?state=running", nil)
		var l struct{ Operations []operationInfo }
		_ = json.Unmarshal([]byte(body), &l)
		for _, op := range l.Operations {
			if op.Method == "put" && op.Key == `"blocked"` {
				running = op
				return true
			}
		}
		return false
	})
	// A long wait, sent first, and a short one after it: the short one comes
	// back still running (the put really waits), and the long one, sent
	// before it, has not come back.
	type waited struct {
		code int
		body string
		took time.Duration
	}
	res := make(chan waited, 1)
	sent := make(chan struct{}, 1)
	go func() {
		start := time.Now()
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
			select { // once, even should the transport retry
			case sent <- struct{}{}:
			default:
			}
		}}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", hp.Base+"/v1/operations/"+running.ID+"?wait=20s", nil)
		if err != nil {
			res <- waited{body: err.Error()}
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- waited{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- waited{resp.StatusCode, string(b), time.Since(start)}
	}()
	select {
	case <-sent:
	case w := <-res:
		t.Fatalf("long wait: %+v", w)
	}
	if code, body := hp.call(t, "GET", "/v1/operations/"+running.ID+"?wait=300ms", nil); code != 200 || !strings.Contains(body, `"state":"running"`) {
		t.Fatalf("short wait: %d %s", code, body)
	}
	select {
	case w := <-res:
		t.Fatalf("wait returned while the lock was held: %+v", w)
	default:
	}
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	w := <-res
	if w.code != 200 || !strings.Contains(w.body, `"state":"done"`) || !strings.Contains(w.body, `"code":"SUCCESS"`) || w.took > 15*time.Second {
		t.Fatalf("wait: %+v", w)
	}
	testutil.Eventually(t, 10*time.Second, "the blocked event to finish", func() bool {
		return strings.Contains(hp.Stdout.String(), "stored blocked SUCCESS SUCCESS")
	})
	hp.stop(t)
}

// TestHTTPLargeValue stores an 8 MB value posted over HTTP in SQLite and
// reads it back.
func TestHTTPLargeValue(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "big.sqlite")
	writeFiles(t, dir, map[string]string{"s/a.js": `
		let h;
		on("init", async () => {
			h = (await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{sqlite: {database_path: ` + strconv.Quote(db) + `, table_name: "blobs"}}, "string", "string")).value;
		});
		on("blob", async (v) => {
			const put = await Storage.Async.put(h, {key: v.name, value: v.data});
			const got = await Storage.Async.get(h, v.name);
			let sum = 0;
			for (let i = 0; i < got.value.length; i += 997) sum = (sum * 31 + got.value.charCodeAt(i)) % 1000000007;
			print("blob", put.code, got.code, got.value.length, got.value === v.data, sum);
		});
		on("done", async () => {
			const got = await Storage.Async.get(h, "big");
			print("at-done", got.code, got.value.length);
		});
	`})
	const size = 8 << 20
	data := make([]byte, size)
	sum := 0
	for i := range data {
		data[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7+i/1000)%36]
	}
	for i := 0; i < size; i += 997 {
		sum = (sum*31 + int(data[i])) % 1000000007
	}
	body := `{"name":"big","data":"` + string(data) + `"}`

	hp := startListening(t, dir, "s", "--max-body", strconv.Itoa(16<<20))
	if code, resp := hp.post(t, "/v1/events/blob", body); code != 202 {
		t.Fatalf("post: %d %s", code, resp)
	}
	testutil.Eventually(t, 30*time.Second, "the blob round trip", func() bool { return strings.Contains(hp.Stdout.String(), "blob ") })
	want := fmt.Sprintf("blob SUCCESS SUCCESS %d true %d\n", size, sum)
	if got := hp.Stdout.String(); got != want {
		t.Fatalf("stdout %q, want %q\nstderr: %s", got, want, hp.Stderr.String())
	}
	// Over the raised limit is still refused.
	if code, _ := hp.post(t, "/v1/events/blob", `"`+strings.Repeat("z", 16<<20)+`"`); code != 413 {
		t.Errorf("over the raised limit: %d", code)
	}
	hp.stop(t)
	if !strings.Contains(hp.Stdout.String(), fmt.Sprintf("at-done SUCCESS %d\n", size)) {
		t.Errorf("read back at done:\n%s", hp.Stdout.String())
	}
}

// TestHTTPHealthzUnresponsive: a handler hogging the loop makes /healthz
// answer 503 within its bound, and 200 again afterwards.
func TestHTTPHealthzUnresponsive(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `
		on("hog", () => { print("hog-start"); const end = Date.now() + 4000; while (Date.now() < end) {} print("hog-done"); });
	`})
	hp := startListening(t, dir, "s")
	// The 202 may come before or after the handler runs: post in the
	// background and wait for the handler to start.
	posted := make(chan int, 1)
	go func() {
		resp, err := http.Post(hp.Base+"/v1/events/hog", "application/json", strings.NewReader("null"))
		if err != nil {
			posted <- -1
			return
		}
		resp.Body.Close()
		posted <- resp.StatusCode
	}()
	testutil.Eventually(t, 10*time.Second, "the hog to start", func() bool { return strings.Contains(hp.Stdout.String(), "hog-start") })
	start := time.Now()
	code, body := hp.call(t, "GET", "/healthz", nil)
	if code != 503 || !strings.Contains(body, "unresponsive") {
		t.Fatalf("healthz while hogged: %d %s", code, body)
	}
	if d := time.Since(start); d < 1500*time.Millisecond || d > 3500*time.Millisecond {
		t.Errorf("healthz answered after %v, want about 2s", d)
	}
	testutil.Eventually(t, 10*time.Second, "the hog to finish", func() bool { return strings.Contains(hp.Stdout.String(), "hog-done") })
	if code := <-posted; code != 202 {
		t.Errorf("post: %d", code)
	}
	if code, _ := hp.call(t, "GET", "/healthz", nil); code != 200 {
		t.Fatalf("healthz after: %d", code)
	}
	hp.stop(t)
}

// TestHTTPListenErrors: a busy port and a bad address fail at start-up.
func TestHTTPListenErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `print("loaded");`})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runScriptd(t, dir, 30*time.Second, "run", "--listen", ln.Addr().String(), "s")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--listen") || strings.Contains(r.Stdout, "loaded") {
		t.Errorf("busy port: %+v", r)
	}
	r = runScriptd(t, dir, 30*time.Second, "run", "--listen", "nope", "s")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--listen") {
		t.Errorf("bad address: %+v", r)
	}
	r = runScriptd(t, dir, 30*time.Second, "run", "--listen-token", "x", "s")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--listen-token needs --listen") {
		t.Errorf("token without listen: %+v", r)
	}
}
