package census

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// TestRecurrenceDue: the rules of a recurring census, one case each. The next run is due
// Every after the previous one started (a few minutes early still counts) and only once that
// one has ended, or once MaxOverlap has passed; the reasons name the run, its state and progress.
func TestRecurrenceDue(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	prev := func(status string, ago time.Duration) *store.Summary {
		return &store.Summary{Run: store.Run{ID: 7, Series: "eu", Status: status, StartedAt: now.Add(-ago), UnitsTotal: 10,
			ProbesSent: 1234}, UnitsDone: 3}
	}
	day := Recurrence{Every: 24 * time.Hour}
	overlap := Recurrence{Every: 24 * time.Hour, MaxOverlap: 36 * time.Hour}
	for _, tc := range []struct {
		name string
		rec  Recurrence
		prev *store.Summary
		due  bool
		why  []string
		wait time.Duration
	}{
		{"the series' first run", day, nil, true, []string{"first run"}, 24 * time.Hour},
		{"previous complete a day ago", day, prev(store.StatusComplete, 25*time.Hour), true, []string{"run 7", "ended complete"}, 24 * time.Hour},
		{"a timer a few seconds early", day, prev(store.StatusComplete, 24*time.Hour-3*time.Second), true, []string{"run 7"}, 24 * time.Hour},
		{"not due yet", day, prev(store.StatusComplete, 3*time.Hour), false,
			[]string{`run 7 of series "eu" started 3h0m0s ago`, "complete", "due in 21h0m0s", "--every 24h0m0s"}, 21 * time.Hour},
		{"previous still running", day, prev(store.StatusRunning, 50*time.Hour), false,
			[]string{"run 7", "has not ended", "running, 3 of 10 units done, 1234 probes sent", "waits for it"}, time.Hour},
		{"previous stalled", day, prev(store.StatusStalled, 50*time.Hour), false, []string{"stalled"}, time.Hour},
		{"previous planned, no worker yet", day, prev(store.StatusPlanned, 30*time.Hour), false, []string{"planned, 3 of 10"}, time.Hour},
		{"previous failed: the series goes on", day, prev(store.StatusFailed, 30*time.Hour), true, []string{"ended failed"}, 24 * time.Hour},
		{"previous interrupted", day, prev(store.StatusInterrupted, 30*time.Hour), true, []string{"ended interrupted"}, 24 * time.Hour},
		{"running past --max-overlap", overlap, prev(store.StatusRunning, 37*time.Hour), true, []string{"--max-overlap 36h0m0s has passed"}, 24 * time.Hour},
		{"running within --max-overlap", overlap, prev(store.StatusRunning, 35*time.Hour+50*time.Minute), false,
			[]string{"or for --max-overlap 36h0m0s to pass"}, 10 * time.Minute},
		{"--max-overlap never shortens --every", Recurrence{Every: 24 * time.Hour, MaxOverlap: time.Hour}, prev(store.StatusRunning, 2*time.Hour), false,
			[]string{"due in 22h0m0s"}, 22 * time.Hour},
		{"a short schedule asks again at a tenth of it", Recurrence{Every: 10 * time.Minute}, prev(store.StatusRunning, time.Hour), false,
			[]string{"waits"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, why, wait := tc.rec.due(tc.prev, now)
			if due != tc.due || wait != tc.wait {
				t.Errorf("due %v wait %s, want %v %s (%s)", due, wait, tc.due, tc.wait, why)
			}
			for _, w := range tc.why {
				if !strings.Contains(why, w) {
					t.Errorf("why %q lacks %q", why, w)
				}
			}
		})
	}
}

// TestRecurrenceCheck: a recurring plan is refused (before anything is stored) when its
// options cannot work, and a schedule shorter than the projected run is refused with both
// durations unless forced.
func TestRecurrenceCheck(t *testing.T) {
	// 65,536 probes at 100/s: a run takes 10m55s.
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.0.0/16"}, Ports: []uint16{9}, Lab: true, Scope: "127.0.0.0/8", Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Projected(nil); got != 655360*time.Millisecond {
		t.Fatalf("projected %s, want 10m55.36s", got)
	}
	for _, tc := range []struct {
		name    string
		rec     Recurrence
		sharded bool
		series  string
		want    []string // nil: accepted
	}{
		{"not recurring", Recurrence{}, true, "", nil},
		{"every hour", Recurrence{Every: time.Hour}, false, "eu", nil},
		{"shorter than the run", Recurrence{Every: 5 * time.Minute}, false, "eu",
			[]string{"--every 5m0s is shorter than one run: 10m55s", "65536 first-pass probes at 100/s", "--every 11m or more", "--force"}},
		{"forced", Recurrence{Every: 5 * time.Minute, Force: true}, false, "eu", nil},
		{"no series", Recurrence{Every: time.Hour}, false, "", []string{"--every needs --series NAME"}},
		{"sharded", Recurrence{Every: time.Hour}, true, "eu", []string{"drop --shard"}},
		{"max-overlap alone", Recurrence{MaxOverlap: time.Hour}, false, "eu", []string{"give --every too"}},
		{"force alone", Recurrence{Force: true}, false, "eu", []string{"give --every too"}},
		{"follow alone", Recurrence{Follow: true}, false, "eu", []string{"give --every too"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rec.Check(p, tc.sharded, tc.series)
			if (err == nil) != (tc.want == nil) {
				t.Fatalf("Check: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDurationsAsPeopleAndFlagsReadThem(t *testing.T) {
	for d, want := range map[time.Duration][2]string{
		26 * time.Second:                  {"26s", "26s"},
		30*time.Second + time.Millisecond: {"30s", "31s"},
		5*time.Minute + time.Second:       {"5m1s", "6m"},
		26 * time.Hour:                    {"26h0m0s", "26h"},
		246*time.Hour + 10*time.Minute:    {"10d6h", "247h"},
		48 * time.Hour:                    {"2d", "48h"},
		16 * time.Millisecond:             {"16ms", "1s"},
	} {
		if got := [2]string{Human(d), FlagDuration(d)}; got != want {
			t.Errorf("%s: %q, want %q", time.Duration(d), got, want)
		}
		if _, err := time.ParseDuration(FlagDuration(d)); err != nil {
			t.Errorf("FlagDuration(%s) does not parse: %v", time.Duration(d), err)
		}
	}
}

// recurringPlan is a small loopback plan (16 probes) of the series "lab".
func recurringPlan(t *testing.T) *Plan {
	t.Helper()
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/28"}, Ports: []uint16{9}, Lab: true, Scope: "127.0.0.0/8",
		Method: "connect", UnitSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecurringPlannersRaceToOneRun: four planners of one series asking at the same moment
// plan one run; the other three say which run they found.
func TestRecurringPlannersRaceToOneRun(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			start := make(chan struct{})
			var ready, wg sync.WaitGroup
			nexts := make(chan Next, 4)
			for range 4 {
				wg.Add(1)
				ready.Add(1)
				go func() {
					defer wg.Done()
					c, err := Open(ctx, d)
					ready.Done()
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					p := recurringPlan(t)
					<-start
					next, err := c.StartNext(ctx, p, RunInfo{Series: "lab"}, nil, Recurrence{Every: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					nexts <- next
				}()
			}
			ready.Wait()
			close(start)
			wg.Wait()
			close(nexts)
			var planned []int64
			var found []string
			for n := range nexts {
				if n.Run != nil {
					planned = append(planned, n.Run.ID)
					continue
				}
				found = append(found, n.String())
			}
			if len(planned) != 1 || len(found) != 3 {
				t.Fatalf("planned %v; not planned: %q", planned, found)
			}
			for _, s := range found {
				if !strings.Contains(s, fmt.Sprintf(`not planned: run %d of series "lab"`, planned[0])) {
					t.Errorf("a planner that lost the race says %q", s)
				}
			}
		})
	}
}

// TestStartNextFollowsTheStore: StartNext reads the series' previous run from the store, on
// both backends: a run that ended a day ago lets the next be planned, one still running holds
// it back until --max-overlap has passed, a run of another series counts for nothing, and a
// plan that does not recur is stored whatever runs before it.
func TestStartNextFollowsTheStore(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c, err := Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := c.Store()
			earlier := func(series string, ago time.Duration, status string) int64 {
				t.Helper()
				r := &store.Run{StartedAt: time.Now().Add(-ago).UTC(), Targets: "127.0.1.0/28", Ports: "9", Series: series, Shard: "0/1"}
				if err := st.StartRun(ctx, r); err != nil {
					t.Fatal(err)
				}
				if status != store.StatusRunning {
					end := time.Now().UTC()
					if err := st.SetStatus(ctx, r.ID, status, &end); err != nil {
						t.Fatal(err)
					}
				}
				return r.ID
			}
			next := func(series string, rec Recurrence) Next {
				t.Helper()
				n, err := c.StartNext(ctx, recurringPlan(t), RunInfo{Series: series}, nil, rec)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			day := Recurrence{Every: 24 * time.Hour}

			old := earlier("daily", 25*time.Hour, store.StatusComplete)
			n := next("daily", day)
			if n.Run == nil || n.Previous == nil || n.Previous.ID != old {
				t.Fatalf("after a run complete a day ago: %s", n)
			}
			if again := next("daily", day); again.Run != nil || again.Previous.ID != n.Run.ID {
				t.Errorf("asked again at once: %s", again)
			}

			running := earlier("weekly", 30*time.Hour, store.StatusRunning)
			earlier("other", time.Minute, store.StatusRunning) // another series: no bearing
			if n := next("weekly", day); n.Run != nil || n.Previous.ID != running || !strings.Contains(n.String(), "has not ended") {
				t.Errorf("with run %d still running: %s", running, n)
			}
			n = next("weekly", Recurrence{Every: 24 * time.Hour, MaxOverlap: 29 * time.Hour})
			if n.Run == nil {
				t.Errorf("past --max-overlap: %s", n)
			}

			if n := next("daily", Recurrence{}); n.Run == nil {
				t.Errorf("a plan that does not recur was not stored: %s", n)
			}
			runs, err := st.Runs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var series []string
			for _, r := range runs {
				series = append(series, r.Series)
			}
			if diff := cmp.Diff([]string{"daily", "daily", "weekly", "other", "weekly", "daily"}, series); diff != "" {
				t.Errorf("runs stored (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthorizationFromAFile: --authorization @FILE reads the record's lines (comments and
// blank lines left out, CRLF accepted), and refuses what must not reach a report with the
// file and line.
func TestAuthorizationFromAFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return "@" + path
	}
	for _, tc := range []struct {
		spec, want, err string
	}{
		{"CERT-XX; census; 24h", "CERT-XX; census; 24h", ""},
		{write("ok.txt", "# who, why, scope, window\r\n\r\nRequested by: CERT-XX\r\nScope: 198.18.0.0/15\r\n"), "Requested by: CERT-XX; Scope: 198.18.0.0/15", ""},
		{write("escape.txt", "# x\nfine\nbad \x1b[31m\n"), "", "escape.txt:3: authorization"},
		{write("empty.txt", "# only a comment\n\n"), "", "no record in it"},
		{write("long.txt", strings.Repeat("x", MaxAuthorization+1)+"\n"), "", "at most 4096"},
		{write("huge.txt", strings.Repeat("# comment\n", 10000)), "", "larger than"},
		{"@" + filepath.Join(dir, "missing.txt"), "", "no such file"},
		{"bad \x1b", "", "character"},
	} {
		got, err := ReadAuthorization(tc.spec)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ReadAuthorization(%.40q) = %q, %v; want %q, error with %q", tc.spec, got, err, tc.want, tc.err)
		}
	}
}

// TestRepeat: plan --follow plans again after each wait until the planner asks no more or
// fails, and stops cleanly when told to.
func TestRepeat(t *testing.T) {
	var calls int
	waits := []time.Duration{time.Millisecond, time.Millisecond, 0}
	err := Repeat(context.Background(), func() (time.Duration, error) {
		calls++
		return waits[calls-1], nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Repeat: %d calls, %v; want 3, nil", calls, err)
	}
	boom := fmt.Errorf("boom")
	if err := Repeat(context.Background(), func() (time.Duration, error) { return time.Hour, boom }); err != boom {
		t.Errorf("a failure ends it: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = Repeat(ctx, func() (time.Duration, error) {
		calls++
		cancel()
		return time.Hour, nil
	})
	if err != nil || calls != 1 {
		t.Errorf("stopped while waiting: %d calls, %v", calls, err)
	}
}
