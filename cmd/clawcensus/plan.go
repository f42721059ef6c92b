package main

import (
	"encoding/json"
	"fmt"

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
		Flags:     append(flagsOf(inPlan, inBoth), scanFlags[1].Flag), // and the plan's --rate
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
			info := runInfo(c, p)
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
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Usage: "keep waiting for new units (a long-running service)"},
			&cli.IntFlag{Name: "rate", Usage: "lower the planned rate for this worker (probes per second)"},
			&cli.StringFlag{Name: "id", Usage: "worker id in leases and heartbeats (default: host-pid-random)"},
			&cli.StringFlag{Name: "scope", EnvVars: []string{"CLAWCENSUS_SCOPE"}, Usage: "this worker's authorized scope: runs with targets outside it are refused"},
			&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "stdout format: jsonl, csv or table"},
			&cli.BoolFlag{Name: "all", Usage: "also print HTTP services that are not gateways"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stdout (results go to the store)"},
			leaseFlag, spoolFlag, dbFlag, userFlag,
		},
		Action: func(c *cli.Context) error {
			if c.Int("rate") < 0 {
				return usagef("--rate %d: must be positive", c.Int("rate"))
			}
			if c.Duration("lease") <= 0 {
				return usagef("--lease %s: must be positive", c.Duration("lease"))
			}
			out, err := report.NewRowWriter(c.App.Writer, c.String("format"), c.Bool("all"))
			if err != nil {
				return usageError{err}
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
			raw, err := lowerPrivileges(c, true, own)
			if err != nil {
				return err
			}
			defer raw.Close()
			err = cen.Work(c.Context, census.WorkerConfig{ID: c.String("id"), Scope: c.String("scope"), Follow: c.Bool("follow"), Rate: c.Int("rate"),
				Lease: c.Duration("lease"), Spool: c.String("spool"), ToolVersion: version, Raw: raw,
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
