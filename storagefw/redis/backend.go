package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

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
	expireSet      string // "<key_prefix>_expire" (a cluster: one per slot, see cluster.go)
	clock          func() float64
	notify         func(storagefw.EventKind, string)
	rep            storagefw.Reporter
	log            *slog.Logger
	expireInterval time.Duration
	epoch          time.Time // monotonic origin of request deadlines

	client rueidis.Client

	ctx      context.Context // cancelled by Close: stops reconnects, sweeps and reloads
	cancel   context.CancelFunc
	opCtx    context.Context // cancelled when Close gives up on the ops in flight
	opCancel context.CancelFunc
	wg       sync.WaitGroup // every goroutine of the Backend

	replay atomic.Bool // replay mode is on (sticky)

	// Sentinel: the master's replicas (ROLE), and a nudge to count them
	// again. While there is one, every pipeline of writes ends with WAIT 1.
	replicas     atomic.Int32
	replicaCheck chan struct{}

	dispatcherDone chan struct{} // closed when the dispatcher has exited
	watchStop      chan struct{} // closed by Close after the dispatcher
	wake           chan struct{} // cap 1: work for an idle dispatcher
	watchWake      chan struct{} // cap 1: a deadline for an idle watchdog

	mu             sync.Mutex
	queue          fifo                    // mu: submitted, not yet sent
	sent           []*req                  // mu: the pipeline in flight
	sentCancel     context.CancelCauseFunc // mu: abandons it (with cause errOpTimeout)
	connected      bool                    // mu: ops are accepted
	probing        bool                    // mu: connecting (Open) or reconnecting: dials allowed
	closed         bool                    // mu
	reloading      bool                    // mu: a SCRIPT LOAD after NOSCRIPT is under way
	gen            uint64                  // mu: connection generation, bumped at each loss
	lostReason     string                  // mu: why we are disconnected
	dispatcherIdle bool                    // mu: the dispatcher waits on wake
	watchIdle      bool                    // mu: the watchdog waits on watchWake
}

var (
	_ storagefw.Backend     = (*Backend)(nil)
	_ storagefw.Expirer     = (*Backend)(nil)
	_ storagefw.Batcher     = (*Backend)(nil)
	_ storagefw.Swapper     = (*Backend)(nil)
	_ storagefw.Incrementer = (*Backend)(nil)
	_ storagefw.Scanner     = (*Backend)(nil)

	_ storagefw.MetricsLabeler = (*Backend)(nil)
)

// Open connects to the server(s) named by cfg.Options (Zeek's
// Storage::Backend::Redis::Options, plus cluster, Sentinel and TLS) and
// returns the Backend. It fails with CONNECTION_FAILED if the servers
// cannot be reached within connect_timeout, reject AUTH, are older than
// Redis 6.2, or (a cluster) are not a healthy cluster, and with
// INITIALIZATION_FAILED for malformed options.
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
		rep:            cfg.Report,
		log:            cfg.Logger,
		expireInterval: cfg.ExpireInterval,
		epoch:          time.Now(),
		dispatcherDone: make(chan struct{}),
		watchStop:      make(chan struct{}),
		wake:           make(chan struct{}, 1),
		watchWake:      make(chan struct{}, 1),
		replicaCheck:   make(chan struct{}, 1),
		probing:        true,
	}
	if b.clock == nil {
		b.clock = wallClock
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.rep == nil {
		b.rep = storagefw.NopReporter{}
	}
	if s.username != "" && s.password == "" {
		b.log.Warn("redis: username given without password; not authenticating (as Zeek)", "options", s)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.opCtx, b.opCancel = context.WithCancel(context.Background())
	fail := func(err error) (storagefw.Backend, error) {
		b.cancel()
		b.opCancel()
		return nil, b.connectFailed(err)
	}
	client, err := newClient(ctx, b.clientOption())
	if err != nil {
		return fail(err)
	}
	b.client = client
	if s.topology == cluster && client.Mode() != rueidis.ClientModeCluster {
		client.Close()
		return fail(storagefw.Errorf(storagefw.ConnectionFailed, "%s: the server is not a cluster (cluster support disabled)", s))
	}
	if err := b.handshake(ctx); err != nil {
		client.Close()
		return fail(err)
	}
	b.mu.Lock()
	b.probing, b.connected = false, true
	b.wg.Add(2)
	go b.dispatch()
	go b.watch()
	if b.expireInterval > 0 {
		b.wg.Add(1)
		go b.sweepLoop()
	}
	if s.topology == sentinel {
		b.wg.Add(1)
		go b.watchReplicas()
	}
	b.mu.Unlock()
	b.log.Info("redis: backend opened", "options", s)
	return b, nil
}

// newClient creates the rueidis client (which connects), giving up when
// ctx ends first (the client is then closed once it exists).
func newClient(ctx context.Context, o rueidis.ClientOption) (rueidis.Client, error) {
	type result struct {
		c   rueidis.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := rueidis.NewClient(o)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
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

// Submit queues ops for the dispatcher. Requests take effect in the order
// of Submit calls (and of ops within a call). Safe for concurrent use; it
// never blocks on the network. While the connection is down, or after
// Close, ops complete at once (on the caller's goroutine) with
// NOT_CONNECTED.
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
	if b.closed || !b.connected {
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
			rejected = b.queueBatchLocked(op, deadline, wall, rejected)
			continue
		}
		r := b.newReqLocked(op, deadline, wall)
		if r == nil {
			rejected = append(rejected, op)
			continue
		}
		b.queue.push(r)
	}
	b.wakeLocked()
	b.mu.Unlock()
	for _, op := range emptyBatches {
		op.Complete(storagefw.Reply{Code: storagefw.Success, Entries: []storagefw.Reply{}})
	}
	for _, op := range rejected {
		op.Complete(storagefw.Reply{Code: storagefw.OperationFailed,
			Error: fmt.Sprintf("invalid %v operation (expiry %v)", op.Kind, op.ExpireAt)})
	}
}

// wakeLocked tells an idle dispatcher and an idle watchdog that requests
// were queued. Call with b.mu held.
func (b *Backend) wakeLocked() {
	if b.dispatcherIdle {
		b.dispatcherIdle = false
		signal(b.wake)
	}
	if b.watchIdle {
		b.watchIdle = false
		signal(b.watchWake)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
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
			kind = cmdPutReplay
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
			kind = cmdGetReplay
		}
	case storagefw.EraseRequest:
		kind = cmdDel
		if replay {
			kind = cmdEraseReplay
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

// dispatch sends the queued requests: everything queued (up to maxBatch)
// as one pipeline (rueidis DoMulti), waiting for its replies before the
// next. See the package documentation for why this keeps issue order.
func (b *Backend) dispatch() {
	defer b.wg.Done()
	defer close(b.dispatcherDone)
	var batch []*req
	// The pipelines' context, cancelled by the watchdog when every request
	// of the pipeline in flight has timed out (then replaced): no timer per
	// pipeline.
	ctx, cancel := context.WithCancelCause(b.opCtx)
	defer func() { cancel(nil) }()
	for {
		b.mu.Lock()
		for b.queue.len() == 0 && !b.closed {
			b.dispatcherIdle = true
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		b.dispatcherIdle = false
		if b.queue.len() == 0 { // closed, and everything is done
			b.mu.Unlock()
			return
		}
		if !b.connected {
			// Lost while these were queued: they were never sent. A single
			// op reports the loss (CONNECTION_LOST, as one in flight); a
			// batch entry NOT_CONNECTED, so that a batch's entries say
			// exactly which ones may have taken effect.
			unsent := b.queue.drain()
			lost := storagefw.Reply{Code: storagefw.ConnectionLost, Error: "connection lost: " + b.lostReason}
			notSent := storagefw.Reply{Code: storagefw.NotConnected, Error: "not sent: " + b.lostReason}
			if b.closed {
				lost = storagefw.Reply{Code: storagefw.NotConnected, Error: "backend closed before the operation completed"}
				notSent = lost
			}
			b.mu.Unlock()
			for _, r := range unsent {
				if r.parent != nil {
					r.finish(notSent)
				} else {
					r.finish(lost)
				}
			}
			continue
		}
		batch = b.takeLocked(batch[:0])
		if ctx.Err() != nil {
			ctx, cancel = context.WithCancelCause(b.opCtx)
		}
		b.sent, b.sentCancel = batch, cancel
		gen := b.gen
		b.mu.Unlock()

		switch {
		case len(batch) == 0:
		case batch[0].barrier(b.s.topology):
			b.runBarrier(batch[0], gen)
		default:
			b.runPipeline(ctx, batch, gen)
		}
		b.mu.Lock()
		b.sent, b.sentCancel = nil, nil
		b.mu.Unlock()
		clear(batch)
	}
}

// takeLocked moves the next requests from the queue onto batch: up to
// maxBatch of them, stopping before a barrier (which goes alone). Requests
// completed while queued (timed out) and cancelled ones (storagefw.Request.
// Take) are dropped: they are never sent. Call with b.mu held.
func (b *Backend) takeLocked(batch []*req) []*req {
	for len(batch) < maxBatch {
		r := b.queue.front()
		if r == nil {
			break
		}
		if r.barrier(b.s.topology) && len(batch) > 0 {
			break
		}
		b.queue.popFront()
		if r.done.Load() {
			continue
		}
		if op := r.taker(); op != nil && !op.Take() {
			r.claim() // cancelled: already completed
			continue
		}
		batch = append(batch, r)
		if r.barrier(b.s.topology) {
			break
		}
	}
	return batch
}

// runPipeline sends batch as one pipeline and completes its requests with
// the replies. A connection failure is reported (connLost) before the
// requests are completed, so that what their callbacks submit next is
// refused at once.
func (b *Backend) runPipeline(ctx context.Context, batch []*req, gen uint64) {
	// A fresh slice each time: rueidis keeps the one of a pipeline whose
	// deadline passed until it has written it.
	cmds := make(rueidis.Commands, 0, len(batch)+1)
	last := batch[0].deadline
	writes := false
	for _, r := range batch {
		cmds = append(cmds, b.command(r))
		last = max(last, r.deadline)
		writes = writes || isWrite(r.kind)
	}
	// Sentinel: while the master has a replica, a write is acknowledged
	// only once one replica has it (see the package documentation).
	wait := writes && b.s.topology == sentinel && b.replicas.Load() > 0
	if wait {
		cmds = append(cmds, waitCmd(b.client.B(), 1, (last-b.mono())*9/10))
	}
	res := b.client.DoMulti(ctx, cmds...)
	timedOut := context.Cause(ctx) == errOpTimeout
	unreplicated := false
	if wait {
		n, err := res[len(res)-1].AsInt64()
		if unreplicated = err != nil || n < 1; unreplicated {
			signal(b.replicaCheck)
		}
		res = res[:len(batch)]
	}
	for _, r := range res {
		if err := r.NonRedisError(); isConnFailure(err) {
			b.connLost(gen, "", err)
			break
		}
	}
	for i, r := range batch {
		rr := res[i]
		if err := rr.Error(); isNoScript(err) {
			b.noteScriptError(err)
		}
		if !r.claim() {
			continue // timed out (or abandoned by Close) meanwhile
		}
		if timedOut && errors.Is(rr.NonRedisError(), context.Canceled) {
			rr = rueidis.NewErrorResult(context.DeadlineExceeded)
		}
		if r.internal != nil {
			r.internal <- sweepInternal(r, rr)
			continue
		}
		out := resultOf(r, rr)
		b.countData(r, out)
		if out.Code == storagefw.NotConnected && r.parent == nil {
			// Lost between Submit and sending (rueidis found no
			// connection): a single op reports the loss, as one queued
			// behind a pipeline that was cut off (dispatch).
			out.Code = storagefw.ConnectionLost
		}
		if unreplicated && isWrite(r.kind) && out.Code == storagefw.Success {
			out = storagefw.Reply{Code: storagefw.Timeout, Error: fmt.Sprintf(
				"%s operation: applied on the master but no replica acknowledged it within operation_timeout (WAIT); a failover may lose it",
				r.kind.opName())}
		}
		r.op.Complete(out)
	}
}

// errOpTimeout is the cause of an operation context cancelled at its
// deadline (opContext).
var errOpTimeout = errors.New("operation_timeout")

// opContext returns a context for commands due by deadline. It is
// cancelled then (cause errOpTimeout) but carries no deadline: rueidis then
// queues the commands for its background writer and, when the context
// ends, abandons them and keeps the connection (given a deadline, it may
// run them synchronously and close the connection on timeout).
func (b *Backend) opContext(deadline time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(b.opCtx)
	t := time.AfterFunc(deadline-b.mono(), func() { cancel(errOpTimeout) })
	return ctx, func() {
		t.Stop()
		cancel(nil)
	}
}

// timeoutCause turns an error of a context cancelled at its deadline into
// context.DeadlineExceeded (TIMEOUT).
func timeoutCause(ctx context.Context, err error) error {
	if err != nil && errors.Is(err, context.Canceled) && context.Cause(ctx) == errOpTimeout {
		return context.DeadlineExceeded
	}
	return err
}

// sweepInternal is the internal result of a single server's sweep script.
func sweepInternal(r *req, res rueidis.RedisResult) internalResult {
	scanned, deleted, err := sweepResult(res)
	if err != nil {
		return internalResult{res: replyForError(r, err)}
	}
	return internalResult{more: scanned >= sweepBatch, deleted: deleted, res: storagefw.Reply{Code: storagefw.Success}}
}

// runBarrier runs a request that takes more than one command (a cluster's
// scan and sweep) once everything before it has completed.
func (b *Backend) runBarrier(r *req, gen uint64) {
	ctx, cancel := b.opContext(r.deadline)
	defer cancel()
	switch r.kind {
	case cmdScan:
		out, err := b.clusterScan(ctx, r)
		if isConnFailure(err) {
			b.connLost(gen, "", err)
		}
		if err = timeoutCause(ctx, err); errors.Is(err, context.DeadlineExceeded) {
			out = replyForError(r, err)
		}
		r.finish(out)
	case cmdSweep:
		deleted, err := b.clusterSweep(ctx, r.now)
		err = timeoutCause(ctx, err)
		if isConnFailure(err) {
			b.connLost(gen, "", err)
		}
		if !r.claim() {
			return
		}
		ir := internalResult{deleted: deleted, res: storagefw.Reply{Code: storagefw.Success}}
		if err != nil {
			ir.res = replyForError(r, err)
		}
		r.internal <- ir
	}
}

// watch is the timeout watchdog: it completes with TIMEOUT every request
// whose operation_timeout has passed, queued (it is then never sent) or in
// flight (its reply, when it comes, is discarded; the connection is kept).
func (b *Backend) watch() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var expired []*req
		next := time.Duration(-1)
		var abandon context.CancelCauseFunc
		b.mu.Lock()
		now := b.mono()
		pending := false
		for _, r := range b.sent {
			switch {
			case r.done.Load():
			case r.deadline <= now:
				if r.claim() {
					expired = append(expired, r)
				}
			default:
				pending = true
				if next < 0 || r.deadline < next {
					next = r.deadline
				}
			}
		}
		if len(expired) > 0 && !pending && b.sentCancel != nil {
			// The whole pipeline timed out: stop waiting for it (rueidis
			// abandons its commands; the connection stays).
			abandon, b.sentCancel = b.sentCancel, nil
		}
		for r := b.queue.front(); r != nil; r = b.queue.front() {
			if !r.done.Load() && r.deadline > now {
				if next < 0 || r.deadline < next {
					next = r.deadline
				}
				break
			}
			b.queue.popFront()
			if r.claim() {
				expired = append(expired, r)
			}
		}
		b.watchIdle = next < 0
		b.mu.Unlock()

		if abandon != nil {
			abandon(errOpTimeout)
		}
		for _, r := range expired {
			r.deliver(storagefw.Reply{Code: storagefw.Timeout,
				Error: fmt.Sprintf("%s operation timed out after %v (operation_timeout)", r.kind.opName(), b.s.operationTimeout)})
		}
		if next < 0 {
			select {
			case <-b.watchWake:
			case <-b.watchStop:
				return
			}
			continue
		}
		timer.Reset(next - b.mono())
		select {
		case <-timer.C:
		case <-b.watchStop:
			return
		}
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
		more, deleted, err := b.sweepOnce(ctx, now)
		total += deleted
		b.rep.EntriesExpired(deleted)
		if err != nil {
			return total, fmt.Errorf("redis expire: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// sweepOnce queues one sweep and waits for it.
func (b *Backend) sweepOnce(ctx context.Context, now float64) (more bool, deleted int, err error) {
	ch := make(chan internalResult, 1)
	b.mu.Lock()
	if b.closed || !b.connected {
		res := b.notConnectedLocked()
		b.mu.Unlock()
		return false, 0, storagefw.Errorf(res.Code, "%s", res.Error)
	}
	b.queue.push(&req{kind: cmdSweep, now: now, deadline: b.mono() + b.s.operationTimeout, internal: ch})
	b.wakeLocked()
	b.mu.Unlock()

	select {
	case <-ctx.Done():
		return false, 0, ctx.Err()
	case ir := <-ch:
		if ir.res.Code != storagefw.Success {
			return false, 0, storagefw.Errorf(ir.res.Code, "%s", ir.res.Error)
		}
		return ir.more, ir.deleted, nil
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

// connLost is called when a connection of generation gen fails (by
// watchedConn as soon as rueidis meets the failure, or by the dispatcher
// from a pipeline's replies): the first report of a generation marks the
// Backend disconnected (new ops: NOT_CONNECTED at once; queued ones are
// completed so by the dispatcher, after the pipeline in flight), reports
// the loss and starts reconnecting. addr names the node in a cluster.
func (b *Backend) connLost(gen uint64, addr string, err error) {
	reason := lossReason(err)
	if b.s.topology == cluster && addr != "" {
		reason += " (" + addr + ")"
	}
	b.mu.Lock()
	if b.closed || !b.connected || gen != b.gen {
		b.mu.Unlock()
		return
	}
	b.connected = false
	b.gen++
	b.lostReason = reason
	b.wakeLocked()
	b.wg.Add(1)
	go b.reconnectLoop()
	b.mu.Unlock()

	b.log.Warn("redis: connection lost; reconnecting", "server", b.s.addr, "error", err)
	b.emit(storagefw.BackendLost, reason)
}

// reconnectLoop redials with capped exponential backoff until it succeeds
// or the Backend is closed: it runs the handshake (which makes rueidis
// connect) and accepts ops again once it passes.
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
		b.mu.Lock()
		b.probing = true
		b.mu.Unlock()
		err := b.handshake(b.ctx)
		b.mu.Lock()
		b.probing = false
		if b.closed {
			b.mu.Unlock()
			return
		}
		if err == nil {
			b.connected = true
			b.lostReason = ""
			b.mu.Unlock()
			b.log.Info("redis: reconnected", "server", b.s.addr, "attempts", attempt)
			b.emit(storagefw.BackendOpened, "")
			return
		}
		b.lostReason = lossReason(err)
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
// submitted to complete, closes the connections and stops every goroutine
// of the Backend. Requests still in flight when ctx ends complete with
// NOT_CONNECTED and Close returns an error. Closing twice is a no-op.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.cancel()
	b.dispatcherIdle = false
	signal(b.wake)
	b.mu.Unlock()

	var err error
	select {
	case <-b.dispatcherDone:
	case <-ctx.Done():
		err = fmt.Errorf("redis close: in-flight operations abandoned: %w", ctx.Err())
		b.mu.Lock()
		abandoned := append(b.queue.drain(), b.sent...)
		b.opCancel()
		b.mu.Unlock()
		res := storagefw.Reply{Code: storagefw.NotConnected, Error: "backend closed before the operation completed"}
		for _, r := range abandoned {
			r.finish(res)
		}
		<-b.dispatcherDone
	}
	close(b.watchStop)
	b.opCancel()
	b.client.Close()
	b.wg.Wait()
	b.log.Info("redis: backend closed", "server", b.s.addr)
	return err
}

// countData reports a put's or get's data bytes as Zeek's Redis backend
// counts them: a put, once its reply (of any kind) has come, the
// serialized key and value it sent (HandlePutResult); a get that found the
// entry, the value's length (HandleGetResult). A command that never left
// (NOT_CONNECTED) wrote nothing.
func (b *Backend) countData(r *req, out storagefw.Reply) {
	switch r.kind {
	case cmdSet, cmdPutNX, cmdPutReplay:
		if out.Code != storagefw.NotConnected {
			b.rep.DataWritten(len(r.op.Key) + len(r.op.Value))
		}
	case cmdGet, cmdGetReplay:
		if out.Code == storagefw.Success {
			b.rep.DataRead(len(out.Value))
		}
	}
}

// MetricsConfig implements storagefw.MetricsLabeler as Zeek's
// Redis::DoGetConfigMetricsLabel, "<server_addr>-<key_prefix>", where
// server_addr is "<host>:<port>" or the Unix socket's path; a cluster
// names its seed nodes ("<addr>,<addr>,...") and Sentinel its master
// ("sentinel:<master>").
func (b *Backend) MetricsConfig() string {
	addr := b.s.addr
	switch b.s.topology {
	case cluster:
		addr = strings.Join(b.s.seeds, ",")
	case sentinel:
		addr = "sentinel:" + b.s.master
	}
	return addr + "-" + b.s.keyPrefix
}
