package tests

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// HTTP refuses every reserved event name (issue 12, item 3).
func TestHTTPRefusesReservedEvents(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `on("done", () => print("done"));`})
	hp := startListening(t, dir, "s")
	for _, name := range []string{"init", "done", "Storage.backend_lost", "scriptd.reload_failed"} {
		code, body := hp.call(t, "POST", "/v1/events/"+name, []byte(`{}`))
		if code != 400 || !strings.Contains(body, "reserved") {
			t.Errorf("POST %s: %d %s, want 400 naming the reservation", name, code, body)
		}
	}
	if code, _ := hp.call(t, "POST", "/v1/events/ok", []byte(`{}`)); code != 202 {
		t.Errorf("an ordinary event got %d", code)
	}
}

// Clients declaring large bodies and trickling bytes make the server
// allocate nothing ahead of what arrives (issue 12, item 10).
func TestHTTPSlowBodiesDoNotGrowMemory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s/a.js": `on("e", () => {});`})
	hp := startListening(t, dir, "s")
	const conns = 1500
	var open []net.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", hp.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /v1/events/e HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048000\r\n\r\n[")
	}
	// The server must still answer others promptly while they hang.
	if code, _ := hp.call(t, "GET", "/healthz", nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	rss := vmHWM(t, hp.cmd.Process.Pid)
	if rss > 300<<20 {
		t.Fatalf("peak RSS %d MB with %d trickling bodies, want no allocation ahead of the bytes", rss>>20, conns)
	}
	t.Logf("peak RSS %d MB with %d connections each declaring ~1 MB", rss>>20, conns)
}

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/status")
	return 0
}
