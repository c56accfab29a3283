package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/engine"
)

// FuzzEventBody posts arbitrary bodies to a real engine through the event
// route: nothing panics, malformed JSON is a 400 and only a 400, and what
// is answered 202 reaches a handler (the script counts arguments; a body
// whose JSON.parse disagreed with the route's check would throw there).
func FuzzEventBody(f *testing.F) {
	for _, seed := range []string{`{}`, `[1,2]`, `"x"`, `{"a":1,"a":2}`, `[`, `{"a":}`, "\x00", `1e999`, `{"__proto__":{"x":1}}`, `[[[[[[]]]]]]`, "\"\\ud800\""} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.js"), []byte(`on("e", (...args) => { if (args.length > 1e6) throw new Error("impossible"); });`), 0o644); err != nil {
		f.Fatal(err)
	}
	var stderr testutil.Buffer
	eng, err := engine.New(engine.Config{Paths: []string{dir}, KeepAlive: true, Stdout: &testutil.Buffer{}, Stderr: &stderr})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	f.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			f.Error(err)
		}
	})
	srv, err := New(Config{Engine: eng})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte, spread bool) {
		target := "/v1/events/e"
		if spread {
			target += "?args=array"
		}
		rec := httptest.NewRecorder()
		rctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		h.ServeHTTP(rec, httptest.NewRequest("POST", target, bytes.NewReader(body)).WithContext(rctx))
		if rctx.Err() != nil {
			t.Fatalf("the engine did not take %q within 5 s", body)
		}
		switch rec.Code {
		case 202:
			if !json.Valid(body) {
				t.Fatalf("202 for invalid JSON %q", body)
			}
			// The loop parsed the body before the 202: JSON.parse must have
			// agreed with the route's check.
			if msg := stderr.String(); msg != "" {
				t.Fatalf("202 for %q, but the engine said: %s", body, msg)
			}
		case 400:
			var v any
			if json.Unmarshal(body, &v) == nil {
				if _, isArray := v.([]any); !spread || isArray {
					t.Fatalf("400 for valid JSON %q: %s", body, rec.Body.String())
				}
			}
		default:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
