package redis

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
)

// testServer is a redis-server process owned by one test (or benchmark). It
// listens on a loopback port chosen at start and keeps that port across
// kill/restart cycles.
type testServer struct {
	tb    testing.TB
	port  int
	extra []string
	dir   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *testutil.Buffer
}

// startServer starts a redis-server with extra arguments, skipping the test
// if the binary is not installed. The server is killed at the end of the
// test.
func startServer(tb testing.TB, extra ...string) *testServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server not installed")
	}
	s := &testServer{tb: tb, extra: extra, dir: tb.TempDir()}
	for attempt := 0; ; attempt++ {
		s.port = testutil.FreePort(tb)
		if err := s.tryStart(); err == nil {
			break
		} else if attempt == 5 {
			tb.Fatalf("starting redis-server: %v", err)
		}
	}
	tb.Cleanup(s.kill)
	return s
}

// restart starts the server again on the same port after kill.
func (s *testServer) restart() {
	s.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.tryStart()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("restarting redis-server on port %d: %v", s.port, err)
		}
	}
}

func (s *testServer) tryStart() error {
	args := append([]string{"--save", "", "--appendonly", "no", "--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1", "--dir", s.dir, "--logfile", ""}, s.extra...)
	cmd := exec.Command("redis-server", args...)
	out := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()

	// Poll until it answers PING (or asks for AUTH), or exits.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		if s.ping() {
			return nil
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	s.kill()
	return fmt.Errorf("redis-server did not come up: %s", out.String())
}

func (s *testServer) ping() bool {
	nc, err := net.DialTimeout("tcp", s.addr(), time.Second)
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Second))
	if _, err := nc.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	return err == nil && (line == "+PONG\r\n" || bytes.HasPrefix([]byte(line), []byte("-NOAUTH")))
}

// kill sends SIGKILL and waits for the process to exit.
func (s *testServer) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

func (s *testServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// client is a plain go-redis client for checking what the backend stored.
func (s *testServer) client(opts ...func(*goredis.Options)) *goredis.Client {
	s.tb.Helper()
	o := &goredis.Options{Addr: s.addr(), Protocol: 2, MaxRetries: -1, DisableIdentity: true}
	for _, f := range opts {
		f(o)
	}
	c := goredis.NewClient(o)
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// options returns the redis options record for this server.
func (s *testServer) options(prefix string, kv ...any) map[string]any {
	m := map[string]any{"server_host": "127.0.0.1", "server_port": float64(s.port), "key_prefix": prefix}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// events records connection events reported through Notify.
type events struct {
	mu  sync.Mutex
	all []event
	ch  chan event
}

type event struct {
	kind   storagefw.EventKind
	reason string
}

func newEvents() *events { return &events{ch: make(chan event, 1000)} }

func (e *events) notify(kind storagefw.EventKind, reason string) {
	e.mu.Lock()
	e.all = append(e.all, event{kind, reason})
	e.mu.Unlock()
	select {
	case e.ch <- event{kind, reason}:
	default:
	}
}

// wait returns the next event, failing the test after timeout.
func (e *events) wait(tb testing.TB, want storagefw.EventKind, timeout time.Duration) event {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case ev := <-e.ch:
		if ev.kind != want {
			tb.Fatalf("event %v (%q), want %v", ev.kind, ev.reason, want)
		}
		return ev
	case <-timer.C:
		tb.Fatalf("no event %v within %v", want, timeout)
		return event{}
	}
}

// openTest opens a Backend, closing it at the end of the test.
func openTest(tb testing.TB, cfg storagefw.OpenConfig) *Backend {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return b.(*Backend)
}
