package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestHTTPLoad posts 50,000 events from 32 keep-alive clients. Each event's
// handler awaits a put of its own key into SQLite; at SIGTERM the done
// handler counts the keys in storage, which must equal the number of 202s:
// no accepted event is lost, not even those in flight at shutdown.
func TestHTTPLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		events  = 50000
		clients = 32
	)
	dir := t.TempDir()
	db := filepath.Join(dir, "load.sqlite")
	writeFiles(t, dir, map[string]string{"s/load.js": fmt.Sprintf(`
		const N = %d;
		let h, acked = 0, failed = 0;
		on("init", async () => {
			const r = await Storage.Async.open_backend(Storage.STORAGE_BACKEND_SQLITE,
				{sqlite: {database_path: %s, table_name: "hits"}}, "string", "any");
			if (r.code !== Storage.SUCCESS) throw new Error("open: " + r.error_str);
			h = r.value;
		});
		on("hit", async (v) => {
			const r = await Storage.Async.put(h, {key: "hit-" + v.id, value: v.id});
			if (r.code === Storage.SUCCESS) acked++;
			else if (failed++ < 5) print("put-failed", v.id, r.code, r.error_str);
		});
		on("done", () => {
			let stored = 0;
			for (let i = 0; i < N; i++) {
				if (Storage.Sync.get(h, "hit-" + i).code === Storage.SUCCESS) stored++;
			}
			print("stored", stored, "acked", acked, "failed", failed);
		});
	`, events, strconv.Quote(db))})
	hp := startListening(t, dir, "s")

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, IdleConnTimeout: time.Minute},
		Timeout:   30 * time.Second,
	}
	var next, accepted, rejected atomic.Int64
	latencies := make([][]time.Duration, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, events/clients+1)
			for {
				i := next.Add(1) - 1
				if i >= events {
					break
				}
				body := []byte(`{"id":` + strconv.FormatInt(i, 10) + `}`)
				t0 := time.Now()
				resp, err := client.Post(hp.Base+"/v1/events/hit", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- fmt.Errorf("event %d: %w", i, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode == http.StatusAccepted {
					accepted.Add(1)
				} else {
					rejected.Add(1)
				}
			}
			latencies[c] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	if err := hp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := hp.waitExit(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, hp.Stderr.String())
	}
	m := regexp.MustCompile(`(?m)^stored (\d+) acked (\d+) failed (\d+)$`).FindStringSubmatch(hp.Stdout.String())
	if m == nil {
		t.Fatalf("no count printed\nstdout: %s\nstderr: %s", hp.Stdout.String(), hp.Stderr.String())
	}
	stored, _ := strconv.ParseInt(m[1], 10, 64)

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	t.Logf("%d events from %d clients in %v: %.0f requests/s; latency p50 %v, p90 %v, p99 %v, max %v; 202: %d, other: %d; stored %s, acked by puts %s, failed puts %s",
		events, clients, elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds(),
		pct(0.50), pct(0.90), pct(0.99), all[len(all)-1], accepted.Load(), rejected.Load(), m[1], m[2], m[3])

	if accepted.Load() != events || rejected.Load() != 0 {
		t.Errorf("%d accepted, %d rejected; want all %d accepted", accepted.Load(), rejected.Load(), events)
	}
	if stored != accepted.Load() {
		t.Errorf("storage holds %d keys, but %d events were accepted", stored, accepted.Load())
	}
	if m[2] != m[1] || m[3] != "0" {
		t.Errorf("puts acked %s, failed %s; stored %s", m[2], m[3], m[1])
	}
}
