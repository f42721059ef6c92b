package store

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// TestNewerObservationStays: whichever write comes last, the stored row of a host:port is the
// result observed last, and a result always beats an unprobed mark; counts of a finished unit
// follow. The field case: a dead worker's spool replayed after another worker stored a newer
// observation turned a detection (20) back into a timeout (19).
func TestNewerObservationStays(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("127.0.2.9")
	gw := func(at time.Duration) observation.Observation {
		return observation.Observation{IP: ip, Port: 18789, Outcome: observation.OpenClaw, Product: "openclaw", Auth: "none",
			ObservedAt: t0.Add(at)}
	}
	timeout := func(at time.Duration) observation.Observation {
		return observation.Observation{IP: ip, Port: 18789, Outcome: observation.Timeout, ObservedAt: t0.Add(at)}
	}
	unprobed := func(at time.Duration) observation.Observation {
		return observation.Observation{IP: ip, Port: 18789, Outcome: observation.Unprobed, ObservedAt: t0.Add(at)}
	}
	cases := []struct {
		name          string
		first, second observation.Observation
		want          observation.Outcome
	}{
		{"an older result replayed late", gw(10 * time.Second), timeout(time.Second), observation.OpenClaw},
		// Sub-second times: SQLite's RFC 3339 text sorts ".5Z" before "Z".
		{"an older result, half a second", gw(1500 * time.Millisecond), timeout(time.Second), observation.OpenClaw},
		{"a newer result", timeout(time.Second), gw(1500 * time.Millisecond), observation.OpenClaw},
		{"the same write again", gw(time.Second), gw(time.Second), observation.OpenClaw},
		{"a newer unprobed mark", gw(time.Second), unprobed(time.Minute), observation.OpenClaw},
		{"an older result after an unprobed mark", unprobed(time.Minute), gw(time.Second), observation.OpenClaw},
		{"an older unprobed mark", unprobed(time.Minute), unprobed(time.Second), observation.Unprobed},
	}
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			for _, tc := range cases {
				run := &Run{StartedAt: t0, Targets: "127.0.2.0/24", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test",
					Method: "connect", UnitsTotal: 2}
				if err := st.StartRun(ctx, run); err != nil {
					t.Fatal(err)
				}
				// The first write finishes unit 0; the second comes late, as a replay does.
				if _, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 0, OpenPorts: 1, DoneAt: t0}, []observation.Observation{tc.first}); err != nil {
					t.Fatal(err)
				}
				if err := st.AddObservations(ctx, run.ID, []observation.Observation{tc.second}); err != nil {
					t.Fatal(err)
				}
				obs, err := st.Observations(ctx, run.ID)
				if err != nil || len(obs) != 1 {
					t.Fatalf("%s: %d observations, %v", tc.name, len(obs), err)
				}
				if obs[0].Outcome != tc.want {
					t.Errorf("%s: stored %s, want %s", tc.name, obs[0].Outcome, tc.want)
				}
				sums, err := st.Summaries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantDetected := int64(0)
				if tc.want == observation.OpenClaw {
					wantDetected = 1
				}
				if got := sums[len(sums)-1].Detected; got != wantDetected {
					t.Errorf("%s: the finished unit counts %d gateways, want %d", tc.name, got, wantDetected)
				}
			}
		})
	}
}

// TestConcurrentWorkersDoNotDeadlock has workers finish units of one run at once while others
// replay observations into the same units and beat, as three workers and a spool replay do:
// every transaction must succeed (Postgres once failed some with deadlock 40P01 on the runs
// row), and the run completes exactly once with every unit's rows.
func TestConcurrentWorkersDoNotDeadlock(t *testing.T) {
	const workers, unitsEach, hosts = 6, 8, 20
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			t0 := time.Now().UTC()
			run := &Run{StartedAt: t0, Targets: "127.0.0.0/16", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test",
				Method: "connect", UnitsTotal: workers * unitsEach}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			unitObs := func(u int64, at time.Duration) []observation.Observation {
				var out []observation.Observation
				for h := range hosts {
					out = append(out, observation.Observation{IP: netip.AddrFrom4([4]byte{127, 0, byte(u), byte(h + 1)}), Port: 18789,
						Outcome: observation.OpenClaw, Product: "openclaw", Unit: u, ObservedAt: t0.Add(at)})
				}
				return out
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4*workers*unitsEach)
			var completions sync.Map
			for w := range workers {
				wg.Add(2)
				go func() { // a worker: beats, then finishes its units one after another
					defer wg.Done()
					for k := range unitsEach {
						u := int64(w*unitsEach + k)
						if err := st.Heartbeat(ctx, Worker{ID: fmt.Sprint("w", w), RunID: run.ID, StartedAt: t0, HeartbeatAt: time.Now().UTC(), Unit: u}); err != nil {
							errs <- err
						}
						done, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: u, OpenPorts: hosts, Stored: hosts, DoneAt: time.Now().UTC()}, unitObs(u, time.Second))
						if err != nil {
							errs <- err
						}
						if done {
							completions.Store(u, true)
						}
					}
				}()
				go func() { // a replay of the next worker's units, in the reverse order, older
					defer wg.Done()
					for k := unitsEach - 1; k >= 0; k-- {
						u := int64(((w+1)%workers)*unitsEach + k)
						obs := unitObs(u, 0)
						for i, j := 0, len(obs)-1; i < j; i, j = i+1, j-1 {
							obs[i], obs[j] = obs[j], obs[i]
						}
						if err := st.AddObservations(ctx, run.ID, obs); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			n := 0
			completions.Range(func(any, any) bool { n++; return true })
			sums, err := st.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s := sums[0]
			got := []any{n, s.Status, s.UnitsDone, s.Detected}
			want := []any{1, StatusComplete, int64(workers * unitsEach), int64(workers * unitsEach * hosts)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("completions, status, units, gateways (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWritersOfOneUnitDoNotDeadlock has two writers store the same unit's rows in opposite
// orders at once (a unit's second lease storing while the first worker's spool is replayed):
// without one lock order their row locks wait on each other and Postgres ends one (40P01).
// Postgres only: SQLite takes its write lock for a whole transaction (txlock immediate), so its
// writers wait in turn and never on each other's rows (four writing 2,000 rows at once under the
// race detector may wait past the busy timeout, which the spool covers: not this test's point).
func TestWritersOfOneUnitDoNotDeadlock(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, storetest.Postgres(t))
	t0 := time.Now().UTC()
	run := &Run{StartedAt: t0, Targets: "127.1.0.0/16", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test",
		Method: "connect", UnitsTotal: 1}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	var forward, backward []observation.Observation
	for i := range 2000 {
		forward = append(forward, observation.Observation{IP: netip.AddrFrom4([4]byte{127, 1, byte(i / 256), byte(i)}), Port: 18789,
			Outcome: observation.Timeout, ObservedAt: t0})
	}
	for i := range forward {
		backward = append(backward, forward[len(forward)-1-i])
	}
	var wg sync.WaitGroup
	for _, batch := range [][]observation.Observation{forward, backward, forward, backward} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := st.AddObservations(ctx, run.ID, batch); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if obs, err := st.Observations(ctx, run.ID); err != nil || len(obs) != len(forward) {
		t.Errorf("%d rows stored, want %d (%v)", len(obs), len(forward), err)
	}
}

// TestFailedWriteLeavesTheConnectionWorking: a write that fails on a connection's first use
// rolls back the staging table it made; the connection's next write makes it again (it was
// marked as made, and every later write on that connection failed with 42P01 — after one
// deadlock, a worker's connection stored nothing more).
func TestFailedWriteLeavesTheConnectionWorking(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.Postgres(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	st := openTest(t, dsn+sep+"pool_max_conns=1") // one connection: the second write uses the first's
	run := &Run{StartedAt: time.Now().UTC(), Targets: "127.0.2.0/24", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test", Method: "connect"}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	o := []observation.Observation{{IP: netip.MustParseAddr("127.0.2.1"), Port: 18789, Outcome: observation.Timeout, ObservedAt: time.Now().UTC()}}
	if err := st.AddObservations(ctx, run.ID+1000, o); err == nil {
		t.Fatal("observations of a run that does not exist were stored")
	}
	for range 2 {
		if err := st.AddObservations(ctx, run.ID, o); err != nil {
			t.Fatal(err)
		}
	}
}
