package stream

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkIntake measures records/s from a stream through a Source to a
// receiver that acknowledges each record at once (no engine).
func BenchmarkIntake(b *testing.B) {
	for _, kind := range []string{"nats", "redis"} {
		b.Run(kind, func(b *testing.B) {
			const n = 200000
			var f feed
			if kind == "nats" {
				f = newNATSFeed(b)
			} else {
				f = newRedisFeed(b, false)
			}
			body := make([]string, n)
			for i := range body {
				body[i] = fmt.Sprintf(`{"_path":"dns","ts":1521900000.5,"uid":"C%06d","id.orig_h":"10.0.0.1","id.orig_p":53,"query":"host%d.example.com","qtype_name":"A","rcode_name":"NOERROR","answers":["1.2.3.4"],"TTLs":[60.0]}`, i, i)
			}
			for i := 0; i < n; i += 10000 {
				f.publish(b, body[i:i+10000]...)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				r := run(b, f.url(fmt.Sprintf("g%d", i), ""), Options{})
				got := 0
				for got < n {
					batch := <-r.out
					for _, ev := range batch {
						ev.Ack()
					}
					got += len(batch)
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
				r.stop(b)
			}
		})
	}
}
