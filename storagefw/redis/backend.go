package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

const (
	// liveSkew is how far network time may be from the wall clock for an op
	// to count as live traffic (native PXAT expiry). Beyond it the Backend
	// switches, for good, to replay mode (expiry set checked by each op).
	liveSkew = 5.0 // seconds

	// sweepBatch bounds how many expired entries one sweep script removes,
	// so a large backlog does not block the server for long.
	sweepBatch = 1000

	// Reconnect backoff: first retry after backoffMin, doubling to backoffMax.
	backoffMin = 50 * time.Millisecond
	backoffMax = 2 * time.Second
)

// Type returns the registration of the Redis backend:
// Storage.STORAGE_BACKEND_REDIS, whose options are the "redis" field of the
// open options. (A function rather than a variable: no package state.)
func Type() storagefw.BackendType {
	return storagefw.BackendType{Name: "REDIS", OptionsField: "redis", Open: Open, Describe: Describe, MaxValueSize: MaxValueSize}
}

// MaxValueSize is the largest value Redis accepts in one bulk string (its
// default proto-max-bulk-len, 512 MiB): a larger SET would make the server
// drop the connection, failing every operation on the handle.
const MaxValueSize = 512 << 20

// Backend is an open Redis store. See the package documentation for its
// behaviour; it implements storagefw.Backend and storagefw.Expirer.
type Backend struct {
	s              settings
	scripts        scriptSet
	expireSet      string // "<key_prefix>_expire"
	clock          func() float64
	notify         func(storagefw.EventKind, string)
	log            *slog.Logger
	expireInterval time.Duration
	epoch          time.Time // monotonic origin of request deadlines

	ctx    context.Context // cancelled by Close: stops reconnects and sweeps
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the Backend

	replay atomic.Bool // replay mode is on (sticky)

	mu         sync.Mutex
	conn       *conn  // mu: nil while disconnected
	closed     bool   // mu
	lostReason string // mu: why we are disconnected
}

var (
	_ storagefw.Backend     = (*Backend)(nil)
	_ storagefw.Expirer     = (*Backend)(nil)
	_ storagefw.Batcher     = (*Backend)(nil)
	_ storagefw.Swapper     = (*Backend)(nil)
	_ storagefw.Incrementer = (*Backend)(nil)
	_ storagefw.Scanner     = (*Backend)(nil)
)

// Open connects to the server named by cfg.Options (Zeek's
// Storage::Backend::Redis::Options) and returns the Backend. It fails with
// CONNECTION_FAILED if the server cannot be reached within connect_timeout,
// rejects AUTH, or is older than Redis 6.2, and with INITIALIZATION_FAILED
// for malformed options.
func Open(ctx context.Context, cfg storagefw.OpenConfig) (storagefw.Backend, error) {
	s, err := parseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		s:              s,
		scripts:        newScriptSet(),
		expireSet:      s.keyPrefix + "_expire",
		clock:          cfg.Clock,
		notify:         cfg.Notify,
		log:            cfg.Logger,
		expireInterval: cfg.ExpireInterval,
		epoch:          time.Now(),
	}
	if b.clock == nil {
		b.clock = wallClock
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if s.username != "" && s.password == "" {
		b.log.Warn("redis: username given without password; not authenticating (as Zeek)", "options", s)
	}
	c, err := b.dial(ctx)
	if err != nil {
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.mu.Lock()
	b.conn = c
	c.start()
	if b.expireInterval > 0 {
		b.wg.Add(1)
		go b.sweepLoop()
	}
	b.mu.Unlock()
	b.log.Info("redis: backend opened", "options", s)
	return b, nil
}

func wallClock() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// mono is the monotonic time since b.epoch.
func (b *Backend) mono() time.Duration { return time.Since(b.epoch) }

// emit reports a connection event; Notify never blocks.
func (b *Backend) emit(kind storagefw.EventKind, reason string) {
	if b.notify != nil {
		b.notify(kind, reason)
	}
}

// notConnectedLocked is the result for ops that cannot be sent now.
func (b *Backend) notConnectedLocked() storagefw.Reply {
	if b.closed {
		return storagefw.Reply{Code: storagefw.NotConnected, Error: "Backend is closed"}
	}
	return storagefw.Reply{Code: storagefw.NotConnected,
		Error: fmt.Sprintf("not connected to %s (reconnecting after: %s)", b.s, b.lostReason)}
}

// Submit queues ops for the writer. Requests take effect in the order of Submit
// calls (and of ops within a call). Safe for concurrent use; it never
// blocks on the network. While the connection is down, or after Close, ops
// complete at once (on the caller's goroutine) with NOT_CONNECTED.
func (b *Backend) Submit(ops ...*storagefw.Request) {
	if len(ops) == 0 {
		return
	}
	// One clock read gives both the wall clock (for the live/replay choice)
	// and the monotonic reading (for deadlines).
	t := time.Now()
	wall := float64(t.UnixNano()) / 1e9
	var rejected []*storagefw.Request
	b.mu.Lock()
	c := b.conn
	if b.closed || c == nil || c.dead {
		res := b.notConnectedLocked()
		b.mu.Unlock()
		for _, op := range ops {
			if op != nil {
				op.Complete(res)
			}
		}
		return
	}
	deadline := t.Sub(b.epoch) + b.s.operationTimeout
	var emptyBatches []*storagefw.Request
	for _, op := range ops {
		if op == nil {
			continue
		}
		if isBatch(op.Kind) {
			if len(op.Entries) == 0 {
				emptyBatches = append(emptyBatches, op)
				continue
			}
			rejected = b.queueBatchLocked(c, op, deadline, wall, rejected)
			continue
		}
		r := b.newReqLocked(op, deadline, wall)
		if r == nil {
			rejected = append(rejected, op)
			continue
		}
		c.queue.push(r)
	}
	c.wakeLocked()
	b.mu.Unlock()
	for _, op := range emptyBatches {
		op.Complete(storagefw.Reply{Code: storagefw.Success, Entries: []storagefw.Reply{}})
	}
	for _, op := range rejected {
		op.Complete(storagefw.Reply{Code: storagefw.OperationFailed,
			Error: fmt.Sprintf("invalid %v operation (expiry %v)", op.Kind, op.ExpireAt)})
	}
}

// newReqLocked builds the request for op, choosing live or replay commands.
// It returns nil for an op it cannot run. Call with b.mu held.
func (b *Backend) newReqLocked(op *storagefw.Request, deadline time.Duration, wall float64) *req {
	now := op.Now
	if now == 0 {
		now = b.clock()
	}
	replay := b.replay.Load()
	if !replay && math.Abs(now-wall) > liveSkew {
		b.enterReplay(now, wall)
		replay = true
	}
	var kind cmdKind
	expireAt := 0.0
	switch op.Kind {
	case storagefw.PutRequest:
		switch {
		case !replay:
			kind = cmdSet
		case op.Overwrite:
			kind = cmdPutMulti
		default:
			kind = cmdPutNX
		}
		switch x := op.ExpireAt; {
		case math.IsNaN(x) || x < 0:
			return nil
		case !math.IsInf(x, 1):
			expireAt = x
		}
	case storagefw.GetRequest:
		kind = cmdGet
		if replay {
			kind = cmdGetMulti
		}
	case storagefw.EraseRequest:
		kind = cmdDel
		if replay {
			kind = cmdEraseMulti
		}
	case storagefw.CompareAndSwapRequest, storagefw.IncrementRequest:
		kind = cmdCAS
		if op.Kind == storagefw.IncrementRequest {
			kind = cmdIncr
		}
		switch x := op.ExpireAt; {
		case math.IsNaN(x) || x < 0:
			return nil
		case !math.IsInf(x, 1):
			expireAt = x
		}
	case storagefw.ScanRequest:
		kind = cmdScan
	default:
		return nil
	}
	return &req{op: op, kind: kind, now: now, expireAt: expireAt, deadline: deadline, replay: replay}
}

// enterReplay switches to replay-mode expiry for the rest of the Backend's
// life (once network time has been seen far from the wall clock, it is a
// trace replay; entries written from then on carry network-time expiry).
func (b *Backend) enterReplay(now, wall float64) {
	if b.replay.CompareAndSwap(false, true) {
		b.log.Info("redis: network time differs from wall clock; expiring by network time via the expiry set",
			"network_time", now, "wall_clock", wall, "expire_set", b.expireSet)
	}
}

// Expire removes entries whose expiry is <= now and returns how many were
// deleted. In live mode Redis expires entries itself and Expire does
// nothing; in replay mode it runs Zeek's expire pass (in batches of
// sweepBatch, each atomic), ordered after every op submitted before it.
func (b *Backend) Expire(ctx context.Context, now float64) (int, error) {
	if !b.replay.Load() {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return 0, storagefw.Errorf(storagefw.NotConnected, "redis expire: Backend is closed")
		}
		wall := wallClock()
		if math.Abs(now-wall) <= liveSkew {
			return 0, nil
		}
		b.enterReplay(now, wall)
	}
	total := 0
	for {
		scanned, deleted, err := b.sweepOnce(ctx, now)
		total += deleted
		if err != nil {
			return total, fmt.Errorf("redis expire: %w", err)
		}
		if scanned < sweepBatch {
			return total, nil
		}
	}
}

// sweepOnce runs one sweep script through the pipeline and waits for it.
func (b *Backend) sweepOnce(ctx context.Context, now float64) (scanned, deleted int, err error) {
	ch := make(chan internalResult, 1)
	b.mu.Lock()
	c := b.conn
	if b.closed || c == nil || c.dead {
		res := b.notConnectedLocked()
		b.mu.Unlock()
		return 0, 0, storagefw.Errorf(res.Code, "%s", res.Error)
	}
	c.queue.push(&req{kind: cmdSweep, now: now, deadline: b.mono() + b.s.operationTimeout, internal: ch})
	c.wakeLocked()
	b.mu.Unlock()

	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case ir := <-ch:
		if ir.res.Code != storagefw.Success {
			return 0, 0, storagefw.Errorf(ir.res.Code, "%s", ir.res.Error)
		}
		rep := ir.rep
		if rep.kind != '*' || len(rep.elems) != 2 || rep.elems[0].kind != ':' || rep.elems[1].kind != ':' {
			return 0, 0, storagefw.Errorf(storagefw.OperationFailed, "expire got an unexpected reply: %s", rep.describe())
		}
		return int(rep.elems[0].n), int(rep.elems[1].n), nil
	}
}

// sweepLoop runs the expire pass every expireInterval until Close.
func (b *Backend) sweepLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.expireInterval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(b.ctx, 2*b.s.operationTimeout)
		n, err := b.Expire(ctx, b.clock())
		cancel()
		var se *storagefw.Error
		switch {
		case err == nil:
			if n > 0 {
				b.log.Debug("redis: expired entries", "count", n)
			}
		case errors.As(err, &se) && se.Code == storagefw.NotConnected, errors.Is(err, context.Canceled):
			// Down or closing: the next tick retries.
		default:
			b.log.Warn("redis: expire pass failed", "error", err)
		}
	}
}

// connLost is called (once per connection) when c fails: it reports the
// loss and starts reconnecting unless the Backend is closed.
func (b *Backend) connLost(c *conn, err error) {
	reason := fmt.Sprintf("connection to %s lost: %v", b.s, err)
	b.mu.Lock()
	if b.conn != c || b.closed {
		b.mu.Unlock()
		return
	}
	b.conn = nil
	b.lostReason = err.Error()
	b.mu.Unlock()

	b.log.Warn("redis: connection lost; reconnecting", "server", b.s.addr, "error", err)
	b.emit(storagefw.BackendLost, reason)

	b.mu.Lock()
	if !b.closed {
		b.wg.Add(1)
		go b.reconnectLoop()
	}
	b.mu.Unlock()
}

// reconnectLoop redials with capped exponential backoff until it succeeds
// or the Backend is closed.
func (b *Backend) reconnectLoop() {
	defer b.wg.Done()
	backoff := backoffMin
	timer := time.NewTimer(backoff)
	defer timer.Stop()
	for attempt := 1; ; attempt++ {
		select {
		case <-b.ctx.Done():
			return
		case <-timer.C:
		}
		c, err := b.dial(b.ctx)
		if err == nil {
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				c.nc.Close()
				return
			}
			b.conn = c
			b.lostReason = ""
			c.start()
			b.mu.Unlock()
			b.log.Info("redis: reconnected", "server", b.s.addr, "attempts", attempt)
			b.emit(storagefw.BackendOpened, "")
			return
		}
		if b.ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		b.lostReason = err.Error()
		b.mu.Unlock()
		level := slog.LevelDebug
		if attempt == 1 || backoff == backoffMax && attempt%30 == 0 {
			level = slog.LevelWarn
		}
		b.log.Log(b.ctx, level, "redis: reconnect failed", "server", b.s.addr, "attempt", attempt, "error", err)
		backoff = min(2*backoff, backoffMax)
		// ±20% jitter so that many engines do not reconnect in lockstep.
		timer.Reset(time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64())))
	}
}

// Close stops accepting ops, waits (bounded by ctx) for the ops already
// submitted to complete, closes the connection and stops every goroutine of
// the Backend. Requests still in flight when ctx ends complete with
// NOT_CONNECTED and Close returns an error. Closing twice is a no-op.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.cancel()
	c := b.conn
	if c != nil {
		c.closing = true
		c.wakeLocked()
	}
	b.mu.Unlock()

	var err error
	if c != nil {
		select {
		case <-c.exited:
		case <-ctx.Done():
			err = fmt.Errorf("redis close: in-flight operations abandoned: %w", ctx.Err())
			c.fail(errors.New("backend closed"))
			<-c.exited
		}
	}
	b.wg.Wait()
	b.log.Info("redis: backend closed", "server", b.s.addr)
	return err
}
