package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// TestIssueOrderOnTheWire checks issue order where the server sees it:
// MONITOR lists the commands Redis executes, in execution order. Four
// goroutines submit puts (each recording, under one lock, the order its
// Submit calls happen in) with up to 1,000 in flight, over 100 keys, and in
// the middle the server is paused long enough for operations to time out.
// Every put Redis executed must appear in Submit order, the ones that timed
// out included (they may or may not have run); and a get issued after a put
// sees it.
func TestIssueOrderOnTheWire(t *testing.T) {
	srv := startServer(t)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("ord", "operation_timeout", "200ms"), Clock: wallNow})

	ctx := context.Background()
	cmds := monitor(t, fmt.Sprintf("127.0.0.1:%d", srv.port))

	const perWriter, writers = 5000, 4
	var (
		mu       sync.Mutex
		order    []int // values in Submit order
		sem      = make(chan struct{}, 1000)
		wg, done sync.WaitGroup
		codes    = map[storagefw.Code]int{}
		rywFails int
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				v := w*perWriter + i
				sem <- struct{}{}
				done.Add(1)
				op := storagefw.NewRequest(storagefw.PutRequest, func(r storagefw.Reply) {
					mu.Lock()
					codes[r.Code]++
					mu.Unlock()
					<-sem
					done.Done()
				})
				op.Key, op.Value, op.Overwrite, op.Now = ser(fmt.Sprintf("k%d", v%100)), []byte(strconv.Itoa(v)), true, wallNow()
				mu.Lock()
				order = append(order, v)
				b.Submit(op)
				mu.Unlock()
				if i%500 == 0 {
					// Read-your-writes: a get right after a put (not awaited).
					put := storagetest.PutOp(ser(fmt.Sprintf("ryw%d", w)), ser(v), true, 0, wallNow())
					get := storagetest.GetOp(ser(fmt.Sprintf("ryw%d", w)), wallNow())
					done.Add(1)
					go func() {
						defer done.Done()
						storagetest.Submit(b, put, get)
						p, g := put.Wait(t), get.Wait(t)
						if p.Code == storagefw.Success && (g.Code != storagefw.Success || string(g.Value) != string(ser(v))) {
							mu.Lock()
							rywFails++
							mu.Unlock()
						}
					}()
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := srv.client().Do(ctx, "CLIENT", "PAUSE", "600", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	done.Wait()
	// Let the server finish what was sent before the pause ended.
	expect(t, "a last put", do(t, b, storagetest.PutOp(ser("end"), ser(1), true, 0, wallNow())), storagefw.Success, nil)

	// The SETs Redis executed, in order: "SET" "ord:JSONv1;\"kN\"" "V",
	// up to the last put's.
	var executed []int
	for line := range cmds {
		if strings.Contains(line, `"ord:JSONv1;\"end\""`) {
			break
		}
		f := strings.Fields(line)
		if len(f) < 6 || f[3] != `"SET"` || !strings.HasPrefix(f[4], `"ord:JSONv1;\"k`) {
			continue
		}
		v, err := strconv.Atoi(strings.Trim(f[5], `"`))
		if err != nil {
			t.Fatalf("monitor line %q", line)
		}
		executed = append(executed, v)
	}
	pos := make(map[int]int, len(order))
	for i, v := range order {
		pos[v] = i
	}
	last := -1
	for _, v := range executed {
		if pos[v] <= last {
			t.Fatalf("Redis executed put %d (issued #%d) after put issued #%d", v, pos[v], last)
		}
		last = pos[v]
	}
	t.Logf("%d puts issued, %d executed in issue order; codes %v", len(order), len(executed), codes)
	if codes[storagefw.Timeout] == 0 {
		t.Log("no put timed out during the pause (the ordering check still holds)")
	}
	if codes[storagefw.Success] < len(order)/2 || len(executed) < codes[storagefw.Success] {
		t.Fatalf("%d SUCCESS but %d executed", codes[storagefw.Success], len(executed))
	}
	if rywFails > 0 {
		t.Fatalf("%d gets did not see the put issued just before", rywFails)
	}
}

// monitor runs MONITOR on a connection of its own (go-redis's Monitor
// races with its own connection pool) and returns the lines Redis sends,
// in execution order, without the leading '+'; MONITOR is on when it
// returns. The connection closes when the test ends.
func monitor(t *testing.T, addr string) <-chan string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.ReadString('\n'); err != nil || ok != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", ok, err)
	}
	lines := make(chan string, 1<<20)
	go func() {
		defer close(lines)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSuffix(strings.TrimPrefix(line, "+"), "\r\n")
		}
	}()
	return lines
}
