package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// The connection to the server(s) is rueidis's. This file configures it
// (one connection per server, no retries, no client-side cache, RESP2 as
// Zeek speaks it), dials its connections (TCP, Unix socket, TLS) through
// Backend.dial so that the Backend hears at once of a connection that
// drops, and runs the Backend's own handshake on top of rueidis's (AUTH):
// the version check and SCRIPT LOAD.

// minVersion is Zeek's REQUIRED_VERSION: PXAT needs Redis 6.2.
var minVersion = [3]int{6, 2, 0}

// errDown is what a dial reports while the Backend is disconnected and not
// reconnecting: rueidis redials on demand, the Backend decides when.
var errDown = errors.New("not connected")

// sentinelMarker tags the net.Dialer rueidis hands Backend.dial for a
// connection to a sentinel (SentinelOption.Dialer), as opposed to one to a
// data node: only the loss of the latter is the Backend's loss. (The field
// only tunes dual-stack dialling, which Backend.dial does not use.)
const sentinelMarker = 301*time.Millisecond + 7

// maxBatch caps how many commands one pipeline (DoMulti) carries.
const maxBatch = 4096

// clientOption is the rueidis configuration of b's settings.
func (b *Backend) clientOption() rueidis.ClientOption {
	s := b.s
	o := rueidis.ClientOption{
		InitAddress: []string{s.addr},
		DialCtxFn:   b.dial,
		Dialer:      net.Dialer{Timeout: s.connectTimeout, KeepAlive: time.Second},
		// Commands are not retried: a retry would reorder them.
		DisableRetry: true,
		DisableCache: true,
		AlwaysRESP2:  true,
		// One connection per server (Redis executes one connection's
		// commands in order), and never a pooled one for long pipelines.
		PipelineMultiplex: -1,
		BlockingPipeline:  math.MaxInt32,
		ClientSetInfo:     rueidis.DisableClientSetInfo,
		// A server that answers nothing, not even PING, for this long is
		// taken for lost.
		ConnWriteTimeout: max(10*time.Second, 2*s.operationTimeout),
	}
	// As Zeek: AUTH only when a password is set.
	if s.password != "" {
		o.Username, o.Password = s.username, s.password
	}
	switch s.topology {
	case standalone:
		o.ForceSingleClient = true
	case cluster:
		o.InitAddress = s.seeds
	case sentinel:
		o.InitAddress = s.seeds
		o.Sentinel = rueidis.SentinelOption{
			MasterSet: s.master,
			Dialer:    net.Dialer{Timeout: s.connectTimeout, KeepAlive: time.Second, FallbackDelay: sentinelMarker},
			// Ask the sentinels again now and then, in case a
			// +switch-master announcement was missed.
			TopologyRefreshInterval: 5 * time.Second,
		}
	}
	return o
}

// dial opens one connection for rueidis: TCP or the Unix socket, then TLS
// when configured, wrapped so that its failure reaches the Backend.
func (b *Backend) dial(ctx context.Context, dst string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
	data := d.FallbackDelay != sentinelMarker
	b.mu.Lock()
	gen, allowed := b.gen, !b.closed && (b.connected || b.probing || b.s.topology == sentinel)
	b.mu.Unlock()
	if data && !allowed {
		return nil, errDown
	}
	network := "tcp"
	if b.s.topology == standalone {
		network = b.s.network
	}
	nd := net.Dialer{Timeout: d.Timeout, KeepAlive: 15 * time.Second}
	nc, err := nd.DialContext(ctx, network, dst)
	if err != nil {
		return nil, err
	}
	if b.s.tls != nil {
		cfg := b.s.tls.Clone()
		if cfg.ServerName == "" && network == "tcp" {
			cfg.ServerName, _, _ = net.SplitHostPort(dst)
		}
		tc := tls.Client(nc, cfg)
		hctx, cancel := context.WithTimeout(ctx, max(d.Timeout, time.Second))
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", dst, err)
		}
		nc = tc
	}
	return &watchedConn{Conn: nc, b: b, gen: gen, data: data, addr: dst}, nil
}

// watchedConn reports the failure of a data connection to the Backend the
// moment rueidis's reader or writer meets it, so that a drop is noticed
// even when no operation is in flight.
type watchedConn struct {
	net.Conn
	b        *Backend
	gen      uint64 // the Backend's connection generation at the dial
	data     bool   // a data node's connection (not a sentinel's)
	addr     string
	closed   atomic.Bool // closed by rueidis (or the Backend) itself
	reported atomic.Bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.failed(err)
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.failed(err)
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func (c *watchedConn) failed(err error) {
	if !c.data || c.closed.Load() || errors.Is(err, os.ErrDeadlineExceeded) || !c.reported.CompareAndSwap(false, true) {
		return
	}
	c.b.connLost(c.gen, c.addr, err)
}

// connectFailed words a failure to connect as CONNECTION_FAILED. A
// rejected AUTH is worded as Zeek's; the other failures name the server(s)
// (Zeek names the address only when hiredis cannot set up the connection,
// "Failed to open connection to Redis server at <addr>", and otherwise
// gives hiredis's error alone, "Connection failed: Connection refused",
// which does not say which of several backends failed).
func (b *Backend) connectFailed(err error) error {
	var se *storagefw.Error
	if errors.As(err, &se) {
		return err
	}
	failed := func(format string, args ...any) error {
		return storagefw.Errorf(storagefw.ConnectionFailed, "%s: "+format, append([]any{b.s}, args...)...)
	}
	var re *rueidis.RedisError
	var ne net.Error
	switch {
	case errors.As(err, &re) && b.s.password != "" && (strings.HasPrefix(re.Error(), "WRONGPASS") || strings.Contains(re.Error(), "AUTH")):
		// Zeek's wording exactly (Redis::HandleAuthResult), without the
		// server's address: the server was reached and answered, and the
		// reply names what is wrong. (The failures below keep the address:
		// there it is what the user has to check.)
		return storagefw.Errorf(storagefw.ConnectionFailed, "AUTH command failed to authenticate: %s", re.Error())
	case errors.As(err, &re):
		return failed("%s", re.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return failed("no connection or no reply to the handshake within connect_timeout (%v): %v", b.s.connectTimeout, err)
	}
	return failed("connection failed: %v", err)
}

// handshake checks the connected server(s) (version; a Sentinel's master
// really is a master; a cluster is healthy) and loads the scripts, bounded
// by connect_timeout. Replay mode's scripts are loaded on every master.
func (b *Backend) handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.s.connectTimeout)
	defer cancel()
	if b.s.topology != cluster {
		return b.checkNode(ctx, b.client, b.s.topology == sentinel)
	}
	info, err := b.client.Do(ctx, clusterInfoCmd(b.client.B())).ToString()
	if err != nil {
		return fmt.Errorf("CLUSTER INFO: %w", err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return storagefw.Errorf(storagefw.ConnectionFailed, "%s: cluster_state is not ok", b.s)
	}
	masters, err := b.masters(ctx)
	if err != nil {
		return err
	}
	for _, addr := range masters {
		nc, err := b.node(addr)
		if err != nil {
			return err
		}
		if err := b.checkNode(ctx, nc, false); err != nil {
			return fmt.Errorf("node %s: %w", addr, err)
		}
	}
	return nil
}

// checkNode runs the handshake on one server: ROLE (when role is set: it
// must be a master), INFO server for the version check, and SCRIPT LOAD of
// the scripts, pipelined in one round trip.
func (b *Backend) checkNode(ctx context.Context, c rueidis.Client, role bool) error {
	B := c.B()
	var cmds rueidis.Commands
	if role {
		cmds = append(cmds, roleCmd(B))
	}
	cmds = append(cmds, infoCmd(B, "server"))
	scripts := b.scripts.all(b.s.topology)
	for _, s := range scripts {
		cmds = append(cmds, scriptLoadCmd(B, s.body))
	}
	res := c.DoMulti(ctx, cmds...)
	if role {
		n, err := masterReplicas(res[0])
		if err != nil {
			return storagefw.Errorf(storagefw.ConnectionFailed, "%s: %v", b.s, err)
		}
		b.replicas.Store(int32(n))
		res = res[1:]
	}
	info, err := res[0].ToString()
	if err != nil {
		var re *rueidis.RedisError
		if errors.As(err, &re) {
			return storagefw.Errorf(storagefw.ConnectionFailed, "%s: INFO command failed: %s", b.s, re.Error())
		}
		return err
	}
	version, err := checkVersion(info)
	if err != nil {
		return storagefw.Errorf(storagefw.ConnectionFailed, "%s: %v", b.s, err)
	}
	for i, s := range scripts {
		sha, err := res[1+i].ToString()
		if err != nil && !isConnFailure(err) {
			// Not fatal: live mode needs no scripts (an ACL user may lack
			// SCRIPT); replay-mode ops will report the server's error.
			b.log.Warn("redis: SCRIPT LOAD failed; replay-mode expiry and the calls beyond Zeek will not work",
				"server", b.s.addr, "error", err)
			break
		}
		if err != nil {
			return err
		}
		if sha != s.sha {
			return fmt.Errorf("SCRIPT LOAD returned %q, want %q", sha, s.sha)
		}
	}
	b.log.Debug("redis: connected", "server", b.s.addr, "redis_version", version)
	return nil
}

// checkVersion finds redis_version in an INFO reply and checks it against
// minVersion (numerically; Zeek compares the strings).
func checkVersion(info string) (string, error) {
	for line := range strings.Lines(info) {
		v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "redis_version:")
		if !ok {
			continue
		}
		var got [3]int
		for i, part := range strings.SplitN(v, ".", 3) {
			n, err := strconv.Atoi(part)
			if err != nil {
				return v, fmt.Errorf("cannot parse Redis server version %q", v)
			}
			got[i] = n
		}
		for i := range got {
			if got[i] != minVersion[i] {
				if got[i] < minVersion[i] {
					return v, fmt.Errorf("Redis server version is too low: found %s, need %d.%d.%d (for SET ... PXAT)",
						v, minVersion[0], minVersion[1], minVersion[2])
				}
				break
			}
		}
		return v, nil
	}
	return "", errors.New("INFO command did not return the server version")
}

// reloadScripts loads the scripts again after a server answered NOSCRIPT
// (its script cache was flushed): on the server, or every master. Requests
// sent before the reload fail with OPERATION_FAILED; later ones work again.
func (b *Backend) noteScriptError(err error) {
	if !isNoScript(err) {
		return
	}
	b.mu.Lock()
	if b.reloading || b.closed {
		b.mu.Unlock()
		return
	}
	b.reloading = true
	b.wg.Add(1)
	b.mu.Unlock()
	b.log.Warn("redis: server lost its script cache; reloading scripts", "server", b.s.addr)
	go func() {
		defer b.wg.Done()
		ctx, cancel := b.opContext(b.mono() + b.s.operationTimeout)
		defer cancel()
		clients := []rueidis.Client{b.client}
		if b.s.topology == cluster {
			clients = clients[:0]
			masters, err := b.masters(ctx)
			if err == nil {
				for _, m := range masters {
					if c, err := b.node(m); err == nil {
						clients = append(clients, c)
					}
				}
			}
		}
		for _, c := range clients {
			var cmds rueidis.Commands
			for _, s := range b.scripts.all(b.s.topology) {
				cmds = append(cmds, scriptLoadCmd(c.B(), s.body))
			}
			for _, r := range c.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					b.log.Warn("redis: SCRIPT LOAD failed", "error", err)
				}
			}
		}
		b.mu.Lock()
		b.reloading = false
		b.mu.Unlock()
	}()
}

// masterReplicas interprets a ROLE reply: the number of replicas of a
// master, or an error when the server is not a master.
func masterReplicas(res rueidis.RedisResult) (int, error) {
	el, err := res.ToArray()
	if err != nil {
		return 0, err
	}
	if len(el) < 3 {
		return 0, fmt.Errorf("unexpected ROLE reply %s", describe(res))
	}
	if r, _ := el[0].ToString(); r != "master" {
		return 0, fmt.Errorf("the server is a %s, not the master", r)
	}
	reps, err := el[2].ToArray()
	if err != nil {
		return 0, err
	}
	return len(reps), nil
}

// watchReplicas keeps b.replicas, the number of replicas of the master
// (Sentinel), up to date: every second, and at once when a WAIT found
// none (refreshReplicas).
func (b *Backend) watchReplicas() {
	defer b.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		case <-b.replicaCheck:
		}
		ctx, cancel := b.opContext(b.mono() + b.s.operationTimeout)
		n, err := masterReplicas(b.client.Do(ctx, roleCmd(b.client.B())))
		cancel()
		if err == nil && int32(n) != b.replicas.Swap(int32(n)) {
			b.log.Info("redis: replicas of the master", "replicas", n)
		}
	}
}

// isWrite reports whether a request of kind k may change the store.
func isWrite(k cmdKind) bool {
	switch k {
	case cmdGet, cmdGetReplay, cmdScan:
		return false
	}
	return true
}

// waitCmd is WAIT numreplicas timeout.
func waitCmd(b rueidis.Builder, replicas int, timeout time.Duration) rueidis.Completed {
	return b.Arbitrary("WAIT", strconv.Itoa(replicas), strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)).Build()
}
