package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/store"
)

func reanalyzeCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "reanalyze",
		Usage:       "judge stored gateways again from their kept facts with the knowledge base in use, without a packet",
		Description: census.ReanalyzeHelp,
		Flags: append([]cli.Flag{&cli.Int64Flag{Name: "run", Usage: "the run to reanalyse"},
			&cli.BoolFlag{Name: "all", Usage: "every run"}}, flagsOf(forReanalyze|forReports)...),
		Action: func(c *cli.Context) error {
			if c.IsSet("run") == c.Bool("all") {
				return usagef("give --run N or --all")
			}
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			id, done, err := cen.Reanalyze(c.Context, census.ReanalyzeConfig{Run: c.Int64("run"), Knowledge: knowledge(c), Force: c.Bool("force")})
			for _, r := range done {
				fmt.Fprintln(c.App.Writer, r)
			}
			if errors.Is(err, census.ErrOlderKnowledge) || errors.Is(err, store.ErrNoRun) {
				return usageError{err}
			}
			if err == nil {
				fmt.Fprintf(c.App.ErrWriter, "knowledge base: %s\n", id)
			}
			return err
		},
	})
}
