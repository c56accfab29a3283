package redis

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

var (
	ser    = storagetest.Ser
	do     = storagetest.Do
	expect = storagetest.Expect
)

func wallNow() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// TestConformance runs the backend-agnostic suite. Its clock starts at
// storagetest.StartTime (2023), far from the wall clock, so this exercises
// replay mode (the expiry set and the Lua scripts).
func TestConformance(t *testing.T) {
	srv := startServer(t)
	var n atomic.Int32
	storagetest.Run(t, func(t *testing.T, clock func() float64) storagefw.Backend {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := Open(ctx, storagefw.OpenConfig{
			Options: srv.options(fmt.Sprintf("conf%d", n.Add(1))),
			Clock:   clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestLive covers the semantics with network time = wall clock (native
// PXAT expiry, plain SET/GET/DEL).
func TestLive(t *testing.T) {
	srv := startServer(t)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("live"), Clock: wallNow})
	k, k2 := ser("k"), ser("k2")
	now := wallNow()
	expect(t, "get missing", do(t, b, storagetest.GetOp(k, now)), storagefw.KeyNotFound, nil)
	expect(t, "erase missing", do(t, b, storagetest.EraseOp(k, now)), storagefw.KeyNotFound, nil)
	expect(t, "put", do(t, b, storagetest.PutOp(k, ser("v1"), true, 0, now)), storagefw.Success, nil)
	expect(t, "put nx on live key", do(t, b, storagetest.PutOp(k, ser("v2"), false, 0, now)), storagefw.KeyExists, nil)
	expect(t, "get", do(t, b, storagetest.GetOp(k, now)), storagefw.Success, ser("v1"))
	expect(t, "overwrite", do(t, b, storagetest.PutOp(k, ser("v3"), true, 0, now)), storagefw.Success, nil)
	expect(t, "get overwritten", do(t, b, storagetest.GetOp(k, now)), storagefw.Success, ser("v3"))
	expect(t, "erase", do(t, b, storagetest.EraseOp(k, now)), storagefw.Success, nil)
	expect(t, "get erased", do(t, b, storagetest.GetOp(k, now)), storagefw.KeyNotFound, nil)

	// Read-your-writes without waiting.
	calls := storagetest.Submit(b,
		storagetest.PutOp(k, ser(1), true, 0, now), storagetest.GetOp(k, now),
		storagetest.EraseOp(k, now), storagetest.GetOp(k, now),
		storagetest.PutOp(k, ser(2), false, 0, now), storagetest.GetOp(k, now))
	wants := []storagefw.Code{storagefw.Success, storagefw.Success, storagefw.Success, storagefw.KeyNotFound, storagefw.Success, storagefw.Success}
	vals := [][]byte{nil, ser(1), nil, nil, nil, ser(2)}
	for i, c := range calls {
		expect(t, fmt.Sprintf("pipelined op %d", i), c.Wait(t), wants[i], vals[i])
	}

	// Native expiry: an entry expiring 300 ms from now disappears by itself,
	// and overwrite:false succeeds once it has.
	now = wallNow()
	expect(t, "put expiring", do(t, b, storagetest.PutOp(k2, ser("e"), true, now+0.3, now)), storagefw.Success, nil)
	expect(t, "get before expiry", do(t, b, storagetest.GetOp(k2, wallNow())), storagefw.Success, ser("e"))
	testutil.Eventually(t, 5*time.Second, "native expiry", func() bool {
		return do(t, b, storagetest.GetOp(k2, wallNow())).Code == storagefw.KeyNotFound
	})
	expect(t, "put nx after expiry", do(t, b, storagetest.PutOp(k2, ser("f"), false, 0, wallNow())), storagefw.Success, nil)

	// Live mode never touched the expiry set, and Expire is a no-op.
	if b.replay.Load() {
		t.Fatal("backend switched to replay mode with network time = wall clock")
	}
	if n, err := b.Expire(context.Background(), wallNow()); n != 0 || err != nil {
		t.Fatalf("Expire in live mode = %d, %v", n, err)
	}
	if n := srv.client().Exists(context.Background(), "live_expire").Val(); n != 0 {
		t.Fatal("live mode created the expiry set")
	}
}

// TestZeekLayoutLive checks the bytes in Redis against Zeek's layout:
// "<key_prefix>:<serialized key>" -> serialized value, PXAT in ms.
func TestZeekLayoutLive(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rc := srv.client()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("zeek"), Clock: wallNow})

	key, val := ser("10.0.0.1"), ser(map[string]any{"a": 1, "b": "x"})
	now := wallNow()
	expireAt := now + 100.25
	expect(t, "put", do(t, b, storagetest.PutOp(key, val, true, expireAt, now)), storagefw.Success, nil)

	const wantKey = `zeek:JSONv1;"10.0.0.1"`
	keys := rc.Keys(ctx, "*").Val()
	if len(keys) != 1 || keys[0] != wantKey {
		t.Fatalf("keys in Redis = %q, want [%q]", keys, wantKey)
	}
	got, err := rc.Get(ctx, wantKey).Bytes()
	if err != nil || !bytes.Equal(got, val) || !bytes.HasPrefix(got, []byte("JSONv1;")) {
		t.Fatalf("GET %s = %q, %v; want %q", wantKey, got, err, val)
	}
	pexp, err := rc.Do(ctx, "PEXPIRETIME", wantKey).Int64()
	if err != nil || pexp != int64(expireAt*1e3) {
		t.Fatalf("PEXPIRETIME = %d, %v; want %d (PXAT of the put)", pexp, err, int64(expireAt*1e3))
	}
	// An overwrite without expiry clears the TTL (plain SET).
	expect(t, "overwrite", do(t, b, storagetest.PutOp(key, ser(2), true, 0, now)), storagefw.Success, nil)
	if ttl := rc.PTTL(ctx, wantKey).Val(); ttl != -1 {
		t.Fatalf("PTTL after overwrite without expiry = %v, want -1", ttl)
	}

	// What Zeek writes, scriptd reads.
	rc.Set(ctx, `zeek:JSONv1;["a",1]`, `JSONv1;{"from":"zeek"}`, 0)
	expect(t, "read Zeek's entry", do(t, b, storagetest.GetOp([]byte(`JSONv1;["a",1]`), now)), storagefw.Success, []byte(`JSONv1;{"from":"zeek"}`))
	expect(t, "erase it", do(t, b, storagetest.EraseOp([]byte(`JSONv1;["a",1]`), now)), storagefw.Success, nil)
	if rc.Exists(ctx, `zeek:JSONv1;["a",1]`).Val() != 0 {
		t.Fatal("erase did not DEL Zeek's key")
	}
}

// TestZeekLayoutReplay checks replay mode's layout: the entry without a
// TTL, and "<key_prefix>_expire" scoring the serialized key with its
// absolute expiry.
func TestZeekLayoutReplay(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rc := srv.client()
	clock := storagetest.NewClock(storagetest.StartTime)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("zr"), Clock: clock.Now})

	key := ser("k")
	t0 := clock.Now()
	expect(t, "put", do(t, b, storagetest.PutOp(key, ser("v"), true, t0+10.5, t0)), storagefw.Success, nil)
	if got := rc.Get(ctx, `zr:JSONv1;"k"`).Val(); got != string(ser("v")) {
		t.Fatalf("entry = %q", got)
	}
	if ttl := rc.PTTL(ctx, `zr:JSONv1;"k"`).Val(); ttl != -1 {
		t.Fatalf("replay-mode entry has a native TTL %v", ttl)
	}
	score, err := rc.ZScore(ctx, "zr_expire", `JSONv1;"k"`).Result()
	if err != nil || score != t0+10.5 {
		t.Fatalf("ZSCORE zr_expire = %v, %v; want %v", score, err, t0+10.5)
	}

	// An entry Zeek put while reading a trace (SET + ZADD) expires for us
	// by network time before any sweep.
	rc.Set(ctx, `zr:JSONv1;"z"`, `JSONv1;"zeek"`, 0)
	rc.ZAdd(ctx, "zr_expire", goredis.Z{Score: t0 + 5, Member: `JSONv1;"z"`})
	expect(t, "get Zeek's entry before expiry", do(t, b, storagetest.GetOp(ser("z"), t0+4)), storagefw.Success, []byte(`JSONv1;"zeek"`))
	expect(t, "get Zeek's entry after expiry", do(t, b, storagetest.GetOp(ser("z"), t0+5)), storagefw.KeyNotFound, nil)
	n, err := b.Expire(ctx, t0+6)
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	if rc.Exists(ctx, `zr:JSONv1;"z"`).Val() != 0 || rc.ZScore(ctx, "zr_expire", `JSONv1;"z"`).Err() != goredis.Nil {
		t.Fatal("sweep left Zeek's expired entry behind")
	}
}

// TestPeriodicSweep checks that the Backend sweeps on ExpireInterval by
// itself.
func TestPeriodicSweep(t *testing.T) {
	srv := startServer(t)
	rc := srv.client()
	clock := storagetest.NewClock(storagetest.StartTime)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("ps"), Clock: clock.Now, ExpireInterval: 10 * time.Millisecond})
	t0 := clock.Now()
	for i := range 2500 { // more than one sweep batch
		storagetest.Submit(b, storagetest.PutOp(ser(i), ser(i), true, t0+1, t0))
	}
	expect(t, "put", do(t, b, storagetest.PutOp(ser("keep"), ser(0), true, 0, t0)), storagefw.Success, nil)
	if n := rc.DBSize(context.Background()).Val(); n != 2502 {
		t.Fatalf("dbsize %d", n)
	}
	clock.Set(t0 + 2)
	testutil.Eventually(t, 10*time.Second, "periodic sweep", func() bool {
		return rc.DBSize(context.Background()).Val() == 1 // only "keep"; the set is gone when empty
	})
}

// TestAuth: a wrong password gives CONNECTION_FAILED with the server's
// reply (as Zeek), the right one works, and the password is never logged.
func TestAuth(t *testing.T) {
	const pw = "s3cret-Pa55"
	srv := startServer(t, "--requirepass", pw)
	var logs testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	open := func(opts map[string]any) (storagefw.Backend, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return Open(ctx, storagefw.OpenConfig{Options: opts, Clock: wallNow, Logger: logger})
	}
	checkFailed := func(err error, want string) {
		t.Helper()
		var se *storagefw.Error
		if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed || !strings.Contains(se.Msg, want) {
			t.Fatalf("Open: %v; want CONNECTION_FAILED containing %q", err, want)
		}
	}
	// A rejected AUTH is worded exactly as Zeek's (Redis::HandleAuthResult,
	// the Baseline of Zeek's redis/auth btest): no server address.
	const wrongPass = "AUTH command failed to authenticate: WRONGPASS invalid username-password pair or user is disabled."
	checkExact := func(err error, want string) {
		t.Helper()
		var se *storagefw.Error
		if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed || se.Msg != want {
			t.Fatalf("Open: %v; want CONNECTION_FAILED with exactly %q", err, want)
		}
	}
	_, err := open(srv.options("a", "password", "notthepassword"))
	checkExact(err, wrongPass)
	_, err = open(srv.options("a", "username", "nobody", "password", pw))
	checkExact(err, wrongPass)
	// No password: no AUTH (as Zeek); the server's refusal of the
	// handshake names the server.
	_, err = open(srv.options("a"))
	checkFailed(err, "NOAUTH")
	checkFailed(err, "Redis server at "+srv.addr())

	for _, opts := range []map[string]any{
		srv.options("a", "password", pw),
		srv.options("a", "username", "default", "password", pw),
	} {
		b, err := open(opts)
		if err != nil {
			t.Fatalf("Open with the right password: %v", err)
		}
		expect(t, "put", do(t, b, storagetest.PutOp(ser(1), ser(1), true, 0, wallNow())), storagefw.Success, nil)
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatalf("password logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "<redacted>") {
		t.Fatalf("expected the options (password redacted) in the log:\n%s", logs.String())
	}
}

// TestNoServer: nothing listens → CONNECTION_FAILED at once; a server that
// accepts but never answers → CONNECTION_FAILED after connect_timeout.
func TestNoServer(t *testing.T) {
	port := testutil.FreePort(t)
	start := time.Now()
	_, err := Open(context.Background(), storagefw.OpenConfig{Options: map[string]any{
		"server_host": "127.0.0.1", "server_port": float64(port), "connect_timeout": "2s"}})
	elapsed := time.Since(start)
	var se *storagefw.Error
	if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed {
		t.Fatalf("Open without a server: %v; want CONNECTION_FAILED", err)
	}
	if elapsed > 2*time.Second+500*time.Millisecond {
		t.Fatalf("Open took %v, more than connect_timeout", elapsed)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accept, never answer
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	const ct = 300 * time.Millisecond
	start = time.Now()
	_, err = Open(context.Background(), storagefw.OpenConfig{Options: map[string]any{
		"server_host": "127.0.0.1", "server_port": float64(l.Addr().(*net.TCPAddr).Port), "connect_timeout": "300ms"}})
	elapsed = time.Since(start)
	if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed || !strings.Contains(se.Msg, "connect_timeout") {
		t.Fatalf("Open against a silent server: %v; want CONNECTION_FAILED mentioning connect_timeout", err)
	}
	if elapsed < ct || elapsed > ct+2*time.Second {
		t.Fatalf("Open against a silent server took %v, want about %v", elapsed, ct)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]any
		code storagefw.Code
		msg  string
	}{
		{nil, storagefw.InitializationFailed, "missing"},
		{map[string]any{}, storagefw.ConnectionFailed, "Either server_host/server_port or server_unix_socket must be set"},
		{map[string]any{"server_host": "h", "sever_port": 1}, storagefw.InitializationFailed, `redis option "sever_port": unknown option (known: server_host, server_port, server_unix_socket, key_prefix, connect_timeout, operation_timeout, username, password, cluster, cluster_addrs, sentinel_master, sentinel_addrs, tls, tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, tls_insecure_skip_verify)`},
		{map[string]any{"server_host": "h", "server_port": "6379/udp"}, storagefw.InitializationFailed, "not a TCP port"},
		{map[string]any{"server_host": "h", "server_port": 70000.0}, storagefw.InitializationFailed, "out of range"},
		{map[string]any{"server_host": 1}, storagefw.InitializationFailed, "must be a string"},
		{map[string]any{"server_host": "h", "operation_timeout": "soon"}, storagefw.InitializationFailed, "operation_timeout"},
		{map[string]any{"server_host": "h", "connect_timeout": 0.0}, storagefw.InitializationFailed, "positive"},
	} {
		_, err := parseOptions(tc.opts)
		var se *storagefw.Error
		if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("parseOptions(%v) = %v; want %s containing %q", tc.opts, err, tc.code, tc.msg)
		}
	}
	s, err := parseOptions(map[string]any{"server_host": "::1", "server_port": "6380/tcp", "connect_timeout": "250ms", "operation_timeout": 1.5, "password": "pw"})
	if err != nil || s.addr != "[::1]:6380" || s.connectTimeout != 250*time.Millisecond || s.operationTimeout != 1500*time.Millisecond {
		t.Fatalf("parseOptions = %+v, %v", s, err)
	}
	s, err = parseOptions(map[string]any{"server_host": "h"})
	if err != nil || s.addr != "h:6379" || s.connectTimeout != 5*time.Second || s.operationTimeout != 5*time.Second || s.keyPrefix != "" {
		t.Fatalf("defaults = %+v, %v", s, err)
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"6.0.16": false, "5.0.7": false, "6.2.0": true, "6.2.14": true, "7.0.15": true, "10.0.1": true, "7.2": true} {
		_, err := checkVersion("# Server\r\nredis_version:" + v + "\r\nredis_mode:standalone\r\n")
		if (err == nil) != ok {
			t.Errorf("version %s: err %v, want ok=%v", v, err, ok)
		}
		if !ok && err != nil && !strings.Contains(err.Error(), "too low") {
			t.Errorf("version %s: unclear error %v", v, err)
		}
	}
	if _, err := checkVersion("# Server\r\n"); err == nil {
		t.Error("missing version accepted")
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "redis.sock")
	startServer(t, "--unixsocket", sock)
	b := openTest(t, storagefw.OpenConfig{Options: map[string]any{"server_unix_socket": sock}, Clock: wallNow})
	expect(t, "put", do(t, b, storagetest.PutOp(ser(1), ser(2), true, 0, wallNow())), storagefw.Success, nil)
	expect(t, "get", do(t, b, storagetest.GetOp(ser(1), wallNow())), storagefw.Success, ser(2))
}

// TestTwoEngines: two Backends (two processes in real life) share one
// server and prefix; what one writes the other reads, in both modes.
func TestTwoEngines(t *testing.T) {
	srv := startServer(t)
	for _, mode := range []string{"live", "replay"} {
		t.Run(mode, func(t *testing.T) {
			clock := wallNow
			if mode == "replay" {
				clock = storagetest.NewClock(storagetest.StartTime).Now
			}
			a := openTest(t, storagefw.OpenConfig{Options: srv.options("shared-" + mode), Clock: clock})
			b := openTest(t, storagefw.OpenConfig{Options: srv.options("shared-" + mode), Clock: clock})
			now := clock()
			expect(t, "a puts", do(t, a, storagetest.PutOp(ser("k"), ser("from a"), true, now+100, now)), storagefw.Success, nil)
			expect(t, "b gets", do(t, b, storagetest.GetOp(ser("k"), now)), storagefw.Success, ser("from a"))
			expect(t, "b put nx loses", do(t, b, storagetest.PutOp(ser("k"), ser("from b"), false, 0, now)), storagefw.KeyExists, nil)
			expect(t, "b erases", do(t, b, storagetest.EraseOp(ser("k"), now)), storagefw.Success, nil)
			expect(t, "a sees the erase", do(t, a, storagetest.GetOp(ser("k"), now)), storagefw.KeyNotFound, nil)
		})
	}
}

// TestOperationTimeout pauses the server: ops time out with TIMEOUT after
// operation_timeout, the connection stays usable, and late replies are
// not mistaken for later ops' replies.
func TestOperationTimeout(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rc := srv.client()
	const opTimeout = 300 * time.Millisecond
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("to", "operation_timeout", "300ms"), Clock: wallNow})
	now := wallNow()
	expect(t, "put before pause", do(t, b, storagetest.PutOp(ser("k"), ser("v0"), true, 0, now)), storagefw.Success, nil)

	if err := rc.Do(ctx, "CLIENT", "PAUSE", "2500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var calls []*storagetest.Call
	for i := range 200 {
		calls = append(calls, storagetest.Submit(b, storagetest.PutOp(ser("k"), ser(i), true, 0, now))...)
	}
	for i, c := range calls {
		r := c.Wait(t)
		if r.Code != storagefw.Timeout {
			t.Fatalf("op %d during pause: %s (%s), want TIMEOUT", i, r.Code, r.Error)
		}
	}
	if elapsed := time.Since(start); elapsed < opTimeout || elapsed > opTimeout+2*time.Second {
		t.Fatalf("TIMEOUT after %v, want about %v", elapsed, opTimeout)
	}
	// After the pause, new ops work and get their own replies.
	testutil.Eventually(t, 10*time.Second, "server unpaused", func() bool {
		return do(t, b, storagetest.PutOp(ser("k"), ser("after"), true, 0, now)).Code == storagefw.Success
	})
	for i := range 50 {
		v := ser(fmt.Sprintf("after%d", i))
		calls := storagetest.Submit(b, storagetest.PutOp(ser("k"), v, true, 0, now), storagetest.GetOp(ser("k"), now))
		expect(t, "put after pause", calls[0].Wait(t), storagefw.Success, nil)
		expect(t, "get after pause", calls[1].Wait(t), storagefw.Success, v)
	}
}

// TestKillRestart kills the server mid-stream, repeatedly: BackendLost is
// reported, in-flight ops fail with CONNECTION_LOST, new ops fail fast with
// NOT_CONNECTED, and after a restart BackendOpened is reported and ops
// work. Goroutines and server connections do not leak.
func TestKillRestart(t *testing.T) {
	storagetest.VerifyNoLeaks(t)
	srv := startServer(t)
	ctx := context.Background()
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("kr"), Clock: wallNow, Notify: ev.notify})
	for cycle := range 4 {
		rc := goredis.NewClient(&goredis.Options{Addr: srv.addr(), Protocol: 2, MaxRetries: -1, DisableIdentity: true})
		now := wallNow()
		expect(t, "put", do(t, b, storagetest.PutOp(ser("k"), ser(cycle), true, 0, now)), storagefw.Success, nil)
		if n := connectedClients(t, rc); n != 2 {
			t.Fatalf("cycle %d: %d clients connected, want 2 (backend + checker)", cycle, n)
		}
		// Hold the server so that ops are certainly in flight, then kill it.
		if err := rc.Do(ctx, "CLIENT", "PAUSE", "10000", "ALL").Err(); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		var inflight []*storagetest.Call
		for i := range 100 {
			inflight = append(inflight, storagetest.Submit(b, storagetest.PutOp(ser(i), ser(i), true, 0, now), storagetest.GetOp(ser(i), now))...)
		}
		killed := time.Now()
		srv.kill()
		ev.wait(t, storagefw.BackendLost, 5*time.Second)
		for i, c := range inflight {
			r := c.Wait(t)
			if r.Code != storagefw.ConnectionLost {
				t.Fatalf("cycle %d: in-flight op %d: %s (%s), want CONNECTION_LOST", cycle, i, r.Code, r.Error)
			}
		}
		// They fail on the connection's EOF, not by operation_timeout (5s).
		if d := time.Since(killed); d > DefaultOperationTimeout/2 {
			t.Fatalf("in-flight ops failed %v after the kill", d)
		}
		// New ops fail fast while the server is down: inside Submit.
		for range 20 {
			c := storagetest.GetOp(ser("k"), now)
			start := time.Now()
			storagetest.Submit(b, c)
			if !c.Done() {
				t.Fatal("op while down not completed within Submit")
			}
			d := time.Since(start)
			if r := c.Wait(t); r.Code != storagefw.NotConnected {
				t.Fatalf("op while down: %s (%s), want NOT_CONNECTED", r.Code, r.Error)
			}
			if d > DefaultOperationTimeout/2 {
				t.Fatalf("NOT_CONNECTED took %v", d)
			}
		}
		srv.restart()
		ev.wait(t, storagefw.BackendOpened, 10*time.Second)
		expect(t, "put after restart", do(t, b, storagetest.PutOp(ser("k"), ser("back"), true, 0, wallNow())), storagefw.Success, nil)
		expect(t, "get after restart", do(t, b, storagetest.GetOp(ser("k"), wallNow())), storagefw.Success, ser("back"))
	}
	rc := srv.client()
	if n := connectedClients(t, rc); n != 2 {
		t.Fatalf("%d clients connected after the cycles, want 2", n)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "server sees the connection closed", func() bool { return connectedClients(t, rc) == 1 })
}

func connectedClients(t testing.TB, rc *goredis.Client) int {
	t.Helper()
	var n int
	info := rc.Info(context.Background(), "clients").Val()
	for line := range strings.Lines(info) {
		if _, err := fmt.Sscanf(line, "connected_clients:%d", &n); err == nil {
			return n
		}
	}
	t.Fatalf("no connected_clients in %q", info)
	return 0
}

// TestGoroutineLeak opens and closes backends, some while the server is
// down, and checks that nothing is left running.
func TestGoroutineLeak(t *testing.T) {
	storagetest.VerifyNoLeaks(t)
	srv := startServer(t)
	for range 3 {
		ev := newEvents()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		bi, err := Open(ctx, storagefw.OpenConfig{Options: srv.options("leak"), Clock: wallNow, Notify: ev.notify, ExpireInterval: 5 * time.Millisecond})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		b := bi.(*Backend)
		for i := range 100 {
			storagetest.Submit(b, storagetest.PutOp(ser(i), ser(i), true, 0, wallNow()))
		}
		srv.kill()
		ev.wait(t, storagefw.BackendLost, 5*time.Second)
		// Closed while reconnecting.
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.restart()
	}
	// VerifyNoLeaks checks, once the server is killed, that the backends
	// left nothing running.
}

// TestCloseDeadline: Close bounded by ctx while the server is paused fails
// the stuck ops with NOT_CONNECTED and still stops everything.
func TestCloseDeadline(t *testing.T) {
	srv := startServer(t)
	rc := srv.client()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("cd"), Clock: wallNow})
	if err := rc.Do(context.Background(), "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	calls := storagetest.Submit(b, storagetest.PutOp(ser(1), ser(1), true, 0, wallNow()), storagetest.GetOp(ser(1), wallNow()))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := b.Close(ctx); err == nil {
		t.Fatal("Close with stuck ops returned nil")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	for _, c := range calls {
		expect(t, "stuck op", c.Wait(t), storagefw.NotConnected, nil)
	}
	expect(t, "after close", do(t, b, storagetest.GetOp(ser(1), wallNow())), storagefw.NotConnected, nil)
}

// TestScriptFlush: if the server's script cache is flushed, the backend
// reloads its scripts and replay-mode ops work again.
func TestScriptFlush(t *testing.T) {
	srv := startServer(t)
	rc := srv.client()
	clock := storagetest.NewClock(storagetest.StartTime)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("sf"), Clock: clock.Now})
	expect(t, "put", do(t, b, storagetest.PutOp(ser(1), ser(1), true, 0, clock.Now())), storagefw.Success, nil)
	rc.ScriptFlush(context.Background())
	// overwrite:false in replay mode is a script.
	r := do(t, b, storagetest.PutOp(ser(2), ser(2), false, 0, clock.Now()))
	if r.Code != storagefw.OperationFailed || !strings.Contains(r.Error, "NOSCRIPT") {
		t.Fatalf("put after SCRIPT FLUSH: %s %q", r.Code, r.Error)
	}
	testutil.Eventually(t, 5*time.Second, "scripts reloaded", func() bool {
		return do(t, b, storagetest.PutOp(ser(2), ser(2), false, 0, clock.Now())).Code == storagefw.Success
	})
	expect(t, "get", do(t, b, storagetest.GetOp(ser(1), clock.Now())), storagefw.Success, ser(1))
}

func TestSubmitEdgeCases(t *testing.T) {
	srv := startServer(t)
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("edge"), Clock: wallNow})
	b.Submit()
	b.Submit(nil)
	bad := storagetest.PutOp(ser(1), ser(1), true, math.NaN(), wallNow())
	expect(t, "NaN expiry", do(t, b, bad), storagefw.OperationFailed, nil)
	inf := storagetest.PutOp(ser(1), ser(1), true, math.Inf(1), wallNow())
	expect(t, "+Inf expiry (never)", do(t, b, inf), storagefw.Success, nil)
	if ttl := srv.client().PTTL(context.Background(), "edge:"+string(ser(1))).Val(); ttl != -1 {
		t.Fatalf("PTTL %v", ttl)
	}
	// Empty values round-trip.
	expect(t, "put empty", do(t, b, storagetest.PutOp(ser(2), []byte{}, true, 0, wallNow())), storagefw.Success, nil)
	r := do(t, b, storagetest.GetOp(ser(2), wallNow()))
	if r.Code != storagefw.Success || r.Value == nil || len(r.Value) != 0 {
		t.Fatalf("get empty: %+v", r)
	}
}

// fakeServer listens on loopback and answers each command (an array of
// bulk strings) with answer(args), raw RESP text.
func fakeServer(t *testing.T, answer func(args []string) string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					args, err := readCommand(br)
					if err != nil {
						return
					}
					if _, err := nc.Write([]byte(answer(args))); err != nil {
						return
					}
				}
			})
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// readCommand reads one command (a RESP array of bulk strings).
func readCommand(br *bufio.Reader) ([]string, error) {
	line := func() (string, error) {
		l, err := br.ReadString('\n')
		return strings.TrimRight(l, "\r\n"), err
	}
	head, err := line()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(head, "*") {
		return nil, fmt.Errorf("not a command: %q", head)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		l, err := line()
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimPrefix(l, "$"))
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

func TestOldServerRejected(t *testing.T) {
	port := fakeServer(t, func(args []string) string {
		if strings.EqualFold(args[0], "HELLO") { // as Redis 5 answers it
			return "-ERR unknown command `HELLO`, with args beginning with: `2`, \r\n"
		}
		if strings.EqualFold(args[0], "INFO") {
			info := "# Server\r\nredis_version:6.0.16\r\n"
			return fmt.Sprintf("$%d\r\n%s\r\n", len(info), info)
		}
		return "-ERR unknown command\r\n"
	})
	_, err := Open(context.Background(), storagefw.OpenConfig{Options: map[string]any{"server_host": "127.0.0.1", "server_port": float64(port)}})
	var se *storagefw.Error
	if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed || !strings.Contains(se.Msg, "version is too low: found 6.0.16, need 6.2.0") {
		t.Fatalf("Open against Redis 6.0: %v", err)
	}
}

// TestKillUnderLoad kills and restarts the server while a submitter keeps
// up to 256 ops in flight: every op completes exactly once, with SUCCESS,
// KEY_NOT_FOUND, CONNECTION_LOST or NOT_CONNECTED, and NOT_CONNECTED comes
// at once.
func TestKillUnderLoad(t *testing.T) {
	srv := startServer(t)
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: srv.options("load"), Clock: wallNow, Notify: ev.notify})

	var (
		mu         sync.Mutex
		codes      = map[storagefw.Code]int{}
		submitted  atomic.Int64
		completed  atomic.Int64
		doubleDone atomic.Int64
		asyncNC    atomic.Int64 // NOT_CONNECTED delivered after Submit returned
		ncLatency  []time.Duration
		stop       = make(chan struct{})
		sem        = make(chan struct{}, 256)
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case sem <- struct{}{}:
			}
			var once, returned atomic.Bool
			start := time.Now()
			kind := storagefw.PutRequest
			if i%2 == 1 {
				kind = storagefw.GetRequest
			}
			op := storagefw.NewRequest(kind, func(r storagefw.Reply) {
				if !once.CompareAndSwap(false, true) {
					doubleDone.Add(1)
				}
				mu.Lock()
				if r.Code == storagefw.NotConnected {
					ncLatency = append(ncLatency, time.Since(start))
					if returned.Load() {
						asyncNC.Add(1)
					}
				}
				codes[r.Code]++
				mu.Unlock()
				completed.Add(1)
				<-sem
			})
			op.Key, op.Value, op.Overwrite, op.Now = ser(i%100), ser(i), true, wallNow()
			submitted.Add(1)
			b.Submit(op)
			returned.Store(true)
		}
	})
	count := func(c storagefw.Code) int { mu.Lock(); defer mu.Unlock(); return codes[c] }
	for cycle := range 3 {
		ok := count(storagefw.Success)
		testutil.Eventually(t, 10*time.Second, "successes", func() bool { return count(storagefw.Success) > ok+1000 })
		srv.kill()
		ev.wait(t, storagefw.BackendLost, 5*time.Second)
		nc := count(storagefw.NotConnected)
		testutil.Eventually(t, 10*time.Second, "NOT_CONNECTED while down", func() bool { return count(storagefw.NotConnected) > nc+100 })
		srv.restart()
		ev.wait(t, storagefw.BackendOpened, 10*time.Second)
		t.Logf("cycle %d: %v", cycle, func() map[storagefw.Code]int { mu.Lock(); defer mu.Unlock(); return maps.Clone(codes) }())
	}
	ok := count(storagefw.Success)
	testutil.Eventually(t, 10*time.Second, "successes after the last restart", func() bool { return count(storagefw.Success) > ok+1000 })
	close(stop)
	wg.Wait()
	testutil.Eventually(t, 10*time.Second, "every op completed", func() bool { return completed.Load() == submitted.Load() })
	if n := doubleDone.Load(); n > 0 {
		t.Fatalf("%d ops completed twice", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// While down, NOT_CONNECTED is given inside Submit: it cannot wait for
	// the network, whatever the machine's load does to wall-clock times.
	if n := asyncNC.Load(); n > 0 {
		t.Fatalf("%d NOT_CONNECTED results were delivered after Submit returned", n)
	}
	slices.Sort(ncLatency)
	med, worst := ncLatency[len(ncLatency)/2], ncLatency[len(ncLatency)-1]
	t.Logf("NOT_CONNECTED latency over %d ops: median %v, max %v", len(ncLatency), med, worst)
	if med > 5*time.Millisecond || worst > DefaultOperationTimeout/2 {
		t.Fatalf("NOT_CONNECTED latency median %v, max %v: not fast", med, worst)
	}
	for c := range codes {
		switch c {
		case storagefw.Success, storagefw.KeyNotFound, storagefw.ConnectionLost, storagefw.NotConnected:
		default:
			t.Errorf("unexpected code %s (%d times)", c, codes[c])
		}
	}
}
