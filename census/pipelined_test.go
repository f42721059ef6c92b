package census

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// hangingListeners serves HTTP on port of 127.0.1.1 … 127.0.1.n, answering no request until
// release is called; it returns the expected ip:port set.
func hangingListeners(t *testing.T, n, port int) (map[string]bool, func()) {
	t.Helper()
	released := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-released:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Server", "nginx")
		fmt.Fprint(w, "<html><title>Welcome to nginx!</title></html>")
	}), ReadHeaderTimeout: 5 * time.Second}
	want := map[string]bool{}
	for i := 1; i <= n; i++ {
		addr := fmt.Sprintf("127.0.1.%d:%d", i, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		go srv.Serve(ln)
		want[addr] = true
	}
	var once bool
	release := func() {
		if !once {
			once = true
			close(released)
		}
	}
	t.Cleanup(func() { release(); srv.Close() })
	return want, release
}

// TestUnitsArePipelined: a worker sweeps its next unit while the previous unit's hosts are
// still being fingerprinted (before, units ran one after another, and the next sweep waited
// for the slowest host of the previous unit); and while the run works, its report shows the
// probes sent and open ports found so far (before: "probes sent 0, open ports 0" until the
// run completed). The hosts here answer no HTTP request until both units have swept.
func TestUnitsArePipelined(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { testPipelined(t, dsn(t)) })
	}
}

func testPipelined(t *testing.T, dsn string) {
	ctx := context.Background()
	port := freePort(t)
	want, release := hangingListeners(t, 20, port)
	c, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(5)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/25"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 2000, Method: "connect", UnitSize: 64, Timeout: time.Second,
		HTTPTimeout: time.Minute, FirstByte: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test"}, nil, Local(0))
	if err != nil || len(units) != 2 {
		t.Fatalf("start: %d units, %v", len(units), err)
	}
	stats := &Stats{}
	worked := make(chan error, 1)
	go func() {
		worked <- c.Work(ctx, WorkerConfig{Queue: LocalQueue(run.ID, 0), Run: run.ID, Spool: filepath.Join(t.TempDir(), "spool"),
			PollInterval: 50 * time.Millisecond, TTL: 500 * time.Millisecond, Stats: stats})
	}()
	defer release()
	if !waitFor(func() bool { return stats.Sent.Load() >= int64(p.Probes) }) {
		t.Fatalf("the second unit was not swept while the first one's hosts were being fingerprinted: %d of %d probes sent, %d units done",
			stats.Sent.Load(), p.Probes, stats.UnitsDone.Load())
	}
	if n := stats.UnitsDone.Load(); n != 0 {
		t.Fatalf("%d units done before any host answered", n)
	}
	var live store.Summary
	if !waitFor(func() bool {
		runs, err := c.Store().Runs(ctx)
		if err != nil || len(runs) != 1 {
			return false
		}
		live = runs[0]
		return live.ProbesSent == int64(p.Probes) && live.OpenPorts == int64(len(want))
	}) {
		t.Errorf("while the run works its report shows %d probes sent and %d open ports, want %d and %d",
			live.ProbesSent, live.OpenPorts, p.Probes, len(want))
	}
	release()
	if err := <-worked; err != nil {
		t.Fatal(err)
	}
	if got := stored(t, c.Store(), run.ID); len(got) != len(want) {
		t.Errorf("%d host:ports stored, want %d", len(got), len(want))
	}
	runs, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := runs[0]; s.Status != store.StatusComplete || s.ProbesSent != int64(p.Probes) || s.OpenPorts != int64(len(want)) {
		t.Errorf("the run: %s, %d probes sent, %d open ports; want complete, %d, %d", s.Status, s.ProbesSent, s.OpenPorts, p.Probes, len(want))
	}
}
