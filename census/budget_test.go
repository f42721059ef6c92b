package census

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// TestFairShare: the plan's rate is shared equally by the workers that sweep it, a worker's
// --rate only lowers its own share, and what it leaves goes to the others; the shares never
// add up to more than the rate.
func TestFairShare(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate int
		caps []int // every sweeping worker's cap, this one's first
		want int
	}{
		{"alone", 3000, []int{0}, 3000},
		{"two", 3000, []int{0, 0}, 1500},
		{"three", 3000, []int{0, 0, 0}, 1000},
		{"four, rounded down", 5000, []int{0, 0, 0, 0}, 1250},
		{"seven, rounded down", 1000, []int{0, 0, 0, 0, 0, 0, 0}, 142},
		{"capped below its share", 3000, []int{500, 0, 0}, 500},
		{"what a capped worker leaves goes to the others", 3000, []int{0, 500, 0}, 1250},
		{"a cap above the share changes nothing", 3000, []int{2000, 0}, 1500},
		{"a cap above the rate is no cap", 3000, []int{9000}, 3000},
		{"every worker capped", 3000, []int{100, 200}, 100},
		{"more workers than probes per second", 2, []int{0, 0, 0}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fairShare(tc.rate, tc.caps, tc.caps[0]); got != tc.want {
				t.Errorf("fairShare(%d, %v) = %d, want %d", tc.rate, tc.caps, got, tc.want)
			}
			// Every worker's share, together: within the rate (unless each gets its minimum).
			sum := 0
			for i := range tc.caps {
				caps := append([]int{tc.caps[i]}, append(append([]int{}, tc.caps[:i]...), tc.caps[i+1:]...)...)
				sum += fairShare(tc.rate, caps, tc.caps[i])
			}
			if sum > tc.rate && sum > len(tc.caps) {
				t.Errorf("the shares add up to %d, more than the rate %d", sum, tc.rate)
			}
		})
	}
}

// TestBudgetFollowsTheWorkers: a worker's share is the plan's rate divided among the live
// workers that sweep the run, as their heartbeats say: it joins alone at the full rate, halves
// when another starts sweeping, takes back what a worker that stopped sweeping or died
// (its heartbeat older than its TTL) left, keeps its cap, and keeps its share while the
// store cannot be read.
func TestBudgetFollowsTheWorkers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := &store.Run{StartedAt: time.Now().UTC(), Targets: "127.0.0.0/24", Ports: "9", Rate: 3000, Shard: "0/1", UnitsTotal: 4}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	sw, err := scanner.New(scanner.Config{Rate: 3000, Method: scanner.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	other := func(id string, sweeping bool, cap int, beat time.Time) {
		t.Helper()
		if err := st.Heartbeat(ctx, store.Worker{ID: id, RunID: run.ID, StartedAt: beat, HeartbeatAt: beat, Unit: 1,
			Sweeping: sweeping, RateCap: cap}); err != nil {
			t.Fatal(err)
		}
	}
	var b *budget
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	b = newBudget(bctx, st, sw, run.ID, 3000, 0, "me", func(ctx context.Context) {
		if err := st.Heartbeat(ctx, store.Worker{ID: "me", RunID: run.ID, StartedAt: run.StartedAt, HeartbeatAt: time.Now().UTC(),
			Unit: 0, Sweeping: b.isSweeping()}); err != nil {
			t.Error(err)
		}
	})
	if err := b.join(ctx); err != nil {
		t.Fatal(err)
	}
	got := []int{sw.Rate()}
	refresh := func() {
		t.Helper()
		if _, err := b.refresh(ctx); err != nil {
			t.Fatal(err)
		}
		got = append(got, sw.Rate())
	}
	now := time.Now().UTC()
	other("b", true, 0, now)
	refresh() // another sweeps: half
	other("c", false, 0, now)
	refresh() // a live worker that does not sweep takes nothing
	other("c", true, 500, now)
	refresh() // c sweeps, capped at 500: the rest in two
	other("b", true, 0, now.Add(-2*store.WorkerTTL))
	refresh() // b died (its beat older than its TTL): what it had comes back
	other("c", false, 500, now)
	refresh() // c stopped sweeping: the whole rate
	ws, err := st.Workers(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if i := indexOf(ws, "me"); i < 0 || !ws[i].Sweeping {
		t.Errorf("the worker does not say it sweeps: %+v", ws)
	}
	other("d", true, 0, now)
	st.Close()
	if _, err := b.refresh(ctx); err == nil {
		t.Error("a closed store was read")
	}
	got = append(got, sw.Rate()) // the store cannot be read: the share stays
	if diff := cmp.Diff([]int{3000, 1500, 1500, 1250, 2500, 3000, 3000}, got); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}

func indexOf(ws []store.Worker, id string) int {
	for i, w := range ws {
		if w.ID == id {
			return i
		}
	}
	return -1
}

// TestWorkersShareTheRate: two workers sweeping one run at once each send half the plan's rate
// (before, each sent the plan's rate: a plan at 3,000/s swept at ~5,700/s by two), and the run
// completes with every unit once.
func TestWorkersShareTheRate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "c.db")
	c, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(2)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.3.0.0/20"}, Ports: []uint16{9}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
		Rate: 1000, Method: "connect", Timeout: time.Second, UnitSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Start(ctx, p, RunInfo{}, nil, Shared); err != nil {
		t.Fatal(err)
	}
	sws := make([]*sweepers, 2)
	errs := make(chan error, 2)
	for i := range sws {
		sws[i] = &sweepers{}
		go func() {
			errs <- c.Work(ctx, WorkerConfig{ID: fmt.Sprintf("w%d", i), Queue: QueueShared, Spool: filepath.Join(dir, fmt.Sprint(i)),
				PollInterval: 50 * time.Millisecond, onSweeper: sws[i].add})
		}()
	}
	rates := func() []int {
		var out []int
		for _, s := range sws {
			s.mu.Lock()
			for _, sw := range s.all {
				out = append(out, sw.Rate())
			}
			s.mu.Unlock()
		}
		return out
	}
	if !waitFor(func() bool { return cmp.Equal(rates(), []int{500, 500}) }) {
		t.Errorf("two workers sweeping one run at 1,000/s: rates %v, want 500 each", rates())
	}
	for range sws {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	runs, err := c.Store().Runs(ctx)
	if err != nil || runs[0].Status != store.StatusComplete || runs[0].UnitsDone != p.UnitsTotal() || runs[0].ProbesSent != int64(p.Probes) {
		t.Errorf("the run: %+v, %v", runs, err)
	}
}
