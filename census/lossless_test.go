package census

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// TestSlowHTTPStageLosesNothing: a SYN sweep finds far more open hosts than the pipeline
// between the sweep and the HTTP stage holds, while the HTTP stage crawls (hosts that accept
// and never answer, a few fingerprinted at a time). Every open host is stored once, as an
// observation, and the run says nothing was lost.
func TestSlowHTTPStageLosesNothing(t *testing.T) {
	if os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("in an unprivileged user namespace raw sockets are not real: run as root (CI does)")
	}
	if ok, why := scanner.SYNAvailable(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI runs as root, yet: %s", why)
		}
		t.Skip(why)
	}
	ctx := context.Background()
	port := freePort(t)
	const hosts = 2000
	want := map[string]bool{}
	for i := range hosts {
		addr := fmt.Sprintf("127.8.%d.%d:%d", i>>8, i&0xff, port)
		ln, err := net.Listen("tcp", addr) // the kernel completes handshakes; nobody answers
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		want[addr] = true
	}
	dir := t.TempDir()
	c, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed, retries := int64(5), 0
	p, err := NewPlan(PlanConfig{Targets: []string{"127.8.0.0/21"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.8.0.0/21", Rate: 20000, Method: scanner.MethodSYN, Retries: &retries, Timeout: 300 * time.Millisecond,
		HTTPTimeout: 20 * time.Millisecond, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: scanner.MethodSYN}, nil, Local(0))
	if err != nil {
		t.Fatal(err)
	}
	work(t, c, run.ID, 0, units, filepath.Join(dir, "spool"))
	got := stored(t, c.Store(), run.ID)
	missing := 0
	for addr := range want {
		if !got[addr] {
			missing++
		}
	}
	if missing > 0 || len(got) != hosts {
		t.Errorf("stored %d observations of %d open hosts, %d missing", len(got), hosts, missing)
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s.Status != store.StatusComplete || s.OpenPorts != hosts || s.Stored != hosts || s.AnswersLost != 0 {
		t.Errorf("run %s: open ports %d, stored %d, answers lost %d; want %d, %d, 0", s.Status, s.OpenPorts, s.Stored, s.AnswersLost, hosts, hosts)
	}
}

// TestFingerprintingYieldsToABehindSweep: while the sweep is behind its schedule and the floor
// of hosts is in flight, the next host waits; it goes once the sweep keeps up, at once when
// fewer than the floor are in flight, and when the context ends.
func TestFingerprintingYieldsToABehindSweep(t *testing.T) {
	asks := 0
	behindFor := func(n int) func() bool { // behind for the first n questions
		asks = 0
		return func() bool { asks++; return asks <= n }
	}
	full := func() int { return 8 }
	yieldToSweep(context.Background(), behindFor(5), full, 8)
	if asks != 6 {
		t.Errorf("asked %d times, want 6: held while behind, gone once not", asks)
	}
	yieldToSweep(context.Background(), behindFor(1000), func() int { return 7 }, 8)
	if asks != 1 {
		t.Errorf("under the floor: asked %d times, want 1", asks)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	yieldToSweep(ctx, behindFor(1000), full, 8)
	if asks != 1 {
		t.Errorf("ended context: asked %d times, want 1", asks)
	}
	if sweepYieldFloor(4096) != 8 || sweepYieldFloor(3) != 3 {
		t.Errorf("floor %d for 4096, %d for 3", sweepYieldFloor(4096), sweepYieldFloor(3))
	}
}
