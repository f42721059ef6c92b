package store

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIngest writes observations in the worker's batch size and reports observations per
// second on each backend (Postgres with TEST_DATABASE_URL, as make bench sets it).
//
//	go test -run '^$' -bench Ingest -benchtime 200000x ./store/
func BenchmarkIngest(b *testing.B) {
	for name, open := range backends(b) {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			run := &Run{StartedAt: time.Now(), Targets: "bench", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "bench", Method: "connect"}
			if err := st.StartRun(ctx, run); err != nil {
				b.Fatal(err)
			}
			batch := envInt("INGEST_BATCH", 500)
			obs := make([]Observation, batch)
			yes := true
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += batch {
				for j := range obs {
					n := uint32(i + j)
					obs[j] = Observation{IP: netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), Port: 18789,
						Scheme: "http", Outcome: OutcomeOpenClaw, Product: "openclaw", Version: "2026.9.6", Auth: "none",
						Official: &yes, Flags: []string{"plaintext-http"}, MIIT: []string{"internet-exposure"},
						Evidence: []string{"marker title"}, HTTPStatus: 200, ObservedAt: start}
				}
				if err := st.AddObservations(ctx, run.ID, obs[:min(batch, b.N-i)]); err != nil {
					b.Fatal(err)
				}
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
