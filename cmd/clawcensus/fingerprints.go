package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
)

func fingerprintsCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "fingerprints",
		Usage: "list the known releases with build dates, UI bundles and advisories",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			rules, err := fingerprint.LoadRules()
			if err != nil {
				return err
			}
			type row struct {
				fingerprint.Release
				Advisories []string `json:"advisories"`
			}
			var rows []row
			for _, rel := range rules.Releases {
				rows = append(rows, row{rel, nonNil(rules.AdvisoriesFor(rel.Package, rel.Version))})
			}
			switch c.String("format") {
			case "json":
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			case "text":
			default:
				return usagef("--format %q: want text or json", c.String("format"))
			}
			w := c.App.Writer
			fmt.Fprintf(w, "%-9s %-20s %-10s %-12s %-34s %s\n", "PACKAGE", "VERSION", "BUILT", "COMMIT", "UI BUNDLE", "ADVISORIES")
			for _, r := range rows {
				built := r.BuiltAt
				if len(built) >= 10 {
					built = built[:10]
				}
				bundle := strings.Join(r.Assets, ",")
				if r.Broken != "" {
					bundle = "(" + r.Broken + ")"
				}
				commit := r.Commit
				if len(commit) > 12 {
					commit = commit[:12]
				}
				fmt.Fprintf(w, "%-9s %-20s %-10s %-12s %-34s %s\n", r.Package, r.Version, orDash(built), orDash(commit),
					bundle, strings.Join(r.Advisories, ","))
			}
			fmt.Fprintf(w, "%d releases, %d advisories\n\n%-26s %-9s %-34s %s\n", len(rows), len(rules.Advisories), "ADVISORY", "SEVERITY", "ALSO KNOWN AS", "SUMMARY")
			for _, a := range rules.Advisories {
				fmt.Fprintf(w, "%-26s %-9s %-34s %s\n", a.ID, orDash(strings.ToLower(a.Severity)), orDash(strings.Join(a.Aliases, ",")), a.Summary)
			}
			return nil
		},
	})
}
