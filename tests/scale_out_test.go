package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
)

// TestScaleOutExample runs examples/scale-out as its README does: the
// feeder publishes the DNS excerpt to a stream (JetStream, then Redis
// Streams), two workers consume it as one group with their state in one
// Redis; every record is handled once and each source address is logged
// exactly once across the two.
func TestScaleOutExample(t *testing.T) {
	feedBin := filepath.Join(t.TempDir(), "feed")
	build := exec.Command("go", "build", "-o", feedBin, "./examples/scale-out/feed")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build feed: %v\n%s", err, out)
	}
	data := filepath.Join(repoRoot, "examples", "data", "dns.json.gz")
	recs := readJSONLines(t, data)
	allHosts := map[string]bool{}
	for _, r := range recs {
		allHosts[r["id.orig_h"].(string)] = true
	}
	eachStreamKind(t, func(t *testing.T, f streamFeed) {
		state := testutil.StartRedis(t, false)
		out, err := exec.Command(feedBin, strings.SplitN(f.url(""), "?", 2)[0], data).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "sent "+strconv.Itoa(len(recs))) {
			t.Fatalf("feed: %v: %s", err, out)
		}
		dir := t.TempDir()
		script := filepath.Join(repoRoot, "examples", "scale-out")
		var ws []*process
		for _, w := range []string{"a", "b"} {
			wdir := filepath.Join(dir, w)
			if err := os.MkdirAll(wdir, 0o755); err != nil {
				t.Fatal(err)
			}
			env := []string{"REDIS_HOST=127.0.0.1", "REDIS_PORT=" + strconv.Itoa(state.Port), "WORKER=" + w}
			ws = append(ws, startScriptdEnv(t, wdir, env, "run", script, "--input", "dns="+f.url("")))
		}
		testutil.Eventually(t, 60*time.Second, "the group to have every record acknowledged", func() bool {
			ok, _ := f.settled(t)
			return ok
		})
		handledRe := regexp.MustCompile(`worker (\w+): handled (\d+) records`)
		total := 0
		got := map[string]string{}
		for i, w := range []string{"a", "b"} {
			if err := ws[i].cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := ws[i].waitExit(t, 30*time.Second); code != 0 || ws[i].Stderr.String() != "" {
				t.Fatalf("worker %s: exit %d: %s", w, code, ws[i].Stderr.String())
			}
			m := handledRe.FindStringSubmatch(ws[i].Stdout.String())
			if m == nil {
				t.Fatalf("worker %s printed %q", w, ws[i].Stdout.String())
			}
			n, _ := strconv.Atoi(m[2])
			total += n
			logPath := filepath.Join(dir, w, "known_hosts.log")
			if _, err := os.Stat(logPath); os.IsNotExist(err) {
				continue
			}
			for _, l := range readJSONLines(t, logPath) {
				h := l["host"].(string)
				if prev, dup := got[h]; dup {
					t.Errorf("host %s logged by %s and %s", h, prev, w)
				}
				got[h] = w
			}
		}
		if total != len(recs) {
			t.Errorf("the workers handled %d records, the feed has %d", total, len(recs))
		}
		if len(got) != len(allHosts) {
			t.Errorf("logged %d hosts, the data has %d", len(got), len(allHosts))
		}
		t.Logf("%s: records per worker: %s", f.kind(), strings.Join(handledRe.FindAllString(ws[0].Stdout.String()+ws[1].Stdout.String(), -1), "; "))
	})
}
