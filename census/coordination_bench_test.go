package census

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCoordination measures what cutting a sweep into units costs a worker: the same
// CONNECT sweep of a loopback /16 (65,536 probes at 20,000/s, closed ports answering RST) as
// one unit and as 8, 32 and 128 units, each unit leased through River, its done mark and
// counts committed. It reports achieved probes per second; the overhead is the drop against
// the one-unit row.
//
//	go test -run '^$' -bench Coordination -benchtime 1x ./census/
func BenchmarkCoordination(b *testing.B) {
	const rate = 20000
	for _, units := range []uint64{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("units=%d", units), func(b *testing.B) {
			for range b.N {
				ctx := context.Background()
				dir := b.TempDir()
				c, err := Open(ctx, filepath.Join(dir, "c.db"))
				if err != nil {
					b.Fatal(err)
				}
				seed := int64(1)
				p, err := NewPlan(PlanConfig{Targets: []string{"127.1.0.0/16"}, Ports: []uint16{9}, Seed: &seed, Lab: true,
					Scope: "127.0.0.0/8", Rate: rate, Method: "connect", Timeout: time.Second, UnitSize: 65536 / units})
				if err != nil {
					b.Fatal(err)
				}
				run, _, err := c.Start(ctx, p, RunInfo{}, nil, Local(0))
				if err != nil {
					b.Fatal(err)
				}
				q := LocalQueue(run.ID, 0)
				st := &Stats{}
				start := time.Now()
				if err := c.Work(ctx, WorkerConfig{Queue: q, Run: run.ID, Spool: filepath.Join(dir, "spool"), Stats: st}); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				c.Close()
				if st.UnitsDone.Load() != int64(units) || st.Sent.Load() < 65536 {
					b.Fatalf("%d units done, %d probes", st.UnitsDone.Load(), st.Sent.Load())
				}
				b.ReportMetric(float64(st.Sent.Load())/elapsed.Seconds(), "probes/s")
			}
		})
	}
}
