package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scriptd/scriptd/runtime/input"
)

// natsSource reads a JetStream stream through a durable pull consumer
// shared by the group's processes: the consumer is named GROUP, acks are
// explicit, AckWait is the redelivery time and MaxAckPending is
// Options.MaxInFlight.
//
// The client library (nats.go) reconnects on its own, with backoff; its
// Consume re-issues pull requests after a reconnection. Messages are
// delivered to Consume's callback, which tracks them and passes them to
// Run's goroutine; Run parses them and sends batches. Acknowledgements are
// published by a goroutine of their own (Ack is called on the script
// loop, which must not wait on the network).
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
	nc, err := nats.Connect("nats://"+u.Addr, nopts...)
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

// ensure makes sure the stream and the durable consumer exist, creating
// them if need be, and tunes an existing consumer's AckWait and
// MaxAckPending to this process's settings.
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
		Durable:       u.Group,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       u.RedeliverAfter,
		MaxAckPending: s.opts.MaxInFlight,
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
		if cfg.AckWait != want.AckWait || cfg.MaxAckPending != want.MaxAckPending {
			cfg.AckWait, cfg.MaxAckPending = want.AckWait, want.MaxAckPending
			if upd, err := s.js.UpdateConsumer(ctx, u.Name, cfg); err != nil {
				s.warn(fmt.Sprintf("could not set consumer %s's ack_wait %v and max_ack_pending %d: %v", u.Group, want.AckWait, want.MaxAckPending, err))
			} else {
				cons = upd
			}
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

// natsItem is a delivered message on its way from Consume's callback to
// Run's goroutine.
type natsItem struct {
	d   *delivery[uint64, jetstream.Msg]
	seq uint64
}

func (s *natsSource) Run(ctx context.Context, out chan<- []input.Event) error {
	if err := s.start(out); err != nil {
		return err
	}
	defer s.bad.flush(s.warn)
	statsDone := make(chan struct{})
	statsCtx, stopStats := context.WithCancel(ctx)
	go func() { defer close(statsDone); s.pollStats(statsCtx) }()
	defer func() { stopStats(); <-statsDone }()

	msgs := make(chan natsItem, s.opts.BatchSize)
	prefetch := min(2*s.opts.BatchSize, s.opts.MaxInFlight)
	handler := func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			s.warn(fmt.Sprintf("message on %s is not a JetStream message: %v", m.Subject(), err))
			return
		}
		if s.t.waitRoom(ctx) != nil {
			_ = m.Nak()
			return
		}
		d := s.t.track(md.Sequence.Stream, m)
		if md.NumDelivered > 1 {
			s.redeliv.Add(1)
		}
		select {
		case msgs <- natsItem{d: d, seq: md.Sequence.Stream}:
		case <-ctx.Done():
			s.giveBack(d)
		}
	}
	for attempt := 0; ; attempt++ {
		cc, err := s.consumer().Consume(handler,
			jetstream.PullMaxMessages(prefetch),
			jetstream.PullExpiry(pullExpiry),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if ctx.Err() == nil && !s.closed.Load() && !errors.Is(err, jetstream.ErrNoHeartbeat) {
					s.warn(err.Error())
				}
			}))
		if err == nil {
			attempt = -1
			s.batches(ctx, msgs, out, cc.Closed())
			if ctx.Err() != nil {
				// Stop pulling; what the client had buffered reaches the
				// callback, which gives it back.
				s.stopped.Store(time.Now().UnixNano())
				cc.Drain()
				select {
				case <-cc.Closed():
				case <-time.After(2 * time.Second):
					cc.Stop()
				}
				for {
					select {
					case it := <-msgs:
						s.giveBack(it.d)
						continue
					default:
					}
					break
				}
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

// batches turns delivered messages into batches until ctx ends or the
// consume stops (closed).
func (s *natsSource) batches(ctx context.Context, msgs <-chan natsItem, out chan<- []input.Event, closed <-chan struct{}) {
	bs := s.opts.BatchSize
	for {
		var first natsItem
		select {
		case first = <-msgs:
		case <-closed:
			return
		case <-ctx.Done():
			return
		}
		batch := make([]input.Event, 0, bs)
		items := make([]natsItem, 0, bs)
		add := func(it natsItem) {
			ev, ok := s.event(it.d.msg.Data(), s.label, int(it.seq))
			if !ok {
				it.d.ack() // a bad record is acknowledged: never redelivered
				return
			}
			ev.Ack = it.d.ack
			batch = append(batch, ev)
			items = append(items, it)
		}
		add(first)
	fill:
		for len(batch) < bs {
			select {
			case it := <-msgs:
				add(it)
			default:
				break fill
			}
		}
		if !s.send(ctx, out, batch) {
			for _, it := range items {
				s.giveBack(it.d)
			}
			return
		}
	}
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

// acker publishes queued acknowledgements until Close.
func (s *natsSource) acker() {
	defer close(s.ackDone)
	for {
		select {
		case <-s.t.wake:
		case <-s.ackStop:
			return
		}
		s.sendAcks()
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

func (s *natsSource) pollStats(ctx context.Context) {
	tick := time.NewTicker(s.opts.StatsInterval)
	defer tick.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, s.opts.StatsInterval)
		info, err := s.consumer().Info(ictx)
		cancel()
		if err == nil {
			s.lag.Store(int64(info.NumPending))
			s.pending.Store(int64(info.NumAckPending))
		} else if ctx.Err() == nil {
			s.lag.Store(-1)
			s.pending.Store(-1)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
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
