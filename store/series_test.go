package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/migrations"
)

// TestSeriesStored: every backend keeps a run's series as given, falls back to its targets and
// ports when none is given, and reads it back in Runs and Summaries; migration 0011 gives the
// runs before it the same fallback.
func TestSeriesStored(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
			given := map[string]string{"lab": "lab", "scope:0123": "scope:0123", "": "targets:127.0.0.0/28 ports:18789"}
			ids := map[int64]string{}
			for series, want := range given {
				run := &Run{StartedAt: at, Targets: "127.0.0.0/28", Ports: "18789", Rate: 1, Shard: "0/1", Series: series}
				if err := st.StartRun(ctx, run); err != nil {
					t.Fatal(err)
				}
				if run.Series != want {
					t.Errorf("StartRun(series %q) left %q, want %q", series, run.Series, want)
				}
				ids[run.ID] = want
			}
			for what, read := range map[string]func(context.Context) ([]Summary, error){"Runs": st.Runs, "Summaries": st.Summaries} {
				sums, err := read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range sums {
					if s.Series != ids[s.ID] {
						t.Errorf("%s: run %d series %q, want %q", what, s.ID, s.Series, ids[s.ID])
					}
				}
			}

			// A run from before migration 0011: its series is blank until the migration's UPDATE.
			b, err := migrations.FS.ReadFile(name + "/0011_series.sql")
			if err != nil {
				t.Fatal(err)
			}
			var update string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "UPDATE runs SET series") {
					update = line
				}
			}
			exec := func(q string) {
				t.Helper()
				var err error
				switch st := st.(type) {
				case *SQLite:
					_, err = st.db.ExecContext(ctx, q)
				case *Postgres:
					_, err = st.pool.Exec(ctx, q)
				}
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec("UPDATE runs SET series = '', targets = '127.0.9.0/24' WHERE series = 'lab'")
			exec(update)
			sums, err := st.Runs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sums {
				if s.Targets == "127.0.9.0/24" && (s.Series != FallbackSeries("127.0.9.0/24", "18789") || s.SeriesLabel() != "targets 127.0.9.0/24, ports 18789") {
					t.Errorf("migrated run: series %q, label %q", s.Series, s.SeriesLabel())
				}
			}
		})
	}
}
