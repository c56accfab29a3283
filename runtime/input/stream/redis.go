package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

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
// The client is rueidis (as the Redis storage backend's): XREADGROUP, a
// blocking command, runs on a connection of its own while acknowledgements
// and the rest share the pipelined one, and replies are walked as rueidis
// decoded them, without a map per entry. rueidis reconnects on its own; a
// failed command is retried here with backoff, and acknowledgements that
// cannot be sent wait in the queue until they can.
type redisSource struct {
	common
	rdb        rueidis.Client
	t          *tracker[string, string] // entry IDs
	claimEvery time.Duration
	staleAfter time.Duration // consumers idle this long and holding nothing are removed
	sweepEvery time.Duration
	sweepWarn  atomic.Bool             // a failed removal was reported
	looks      lookout[string, string] // acker only: see keepAlive
	releaseMu  sync.Mutex
	released   []string     // entry IDs given back by Event.Release, for the acker to send
	keptAlive  atomic.Int64 // entries claimed again by keepAlive

	ackStop chan struct{}
	ackDone chan struct{}
	closed  atomic.Bool
	down    atomic.Bool // the last command failed on the connection
	fails   atomic.Int64
}

// recordField is the field of a stream entry that holds the record.
const recordField = "record"

func openRedis(spec input.Spec, u *input.StreamURL, opts Options) (*redisSource, error) {
	ropts := rueidis.ClientOption{
		InitAddress:       []string{u.Addr},
		SelectDB:          u.DB,
		Dialer:            net.Dialer{Timeout: opts.DialTimeout, KeepAlive: time.Second},
		ForceSingleClient: true,
		DisableCache:      true,
		DisableRetry:      true, // retries are ours, with backoff and reporting
		AlwaysRESP2:       true,
		ClientSetInfo:     rueidis.DisableClientSetInfo,
		ConnWriteTimeout:  10 * time.Second,
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
	rdb, err := rueidis.NewClient(ropts) // connects, authenticates and selects the database
	if err != nil {
		return nil, err
	}
	s := &redisSource{
		rdb:        rdb,
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
	c := s.rdb.B().XgroupCreate().Key(s.url.Name).Group(s.url.Group).Id("0").Mkstream().Build()
	err := s.rdb.Do(ctx, c).Error()
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

	// One goroutine reads (a round trip to Redis and rueidis's decoding)
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
		var entries []rueidis.RedisMessage
		var err error
		claimed := !time.Now().Before(nextClaim)
		if claimed {
			var next string
			entries, next, err = s.autoClaim(ctx, cursor, n)
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
			entries, err = s.readGroup(ctx, n, block)
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
		items := make([]item[string, string], 0, len(entries))
		for i := range entries {
			id, body, err := entryOf(&entries[i])
			if id == "" {
				continue // not an entry (a deleted one, as Redis 6.2's XAUTOCLAIM lists it)
			}
			d := s.t.track(id, id) // one of ours, claimed again: see track
			if claimed {
				s.redeliv.Add(1)
			}
			if err == errEntryDeleted {
				d.ack() // deleted from the stream meanwhile
				continue
			}
			items = append(items, item[string, string]{d: d, body: body, err: err})
		}
		p.in.push(items...) // taken and given back by Run if ctx ended
	}
}

// readGroup reads up to n new entries (XREADGROUP ... >), waiting up to
// block for the first; none (and no error) if none came.
func (s *redisSource) readGroup(ctx context.Context, n int64, block time.Duration) ([]rueidis.RedisMessage, error) {
	u := s.url
	c := s.rdb.B().Xreadgroup().Group(u.Group, s.opts.Consumer).Count(n).Block(block.Milliseconds()).
		Streams().Key(u.Name).Id(">").Build()
	// RESP2: [[STREAM, [ENTRY...]]], or nil when block passed.
	streams, err := s.rdb.Do(ctx, c).ToArray()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []rueidis.RedisMessage
	for _, st := range streams {
		kv, err := st.ToArray()
		if err != nil || len(kv) != 2 {
			return nil, fmt.Errorf("XREADGROUP: unexpected reply %v", st)
		}
		if entries, err = kv[1].ToArray(); err != nil {
			return nil, fmt.Errorf("XREADGROUP: unexpected reply: %w", err)
		}
	}
	return entries, nil
}

// autoClaim claims up to n entries idle RedeliverAfter from cursor on
// (XAUTOCLAIM); it returns them and the cursor of the next call ("0-0":
// the pass is complete).
func (s *redisSource) autoClaim(ctx context.Context, cursor string, n int64) ([]rueidis.RedisMessage, string, error) {
	u := s.url
	c := s.rdb.B().Xautoclaim().Key(u.Name).Group(u.Group).Consumer(s.opts.Consumer).
		MinIdleTime(strconv.FormatInt(u.RedeliverAfter.Milliseconds(), 10)).Start(cursor).Count(n).Build()
	// [NEXT, [ENTRY...]] (Redis 7 adds the IDs of deleted entries).
	reply, err := s.rdb.Do(ctx, c).ToArray()
	if err != nil {
		return nil, "", err
	}
	if len(reply) < 2 {
		return nil, "", fmt.Errorf("XAUTOCLAIM: unexpected reply of %d elements", len(reply))
	}
	next, err := reply[0].ToString()
	if err != nil {
		return nil, "", fmt.Errorf("XAUTOCLAIM: unexpected cursor: %w", err)
	}
	entries, err := reply[1].ToArray()
	if err != nil {
		return nil, "", fmt.Errorf("XAUTOCLAIM: unexpected reply: %w", err)
	}
	return entries, next, nil
}

var errEntryDeleted = errors.New("entry deleted")

// entryOf reads a stream entry, [ID, [FIELD, VALUE, ...]]: its ID and the
// record's JSON (field "record"). The body aliases the reply, which
// nothing else holds: it is not copied. id is "" for something that is
// not an entry; err is errEntryDeleted for an entry whose fields are nil
// (deleted from the stream while pending).
func entryOf(e *rueidis.RedisMessage) (id string, body []byte, err error) {
	parts, err := e.ToArray()
	if err != nil || len(parts) != 2 {
		return "", nil, nil
	}
	if id, err = parts[0].ToString(); err != nil {
		return "", nil, nil
	}
	if parts[1].IsNil() {
		return id, nil, errEntryDeleted
	}
	fields, err := parts[1].ToArray()
	if err != nil {
		return id, nil, errNoRecordField
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if f, _ := fields[i].ToString(); f == recordField {
			if body, err = fields[i+1].AsBytes(); err != nil {
				return id, nil, errNoRecordField
			}
			return id, body, nil
		}
	}
	return id, nil, errNoRecordField
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
var staleConsumers = rueidis.NewLuaScript(`
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
	err := staleConsumers.Exec(ctx, s.rdb, []string{s.url.Name},
		[]string{s.url.Group, strconv.FormatInt(s.staleAfter.Milliseconds(), 10), s.opts.Consumer}).Error()
	if err != nil {
		if _, ok := rueidis.IsRedisErr(err); ok && !strings.HasPrefix(err.Error(), "NOGROUP") &&
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
	ev.Release = func() { s.release(d) }
	return ev, true
}

// release gives back an entry whose handlers were cut off (Event.Release):
// the acker sends it with giveBack, so that the group's next XAUTOCLAIM,
// this process's included, takes it (within claimEvery) instead of after
// RedeliverAfter. Any goroutine; never blocks.
func (s *redisSource) release(d *delivery[string, string]) {
	if !d.drop() {
		return
	}
	s.releaseMu.Lock()
	s.released = append(s.released, d.msg)
	s.releaseMu.Unlock()
	select {
	case s.t.wake <- struct{}{}:
	default:
	}
}

// takeReleased returns the entries released and not yet given back.
func (s *redisSource) takeReleased() []string {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	ids := s.released
	s.released = nil
	return ids
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
	// On failure they are redelivered after RedeliverAfter anyway.
	_, _ = s.claimOwn(ctx, ids, 0, s.url.RedeliverAfter)
}

// claimOwn claims ids for this consumer (XCLAIM ... JUSTID: no delivery
// counted), those idle at least minIdle, setting their idle time to idle;
// up to 1,000 IDs a command. It returns how many were claimed.
func (s *redisSource) claimOwn(ctx context.Context, ids []string, minIdle, idle time.Duration) (int, error) {
	claimed := 0
	for len(ids) > 0 {
		k := min(len(ids), 1000)
		c := s.rdb.B().Xclaim().Key(s.url.Name).Group(s.url.Group).Consumer(s.opts.Consumer).
			MinIdleTime(strconv.FormatInt(minIdle.Milliseconds(), 10)).
			Id(ids[:k]...).Idle(idle.Milliseconds()).Justid().Build()
		got, err := s.rdb.Do(ctx, c).ToArray()
		if err != nil {
			return claimed, err
		}
		claimed += len(got)
		ids = ids[k:]
	}
	return claimed, nil
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
// until Close, and keeps the entries held long alive (see keepAlive).
func (s *redisSource) acker() {
	defer close(s.ackDone)
	tick := time.NewTicker(progressEvery(s.url.RedeliverAfter))
	defer tick.Stop()
	attempt := 0
	for {
		select {
		case <-s.t.wake:
		case <-tick.C:
			s.keepAlive()
		case <-s.ackStop:
			return
		}
		s.giveBack(s.takeReleased())
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

// keepAlive claims again, for this consumer, every entry it has held for
// about half the redelivery time since its delivery or its last
// keep-alive (see lookout): XCLAIM ... JUSTID resets the entry's idle
// time without counting a delivery, so the group's XAUTOCLAIM (which
// takes entries idle RedeliverAfter) leaves it to this process while its
// handlers still run; Redis's counterpart of JetStream's "in progress".
// The claim's least idle time, progressEvery, keeps it from taking back
// an entry that another process claimed more recently (this one was
// frozen past the redelivery time): both then handle it, as at-least-once
// allows. A failure is left to the next look.
func (s *redisSource) keepAlive() {
	due := s.looks.due(s.t)
	if len(due) == 0 {
		return
	}
	ids := make([]string, len(due))
	for i, d := range due {
		ids[i] = d.msg
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.url.RedeliverAfter/4)
	defer cancel()
	n, _ := s.claimOwn(ctx, ids, progressEvery(s.url.RedeliverAfter), 0)
	s.keptAlive.Add(int64(n))
}

func (s *redisSource) sendAcks(ctx context.Context) error {
	ids := s.t.take(1000)
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := s.rdb.B().Xack().Key(s.url.Name).Group(s.url.Group).Id(ids...).Build()
	if err := s.rdb.Do(ctx, c).Error(); err != nil {
		s.t.requeue(ids)
		return err
	}
	s.t.acked.Add(int64(len(ids)))
	return nil
}

// readStats reads the group's lag and pending counts (pollStats); -1 for
// both while the group does not exist.
func (s *redisSource) readStats(ctx context.Context) (lag, pending int64, err error) {
	groups, err := s.rdb.Do(ctx, s.rdb.B().XinfoGroups().Key(s.url.Name).Build()).ToArray()
	if err != nil {
		return 0, 0, err
	}
	for _, g := range groups {
		// RESP2: [name, G, consumers, N, pending, N, ..., lag, N or nil]
		fields, err := g.ToArray()
		if err != nil {
			return 0, 0, fmt.Errorf("XINFO GROUPS: unexpected reply: %w", err)
		}
		name, lag, pending := "", int64(-1), int64(-1)
		for i := 0; i+1 < len(fields); i += 2 {
			switch f, _ := fields[i].ToString(); f {
			case "name":
				name, _ = fields[i+1].ToString()
			case "pending":
				pending, _ = fields[i+1].AsInt64()
			case "lag":
				if v, err := fields[i+1].AsInt64(); err == nil {
					lag = v // nil: Redis cannot tell (entries deleted from the stream's middle)
				}
			}
		}
		if name == s.url.Group {
			return lag, pending, nil
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
	s.giveBack(append(s.takeReleased(), s.t.release()...))
	if err == nil && s.started.Load() {
		// Leave the group tidy: forget this process's consumer name once
		// it holds no entry (deleting one that holds entries would lose
		// them).
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p, perr := s.rdb.Do(dctx, s.rdb.B().Xpending().Key(s.url.Name).Group(s.url.Group).
			Start("-").End("+").Count(1).Consumer(s.opts.Consumer).Build()).ToArray()
		if perr == nil && len(p) == 0 {
			_ = s.rdb.Do(dctx, s.rdb.B().XgroupDelconsumer().Key(s.url.Name).Group(s.url.Group).
				Consumername(s.opts.Consumer).Build()).Error()
		}
		cancel()
	}
	s.rdb.Close()
	return err
}
