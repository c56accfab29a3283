package testutil

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a server process a test started on a free loopback port (a
// nats-server or a redis-server); the test's cleanup kills it by PID.
type Server struct {
	Port    int
	TLSPort int    // StartRedisTLS: the TLS port
	Dir     string // its data directory

	bin  string
	args []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	started bool
}

// FreePort returns a free TCP port on loopback.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartNATS starts `nats-server -js` with its store in a temporary
// directory, and extra arguments if any (TLS, say), skipping the test if
// nats-server is not installed. The binary is $SCRIPTD_NATS_SERVER if
// set (to test against another release than the one installed), else
// nats-server on PATH or /usr/sbin/nats-server.
func StartNATS(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{Port: FreePort(tb), Dir: tb.TempDir(), bin: NATSServerBin(tb)}
	s.args = append([]string{"-js", "-a", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-sd", s.Dir}, extra...)
	s.start(tb)
	return s
}

// NATSServerBin is the nats-server StartNATS runs (see there); the test
// is skipped if there is none.
func NATSServerBin(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("SCRIPTD_NATS_SERVER"); bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			tb.Fatalf("SCRIPTD_NATS_SERVER: %v", err)
		}
		return p
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := exec.LookPath("/usr/sbin/nats-server"); serr != nil {
			tb.Skip("nats-server not installed")
		}
		bin = "/usr/sbin/nats-server"
	}
	return bin
}

// StartRedis starts a redis-server (skipping the test if it is not
// installed). With persist, it writes an append-only file synced on every
// write, so that a restart keeps the data (streams, groups and their
// pending entries).
func StartRedis(tb testing.TB, persist bool) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed")
	}
	s := &Server{Port: FreePort(tb), Dir: tb.TempDir(), bin: bin}
	s.args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--dir", s.Dir}
	if persist {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.start(tb)
	return s
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(s.bin, s.args...)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	first := s.cmd == nil && !s.started
	s.cmd, s.started = cmd, true
	s.mu.Unlock()
	if first {
		tb.Cleanup(func() { s.Kill() })
	}
	Eventually(tb, 15*time.Second, s.bin+" to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// Kill kills the server (SIGKILL, by PID) and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Stop stops the server gracefully (SIGTERM) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the server (gracefully, or with kill -9) and starts it
// again on the same port and data directory.
func (s *Server) Restart(tb testing.TB, graceful bool) {
	tb.Helper()
	if graceful {
		s.Stop()
	} else {
		s.Kill()
	}
	s.start(tb)
}
