package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
)

// planCommand stores a plan and queues its units for workers; it sends nothing itself.
func planCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "plan",
		Usage:       "store a census plan and queue its work units for workers; prints {\"run\": N}",
		ArgsUsage:   scanCommand().ArgsUsage,
		Flags:       flagsOf(forPlan),
		Description: census.PlanHelp,
		Action: func(c *cli.Context) error {
			return census.Repeat(c.Context, func() (time.Duration, error) { return planOnce(c) })
		},
	})
}

// planOnce stores the plan the flags describe (with --every: the series' next run, when due)
// and says when to plan again (--follow) or 0.
func planOnce(c *cli.Context) (time.Duration, error) {
	rec := census.Recurrence{Every: c.Duration("every"), MaxOverlap: c.Duration("max-overlap"), Force: c.Bool("force"), Follow: c.Bool("follow")}
	if rec.Every > 0 && c.String("series") != "" && !c.Bool("dry-run") { // nothing due: no target list read
		if next, due, err := dueNext(c, rec); err != nil || !due {
			return next.Wait, err
		}
	}
	p, shard, err := newPlan(c)
	if err != nil {
		return 0, err
	}
	if err := rec.Check(p, shard != nil, c.String("series")); err != nil {
		return 0, usageError{err}
	}
	if c.Bool("dry-run") {
		return 0, printDryRun(c, p, shard)
	}
	if p.CandidatesStdin {
		return 0, usagef("candidates from stdin can only be scanned here (%s): workers cannot read this stdin", hint(c, "scan", "--candidates", "-"))
	}
	cen, err := openCensus(c)
	if err != nil {
		return 0, err
	}
	defer cen.Close()
	next, err := cen.StartNext(c.Context, p, runInfo(c), shard, rec)
	if err == nil && rec.Every > 0 {
		fmt.Fprintln(c.App.ErrWriter, "clawcensus:", next)
	}
	if err == nil && next.Run != nil {
		err = json.NewEncoder(c.App.Writer).Encode(map[string]int64{"run": next.Run.ID, "units": int64(len(next.Units))})
	}
	return next.Wait, err
}

// dueNext says whether the series' next run is due, and when it is not, why.
func dueNext(c *cli.Context, rec census.Recurrence) (census.Next, bool, error) {
	cen, err := openCensus(c)
	if err != nil {
		return census.Next{}, false, err
	}
	defer cen.Close()
	next, due, err := cen.Due(c.Context, c.String("series"), rec)
	if err == nil && !due {
		fmt.Fprintln(c.App.ErrWriter, "clawcensus:", next)
	}
	return next, due, err
}

// workerCommand leases units of planned runs until none is left (or, with --follow, forever).
func workerCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "worker",
		Usage: "work planned census units from the store until none is left (--follow: keep waiting)",
		Flags: flagsOf(forWorker),
		Action: func(c *cli.Context) error {
			if err := refuseEmpty(c, forWorker); err != nil {
				return err
			}
			if !slices.Contains(report.RowFormats, c.String("format")) {
				return usagef("--format %q: want %s", c.String("format"), strings.Join(report.RowFormats, ", "))
			}
			out, err := report.NewRowWriter(c.App.Writer, c.String("format"), c.Bool("all"))
			if err != nil {
				return err
			}
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			own, err := workerFiles(c)
			if err != nil {
				return err
			}
			raw, err := lowerPrivileges(c, true, own, nil)
			if err != nil {
				return err
			}
			defer raw.Close()
			err = cen.Work(c.Context, census.WorkerConfig{ID: c.String("id"), Scope: c.String("scope"), Follow: c.Bool("follow"), Rate: c.Int("rate"),
				Lease: c.Duration("lease"), TTL: c.Duration("heartbeat-ttl"), HeartbeatTimeout: c.Duration("heartbeat-timeout"),
				Spool: c.String("spool"), ToolVersion: version, Raw: raw,
				Emit: func(o observation.Observation) {
					if !c.Bool("quiet") {
						out.Write(o)
					}
				}})
			if ferr := out.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("stdout: %w", ferr)
			}
			return err // stopped by a signal: interrupted, as scan (exit 1), its units back in the queue
		},
	})
}
