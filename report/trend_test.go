package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/fingerprint"
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
		{Series: "targets:x ports:18789", SeriesLabel: "targets x, ports 18789", Day: "2026-11-24", Run: 2, Reachable: 12, AuthRequired: 7, NoAuth: 5, Vulnerable: 1, Ports: "18789", Targets: "x"},
		{Series: "targets:x ports:18789", SeriesLabel: "targets x, ports 18789", Day: "2026-11-26", Run: 4, Reachable: 11, AuthRequired: 9, NoAuth: 2, Vulnerable: 1, Ports: "18789", Targets: "x"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestTrendPerSeries: a /24 census and a /28 re-check on the same day are two series. The
// census keeps its day (20 gateways, not the re-check's 14), a report of run 1 has no row of
// run 2, and runs of different targets are one series when the user named it so.
func TestTrendPerSeries(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	sum := func(id int64, at time.Time, targets, series string, detected int64) store.Summary {
		return store.Summary{Run: store.Run{ID: id, StartedAt: at, Status: store.StatusComplete, Ports: "18789", Targets: targets, Series: series},
			Detected: detected, ByAuth: map[string]int64{"none": detected}}
	}
	census, recheck := "scope:aaaa", "scope:bbbb"
	sums := []store.Summary{
		sum(1, day(24, 1), "127.0.0.0/24", census, 20),
		sum(2, day(24, 9), "127.0.0.0/28", recheck, 14),
		sum(3, day(25, 1), "127.0.0.0/24", census, 21),
	}
	sums[2].Honeypots = 1 // counted apart: a column of its own, never inside reachable
	got := Trend(sums)
	want := []TrendRow{
		{Series: census, SeriesLabel: "targets 127.0.0.0/24, ports 18789", Day: "2026-11-24", Run: 1, Reachable: 20, NoAuth: 20, Ports: "18789", Targets: "127.0.0.0/24"},
		{Series: census, SeriesLabel: "targets 127.0.0.0/24, ports 18789", Day: "2026-11-25", Run: 3, Reachable: 21, Honeypots: 1, NoAuth: 21, Ports: "18789", Targets: "127.0.0.0/24"},
		{Series: recheck, SeriesLabel: "targets 127.0.0.0/28, ports 18789", Day: "2026-11-24", Run: 2, Reachable: 14, NoAuth: 14, Ports: "18789", Targets: "127.0.0.0/28"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trend (-want +got):\n%s", diff)
	}

	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []int{0, 1} {
		d, err := NewDocument(sums[run], sums, rules, Methodology{}, day(26, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Trend) != 1 || d.Trend[0].Run != sums[run].ID {
			t.Errorf("report of run %d: trend %+v, want its own day alone", sums[run].ID, d.Trend)
		}
		var b bytes.Buffer
		if err := d.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		label := sums[run].SeriesLabel()
		if !strings.Contains(b.String(), "## Trend, series "+label) || !strings.Contains(b.String(), "| "+d.Trend[0].Day+" | "+fmt.Sprint(sums[run].ID)+" | "+fmt.Sprint(sums[run].Detected)+" |") {
			t.Errorf("report of run %d lacks its series' trend:\n%s", sums[run].ID, b.String())
		}
		for _, other := range sums {
			if other.ID != sums[run].ID && strings.Contains(b.String(), fmt.Sprintf("| %d | %d |", other.ID, other.Detected)) {
				t.Errorf("report of run %d has a trend row of run %d", sums[run].ID, other.ID)
			}
		}
		for _, c := range d.ChartList() {
			if c.Name == "trend" && !strings.Contains(string(c.SVG), "series "+label) {
				t.Errorf("report of run %d: the trend chart does not say its series", sums[run].ID)
			}
		}
	}

	// Named: the user says a /24 and a /23 are one series.
	named := []store.Summary{sum(1, day(24, 1), "127.0.0.0/24", "lab", 20), sum(2, day(25, 1), "127.0.0.0/23", "lab", 30), sum(3, day(25, 2), "127.0.0.0/28", "", 5)}
	for i := range named { // IPv4 and IPv6 apart in the csv, together in reachable
		named[i].ByFamily = map[string]int64{"ipv4": named[i].Detected - 2, "ipv6": 2}
	}
	in, ok := InSeries(named, "lab")
	if !ok || len(in) != 2 {
		t.Fatalf("InSeries(lab) = %d runs", len(in))
	}
	rows := Trend(in)
	if len(rows) != 2 || rows[0].Run != 1 || rows[1].Run != 2 || rows[1].SeriesLabel != "lab" {
		t.Errorf("series lab: %+v", rows)
	}
	if in, ok := InSeries(named, "targets 127.0.0.0/28, ports 18789"); !ok || len(in) != 1 || in[0].ID != 3 {
		t.Errorf("InSeries by label: %v %v", in, ok)
	}
	named[1].Honeypots = 2
	var b bytes.Buffer
	if err := WriteTrend(&b, "csv", Trend(named)); err != nil {
		t.Fatal(err)
	}
	wantCSV := "series,series_label,day,run,reachable,auth_required,no_auth,auth_unknown,vulnerable_version,unofficial,ports,targets,reachable_ipv4,reachable_ipv6,probable_honeypots\n" +
		"lab,lab,2026-11-24,1,20,0,20,0,0,0,18789,127.0.0.0/24,18,2,0\n" +
		"lab,lab,2026-11-25,2,30,0,30,0,0,0,18789,127.0.0.0/23,28,2,2\n" +
		"targets:127.0.0.0/28 ports:18789,\"targets 127.0.0.0/28, ports 18789\",2026-11-25,3,5,0,5,0,0,0,18789,127.0.0.0/28,3,2,0\n"
	if diff := cmp.Diff(wantCSV, b.String()); diff != "" {
		t.Errorf("csv (-want +got):\n%s", diff)
	}
}
