// Package sqlite is scriptd's SQLite storage backend, a port of Zeek's
// Storage::STORAGE_BACKEND_SQLITE.
//
// # Layout
//
// Entries live in Zeek's table layout,
//
//	create table if not exists <table_name> (key_str blob primary key, value_str blob not null, expire_time real);
//
// with keys and values bound as BLOBs holding the framework's serialized bytes
// ("JSONv1;" + JSON) and expire_time the absolute network time of expiry (0 =
// never), so Zeek and scriptd can share a database file in both directions.
// Zeek's zeek_storage_expiry_runs bookkeeping table is created and updated
// too.
//
// # Concurrency
//
// A Backend owns one writer connection and, for a file database in WAL mode,
// a small pool of read-only reader connections; each connection has its own
// prepared statements and is used by exactly one goroutine.
//
// Writes (put, erase) and expiry sweeps go to the writer goroutine, which
// group-commits: it takes everything queued (up to maxWriteBatch ops), runs
// it in one BEGIN IMMEDIATE transaction, COMMITs, and only then completes
// the ops, so an acknowledged write is in the WAL file and survives the
// process being killed (synchronous=normal trades only power-loss durability).
//
// Gets run on the readers, concurrently with the writer and each other, each
// reader answering a chunk of queued gets inside one read transaction —
// unless ordering requires otherwise. Requests submitted to one Backend take
// effect in Submit order per key, which is all a handle can observe:
//
//   - a get of a key with a write still pending (queued or uncommitted) is
//     queued to the writer behind that write and answered inside the write
//     transaction, so it sees the write (read-your-writes);
//   - a write of a key that has gets in flight on readers does not COMMIT
//     before those gets have finished, so they do not see it.
//
// Keys are tracked by hash bucket, not exactly: a collision only routes a get
// through the writer or delays a commit, never reorders anything.
//
// A ":memory:" (or "") database is private to its connection, and a database
// not in WAL mode would make readers and the writer block each other, so in
// those cases the Backend uses the writer connection alone for everything.
//
// # Lifecycle
//
// Submit, Expire and Close may be called from any goroutine. Submit never
// blocks on I/O (queues are unbounded); Expire waits for its sweep. Requests are
// completed (storagefw.Request.Complete) from the backend's goroutines,
// and completion callbacks must not block. Close drains every queued op,
// stops the periodic expiry sweep, finalizes the statements, closes the
// connections and returns once no goroutine of the Backend remains. Submit
// after Close completes the ops with NOT_CONNECTED on the caller's
// goroutine.
package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	sqlite3 "github.com/mattn/go-sqlite3"
	"hash/maphash"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// Type returns the backend's registration: Storage.STORAGE_BACKEND_SQLITE
// with its options in the "sqlite" field.
func Type() storagefw.BackendType {
	return storagefw.BackendType{Name: "SQLITE", OptionsField: "sqlite", Open: Open, Describe: Describe}
}

const (
	// maxWriteBatch caps how many queued ops one write transaction takes.
	maxWriteBatch = 2048
	// maxReadBatch caps how many gets one reader takes at a time.
	maxReadBatch = 128
	// hashBuckets is the number of key-hash buckets tracking pending ops.
	hashBuckets = 1 << 14
	// DefaultExpireInterval is the sweep period when OpenConfig leaves it 0
	// (Zeek's Storage::expire_interval).
	DefaultExpireInterval = 15 * time.Second
)

// defaultReaders is the size of the reader pool for a WAL file database.
func defaultReaders() int { return min(4, max(2, runtime.GOMAXPROCS(0))) }

// Backend is an open SQLite store. See the package documentation for its
// concurrency and lifecycle rules.
type Backend struct {
	opts     Options
	log      *slog.Logger
	rep      storagefw.Reporter
	clock    func() float64
	seed     maphash.Seed
	nreaders int

	writer  *conn
	readers []*conn

	mu            sync.Mutex
	wcond         sync.Cond // writer: wq non-empty or closing
	rcond         sync.Cond // readers: rq non-empty or closing
	ccond         sync.Cond // writer waiting for in-flight gets of its keys
	writerWaiting bool
	closed        bool // no more Submits
	abort         bool // Close's context expired: fail what is still queued
	wq, rq        queue
	pendW         []int32 // per bucket: writes queued or uncommitted
	pendR         []int32 // per bucket: gets queued or running on readers
	pendWAll      int     // writes queued or uncommitted, all buckets
	pendScan      int     // scans queued or running on readers
	exitErrs      []error // errors closing connections, reported by Close

	wg        sync.WaitGroup // every goroutine
	readersWG sync.WaitGroup // reader goroutines; the writer closes last
	stopSweep chan struct{}

	// sizeMu guards the connection DatabaseSize reads page_count on
	// (opened on first use, closed by Close) and the last size read.
	sizeMu     sync.Mutex
	sizeConn   *conn
	sizeClosed bool
	lastSize   storagefw.DatabaseSize

	closeOnce  sync.Once
	closedDone chan struct{}
	closeErr   error
}

var (
	_ storagefw.Backend     = (*Backend)(nil)
	_ storagefw.Expirer     = (*Backend)(nil)
	_ storagefw.Batcher     = (*Backend)(nil)
	_ storagefw.Swapper     = (*Backend)(nil)
	_ storagefw.Incrementer = (*Backend)(nil)
	_ storagefw.Scanner     = (*Backend)(nil)

	_ storagefw.MetricsLabeler = (*Backend)(nil)
	_ storagefw.DatabaseSizer  = (*Backend)(nil)
)

// SupportsBatches: get_many runs in one read transaction, put_many and
// erase_many in one write transaction.
func (b *Backend) SupportsBatches() bool { return true }

// SupportsCompareAndSwap: a conditional statement in the single writer's
// BEGIN IMMEDIATE transaction, atomic against every writer of the file.
func (b *Backend) SupportsCompareAndSwap() bool { return true }

// SupportsIncrement: one read-modify-write in the writer's transaction.
func (b *Backend) SupportsIncrement() bool { return true }

// SupportsScan: a key range over the serialized bytes.
func (b *Backend) SupportsScan() bool { return true }

// item is one queued unit of work.
type item struct {
	op        *storagefw.Request
	sweep     *sweepReq
	h         uint32   // key hash bucket
	hs        []uint32 // batches: every entry's bucket (h unused)
	scan      bool     // a scan (no bucket)
	waitReads bool     // a write submitted while gets of its buckets (or a scan) were on readers
	skip      bool     // cancelled before it was taken: not run, not completed
	res       storagefw.Reply
}

// buckets calls f for each bucket the item's keys fall in.
func (it *item) buckets(f func(h uint32)) {
	switch {
	case it.scan:
	case it.hs != nil:
		for _, h := range it.hs {
			f(h)
		}
	default:
		f(it.h)
	}
}

// isWrite reports whether an op changes the store.
func isWrite(k storagefw.RequestKind) bool {
	switch k {
	case storagefw.PutRequest, storagefw.EraseRequest, storagefw.PutManyRequest, storagefw.EraseManyRequest,
		storagefw.CompareAndSwapRequest, storagefw.IncrementRequest:
		return true
	}
	return false
}

type sweepReq struct {
	now float64
	ch  chan sweepRes // buffered 1
	n   int
	err error
}

type sweepRes struct {
	n   int
	err error
}

// queue is a FIFO of items with amortized O(1) take.
type queue struct {
	items []item
	head  int
}

func (q *queue) len() int { return len(q.items) - q.head }

func (q *queue) push(it item) { q.items = append(q.items, it) }

// take moves up to n items onto dst.
func (q *queue) take(dst []item, n int) []item {
	n = min(n, q.len())
	dst = append(dst, q.items[q.head:q.head+n]...)
	clear(q.items[q.head : q.head+n])
	q.head += n
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 4096 && 2*q.head >= len(q.items):
		m := copy(q.items, q.items[q.head:])
		clear(q.items[m:])
		q.items, q.head = q.items[:m], 0
	}
	return dst
}

// Open opens (creating if needed) the database and table named by
// cfg.Options (the "sqlite" sub-record), runs the pragmas, prepares the
// statements and starts the backend's goroutines. Errors are
// *storagefw.Error: INITIALIZATION_FAILED for bad options, failing pragmas
// or schema statements, CONNECTION_FAILED when the database cannot be
// opened.
func Open(ctx context.Context, cfg storagefw.OpenConfig) (storagefw.Backend, error) {
	opts, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	b, err := open(ctx, cfg, opts, defaultReaders())
	if err != nil {
		return nil, err
	}
	return b, nil
}

// open opens a Backend with up to nreaders reader connections (0: the
// writer connection does everything).
func open(ctx context.Context, cfg storagefw.OpenConfig, opts Options, nreaders int) (_ *Backend, err error) {
	b := &Backend{
		opts:       opts,
		log:        cfg.Logger,
		rep:        cfg.Report,
		clock:      cfg.Clock,
		seed:       maphash.MakeSeed(),
		pendW:      make([]int32, hashBuckets),
		pendR:      make([]int32, hashBuckets),
		stopSweep:  make(chan struct{}),
		closedDone: make(chan struct{}),
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.rep == nil {
		b.rep = storagefw.NopReporter{}
	}
	b.log = b.log.With("backend", "sqlite", "database", opts.DatabasePath, "table", opts.TableName)
	if b.clock == nil {
		b.clock = func() float64 { return float64(time.Now().UnixNano()) / 1e9 }
	}
	b.wcond.L, b.rcond.L, b.ccond.L = &b.mu, &b.mu, &b.mu

	defer func() {
		if err != nil {
			b.closeConns()
		}
	}()
	mode, err := b.openWriter(ctx)
	if err != nil {
		return nil, err
	}
	if mode != "wal" || opts.DatabasePath == ":memory:" || opts.DatabasePath == "" {
		if nreaders > 0 {
			b.log.Debug("using a single connection", "journal_mode", mode)
		}
		nreaders = 0
	}
	for range nreaders {
		c, err := b.openReader()
		if err != nil {
			return nil, err
		}
		b.readers = append(b.readers, c)
	}
	b.nreaders = len(b.readers)

	interval := cfg.ExpireInterval
	if interval <= 0 {
		interval = DefaultExpireInterval
	}
	b.wg.Add(2 + len(b.readers))
	b.readersWG.Add(len(b.readers))
	go b.writerLoop()
	for _, c := range b.readers {
		go b.readerLoop(c)
	}
	go b.sweepLoop(interval)
	b.log.Debug("opened", "journal_mode", mode, "readers", b.nreaders)
	return b, nil
}

// openWriter opens the writer connection, runs the pragmas, creates the
// tables and prepares the statements. It returns the journal mode.
func (b *Backend) openWriter(ctx context.Context) (string, error) {
	o := b.opts
	// go-sqlite3 runs a few pragmas of its own while opening, so opening can
	// find the database busy, like the pragmas below.
	var c *conn
	err := b.retryBusy(ctx, "opening the database", func() (err error) {
		c, err = openConn(o.DatabasePath, false, o.BusyTimeout)
		return err
	})
	if err != nil {
		return "", openError(o.DatabasePath, err)
	}
	b.writer = c
	c.rep = b.rep
	for _, p := range o.Pragmas {
		if strings.EqualFold(p.Name, "busy_timeout") {
			b.log.Debug("ignoring the busy_timeout pragma; the busy_timeout option applies")
			continue
		}
		if err := b.runPragma(ctx, c, p); err != nil {
			return "", err
		}
	}
	rows, err := c.query("pragma journal_mode")
	if err != nil || len(rows) == 0 {
		return "", storagefw.Errorf(storagefw.InitializationFailed, "reading the journal mode: %v", err)
	}
	for _, q := range []string{createTableSQL(o.TableName), createExpiryRunsSQL} {
		if err := c.execNoArgs(q); err != nil {
			return "", storagefw.Errorf(storagefw.InitializationFailed, "Error executing table creation statement %q: %v", q, err)
		}
	}
	if _, err := c.c.Exec(insertExpiryRunSQL, []driver.Value{o.TableName}); err != nil {
		return "", storagefw.Errorf(storagefw.InitializationFailed, "Error inserting initial row into expiration control table: %v", err)
	}
	if err := c.prepareWriter(o.TableName); err != nil {
		return "", storagefw.Errorf(storagefw.InitializationFailed, "%v", err)
	}
	return strings.ToLower(rows[0]), nil
}

// readerPragmas are the per-connection pragmas that also apply to readers;
// the others (journal_mode, synchronous, checks, ...) concern the database
// file or writing and run on the writer only.
var readerPragmas = map[string]bool{
	"temp_store": true, "cache_size": true, "mmap_size": true, "cache_spill": true,
	"threads": true, "automatic_index": true, "case_sensitive_like": true,
	"cell_size_check": true, "trusted_schema": true, "analysis_limit": true,
}

func (b *Backend) openReader() (*conn, error) {
	o := b.opts
	c, err := openConn(o.DatabasePath, true, o.BusyTimeout)
	if err != nil {
		return nil, openError(o.DatabasePath, fmt.Errorf("reader connection: %w", err))
	}
	c.rep = b.rep
	for _, p := range o.Pragmas {
		if readerPragmas[strings.ToLower(p.Name)] {
			if err := c.execNoArgs(p.sql()); err != nil {
				c.close()
				return nil, storagefw.Errorf(storagefw.InitializationFailed, "Error while executing '%s' on a reader: %v", p.sql(), err)
			}
		}
	}
	if err := c.prepareReader(o.TableName); err != nil {
		c.close()
		return nil, storagefw.Errorf(storagefw.InitializationFailed, "%v", err)
	}
	return c, nil
}

// runPragma runs one pragma like Zeek's SQLite::RunPragma (see retryBusy).
// Unlike Zeek it checks what integrity_check and quick_check report.
func (b *Backend) runPragma(ctx context.Context, c *conn, p Pragma) error {
	q := p.sql()
	var rows []string
	err := b.retryBusy(ctx, "executing '"+q+"'", func() (err error) {
		rows, err = c.query(q)
		return err
	})
	if err != nil {
		var se *storagefw.Error
		if errors.As(err, &se) {
			return err
		}
		return storagefw.Errorf(storagefw.InitializationFailed, "Error while executing '%s': %v", q, err)
	}
	b.log.Debug("pragma", "sql", q, "result", rows)
	if n := strings.ToLower(p.Name); n == "integrity_check" || n == "quick_check" {
		if len(rows) != 1 || rows[0] != "ok" {
			return storagefw.Errorf(storagefw.InitializationFailed, "'%s' reports a damaged database: %s", q, strings.Join(rows, "; "))
		}
	}
	return nil
}

// retryBusy runs f until it does not fail with SQLITE_BUSY/LOCKED, like
// Zeek's SQLite::RunPragma: after each busy failure (each of which already
// waited busy_timeout) it sleeps pragma_wait_on_busy, and gives up with
// INITIALIZATION_FAILED once pragma_timeout (0: never) has passed. Other
// errors are returned as they are.
func (b *Backend) retryBusy(ctx context.Context, what string, f func() error) error {
	start := time.Now()
	for {
		err := f()
		if err == nil || !isBusy(err) {
			return err
		}
		if b.opts.PragmaTimeout > 0 && time.Since(start) >= b.opts.PragmaTimeout {
			return storagefw.Errorf(storagefw.InitializationFailed, "Database was busy while %s", what)
		}
		t := time.NewTimer(b.opts.PragmaWaitOnBusy)
		select {
		case <-ctx.Done():
			t.Stop()
			return storagefw.Errorf(storagefw.InitializationFailed, "%s: %v", what, ctx.Err())
		case <-t.C:
		}
	}
}

// openError classifies a failure to open a connection as Zeek does: a
// database that cannot be opened is OPERATION_FAILED with SQLite's own
// message ("SQLite call failed: unable to open database file"); anything
// else (not a database, ...) is INITIALIZATION_FAILED.
func openError(path string, err error) error {
	var se *storagefw.Error
	if errors.As(err, &se) {
		return err
	}
	var qe sqlite3.Error
	if errors.As(err, &qe) && (qe.Code == sqlite3.ErrCantOpen || qe.Code == sqlite3.ErrPerm || qe.Code == sqlite3.ErrAuth) {
		return storagefw.Errorf(storagefw.OperationFailed, "SQLite call failed: %s", qe.Code.Error())
	}
	return storagefw.Errorf(storagefw.InitializationFailed, "opening SQLite database %q: %v", path, err)
}

func (b *Backend) bucket(key []byte) uint32 {
	return uint32(maphash.Bytes(b.seed, key)) & (hashBuckets - 1)
}

const errClosed = "Backend is closed"

// Submit queues ops; see the package documentation for ordering. It never
// blocks on I/O. After Close it completes the ops with NOT_CONNECTED before
// returning.
func (b *Backend) Submit(ops ...*storagefw.Request) {
	var bad []*storagefw.Request
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		for _, op := range ops {
			if op != nil {
				op.Complete(storagefw.Reply{Code: storagefw.NotConnected, Error: errClosed})
			}
		}
		return
	}
	wrote, reads := false, 0
	for _, op := range ops {
		if op == nil {
			continue
		}
		it := item{op: op}
		switch op.Kind {
		case storagefw.GetRequest, storagefw.PutRequest, storagefw.EraseRequest,
			storagefw.CompareAndSwapRequest, storagefw.IncrementRequest:
			it.h = b.bucket(op.Key)
		case storagefw.GetManyRequest, storagefw.PutManyRequest, storagefw.EraseManyRequest:
			it.hs = make([]uint32, len(op.Entries))
			for i := range op.Entries {
				it.hs[i] = b.bucket(op.Entries[i].Key)
			}
		case storagefw.ScanRequest:
			it.scan = true
		default:
			bad = append(bad, op)
			continue
		}
		if isWrite(op.Kind) {
			it.waitReads = b.pendScan > 0
			it.buckets(func(h uint32) {
				b.pendW[h]++
				b.pendWAll++
				if b.pendR[h] > 0 {
					it.waitReads = true
				}
			})
			b.wq.push(it)
			wrote = true
			continue
		}
		// A read goes to a reader unless a write it must see is pending:
		// then the writer answers it inside the write transaction.
		toReader := b.nreaders > 0
		if it.scan {
			toReader = toReader && b.pendWAll == 0
		} else {
			it.buckets(func(h uint32) {
				if b.pendW[h] > 0 {
					toReader = false
				}
			})
		}
		if !toReader {
			b.wq.push(it)
			wrote = true
			continue
		}
		if it.scan {
			b.pendScan++
		}
		it.buckets(func(h uint32) { b.pendR[h]++ })
		b.rq.push(it)
		reads++
	}
	if wrote {
		b.wcond.Signal()
	}
	if reads > 0 {
		if b.rq.len() > maxReadBatch {
			b.rcond.Broadcast()
		} else {
			b.rcond.Signal()
		}
	}
	b.mu.Unlock()
	for _, op := range bad {
		op.Complete(storagefw.Reply{Code: storagefw.OperationFailed, Error: fmt.Sprintf("sqlite: unsupported operation %v", op.Kind)})
	}
}

// Expire deletes the entries expired at now (expire_time > 0 and <= now)
// through the writer's queue, and returns how many it deleted. The periodic
// sweep does the same with cfg.Clock() as now.
func (b *Backend) Expire(ctx context.Context, now float64) (int, error) {
	req := &sweepReq{now: now, ch: make(chan sweepRes, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, storagefw.Errorf(storagefw.NotConnected, "sqlite expire: %s", errClosed)
	}
	b.wq.push(item{sweep: req})
	b.wcond.Signal()
	b.mu.Unlock()
	select {
	case r := <-req.ch:
		return r.n, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("sqlite expire: %w", ctx.Err())
	}
}

// Close drains queued ops, stops the goroutines and closes the database.
// If ctx ends first, ops not yet started complete with NOT_CONNECTED and
// Close still waits for the running batch (bounded by busy_timeout) before
// returning ctx's error. Calling Close again waits for the first call and
// returns its result.
func (b *Backend) Close(ctx context.Context) error {
	first := false
	b.closeOnce.Do(func() {
		first = true
		b.mu.Lock()
		b.closed = true
		b.wcond.Broadcast()
		b.rcond.Broadcast()
		b.mu.Unlock()
		close(b.stopSweep)
		b.closeSizeConn()
	})
	if !first {
		<-b.closedDone
		return b.closeErr
	}
	exited := make(chan struct{})
	go func() { b.wg.Wait(); close(exited) }()
	var ctxErr error
	select {
	case <-exited:
	case <-ctx.Done():
		ctxErr = fmt.Errorf("sqlite close: %w", ctx.Err())
		b.mu.Lock()
		b.abort = true
		b.wcond.Broadcast()
		b.rcond.Broadcast()
		b.mu.Unlock()
		<-exited
	}
	b.mu.Lock()
	errs := append([]error{ctxErr}, b.exitErrs...)
	b.mu.Unlock()
	b.closeErr = errors.Join(errs...)
	close(b.closedDone)
	b.log.Debug("closed")
	return b.closeErr
}

// closeConns closes every connection (used when Open fails).
func (b *Backend) closeConns() {
	if b.writer != nil {
		b.writer.close()
	}
	for _, c := range b.readers {
		c.close()
	}
}

// takeWrites waits for queued writer work and moves up to maxWriteBatch
// items onto dst. ok is false once the Backend is closed and drained.
func (b *Backend) takeWrites(dst []item) (_ []item, abort, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.wq.len() == 0 && !b.closed {
		b.wcond.Wait()
	}
	if b.wq.len() == 0 {
		return dst, false, false
	}
	n := len(dst)
	dst = b.wq.take(dst, maxWriteBatch)
	markTaken(dst[n:])
	return dst, b.abort, true
}

// markTaken takes the items' requests (storagefw.Request.Take): a request
// cancelled before is skipped.
func markTaken(items []item) {
	for i := range items {
		if op := items[i].op; op != nil && !op.Take() {
			items[i].skip = true
		}
	}
}

// writerLoop is the writer goroutine: group commit.
func (b *Backend) writerLoop() {
	defer b.wg.Done()
	var batch []item
	for {
		var abort, ok bool
		batch, abort, ok = b.takeWrites(batch[:0])
		if !ok {
			break
		}
		if abort {
			for i := range batch {
				batch[i].res = storagefw.Reply{Code: storagefw.NotConnected, Error: errClosed}
				if s := batch[i].sweep; s != nil {
					s.err = storagefw.Errorf(storagefw.NotConnected, "sqlite expire: %s", errClosed)
				}
			}
		} else {
			b.runWriteBatch(batch)
		}
		b.finishWrites(batch)
		clear(batch)
	}
	// Close after the readers, so the writer is the last connection: SQLite
	// then checkpoints and removes the WAL file. Like Zeek's DoClose, let
	// SQLite optimize first.
	b.readersWG.Wait()
	if err := b.writer.execNoArgs("pragma optimize"); err != nil {
		b.log.Debug("pragma optimize at close failed", "err", err)
	}
	if err := b.writer.close(); err != nil {
		b.exitErr(storagefw.Errorf(storagefw.DisconnectionFailed, "closing the SQLite writer connection: %v", err))
	}
}

func (b *Backend) exitErr(err error) {
	b.mu.Lock()
	b.exitErrs = append(b.exitErrs, err)
	b.mu.Unlock()
}

// runWriteBatch runs batch in as few transactions as possible (one, unless
// an error makes SQLite roll a transaction back) and sets every item's
// result. Nothing is completed here.
func (b *Backend) runWriteBatch(batch []item) {
	c := b.writer
	for i := 0; i < len(batch); {
		if err := c.execNoArgs("begin immediate"); err != nil {
			r := failure("begin transaction", err)
			b.log.Warn("cannot start a write transaction", "err", err)
			failItems(batch[i:], r)
			return
		}
		start := i
		rolledBack := false
		for ; i < len(batch); i++ {
			it := &batch[i]
			if it.sweep != nil {
				it.sweep.n, it.sweep.err = c.doSweep(it.sweep.now, b.opts.TableName)
				if it.sweep.err == nil {
					continue
				}
				it.res = failure("expire", it.sweep.err)
			} else {
				if it.skip {
					continue
				}
				it.res = c.do(it.op)
			}
			if it.res.Error != "" && c.c.AutoCommit() {
				// The error rolled the whole transaction back: the earlier
				// items of this transaction did not happen either.
				b.log.Warn("write transaction rolled back", "err", it.res.Error)
				failItems(batch[start:i], storagefw.Reply{Code: storagefw.OperationFailed,
					Error: "sqlite transaction rolled back: " + it.res.Error})
				i++
				rolledBack = true
				break
			}
		}
		if rolledBack {
			continue
		}
		b.waitForReaders(batch[start:i])
		if err := c.execNoArgs("commit"); err != nil {
			b.log.Warn("commit failed", "err", err)
			if !c.c.AutoCommit() {
				if rerr := c.execNoArgs("rollback"); rerr != nil {
					b.log.Warn("rollback failed", "err", rerr)
				}
			}
			failItems(batch[start:i], failure("commit", err))
		}
	}
}

// failItems gives every item (and sweep) the result r.
func failItems(items []item, r storagefw.Reply) {
	for j := range items {
		items[j].res = r
		if s := items[j].sweep; s != nil {
			s.n, s.err = 0, errors.New(r.Error)
		}
	}
}

// waitForReaders blocks until no get that was submitted before one of
// items' writes is still running on a reader, so the commit cannot be seen
// by reads issued earlier.
func (b *Backend) waitForReaders(items []item) {
	need := false
	for j := range items {
		if items[j].waitReads {
			need = true
			break
		}
	}
	if !need {
		return
	}
	b.mu.Lock()
	b.writerWaiting = true
	for j := range items {
		if items[j].waitReads {
			for b.pendScan > 0 {
				b.ccond.Wait()
			}
			items[j].buckets(func(h uint32) {
				for b.pendR[h] > 0 {
					b.ccond.Wait()
				}
			})
		}
	}
	b.writerWaiting = false
	b.mu.Unlock()
}

// finishWrites releases the batch's pending-write marks and completes it.
func (b *Backend) finishWrites(batch []item) {
	b.mu.Lock()
	for j := range batch {
		if op := batch[j].op; op != nil && isWrite(op.Kind) {
			batch[j].buckets(func(h uint32) {
				b.pendW[h]--
				b.pendWAll--
			})
		}
	}
	b.mu.Unlock()
	for j := range batch {
		it := &batch[j]
		if it.sweep != nil {
			if it.sweep.err == nil {
				// Counted once committed (Zeek's IncExpiredEntriesMetric).
				b.rep.EntriesExpired(it.sweep.n)
			}
			it.sweep.ch <- sweepRes{n: it.sweep.n, err: it.sweep.err}
			continue
		}
		it.op.Complete(it.res)
	}
}

// takeReads waits for queued gets and moves a fair share of them onto dst.
func (b *Backend) takeReads(dst []item) (_ []item, abort, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.rq.len() == 0 && !b.closed {
		b.rcond.Wait()
	}
	n := b.rq.len()
	if n == 0 {
		return dst, false, false
	}
	share := min(maxReadBatch, (n+b.nreaders-1)/b.nreaders)
	m := len(dst)
	dst = b.rq.take(dst, share)
	markTaken(dst[m:])
	if b.rq.len() > 0 {
		b.rcond.Signal() // let another reader take the rest
	}
	return dst, b.abort, true
}

// readerLoop is a reader goroutine: it answers chunks of gets, each chunk in
// one read transaction.
func (b *Backend) readerLoop(c *conn) {
	defer b.wg.Done()
	defer b.readersWG.Done()
	var batch []item
	for {
		var abort, ok bool
		batch, abort, ok = b.takeReads(batch[:0])
		if !ok {
			break
		}
		if abort {
			for j := range batch {
				batch[j].res = storagefw.Reply{Code: storagefw.NotConnected, Error: errClosed}
			}
		} else {
			inTx := false
			if len(batch) > 1 || batch[0].op.Kind == storagefw.GetManyRequest {
				if err := c.execNoArgs("begin"); err != nil {
					b.log.Debug("cannot start a read transaction", "err", err)
				} else {
					inTx = true
				}
			}
			for j := range batch {
				if !batch[j].skip {
					batch[j].res = c.do(batch[j].op)
				}
			}
			if inTx {
				if err := c.execNoArgs("commit"); err != nil {
					b.log.Debug("ending a read transaction failed", "err", err)
				}
			}
		}
		b.mu.Lock()
		for j := range batch {
			if batch[j].scan {
				b.pendScan--
			}
			batch[j].buckets(func(h uint32) { b.pendR[h]-- })
		}
		if b.writerWaiting {
			b.ccond.Broadcast()
		}
		b.mu.Unlock()
		for j := range batch {
			batch[j].op.Complete(batch[j].res)
		}
		clear(batch)
	}
	if err := c.close(); err != nil {
		b.exitErr(storagefw.Errorf(storagefw.DisconnectionFailed, "closing an SQLite reader connection: %v", err))
	}
}

// sweepLoop runs the periodic expiry sweep until Close.
func (b *Backend) sweepLoop(interval time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stopSweep:
			return
		case <-t.C:
		}
		now := b.clock()
		req := &sweepReq{now: now, ch: make(chan sweepRes, 1)}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return
		}
		b.wq.push(item{sweep: req})
		b.wcond.Signal()
		b.mu.Unlock()
		select {
		case r := <-req.ch:
			if r.err != nil {
				b.log.Warn("expiry sweep failed", "err", r.err)
			} else if r.n > 0 {
				b.log.Debug("expired entries", "count", r.n, "now", now)
			}
		case <-b.stopSweep:
			return // the writer still runs the queued sweep while draining
		}
	}
}

// MetricsConfig implements storagefw.MetricsLabeler as Zeek's
// SQLite::DoGetConfigMetricsLabel: "<database_path>-<table_name>".
func (b *Backend) MetricsConfig() string { return b.opts.DatabasePath + "-" + b.opts.TableName }

// DatabaseSize implements storagefw.DatabaseSizer as Zeek's SQLite size
// gauges: the database file's size on disk (stat of database_path, so
// without the WAL) and the page_count pragma, read on a connection of its
// own (opened on first use, read-only) so that no statement is added to
// the operations' path. A failed read reports the last values read. An
// in-memory database has no file and no other connection sees it: ok is
// false, as it is once the Backend is closed.
func (b *Backend) DatabaseSize() (storagefw.DatabaseSize, bool) {
	path := b.opts.DatabasePath
	if path == ":memory:" || path == "" {
		return storagefw.DatabaseSize{}, false
	}
	b.sizeMu.Lock()
	defer b.sizeMu.Unlock()
	if b.sizeClosed {
		return storagefw.DatabaseSize{}, false
	}
	if fi, err := os.Stat(path); err == nil {
		b.lastSize.Bytes = fi.Size()
	}
	if b.sizeConn == nil {
		c, err := openConn(path, true, b.opts.BusyTimeout)
		if err != nil {
			b.log.Debug("database size: cannot open a connection", "err", err)
			return b.lastSize, true
		}
		c.rep = b.rep
		b.sizeConn = c
	}
	if rows, err := b.sizeConn.query("pragma page_count"); err == nil && len(rows) == 1 {
		if n, err := strconv.ParseInt(rows[0], 10, 64); err == nil {
			b.lastSize.Pages = n
		}
	} else if err != nil {
		b.log.Debug("database size: page_count failed", "err", err)
	}
	return b.lastSize, true
}

// closeSizeConn closes DatabaseSize's connection (at Close, before the
// writer closes last and removes the WAL).
func (b *Backend) closeSizeConn() {
	b.sizeMu.Lock()
	defer b.sizeMu.Unlock()
	b.sizeClosed = true
	if b.sizeConn != nil {
		if err := b.sizeConn.close(); err != nil {
			b.log.Debug("closing the database size connection", "err", err)
		}
		b.sizeConn = nil
	}
}
