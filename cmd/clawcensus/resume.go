package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
)

func resumeCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "resume",
		Usage:     "requeue an unfinished run's units for workers (clawcensus worker); prints {\"run\": N, \"units\": K}",
		ArgsUsage: "RUN",
		Flags:     []cli.Flag{dbFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("give one RUN id (clawcensus report lists them)")
			}
			var id int64
			if _, err := fmt.Sscan(c.Args().First(), &id); err != nil || id <= 0 {
				return usagef("run %q: want a run id", c.Args().First())
			}
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			_, todo, err := cen.Resume(c.Context, census.ResumeConfig{Run: id})
			if errors.Is(err, census.ErrNotResumable) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			return json.NewEncoder(c.App.Writer).Encode(map[string]int64{"run": id, "units": int64(len(todo))})
		},
	})
}
