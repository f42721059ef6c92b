package main

import (
	"encoding/json"
	"errors"
	"strconv"

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
			id, err := strconv.ParseInt(c.Args().First(), 10, 64)
			if c.NArg() != 1 || err != nil || id <= 0 {
				return usagef("give one RUN id (%s lists them), not %q", hint(c, "report"), c.Args().Slice())
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
