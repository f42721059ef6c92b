package main

import (
	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report"
)

func fingerprintsCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "fingerprints",
		Usage: "list the known releases with build dates, UI bundles and advisories",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			if f := c.String("format"); f != "text" && f != "json" {
				return usagef("--format %q: want text or json", f)
			}
			rules, err := fingerprint.LoadRules()
			if err != nil {
				return err
			}
			return report.WriteReleases(c.App.Writer, c.String("format"), rules)
		},
	})
}
