package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/store"
)

func TestTrend(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	sum := func(id int64, at time.Time, status string, detected, none int64) store.Summary {
		s := store.Summary{Run: store.Run{ID: id, StartedAt: at, Status: status, Ports: "18789", Targets: "x"}, Detected: detected,
			ByAuth: map[string]int64{"none": none, "required": detected - none}, ByMIIT: map[string]int64{"known-advisories": 1},
			ByOfficial: map[string]int64{"false": 0}}
		return s
	}
	got := Trend([]store.Summary{
		sum(1, day(24, 1), store.StatusComplete, 10, 4),
		sum(2, day(24, 9), store.StatusComplete, 12, 5),   // the day's last complete run wins
		sum(3, day(25, 1), store.StatusInterrupted, 3, 3), // partial: left out
		sum(4, day(26, 1), store.StatusComplete, 11, 2),
	})
	want := []TrendRow{
		{Day: "2026-11-24", Run: 2, Reachable: 12, AuthRequired: 7, NoAuth: 5, Vulnerable: 1, Ports: "18789", Targets: "x"},
		{Day: "2026-11-26", Run: 4, Reachable: 11, AuthRequired: 9, NoAuth: 2, Vulnerable: 1, Ports: "18789", Targets: "x"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
