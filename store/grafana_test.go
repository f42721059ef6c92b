package store

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// TestGrafanaViews fills a Postgres store through the contract, then reads the views of
// migrations 0006 and 0011 as Grafana would: each agrees with the summary, the daily view is
// per series (a /28 re-check on the census's second day is a series of its own and leaves the
// census's day alone), and every query of the dashboard in deploy/grafana runs and returns rows
// for every series.
func TestGrafanaViews(t *testing.T) {
	st := openTest(t, storetest.Postgres(t)).(*Postgres)
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	yes, no := true, false
	runs := []struct {
		day     int
		targets string
	}{{0, "127.0.0.0/24"}, {1, "127.0.0.0/24"}, {1, "127.0.0.0/28"}}
	for i, rn := range runs {
		run := &Run{StartedAt: start.Add(time.Duration(rn.day)*24*time.Hour + time.Duration(i)*time.Hour), Targets: rn.targets, Ports: "18789", Rate: 100,
			ToolVersion: "test", Method: "connect", UnitsTotal: 1}
		if err := st.StartRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		obs := []observation.Observation{
			{IP: netip.MustParseAddr("127.0.0.1"), Port: 18789, Outcome: observation.OpenClaw, Product: "openclaw", Version: "2026.3.8", Auth: "none",
				Official: &yes, Advisories: []string{"CVE-2026-45001"}, MIIT: []string{"internet-exposure", "known-advisories"}, ASN: 64500, Country: "ZZ", ObservedAt: run.StartedAt},
			{IP: netip.MustParseAddr("127.0.0.2"), Port: 18789, Outcome: observation.OpenClaw, Product: "openclaw", Version: "2026.9.6", Auth: "required",
				Official: &no, MIIT: []string{"internet-exposure"}, ASN: 64500, Country: "ZZ", ObservedAt: run.StartedAt},
			{IP: netip.MustParseAddr("127.0.0.3"), Port: 80, Outcome: observation.NotOpenClaw, ObservedAt: run.StartedAt},
		}
		switch i {
		case 1:
			obs = append(obs, observation.Observation{IP: netip.MustParseAddr("127.0.0.40"), Port: 18789, Outcome: observation.OpenClaw, Product: "clawdbot",
				Version: "2026.1.24-3", Auth: "unknown", MIIT: []string{"internet-exposure"}, ObservedAt: run.StartedAt},
				// A look-alike: in no view, not even the per-gateway one.
				observation.Observation{IP: netip.MustParseAddr("127.0.0.41"), Port: 18789, Outcome: observation.OpenClaw, Product: "openclaw",
					Version: "2026.9.6", Auth: "none", Honeypot: true, Flags: []string{"probable-honeypot"}, ObservedAt: run.StartedAt})
		case 2:
			obs = obs[:1] // the re-check of the /28 finds one
		}
		if done, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 0, ProbesSent: 256, OpenPorts: int64(len(obs)), Worker: "w", DoneAt: run.StartedAt.Add(time.Minute)}, obs); err != nil || !done {
			t.Fatalf("complete: %v %v", done, err)
		}
	}
	sums, err := st.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	census, recheck := sums[0].Series, sums[2].Series
	if census == recheck || sums[1].Series != census {
		t.Fatalf("series %q %q %q: want the /24 runs in one series, the /28 in another", sums[0].Series, sums[1].Series, sums[2].Series)
	}
	// Per series and day, the series' last complete run: the re-check replaces no day of the census.
	want := []Summary{sums[0], sums[1], sums[2]}
	rows, err := st.pool.Query(ctx, `SELECT series, series_label, run_id, reachable, auth_required, no_auth, auth_unknown, vulnerable_version, unofficial
		FROM clawcensus_daily ORDER BY series = $1 DESC, day`, census)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var series, label string
		var run, reach, req, none, unknown, vuln, unofficial int64
		if err := rows.Scan(&series, &label, &run, &reach, &req, &none, &unknown, &vuln, &unofficial); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("row %d (run %d, series %q): want %d rows", i, run, series, len(want))
		}
		s := want[i]
		if series != s.Series || label != s.SeriesLabel() || run != s.ID || reach != s.Detected || req != s.ByAuth["required"] || none != s.ByAuth["none"] ||
			unknown != s.ByAuth["unknown"] || vuln != s.ByMIIT["known-advisories"] || unofficial != s.ByOfficial["false"] {
			t.Errorf("row %d: view %q %q %v, summary %+v", i, series, label, []int64{run, reach, req, none, unknown, vuln, unofficial}, s)
		}
		i++
	}
	if rows.Err() != nil || i != len(want) {
		t.Fatalf("%d rows (%v), want %d", i, rows.Err(), len(want))
	}
	var versions, advisories int64
	if err := st.pool.QueryRow(ctx, `SELECT COUNT(*) FROM clawcensus_versions WHERE run_id = $1`, sums[1].ID).Scan(&versions); err != nil || versions != int64(len(sums[1].ByVersion)) {
		t.Errorf("versions view: %d rows (%v), summary %v", versions, err, sums[1].ByVersion)
	}
	if err := st.pool.QueryRow(ctx, `SELECT gateways FROM clawcensus_advisories WHERE run_id = $1 AND advisory = 'CVE-2026-45001'`, sums[1].ID).Scan(&advisories); err != nil || advisories != 1 {
		t.Errorf("advisories view: %d (%v)", advisories, err)
	}
	var listed int64
	if err := st.pool.QueryRow(ctx, `SELECT COUNT(*) FROM clawcensus_gateways WHERE run_id = $1`, sums[1].ID).Scan(&listed); err != nil ||
		listed != sums[1].Detected || sums[1].Honeypots != 1 {
		t.Errorf("gateways view: %d rows (%v), summary %d gateways and %d probable honeypots", listed, err, sums[1].Detected, sums[1].Honeypots)
	}

	b, err := os.ReadFile("../deploy/grafana/clawcensus.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct {
				RawSQL string `json:"rawSql"`
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var dashSeries struct {
		Templating struct {
			List []struct{ Name, Query string }
		}
	}
	if err := json.Unmarshal(b, &dashSeries); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	variables := 0
	for _, v := range dashSeries.Templating.List {
		if v.Name != "series" {
			continue
		}
		variables++
		var got []string
		rows, _ := st.pool.Query(ctx, v.Query)
		for rows.Next() {
			var value, text string
			if err := rows.Scan(&value, &text); err != nil {
				t.Fatalf("series variable: %v", err)
			}
			got = append(got, value)
		}
		if rows.Err() != nil || len(got) != 2 {
			t.Errorf("series variable: %q (%v), want the census and the re-check", got, rows.Err())
		}
	}
	if variables != 1 {
		t.Errorf("the dashboard has %d series variables, want 1", variables)
	}
	queries := 0
	for _, series := range []string{census, recheck} {
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				// As Grafana interpolates one value of a repeated row.
				sql := strings.ReplaceAll(tg.RawSQL, "$__timeFilter(day)", "day > now() - interval '10 years'")
				sql = strings.ReplaceAll(sql, "$series", "'"+strings.ReplaceAll(series, "'", "''")+"'")
				n := 0
				rows, err := st.pool.Query(ctx, sql)
				if err != nil {
					t.Errorf("panel %q: %v", p.Title, err)
					continue
				}
				for rows.Next() {
					n++
				}
				if rows.Err() != nil || n == 0 {
					t.Errorf("panel %q, series %q: %d rows (%v)", p.Title, series, n, rows.Err())
				}
				queries++
			}
		}
	}
	var newest int64
	if err := st.pool.QueryRow(ctx, `SELECT run_id FROM clawcensus_daily WHERE series IN ($1) ORDER BY day DESC, run_id DESC LIMIT 1`, census).Scan(&newest); err != nil || newest != sums[1].ID {
		t.Errorf("the census's newest complete run: %d (%v), want run %d, not the re-check", newest, err, sums[1].ID)
	}
	if queries < 14 {
		t.Errorf("%d dashboard queries checked", queries)
	}
}
