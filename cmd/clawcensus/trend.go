package main

import (
	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/report"
)

func trendCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "trend",
		Usage: "per day: reachable gateways, with auth, without auth, on a vulnerable version, unofficial builds",
		Description: "One row per UTC day, from that day's last complete run (interrupted and failed runs are\n" +
			"left out: a partial sweep would read as a drop). Each row names its run, ports and\n" +
			"targets, so series from different methods are never mixed without saying so.",
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or csv"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "json" && format != "csv" {
				return usagef("--format %q: want text, json or csv", format)
			}
			st, sums, err := openRuns(c)
			if err != nil {
				return err
			}
			defer st.Close()
			return report.WriteTrend(c.App.Writer, format, report.Trend(sums))
		},
	})
}
