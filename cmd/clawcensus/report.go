package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/internal/atomicfile"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/store"
)

func reportCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "report",
		Usage: "per run: gateways detected in total, by version, auth, advisory; md and html with charts and methodology",
		Description: "text, json and csv list runs (all of them, or --run N / --last); md and html write one run's\n" +
			"report (the newest unless --run N) with SVG charts, the trend up to that run and the methodology\n" +
			"block to publish with the numbers. Reports carry counts only (TLP:CLEAR).",
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, csv, md or html"},
			&cli.Int64Flag{Name: "run", Usage: "only run N"},
			&cli.BoolFlag{Name: "last", Usage: "only the newest run"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to FILE instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if !slices.Contains([]string{"text", "json", "csv", "md", "html"}, format) {
				return usagef("--format %q: want text, json, csv, md or html", format)
			}
			if c.IsSet("run") && c.Bool("last") {
				return usagef("give --run N or --last, not both")
			}
			st, sums, err := openRuns(c)
			if err != nil {
				return err
			}
			defer st.Close()
			chosen := sums
			switch {
			case c.IsSet("run"):
				i, err := findRun(sums, c.Int64("run"), "run")
				if err != nil {
					return err
				}
				chosen = sums[i : i+1]
			case c.Bool("last") || ((format == "md" || format == "html") && len(sums) > 0):
				chosen = sums[max(0, len(sums)-1):]
			}
			if (format == "md" || format == "html") && len(chosen) == 0 {
				return usagef("the %s store has no runs to report: run clawcensus scan first", st.Backend())
			}
			return withOutput(c, func(w io.Writer) error {
				switch format {
				case "json":
					return writeReportJSON(w, chosen)
				case "csv":
					return writeReportCSV(w, chosen)
				case "md", "html":
					doc, err := reportDocument(chosen[0], sums)
					if err != nil {
						return err
					}
					if format == "md" {
						return doc.WriteMarkdown(w)
					}
					return doc.WriteHTML(w)
				}
				return writeReportText(w, chosen, st.Backend())
			})
		},
	})
}

// withOutput runs write on stdout, or on --output FILE (written whole: atomicfile.Write).
func withOutput(c *cli.Context, write func(io.Writer) error) error {
	path := c.String("output")
	if path == "" {
		return write(c.App.Writer)
	}
	written := false
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error { written = true; return write(w) })
	if err != nil && !written {
		return usageError{fmt.Errorf("--output %s: %w", path, err)}
	}
	return err
}

// reportDocument assembles run's report with its methodology and every run's trend.
func reportDocument(run store.Summary, sums []store.Summary) (*report.Document, error) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		return nil, err
	}
	return report.NewDocument(run, sums, rules, methodologyOf(run), time.Now())
}

// methodologyOf reads what a report says about a run's method from the run and its stored
// plan (exclusions, retries, scope, opt-in probes, contact).
func methodologyOf(run store.Summary) report.Methodology {
	m := report.Methodology{Targets: run.Targets, TargetCount: run.TargetCount, Ports: run.Ports, Method: run.Method,
		Rate: run.Rate, Seed: run.Seed, Shard: run.Shard, ToolVersion: run.ToolVersion, Enrichment: run.Enrichment, Authority: run.Note}
	if p, err := census.ParsePlan(run.Plan); err == nil {
		m.Retries, m.Scope, m.ActiveProbe, m.Contact = p.Retries, p.Scope, p.ActiveProbe, p.Contact
		for _, e := range p.Excluded {
			m.Exclusions = append(m.Exclusions, fmt.Sprintf("%s: %d addresses", e.Source, e.Addresses))
		}
	}
	return m
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
	ByAdvisory    map[string]int64 `json:"by_advisory"`
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
	// Stored counts the open ports of finished units stored as observations; AnswersLost,
	// answers the sweep could not keep. Nothing was lost when stored == open_ports and no
	// answer was lost.
	Stored      int64 `json:"stored"`
	AnswersLost int64 `json:"answers_lost"`
	// Middleboxes counts open ports whose host answered the control probes as well.
	Middleboxes int64  `json:"middleboxes"`
	DedupKey    string `json:"dedup_key"`
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
			ByFlag: s.ByFlag, ByMIIT: s.ByMIIT, ByAdvisory: s.ByAdvisory, ByCountry: s.ByCountry, ByASN: s.ByASN, Enrichment: s.Enrichment,
			Authorization: s.Note,
			Targets:       s.Targets,
			TargetCount:   s.TargetCount, Ports: s.Ports, Rate: s.Rate, Seed: s.Seed, Shard: s.Shard, Method: s.Method,
			ToolVersion: s.ToolVersion, ProbesSent: s.ProbesSent, OpenPorts: s.OpenPorts, Stored: s.Stored, AnswersLost: s.AnswersLost, Middleboxes: s.Middleboxes, DedupKey: "ip:port",
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
			fmt.Fprintf(w, "  kept: %d of %d open ports stored, %d answers the sweep could not keep%s\n", s.Stored, s.OpenPorts,
				s.AnswersLost, keptNote(s))
			if s.Middleboxes > 0 {
				fmt.Fprintf(w, "  middleboxes: %d open ports on hosts that accept on every port (both control ports answered)\n", s.Middleboxes)
			}
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
		writeCounts(w, "by advisory (version-implied)", s.ByAdvisory, nil)
		if s.Enrichment != "" {
			writeCounts(w, "by country", s.ByCountry, nil)
			writeCounts(w, "by autonomous system", s.ByASN, nil)
			fmt.Fprintf(w, "  networks from: %s\n", s.Enrichment)
		}
	}
	return nil
}

var reportCSVHeader = []string{"run", "started_at", "ended_at", "status", "targets", "ports", "method", "probes_sent",
	"open_ports", "detected", "auth_required", "no_auth", "auth_unknown", "vulnerable_version", "unofficial", "units_done", "units_total",
	"stored", "answers_lost", "middleboxes"}

// keptNote says what a shortfall between the sweep and the store means.
func keptNote(s store.Summary) string {
	if s.Stored < s.OpenPorts || s.AnswersLost > 0 {
		return " (the census may have missed open ports)"
	}
	return " (nothing lost)"
}

func writeReportCSV(w io.Writer, sums []store.Summary) error {
	cw := report.NewCSV(w)
	cw.Write(reportCSVHeader)
	for _, s := range sums {
		ended := ""
		if s.EndedAt != nil {
			ended = s.EndedAt.UTC().Format(time.RFC3339)
		}
		cw.Write([]string{fmt.Sprint(s.ID), s.StartedAt.UTC().Format(time.RFC3339), ended, s.Status, s.Targets, s.Ports, s.Method,
			fmt.Sprint(s.ProbesSent), fmt.Sprint(s.OpenPorts), fmt.Sprint(s.Detected), fmt.Sprint(s.ByAuth["required"]),
			fmt.Sprint(s.ByAuth["none"]), fmt.Sprint(s.ByAuth["unknown"]), fmt.Sprint(s.ByMIIT["known-advisories"]),
			fmt.Sprint(s.ByOfficial["false"]), fmt.Sprint(s.UnitsDone), fmt.Sprint(s.UnitsTotal), fmt.Sprint(s.Stored),
			fmt.Sprint(s.AnswersLost), fmt.Sprint(s.Middleboxes)})
	}
	cw.Flush()
	return cw.Error()
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
