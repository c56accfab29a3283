package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scriptd/scriptd/runtime/input"
)

// natsSource reads a JetStream stream through a durable pull consumer
// shared by the group's processes: the consumer is named GROUP, acks are
// explicit, AckWait is the redelivery time; MaxAckPending is left to each
// process (see ensure).
//
// The client library (nats.go) reconnects on its own, with backoff; its
// Consume re-issues pull requests after a reconnection. Messages are
// delivered to Consume's callback, which tracks them and leaves them in
// the intake of Run's goroutine; helper goroutines parse them and Run
// sends batches (see pipeline). Acknowledgements and "in progress" are
// published by a goroutine of their own (Ack is called on the script
// loop, which must not wait on the network); nats.go writes what was
// published in bulk (one write for about a hundred acks in S1).
type natsSource struct {
	common
	nc   *nats.Conn
	js   jetstream.JetStream
	cons jetstream.Consumer
	t    *tracker[uint64, jetstream.Msg]

	ackStop chan struct{}
	ackDone chan struct{}
	closed  atomic.Bool
	mu      sync.Mutex   // guards cons
	stopped atomic.Int64 // when Run stopped pulling (UnixNano), 0 before

	warnedAckPending bool // ensure's warning, once

	looks      lookout[uint64, jetstream.Msg] // acker only: see progress
	inProgress atomic.Int64                   // "in progress" sent
}

// pullExpiry bounds how long a pull request of Consume stays open on the
// server. A request outlives the process's interest in it (NATS 2.9 does
// not cancel it when the client unsubscribes): a message the server sends
// to it then waits AckWait before redelivery. Records given back at
// shutdown are therefore Nak'ed with a delay that outlasts this process's
// last request, so that they go to another process at once rather than to
// that request.
const pullExpiry = 5 * time.Second

func openNATS(spec input.Spec, u *input.StreamURL, opts Options) (*natsSource, error) {
	s := &natsSource{
		t:       newTracker[uint64, jetstream.Msg](opts.MaxInFlight),
		ackStop: make(chan struct{}),
		ackDone: make(chan struct{}),
	}
	s.init(spec, u, opts)
	nopts := []nats.Option{
		nats.Name("scriptd " + opts.Consumer),
		nats.Timeout(opts.DialTimeout),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration { return backoff(attempts - 1) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if s.closed.Load() {
				return
			}
			if err == nil {
				err = errors.New("disconnected")
			}
			s.warn(fmt.Sprintf("connection lost (%v); reconnecting with backoff; unacknowledged records are redelivered after %v if it does not come back", err, u.RedeliverAfter))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.reconn.Add(1)
			s.warn("reconnected to " + nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if !s.closed.Load() {
				s.warn(err.Error())
			}
		}),
	}
	if u.User != nil {
		if pass, ok := u.User.Password(); ok {
			nopts = append(nopts, nats.UserInfo(u.User.Username(), pass))
		} else {
			nopts = append(nopts, nats.Token(u.User.Username()))
		}
	}
	scheme := "nats://"
	if u.TLS != nil {
		cfg, err := natsTLSConfig(u)
		if err != nil {
			return nil, err
		}
		nopts = append(nopts, nats.Secure(cfg))
		scheme = "tls://"
	}
	nc, err := nats.Connect(scheme+u.Addr, nopts...)
	if err != nil {
		return nil, err
	}
	s.nc = nc
	s.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	if err := s.ensure(ctx); err != nil {
		s.closed.Store(true)
		nc.Close()
		return nil, err
	}
	go s.acker()
	return s, nil
}

// natsTLSConfig builds the client's TLS configuration from the URL's
// options (tlsconf, as for every TLS client of scriptd), verifying the
// server by tls_server_name, else the URL's host.
func natsTLSConfig(u *input.StreamURL) (*tls.Config, error) {
	cfg, err := tlsFiles(u.TLS).Client()
	if err != nil {
		return nil, err // names the option
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(u.Addr)
	}
	return cfg, nil
}

// ensure makes sure the stream and the durable consumer exist, creating
// them if need be, and sets an existing consumer's AckWait to this
// process's redeliver_after. MaxAckPending: a consumer scriptd creates has
// none (-1); an existing consumer's is left as it is (an operator's
// choice, or an older scriptd's), with a warning if it is below this
// process's MaxInFlight.
func (s *natsSource) ensure(ctx context.Context) error {
	u := s.url
	if _, err := s.js.Stream(ctx, u.Name); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{Name: u.Name, Subjects: []string{u.Name}, Storage: jetstream.FileStorage})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", u.Name, err)
		}
	} else if err != nil {
		return fmt.Errorf("stream %s: %w", u.Name, err)
	}
	want := jetstream.ConsumerConfig{
		Durable:   u.Group,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   u.RedeliverAfter,
		// No group-wide limit: each process bounds the records it holds
		// (Options.MaxInFlight, and pulls no more than that ahead), so
		// the group's limit is the sum of its processes' limits, whatever
		// each one's --max-in-flight and however many there are.
		MaxAckPending: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver:    -1,
	}
	for attempt := 0; ; attempt++ {
		cons, err := s.js.Consumer(ctx, u.Name, u.Group)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = s.js.CreateConsumer(ctx, u.Name, want)
			if errors.Is(err, jetstream.ErrConsumerExists) && attempt == 0 {
				continue // another process created it meanwhile
			}
			if err != nil {
				return fmt.Errorf("create consumer %s: %w", u.Group, err)
			}
		} else if err != nil {
			return fmt.Errorf("consumer %s: %w", u.Group, err)
		}
		cfg := cons.CachedInfo().Config
		if cfg.DeliverSubject != "" {
			return fmt.Errorf("consumer %s is a push consumer; scriptd needs a pull consumer (delete it or name another durable)", u.Group)
		}
		if cfg.AckPolicy != jetstream.AckExplicitPolicy {
			return fmt.Errorf("consumer %s acknowledges with policy %v; scriptd needs explicit acks (delete it or name another durable)", u.Group, cfg.AckPolicy)
		}
		if cfg.AckWait != want.AckWait {
			cfg.AckWait = want.AckWait
			if upd, err := s.js.UpdateConsumer(ctx, u.Name, cfg); err != nil {
				s.warn(fmt.Sprintf("could not set consumer %s's ack_wait to %v: %v", u.Group, want.AckWait, err))
			} else {
				cons = upd
				cfg = upd.CachedInfo().Config
			}
		}
		if cfg.MaxAckPending > 0 && cfg.MaxAckPending < s.opts.MaxInFlight && !s.warnedAckPending {
			s.warnedAckPending = true
			s.warn(fmt.Sprintf("consumer %s has max_ack_pending %d: the whole group holds at most that many unacknowledged records, fewer than this process's --max-in-flight %d (scriptd creates consumers without that limit and leaves an existing consumer's as it is)", u.Group, cfg.MaxAckPending, s.opts.MaxInFlight))
		}
		s.mu.Lock()
		s.cons = cons
		s.mu.Unlock()
		return nil
	}
}

func (s *natsSource) consumer() jetstream.Consumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cons
}

func (s *natsSource) Run(ctx context.Context, out chan<- []input.Event) error {
	if err := s.start(out); err != nil {
		return err
	}
	defer s.bad.flush(s.warn)
	statsDone := make(chan struct{})
	statsCtx, stopStats := context.WithCancel(ctx)
	go func() { defer close(statsDone); s.pollStats(statsCtx, s.readStats) }()
	defer func() { stopStats(); <-statsDone }()

	p := newPipeline[uint64, jetstream.Msg](s.opts.MaxInFlight, s.opts.BatchSize)
	defer func() {
		for _, d := range p.rest() {
			s.giveBack(d)
		}
	}()
	handler := func(m jetstream.Msg) {
		seq, delivered, ok := ackSubjectInfo(m.Reply())
		if !ok {
			md, err := m.Metadata()
			if err != nil {
				s.warn(fmt.Sprintf("message on %s is not a JetStream message: %v", m.Subject(), err))
				return
			}
			seq, delivered = md.Sequence.Stream, md.NumDelivered
		}
		if s.t.waitRoom(ctx) != nil {
			_ = m.Nak()
			return
		}
		d := s.t.track(seq, m)
		if delivered > 1 {
			s.redeliv.Add(1)
		}
		if ctx.Err() != nil {
			s.giveBack(d)
			return
		}
		p.in.push(item[uint64, jetstream.Msg]{d: d, body: m.Data()})
	}
	for attempt := 0; ; attempt++ {
		cc, err := s.consumer().Consume(handler,
			jetstream.PullMaxMessages(s.prefetch()),
			jetstream.PullExpiry(pullExpiry),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if ctx.Err() == nil && !s.closed.Load() && !errors.Is(err, jetstream.ErrNoHeartbeat) {
					s.warn(err.Error())
				}
			}))
		if err == nil {
			attempt = -1
			p.pump(ctx, &s.common, out, cc.Closed(), s.eventOf)
			if ctx.Err() != nil {
				// Stop pulling; what the client had buffered reaches the
				// callback, which gives it back, as is what waits here.
				s.stopped.Store(time.Now().UnixNano())
				cc.Drain()
				select {
				case <-cc.Closed():
				case <-time.After(2 * time.Second):
					cc.Stop()
				}
				// What waits in p is given back on the way out.
				return ctx.Err()
			}
			s.warn("consuming ended (was the consumer or the stream deleted?); setting it up again")
		} else {
			s.warn(fmt.Sprintf("cannot consume: %v; retrying with backoff", err))
		}
		if !sleep(ctx, backoff(max(attempt, 0))) {
			return ctx.Err()
		}
		ectx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
		if err := s.ensure(ectx); err != nil && ctx.Err() == nil {
			s.warn(err.Error())
		}
		cancel()
	}
}

// prefetch is how many messages Consume keeps pulled ahead of the
// callback: enough that the server streams without waiting for the next
// pull request, and never more than the records this process may hold.
func (s *natsSource) prefetch() int {
	return min(max(4*s.opts.BatchSize, 1024), s.opts.MaxInFlight)
}

// eventOf turns a parsed message into an event; a bad record is reported
// (STREAM:SEQUENCE) and acknowledged at once: it is never redelivered.
func (s *natsSource) eventOf(it *item[uint64, jetstream.Msg]) (input.Event, bool) {
	var ev input.Event
	d := it.d
	err := it.err
	if err == nil {
		ev, err = input.NewEvent(s.spec, it.rec)
	}
	if err != nil {
		s.skipped.Add(1)
		s.bad.report(s.label, int(d.key), err, s.warn)
		d.ack()
		return ev, false
	}
	ev.File, ev.Line, ev.Ack = s.label, int(d.key), d.ack
	ev.Release = func() { s.giveBack(d) }
	return ev, true
}

// ackSubjectInfo reads a JetStream message's stream sequence and delivery
// count from its reply subject without allocating, as Metadata does:
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>,
// or, from newer servers, $JS.ACK.<domain>.<account hash>.<stream>...
// with a token more at the end. ok is false for anything else.
func ackSubjectInfo(reply string) (seq, delivered uint64, ok bool) {
	const prefix = "$JS.ACK."
	if !strings.HasPrefix(reply, prefix) {
		return 0, 0, false
	}
	tokens := strings.Count(reply, ".") + 1
	var at int // the index of <delivered>
	switch {
	case tokens == 9:
		at = 4
	case tokens >= 11:
		at = 6
	default:
		return 0, 0, false
	}
	rest := reply
	for range at {
		_, rest, _ = strings.Cut(rest, ".")
	}
	d, rest, _ := strings.Cut(rest, ".")
	sq, _, _ := strings.Cut(rest, ".")
	delivered, ok1 := parseUint(d)
	seq, ok2 := parseUint(sq)
	return seq, delivered, ok1 && ok2 && seq > 0
}

func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// giveBack returns a delivered message that no handler will see to the
// stream at once (Nak: redelivered now, rather than after AckWait).
func (s *natsSource) giveBack(d *delivery[uint64, jetstream.Msg]) {
	if d.drop() {
		s.nak(d.msg)
	}
}

// nak gives a message back for redelivery, delayed until this process's
// last pull request has expired (see pullExpiry).
func (s *natsSource) nak(m jetstream.Msg) {
	if at := s.stopped.Load(); at != 0 {
		if wait := pullExpiry + 200*time.Millisecond - time.Since(time.Unix(0, at)); wait > 0 {
			_ = m.NakWithDelay(wait)
			return
		}
	}
	_ = m.Nak()
}

// acker publishes queued acknowledgements until Close, and keeps the
// records held long alive (see progress).
func (s *natsSource) acker() {
	defer close(s.ackDone)
	tick := time.NewTicker(progressEvery(s.url.RedeliverAfter))
	defer tick.Stop()
	for {
		select {
		case <-s.t.wake:
			s.sendAcks()
		case <-tick.C:
			s.sendAcks()
			s.progress()
		case <-s.ackStop:
			return
		}
	}
}

// progress sends "in progress" (+WPI) for every record this process has
// held for about half the redelivery time or more since its delivery or
// its last "in progress" (see lookout), which restarts the server's
// AckWait: a record whose handlers are slow (an await of a slow service, a
// long timer) is not redelivered to another process while this one still
// handles it.
func (s *natsSource) progress() {
	for _, d := range s.looks.due(s.t) {
		if err := d.msg.InProgress(); err == nil {
			s.inProgress.Add(1)
		}
	}
}

// sendAcks publishes the queued acknowledgements. A publish fails only
// when the connection is closed or, while reconnecting, the client's
// buffer is full: then the rest waits for the next attempt.
func (s *natsSource) sendAcks() bool {
	ms := s.t.take(0)
	for i, m := range ms {
		if err := m.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			s.t.requeue(ms[i:])
			select {
			case s.t.wake <- struct{}{}:
			default:
			}
			time.Sleep(50 * time.Millisecond)
			return false
		}
		s.t.acked.Add(1)
	}
	return true
}

// readStats reads the consumer's lag and pending counts (pollStats).
func (s *natsSource) readStats(ctx context.Context) (lag, pending int64, err error) {
	info, err := s.consumer().Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return int64(info.NumPending), int64(info.NumAckPending), nil
}

func (s *natsSource) Stats() input.Stats {
	return s.stats(s.t.acked.Load(), s.t.unacked.Load())
}

func (s *natsSource) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.ackStop)
	<-s.ackDone
	for s.t.queued() > 0 && ctx.Err() == nil {
		s.sendAcks()
	}
	unsent := s.t.queued()
	if s.stopped.Load() == 0 {
		s.stopped.Store(time.Now().UnixNano()) // Run never ran, or failed
	}
	for _, m := range s.t.release() {
		s.nak(m)
	}
	var err error
	if ferr := s.nc.FlushWithContext(ctx); ferr != nil || unsent > 0 {
		err = fmt.Errorf("close input %s: %d acknowledgement(s) could not be sent and others may not have reached the server (%v); their records will be redelivered", s.label, unsent, ferr)
	}
	s.nc.Close()
	return err
}
