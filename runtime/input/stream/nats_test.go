package stream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/runtime/input"
)

func TestAckSubjectInfo(t *testing.T) {
	for _, c := range []struct {
		reply          string
		seq, delivered uint64
		ok             bool
	}{
		{"$JS.ACK.ZEEK.g.1.42.7.1700000000000000000.3", 42, 1, true},
		{"$JS.ACK.ZEEK.g.3.42.9.1700000000000000000.0", 42, 3, true},
		{"$JS.ACK._.HASH.ZEEK.g.2.1234.8.1700000000000000000.5.RaNdOm", 1234, 2, true},
		{"$JS.ACK.hub.HASH.ZEEK.g.1.5.5.1700000000000000000.0", 5, 1, true}, // 11 tokens
		{"$JS.ACK.ZEEK.g.1.x.7.1700000000000000000.3", 0, 0, false},
		{"$JS.ACK.ZEEK.g.1.0.7.1700000000000000000.3", 0, 0, false},
		{"$JS.ACK.ZEEK.g.1.42.7", 0, 0, false},
		{"_INBOX.abc", 0, 0, false},
		{"", 0, 0, false},
	} {
		seq, delivered, ok := ackSubjectInfo(c.reply)
		if ok != c.ok || (ok && (seq != c.seq || delivered != c.delivered)) {
			t.Errorf("ackSubjectInfo(%q) = %d, %d, %v; want %d, %d, %v", c.reply, seq, delivered, ok, c.seq, c.delivered, c.ok)
		}
	}
}

// The consumer scriptd creates has no group-wide MaxAckPending (each
// process bounds what it holds); processes with different --max-in-flight
// do not overwrite each other's setting, and an existing consumer's
// MaxAckPending is left as it is, with a warning when it is below the
// process's MaxInFlight.
func TestNATSMaxAckPending(t *testing.T) {
	f := newNATSFeed(t)
	f.publish(t, records(0, 10)...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	maxAckPending := func(group string) int {
		c, err := f.js.Consumer(ctx, f.name, group)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().Config.MaxAckPending
	}
	a := run(t, f.url("g", ""), Options{MaxInFlight: 100})
	b := run(t, f.url("g", ""), Options{MaxInFlight: 7})
	if m := maxAckPending("g"); m != -1 {
		t.Errorf("MaxAckPending %d after two processes started, want -1 (none)", m)
	}
	a.stop(t)
	b.stop(t)

	// An operator's consumer with a limit of its own.
	if _, err := f.js.CreateConsumer(ctx, f.name, jetstream.ConsumerConfig{Durable: "ops", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 5, AckWait: time.Minute}); err != nil {
		t.Fatal(err)
	}
	r := run(t, f.url("ops", "&redeliver_after=20s"), Options{MaxInFlight: 50})
	evs := r.take(t, 5, 10*time.Second)
	r.quiet(t, 300*time.Millisecond) // the server holds the rest back
	if m := maxAckPending("ops"); m != 5 {
		t.Errorf("MaxAckPending %d, want the operator's 5 left as it was", m)
	}
	c, _ := f.js.Consumer(ctx, f.name, "ops")
	if w := c.CachedInfo().Config.AckWait; w != 20*time.Second {
		t.Errorf("AckWait %v, want redeliver_after 20s", w)
	}
	r.mu.Lock()
	warned := strings.Contains(strings.Join(r.warn, "\n"), "max_ack_pending 5")
	r.mu.Unlock()
	if !warned {
		t.Errorf("no warning about the consumer's max_ack_pending 5 below --max-in-flight 50: %q", r.warn)
	}
	for _, ev := range evs {
		ev.Ack()
	}
	r.take(t, 5, 10*time.Second)
}

// A record held past half of redeliver_after gets "in progress", so the
// server does not redeliver it while this process still has it.
func TestNATSInProgress(t *testing.T) {
	f := newNATSFeed(t)
	f.publish(t, records(0, 3)...)
	r := run(t, f.url("g", "&redeliver_after=1s"), Options{})
	evs := r.take(t, 3, 10*time.Second)
	r.quiet(t, 3*time.Second) // three redelivery times
	if s := r.src.Stats(); s.Redelivered != 0 {
		t.Errorf("redelivered %d", s.Redelivered)
	}
	if n := r.src.(*natsSource).inProgress.Load(); n < 3*2 {
		t.Errorf("%d in-progress acks sent in 3 s for 3 records, want at least 6", n)
	}
	for _, ev := range evs {
		ev.Ack()
	}
	waitAcknowledged(t, f, "g", 5*time.Second)
}

// tls=true connects with TLS: verified against tls_ca_file (a server
// whose certificate another CA signed is refused), with a client
// certificate for a server that verifies clients.
func TestNATSTLS(t *testing.T) {
	p := testutil.NewPKI(t)
	srv := testutil.StartNATS(t, "--tls", "--tlscert", p.ServerCert, "--tlskey", p.ServerKey, "--tlsverify", "--tlscacert", p.CA)
	base := "nats://" + srv.Addr() + "/ZEEK?durable=g&redeliver_after=5s"
	withCA := base + "&tls=true&tls_ca_file=" + p.CA
	client := "&tls_cert_file=" + p.ClientCert + "&tls_key_file=" + p.ClientKey
	for _, bad := range []struct{ url, want string }{
		{base, ""},   // plain TCP to a TLS server
		{withCA, ""}, // no client certificate
		{base + "&tls=1&tls_ca_file=" + p.OtherCA + client, "certificate"}, // unknown authority
		{withCA + client + "&tls_server_name=nats.example", "certificate"}, // wrong name
	} {
		sp, _ := input.ParseSpec(bad.url)
		src, err := Open(sp, Options{DialTimeout: 2 * time.Second})
		switch {
		case err == nil:
			src.Close(context.Background())
			t.Errorf("Open(%s) connected", bad.url)
		case !strings.Contains(err.Error(), bad.want):
			t.Errorf("Open(%s): %v, want an error about %q", bad.url, err, bad.want)
		default:
			t.Logf("refused: %v", err)
		}
	}

	r := run(t, withCA+client, Options{})
	nc, err := nats.Connect("tls://"+srv.Addr(), nats.RootCAs(p.CA), nats.ClientCert(p.ClientCert, p.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range records(0, 20) {
		if _, err := js.Publish(ctx, "ZEEK", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	evs := r.take(t, 20, 10*time.Second)
	for _, ev := range evs {
		ev.Ack()
	}
	testutil.Eventually(t, 5*time.Second, "every record acknowledged", func() bool {
		c, err := js.Consumer(ctx, "ZEEK", "g")
		if err != nil {
			return false
		}
		i := c.CachedInfo()
		return i.NumAckPending == 0 && i.NumPending == 0
	})
}
