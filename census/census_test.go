package census

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// listeners serves a plain HTTP page on port of 127.0.1.1 … 127.0.1.n, and returns the
// expected ip:port set.
func listeners(t *testing.T, n int, port int) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		fmt.Fprint(w, "<html><title>Welcome to nginx!</title></html>")
	}), ReadHeaderTimeout: 5 * time.Second}
	for i := 1; i <= n; i++ {
		addr := fmt.Sprintf("127.0.1.%d:%d", i, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		go srv.Serve(ln)
		want[addr] = true
	}
	t.Cleanup(func() { srv.Close() })
	return want
}

// waitFor polls cond until it holds (true) or 30 s have passed (false).
func waitFor(cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			return false
		}
	}
	return true
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestLocalRun(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { testLocalRun(t, dsn(t)) })
	}
}

func testLocalRun(t *testing.T, dsn string) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 40, port)
	dir := t.TempDir()
	c, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(7)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 5000, Method: "connect", UnitSize: 32, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.UnitsTotal() != 8 {
		t.Fatalf("%d units, want 8", p.UnitsTotal())
	}
	run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: "connect"}, nil, Local(0))
	if err != nil {
		t.Fatal(err)
	}
	got := work(t, c, run.ID, 0, units, filepath.Join(dir, "spool"))
	if len(got) != len(want) {
		t.Errorf("emitted %d host:ports, want %d", len(got), len(want))
	}
	for k, n := range got {
		if n != 1 || !want[k] {
			t.Errorf("%s emitted %d times (expected: %v)", k, n, want[k])
		}
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s.Status != store.StatusComplete || s.UnitsDone != 8 || s.OpenPorts != int64(len(want)) || s.ProbesSent < 256 {
		t.Errorf("run: status %s, units %d/%d, open %d, sent %d", s.Status, s.UnitsDone, s.UnitsTotal, s.OpenPorts, s.ProbesSent)
	}
	obs, err := c.Store().Observations(ctx, run.ID)
	if err != nil || len(obs) != len(want) {
		t.Fatalf("%d observations stored, want %d (%v)", len(obs), len(want), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "spool")); len(entries) != 0 {
		t.Errorf("spool left behind: %v", entries)
	}
}

// work runs the given units of run in this process, as scan does, and returns what it emitted.
func work(t *testing.T, c *Census, run int64, shard uint64, units []int64, spool string) map[string]int {
	t.Helper()
	ctx := context.Background()
	q := LocalQueue(run, shard)
	var mu sync.Mutex
	got := map[string]int{}
	err := c.Work(ctx, WorkerConfig{Queue: q, Run: run, Spool: spool, PollInterval: 50 * time.Millisecond,
		Emit: func(o observation.Observation) {
			mu.Lock()
			got[fmt.Sprintf("%s:%d", o.IP, o.Port)]++
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// stored returns the ip:port set of a run's observations, failing on a duplicate.
func stored(t *testing.T, st store.Store, run int64) map[string]bool {
	t.Helper()
	obs, err := st.Observations(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, o := range obs {
		k := fmt.Sprintf("%s:%d", o.IP, o.Port)
		if out[k] {
			t.Errorf("%s stored twice", k)
		}
		out[k] = true
	}
	return out
}

// TestShardsAreOneRun runs a plan as four shards started one after another, as an external
// orchestrator would: they join one run, which completes with the last shard and holds the
// same ip:port set as the unsharded run.
func TestShardsAreOneRun(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 30, port)
	dir := t.TempDir()
	c, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(42)
	cfg := PlanConfig{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 5000, Method: "connect", Timeout: time.Second, Shards: 4, UnitSize: 20}
	var runID int64
	for i := range uint64(4) {
		p, err := NewPlan(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test"}, &i, Local(i))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && run.ID != runID {
			t.Fatalf("shard %d started run %d, not the plan's run %d", i, run.ID, runID)
		}
		runID = run.ID
		if len(units) != 4 { // 64 probes per shard, 20 per unit
			t.Errorf("shard %d: %d units, want 4", i, len(units))
		}
		work(t, c, run.ID, i, units, filepath.Join(dir, "spool"))
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Status != store.StatusComplete || sums[0].UnitsDone != 16 || sums[0].ProbesSent != 256 {
		t.Fatalf("runs: %+v", sums)
	}
	got := stored(t, c.Store(), runID)
	if len(got) != len(want) {
		t.Errorf("%d host:ports stored, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s missing", k)
		}
	}
	// A fifth start of a shard whose units are done begins a new run.
	p, _ := NewPlan(cfg)
	zero := uint64(0)
	run, _, err := c.Start(ctx, p, RunInfo{}, &zero, Local(zero))
	if err != nil || run.ID == runID {
		t.Errorf("shard 0 again: run %d, %v", run.ID, err)
	}
}

// TestLockedStoreSpools holds SQLite's write lock while a run works, past the store's busy
// timeout (200 ms here) and until a batch is spooled: observations go to the spool, the unit
// waits, and once the lock is released the spool is replayed and the run completes with
// every host:port, once each.
func TestLockedStoreSpools(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 40, port)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "c.db")
	c, err := Open(ctx, "file:"+dbPath+"?_pragma=busy_timeout(200)")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(3)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 40, Method: "connect", Timeout: time.Second, UnitSize: 128})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := c.Start(ctx, p, RunInfo{}, nil, Local(0))
	if err != nil {
		t.Fatal(err)
	}
	// Another process's writer: a connection of its own holding an immediate transaction.
	locker, err := sql.Open("sqlite", store.SQLiteDSN(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	stats := &Stats{}
	unlocked := make(chan struct{})
	go func() {
		defer close(unlocked)
		if !waitFor(func() bool { return stats.Sent.Load() > 0 }) {
			t.Error("the run sent no probe")
			return
		}
		tx, err := locker.BeginTx(ctx, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer tx.Rollback()
		if !waitFor(func() bool { return stats.Spooled.Load() > 0 }) {
			t.Error("nothing was spooled while the store was locked")
		}
	}()
	q := LocalQueue(run.ID, 0)
	emitted := 0
	err = c.Work(ctx, WorkerConfig{Queue: q, Run: run.ID, Spool: filepath.Join(dir, "spool"), PollInterval: 50 * time.Millisecond,
		Stats: stats, Emit: func(observation.Observation) { emitted++ }})
	<-unlocked
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, c.Store(), run.ID)
	if len(got) != len(want) || emitted != len(want) {
		t.Errorf("stored %d, emitted %d, want %d", len(got), emitted, len(want))
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil || sums[0].Status != store.StatusComplete {
		t.Errorf("run after the lock: %+v, %v", sums, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "spool")); len(entries) != 0 {
		t.Errorf("spool left behind: %v", entries)
	}
}

// TestShardsStartedAtOnceJoinOneRun starts four shards of one plan at the same moment, as an
// orchestrator would: they must find one run, not four.
func TestShardsStartedAtOnceJoinOneRun(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			seed := int64(5)
			cfg := PlanConfig{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{9}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
				Method: "connect", Shards: 4, UnitSize: 16}
			ids := make(chan int64, 4)
			start := make(chan struct{})
			var ready, wg sync.WaitGroup
			for i := range uint64(4) {
				wg.Add(1)
				ready.Add(1)
				go func() {
					defer wg.Done()
					c, err := Open(ctx, d)
					if err != nil {
						t.Error(err)
						ready.Done()
						return
					}
					defer c.Close()
					p, err := NewPlan(cfg)
					ready.Done()
					if err != nil {
						t.Error(err)
						return
					}
					<-start // all four at the same moment
					run, _, err := c.Start(ctx, p, RunInfo{}, &i, Local(i))
					if err != nil {
						t.Error(err)
						return
					}
					ids <- run.ID
				}()
			}
			ready.Wait()
			close(start)
			wg.Wait()
			close(ids)
			seen := map[int64]bool{}
			for id := range ids {
				seen[id] = true
			}
			if len(seen) != 1 {
				t.Errorf("four shards started at once made runs %v", seen)
			}
		})
	}
}

// TestEmptyDSNIsTheDefaultStore: a census opened with an empty database name (plan --db=)
// queues its units in the default store, where a worker opened on that store finds them.
func TestEmptyDSNIsTheDefaultStore(t *testing.T) {
	ctx := context.Background()
	t.Chdir(t.TempDir())
	c, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(3)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/28"}, Ports: []uint16{9}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
		Method: "connect", UnitSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	run, units, err := c.Start(ctx, p, RunInfo{}, nil, Shared)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	w, err := Open(ctx, "clawcensus.db")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	n, err := w.q.unfinished(ctx, QueueShared, run.ID, nil)
	if err != nil || n != len(units) || n == 0 {
		t.Errorf("a worker on clawcensus.db sees %d of the run's %d units (%v)", n, len(units), err)
	}
}

// TestRunAndUnitsInOneTransaction: a run whose units cannot be enqueued is not stored either
// (the store and the queue share one database handle and one transaction), and a run that is
// stored has its units waiting at once.
func TestRunAndUnitsInOneTransaction(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(3)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/28"}, Ports: []uint16{9}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
		Method: "connect", UnitSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Start(ctx, p, RunInfo{}, nil, func(int64) string { return "no such queue!" }); err == nil {
		t.Fatal("a queue River refuses was accepted")
	}
	if runs, err := c.Store().Runs(ctx); err != nil || len(runs) != 0 {
		t.Errorf("the failed start left %d runs (%v)", len(runs), err)
	}
	run, units, err := c.Start(ctx, p, RunInfo{}, nil, Shared)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.q.unfinished(ctx, QueueShared, run.ID, nil); err != nil || n != len(units) {
		t.Errorf("%d of %d units wait after Start (%v)", n, len(units), err)
	}
}
