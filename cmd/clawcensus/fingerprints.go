package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report"
)

func fingerprintsCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "fingerprints",
		Usage: "the knowledge base in use (first line): its releases with build dates, UI bundles and advisories",
		Flags: []cli.Flag{dataFlag, fingerprintsFlag, &cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"}},
		Action: func(c *cli.Context) error {
			if f := c.String("format"); (f != "text" && f != "json") || c.NArg() > 0 {
				return usagef("--format %q: want text or json, and no arguments", f)
			}
			rules, err := loadRules(c)
			if err != nil {
				return err
			}
			if c.String("format") == "text" {
				fmt.Fprintln(c.App.Writer, "knowledge base:", rules.Knowledge)
			}
			return report.WriteReleases(c.App.Writer, c.String("format"), rules)
		},
		Subcommands: []*cli.Command{command(&cli.Command{
			Name:  "update",
			Usage: "refresh the knowledge base in use from an npm registry (and an OSV export) into --data",
			Flags: []cli.Flag{dataFlag, &cli.StringFlag{Name: "registry", Value: fingerprint.DefaultRegistry, Usage: "npm-compatible registry `URL`"},
				&cli.StringFlag{Name: "osv", Usage: "OSV export for the advisories: a `PATH` to a directory of records or a .zip"},
				&cli.BoolFlag{Name: "refresh", Usage: "re-read the releases already known"},
				&cli.BoolFlag{Name: "force", Usage: "write the result even if older than the one in use"}},
			Action: func(c *cli.Context) error {
				before, after, err := fingerprint.UpdateDataDir(c.Context, c.String("data"), fingerprint.UpdateConfig{Registry: c.String("registry"),
					OSV: c.String("osv"), Refresh: c.Bool("refresh"), Force: c.Bool("force"), Log: slog.Default()})
				if err == nil {
					fmt.Fprintf(c.App.Writer, "before: %s\nafter:  %s\n", before, after)
				} else if errors.Is(err, fingerprint.ErrUpdateConfig) {
					return usageError{err}
				}
				return err
			},
		})},
	})
}
