package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/report"
)

func exportCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "export",
		Usage:       "write one run's gateways as Shadowserver-style CSV, IntelMQ events or X-ARF: one file, or a CSV pack per recipient",
		Description: report.ExportHelp,
		Flags: []cli.Flag{
			dbFlag, fingerprintsFlag, dataFlag,
			&cli.Int64Flag{Name: "run", Usage: "run id (default: the newest run, when it is complete and of the census's series)"},
			&cli.BoolFlag{Name: "include-honeypots", Usage: "write the probable honeypots too, tagged probable-honeypot"},
			&cli.StringFlag{Name: "by", Usage: "write a pack per recipient: asn, country, cidrs or contact (the contacts in the store)"}, contactsVersionFlag,
			&cli.StringFlag{Name: "recipients", Usage: "with --by cidrs: FILE of 'prefix,recipient' lines"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "FILE for one CSV; DIR (new or empty) for a pack"}, forceFlag,
			&cli.StringFlag{Name: "format", Value: report.FormatShadowserver, Usage: "shadowserver (CSV), intelmq or xarf (JSON lines)"},
			&cli.StringFlag{Name: "reporter", Usage: "ORG,EMAIL[,DOMAIN]: who notifies (IntelMQ feed.provider, X-ARF reporter)"},
			&cli.Int64Flag{Name: "changes-since", Usage: "RUN: what changed since that run of the series (new, regressed, still-exposed, fixed), in a change column"},
			&cli.StringFlag{Name: "resend-after", Usage: "AGE (7d, 36h): leave out findings told to the same recipient within AGE and unchanged since"},
			&cli.BoolFlag{Name: "mark-sent", Usage: "record in the store what this export tells whom, and when (for --resend-after)"},
		},
		Action: runExport,
	})
}

func runExport(c *cli.Context) error {
	by := c.String("by")
	cidrs, err := report.PackRecipients(by, c.String("output"), c.String("recipients"))
	if err != nil {
		return usageError{err}
	}
	format, err := report.ParseExportFormat(c.String("format"), c.String("reporter"), time.Now())
	if err != nil {
		return usageError{err}
	} else if c.IsSet("contacts-version") && by != "contact" {
		return usagef("--contacts-version goes with --by contact")
	}
	st, sums, err := openRuns(c)
	if err != nil {
		return err
	}
	defer st.Close()
	run, warning, err := report.ChooseExport(sums, c.Int64("run"))
	if err != nil {
		return usageError{err}
	} else if warning != "" {
		fmt.Fprintln(c.App.ErrWriter, "warning:", warning)
	}
	notify := report.Notify{Since: c.Int64("changes-since"), ResendAfter: c.String("resend-after"), MarkSent: c.Bool("mark-sent"), Honeypots: c.Bool("include-honeypots"),
		DB: c.String("db"), Coverage: census.Coverage, Now: time.Now(), Log: c.App.ErrWriter}
	if err := notify.Check(sums, run); err != nil {
		return usageError{err}
	}
	obs, err := st.Observations(c.Context, run.ID)
	if err != nil {
		return err
	}
	rules, err := loadRules(c)
	if err != nil {
		return err
	}
	ex := report.NewExporter(rules)
	ex.Format, ex.IncludeHoneypots = format, c.Bool("include-honeypots")
	if _, note := ex.Honeypots(obs); note != "" {
		fmt.Fprintf(c.App.ErrWriter, "run %d: %s\n", run.ID, note)
	}
	if by == "contact" {
		if ex.Contacts, _, err = census.Contacts(c.Context, st, c.Int64("contacts-version")); err != nil {
			return usageError{err} // no contacts, not that version, or a damaged one: import again
		}
	}
	pack := &report.Pack{Dir: c.String("output"), By: by, CIDRs: cidrs, Run: run, ToolVersion: version, Generated: time.Now(), Method: methodologyOf(run)}
	if obs, err = notify.Select(c.Context, st, run, obs, ex, pack.RecipientOf(ex)); err != nil {
		return err
	}
	if by != "" {
		doc, err := reportDocument(c, run, sums)
		if err != nil {
			return err
		}
		pack.Summary = doc.WriteMarkdown
		recips, err := pack.Write(obs, ex)
		if err != nil {
			return usageError{fmt.Errorf("-o %s: %w", pack.Dir, err)}
		}
		gateways, recipients := report.Totals(recips)
		fmt.Fprintf(c.App.ErrWriter, "exported run %d: %d gateways to %d recipients (%d files) in %s (index.csv, manifest.json; recipient files TLP:AMBER, summary.md TLP:CLEAR)\n",
			run.ID, gateways, recipients, len(recips), pack.Dir)
		return notify.Mark(c.Context, run, obs, ex, pack.RecipientOf(ex))
	}
	err = withOutput(c, func(w io.Writer) error { return ex.Write(w, obs) })
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "exported run %d: per-IP data, TLP:AMBER; advisories are version-implied, not exploit-confirmed\n", run.ID)
	if run.Enrichment != "" {
		fmt.Fprintf(c.App.ErrWriter, "asn and geo from: %s\n", run.Enrichment)
	}
	return notify.Mark(c.Context, run, obs, ex, pack.RecipientOf(ex))
}
