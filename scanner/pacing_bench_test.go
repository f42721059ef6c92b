package scanner

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPacing measures how evenly the pacer releases probes, with no sending: as sweepSYN
// uses it (no sleep below pacerSlack, the batch is sent first) and as the CONNECT sweep waits
// for each turn (pacer.wait). It reports the most probes released in any 10 ms
// window (an even pace releases pps/100) and the achieved rate; the pacer must never be what
// limits a sweep.
//
//	go test -run '^$' -bench Pacing -benchtime 1x ./scanner/
func BenchmarkPacing(b *testing.B) {
	for _, pps := range []int{1000, 100_000, 1_000_000} {
		n := max(2000, pps/2)
		b.Run(fmt.Sprintf("syn-pacer/%d", pps), func(b *testing.B) {
			measurePacing(b, n, func() func() {
				p := newPacer(pps)
				return func() {
					if d := p.next(); d > pacerSlack {
						time.Sleep(d)
					}
				}
			})
		})
		if pps <= 100_000 {
			b.Run(fmt.Sprintf("connect-pacer/%d", pps), func(b *testing.B) {
				measurePacing(b, n, func() func() {
					p := newPacer(pps)
					return func() { p.wait(context.Background()) }
				})
			})
		}
	}
}

func measurePacing(b *testing.B, n int, start func() func()) {
	for range b.N {
		take := start()
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
