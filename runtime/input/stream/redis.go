package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/runtime/input"
)

// redisSource reads a Redis stream as a member of a consumer group (over
// TLS for rediss://):
// XREADGROUP under a consumer name unique to the process (HOSTNAME-PID),
// XACK once a record's handlers have settled, and XAUTOCLAIM of entries
// that other consumers (typically dead processes) have held unacknowledged
// for RedeliverAfter. Each entry carries the record as JSON in its field
// "record".
//
// go-redis reconnects on its own; a failed command is retried here with
// backoff, and acknowledgements that cannot be sent wait in the queue
// until they can.
type redisSource struct {
	common
	rdb        *redis.Client
	t          *tracker[string, string] // entry IDs
	claimEvery time.Duration
	staleAfter time.Duration // consumers idle this long and holding nothing are removed
	sweepEvery time.Duration
	sweepWarn  atomic.Bool // a failed removal was reported

	ackStop chan struct{}
	ackDone chan struct{}
	closed  atomic.Bool
	down    atomic.Bool // the last command failed on the connection
	fails   atomic.Int64
}

// recordField is the field of a stream entry that holds the record.
const recordField = "record"

func openRedis(spec input.Spec, u *input.StreamURL, opts Options) (*redisSource, error) {
	ropts := &redis.Options{
		Addr:         u.Addr,
		DB:           u.DB,
		DialTimeout:  opts.DialTimeout,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		MaxRetries:   -1, // retries are ours, with backoff and reporting
	}
	if u.User != nil {
		ropts.Username = u.User.Username()
		ropts.Password, _ = u.User.Password()
	}
	if t := u.TLS; t != nil {
		cfg, err := tlsFiles(t).Client()
		if err != nil {
			return nil, err // names the option
		}
		ropts.TLSConfig = cfg // verified against tls_server_name, else the host dialled
	}
	s := &redisSource{
		rdb:        redis.NewClient(ropts),
		t:          newTracker[string, string](opts.MaxInFlight),
		claimEvery: min(max(u.RedeliverAfter/4, 100*time.Millisecond), 5*time.Second),
		ackStop:    make(chan struct{}),
		ackDone:    make(chan struct{}),
	}
	s.staleAfter = opts.StaleConsumerAfter
	if s.staleAfter <= 0 {
		s.staleAfter = max(10*u.RedeliverAfter, DefaultStaleConsumerAfter)
	}
	s.sweepEvery = min(max(s.staleAfter/4, 100*time.Millisecond), 10*time.Minute)
	s.init(spec, u, opts)
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, err
	}
	if err := s.createGroup(ctx); err != nil {
		s.rdb.Close()
		return nil, err
	}
	go s.acker()
	return s, nil
}

// createGroup creates the stream (if missing) and the group, starting at
// the stream's first entry; a group that exists is left as it is.
func (s *redisSource) createGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.url.Name, s.url.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("XGROUP CREATE %s %s: %w", s.url.Name, s.url.Group, err)
	}
	return nil
}

// where names an entry for messages: "STREAM:ID" as the file, line 0
// (see input.Event.Line).
func (s *redisSource) where(id string) (string, int) {
	return s.label + ":" + id, 0
}

func (s *redisSource) Run(ctx context.Context, out chan<- []input.Event) error {
	if err := s.start(out); err != nil {
		return err
	}
	defer s.bad.flush(s.warn)
	statsDone := make(chan struct{})
	statsCtx, stopStats := context.WithCancel(ctx)
	go func() { defer close(statsDone); s.pollStats(statsCtx, s.readStats) }()
	defer func() { stopStats(); <-statsDone }()

	// One goroutine reads (a round trip to Redis and go-redis's decoding)
	// and leaves the entries in p's intake; helpers parse them while this
	// goroutine hands them over in order (see pipeline).
	p := newPipeline[string, string](s.opts.MaxInFlight, s.opts.BatchSize)
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); s.reader(ctx, p) }()
	p.pump(ctx, &s.common, out, readerDone, s.eventOf)
	<-readerDone // pump returns once ctx ended, and so does the reader
	s.giveBack(dropAll(p.rest()))
	return ctx.Err()
}

// reader reads entries while fewer than MaxInFlight are unacknowledged,
// tracks them and leaves them in p's intake, until ctx ends.
func (s *redisSource) reader(ctx context.Context, p *pipeline[string, string]) {
	u := s.url
	cursor := "0-0"
	nextClaim := time.Now() // at once: entries a dead process left may have waited long enough
	nextSweep := nextClaim  // after the first complete XAUTOCLAIM pass
	for attempt := 0; ; {
		if err := s.t.waitRoom(ctx); err != nil {
			return
		}
		n := int64(min(s.opts.BatchSize, max(s.t.free(), 1)))
		var msgs []redis.XMessage
		var err error
		claimed := !time.Now().Before(nextClaim)
		if claimed {
			var next string
			msgs, next, err = s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: u.Name, Group: u.Group, Consumer: s.opts.Consumer,
				MinIdle: u.RedeliverAfter, Start: cursor, Count: n,
			}).Result()
			if err == nil {
				cursor = next
				if next == "0-0" || next == "" {
					cursor = "0-0"
					nextClaim = time.Now().Add(s.claimEvery)
					if !nextClaim.Before(nextSweep) {
						// A pass has taken what the dead held: their
						// consumers now hold nothing.
						s.sweepStale(ctx)
						nextSweep = time.Now().Add(s.sweepEvery)
					}
				}
			}
		} else {
			block := min(max(time.Until(nextClaim), 10*time.Millisecond), time.Second)
			var res []redis.XStream
			res, err = s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: u.Group, Consumer: s.opts.Consumer, Streams: []string{u.Name, ">"},
				Count: n, Block: block,
			}).Result()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			for _, st := range res {
				msgs = append(msgs, st.Messages...)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				s.warn(fmt.Sprintf("group %s is missing (the server lost its data?); creating it again at the stream's start", u.Group))
				if cerr := s.createGroup(ctx); cerr != nil {
					s.failed(cerr)
				}
			} else {
				s.failed(err)
			}
			if !sleep(ctx, backoff(attempt)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		s.recovered()
		items := make([]item[string, string], 0, len(msgs))
		for _, m := range msgs {
			d := s.t.track(m.ID, m.ID) // one of ours, claimed again: see track
			if claimed {
				s.redeliv.Add(1)
			}
			if m.Values == nil {
				d.ack() // deleted from the stream meanwhile
				continue
			}
			it := item[string, string]{d: d}
			if body, ok := m.Values[recordField].(string); ok {
				// The parser does not keep its input: no need to copy body.
				it.body = unsafe.Slice(unsafe.StringData(body), len(body))
			} else {
				it.err = errNoRecordField
			}
			items = append(items, it)
		}
		p.in.push(items...) // taken and given back by Run if ctx ended
	}
}

var errNoRecordField = fmt.Errorf("entry has no field %q holding the record as JSON", recordField)

// DefaultStaleConsumerAfter is the least idle time after which a Redis
// consumer that holds no entry is removed from its group (see
// Options.StaleConsumerAfter).
const DefaultStaleConsumerAfter = time.Hour

// staleConsumers removes from the group KEYS[1] ARGV[1] every consumer but
// ARGV[3] that holds no pending entry and has been idle (no XREADGROUP,
// XCLAIM or XAUTOCLAIM attempted under its name) at least ARGV[2] ms, and
// returns their names. XINFO CONSUMERS and XGROUP DELCONSUMER run in one
// script, so no command of another client comes between the check and the
// removal: a consumer that reads entries at that moment either read them
// before the script (it then holds them and is kept) or after (its read
// creates the consumer again). Nothing pending is ever removed.
var staleConsumers = redis.NewScript(`
local removed = {}
local minIdle = tonumber(ARGV[2])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[3] and f['pending'] == 0 and f['idle'] >= minIdle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed[#removed + 1] = f['name']
  end
end
return removed
`)

// sweepStale removes the group's stale consumers: the names of processes
// that died (each process has its own, HOSTNAME-PID), which Redis keeps
// listed forever. It runs after an XAUTOCLAIM pass, so that the entries
// the dead held have been claimed: a consumer still holding entries is
// never removed (that would make them unclaimable), and one idle less
// than staleAfter is kept (a live process reads at least every second;
// the bound is large so that XINFO CONSUMERS still shows recent deaths).
// A refusal (e.g. an ACL without EVAL) is reported once; the consumers
// then stay listed, which costs nothing but the listing.
func (s *redisSource) sweepStale(ctx context.Context) {
	err := staleConsumers.Run(ctx, s.rdb, []string{s.url.Name},
		s.url.Group, s.staleAfter.Milliseconds(), s.opts.Consumer).Err()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "NOGROUP") &&
			s.sweepWarn.CompareAndSwap(false, true) {
			s.warn(fmt.Sprintf("removing the group's stale consumers: %v; they stay listed in XINFO CONSUMERS", err))
		}
	}
}

// dropAll drops the deliveries not yet acknowledged and returns their IDs.
func dropAll(ds []*delivery[string, string]) []string {
	var ids []string
	for _, d := range ds {
		if d.drop() {
			ids = append(ids, d.msg)
		}
	}
	return ids
}

// eventOf turns a parsed entry into an event; a bad record is reported
// (STREAM:ID) and acknowledged at once: it is never redelivered.
func (s *redisSource) eventOf(it *item[string, string]) (input.Event, bool) {
	var ev input.Event
	d := it.d
	err := it.err
	if err == nil {
		ev, err = input.NewEvent(s.spec, it.rec)
	}
	file, line := s.where(d.key)
	if err != nil {
		s.skipped.Add(1)
		s.bad.report(file, line, err, s.warn)
		d.ack()
		return ev, false
	}
	ev.File, ev.Line, ev.Ack = file, line, d.ack
	return ev, true
}

// giveBack makes entries delivered here and never handled claimable by
// the group's other processes at once: XCLAIM to this consumer with IDLE
// set to the redelivery time, so that their next XAUTOCLAIM takes them.
func (s *redisSource) giveBack(ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for len(ids) > 0 {
		k := min(len(ids), 1000)
		args := []any{"XCLAIM", s.url.Name, s.url.Group, s.opts.Consumer, 0}
		for _, id := range ids[:k] {
			args = append(args, id)
		}
		args = append(args, "IDLE", s.url.RedeliverAfter.Milliseconds(), "JUSTID")
		if err := s.rdb.Do(ctx, args...).Err(); err != nil {
			return // they are redelivered after RedeliverAfter anyway
		}
		ids = ids[k:]
	}
}

// failed reports the first of a run of failures.
func (s *redisSource) failed(err error) {
	s.fails.Add(1)
	if s.down.CompareAndSwap(false, true) {
		s.warn(fmt.Sprintf("%v; retrying with backoff; unacknowledged records are redelivered after %v if the server does not come back", err, s.url.RedeliverAfter))
	}
}

// recovered reports the end of a run of failures.
func (s *redisSource) recovered() {
	if s.down.CompareAndSwap(true, false) {
		s.reconn.Add(1)
		s.warn("reconnected")
	}
}

// acker sends queued acknowledgements (XACK, up to 1,000 IDs a command)
// until Close.
func (s *redisSource) acker() {
	defer close(s.ackDone)
	attempt := 0
	for {
		select {
		case <-s.t.wake:
		case <-s.ackStop:
			return
		}
		for s.t.queued() > 0 {
			if err := s.sendAcks(context.Background()); err != nil {
				s.failed(err)
				select {
				case <-time.After(backoff(attempt)):
					attempt++
					continue
				case <-s.ackStop:
					return
				}
			}
			attempt = 0
			s.recovered()
		}
	}
}

func (s *redisSource) sendAcks(ctx context.Context) error {
	ids := s.t.take(1000)
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.rdb.XAck(ctx, s.url.Name, s.url.Group, ids...).Err(); err != nil {
		s.t.requeue(ids)
		return err
	}
	s.t.acked.Add(int64(len(ids)))
	return nil
}

// readStats reads the group's lag and pending counts (pollStats); -1 for
// both while the group does not exist.
func (s *redisSource) readStats(ctx context.Context) (lag, pending int64, err error) {
	groups, err := s.rdb.XInfoGroups(ctx, s.url.Name).Result()
	if err != nil {
		return 0, 0, err
	}
	for _, g := range groups {
		if g.Name == s.url.Group {
			return g.Lag, g.Pending, nil
		}
	}
	return -1, -1, nil
}

func (s *redisSource) Stats() input.Stats {
	return s.stats(s.t.acked.Load(), s.t.unacked.Load())
}

func (s *redisSource) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.ackStop)
	<-s.ackDone
	var err error
	for s.t.queued() > 0 && ctx.Err() == nil {
		if err = s.sendAcks(ctx); err != nil {
			sleep(ctx, 100*time.Millisecond)
		}
	}
	if n := s.t.queued(); n > 0 {
		err = fmt.Errorf("close input %s: %d acknowledgement(s) could not be sent (%v); their records will be redelivered", s.label, n, err)
	} else {
		err = nil
	}
	s.giveBack(s.t.release())
	if err == nil && s.started.Load() {
		// Leave the group tidy: forget this process's consumer name once
		// it holds no entry (deleting one that holds entries would lose
		// them).
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p, perr := s.rdb.XPendingExt(dctx, &redis.XPendingExtArgs{Stream: s.url.Name, Group: s.url.Group, Start: "-", End: "+", Count: 1, Consumer: s.opts.Consumer}).Result()
		if perr == nil && len(p) == 0 {
			_ = s.rdb.XGroupDelConsumer(dctx, s.url.Name, s.url.Group, s.opts.Consumer).Err()
		}
		cancel()
	}
	s.rdb.Close()
	return err
}
