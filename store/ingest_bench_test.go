package store

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/observation"
)

// BenchmarkIngest writes observations in the worker's batch size (INGEST_BATCH, 2000) from
// INGEST_WRITERS concurrent writers (2: workers write at once, each its own connection) into
// one run, and reports observations per second on each backend (Postgres with
// TEST_DATABASE_URL, as make bench sets it).
//
//	go test -run '^$' -bench Ingest -benchtime 400000x ./store/
func BenchmarkIngest(b *testing.B) {
	for name, open := range backends(b) {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			run := &Run{StartedAt: time.Now(), Targets: "bench", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "bench", Method: "connect"}
			if err := st.StartRun(ctx, run); err != nil {
				b.Fatal(err)
			}
			batch, writers := envInt("INGEST_BATCH", 2000), envInt("INGEST_WRITERS", 2)
			yes := true
			b.ResetTimer()
			start := time.Now()
			var g errgroup.Group
			for w := range writers {
				g.Go(func() error {
					obs := make([]observation.Observation, batch)
					// Writer w takes batches w, w+writers, …: disjoint addresses.
					for i := w * batch; i < b.N; i += writers * batch {
						n := min(batch, b.N-i)
						for j := range n {
							k := uint32(i + j)
							obs[j] = observation.Observation{IP: netip.AddrFrom4([4]byte{127, byte(k >> 16), byte(k >> 8), byte(k)}), Port: 18789,
								Scheme: "http", Outcome: observation.OpenClaw, Product: "openclaw", Version: "2026.9.6", Auth: "none",
								Official: &yes, Flags: []string{"plaintext-http"}, MIIT: []string{"internet-exposure"},
								Evidence: []string{"marker title"}, HTTPStatus: 200, ObservedAt: start}
						}
						if err := st.AddObservations(ctx, run.ID, obs[:n]); err != nil {
							return err
						}
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "obs/s")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
