package scanner

import (
	"context"
	"testing"
	"time"

	pdrate "github.com/projectdiscovery/ratelimit"
	"golang.org/x/time/rate"
)

// BenchmarkPacing compares how evenly two limiters release 2,000 probes at 1,000/s: naabu's
// runner paces with projectdiscovery/ratelimit, the sweeper with x/time/rate (burst 1). It
// reports the most probes released in any 10 ms window (an even pace releases 10).
func BenchmarkPacing(b *testing.B) {
	const n, pps = 2000, 1000
	measure := func(b *testing.B, take func()) {
		for range b.N {
			stamps := make([]time.Time, 0, n)
			for range n {
				take()
				stamps = append(stamps, time.Now())
			}
			worst, j := 0, 0
			for i := range stamps {
				for stamps[i].Sub(stamps[j]) >= 10*time.Millisecond {
					j++
				}
				worst = max(worst, i-j+1)
			}
			b.ReportMetric(float64(worst), "max-per-10ms")
			b.ReportMetric(float64(n)/stamps[n-1].Sub(stamps[0]).Seconds(), "probes/s")
		}
	}
	b.Run("naabu-runner-ratelimit", func(b *testing.B) {
		l := pdrate.New(context.Background(), pps, time.Second)
		defer l.Stop()
		measure(b, l.Take)
	})
	b.Run("x-time-rate-burst1", func(b *testing.B) {
		l := rate.NewLimiter(pps, 1)
		measure(b, func() { l.Wait(context.Background()) })
	})
}
