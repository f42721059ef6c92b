package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/store"
)

func reportCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "report",
		Usage: "per run: gateways detected in total, by version and by auth posture",
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			st, sums, err := openRuns(c)
			if err != nil {
				return err
			}
			defer st.Close()
			if format == "json" {
				return writeReportJSON(c.App.Writer, sums)
			}
			return writeReportText(c.App.Writer, sums, st.Backend())
		},
	})
}

// reportRun is one run in the JSON report: scripts depend on these keys.
type reportRun struct {
	ID            int64            `json:"id"`
	StartedAt     string           `json:"started_at"`
	EndedAt       string           `json:"ended_at,omitempty"`
	Status        string           `json:"status"`
	Detected      int64            `json:"detected"`
	ByVersion     map[string]int64 `json:"by_version"`
	ByAuth        map[string]int64 `json:"by_auth"`
	ByProduct     map[string]int64 `json:"by_product"`
	ByOfficial    map[string]int64 `json:"by_official"`
	ByFlag        map[string]int64 `json:"by_flag"`
	ByMIIT        map[string]int64 `json:"by_miit_violation"`
	ByCountry     map[string]int64 `json:"by_country"`
	ByASN         map[string]int64 `json:"by_asn"`
	Enrichment    string           `json:"enrichment,omitempty"`
	Authorization string           `json:"authorization,omitempty"`
	Targets       string           `json:"targets"`
	TargetCount   int64            `json:"target_count"`
	Ports         string           `json:"ports"`
	Rate          int              `json:"rate"`
	Seed          int64            `json:"seed"`
	Shard         string           `json:"shard"`
	Method        string           `json:"method"`
	ToolVersion   string           `json:"tool_version"`
	ProbesSent    int64            `json:"probes_sent"`
	OpenPorts     int64            `json:"open_ports"`
	DedupKey      string           `json:"dedup_key"`
	// A census is cut into work units done by any number of workers (live now: Workers).
	UnitsTotal int64 `json:"units_total"`
	UnitsDone  int64 `json:"units_done"`
	Workers    int64 `json:"workers"`
}

func writeReportJSON(w io.Writer, sums []store.Summary) error {
	runs := make([]reportRun, 0, len(sums))
	for _, s := range sums {
		r := reportRun{
			ID: s.ID, StartedAt: s.StartedAt.Format(time.RFC3339), Status: s.Status, Detected: s.Detected,
			ByVersion: s.ByVersion, ByAuth: s.ByAuth, ByProduct: s.ByProduct, ByOfficial: s.ByOfficial,
			ByFlag: s.ByFlag, ByMIIT: s.ByMIIT, ByCountry: s.ByCountry, ByASN: s.ByASN, Enrichment: s.Enrichment,
			Authorization: s.Note,
			Targets:       s.Targets,
			TargetCount:   s.TargetCount, Ports: s.Ports, Rate: s.Rate, Seed: s.Seed, Shard: s.Shard, Method: s.Method,
			ToolVersion: s.ToolVersion, ProbesSent: s.ProbesSent, OpenPorts: s.OpenPorts, DedupKey: "ip:port",
			UnitsTotal: s.UnitsTotal, UnitsDone: s.UnitsDone, Workers: s.LiveWorkers,
		}
		if s.EndedAt != nil {
			r.EndedAt = s.EndedAt.Format(time.RFC3339)
		}
		runs = append(runs, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"runs": runs})
}

func writeReportText(w io.Writer, sums []store.Summary, backend string) error {
	if len(sums) == 0 {
		_, err := fmt.Fprintf(w, "no runs in the %s store yet: run clawcensus scan first\n", backend)
		return err
	}
	for _, s := range sums {
		fmt.Fprintf(w, "run %d  %s  %s  method=%s ports=%s rate=%d/s seed=%d shard=%s\n", s.ID,
			s.StartedAt.Format(time.RFC3339), s.Status, s.Method, s.Ports, s.Rate, s.Seed, s.Shard)
		fmt.Fprintf(w, "  targets: %s (%d addresses), probes sent %d, open ports %d\n", s.Targets, s.TargetCount, s.ProbesSent, s.OpenPorts)
		if s.UnitsTotal > 0 {
			fmt.Fprintf(w, "  work units: %d of %d done, %d live workers\n", s.UnitsDone, s.UnitsTotal, s.LiveWorkers)
		}
		if s.Note != "" {
			fmt.Fprintf(w, "  authorization: %s\n", s.Note)
		}
		fmt.Fprintf(w, "  detected gateways (per ip:port): %d\n", s.Detected)
		writeCounts(w, "by product", s.ByProduct, nil)
		writeCounts(w, "by version", s.ByVersion, fingerprint.CompareVersions)
		writeCounts(w, "by auth", s.ByAuth, nil)
		writeCounts(w, "official build", s.ByOfficial, nil)
		writeCounts(w, "posture flags", s.ByFlag, nil)
		writeCounts(w, "MIIT/NVDB don'ts violated", s.ByMIIT, nil)
		if s.Enrichment != "" {
			writeCounts(w, "by country", s.ByCountry, nil)
			writeCounts(w, "by autonomous system", s.ByASN, nil)
			fmt.Fprintf(w, "  networks from: %s\n", s.Enrichment)
		}
	}
	return nil
}

func writeCounts(w io.Writer, title string, m map[string]int64, cmp func(a, b string) int) {
	if len(m) == 0 {
		return
	}
	keys := slices.Collect(maps.Keys(m))
	if cmp == nil {
		slices.Sort(keys)
	} else {
		slices.SortFunc(keys, cmp)
	}
	fmt.Fprintf(w, "  %s:\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "    %-24s %d\n", k, m[k])
	}
}
