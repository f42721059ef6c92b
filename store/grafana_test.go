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

// TestGrafanaViews fills a Postgres store through the contract, then reads migration 0006's
// views as Grafana would: each agrees with the summary, and every query of the dashboard in
// deploy/grafana runs and returns rows.
func TestGrafanaViews(t *testing.T) {
	st := openTest(t, storetest.Postgres(t)).(*Postgres)
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	yes, no := true, false
	for day := range 2 {
		run := &Run{StartedAt: start.Add(time.Duration(day) * 24 * time.Hour), Targets: "127.0.0.0/24", Ports: "18789", Rate: 100,
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
		if day == 1 {
			obs = append(obs, observation.Observation{IP: netip.MustParseAddr("127.0.0.4"), Port: 18789, Outcome: observation.OpenClaw, Product: "clawdbot",
				Version: "2026.1.24-3", Auth: "unknown", MIIT: []string{"internet-exposure"}, ObservedAt: run.StartedAt})
		}
		if done, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 0, ProbesSent: 256, OpenPorts: int64(len(obs)), Worker: "w", DoneAt: run.StartedAt.Add(time.Minute)}, obs); err != nil || !done {
			t.Fatalf("complete: %v %v", done, err)
		}
	}
	sums, err := st.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.pool.Query(ctx, `SELECT run_id, reachable, auth_required, no_auth, auth_unknown, vulnerable_version, unofficial FROM clawcensus_daily ORDER BY day`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var run, reach, req, none, unknown, vuln, unofficial int64
		if err := rows.Scan(&run, &reach, &req, &none, &unknown, &vuln, &unofficial); err != nil {
			t.Fatal(err)
		}
		s := sums[i]
		if run != s.ID || reach != s.Detected || req != s.ByAuth["required"] || none != s.ByAuth["none"] || unknown != s.ByAuth["unknown"] ||
			vuln != s.ByMIIT["known-advisories"] || unofficial != s.ByOfficial["false"] {
			t.Errorf("day %d: view %v, summary %+v", i, []int64{run, reach, req, none, unknown, vuln, unofficial}, s)
		}
		i++
	}
	if rows.Err() != nil || i != 2 {
		t.Fatalf("%d days (%v), want 2", i, rows.Err())
	}
	var versions, advisories int64
	if err := st.pool.QueryRow(ctx, `SELECT COUNT(*) FROM clawcensus_versions WHERE run_id = $1`, sums[1].ID).Scan(&versions); err != nil || versions != int64(len(sums[1].ByVersion)) {
		t.Errorf("versions view: %d rows (%v), summary %v", versions, err, sums[1].ByVersion)
	}
	if err := st.pool.QueryRow(ctx, `SELECT gateways FROM clawcensus_advisories WHERE run_id = $1 AND advisory = 'CVE-2026-45001'`, sums[1].ID).Scan(&advisories); err != nil || advisories != 1 {
		t.Errorf("advisories view: %d (%v)", advisories, err)
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
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			sql := strings.ReplaceAll(tg.RawSQL, "$__timeFilter(day)", "day > now() - interval '10 years'")
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
				t.Errorf("panel %q: %d rows (%v)", p.Title, n, rows.Err())
			}
			queries++
		}
	}
	if queries < 7 {
		t.Errorf("%d dashboard queries checked", queries)
	}
}
