package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scriptd/scriptd/internal/tlsconf"
	"github.com/scriptd/scriptd/runtime/input"
)

// Source is one stream input. Lifecycle: [Open] connects and makes sure
// the stream and the group exist; Run reads until its context ends; Close,
// once the engine has let the records it took settle, sends the last
// acknowledgements and disconnects. Close must be called whether or not
// Run was (and never while Run runs). Stats and Err are safe from any
// goroutine at any time.
type Source interface {
	// Spec returns the spec the source was opened with.
	Spec() input.Spec
	// Run pulls records and sends them in batches on out until ctx ends
	// (a stream has no end: it then returns ctx.Err()). A send blocks
	// while out is full, which holds the source back, as does having
	// Options.MaxInFlight records unacknowledged. Connection failures are
	// reported through Options.OnWarning and retried with backoff. Run may
	// be called once.
	Run(ctx context.Context, out chan<- []input.Event) error
	// Stats returns the source's counters (input.Stats.Stream is true).
	Stats() input.Stats
	// Err returns what made Run fail for good (nil: it ran until its
	// context ended).
	Err() error
	// Close sends the acknowledgements still queued, gives back the
	// records still unacknowledged (they are redelivered, to this group's
	// other processes or a later run) and closes the connection, within
	// ctx (what cannot be sent by then is redelivered later).
	Close(ctx context.Context) error
}

// Options configure a [Source].
type Options struct {
	// MaxInFlight bounds the records delivered to this process and not yet
	// acknowledged (scriptd's --max-in-flight); for JetStream it is also
	// the consumer's MaxAckPending. Default 10,000.
	MaxInFlight int
	// BatchSize is the largest batch sent; default input.DefaultBatchSize.
	// A smaller one is sent whenever no more records are waiting.
	BatchSize int
	// OnBadRecord is called for a message that is not a valid record,
	// with "STREAM" and the sequence (see input.Event.Line), after which
	// the message is acknowledged. At most badPerWindow are reported in
	// full per minute; the rest are counted in a warning.
	OnBadRecord func(file string, line int, err error)
	// OnWarning is called for connection losses and recoveries and other
	// problems that skip no record (line 0).
	OnWarning func(file string, line int, msg string)
	// Consumer names this process in a Redis consumer group; default
	// HOSTNAME-PID (unique per process, as Redis requires).
	Consumer string
	// DialTimeout bounds Open's connection and set-up; default 5 s.
	DialTimeout time.Duration
	// StatsInterval is how often the group's lag and pending counts are
	// polled while Run runs; default 2 s.
	StatsInterval time.Duration
	// StaleConsumerAfter is how long a Redis consumer of the group that
	// holds no entry must have been idle before a process removes it from
	// the group (the consumer names of processes that died); default
	// max(10 × redeliver_after, 1 h). See redisSource.sweepStale.
	StaleConsumerAfter time.Duration
}

func (o *Options) defaults() {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = input.DefaultBatchSize
	}
	o.BatchSize = min(o.BatchSize, o.MaxInFlight)
	if o.Consumer == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "scriptd"
		}
		o.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 2 * time.Second
	}
}

// Open connects to the stream spec.Path names (see input.ParseStreamURL)
// and makes sure the stream and its group exist: a missing JetStream
// stream is created (subject STREAM, file storage), a missing Redis
// stream and group too (XGROUP CREATE ... 0 MKSTREAM: the group starts at
// the stream's beginning). Errors name the input.
func Open(spec input.Spec, opts Options) (Source, error) {
	u, err := input.ParseStreamURL(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("open input %s: %w", input.DisplayPath(spec.Path), err)
	}
	opts.defaults()
	var src Source
	switch u.Scheme {
	case "nats":
		src, err = openNATS(spec, u, opts)
	case "redis":
		src, err = openRedis(spec, u, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("open input %s: %w", u, err)
	}
	return src, nil
}

// common is what both kinds of source share: the spec, counters, the
// tracker of unacknowledged records, and bad-record reporting.
type common struct {
	spec  input.Spec
	url   *input.StreamURL
	label string // url.String(): "nats://HOST:PORT/STREAM"
	opts  Options

	json     *input.JSONParser // Run's goroutine only (a pipeline without helpers)
	started  atomic.Bool
	err      atomic.Pointer[error]
	bad      reporter
	records  atomic.Int64
	skipped  atomic.Int64
	redeliv  atomic.Int64
	reconn   atomic.Int64
	warnings atomic.Int64
	lag      atomic.Int64
	pending  atomic.Int64
}

func (c *common) init(spec input.Spec, u *input.StreamURL, opts Options) {
	c.spec, c.url, c.label, c.opts, c.json = spec, u, u.String(), opts, input.NewJSONParser()
	c.lag.Store(-1)
	c.pending.Store(-1)
	c.bad = reporter{on: opts.OnBadRecord}
}

// pollStats stores the group's lag and pending counts, as read reports
// them, every StatsInterval until ctx ends; -1 for both while read fails
// (each read bounded by StatsInterval).
func (c *common) pollStats(ctx context.Context, read func(context.Context) (lag, pending int64, err error)) {
	tick := time.NewTicker(c.opts.StatsInterval)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, c.opts.StatsInterval)
		lag, pending, err := read(rctx)
		cancel()
		switch {
		case err == nil:
			c.lag.Store(lag)
			c.pending.Store(pending)
		case ctx.Err() == nil:
			c.lag.Store(-1)
			c.pending.Store(-1)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (c *common) Spec() input.Spec { return c.spec }

func (c *common) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *common) stats(acked, unacked int64) input.Stats {
	return input.Stats{
		Records:  c.records.Load(),
		Skipped:  c.skipped.Load(),
		Warnings: c.warnings.Load(),

		Stream:      true,
		Acked:       acked,
		Unacked:     unacked,
		Redelivered: c.redeliv.Load(),
		Reconnects:  c.reconn.Load(),
		Lag:         c.lag.Load(),
		Pending:     c.pending.Load(),
		Group:       c.url.Group,
		Consumer:    c.opts.Consumer,
	}
}

func (c *common) warn(msg string) {
	c.warnings.Add(1)
	if c.opts.OnWarning != nil {
		c.opts.OnWarning(c.label, 0, msg)
	}
}

// start checks that Run is called once.
func (c *common) start(out chan<- []input.Event) error {
	if out == nil {
		return errors.New("input: Run with a nil channel")
	}
	if !c.started.CompareAndSwap(false, true) {
		return fmt.Errorf("input %s: Run called twice", c.label)
	}
	return nil
}

// send hands a batch to the engine, or gives up when ctx ends.
func (c *common) send(ctx context.Context, out chan<- []input.Event, batch []input.Event) bool {
	if len(batch) == 0 {
		return true
	}
	c.records.Add(int64(len(batch))) // before the receiver can see them
	select {
	case out <- batch:
		return true
	case <-ctx.Done():
		c.records.Add(-int64(len(batch)))
		return false
	}
}

// Records on their way to the engine, for both kinds of source. The
// goroutine that receives messages from the client library tracks each
// one and leaves it in the pipeline's intake, waking Run's goroutine only
// when the intake was empty: no channel operation per message. Run's
// goroutine takes what has gathered, cuts it into blocks that helper
// goroutines parse (as the file reader parses ahead, so that parsing JSON
// is spread over the cores rather than done on one goroutine), and sends
// the parsed blocks, in delivery order, as batches (see pump).
const (
	parseBlockSize  = 128 // messages per block parsed by one helper
	parseMaxHelpers = 4
)

// item is a delivered message: its delivery, the record's JSON, and,
// once its block is parsed, what parsing it gave. An item whose err is
// set when it enters the intake is not parsed (a message that holds no
// record: the source's eventOf reports it).
type item[K comparable, M any] struct {
	d    *delivery[K, M]
	body []byte // not kept after parsing (the parser does not keep its input)
	rec  *input.Record
	err  error
}

// block is a run of delivered messages parsed by one helper; done is
// closed when they are.
type block[K comparable, M any] struct {
	items []item[K, M]
	done  chan struct{}
}

func (b *block[K, M]) parse(parser *input.JSONParser) {
	for i := range b.items {
		it := &b.items[i]
		if it.err == nil {
			it.rec, it.err = parser.ParseRecord(it.body)
		}
		it.body = nil
	}
	close(b.done)
}

func (b *block[K, M]) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// intake is where the receiving goroutine leaves delivered messages for
// Run's goroutine.
type intake[K comparable, M any] struct {
	mu    sync.Mutex
	items []item[K, M]
	wake  chan struct{} // items became non-empty
}

// push adds delivered messages; any goroutine, never blocks (the tracker
// bounds what can gather: MaxInFlight).
func (in *intake[K, M]) push(its ...item[K, M]) {
	if len(its) == 0 {
		return
	}
	in.mu.Lock()
	first := len(in.items) == 0
	in.items = append(in.items, its...)
	in.mu.Unlock()
	if first {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

// take returns what has gathered (nil if nothing).
func (in *intake[K, M]) take() []item[K, M] {
	in.mu.Lock()
	items := in.items
	in.items = nil
	in.mu.Unlock()
	return items
}

// pipeline is Run's state: the intake, the blocks being parsed or parsed
// and not yet sent (in delivery order) and the helpers parsing them.
type pipeline[K comparable, M any] struct {
	in      intake[K, M]
	size    int // messages per block: parseBlockSize, or less for small batches
	queue   []*block[K, M]
	todo    chan *block[K, M] // nil: no helpers, blocks are parsed when cut
	helpers sync.WaitGroup
}

func newPipeline[K comparable, M any](maxInFlight, batchSize int) *pipeline[K, M] {
	p := &pipeline[K, M]{in: intake[K, M]{wake: make(chan struct{}, 1)}, size: min(parseBlockSize, batchSize)}
	if n := min(runtime.GOMAXPROCS(0), parseMaxHelpers); n > 1 {
		// Room for every block of MaxInFlight full blocks: handing a
		// block over waits only when blocks are cut small, and then
		// briefly (the helpers drain it).
		p.todo = make(chan *block[K, M], maxInFlight/p.size+2)
		for range n {
			p.helpers.Go(func() {
				parser := input.NewJSONParser()
				for b := range p.todo {
					b.parse(parser)
				}
			})
		}
	}
	return p
}

// cut splits items into blocks, queues them and hands them to the
// helpers (or parses them at once, without helpers).
func (p *pipeline[K, M]) cut(items []item[K, M], parser *input.JSONParser) {
	for len(items) > 0 {
		n := min(len(items), p.size)
		b := &block[K, M]{items: items[:n:n], done: make(chan struct{})}
		items = items[n:]
		p.queue = append(p.queue, b)
		if p.todo != nil {
			p.todo <- b
		} else {
			b.parse(parser)
		}
	}
}

// pump cuts delivered messages into blocks and sends the parsed blocks
// in delivery order as batches of at most Options.BatchSize events, until
// ctx ends or closed is (the source stopped receiving). eventOf turns a
// parsed item into an event (false: a bad record, reported and
// acknowledged by eventOf). A block leaves the queue once its batch is
// handed over: what pump did not send stays in p (see rest).
func (p *pipeline[K, M]) pump(ctx context.Context, c *common, out chan<- []input.Event, closed <-chan struct{},
	eventOf func(*item[K, M]) (input.Event, bool)) {
	bs := c.opts.BatchSize
	for {
		if items := p.in.take(); len(items) > 0 {
			p.cut(items, c.json)
		}
		if len(p.queue) > 0 && p.queue[0].isDone() {
			batch := make([]input.Event, 0, bs)
			n := 0 // blocks in batch
			for n < len(p.queue) && p.queue[n].isDone() && (n == 0 || len(batch)+len(p.queue[n].items) <= bs) {
				for i := range p.queue[n].items {
					if ev, ok := eventOf(&p.queue[n].items[i]); ok {
						batch = append(batch, ev)
					}
				}
				n++
			}
			if !c.send(ctx, out, batch) {
				return // the blocks stay queued: given back by the caller
			}
			clear(p.queue[:n])
			p.queue = p.queue[n:]
			continue
		}
		var front <-chan struct{}
		if len(p.queue) > 0 {
			front = p.queue[0].done
		}
		select {
		case <-front:
		case <-p.in.wake:
		case <-closed:
			return
		case <-ctx.Done():
			return
		}
	}
}

// rest stops the helpers and returns the deliveries that pump did not
// hand over (in the intake or queued), to be given back; Run's goroutine,
// once nothing pushes to the intake any more.
func (p *pipeline[K, M]) rest() []*delivery[K, M] {
	if p.todo != nil {
		close(p.todo)
		p.helpers.Wait()
		p.todo = nil
	}
	var ds []*delivery[K, M]
	for _, it := range p.in.take() {
		ds = append(ds, it.d)
	}
	for _, b := range p.queue {
		for _, it := range b.items {
			ds = append(ds, it.d)
		}
	}
	p.queue = nil
	return ds
}

// tracker keeps the records delivered to this process and not yet
// acknowledged, by key (a JetStream stream sequence, a Redis entry ID),
// and queues acknowledgements for the goroutine that sends them.
type tracker[K comparable, M any] struct {
	limit int

	mu    sync.Mutex
	out   map[K]*delivery[K, M]
	queue []M

	wake    chan struct{} // acknowledgements were queued
	room    chan struct{} // unacked dropped below limit
	unacked atomic.Int64
	acked   atomic.Int64 // acknowledgements sent
}

func newTracker[K comparable, M any](limit int) *tracker[K, M] {
	return &tracker[K, M]{limit: limit, out: make(map[K]*delivery[K, M]), wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// delivery is one record delivered to this process; its ack method is the
// event's Ack.
type delivery[K comparable, M any] struct {
	t    *tracker[K, M]
	key  K
	msg  M
	done atomic.Bool
}

// track records a delivery. A key already unacknowledged here is a record
// the stream redelivered after the redelivery time: its handlers here are
// slow, or the engine abandoned them (an interrupted runtime). The new
// delivery supersedes the old one, whose late acknowledgement, if it
// comes, does nothing (the new one's acknowledges the record).
func (t *tracker[K, M]) track(key K, msg M) *delivery[K, M] {
	d := &delivery[K, M]{t: t, key: key, msg: msg}
	t.mu.Lock()
	old := t.out[key]
	t.out[key] = d
	t.mu.Unlock()
	if old == nil || !old.done.CompareAndSwap(false, true) {
		t.unacked.Add(1)
	}
	return d
}

// ack queues the delivery's acknowledgement (once). Any goroutine; never
// blocks.
func (d *delivery[K, M]) ack() {
	if !d.done.CompareAndSwap(false, true) {
		return
	}
	t := d.t
	t.mu.Lock()
	if t.out[d.key] == d {
		delete(t.out, d.key)
	}
	t.queue = append(t.queue, d.msg)
	t.mu.Unlock()
	if t.unacked.Add(-1) < int64(t.limit) {
		select {
		case t.room <- struct{}{}:
		default:
		}
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// drop forgets a delivery that no handler will see, without
// acknowledging it; false if it was already acknowledged or dropped.
func (d *delivery[K, M]) drop() bool {
	if !d.done.CompareAndSwap(false, true) {
		return false
	}
	t := d.t
	t.mu.Lock()
	if t.out[d.key] == d {
		delete(t.out, d.key)
	}
	t.mu.Unlock()
	if t.unacked.Add(-1) < int64(t.limit) {
		select {
		case t.room <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns the queued acknowledgements, up to max (0: all).
func (t *tracker[K, M]) take(max int) []M {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) == 0 {
		return nil
	}
	if max <= 0 || len(t.queue) <= max {
		q := t.queue
		t.queue = nil
		return q
	}
	q := append([]M(nil), t.queue[:max]...)
	t.queue = append(t.queue[:0], t.queue[max:]...)
	return q
}

// requeue puts acknowledgements that could not be sent back in front.
func (t *tracker[K, M]) requeue(ms []M) {
	t.mu.Lock()
	t.queue = append(ms, t.queue...)
	t.mu.Unlock()
}

// queued reports whether acknowledgements wait to be sent.
func (t *tracker[K, M]) queued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queue)
}

// release forgets every unacknowledged delivery and returns their
// messages (to give them back to the stream); later acks of them do
// nothing.
func (t *tracker[K, M]) release() []M {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ms []M
	for k, d := range t.out {
		if d.done.CompareAndSwap(false, true) {
			ms = append(ms, d.msg)
			t.unacked.Add(-1)
		}
		delete(t.out, k)
	}
	return ms
}

// waitRoom waits until fewer than limit records are unacknowledged.
func (t *tracker[K, M]) waitRoom(ctx context.Context) error {
	for t.unacked.Load() >= int64(t.limit) {
		select {
		case <-t.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// free reports how many more records may be delivered now.
func (t *tracker[K, M]) free() int {
	return t.limit - int(t.unacked.Load())
}

// progressEvery is how often the records held are looked at for
// keeping alive: a quarter of the redelivery time, so that a record held
// about half of it is kept alive well before it runs out.
func progressEvery(redeliverAfter time.Duration) time.Duration {
	return max(redeliverAfter/4, 10*time.Millisecond)
}

// lookout finds the records to keep alive: those a process has held for
// about half the redelivery time since their delivery or their last
// keep-alive (JetStream's "in progress", Redis's XCLAIM to the holder),
// so that slow handlers (an await of a slow service, a long timer) keep
// their records instead of another process getting them. due runs every
// progressEvery (P = redeliver_after/4): a record seen at two consecutive
// looks has been held at least P, and is due at every second look, so at
// most 2P = redeliver_after/2 passes between its delivery or last
// keep-alive and the next. A record held because the engine is slow to
// take it (backpressure) is kept alive the same way; one whose handlers
// never settle is kept until the process ends (an interrupted runtime's
// records are acknowledged or given back). One goroutine only.
type lookout[K comparable, M any] struct {
	looks map[*delivery[K, M]]int
}

// due returns the deliveries to keep alive now.
func (l *lookout[K, M]) due(t *tracker[K, M]) []*delivery[K, M] {
	t.mu.Lock()
	held := make([]*delivery[K, M], 0, len(t.out))
	for _, d := range t.out {
		held = append(held, d)
	}
	t.mu.Unlock()
	looks := make(map[*delivery[K, M]]int, len(held))
	var due []*delivery[K, M]
	for _, d := range held {
		if d.done.Load() {
			continue
		}
		n := l.looks[d] + 1
		looks[d] = n
		if n%2 == 0 {
			due = append(due, d)
		}
	}
	l.looks = looks
	return due
}

// Bad records are reported in full up to badPerWindow per badWindow; the
// rest are counted and reported as one warning when the window ends (or
// Run ends), so a stream of garbage does not flood stderr.
const (
	badPerWindow = 20
	badWindow    = time.Minute
)

type reporter struct {
	on         func(file string, line int, err error)
	since      time.Time
	shown      int
	suppressed int
}

func (r *reporter) report(file string, line int, err error, warn func(string)) {
	now := time.Now()
	if now.Sub(r.since) >= badWindow {
		r.flush(warn)
		r.since, r.shown = now, 0
	}
	if r.shown >= badPerWindow {
		r.suppressed++
		return
	}
	r.shown++
	if r.on != nil {
		r.on(file, line, err)
	}
}

func (r *reporter) flush(warn func(string)) {
	if r.suppressed > 0 {
		warn(fmt.Sprintf("%d more bad records not shown (at most %d are shown per %v); each was acknowledged and skipped", r.suppressed, badPerWindow, badWindow))
		r.suppressed = 0
	}
}

// backoff is the wait before reconnection attempt n (0-based): 100 ms
// doubling up to 5 s, with ±20% jitter so that a fleet does not reconnect
// in step.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 6)
	d = min(d, 5*time.Second)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tlsFiles are a stream URL's TLS options as tlsconf takes them.
func tlsFiles(t *input.StreamTLS) tlsconf.Files {
	return tlsconf.Files{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
}
