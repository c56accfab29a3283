// Package tests holds end-to-end tests of the built scriptd binary: each test
// runs the real executable on real files, real SQLite databases and a real
// redis-server, as a user would.
package tests

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// scriptdBin is the binary under test, built once by TestMain.
var scriptdBin string

// repoRoot and sharedData locate the repository and the shared Zeek logs.
var repoRoot, sharedData string

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)
	sharedData = filepath.Join(repoRoot, "..", "shared", "data", "zeek-wrccdc-2018")
	dir, err := os.MkdirTemp("", "scriptd-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scriptdBin = filepath.Join(dir, "scriptd")
	if bin := os.Getenv("SCRIPTD_TEST_BIN"); bin != "" {
		// Run the tests against another build (e.g. to see a new test
		// fail on the code before a fix).
		scriptdBin = bin
	} else {
		build := exec.Command("go", "build", "-o", scriptdBin, "./cmd/scriptd")
		build.Dir = repoRoot
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build scriptd:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needShared skips a test when the shared data set is absent.
func needShared(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available: %v", name, err)
	}
	return p
}

// writeFiles creates files (name → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// result is a finished scriptd run.
type result struct {
	Stdout, Stderr string
	Code           int
}

// runScriptd runs the binary in dir with args and waits (bounded by timeout).
func runScriptd(t *testing.T, dir string, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptdBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("scriptd %v: %v (ctx %v)\nstderr: %s", args, err, ctx.Err(), errb.String())
		}
		code = ee.ExitCode()
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// process is a scriptd started in the background.
type process struct {
	cmd            *exec.Cmd
	Stdout, Stderr *testutil.Buffer
	done           chan struct{}
	err            error
}

// startScriptd starts the binary; the test's cleanup kills it if still running.
func startScriptd(t *testing.T, dir string, args ...string) *process {
	t.Helper()
	return startScriptdEnv(t, dir, nil, args...)
}

// startScriptdEnv is startScriptd with extra environment variables.
func startScriptdEnv(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	p := &process{Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(scriptdBin, args...)
	p.cmd.Dir = dir
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitExit waits for the process to end and returns its exit code.
func (p *process) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("scriptd did not exit within %v\nstderr: %s", timeout, p.Stderr.String())
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// freePort returns a free TCP port on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server of the test's own on a free loopback port.
type redisServer struct {
	Port int
	cmd  *exec.Cmd
}

// startRedis starts a throwaway redis-server (skipping if it is not installed)
// and stops it when the test ends.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testutil.Eventually(t, 10*time.Second, "redis-server to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return &redisServer{Port: port, cmd: cmd}
}

// outputLines splits output into non-empty lines.
func outputLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
