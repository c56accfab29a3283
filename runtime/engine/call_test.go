package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// Engine.Call from Go: the handlers' awaited result, exported to Go, and
// the errors an embedder tells apart.
func TestCallFromGo(t *testing.T) {
	dir := writeScripts(t, map[string]string{"a.js": `
		on("double", async (n) => { await null; return n * 2; });
		on("fail", () => { throw new TypeError("bad input"); });
	`})
	var out, errb testutil.Buffer
	e, err := New(Config{Paths: []string{dir}, Stdout: &out, Stderr: &errb, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	callCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	got, err := e.Call(callCtx, "double", 21)
	if err != nil || got != int64(42) {
		t.Fatalf("Call(double, 21) = %v (%T), %v", got, got, err)
	}
	if _, err := e.Call(callCtx, "nobody"); !errors.Is(err, ErrNoHandler) {
		t.Errorf("Call(nobody): %v, want ErrNoHandler", err)
	}
	var he *HandlerError
	if _, err := e.Call(callCtx, "fail"); !errors.As(err, &he) || he.Message != "TypeError: bad input" {
		t.Errorf("Call(fail): %v", err)
	}
	if _, err := e.Call(callCtx, "init"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("Call(init): %v", err)
	}
}
