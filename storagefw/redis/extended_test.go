package redis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// TestLiveExtended covers compare_and_swap and increment in live mode,
// where Redis expires entries itself: PXAT for a given expiry, KEEPTTL for
// a kept one.
func TestLiveExtended(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rc := srv.client()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("lx"), Clock: wallNow})
	k := ser("k")
	rk := "lx:" + string(k)
	pttl := func() time.Duration { return rc.PTTL(ctx, rk).Val() }

	now := wallNow()
	expect(t, "cas create with expiry", do(t, b, storagetest.CASOp(k, nil, ser(1), now+60, false, now)), storagefw.Success, nil)
	if d := pttl(); d < 50*time.Second || d > 61*time.Second {
		t.Fatalf("PTTL after create = %v, want about 60s", d)
	}
	expect(t, "cas keeping expiry", do(t, b, storagetest.CASOp(k, ser(1), ser(2), 0, true, now)), storagefw.Success, nil)
	if d := pttl(); d < 50*time.Second {
		t.Fatalf("PTTL after a swap keeping expiry = %v", d)
	}
	inc := storagetest.IncOp(k, storagefw.NumCount, 3, now)
	expect(t, "increment keeping expiry", do(t, b, inc), storagefw.Success, []byte("JSONv1;5"))
	if d := pttl(); d < 50*time.Second {
		t.Fatalf("PTTL after an increment keeping expiry = %v", d)
	}
	expect(t, "cas clearing expiry", do(t, b, storagetest.CASOp(k, ser(5), ser(6), 0, false, now)), storagefw.Success, nil)
	if d := pttl(); d != -1 {
		t.Fatalf("PTTL after a swap without expiry = %v, want none (-1)", d)
	}
	c := storagetest.IncOp(k, storagefw.NumCount, 1, now)
	c.Op.KeepExpiry, c.Op.ExpireAt = false, wallNow()+0.3
	expect(t, "increment setting a short expiry", do(t, b, c), storagefw.Success, []byte("JSONv1;7"))
	testutil.Eventually(t, 5*time.Second, "native expiry", func() bool {
		return do(t, b, storagetest.GetOp(k, wallNow())).Code == storagefw.KeyNotFound
	})
	expect(t, "increment after expiry starts at 0", do(t, b, storagetest.IncOp(k, storagefw.NumCount, 1, wallNow())), storagefw.Success, []byte("JSONv1;1"))
	if b.replay.Load() {
		t.Fatal("switched to replay mode")
	}
	if n := rc.Exists(ctx, "lx_expire").Val(); n != 0 {
		t.Fatal("live mode created the expiry set")
	}
}

// zeekDouble is rapidjson's Prettify over the shortest round-trip digits,
// the reference for the Lua formatting (Zeek's Grisu2 digits are the
// shortest ones for all but rare values).
func zeekDouble(x float64) string {
	if x == 0 {
		if math.Signbit(x) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if x < 0 {
		sign, x = "-", -x
	}
	s := strconv.FormatFloat(x, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.TrimRight(strings.ReplaceAll(mant, ".", ""), "0")
	e, _ := strconv.Atoi(exp)
	length := len(digits)
	k := e - (length - 1)
	kk := length + k
	switch {
	case k >= 0 && kk <= 21:
		return sign + digits + strings.Repeat("0", k) + ".0"
	case 0 < kk && kk <= 21:
		return sign + digits[:kk] + "." + digits[kk:]
	case -6 < kk && kk <= 0:
		return sign + "0." + strings.Repeat("0", -kk) + digits
	case length == 1:
		return sign + digits + "e" + strconv.Itoa(kk-1)
	}
	return sign + digits[:1] + "." + digits[1:] + "e" + strconv.Itoa(kk-1)
}

// TestIncrementDoubleFormat checks the doubles incrScript writes against
// rapidjson's layout, over values of every magnitude.
func TestIncrementDoubleFormat(t *testing.T) {
	srv := startServer(t)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("dbl"), Clock: wallNow})
	vals := []float64{1.5, 3, 0.1, 0.001, 1e-6, 1e-7, 1.5e-7, 123456.789, 1e20, 1e21, 1e22, 1.2345678901234567e23,
		-2.5, -1e-300, 5e-324, math.MaxFloat64, 1.0 / 3, 2.0 / 3, 100, 1e15 + 0.5, 0.30000000000000004}
	vals = append(vals, 1e23, 0.000649) // Grisu2 writes these with more digits than needed
	for i, v := range vals {
		key := ser(fmt.Sprintf("d%d", i))
		r := do(t, b, storagetest.IncFloatOp(key, storagefw.NumDouble, v, wallNow()))
		want := "JSONv1;" + zeekDouble(v)
		if r.Code != storagefw.Success || string(r.Value) != want {
			t.Errorf("increment of 0 by %v: %s %q %q, want %q", v, r.Code, r.Error, r.Value, want)
		}
		// Against the serializer (Zeek's bytes): equal, except where Grisu2
		// is not shortest; then the same double.
		zb, err := storagefw.JSONSerializer{}.Serialize(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(zb) != string(r.Value) {
			got, _ := strconv.ParseFloat(strings.TrimPrefix(string(r.Value), "JSONv1;"), 64)
			if got != v || len(zb) <= len(r.Value) {
				t.Errorf("%v: Redis wrote %q, Zeek writes %q", v, r.Value, zb)
			} else {
				t.Logf("%v: Redis wrote %q, Zeek %q (Grisu2's longer digits; the same double)", v, r.Value, zb)
			}
		}
	}
	// Sums: 0.1 + 0.2 is written with all the digits it needs.
	key := ser("sum")
	do(t, b, storagetest.IncFloatOp(key, storagefw.NumDouble, 0.1, wallNow()))
	r := do(t, b, storagetest.IncFloatOp(key, storagefw.NumDouble, 0.2, wallNow()))
	if string(r.Value) != "JSONv1;0.30000000000000004" {
		t.Errorf("0.1 + 0.2 = %q", r.Value)
	}
	// An integer count beyond 2^53 cannot be incremented exactly in Lua.
	do(t, b, storagetest.PutOp(ser("big"), []byte("JSONv1;9007199254740993"), true, 0, wallNow()))
	if r := do(t, b, storagetest.IncOp(ser("big"), storagefw.NumCount, 1, wallNow())); r.Code != storagefw.OperationFailed {
		t.Errorf("increment beyond 2^53: %s %q", r.Code, r.Error)
	}
}

// TestScanKeyLayout: a scan lists only its own prefix's entries, never the
// expiry set, with glob characters in the key prefix and the scan prefix.
func TestScanKeyLayout(t *testing.T) {
	srv := startServer(t)
	clock := storagetest.NewClock(storagetest.StartTime) // replay mode: the expiry set exists
	open := func(prefix string) *Backend {
		return openTest(t, storagefw.OpenConfig{Options: srv.options(prefix), Clock: clock.Now})
	}
	a, other := open("p*[x]"), open("pZ[x]")
	now := clock.Now()
	for _, k := range []string{"a*1", "a?2", "ab3", "b"} {
		expect(t, "put", do(t, a, storagetest.PutOp(ser(k), ser(k), true, now+100, now)), storagefw.Success, nil)
		expect(t, "put other", do(t, other, storagetest.PutOp(ser(k), ser("other"), true, 0, now)), storagefw.Success, nil)
	}
	if n := srv.client().Exists(context.Background(), "p*[x]_expire").Val(); n != 1 {
		t.Fatal("no expiry set in replay mode")
	}
	list := func(b *Backend, prefix []byte) []string {
		var out []string
		var cursor []byte
		for {
			r := do(t, b, storagetest.ScanOp(prefix, cursor, 2, clock.Now()))
			if r.Code != storagefw.Success {
				t.Fatalf("scan: %s %q", r.Code, r.Error)
			}
			for _, e := range r.Entries {
				if string(e.Value) == string(ser("other")) {
					t.Fatalf("scan of p*[x] listed %q of the other prefix", e.Key)
				}
				out = append(out, string(e.Key))
			}
			if cursor = r.Cursor; cursor == nil {
				return out
			}
		}
	}
	if got := list(a, nil); len(got) != 4 {
		t.Fatalf("full scan: %q", got)
	}
	if got := list(a, storagetest.StringPrefix("a*")); len(got) != 1 || got[0] != string(ser("a*1")) {
		t.Fatalf("prefix a*: %q", got)
	}
	if got := list(a, storagetest.StringPrefix("a?")); len(got) != 1 {
		t.Fatalf("prefix a?: %q", got)
	}
	clock.Advance(200)
	if got := list(a, nil); len(got) != 0 {
		t.Fatalf("expired entries listed: %q", got)
	}
}

// TestBatchKilledServer kills redis-server (appendfsync always) in the
// middle of a large put_many: every entry reported SUCCESS is on the
// server after the restart, every entry reported NOT_CONNECTED (never sent)
// is not; CONNECTION_LOST entries may be either.
func TestBatchKilledServer(t *testing.T) {
	srv := startServer(t, "--appendonly", "yes", "--appendfsync", "always")
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("kill"), Clock: wallNow, Notify: ev.notify})
	rc := srv.client()
	const n = 60000
	entries := make([]storagefw.BatchEntry, n)
	for i := range entries {
		entries[i] = storagefw.BatchEntry{Key: ser(fmt.Sprintf("k%06d", i)), Value: ser(strings.Repeat("v", 100)), Overwrite: true}
	}
	call := storagetest.PutManyOp(entries, wallNow())
	storagetest.Submit(b, call)
	testutil.Eventually(t, 20*time.Second, "part of the batch stored", func() bool {
		return rc.DBSize(context.Background()).Val() > 100
	})
	srv.kill()
	r := call.Wait(t)
	ev.wait(t, storagefw.BackendLost, 5*time.Second)
	if r.Code == storagefw.Success {
		t.Skip("the whole batch was stored before the kill")
	}
	if len(r.Entries) != n {
		t.Fatalf("batch %s %q with %d entries, want %d", r.Code, r.Error, len(r.Entries), n)
	}
	srv.restart()
	ev.wait(t, storagefw.BackendOpened, 10*time.Second)
	counts := map[storagefw.Code]int{}
	ctx := context.Background()
	for i, e := range r.Entries {
		counts[e.Code]++
		exists := rc.Exists(ctx, "kill:"+string(entries[i].Key)).Val() == 1
		switch e.Code {
		case storagefw.Success:
			if !exists {
				t.Fatalf("entry %d reported SUCCESS but is not on the server", i)
			}
		case storagefw.NotConnected:
			if exists {
				t.Fatalf("entry %d reported NOT_CONNECTED (never sent) but is on the server", i)
			}
		case storagefw.ConnectionLost:
		default:
			t.Fatalf("entry %d: %s %q", i, e.Code, e.Error)
		}
	}
	t.Logf("batch %s; entries %v", r.Code, counts)
	if counts[storagefw.Success] == 0 {
		t.Fatal("no entry succeeded before the kill")
	}
}

// TestHandles runs the framework-level cases of the new calls, two
// Frameworks (each with its own connection) sharing one key prefix.
func TestHandles(t *testing.T) {
	srv := startServer(t)
	storagetest.RunHandles(t, Type(), prefixPerTest("h", func(prefix string) map[string]any { return srv.options(prefix) }))
}

// prefixPerTest gives RunHandles the options of a key prefix of each
// subtest's own ("<tag><n>-<store>"), so subtests sharing a server never
// see each other's keys; redis returns the backend options for a prefix.
func prefixPerTest(tag string, redis func(prefix string) map[string]any) func(t *testing.T, store string) map[string]any {
	var mu sync.Mutex
	prefixes := map[*testing.T]string{}
	return func(t *testing.T, store string) map[string]any {
		mu.Lock()
		defer mu.Unlock()
		p, ok := prefixes[t]
		if !ok {
			p = fmt.Sprintf("%s%d", tag, len(prefixes)+1)
			prefixes[t] = p
		}
		return map[string]any{"redis": redis(p + "-" + store)}
	}
}

// TestExtendedTimeout: while the server is paused, batches, compare-and-swaps,
// increments and scans report TIMEOUT after operation_timeout (a batch:
// TIMEOUT and every entry TIMEOUT); afterwards they work again.
func TestExtendedTimeout(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("to2", "operation_timeout", "300ms"), Clock: wallNow})
	now := wallNow()
	if err := srv.client().Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	calls := storagetest.Submit(b,
		storagetest.PutManyOp([]storagefw.BatchEntry{{Key: ser("a"), Value: ser(1), Overwrite: true}, {Key: ser("b"), Value: ser(2), Overwrite: true}}, now),
		storagetest.CASOp(ser("c"), nil, ser(1), 0, true, now),
		storagetest.IncOp(ser("n"), storagefw.NumCount, 1, now),
		storagetest.ScanOp(nil, nil, 10, now))
	for i, c := range calls {
		r := c.Wait(t)
		if r.Code != storagefw.Timeout {
			t.Fatalf("call %d during the pause: %s %q, want TIMEOUT", i, r.Code, r.Error)
		}
		for j, e := range r.Entries {
			if e.Code != storagefw.Timeout {
				t.Fatalf("entry %d: %s", j, e.Code)
			}
		}
	}
	testutil.Eventually(t, 10*time.Second, "server unpaused", func() bool {
		return do(t, b, storagetest.IncOp(ser("n2"), storagefw.NumCount, 1, wallNow())).Code == storagefw.Success
	})
	r := do(t, b, storagetest.GetManyOp([][]byte{ser("a"), ser("n2")}, wallNow()))
	if r.Code != storagefw.Success || len(r.Entries) != 2 || r.Entries[1].Code != storagefw.Success {
		t.Fatalf("after the pause: %+v", r)
	}
}
