package report

import (
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/store"
)

// TestChooseExport: without --run, export takes the newest run only when it is complete and
// of the census's series; otherwise it says which run it would have taken, why not, and the
// --run to pass. With --run it takes that run, with a warning when it is not complete.
func TestChooseExport(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 28, h, 0, 0, 0, time.UTC) }
	run := func(id int64, status, targets string, count int64) store.Summary {
		return store.Summary{Run: store.Run{ID: id, StartedAt: at(int(id)), Status: status, Targets: targets, TargetCount: count, Ports: "18789",
			Series: "scope:" + targets}}
	}
	census := run(1, store.StatusComplete, "127.0.0.0/16", 65536)
	recheck := run(2, store.StatusComplete, "127.0.0.0/28", 16)
	stalled := run(3, store.StatusStalled, "127.0.0.0/16", 65536)
	wider := run(4, store.StatusComplete, "127.0.0.0/8", 1<<24)
	fewerPorts, morePorts := run(5, store.StatusComplete, "127.0.0.1", 1), run(6, store.StatusComplete, "127.0.0.1", 1)
	fewerPorts.Ports, fewerPorts.Series, morePorts.Ports, morePorts.Series = "18789", "scope:one", "18789-18790,3000", "scope:three"
	for _, c := range []struct {
		name           string
		sums           []store.Summary
		id             int64
		want           int64
		warning, error string
	}{
		{"the census, complete", []store.Summary{recheck, census}, 0, 1, "", ""},
		{"a re-check after the census", []store.Summary{census, recheck}, 0, 0, "",
			"export would take the newest run, 2, but it is of the series targets 127.0.0.0/28, ports 18789 (scope:127.0.0.0/28), not the census's " +
				"(targets 127.0.0.0/16, ports 18789 (scope:127.0.0.0/16), the series of the widest complete run); pass --run 2 to export it as it stands, " +
				"or --run 1 for the census's newest complete run (2026-11-28 01:00 UTC)"},
		{"a stalled census run", []store.Summary{census, recheck, stalled}, 0, 0, "",
			"export would take the newest run, 3, but it is stalled, not complete: it holds only the gateways found so far; pass --run 3 to export it as it stands, or --run 1 for"},
		{"nothing complete", []store.Summary{stalled}, 0, 0, "", "it is stalled, not complete: it holds only the gateways found so far; pass --run 3 to export it as it stands"},
		{"a wider census is the census", []store.Summary{census, wider}, 0, 4, "", ""},
		{"one port of the census's three is a re-check", []store.Summary{morePorts, fewerPorts}, 0, 0, "", "pass --run 5 to export it as it stands, or --run 6"},
		{"three ports after one are the census", []store.Summary{fewerPorts, morePorts}, 0, 6, "", ""},
		{"--run of a re-check", []store.Summary{census, recheck, stalled}, 2, 2, "", ""},
		{"--run of a stalled run", []store.Summary{census, recheck, stalled}, 3, 3,
			"run 3 is stalled, not complete: it holds the gateways found so far, and a notice sent from it may miss some", ""},
		{"--run of no run", []store.Summary{census}, 9, 0, "", "--run 9: no such run"},
		{"an empty store", nil, 0, 0, "", "the store has no runs to export"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, warning, err := ChooseExport(c.sums, c.id)
			switch {
			case c.error != "":
				if err == nil || !strings.Contains(err.Error(), c.error) {
					t.Errorf("err %v, want %q", err, c.error)
				}
			case err != nil || got.ID != c.want || warning != c.warning:
				t.Errorf("run %d, warning %q, err %v; want run %d, warning %q", got.ID, warning, err, c.want, c.warning)
			}
		})
	}
}
