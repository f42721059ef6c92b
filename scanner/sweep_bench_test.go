package scanner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/internal/hostiletest"
)

// BenchmarkSweepLoopback16 sweeps 127.1.0.0/16 (65,536 addresses, --lab) in CONNECT mode with
// listeners on 256 random addresses, and reports the achieved probe rate and the recall
// (listeners found / listeners). `make bench` runs it once per rate.
func BenchmarkSweepLoopback16(b *testing.B) {
	const port = 28789
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[netip.AddrPort]bool{}
	for len(want) < 256 {
		a := netip.AddrFrom4([4]byte{127, 1, byte(rng.IntN(256)), byte(rng.IntN(256))})
		ap := netip.AddrPortFrom(a, port)
		if want[ap] {
			continue
		}
		ln, err := net.Listen("tcp", ap.String())
		if err != nil {
			b.Skipf("cannot listen on %s: %v", ap, err)
		}
		go hostiletest.Serve(ln, func(net.Conn) {}) // accepted, then closed
		b.Cleanup(func() { ln.Close() })
		want[ap] = true
	}
	scope, _ := ParseScope("127.0.0.0/8")
	for _, rate := range []int{5000, 20000, 50000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for range b.N {
				sw, err := New(Config{Rate: rate, Method: MethodConnect, Retries: 0, Timeout: time.Second, Blocklist: NewBlocklist(true), Scope: scope})
				if err != nil {
					b.Fatal(err)
				}
				plan := &Plan{Specs: []string{"127.1.0.0/16"}, Blocklist: NewBlocklist(true), Ports: []uint16{port}, Seed: 1}
				open := make(chan Open, 1024)
				found := 0
				done := make(chan struct{})
				go func() {
					for o := range open {
						if want[o.AddrPort] {
							found++
						}
					}
					close(done)
				}()
				start := time.Now()
				if err := sw.Sweep(context.Background(), plan, open); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				close(open)
				<-done
				st := sw.Stats()
				sw.Close()
				b.ReportMetric(float64(st.Sent)/elapsed.Seconds(), "probes/s")
				b.ReportMetric(float64(found)/float64(len(want)), "recall")
				b.ReportMetric(elapsed.Seconds(), "s/sweep")
			}
		})
	}
}
