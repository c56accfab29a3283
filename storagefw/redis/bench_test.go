package redis

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// The workload of every benchmark: 50% SET, 50% GET (alternating) over
// benchKeys keys, with the framework's serialized keys and values (a
// 40-byte value). One op = one command.
const benchKeys = 10_000

type benchData struct {
	keys  [][]byte
	value []byte
}

func newBenchData() benchData {
	d := benchData{value: storagetest.Ser(strings.Repeat("v", 30))}
	for i := range benchKeys {
		d.keys = append(d.keys, storagetest.Ser(fmt.Sprintf("key:%d", i)))
	}
	return d
}

// BenchmarkAsync drives the backend through Submit, one op per Submit call
// (as the event loop does), keeping at most N ops in flight.
func BenchmarkAsync(b *testing.B) {
	for _, mode := range []string{"live", "replay"} {
		for _, inflight := range []int{1, 64, 1000} {
			name := fmt.Sprintf("inflight=%d", inflight)
			if mode == "replay" {
				name = "replay/" + name
			}
			b.Run(name, func(b *testing.B) {
				srv := startServer(b)
				clock := wallNow
				if mode == "replay" {
					clock = storagetest.NewClock(storagetest.StartTime).Now
				}
				be := openTest(b, storagefw.OpenConfig{Options: srv.options("bench"), Clock: clock})
				benchSubmit(b, be, clock(), inflight)
			})
		}
	}
}

func benchSubmit(b *testing.B, be storagefw.Backend, now float64, inflight int) {
	d := newBenchData()
	sem := make(chan struct{}, inflight)
	var failures atomic.Int64
	var firstErr atomic.Value
	done := func(r storagefw.Reply) {
		if r.Code != storagefw.Success && r.Code != storagefw.KeyNotFound {
			if failures.Add(1) == 1 {
				firstErr.Store(fmt.Sprintf("%s: %s", r.Code, r.Error))
			}
		}
		<-sem
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		k := d.keys[i%benchKeys]
		var op *storagefw.Request
		if i%2 == 0 {
			op = storagefw.NewRequest(storagefw.PutRequest, done)
			op.Value, op.Overwrite = d.value, true
		} else {
			op = storagefw.NewRequest(storagefw.GetRequest, done)
		}
		op.Key, op.Now = k, now
		be.Submit(op)
	}
	for range inflight {
		sem <- struct{}{}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d ops failed, first: %v", n, firstErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkCommand measures building the commands (rueidis's builder, no
// server, no socket): one op is one request, cycling through the commands
// of live and replay mode.
func BenchmarkCommand(b *testing.B) {
	d := newBenchData()
	be := offlineBackend(b, "bench")
	op := storagefw.NewRequest(storagefw.PutRequest, nil)
	op.Key, op.Value = d.keys[1234], d.value
	reqs := []*req{
		{op: op, kind: cmdSet, expireAt: 1700000010.25},
		{op: op, kind: cmdGet},
		{op: op, kind: cmdPutReplay, expireAt: 1700000010.25},
		{op: op, kind: cmdPutNX, expireAt: 1700000010.25, now: 1700000000.5},
		{op: op, kind: cmdGetReplay},
		{op: op, kind: cmdEraseReplay},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cmd := be.command(reqs[i%len(reqs)])
		_ = cmd.Commands()
	}
}

// BenchmarkGoRedis64Goroutines is the baseline: plain go-redis Set/Get from
// 64 goroutines (one pooled connection each), same workload.
func BenchmarkGoRedis64Goroutines(b *testing.B) {
	srv := startServer(b)
	rc := srv.client(func(o *goredis.Options) { o.PoolSize = 64 })
	d := newBenchData()
	ctx := context.Background()
	var seq atomic.Int64
	var failures atomic.Int64
	// RunParallel starts parallelism*GOMAXPROCS goroutines.
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			k := d.keys[i%benchKeys]
			var err error
			if i%2 == 0 {
				err = rc.Set(ctx, string(k), d.value, 0).Err()
			} else {
				err = rc.Get(ctx, string(k)).Err()
				if err == goredis.Nil {
					err = nil
				}
			}
			if err != nil {
				failures.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d commands failed", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkGoRedisPipeline100 is the pipelining baseline: one goroutine,
// go-redis Pipeline with 100 commands per Exec, same workload.
func BenchmarkGoRedisPipeline100(b *testing.B) {
	srv := startServer(b)
	rc := srv.client()
	d := newBenchData()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; {
		pipe := rc.Pipeline()
		for j := 0; j < 100 && i < b.N; j, i = j+1, i+1 {
			k := string(d.keys[i%benchKeys])
			if i%2 == 0 {
				pipe.Set(ctx, k, d.value, 0)
			} else {
				pipe.Get(ctx, k)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != goredis.Nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkGoRedisSerial is the latency baseline for inflight=1: one
// goroutine, one go-redis command at a time, same workload.
func BenchmarkGoRedisSerial(b *testing.B) {
	srv := startServer(b)
	rc := srv.client()
	d := newBenchData()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		k := string(d.keys[i%benchKeys])
		var err error
		if i%2 == 0 {
			err = rc.Set(ctx, k, d.value, 0).Err()
		} else if err = rc.Get(ctx, k).Err(); err == goredis.Nil {
			err = nil
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// BenchmarkRueidis64Goroutines is rueidis used the usual way, auto-pipelining
// Do from 64 goroutines over one connection, same workload: the client the
// Backend drives through its dispatcher instead (see the package
// documentation for why).
func BenchmarkRueidis64Goroutines(b *testing.B) {
	srv := startServer(b)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.addr()}, DisableCache: true, ForceSingleClient: true,
		PipelineMultiplex: -1, AlwaysRESP2: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	d := newBenchData()
	ctx := context.Background()
	var seq, failures atomic.Int64
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			k := rueidis.BinaryString(d.keys[i%benchKeys])
			var err error
			if i%2 == 0 {
				err = c.Do(ctx, c.B().Set().Key(k).Value(rueidis.BinaryString(d.value)).Build()).Error()
			} else if err = c.Do(ctx, c.B().Get().Key(k).Build()).Error(); rueidis.IsRedisNil(err) {
				err = nil
			}
			if err != nil {
				failures.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d commands failed", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}
