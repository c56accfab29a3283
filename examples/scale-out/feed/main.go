// Command feed publishes JSON-lines records (Zeek JSON logs, .gz read
// transparently) to a stream that scriptd processes consume as a group:
//
//	go run ./examples/scale-out/feed nats://127.0.0.1:4222/ZEEK dns.json.gz
//	go run ./examples/scale-out/feed redis://127.0.0.1:6379/zeek dns.json.gz
//
// A NATS message's body is one record (published to subject STREAM, the
// subject scriptd gives a stream it creates; the stream is created here
// the same way if missing); a Redis Streams entry carries it in field
// "record" (XADD, pipelined). Blank lines are skipped; other lines are
// sent as they are, so bad records reach the consumers as bad records.
// It prints the number of records sent.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/scriptd/scriptd/internal/tlsconf"
	"github.com/scriptd/scriptd/runtime/input"
)

func main() {
	repeat := flag.Int("repeat", 1, "send the files this many times")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: feed [-repeat N] nats://HOST:PORT/STREAM|redis[s]://HOST:PORT/KEY FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(2)
	}
	// The URL's query (durable=, group=) is optional here: add a dummy
	// group so the consumers' URL can be pasted as is.
	raw := flag.Arg(0)
	u, err := input.ParseStreamURL(withGroup(raw))
	if err != nil {
		fail(err)
	}
	var send func([]byte) error
	var finish func() error
	switch u.Scheme {
	case "nats":
		send, finish, err = natsSender(u)
	case "redis":
		send, finish, err = redisSender(u)
	}
	if err != nil {
		fail(err)
	}
	n := 0
	for r := 0; r < *repeat; r++ {
		for _, path := range flag.Args()[1:] {
			k, err := eachLine(path, send)
			n += k
			if err != nil {
				fail(err)
			}
		}
	}
	if err := finish(); err != nil {
		fail(err)
	}
	fmt.Println("sent", n)
}

func withGroup(raw string) string {
	if bytes.Contains([]byte(raw), []byte("durable=")) || bytes.Contains([]byte(raw), []byte("group=")) {
		return raw
	}
	sep := "?"
	if bytes.ContainsRune([]byte(raw), '?') {
		sep = "&"
	}
	if len(raw) > 5 && raw[:5] == "nats:" {
		return raw + sep + "durable=feed"
	}
	return raw + sep + "group=feed"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "feed:", err)
	os.Exit(1)
}

// eachLine calls send with every non-blank line of path (gzip or not).
func eachLine(path string, send func([]byte) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := send(append([]byte(nil), line...)); err != nil {
			return n, err
		}
		n++
	}
	return n, sc.Err()
}

func natsSender(u *input.StreamURL) (func([]byte) error, func() error, error) {
	var opts []nats.Option
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, nats.UserInfo(u.User.Username(), pass))
	}
	nc, err := nats.Connect("nats://"+u.Addr, opts...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, u.Name); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: u.Name, Subjects: []string{u.Name}, Storage: jetstream.FileStorage})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	// Asynchronous publishes, at most 4,096 unconfirmed at a time.
	var futures []jetstream.PubAckFuture
	wait := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-time.After(30 * time.Second):
				return errors.New("no publish acknowledgement within 30s")
			}
		}
		futures = futures[:0]
		return nil
	}
	send := func(b []byte) error {
		f, err := js.PublishAsync(u.Name, b)
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures) >= 4096 {
			return wait()
		}
		return nil
	}
	finish := func() error {
		defer nc.Close()
		return wait()
	}
	return send, finish, nil
}

func redisSender(u *input.StreamURL) (func([]byte) error, func() error, error) {
	opts := &redis.Options{Addr: u.Addr, DB: u.DB}
	if u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	if t := u.TLS; t != nil { // rediss://, with the consumers' TLS options
		cfg, err := tlsconf.Files{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
			ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}.Client()
		if err != nil {
			return nil, nil, err
		}
		opts.TLSConfig = cfg
	}
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, nil, err
	}
	pipe := rdb.Pipeline()
	n := 0
	send := func(b []byte) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: u.Name, Values: []any{"record", b}})
		n++
		if n%1000 == 0 {
			_, err := pipe.Exec(ctx)
			return err
		}
		return nil
	}
	finish := func() error {
		defer rdb.Close()
		_, err := pipe.Exec(ctx)
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	}
	return send, finish, nil
}
