package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

const (
	// maxBatch caps how many requests the writer takes per pipeline.
	maxBatch = 4096
	// bufSize is the size of the read and write buffers.
	bufSize = 64 << 10
)

// minVersion is Zeek's REQUIRED_VERSION: PXAT needs Redis 6.2.
var minVersion = [3]int{6, 2, 0}

// errGraceful ends the reader once a closing connection has no request
// left to answer.
var errGraceful = errors.New("connection closed")

// conn is one connection to the server with its writer and reader
// goroutines. Fields marked "b.mu" are guarded by the Backend's mutex.
type conn struct {
	b   *Backend
	nc  net.Conn
	br  *bufio.Reader
	enc encoder

	queue      fifo   // b.mu: submitted, not yet written
	pending    []*req // b.mu: written (or being written), awaiting a reply
	writerIdle bool   // b.mu: the writer waits on wake
	closing    bool   // b.mu: Close was called: finish what is queued, then exit
	writerDone bool   // b.mu: the writer has exited after a graceful close
	dead       bool   // b.mu: the connection failed or was closed
	reloading  bool   // b.mu: a SCRIPT LOAD is queued after NOSCRIPT

	// Reader-owned: requests whose replies are expected next, in order.
	local    []*req
	head     int // local[head] gets the next reply
	got      int // replies received so far for local[head]
	liveFrom int // no request before local[liveFrom] is still live

	wake    chan struct{} // cap 1: work for an idle writer
	deadCh  chan struct{} // closed when the connection fails
	exited  chan struct{} // closed when both goroutines have exited
	running atomic.Int32
}

func newConn(b *Backend, nc net.Conn) *conn {
	c := &conn{
		b:      b,
		nc:     nc,
		wake:   make(chan struct{}, 1),
		deadCh: make(chan struct{}),
		exited: make(chan struct{}),
	}
	c.br = bufio.NewReaderSize(connReader{c}, bufSize)
	c.enc.w = bufio.NewWriterSize(nc, bufSize)
	return c
}

// start launches the writer and reader. Call with b.mu held and the
// Backend not closed (so that b.wg.Add happens before Close waits).
func (c *conn) start() {
	c.running.Store(2)
	c.b.wg.Add(2)
	go c.writeLoop()
	go c.readLoop()
}

// exit is deferred by both goroutines; the last one closes the socket.
func (c *conn) exit() {
	if c.running.Add(-1) == 0 {
		c.nc.Close()
		close(c.exited)
	}
	c.b.wg.Done()
}

// wakeLocked tells an idle writer there is work. Call with b.mu held.
func (c *conn) wakeLocked() {
	if c.writerIdle {
		c.writerIdle = false
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// writeLoop sends queued requests, as many as are queued (up to maxBatch)
// per write.
func (c *conn) writeLoop() {
	defer c.exit()
	b := c.b
	var batch []*req
	for {
		b.mu.Lock()
		for c.queue.len() == 0 && !c.dead && !c.closing {
			c.writerIdle = true
			b.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.deadCh:
			}
			b.mu.Lock()
		}
		c.writerIdle = false
		if c.dead {
			b.mu.Unlock()
			return
		}
		if c.queue.len() == 0 { // closing, and everything is sent
			c.writerDone = true
			c.nc.SetReadDeadline(time.Now()) // let the reader re-check
			b.mu.Unlock()
			return
		}
		batch = c.queue.popN(batch[:0], maxBatch)
		batch = takeRequests(batch)
		// Register the batch with the reader before any of it is sent.
		c.pending = append(c.pending, batch...)
		b.mu.Unlock()

		for _, r := range batch {
			c.encode(r)
		}
		clear(batch)
		if err := c.enc.w.Flush(); err != nil {
			c.fail(fmt.Errorf("write: %w", err))
			return
		}
	}
}

// takeRequests takes the batch's requests (storagefw.Request.Take) and
// drops those cancelled before: they are never sent (and already completed).
func takeRequests(batch []*req) []*req {
	n := 0
	for _, r := range batch {
		if op := r.taker(); op != nil && !op.Take() {
			r.claim()
			continue
		}
		batch[n] = r
		n++
	}
	clear(batch[n:])
	return batch[:n]
}

// readLoop decodes replies and completes requests in order.
func (c *conn) readLoop() {
	defer c.exit()
	b := c.b
	for {
		rep, err := readReply(c.br)
		if err != nil {
			if !errors.Is(err, errGraceful) {
				c.fail(err)
			}
			c.failLocal(err)
			return
		}
		if c.head == len(c.local) {
			b.mu.Lock()
			clear(c.local)
			c.local, c.pending = c.pending, c.local[:0]
			b.mu.Unlock()
			c.head, c.liveFrom = 0, 0
			if len(c.local) == 0 {
				c.fail(fmt.Errorf("%w: unsolicited reply (%s)", errProtocol, rep.describe()))
				return
			}
		}
		r := c.local[c.head]
		if c.got++; c.got < r.kind.replies() {
			continue // MULTI's +OK and +QUEUED; EXEC's reply decides
		}
		c.got = 0
		c.local[c.head] = nil
		c.head++
		c.liveFrom = max(c.liveFrom, c.head)

		switch {
		case isNoScript(rep):
			c.reloadScripts()
		case r.kind == cmdScriptLoad:
			c.scriptLoadDone(rep)
		}
		if r.claim() {
			r.deliver(resultOf(r, rep), rep)
		}
	}
}

// failLocal completes the reader's remaining requests after the reader
// stops (their connection is gone).
func (c *conn) failLocal(err error) {
	res := c.cutOffResult(err)
	for _, r := range c.local[c.head:] {
		r.finish(res)
	}
	clear(c.local)
	c.local, c.head, c.liveFrom, c.got = nil, 0, 0, 0
}

// cutOffResult is the result of a request cut off by a failure: CONNECTION_LOST,
// or NOT_CONNECTED when the Backend is being closed.
func (c *conn) cutOffResult(err error) storagefw.Reply {
	c.b.mu.Lock()
	closing := c.closing
	c.b.mu.Unlock()
	if closing {
		return storagefw.Reply{Code: storagefw.NotConnected, Error: "backend closed before the operation completed"}
	}
	return storagefw.Reply{Code: storagefw.ConnectionLost,
		Error: fmt.Sprintf("connection to %s lost: %v", c.b.s, err)}
}

// fail tears the connection down: it completes every queued and sent
// request with CONNECTION_LOST (NOT_CONNECTED when closing) and tells the
// Backend, which reconnects unless it is closed. Safe to call repeatedly
// and from any goroutine.
func (c *conn) fail(err error) {
	b := c.b
	b.mu.Lock()
	if c.dead {
		b.mu.Unlock()
		return
	}
	c.dead = true
	close(c.deadCh)
	if !c.closing {
		b.lostReason = err.Error()
	}
	unsent := c.queue.drain()
	lost := append([]*req(nil), c.pending...)
	clear(c.pending)
	c.pending = nil
	closing := c.closing
	b.mu.Unlock()

	c.nc.Close() // unblocks the other goroutine
	res := c.cutOffResult(err)
	for _, r := range lost {
		r.finish(res)
	}
	for _, r := range unsent {
		if r.parent != nil && res.Code == storagefw.ConnectionLost {
			// A batch entry never written to the connection: it certainly
			// did not take effect.
			r.finish(storagefw.Reply{Code: storagefw.NotConnected, Error: "not sent: " + res.Error})
			continue
		}
		r.finish(res)
	}
	if !closing {
		b.connLost(c, err)
	}
}

// reloadScripts queues SCRIPT LOAD for every script after the server
// answered NOSCRIPT (its script cache was flushed). Requests sent before the
// reload fail with OPERATION_FAILED; later ones work again.
func (c *conn) reloadScripts() {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.reloading || c.dead || c.closing {
		return
	}
	c.reloading = true
	b.log.Warn("redis: server lost its script cache; reloading scripts", "server", b.s.addr)
	deadline := b.mono() + b.s.operationTimeout
	all := b.scripts.all()
	for i := range all {
		c.queue.push(&req{kind: cmdScriptLoad, script: &all[i], deadline: deadline})
	}
	c.wakeLocked()
}

// scriptLoadDone notes that a SCRIPT LOAD finished (either way), so a
// later NOSCRIPT may trigger another reload.
func (c *conn) scriptLoadDone(rep reply) {
	if rep.isError() {
		c.b.log.Warn("redis: SCRIPT LOAD failed", "error", rep.errString())
	}
	c.b.mu.Lock()
	c.reloading = false
	c.b.mu.Unlock()
}

// connReader is the reader's view of the socket. Before each read it
// completes requests whose operation_timeout has passed, and it sets the
// read deadline to the next request's deadline, so a stalled server cannot
// hold requests past their timeout. bufio never sees a timeout error, so a
// reply that arrives late is still decoded (and discarded).
type connReader struct{ c *conn }

func (cr connReader) Read(p []byte) (int, error) {
	c := cr.c
	for {
		expired, exit, err := c.prepareRead()
		if len(expired) > 0 {
			c.expire(expired)
		}
		if err != nil {
			return 0, err
		}
		if exit {
			return 0, errGraceful
		}
		n, err := c.nc.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
	}
}

// prepareRead runs on the reader goroutine before each socket read.
func (c *conn) prepareRead() (expired []*req, exit bool, err error) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.dead {
		return nil, false, net.ErrClosed
	}
	now := b.mono()
	live := c.oldestLive()
	if live != nil && live.deadline <= now {
		expired = c.collectExpired(now)
		live = c.oldestLive()
	}
	if live == nil && c.closing && c.writerDone {
		return expired, true, nil
	}
	next := now + b.s.operationTimeout // idle: wake up now and then
	if live != nil {
		next = live.deadline
	}
	c.nc.SetReadDeadline(b.epoch.Add(next))
	return expired, false, nil
}

// oldestLive returns the oldest request not yet completed. Call with b.mu
// held, on the reader goroutine.
func (c *conn) oldestLive() *req {
	for c.liveFrom < len(c.local) && c.local[c.liveFrom].done.Load() {
		c.liveFrom++
	}
	if c.liveFrom < len(c.local) {
		return c.local[c.liveFrom]
	}
	if len(c.pending) > 0 {
		return c.pending[0]
	}
	return c.queue.front()
}

// collectExpired claims every request whose deadline has passed: sent ones
// stay in line for their replies (moved to the reader's list), unsent ones
// are dropped from the queue and never sent. Call with b.mu held, on the
// reader goroutine.
func (c *conn) collectExpired(now time.Duration) []*req {
	var out []*req
	c.local = append(c.local, c.pending...)
	clear(c.pending)
	c.pending = c.pending[:0]
	for i := c.liveFrom; i < len(c.local); i++ {
		r := c.local[i]
		if r.deadline > now {
			return out
		}
		if r.claim() {
			out = append(out, r)
		}
	}
	for r := c.queue.front(); r != nil && r.deadline <= now; r = c.queue.front() {
		c.queue.popFront()
		if r.claim() {
			out = append(out, r)
		}
	}
	return out
}

// expire delivers TIMEOUT to claimed requests (outside the lock).
func (c *conn) expire(rs []*req) {
	for _, r := range rs {
		if r.kind == cmdScriptLoad {
			c.scriptLoadDone(reply{kind: '-', str: []byte("timed out")})
		}
		r.deliver(storagefw.Reply{Code: storagefw.Timeout,
			Error: fmt.Sprintf("%s operation timed out after %v (operation_timeout)", r.kind.opName(), c.b.s.operationTimeout)},
			reply{})
	}
}

// dial connects and runs the handshake: AUTH (when a password is set, as
// Zeek does), INFO server for the version check, and SCRIPT LOAD of the
// replay scripts, pipelined in one round trip. Everything is bounded by
// connect_timeout and ctx.
func (b *Backend) dial(ctx context.Context) (*conn, error) {
	failed := func(format string, args ...any) error {
		return storagefw.Errorf(storagefw.ConnectionFailed, "%s: "+format, append([]any{b.s}, args...)...)
	}
	ctx, cancel := context.WithTimeout(ctx, b.s.connectTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 15 * time.Second}
	nc, err := d.DialContext(ctx, b.s.network, b.s.addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, failed("connection not established within connect_timeout (%v)", b.s.connectTimeout)
		}
		return nil, failed("connection failed: %v", err)
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })

	c := newConn(b, nc)
	herr := c.handshake()
	if !stop() && herr == nil {
		herr = ctx.Err()
	}
	if herr != nil {
		nc.Close()
		var se *storagefw.Error
		switch {
		case errors.As(herr, &se):
			return nil, herr
		case errors.Is(herr, os.ErrDeadlineExceeded) || errors.Is(herr, context.DeadlineExceeded):
			return nil, failed("no reply to the handshake within connect_timeout (%v)", b.s.connectTimeout)
		default:
			return nil, failed("handshake failed: %v", herr)
		}
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) handshake() error {
	b := c.b
	e := &c.enc
	auth := b.s.password != ""
	if auth {
		authCmd(e, b.s.username, b.s.password)
	}
	infoCmd(e, "server")
	scripts := b.scripts.all()
	for _, s := range scripts {
		scriptLoadCmd(e, s.body)
	}
	if err := e.w.Flush(); err != nil {
		return err
	}
	// The handshake reads the socket directly (the reader goroutine and its
	// deadline handling are not running yet).
	br := bufio.NewReaderSize(c.nc, 4096)
	failed := func(format string, args ...any) error {
		return storagefw.Errorf(storagefw.ConnectionFailed, "%s: "+format, append([]any{b.s}, args...)...)
	}
	if auth {
		rep, err := readReply(br)
		if err != nil {
			return err
		}
		if rep.kind != '+' {
			// Zeek: "AUTH command failed to authenticate: <server reply>".
			return failed("AUTH command failed to authenticate: %s", replyText(rep))
		}
	}
	rep, err := readReply(br)
	if err != nil {
		return err
	}
	if rep.kind != '$' || rep.null {
		return failed("INFO command failed: %s", replyText(rep))
	}
	version, err := checkVersion(string(rep.str))
	if err != nil {
		return failed("%v", err)
	}
	for _, s := range scripts {
		rep, err := readReply(br)
		if err != nil {
			return err
		}
		// Not fatal: live mode needs no scripts (an ACL user may lack
		// SCRIPT); replay-mode ops will report the server's error.
		if rep.kind != '$' || string(rep.str) != s.sha {
			b.log.Warn("redis: SCRIPT LOAD failed; replay-mode expiry will not work",
				"server", b.s.addr, "reply", replyText(rep))
		}
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("%w: unexpected data after the handshake", errProtocol)
	}
	b.log.Debug("redis: connected", "server", b.s.addr, "redis_version", version)
	return nil
}

// replyText is a reply's text for messages: the error or status text, or a
// description.
func replyText(rep reply) string {
	switch rep.kind {
	case '-':
		return string(rep.str)
	case '+':
		return rep.status
	}
	return rep.describe()
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
