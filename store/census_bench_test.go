package store

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// generateCensus fills st with runs complete runs of perRun observations each, cut into units
// of unitSize, as workers would leave them: a realistic mix (1.5% gateways across versions,
// auth postures, flags, countries and networks). It is the generator behind the report and
// trend benchmarks.
func generateCensus(tb testing.TB, st Store, runs, perRun, unitSize int) {
	ctx := context.Background()
	yes, no := true, false
	versions := []string{"2026.1.29", "2026.2.26", "2026.3.8", "2026.4.15", "2026.6.10", "2026.8.2", "2026.9.6", ""}
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for r := range runs {
		units := (perRun + unitSize - 1) / unitSize
		run := &Run{StartedAt: start.Add(time.Duration(r) * 24 * time.Hour), Targets: "127.0.0.0/8", Ports: "18789", Rate: 100000,
			Seed: int64(r), Shard: "0/1", ToolVersion: "bench", Method: "syn", UnitsTotal: int64(units)}
		if err := st.StartRun(ctx, run); err != nil {
			tb.Fatal(err)
		}
		for u := range units {
			n := min(unitSize, perRun-u*unitSize)
			obs := make([]observation.Observation, 0, n)
			for i := range n {
				k := uint32(u*unitSize + i)
				// Loopback addresses: 16.7M of them, and none is anyone's host.
				o := observation.Observation{IP: netip.AddrFrom4([4]byte{127, byte(k >> 16), byte(k >> 8), byte(k)}), Port: uint16(18789 + k>>24),
					Scheme: "http", Outcome: observation.NotOpenClaw, HTTPStatus: 200, Unit: int64(u), ObservedAt: run.StartedAt,
					Country: []string{"CN", "US", "DE", "SG", "KR"}[k%5], ASN: 64500 + k%40}
				if k%67 == 0 { // ~1.5% gateways
					o.Outcome, o.Product, o.Version = observation.OpenClaw, "openclaw", versions[(k/67+uint32(r))%uint32(len(versions))]
					o.Auth = []string{"none", "required", "unknown"}[k%3]
					o.Official = []*bool{&yes, &no, nil}[k%3]
					o.Flags = []string{"plaintext-http", []string{"bootstrap-config-leak", "host-terminal-enabled"}[k%2]}
					o.MIIT = []string{"internet-exposure", "outdated-version"}
				}
				obs = append(obs, o)
			}
			if _, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: int64(u), ProbesSent: int64(n) * 60, OpenPorts: int64(n),
				Worker: "gen", DoneAt: run.StartedAt.Add(time.Hour)}, obs); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkReport10M measures what report and trend read: every run's counts, on a census of
// 10 million observations across 60 runs (CENSUS_OBS and CENSUS_RUNS change the size). The
// store is generated once per backend (CENSUS_SQLITE names a file to keep between runs).
//
//	go test -run '^$' -bench Report10M -benchtime 5x -timeout 60m ./store/
func BenchmarkReport10M(b *testing.B) {
	total, runs := envInt("CENSUS_OBS", 10_000_000), envInt("CENSUS_RUNS", 60)
	for name, open := range backends(b) {
		if name == "postgres" && os.Getenv("TEST_DATABASE_URL") == "" {
			continue
		}
		// Opened here, for the whole benchmark: the testing package calls the function below
		// more than once (b.N = 1 first), and the census is generated once.
		var st Store
		if path := os.Getenv("CENSUS_SQLITE"); name == "sqlite" && path != "" {
			var err error
			if st, err = Open(context.Background(), path); err != nil {
				b.Fatal(err)
			}
			defer st.Close()
		} else {
			st = open(b)
		}
		b.Run(name, func(b *testing.B) {
			have, err := st.Runs(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if len(have) == 0 {
				t0 := time.Now()
				generateCensus(b, st, runs, total/runs, 4096)
				b.Logf("generated %d observations in %d runs in %s (%.0f obs/s)", total, runs, time.Since(t0).Round(time.Second),
					float64(total)/time.Since(t0).Seconds())
			}
			b.ResetTimer()
			for range b.N {
				sums, err := st.Summaries(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if len(sums) != runs || sums[0].Detected == 0 {
					b.Fatalf("%d runs, first detects %d", len(sums), sums[0].Detected)
				}
			}
		})
	}
}
