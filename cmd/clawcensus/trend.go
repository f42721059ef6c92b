package main

import (
	"encoding/json"
	"fmt"

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
			rows := report.Trend(sums)
			switch format {
			case "json":
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"days": rows})
			case "csv":
				w := report.NewCSV(c.App.Writer)
				w.Write([]string{"day", "run", "reachable", "auth_required", "no_auth", "auth_unknown", "vulnerable_version", "unofficial", "ports", "targets"})
				for _, r := range rows {
					w.Write([]string{r.Day, fmt.Sprint(r.Run), fmt.Sprint(r.Reachable), fmt.Sprint(r.AuthRequired), fmt.Sprint(r.NoAuth),
						fmt.Sprint(r.AuthUnknown), fmt.Sprint(r.Vulnerable), fmt.Sprint(r.Unofficial), r.Ports, r.Targets})
				}
				w.Flush()
				return w.Error()
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintln(c.App.Writer, "no complete runs yet")
				return err
			}
			fmt.Fprintf(c.App.Writer, "%-10s %5s %9s %9s %7s %9s %10s %10s  %s\n", "DAY", "RUN", "REACHABLE", "AUTH-REQ", "NO-AUTH", "AUTH-UNKN", "VULNERABLE", "UNOFFICIAL", "PORTS / TARGETS")
			for _, r := range rows {
				fmt.Fprintf(c.App.Writer, "%-10s %5d %9d %9d %7d %9d %10d %10d  %s / %s\n", r.Day, r.Run, r.Reachable, r.AuthRequired,
					r.NoAuth, r.AuthUnknown, r.Vulnerable, r.Unofficial, r.Ports, truncate(r.Targets, 40))
			}
			return nil
		},
	})
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
