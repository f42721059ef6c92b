package fingerprint_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// BenchmarkFingerprint measures hosts fingerprinted per second against replays on 127.0.0.1:
// a full gateway (every gated probe) and a non-gateway (one GET).
func BenchmarkFingerprint(b *testing.B) {
	for _, name := range []string{"gateways/openclaw-2026.9.6-token", "negatives/nginx-default"} {
		b.Run(name[strings.Index(name, "/")+1:], func(b *testing.B) {
			fs, err := fixture.Load("testdata/" + name[:strings.Index(name, "/")])
			if err != nil {
				b.Fatal(err)
			}
			var fx *fixture.Fixture
			for _, f := range fs {
				if strings.HasSuffix(name, f.Name) {
					fx = f
				}
			}
			srv := httptest.NewServer(fx)
			defer srv.Close()
			addr := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
			fp := newBenchFingerprinter(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					fp.Fingerprint(context.Background(), addr)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hosts/s")
		})
	}
}
