package census

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// TestDeadWorkersUnitsAreHandedOver: a worker that took two units and then stopped beating
// (killed: its units stay running in River, its last heartbeat grows old) loses them to a
// live worker once its heartbeat timeout has passed, whatever the lease: the run completes
// with exactly the listeners, once each, and its totals count every unit once. Before, the
// live worker waited for River's rescuer, lease × 1.5 (half an hour by default).
func TestDeadWorkersUnitsAreHandedOver(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) { testHandOver(t, dsn(t)) })
	}
}

func testHandOver(t *testing.T, dsn string) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 40, port)
	dir := t.TempDir()
	c, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(11)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 5000, Method: "connect", UnitSize: 64, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test"}, nil, Shared)
	if err != nil || len(units) != 4 {
		t.Fatalf("start: %d units, %v", len(units), err)
	}

	// The dead worker: it leases two units, says so once (long ago, as its last beat), and
	// never returns them.
	held := make(chan unitArgs, unitsInHand)
	release := make(chan struct{})
	dead, err := c.q.work(ctx, QueueShared, leaseConfig{ID: "dead", PollInterval: 50 * time.Millisecond},
		func(_ context.Context, a unitArgs) error {
			beat := time.Now().UTC().Add(-10 * time.Second)
			if err := c.st.Heartbeat(ctx, store.Worker{ID: "dead", RunID: a.Run, StartedAt: beat, HeartbeatAt: beat, Unit: a.Unit,
				TTL: time.Second, Timeout: time.Second, Sweeping: true,
				Progress: []store.UnitProgress{{Unit: a.Unit, ProbesSent: 30, OpenPorts: 2}}}); err != nil {
				t.Error(err)
			}
			held <- a
			<-release // killed: it never comes back, whatever River asks
			return errors.New("killed")
		})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(release)
		dead.stop(ctx)
		dead.done()
	}()
	for range unitsInHand {
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the dead worker took no units")
		}
	}

	var mu sync.Mutex
	got := map[string]int{}
	stats := &Stats{}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second) // River's rescuer would take half an hour
	defer cancel()
	err = c.Work(wctx, WorkerConfig{ID: "live", Queue: QueueShared, Run: run.ID, Spool: filepath.Join(dir, "spool"),
		PollInterval: 50 * time.Millisecond, TTL: 500 * time.Millisecond, HeartbeatTimeout: time.Second, Stats: stats,
		Emit: func(o observation.Observation) {
			mu.Lock()
			got[fmt.Sprintf("%s:%d", o.IP, o.Port)]++
			mu.Unlock()
		}})
	if err != nil {
		t.Fatalf("the live worker: %v (units done %d of 4)", err, stats.UnitsDone.Load())
	}
	if stats.UnitsDone.Load() != 4 {
		t.Errorf("the live worker did %d units, want all 4", stats.UnitsDone.Load())
	}
	if left, err := c.q.running(ctx, QueueShared); err != nil || len(left) != 0 {
		t.Errorf("units still held: %+v, %v", left, err)
	}
	if s := stored(t, c.Store(), run.ID); len(s) != len(want) {
		t.Errorf("%d host:ports stored, want %d", len(s), len(want))
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%s emitted %d times", k, got[k])
		}
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s.Status != store.StatusComplete || s.UnitsDone != 4 || s.OpenPorts != int64(len(want)) || s.Stored != int64(len(want)) || s.ProbesSent != 256 {
		t.Errorf("run: status %s, units %d, open %d, stored %d, probes %d; want complete, 4, %d, %d, 256",
			s.Status, s.UnitsDone, s.OpenPorts, s.Stored, s.ProbesSent, len(want), len(want))
	}
}

// TestHeartbeatTimeoutNeedsTwoBeats: a heartbeat timeout shorter than two heartbeats would hand
// a live worker's units over; it is refused.
func TestHeartbeatTimeoutNeedsTwoBeats(t *testing.T) {
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Work(context.Background(), WorkerConfig{TTL: 15 * time.Second, HeartbeatTimeout: 5 * time.Second, Spool: filepath.Join(t.TempDir(), "spool")})
	if err == nil {
		t.Fatal("a 5s heartbeat timeout with a beat every 3s was accepted")
	}
}

// TestHandOverOnlyWhatItCouldSee: a unit whose worker's last heartbeat is older than its
// timeout is handed over only by a worker that has itself reached the store for two of the
// holder's heartbeats: after the store was away for everyone, the first worker back takes
// nothing from workers that are alive and about to beat again.
func TestHandOverOnlyWhatItCouldSee(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(3)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/28"}, Ports: []uint16{9}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
		Method: "connect", UnitSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Start(ctx, p, RunInfo{}, nil, Shared); err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var holding sync.Once // the unit handed over may come back to this holder: held closes once
	var beat time.Time    // the holder's last beat before the store went away
	holder, err := c.q.work(ctx, QueueShared, leaseConfig{ID: "holder", PollInterval: 50 * time.Millisecond},
		func(_ context.Context, a unitArgs) error {
			beat = time.Now().UTC()
			if err := c.st.Heartbeat(ctx, store.Worker{ID: "holder", RunID: a.Run, StartedAt: beat, HeartbeatAt: beat, Unit: a.Unit,
				TTL: time.Second, Timeout: time.Second}); err != nil {
				t.Error(err)
			}
			holding.Do(func() { close(held) })
			<-release
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(release); holder.stop(ctx); holder.done() }()
	<-held
	waitFor(func() bool { return time.Since(beat) > 1200*time.Millisecond }) // its timeout has passed
	for _, tc := range []struct {
		reached time.Duration
		want    int
	}{{0, 0}, {300 * time.Millisecond, 0}, {time.Second, 1}} {
		n, err := c.handOver(ctx, QueueShared, "looker", time.Second, tc.reached)
		if err != nil || n != tc.want {
			t.Errorf("reaching the store for %s: %d handed over (%v), want %d", tc.reached, n, err, tc.want)
		}
	}
}

// TestLeaseIsAboutProgress: a unit that keeps sending may take longer than the lease (how long
// a unit takes depends on its worker's share of the rate; before, River cut it at the lease);
// a unit that makes no progress for the lease (every host it waits on silent) is given up.
func TestLeaseIsAboutProgress(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	_, release := hangingListeners(t, 3, port)
	defer release()
	for _, tc := range []struct {
		name    string
		targets string
		want    error
	}{
		{"sending for four leases", "127.3.16.0/21", nil}, // 2,048 probes at 1,000/s
		{"waiting on silent hosts", "127.0.1.0/30", errNoProgress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			seed := int64(4)
			p, err := NewPlan(PlanConfig{Targets: []string{tc.targets}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
				Scope: "127.0.0.0/8", Rate: 1000, Method: "connect", Timeout: time.Second, HTTPTimeout: 3 * time.Second,
				FirstByte: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			run, _, err := c.Start(ctx, p, RunInfo{}, nil, Local(0))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Work(ctx, WorkerConfig{Queue: LocalQueue(run.ID, 0), Run: run.ID, Spool: filepath.Join(t.TempDir(), "spool"),
				PollInterval: 50 * time.Millisecond, Lease: 500 * time.Millisecond})
			if !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Errorf("work: %v, want %v", err, tc.want)
			}
		})
	}
}
