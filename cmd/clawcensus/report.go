package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/internal/atomicfile"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/store"
)

func reportCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "report",
		Usage:       "per run: gateways detected in total, by version, auth, advisory; md and html with charts and methodology",
		Description: report.ReportHelp,
		Flags: []cli.Flag{
			dbFlag, fingerprintsFlag, dataFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, csv, md or html"},
			&cli.Int64Flag{Name: "run", Usage: "only run N"},
			&cli.BoolFlag{Name: "last", Usage: "only the newest run"},
			&cli.StringFlag{Name: "changes", Usage: "A..B: what changed from run A to run B of one series (text or json)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to FILE instead of stdout"}, forceFlag,
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
			if c.IsSet("changes") { // each ip:port's class of change from run A to run B, with counts
				a, b, err := report.ParseRunPair(c.String("changes"), sums)
				if err != nil || c.IsSet("run") || c.Bool("last") || (format != "text" && format != "json") {
					return usagef("%v", cmp.Or(err, errors.New("--changes A..B goes without --run or --last, with --format text or json")))
				}
				rules, err := loadRules(c)
				if err != nil {
					return err
				}
				ch, err := report.NewExporter(rules).LoadChanges(c.Context, st, a, b, census.Coverage)
				if err != nil {
					return err
				}
				return withOutput(c, func(w io.Writer) error { return ch.Write(w, format) })
			}
			chosen, err := report.Choose(sums, c.Int64("run"), c.Bool("last") || format == "md" || format == "html")
			if err != nil || ((format == "md" || format == "html") && len(chosen) == 0) {
				return usagef("%s store: %v", st.Backend(), cmp.Or(err, fmt.Errorf("no runs to report: run %s first", hint(c, "scan", "TARGET..."))))
			}
			return withOutput(c, func(w io.Writer) error {
				switch format {
				case "md", "html":
					doc, err := reportDocument(c, chosen[0], sums)
					if err != nil {
						return err
					}
					if format == "md" {
						return doc.WriteMarkdown(w)
					}
					return doc.WriteHTML(w)
				}
				rules, err := loadRules(c)
				if err != nil {
					return err
				}
				src := report.Source{Backend: st.Backend(), Command: func(words ...string) string { return hint(c, words...) }}
				return report.WriteRuns(w, format, chosen, src, methodologyOf, rules)
			})
		},
	})
}

// withOutput runs write on stdout, or on --output FILE (atomicfile.Check, then atomicfile.Write).
func withOutput(c *cli.Context, write func(io.Writer) error) error {
	path := c.String("output")
	if path == "" {
		return write(c.App.Writer)
	}
	opened, err := atomicfile.Output(path, c.Bool("force"), store.Files(c.String("db")), write)
	if err != nil && !opened {
		return usageError{fmt.Errorf("--output %s: %w", path, err)}
	}
	return err
}

// reportDocument assembles run's report with its methodology and every run's trend.
func reportDocument(c *cli.Context, run store.Summary, sums []store.Summary) (*report.Document, error) {
	rules, err := loadRules(c)
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
