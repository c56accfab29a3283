package redis

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/scriptd/scriptd/storagefw"
)

// protoDispatcher: one goroutine per handle, stop-and-wait DoMulti over rueidis.
type protoDispatcher struct {
	c     rueidis.Client
	mu    sync.Mutex
	queue []*storagefw.Request
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	comp  chan completion
}

func (d *protoDispatcher) Submit(ops ...*storagefw.Request) {
	d.mu.Lock()
	d.queue = append(d.queue, ops...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *protoDispatcher) loop() {
	defer close(d.done)
	var batch []*storagefw.Request
	var cmds rueidis.Commands
	for {
		d.mu.Lock()
		batch, d.queue = d.queue, batch[:0]
		d.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-d.wake:
				continue
			case <-d.stop:
				return
			}
		}
		cmds = cmds[:0]
		for _, op := range batch {
			k := "bench:" + rueidis.BinaryString(op.Key)
			if op.Kind == storagefw.PutRequest {
				cmds = append(cmds, d.c.B().Set().Key(k).Value(rueidis.BinaryString(op.Value)).Build())
			} else {
				cmds = append(cmds, d.c.B().Get().Key(k).Build())
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res := d.c.DoMulti(ctx, cmds...)
		cancel()
		if d.comp != nil {
			d.comp <- completion{batch, res}
			batch = nil
			continue
		}
		completeBatch(batch, res)
		clear(batch)
	}
}

type completion struct {
	batch []*storagefw.Request
	res   []rueidis.RedisResult
}

func (d *protoDispatcher) completer() {
	for c := range d.comp {
		completeBatch(c.batch, c.res)
	}
}

func completeBatch(batch []*storagefw.Request, res []rueidis.RedisResult) {
	{
		for i, op := range batch {
			r := res[i]
			if op.Kind == storagefw.PutRequest {
				if r.Error() != nil {
					op.Complete(storagefw.Reply{Code: storagefw.OperationFailed, Error: r.Error().Error()})
				} else {
					op.Complete(storagefw.Reply{Code: storagefw.Success})
				}
			} else {
				b, err := r.AsBytes()
				if rueidis.IsRedisNil(err) {
					op.Complete(storagefw.Reply{Code: storagefw.KeyNotFound})
				} else if err != nil {
					op.Complete(storagefw.Reply{Code: storagefw.OperationFailed, Error: err.Error()})
				} else {
					op.Complete(storagefw.Reply{Code: storagefw.Success, Value: b})
				}
			}
		}
	}
}

func (d *protoDispatcher) Close(context.Context) error {
	close(d.stop)
	<-d.done
	d.c.Close()
	return nil
}

func newRueidis(b *testing.B, addr string, mux int) rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, DisableRetry: true,
		AlwaysRESP2: true, PipelineMultiplex: mux, AlwaysPipelining: true, ForceSingleClient: true})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkProtoRueidisDispatcher(b *testing.B) {
	for _, inflight := range []int{1, 64, 1000} {
		for _, comp := range []bool{false, true} {
			b.Run(fmt.Sprintf("inflight=%d/completer=%v", inflight, comp), func(b *testing.B) {
				srv := startServer(b)
				d := &protoDispatcher{c: newRueidis(b, srv.addr(), -1), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
				if comp {
					d.comp = make(chan completion, 2)
					go d.completer()
				}
				go d.loop()
				defer d.Close(context.Background())
				benchSubmit(b, d, wallNow(), inflight)
			})
		}
	}
}

func BenchmarkProtoRueidis64Goroutines(b *testing.B) {
	for _, mux := range []int{-1, 2} {
		b.Run(fmt.Sprintf("mux=%d", mux), func(b *testing.B) {
			srv := startServer(b)
			c := newRueidis(b, srv.addr(), mux)
			defer c.Close()
			d := newBenchData()
			ctx := context.Background()
			var seq atomic.Int64
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((64 + procs - 1) / procs)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					k := string(d.keys[i%benchKeys])
					if i%2 == 0 {
						c.Do(ctx, c.B().Set().Key(k).Value(rueidis.BinaryString(d.value)).Build())
					} else {
						c.Do(ctx, c.B().Get().Key(k).Build())
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}
