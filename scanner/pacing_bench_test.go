package scanner

import (
	"context"
	"fmt"
	"testing"
	"time"

	pdrate "github.com/projectdiscovery/ratelimit"
)

// BenchmarkPacing compares how evenly two limiters release probes: naabu's runner paces with
// projectdiscovery/ratelimit, the sweeper with newPacer (x/time/rate, 2 ms bucket). It reports
// the most probes released in any 10 ms window (an even pace releases pps/100) and the rate a
// single sequential sender achieves.
func BenchmarkPacing(b *testing.B) {
	for _, pps := range []int{1000, 20000} {
		n := 2 * pps
		b.Run(fmt.Sprint(pps), func(b *testing.B) { benchPacing(b, n, pps) })
	}
}

func benchPacing(b *testing.B, n, pps int) {
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
		l := pdrate.New(context.Background(), uint(pps), time.Second)
		defer l.Stop()
		measure(b, l.Take)
	})
	b.Run("newPacer", func(b *testing.B) {
		l := newPacer(pps)
		measure(b, func() { l.Wait(context.Background()) })
	})
}
