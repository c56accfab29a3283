package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// fakeEngine records emitted events; Ping blocks while hold is set.
type fakeEngine struct {
	mu      sync.Mutex
	events  []emitted
	hold    chan struct{} // Ping waits for it to close, if non-nil
	holding chan struct{} // if non-nil, told (without blocking) when Ping starts waiting on hold
	stopped bool
}

type emitted struct {
	name string
	args []any
}

func (f *fakeEngine) Emit(name string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return errors.New("eventloop: stopped")
	}
	f.events = append(f.events, emitted{name, args})
	return nil
}

// EmitJSON records the decoded arguments, then waits like Ping.
func (f *fakeEngine) EmitJSON(ctx context.Context, name string, raw []byte, spread bool) error {
	args, err := decodeArgs(raw, spread)
	if err != nil {
		return err
	}
	if err := f.Emit(name, args...); err != nil {
		return err
	}
	return f.Ping(ctx)
}

// CallJSON: the fake has no handlers (the real engine's calls are tested
// end to end in tests/).
func (f *fakeEngine) CallJSON(ctx context.Context, name string, raw []byte, spread bool) (json.RawMessage, error) {
	return nil, engine.ErrNoHandler
}

func (f *fakeEngine) Ping(ctx context.Context) error {
	f.mu.Lock()
	hold, holding := f.hold, f.holding
	f.mu.Unlock()
	if hold == nil {
		return nil
	}
	select {
	case holding <- struct{}{}:
	default:
	}
	select {
	case <-hold:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeEngine) emitted() []emitted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]emitted(nil), f.events...)
}

type recordedRequest struct {
	route  string
	status int
}

type fakeObserver struct {
	mu   sync.Mutex
	reqs []recordedRequest
}

func (o *fakeObserver) HTTPRequest(route string, status int, _ time.Duration) {
	o.mu.Lock()
	o.reqs = append(o.reqs, recordedRequest{route, status})
	o.mu.Unlock()
}

// await returns the next value from ch, failing t after
// testutil.DefaultTimeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testutil.DefaultTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// announced wraps an in-flight count for an Admission so that each reading
// is also sent on the returned channel (dropped while one is unread): the
// signal that the admission consulted it.
func announced(count func() int) (func() int, <-chan int) {
	readings := make(chan int, 1)
	return func() int {
		n := count()
		select {
		case readings <- n:
		default:
		}
		return n
	}, readings
}

// awaitHeld returns once an Admission has read the count twice: the second
// reading comes from its waiting loop, so the event is being held (and Done
// will wake it). It fails if done answers first.
func awaitHeld(t *testing.T, readings <-chan int, done <-chan int) {
	t.Helper()
	for range 2 {
		select {
		case <-readings:
		case code := <-done:
			t.Fatalf("answered %d with the limit reached", code)
		case <-time.After(testutil.DefaultTimeout):
			t.Fatal("timed out waiting for the admission to read the count")
		}
	}
}

// announcedOperations is fw.Operations for Config.Operations, also sending
// on the returned channel (without blocking) at each call: a request for an
// operation has parsed its query and is about to read or wait on it.
func announcedOperations(fw *storagefw.Framework) (func() *storagefw.OperationLog, <-chan struct{}) {
	called := make(chan struct{}, 1)
	return func() *storagefw.OperationLog {
		select {
		case called <- struct{}{}:
		default:
		}
		return fw.Operations()
	}, called
}

func newTestServer(t *testing.T, cfg Config) (*Server, *fakeEngine) {
	t.Helper()
	eng, _ := cfg.Engine.(*fakeEngine)
	if eng == nil {
		eng = &fakeEngine{}
		cfg.Engine = eng
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, eng
}

// do runs one request against the handler.
func do(s *Server, method, target string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return e.Error
}

func TestPostEvent(t *testing.T) {
	obs := &fakeObserver{}
	s, eng := newTestServer(t, Config{Observer: obs})

	rec := do(s, "POST", "/v1/events/dns", strings.NewReader(`{"query":"example.com","answers":[1,2]}`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var acc EventAccepted
	if err := json.Unmarshal(rec.Body.Bytes(), &acc); err != nil || acc != (EventAccepted{Event: "dns", Args: 1}) {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	rec = do(s, "POST", "/v1/events/multi?args=array", strings.NewReader(`[1, "two", null, {"x": true}]`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("spread: %d %s", rec.Code, rec.Body)
	}
	rec = do(s, "POST", "/v1/events/scalar", strings.NewReader(`"just a string"`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("scalar: %d", rec.Code)
	}
	rec = do(s, "POST", "/v1/events/%C3%A9v%20ent", strings.NewReader(`null`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("escaped name: %d", rec.Code)
	}
	want := []emitted{
		{"dns", []any{map[string]any{"query": "example.com", "answers": []any{1.0, 2.0}}}},
		{"multi", []any{1.0, "two", nil, map[string]any{"x": true}}},
		{"scalar", []any{"just a string"}},
		{"év ent", []any{nil}},
	}
	if got := eng.emitted(); !reflect.DeepEqual(got, want) {
		t.Fatalf("emitted %#v\nwant %#v", got, want)
	}
	if len(obs.reqs) != 4 || obs.reqs[0] != (recordedRequest{"POST /v1/events/{name}", 202}) {
		t.Errorf("observed %+v", obs.reqs)
	}
}

func TestPostEventErrors(t *testing.T) {
	s, eng := newTestServer(t, Config{})
	cases := []struct {
		target, body string
		status       int
		msg          string
	}{
		{"/v1/events/x", `{"a":`, 400, "malformed JSON"},
		{"/v1/events/x", `{"a" 1}`, 400, "malformed JSON at byte 6"},
		{"/v1/events/x", `{} {}`, 400, "malformed JSON"},
		{"/v1/events/x", ``, 400, "empty body"},
		{"/v1/events/x", "  \n", 400, "empty body"},
		{"/v1/events/x?args=array", `{"a":1}`, 400, "needs a JSON array body, got an object"},
		{"/v1/events/x?args=array", `3`, 400, "got a number"},
		{"/v1/events/x?args=list", `[1]`, 400, `the only value of "args" is "array"`},
		{"/v1/events/init", `null`, 400, "reserved for the engine"},
		{"/v1/events/done", `null`, 400, "reserved for the engine"},
		{"/v1/events/Storage.backend_lost", `null`, 400, "reserved for the engine"},
		{"/v1/events/scriptd.reload_failed", `null`, 400, "reserved for the engine"},
		{"/v1/events/" + strings.Repeat("n", MaxEventName+1), `null`, 400, "longer than"},
		{"/v1/events/%FF", `null`, 400, "not valid UTF-8"},
	}
	for _, c := range cases {
		rec := do(s, "POST", c.target, strings.NewReader(c.body))
		if rec.Code != c.status || !strings.Contains(errorOf(t, rec), c.msg) {
			t.Errorf("%s %q: %d %s, want %d containing %q", c.target, c.body, rec.Code, rec.Body, c.status, c.msg)
		}
	}
	if rec := do(s, "GET", "/v1/events/x", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET on events: %d", rec.Code)
	}
	if rec := do(s, "POST", "/v1/events/", strings.NewReader("1")); rec.Code != http.StatusNotFound {
		t.Errorf("no name: %d", rec.Code)
	}
	if n := len(eng.emitted()); n != 0 {
		t.Errorf("%d events emitted by failed requests", n)
	}
	eng.stopped = true
	if rec := do(s, "POST", "/v1/events/x", strings.NewReader("1")); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("stopped engine: %d", rec.Code)
	}
}

// countingReader counts how much of a body the server read.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestBodyLimit(t *testing.T) {
	s, eng := newTestServer(t, Config{MaxBody: 1000})
	big := `"` + strings.Repeat("x", 5000) + `"`

	// Declared too large: refused before reading anything.
	body := &countingReader{r: strings.NewReader(big)}
	req := httptest.NewRequest("POST", "/v1/events/x", body)
	req.ContentLength = int64(len(big))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || body.n.Load() != 0 {
		t.Fatalf("declared: %d after reading %d bytes", rec.Code, body.n.Load())
	}
	if !strings.Contains(errorOf(t, rec), "exceeds the limit of 1000") {
		t.Errorf("message %s", rec.Body)
	}

	// Undeclared (chunked): refused once the limit is passed.
	body = &countingReader{r: strings.NewReader(big)}
	req = httptest.NewRequest("POST", "/v1/events/x", body)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || body.n.Load() > 1000+bytes.MinRead+4096 {
		t.Fatalf("chunked: %d after reading %d bytes", rec.Code, body.n.Load())
	}

	// At the limit exactly: accepted.
	exact := `"` + strings.Repeat("y", 998) + `"`
	if rec := do(s, "POST", "/v1/events/x", strings.NewReader(exact)); rec.Code != http.StatusAccepted {
		t.Fatalf("exact limit: %d %s", rec.Code, rec.Body)
	}
	if n := len(eng.emitted()); n != 1 {
		t.Fatalf("%d events", n)
	}
}

// TestBodyLimitOverTCP checks that a real client gets the 413 (not a reset)
// when it announces a large body.
func TestBodyLimitOverTCP(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBody: 1 << 10})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/events/x", "application/json", bytes.NewReader(make([]byte, 4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	s, eng := newTestServer(t, Config{Token: "s3cret", Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "m 1\n")
	})})
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic s3cret"}, {"Authorization", "Bearer"}, {"Authorization", "Bearer s3cret2"}} {
		for _, route := range []struct{ method, target string }{{"POST", "/v1/events/x"}, {"GET", "/metrics"}, {"GET", "/v1/operations"}, {"GET", "/v1/operations/1"}} {
			rec := do(s, route.method, route.target, strings.NewReader("1"), hdr...)
			if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %v: %d", route.method, route.target, hdr, rec.Code)
			}
		}
	}
	if n := len(eng.emitted()); n != 0 {
		t.Fatalf("unauthorized events emitted: %d", n)
	}
	if rec := do(s, "POST", "/v1/events/x", strings.NewReader("1"), "Authorization", "Bearer s3cret"); rec.Code != http.StatusAccepted {
		t.Errorf("with token: %d", rec.Code)
	}
	if rec := do(s, "POST", "/v1/events/x", strings.NewReader("1"), "Authorization", "bearer s3cret"); rec.Code != http.StatusAccepted {
		t.Errorf("scheme is case-insensitive: %d", rec.Code)
	}
	if rec := do(s, "GET", "/metrics", nil, "Authorization", "Bearer s3cret"); rec.Code != 200 || rec.Body.String() != "m 1\n" {
		t.Errorf("metrics with token: %d %q", rec.Code, rec.Body)
	}
	if rec := do(s, "GET", "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("healthz needs no token: %d", rec.Code)
	}
}

func TestHealthz(t *testing.T) {
	eng := &fakeEngine{}
	s, _ := newTestServer(t, Config{Engine: eng, HealthTimeout: 50 * time.Millisecond})
	rec := do(s, "GET", "/healthz", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"ok"`) {
		t.Fatalf("healthy: %d %s", rec.Code, rec.Body)
	}
	eng.hold = make(chan struct{})
	start := time.Now()
	rec = do(s, "GET", "/healthz", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "did not turn over within 50ms") {
		t.Fatalf("blocked loop: %d %s", rec.Code, rec.Body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	close(eng.hold)
	if rec := do(s, "HEAD", "/healthz", nil); rec.Code != 200 {
		t.Errorf("HEAD: %d", rec.Code)
	}
	if rec := do(s, "GET", "/metrics", nil); rec.Code != 404 {
		t.Errorf("metrics without handler: %d", rec.Code)
	}
}

// TestEventWaitsForLoop: a 202 means the loop has taken the event.
func TestEventWaitsForLoop(t *testing.T) {
	eng := &fakeEngine{hold: make(chan struct{}), holding: make(chan struct{}, 1)}
	s, _ := newTestServer(t, Config{Engine: eng})
	done := make(chan int)
	go func() { done <- do(s, "POST", "/v1/events/x", strings.NewReader("1")).Code }()
	// The request reaches the loop's round trip without having answered.
	select {
	case code := <-done:
		t.Fatalf("answered %d before the loop turned over", code)
	case <-eng.holding:
	case <-time.After(testutil.DefaultTimeout):
		t.Fatal("timed out waiting for the request to wait on the loop")
	}
	close(eng.hold)
	if code := <-done; code != 202 {
		t.Fatalf("status %d", code)
	}
}

func newHoldFramework(t *testing.T, observer storagefw.Observer) (*storagefw.Framework, *storagefw.Handle, *storagetest.HoldBackend) {
	t.Helper()
	be := &storagetest.HoldBackend{}
	fw := storagefw.New(storagefw.Config{
		Backends: []storagefw.BackendType{{Name: "HOLD", OptionsField: "hold",
			Open: func(context.Context, storagefw.OpenConfig) (storagefw.Backend, error) { return be, nil }}},
		Observer: observer,
	})
	h, res := fw.Open(context.Background(), storagefw.OpenRequest{Backend: "HOLD", Options: map[string]any{"hold": map[string]any{}}, KeyType: "string", ValType: "any"})
	if res.Code != storagefw.Success {
		t.Fatal(res)
	}
	return fw, h, be
}

// startPut issues a put that stays running until the backend releases it.
func startPut(t *testing.T, h *storagefw.Handle, be *storagetest.HoldBackend, key string) {
	t.Helper()
	before := be.Pending()
	go h.Put(context.Background(), key, 1, storagefw.PutArgs{Overwrite: true})
	testutil.Eventually(t, 5*time.Second, "the put to reach the backend", func() bool { return be.Pending() != before })
}

func getJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
}

func TestOperations(t *testing.T) {
	fw, h, be := newHoldFramework(t, nil)
	s, _ := newTestServer(t, Config{Operations: fw.Operations, MaxWait: 200 * time.Millisecond})

	startPut(t, h, be, "k1")
	var list OperationList
	rec := do(s, "GET", "/v1/operations", nil)
	getJSON(t, rec, &list)
	if rec.Code != 200 || len(list.Operations) != 2 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	open, put := list.Operations[0], list.Operations[1]
	if open.Method != "open_backend" || open.State != storagefw.StateDone || open.Code != storagefw.Success {
		t.Errorf("open: %+v", open)
	}
	if put.Method != "put" || put.Backend != "HOLD" || put.Key != `"k1"` || put.State != storagefw.StateRunning {
		t.Errorf("put: %+v", put)
	}
	getJSON(t, do(s, "GET", "/v1/operations?state=running", nil), &list)
	if len(list.Operations) != 1 || list.Operations[0].ID != put.ID {
		t.Errorf("running: %+v", list.Operations)
	}
	getJSON(t, do(s, "GET", "/v1/operations?state=done", nil), &list)
	if len(list.Operations) != 1 || list.Operations[0].ID != open.ID {
		t.Errorf("done: %+v", list.Operations)
	}
	if rec := do(s, "GET", "/v1/operations?state=bogus", nil); rec.Code != 400 {
		t.Errorf("bad state: %d", rec.Code)
	}

	var info storagefw.OperationInfo
	getJSON(t, do(s, "GET", "/v1/operations/"+put.ID, nil), &info)
	if info.ID != put.ID || info.State != storagefw.StateRunning {
		t.Errorf("get: %+v", info)
	}
	for _, id := range []string{"999", "abc", "-1"} {
		if rec := do(s, "GET", "/v1/operations/"+id, nil); rec.Code != 404 {
			t.Errorf("unknown id %s: %d", id, rec.Code)
		}
		if rec := do(s, "GET", "/v1/operations/"+id+"?wait=1s", nil); rec.Code != 404 {
			t.Errorf("unknown id %s with wait: %d", id, rec.Code)
		}
	}
	for _, w := range []string{"x", "-1s", "-3"} {
		if rec := do(s, "GET", "/v1/operations/"+put.ID+"?wait="+w, nil); rec.Code != 400 {
			t.Errorf("wait=%s: %d", w, rec.Code)
		}
	}

	// A wait longer than MaxWait is capped: the still running op comes back.
	start := time.Now()
	getJSON(t, do(s, "GET", "/v1/operations/"+put.ID+"?wait=30s", nil), &info)
	if d := time.Since(start); info.State != storagefw.StateRunning || d < 150*time.Millisecond || d > 5*time.Second {
		t.Errorf("capped wait: %+v after %v", info, d)
	}

	// A wait ends when the operation does: the put finishes once the
	// request is about to wait on it (whether it then finds the put still
	// running or already done, the answer is the finished put).
	operations, lookedUp := announcedOperations(fw)
	s2, _ := newTestServer(t, Config{Operations: operations})
	answered := make(chan *httptest.ResponseRecorder, 1)
	start = time.Now()
	go func() { answered <- do(s2, "GET", "/v1/operations/"+put.ID+"?wait=10", nil) }()
	await(t, lookedUp, "the request to look the operation up")
	be.Release()
	rec = await(t, answered, "the waiting request")
	getJSON(t, rec, &info)
	if info.State != storagefw.StateDone || info.Code != storagefw.Success || info.Finished.IsZero() {
		t.Errorf("after wait: %+v", info)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("wait took %v", d)
	}
	// A finished op with wait answers at once.
	start = time.Now()
	getJSON(t, do(s2, "GET", "/v1/operations/"+put.ID+"?wait=10s", nil), &info)
	if info.State != storagefw.StateDone || time.Since(start) > time.Second {
		t.Errorf("done op wait: %+v", info)
	}
}

// TestCancelAndForget: POST /v1/operations/{id}:cancel cancels an operation
// its backend has not taken (the caller sees OPERATION_FAILED "cancelled"),
// and is refused (409) once it was taken; DELETE /v1/operations/{id}
// forgets a finished one and refuses a running one.
func TestCancelAndForget(t *testing.T) {
	fw, h, be := newHoldFramework(t, nil)
	s, _ := newTestServer(t, Config{Operations: fw.Operations})
	running := func() storagefw.OperationInfo {
		t.Helper()
		var list OperationList
		getJSON(t, do(s, "GET", "/v1/operations?state=running", nil), &list)
		if len(list.Operations) != 1 {
			t.Fatalf("running: %+v", list.Operations)
		}
		return list.Operations[0]
	}

	results := make(chan storagefw.OperationResult, 1)
	h.PutAsync(0, "k1", 1, storagefw.PutArgs{Overwrite: true}, func(r storagefw.OperationResult) { results <- r })
	op := running()
	rec := do(s, "POST", "/v1/operations/"+op.ID+":cancel", nil)
	var info storagefw.OperationInfo
	getJSON(t, rec, &info)
	if rec.Code != 200 || info.State != storagefw.StateDone || info.Code != storagefw.OperationFailed || info.Error != "cancelled" {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
	}
	if r := <-results; r.Code != storagefw.OperationFailed || r.Error != "cancelled" {
		t.Fatalf("the caller got %+v", r)
	}
	if rec := do(s, "POST", "/v1/operations/"+op.ID+":cancel", nil); rec.Code != 409 {
		t.Errorf("cancel of a finished op: %d %s", rec.Code, rec.Body)
	}

	h.PutAsync(0, "k2", 1, storagefw.PutArgs{Overwrite: true}, func(r storagefw.OperationResult) { results <- r })
	op2 := running()
	be.Take()
	if rec := do(s, "POST", "/v1/operations/"+op2.ID+":cancel", nil); rec.Code != 409 {
		t.Errorf("cancel of a sent op: %d %s", rec.Code, rec.Body)
	}
	if rec := do(s, "DELETE", "/v1/operations/"+op2.ID, nil); rec.Code != 409 {
		t.Errorf("forget of a running op: %d %s", rec.Code, rec.Body)
	}
	be.Release()
	if r := <-results; r.Code != storagefw.Success {
		t.Fatalf("the sent put: %+v", r)
	}
	for _, id := range []string{op.ID, op2.ID} {
		if rec := do(s, "DELETE", "/v1/operations/"+id, nil); rec.Code != 204 {
			t.Errorf("forget %s: %d %s", id, rec.Code, rec.Body)
		}
		if rec := do(s, "GET", "/v1/operations/"+id, nil); rec.Code != 404 {
			t.Errorf("get after forget: %d", rec.Code)
		}
		if rec := do(s, "DELETE", "/v1/operations/"+id, nil); rec.Code != 404 {
			t.Errorf("forget twice: %d", rec.Code)
		}
	}
	for _, target := range []string{"/v1/operations/999:cancel", "/v1/operations/abc:cancel", "/v1/operations/1:frobnicate", "/v1/operations/1"} {
		if rec := do(s, "POST", target, nil); rec.Code != 404 {
			t.Errorf("POST %s: %d", target, rec.Code)
		}
	}
}

func TestOperationsWithoutFramework(t *testing.T) {
	s, _ := newTestServer(t, Config{Operations: func() *storagefw.OperationLog { return nil }})
	rec := do(s, "GET", "/v1/operations", nil)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"operations":[]}` {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := do(s, "GET", "/v1/operations/1", nil); rec.Code != 404 {
		t.Errorf("get: %d", rec.Code)
	}
}

func TestAdmission(t *testing.T) {
	var inFlight atomic.Int64
	inFlight.Store(5)
	count, readings := announced(func() int { return int(inFlight.Load()) })
	adm := NewAdmission(5, count, 2*time.Second)
	s, eng := newTestServer(t, Config{Admission: adm})
	done := make(chan int)
	go func() { done <- do(s, "POST", "/v1/events/x", strings.NewReader("1")).Code }()
	awaitHeld(t, readings, done)
	if n := len(eng.emitted()); n != 0 {
		t.Fatalf("emitted %d while held", n)
	}
	inFlight.Store(4)
	adm.Done()
	select {
	case code := <-done:
		if code != 202 {
			t.Fatalf("status %d", code)
		}
	case <-time.After(time.Second):
		t.Fatal("not admitted after an operation finished")
	}

	// Held too long: 503 with Retry-After.
	inFlight.Store(9)
	s2, _ := newTestServer(t, Config{Admission: NewAdmission(5, func() int { return int(inFlight.Load()) }, 30*time.Millisecond)})
	rec := do(s2, "POST", "/v1/events/x", strings.NewReader("1"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(errorOf(t, rec), "timed out") {
		t.Fatalf("timeout: %d %s", rec.Code, rec.Body)
	}
}

// doneObserver is a storagefw.Observer calling done for every finished
// operation (as scriptd's services wire Admission.Done).
type doneObserver struct{ done func() }

func (o doneObserver) BackendOpened(storagefw.BackendInfo) storagefw.BackendObserver { return o }
func (o doneObserver) Operation(storagefw.OperationReport)                           { o.done() }
func (doneObserver) Closed()                                                         {}
func (doneObserver) DataWritten(int)                                                 {}
func (doneObserver) DataRead(int)                                                    {}
func (doneObserver) EntriesExpired(int)                                              {}

// TestAdmissionWithFramework wires Done into a real framework's observer.
func TestAdmissionWithFramework(t *testing.T) {
	var adm *Admission
	fw, h, be := newHoldFramework(t, doneObserver{func() { adm.Done() }})
	count, readings := announced(fw.Operations().InFlight)
	adm = NewAdmission(2, count, 5*time.Second)
	s, eng := newTestServer(t, Config{Admission: adm})
	startPut(t, h, be, "a")
	startPut(t, h, be, "b")
	done := make(chan int)
	go func() { done <- do(s, "POST", "/v1/events/x", strings.NewReader("1")).Code }()
	awaitHeld(t, readings, done)
	if len(eng.emitted()) != 0 {
		t.Fatal("admitted over the limit")
	}
	be.Release()
	if code := <-done; code != 202 {
		t.Fatalf("status %d", code)
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"8080":           "127.0.0.1:8080",
		"0.0.0.0:8080":   "0.0.0.0:8080",
		"localhost:1":    "localhost:1",
		"[::]:9":         "[::]:9",
		"[::1]:9":        "[::1]:9",
		"10.1.2.3:0":     "10.1.2.3:0",
		"127.0.0.1:8080": "127.0.0.1:8080",
	} {
		if got, err := ListenAddr(in); err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "host", "a:b:c", "99999"} {
		if got, err := ListenAddr(bad); err == nil {
			t.Errorf("ListenAddr(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLifecycle(t *testing.T) {
	fw, h, be := newHoldFramework(t, nil)
	startPut(t, h, be, "k")
	operations, lookedUp := announcedOperations(fw)
	s, _ := newTestServer(t, Config{Operations: operations})
	addr, err := s.Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	if ip := addr.(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("bound %v, want loopback", addr)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	// A long operation wait is cut short by Shutdown.
	waitDone := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/v1/operations/2?wait=50s")
		if err == nil {
			var info storagefw.OperationInfo
			err = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if err == nil && info.State != storagefw.StateRunning {
				err = fmt.Errorf("state %s", info.State)
			}
		}
		waitDone <- err
	}()
	// Shut down with the request in progress: its handler has it.
	await(t, lookedUp, "the request to look the operation up")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if err := <-waitDone; err != nil {
		t.Errorf("waiting request: %v", err)
	}
	// The port is free again.
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	ln.Close()
	if err := s.Serve(); err == nil {
		t.Error("Serve after Shutdown succeeded")
	}
	be.Release()
}

func TestShutdownWithoutServe(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	ln.Close()
}

func TestListenBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, _ := newTestServer(t, Config{})
	if _, err := s.Listen(ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err %v", err)
	}
}

// The stream inputs' state rides along in GET /v1/operations, whatever
// ?state= filters, as a field of its own.
func TestOperationsStreams(t *testing.T) {
	var streams []StreamInput
	s, _ := newTestServer(t, Config{Streams: func() []StreamInput { return streams }})
	if rec := do(s, "GET", "/v1/operations", nil); strings.TrimSpace(rec.Body.String()) != `{"operations":[]}` {
		t.Errorf("without streams: %s", rec.Body)
	}
	streams = []StreamInput{{Input: "redis://h:1/k?group=g", URL: "redis://h:1/k?group=g", Group: "g", Consumer: "host-1",
		Lag: 3, Pending: 2, Unacked: 1, Acked: 7, Records: 8, Skipped: 1, Redelivered: 4, Reconnects: 5}}
	want := `{"operations":[],"streams":[{"input":"redis://h:1/k?group=g","url":"redis://h:1/k?group=g","group":"g","consumer":"host-1",` +
		`"lag":3,"pending":2,"unacked":1,"acked":7,"records":8,"skipped":1,"redelivered":4,"reconnects":5}]}`
	for _, target := range []string{"/v1/operations", "/v1/operations?state=running"} {
		if rec := do(s, "GET", target, nil); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != want {
			t.Errorf("%s: %d %s\nwant %s", target, rec.Code, rec.Body, want)
		}
	}
}
