package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/store"
)

func resumeCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "resume",
		Usage:     "requeue an unfinished run's units for workers (clawcensus worker); prints {\"run\": N, \"units\": K}",
		ArgsUsage: "RUN",
		Flags:     []cli.Flag{dbFlag},
		Action: func(c *cli.Context) error {
			id, err := runArg(c)
			if err != nil {
				return err
			}
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			_, todo, err := resumable(c, cen, id)
			if err != nil {
				return err
			}
			if err := cen.EnqueueTo(c.Context, id, todo, census.QueueShared); err != nil {
				return err
			}
			return json.NewEncoder(c.App.Writer).Encode(map[string]int64{"run": id, "units": int64(len(todo))})
		},
	})
}

func runArg(c *cli.Context) (int64, error) {
	if c.NArg() != 1 {
		return 0, usagef("give one RUN id (clawcensus report lists them)")
	}
	var id int64
	if _, err := fmt.Sscan(c.Args().First(), &id); err != nil || id <= 0 {
		return 0, usagef("run %q: want a run id", c.Args().First())
	}
	return id, nil
}

// resumable loads run id's plan and unfinished units, refusing what cannot be resumed, and
// retires its old jobs so that the units can be enqueued afresh.
func resumable(c *cli.Context, cen *census.Census, id int64) (*census.Plan, []int64, error) {
	p, todo, err := cen.Resumable(c.Context, id)
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			return nil, nil, err
		}
		return nil, nil, usageError{err}
	}
	if err := cen.Requeue(c.Context, id); err != nil {
		return nil, nil, err
	}
	return p, todo, nil
}

// resumeHere continues run id in this process (scan --resume): the stored plan, its rate
// unless --rate lowers it, its unfinished units.
func resumeHere(c *cli.Context, id int64) error {
	for _, f := range planFlags {
		if c.IsSet(f) && f != "scope" {
			return usagef("--resume takes the run's stored plan; drop --%s", f)
		}
	}
	if c.NArg() > 0 {
		return usagef("--resume takes the run's stored targets; drop %v", c.Args().Slice())
	}
	cen, err := openCensus(c)
	if err != nil {
		return err
	}
	defer cen.Close()
	p, todo, err := resumable(c, cen, id)
	if err != nil {
		return err
	}
	// --scope (or CLAWCENSUS_SCOPE) guards a resume too: the stored targets must lie inside it.
	if err := p.CheckScope(c.String("scope")); err != nil {
		return usageError{err}
	}
	if c.IsSet("rate") && c.Int("rate") > p.Rate {
		return usagef("--rate %d: a resume may only lower the run's rate (%d/s)", c.Int("rate"), p.Rate)
	}
	rate := p.Rate
	if c.IsSet("rate") {
		rate = c.Int("rate")
	}
	p.Rate = rate
	slog.Info("resuming", "run", id, "units_left", len(todo), "rate", rate, "method", resolvedMethod(p))
	return workHere(c, cen, id, p, 0, todo)
}
