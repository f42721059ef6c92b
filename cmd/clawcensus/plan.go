package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
)

// planCommand stores a plan and queues its units for workers; it sends nothing itself.
func planCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "plan",
		Usage:     "store a census plan and queue its work units for workers; prints {\"run\": N}",
		ArgsUsage: scanCommand().ArgsUsage,
		Flags:     flagsOf(forPlan),
		Action: func(c *cli.Context) error {
			p, shard, err := newPlan(c)
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				return printDryRun(c, p, shard)
			}
			if p.CandidatesStdin {
				return usagef("candidates from stdin can only be scanned here (clawcensus scan --candidates -): workers cannot read this stdin")
			}
			info := runInfo(c)
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			run, units, err := cen.Start(c.Context, p, info, shard, census.Shared)
			if err != nil {
				return err
			}
			return json.NewEncoder(c.App.Writer).Encode(map[string]int64{"run": run.ID, "units": int64(len(units))})
		},
	})
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
			if err != nil && c.Context.Err() != nil {
				return nil // stopped by a signal: the units in hand stay unfinished for others
			}
			return err
		},
	})
}
