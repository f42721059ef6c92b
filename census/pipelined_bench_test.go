package census

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPipelinedUnits: the same CONNECT sweep of 16,384 loopback addresses at 4,000 probes
// per second, 64 of them slow HTTP hosts (each answer takes 300 ms), worked by one worker as one
// unit and as 8 units. Units in turn waited for the slowest host of each unit before the next
// sweep began; pipelined, the next unit sweeps meanwhile, and 8 units take about as long as
// one. It reports the seconds the run took.
//
//	go test -run '^$' -bench PipelinedUnits -benchtime 1x ./census/
func BenchmarkPipelinedUnits(b *testing.B) {
	const probes = 16384
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Server", "nginx")
		fmt.Fprint(w, "<html><title>Welcome to nginx!</title></html>")
	}), ReadHeaderTimeout: 5 * time.Second}
	defer srv.Close()
	for i := range 64 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.2.%d.%d:%d", i, 1+i, port)) // one in each 256
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
	}
	for _, units := range []uint64{1, 8} {
		b.Run(fmt.Sprintf("units=%d", units), func(b *testing.B) {
			for range b.N {
				ctx := context.Background()
				dir := b.TempDir()
				c, err := Open(ctx, filepath.Join(dir, "c.db"))
				if err != nil {
					b.Fatal(err)
				}
				seed := int64(1)
				p, err := NewPlan(PlanConfig{Targets: []string{"127.2.0.0/18"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
					Scope: "127.0.0.0/8", Rate: 4000, Method: "connect", Timeout: time.Second, UnitSize: probes / units})
				if err != nil {
					b.Fatal(err)
				}
				run, _, err := c.Start(ctx, p, RunInfo{}, nil, Local(0))
				if err != nil {
					b.Fatal(err)
				}
				st := &Stats{}
				start := time.Now()
				if err := c.Work(ctx, WorkerConfig{Queue: LocalQueue(run.ID, 0), Run: run.ID, Spool: filepath.Join(dir, "spool"), Stats: st}); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				c.Close()
				if st.UnitsDone.Load() != int64(units) || st.Open.Load() != 64 {
					b.Fatalf("%d units done, %d open", st.UnitsDone.Load(), st.Open.Load())
				}
				b.ReportMetric(elapsed.Seconds(), "s")
			}
		})
	}
}
