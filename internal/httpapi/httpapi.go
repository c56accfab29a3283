// Package httpapi serves scriptd's HTTP interface (docs/http.md):
//
//	POST /v1/events/{name}       fire an event (body: one JSON value; ?args=array spreads an array)
//	GET  /healthz                200 while the event loop turns over, 503 otherwise
//	GET  /metrics                Prometheus text format
//	GET  /v1/operations          storage operations, in flight and recently finished (?state=running|done), and the stream inputs' state
//	GET  /v1/operations/{id}     one operation (?wait=5s waits for it to finish)
//	POST /v1/operations/{id}:cancel  cancel one not yet sent to its backend (409 once sent)
//	DELETE /v1/operations/{id}   forget a finished one (409 while running)
//
// Event bodies: any JSON value, decoded to Go values (map[string]any,
// []any, float64, string, bool, nil) and passed to Engine.Emit; at most
// Config.MaxBody bytes (413 beyond, refused from Content-Length before
// reading); malformed JSON gets 400 with the parser's message and offset.
// Names are at most MaxEventName bytes of UTF-8; "init" and "done" are
// refused (400): only the engine fires lifecycle events. Errors are JSON
// objects {"error": "..."}.
//
// Authentication: with Config.Token set, every route except /healthz
// requires "Authorization: Bearer TOKEN" (401 otherwise). /healthz stays
// open so that liveness probes need no secret; it reveals nothing but
// liveness. /metrics is protected: Prometheus sends the token with
// `authorization: {credentials: TOKEN}` in its scrape config.
//
// Backpressure: after queuing an event, a request waits until the event
// loop has turned over (Engine.Ping) before answering 202, so intake slows
// down with a busy loop instead of piling up behind it; and while
// Config.Admission reports too many storage operations in flight, new
// events wait (then 503 with Retry-After). A 202 means the engine holds the
// event: it is dispatched before done, provided the server is shut down
// before the engine is told to stop (see Lifecycle).
//
// Lifecycle: New, then Listen (binds; loopback unless the address names a
// host), then Serve (answers requests in the background), then Shutdown
// (stops accepting, waits for requests in progress). Only after Shutdown
// returns should the engine be told to stop: every 202 then names an event
// the engine will dispatch before done. A Server is used once.
//
// Concurrency: handlers run on net/http's goroutines and call the Engine
// only through its goroutine-safe methods (Emit, Ping). Server methods may
// be called from any goroutine.
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/netutil"

	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/input"
	"github.com/scriptd/scriptd/storagefw"
)

// Defaults.
const (
	DefaultMaxBody       = 1 << 20
	DefaultHealthTimeout = 2 * time.Second
	DefaultMaxWait       = 60 * time.Second
	// MaxEventName bounds an event name's length in bytes.
	MaxEventName = 256
)

// Engine is what the server needs of the script engine (engine.Engine
// implements it). Both methods must be safe from any goroutine.
type Engine interface {
	// EmitJSON queues an event whose arguments are JSON text (one value,
	// or an array's elements with spread) and returns once the engine has
	// taken it and has room for more work, or with ctx's error.
	EmitJSON(ctx context.Context, name string, raw []byte, spread bool) error
	// Ping returns once the event loop has run a task queued now.
	Ping(ctx context.Context) error
	// CallJSON fires the event and returns its handlers' result as JSON
	// (see engine.Engine.CallJSON).
	CallJSON(ctx context.Context, name string, raw []byte, spread bool) (json.RawMessage, error)
}

// RequestObserver receives one report per served request (metrics). route
// is the matched pattern ("" if none). It must not block.
type RequestObserver interface {
	HTTPRequest(route string, status int, took time.Duration)
}

// Config configures a Server. Engine is required.
type Config struct {
	Engine Engine
	// Token, if set, is the bearer token every route but /healthz requires.
	Token string
	// MaxBody is the largest event body accepted, in bytes (default
	// DefaultMaxBody); a larger one gets 413.
	MaxBody int64
	// Operations returns the storage operations registry, or nil while
	// there is none. It is called per request.
	Operations func() *storagefw.OperationLog
	// Streams returns the stream inputs' state for GET /v1/operations
	// (nil or empty: the response has no "streams" field). It is called
	// per request and must be safe from any goroutine.
	Streams func() []StreamInput
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler
	// Observer, if set, is told about every request.
	Observer RequestObserver
	// Admission, if set, holds new events while too many storage
	// operations are in flight.
	Admission *Admission
	// HealthTimeout bounds the loop round trip of /healthz (default 2 s).
	HealthTimeout time.Duration
	// MaxWait caps ?wait= on an operation (default 60 s).
	MaxWait time.Duration
	// Logger receives server diagnostics (default slog.Default()).
	Logger *slog.Logger
}

// Server is the HTTP interface of one engine.
type Server struct {
	cfg       Config
	log       *slog.Logger
	tokenHash [32]byte
	handler   http.Handler
	srv       *http.Server

	stopping  context.Context // ends when Shutdown starts: aborts long waits
	stop      context.CancelFunc
	mu        sync.Mutex
	ln        net.Listener
	serving   bool
	serveDone chan struct{}
	bodySlots chan struct{} // a token per body being read (bodyReaders)
}

// New creates a server.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("httpapi: Config.Engine is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = DefaultHealthTimeout
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, serveDone: make(chan struct{}), bodySlots: make(chan struct{}, bodyReaders)}
	s.stopping, s.stop = context.WithCancel(context.Background())
	if cfg.Token != "" {
		s.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events/{name}", s.auth(http.HandlerFunc(s.postEvent)))
	mux.Handle("POST /v1/call/{name}", s.auth(http.HandlerFunc(s.postCall)))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.auth(s.metrics()))
	mux.Handle("GET /v1/operations", s.auth(http.HandlerFunc(s.listOperations)))
	mux.Handle("GET /v1/operations/{id}", s.auth(http.HandlerFunc(s.getOperation)))
	mux.Handle("POST /v1/operations/{idverb}", s.auth(http.HandlerFunc(s.cancelOperation)))
	mux.Handle("DELETE /v1/operations/{id}", s.auth(http.HandlerFunc(s.forgetOperation)))
	s.handler = s.observe(mux)
	s.srv = &http.Server{
		Handler: s.handler,
		// An event API's requests are small: a client that cannot send its
		// headers in 5 s or its body in 30 s is cut off (slowloris).
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.MaxWait + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Bounds on what clients can make the server hold.
const (
	// MaxConnections is how many connections are served at once.
	MaxConnections = 4096
	// bodyReaders is how many request bodies are read at once.
	bodyReaders = 256
	// bodyPrealloc caps what is allocated from Content-Length before the
	// bytes arrive.
	bodyPrealloc = 64 << 10
)

// Handler is the server's routing handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAddr returns the address --listen ADDR binds: a bare port or
// ":port" means loopback (127.0.0.1:port); an address naming a host,
// including 0.0.0.0 or [::], is used as given.
func ListenAddr(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("empty listen address")
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", addr), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Listen binds addr (see ListenAddr) and returns the bound address. It
// does not answer requests until Serve.
func (s *Server) Listen(addr string) (net.Addr, error) {
	a, err := ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, err // a *net.OpError: it names the operation and address
	}
	// Connections beyond the cap wait in the kernel's accept queue.
	ln = netutil.LimitListener(ln, MaxConnections)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		ln.Close()
		return nil, errors.New("httpapi: Listen called twice")
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Serve answers requests on the bound listener in a background goroutine.
func (s *Server) Serve() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return errors.New("httpapi: Serve before Listen")
	}
	if s.serving {
		return errors.New("httpapi: Serve called twice")
	}
	s.serving = true
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Shutdown stops accepting connections, aborts operation waits, and waits
// until requests in progress have been answered or ctx ends (then it
// closes the remaining connections). The listening port is released when
// it returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	s.mu.Lock()
	serving, ln := s.serving, s.ln
	s.mu.Unlock()
	if !serving {
		if ln != nil {
			return ln.Close()
		}
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		err = fmt.Errorf("http shutdown: %w", err)
	}
	<-s.serveDone
	return err
}

// ---- middleware ----

// auth requires the bearer token when one is configured.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scriptd"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized compares the presented token in constant time (over SHA-256
// digests, so neither content nor length leaks through timing).
func (s *Server) authorized(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// statusWriter records the status code for the request observer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) observe(mux *http.ServeMux) http.Handler {
	if s.cfg.Observer == nil {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The mux records the matched pattern on the request.
		s.cfg.Observer.HTTPRequest(r.Pattern, sw.status, time.Since(start))
	})
}

// ---- responses ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding the response failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errorBody is every error response: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, args...)})
}

// ---- /v1/events/{name} ----

// EventAccepted is the 202 body of POST /v1/events/{name}.
type EventAccepted struct {
	Event string `json:"event"`
	Args  int    `json:"args"`
}

// eventRequest checks what POST /v1/events/{name} and /v1/call/{name}
// share: the name, ?args=array and the body (answering the error itself).
func (s *Server) eventRequest(w http.ResponseWriter, r *http.Request) (name string, body []byte, spread, ok bool) {
	name = r.PathValue("name")
	switch {
	case len(name) > MaxEventName:
		writeError(w, http.StatusBadRequest, "event name longer than %d bytes", MaxEventName)
		return
	case !utf8.ValidString(name):
		writeError(w, http.StatusBadRequest, "event name is not valid UTF-8")
		return
	case input.ReservedEvent(name):
		writeError(w, http.StatusBadRequest, "%q is reserved for the engine (init, done, Storage.*, scriptd.*)", name)
		return
	}
	if v, ok := r.URL.Query()["args"]; ok {
		if len(v) != 1 || v[0] != "array" {
			writeError(w, http.StatusBadRequest, `the only value of "args" is "array"`)
			return name, nil, false, false
		}
		spread = true
	}
	body, ok = s.readBody(w, r)
	return name, body, spread, ok
}

// ---- /v1/call/{name} ----

// DefaultCallTimeout is how long POST /v1/call/{name} waits for the
// handlers' result unless ?timeout= says otherwise.
const DefaultCallTimeout = 30 * time.Second

// postCall fires the event and answers with its handlers' result: 200 and
// the JSON value, 404 without a handler, 500 when a handler threw or
// rejected, 504 once ?timeout= (default 30 s) has passed.
func (s *Server) postCall(w http.ResponseWriter, r *http.Request) {
	timeout := DefaultCallTimeout
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := storagefw.ParseInterval(t, 0)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "timeout %q: want a duration such as 5s or 250ms", t)
			return
		}
		timeout = d
	}
	name, body, spread, ok := s.eventRequest(w, r)
	if !ok {
		return
	}
	if _, err := decodeArgs(body, spread); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := s.cfg.Engine.CallJSON(ctx, name, body, spread)
	var he *engine.HandlerError
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(res, '\n'))
	case errors.Is(err, engine.ErrNoHandler):
		writeError(w, http.StatusNotFound, "no handler for %q", name)
	case errors.As(err, &he):
		writeError(w, http.StatusInternalServerError, "%s", he.Message)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "no result within %v", timeout)
	case r.Context().Err() != nil:
		// the client left
	default:
		writeError(w, http.StatusServiceUnavailable, "the engine is not accepting events: %v", err)
	}
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	name, body, spread, ok := s.eventRequest(w, r)
	if !ok {
		return
	}
	args, err := decodeArgs(body, spread)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if a := s.cfg.Admission; a != nil {
		if err := a.Wait(r.Context(), s.stopping); err != nil {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "too many storage operations in flight: %v", err)
			return
		}
	}
	// Answer once the engine has taken the event and has room for more, so
	// requests cannot outrun a busy loop. An error here means the client
	// left (the event stays queued) or the engine stopped.
	if err := s.cfg.Engine.EmitJSON(r.Context(), name, body, spread); err != nil {
		if r.Context().Err() != nil {
			return
		}
		writeError(w, http.StatusServiceUnavailable, "the engine is not accepting events: %v", err)
		return
	}
	writeJSON(w, http.StatusAccepted, EventAccepted{Event: name, Args: len(args)})
}

// readBody reads at most MaxBody bytes, answering 413 for more: at once
// when Content-Length says so, without reading the body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := s.cfg.MaxBody
	if r.ContentLength > limit {
		// net/http closes the connection rather than drain a large body.
		writeError(w, http.StatusRequestEntityTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
		return nil, false
	}
	// At most bodyReaders bodies are read at once; the others wait without
	// holding memory (a client declaring a large Content-Length and
	// trickling bytes gets nothing allocated ahead of what it sent).
	select {
	case s.bodySlots <- struct{}{}:
		defer func() { <-s.bodySlots }()
	case <-r.Context().Done():
		return nil, false
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, bodyPrealloc)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", limit)
		} else {
			writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		}
		return nil, false
	}
	return buf.Bytes(), true
}

// decodeArgs parses the body into the event's arguments: the value itself,
// or with spread the elements of an array.
func decodeArgs(body []byte, spread bool) ([]any, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, errors.New("empty body: send one JSON value (null for none)")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
		}
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if !spread {
		return []any{v}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("args=array needs a JSON array body, got %s", jsonKind(v))
	}
	return list, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// ---- /healthz ----

// Health is the body of /healthz.
type Health struct {
	Status string `json:"status"` // "ok" or "unresponsive"
	Error  string `json:"error,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.Engine.Ping(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the event loop did not turn over within %v", s.cfg.HealthTimeout)
		}
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unresponsive", Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

// ---- /metrics ----

func (s *Server) metrics() http.Handler {
	if s.cfg.Metrics == nil {
		return http.NotFoundHandler()
	}
	return s.cfg.Metrics
}

// ---- /v1/operations ----

// OperationList is the body of GET /v1/operations.
type OperationList struct {
	Operations []storagefw.OperationInfo `json:"operations"`
	// Streams are the stream inputs (--input nats://..., redis://...),
	// in --input order; absent when the run has none.
	Streams []StreamInput `json:"streams,omitempty"`
}

// StreamInput is one stream input's state in GET /v1/operations: its
// consumer group's position in the stream (as last polled, every 2 s)
// and this process's share. The counters are the /metrics ones of the
// same input (the label "input" has the same value).
type StreamInput struct {
	Input    string `json:"input"`    // the "input" label of its metrics (the URL, cut to 128 bytes; "#2"... appended for one given twice)
	URL      string `json:"url"`      // the URL as given, its password replaced by "xxxxx"
	Group    string `json:"group"`    // the consumer group (Redis) or durable consumer (JetStream)
	Consumer string `json:"consumer"` // this process's consumer name (Redis) or connection name suffix (JetStream)
	// Lag is scriptd_input_stream_lag: records not yet delivered to the
	// group (-1 unknown).
	Lag int64 `json:"lag"`
	// Pending is scriptd_input_stream_pending: records delivered to the
	// group's processes and not yet acknowledged, group-wide (-1 unknown).
	Pending int64 `json:"pending"`
	// Unacked is scriptd_input_unacked: records delivered to this process
	// whose handlers have not all settled.
	Unacked int64 `json:"unacked"`
	// Acked is scriptd_input_acked_total: records this process
	// acknowledged (bad records included).
	Acked int64 `json:"acked"`
	// Records and Skipped are scriptd_input_records_total and
	// scriptd_input_skipped_total.
	Records int64 `json:"records"`
	Skipped int64 `json:"skipped"`
	// Redelivered counts records received that had been delivered before
	// (to any process); Reconnects, connections lost and re-established.
	Redelivered int64 `json:"redelivered"`
	Reconnects  int64 `json:"reconnects"`
}

func (s *Server) operations() *storagefw.OperationLog {
	if s.cfg.Operations == nil {
		return nil
	}
	return s.cfg.Operations()
}

func (s *Server) listOperations(w http.ResponseWriter, r *http.Request) {
	state := storagefw.OperationState(r.URL.Query().Get("state"))
	if state != "" && state != storagefw.StateRunning && state != storagefw.StateDone {
		writeError(w, http.StatusBadRequest, "state must be %q or %q", storagefw.StateRunning, storagefw.StateDone)
		return
	}
	list := []storagefw.OperationInfo{}
	if ops := s.operations(); ops != nil {
		for _, op := range ops.List() {
			if state == "" || op.State == state {
				list = append(list, op)
			}
		}
	}
	resp := OperationList{Operations: list}
	if s.cfg.Streams != nil {
		resp.Streams = s.cfg.Streams()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := parseWait(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "wait: %v", err)
			return
		}
		wait = min(d, s.cfg.MaxWait)
	}
	ops := s.operations()
	if ops == nil {
		writeError(w, http.StatusNotFound, "no operation %q", id)
		return
	}
	var info storagefw.OperationInfo
	var found bool
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		stop := context.AfterFunc(s.stopping, cancel)
		info, found = ops.Wait(ctx, id)
		stop()
		cancel()
	} else {
		info, found = ops.Get(id)
	}
	if !found {
		writeError(w, http.StatusNotFound, "no operation %q (finished operations are kept for a limited time)", id)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// cancelOperation is POST /v1/operations/{id}:cancel: cancel an operation
// not yet sent to its backend (its promise resolves OPERATION_FAILED,
// "cancelled"); 200 with the operation, 409 once it was sent, 404 unknown.
func (s *Server) cancelOperation(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("idverb"), ":cancel")
	if !ok {
		writeError(w, http.StatusNotFound, "no such route: POST /v1/operations/{id}:cancel cancels an operation")
		return
	}
	ops := s.operations()
	if ops == nil {
		writeError(w, http.StatusNotFound, "no operation %q", id)
		return
	}
	switch err := ops.Cancel(id); {
	case errors.Is(err, storagefw.ErrUnknownOperation):
		writeError(w, http.StatusNotFound, "no operation %q (finished operations are kept for a limited time)", id)
		return
	case errors.Is(err, storagefw.ErrOperationSent):
		writeError(w, http.StatusConflict, "operation %s cannot be cancelled: it was already sent to its backend", id)
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	info, found := ops.Get(id)
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// forgetOperation is DELETE /v1/operations/{id}: forget a finished
// operation; 204, 409 while it runs, 404 unknown.
func (s *Server) forgetOperation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ops := s.operations()
	if ops == nil {
		writeError(w, http.StatusNotFound, "no operation %q", id)
		return
	}
	switch err := ops.Forget(id); {
	case errors.Is(err, storagefw.ErrUnknownOperation):
		writeError(w, http.StatusNotFound, "no operation %q (finished operations are kept for a limited time)", id)
	case errors.Is(err, storagefw.ErrOperationRunning):
		writeError(w, http.StatusConflict, "operation %s is still running; cancel it first (POST /v1/operations/%s:cancel)", id, id)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "%v", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// parseWait reads a Go duration ("5s", "250ms") or a number of seconds.
func parseWait(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("negative duration %q", v)
		}
		return d, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e6 {
		return 0, fmt.Errorf("%q is not a duration such as 5s or 250ms", v)
	}
	return time.Duration(f * float64(time.Second)), nil
}
