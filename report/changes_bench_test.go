package report

import (
	"net/netip"
	"testing"

	"github.com/clawcensus/clawcensus/observation"
)

// BenchmarkClassify compares two runs of 200,000 open ports each, 20,000 of them gateways
// (a large national census): a tenth of the gateways authenticate, a tenth are new.
func BenchmarkClassify(b *testing.B) {
	const ports, gateways = 200_000, 20_000
	addr := func(i int) string { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}).String() }
	var before, after []observation.Observation
	for i := range ports {
		ip := addr(i % 65536) // 198.18.0.0/16, on ports 18789 onwards
		a, z := answer(ip, observation.NotOpenClaw), answer(ip, observation.NotOpenClaw)
		if i < gateways {
			a = gateway(ip, observation.AuthNone)
		}
		switch {
		case i < gateways/10:
			z = gateway(ip, observation.AuthRequired)
		case i < gateways+gateways/10:
			z = gateway(ip, observation.AuthNone)
		}
		a.Port, z.Port = uint16(18789+i/65536), uint16(18789+i/65536)
		before, after = append(before, a), append(after, z)
	}
	all := func(netip.AddrPort) bool { return true }
	ex := changeExporter()
	b.ReportAllocs()
	for b.Loop() {
		if got := ex.Classify(ChangeInput{Before: before, After: after, Covered: all}); len(got) != gateways+gateways/10 {
			b.Fatalf("%d changes", len(got))
		}
	}
}
