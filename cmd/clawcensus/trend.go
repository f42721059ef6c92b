package main

import (
	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/report"
)

func trendCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "trend",
		Usage:       "per day: reachable gateways, with auth, without auth, on a vulnerable version, unofficial builds",
		Description: report.TrendHelp,
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or csv"},
			&cli.StringFlag{Name: "series", Usage: "only this series: a name given with --series, or a key or label as trend prints it (default: every series)"},
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
			if c.IsSet("series") {
				in, ok := report.InSeries(sums, c.String("series"))
				if !ok {
					return usagef("--series %q: no run is in that series (%s lists every series)", c.String("series"), hint(c, "trend"))
				}
				sums = in
			}
			return report.WriteTrend(c.App.Writer, format, report.Trend(sums))
		},
	})
}
