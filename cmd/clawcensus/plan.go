package main

import (
	"github.com/clawcensus/clawcensus/observation"

	"encoding/json"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
)

// planCommand stores a plan and queues its units for workers; it sends nothing itself.
func planCommand() *cli.Command {
	scan := scanCommand()
	var flags []cli.Flag
	for _, f := range scan.Flags {
		// What only a running process uses stays with scan and worker.
		if name := f.Names()[0]; !slices.Contains([]string{"resume", "format", "all", "max-runtime", "metrics-addr", "lease", "spool"}, name) {
			flags = append(flags, f)
		}
	}
	return command(&cli.Command{
		Name:      "plan",
		Usage:     "store a census plan and queue its work units for workers; prints {\"run\": N}",
		ArgsUsage: scan.ArgsUsage,
		Flags:     flags,
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
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			info := census.RunInfo{ToolVersion: version, Authorization: c.String("authorization"), Targets: describeTargets(c),
				Method: p.Method}
			run, units, err := cen.Start(c.Context, p, info, shard)
			if err != nil {
				return err
			}
			if err := cen.EnqueueTo(c.Context, run.ID, units, census.QueueShared); err != nil {
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
			out, err := newWriter(c.App.Writer, c.String("format"), c.Bool("all"))
			if err != nil {
				return err
			}
			cen, err := openCensus(c)
			if err != nil {
				return err
			}
			defer cen.Close()
			stats := &census.Stats{}
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
				Lease: c.Duration("lease"), Spool: c.String("spool"), ToolVersion: version, Stats: stats, Raw: raw,
				Emit: func(o observation.Observation) {
					if !c.Bool("quiet") {
						out.write(o)
					}
				}})
			if ferr := out.flush(); ferr != nil && err == nil {
				err = fmt.Errorf("stdout: %w", ferr)
			}
			if err != nil && c.Context.Err() != nil {
				return nil // stopped by a signal: the units in hand stay unfinished for others
			}
			return err
		},
	})
}
