package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// TestWebhookExample feeds examples/webhook over HTTP with retried
// deliveries: each alert id is acted on exactly once.
func TestWebhookExample(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := startScriptd(t, dir, "run", filepath.Join(repoRoot, "examples", "webhook"), "--listen", addr)
	testutil.Eventually(t, 10*time.Second, "healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	const ids, deliveries = 20, 3
	for d := 0; d < deliveries; d++ {
		for i := 0; i < ids; i++ {
			body := fmt.Sprintf(`{"id":"alert-%d","severity":"high","summary":"delivery %d"}`, i, d)
			resp, err := http.Post("http://"+addr+"/v1/events/alert", "application/json", bytes.NewBufferString(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST: %d", resp.StatusCode)
			}
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	actions := readJSONLines(t, filepath.Join(dir, "actions.log"))
	seen := map[string]bool{}
	for _, a := range actions {
		id := a["id"].(string)
		if seen[id] {
			t.Errorf("%s acted on twice", id)
		}
		seen[id] = true
		if a["summary"] != "delivery 0" {
			t.Errorf("%s: acted on %v, want the first delivery", id, a["summary"])
		}
	}
	if len(seen) != ids {
		t.Fatalf("acted on %d ids, want %d", len(seen), ids)
	}
	if want := fmt.Sprintf("duplicates dropped: %d", ids*(deliveries-1)); !strings.Contains(p.Stdout.String(), want) {
		t.Fatalf("stdout %q lacks %q", p.Stdout.String(), want)
	}
}
