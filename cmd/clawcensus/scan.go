package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/scanner"
)

func scanCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "scan",
		Usage:     "sweep targets, fingerprint what answers, store and print detections",
		ArgsUsage: "TARGET... (IP, CIDR, a.b.c.d-e.f.g.h, @file, - for stdin)",
		Flags:     flagsOf(forScan),
		Action:    runScan,
	})
}

// newPlan makes the plan of the flags and targets, refusing what the user must change.
func newPlan(c *cli.Context) (*census.Plan, *uint64, error) {
	if err := refuseEmpty(c, forPlan|forScan); err != nil {
		return nil, nil, err
	}
	cfg := census.PlanConfig{Targets: targets(c), Stdin: c.App.Reader, Candidates: c.String("candidates"),
		Lab: c.Bool("lab"), Excludes: c.StringSlice("exclude"), OptOuts: c.StringSlice("optout"), Scope: c.String("scope"), Aliased: c.String("aliased"),
		Rate: c.Int("rate"), Method: c.String("scan-type"), Timeout: c.Duration("timeout"), HTTPTimeout: c.Duration("http-timeout"),
		FirstByte: c.Duration("first-byte-timeout"), ProbeMiddleboxes: c.Bool("probe-middleboxes"), Concurrency: c.Int("concurrency"),
		Contact: c.String("contact"), ActiveProbe: c.StringSlice("active-probe"), WebSocket: c.Bool("websocket"),
		CountryDB: c.String("country-db"), ASNDB: c.String("asn-db"), UnitSize: c.Uint64("unit-size"), DryRun: c.Bool("dry-run"),
		Knowledge: knowledge(c)}
	retries := c.Int("retries")
	cfg.Retries = &retries
	if c.IsSet("seed") {
		seed := c.Int64("seed")
		cfg.Seed = &seed
	}
	if _, err := census.ReadAuthorization(c.String("authorization")); err != nil {
		return nil, nil, usageError{fmt.Errorf("--authorization: %w", err)} // checked before a run exists
	}
	var err error
	if c.IsSet("series") {
		if err := census.CheckSeriesName(c.String("series")); err != nil {
			return nil, nil, usageError{fmt.Errorf("--series: %w", err)}
		}
	}
	if cfg.Ports, err = scanner.ParsePorts(c.String("ports")); err != nil {
		return nil, nil, usageError{err}
	}
	sh, err := scanner.ParseShard(c.String("shard"))
	if err != nil {
		return nil, nil, usageError{err}
	}
	cfg.Shards = sh.Count
	if cfg.Method == scanner.MethodSYN {
		if ok, why := scanner.SYNAvailable(); !ok {
			return nil, nil, usagef("syn scan impossible: %s; use --scan-type connect", why)
		}
	}
	p, err := census.NewPlan(cfg)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("%w (see clawcensus %s --help)", err, c.Command.Name)}
	}
	var shard *uint64
	if c.IsSet("shard") {
		shard = &sh.Index
	}
	if probes, large := p.Large(shard); large && !c.Bool("confirm-large") && !c.Bool("dry-run") {
		return nil, nil, usagef("%d probes is an Internet-scale run: coordinate with your network first, then add --confirm-large", probes)
	}
	return p, shard, nil
}

// targets is the command's target arguments, then each --targets-file as @FILE ("-" as itself).
func targets(c *cli.Context) []string {
	t := c.Args().Slice()
	for _, f := range c.StringSlice("targets-file") {
		if f != "-" {
			f = "@" + f
		}
		t = append(t, f)
	}
	return t
}

// runInfo describes the run beyond its plan, as the report shows it.
func runInfo(c *cli.Context) census.RunInfo {
	return census.RunInfo{ToolVersion: version, Authorization: c.String("authorization"), Series: c.String("series"),
		Targets: census.DescribeTargets(targets(c), c.String("candidates"))}
}

func runScan(c *cli.Context) error {
	if !slices.Contains(report.RowFormats, c.String("format")) {
		return usagef("--format %q: want %s", c.String("format"), strings.Join(report.RowFormats, ", "))
	}
	cfg := census.ScanConfig{Resume: c.Int64("resume"), MaxRuntime: c.Duration("max-runtime")}
	if c.IsSet("resume") {
		for _, f := range flags {
			if name := f.Names()[0]; f.use&forScan != 0 && f.planOnly() && c.IsSet(name) {
				return usagef("--resume takes the run's stored plan; drop --%s", name)
			}
		}
		if c.NArg() > 0 {
			return usagef("--resume takes the run's stored targets; drop %v", c.Args().Slice())
		}
		if err := refuseEmpty(c, forScan); err != nil {
			return err
		}
		cfg.Scope = c.String("scope")
		if c.IsSet("rate") {
			cfg.Rate = c.Int("rate")
		}
	} else {
		p, shard, err := newPlan(c)
		if err != nil {
			return err
		}
		if c.Bool("dry-run") {
			return printDryRun(c, p, shard)
		}
		cfg.Info = runInfo(c)
		cfg.Plan, cfg.Shard = p, shard
	}
	// Who the run will be once privileges go, asked now: a --user that cannot reach the files
	// is refused before a run exists.
	own, err := workerFiles(c)
	if err != nil {
		return err
	}
	if cfg.Plan != nil {
		if _, _, err := runAs(c, own, cfg.Plan.Paths()); err != nil {
			return err
		}
	}
	out, err := report.NewRowWriter(c.App.Writer, c.String("format"), c.Bool("all"))
	if err != nil {
		return err
	}
	if cfg.Metrics, err = census.ListenMetrics(c.String("metrics-addr")); err != nil {
		return usageError{fmt.Errorf("--metrics-addr: %w", err)}
	}
	if cfg.Metrics != nil {
		defer cfg.Metrics.Close()
	}
	cen, err := openCensus(c)
	if err != nil {
		return err
	}
	defer cen.Close()

	ctx, stop := context.WithCancelCause(c.Context)
	defer stop(nil)
	cfg.Progress = census.NewProgress(c.App.ErrWriter)
	out.BeforeRow = cfg.Progress.Clear
	var raw *scanner.Raw
	defer func() { raw.Close() }()
	cfg.Started = func(run int64, p *census.Plan, units []int64) (*scanner.Raw, error) {
		var err error
		raw, err = lowerPrivileges(c, p.ResolvedMethod() == scanner.MethodSYN, own, p.Paths())
		return raw, err
	}
	outOK := true
	cfg.Worker = census.WorkerConfig{Lease: c.Duration("lease"), TTL: c.Duration("heartbeat-ttl"),
		HeartbeatTimeout: c.Duration("heartbeat-timeout"), Spool: c.String("spool"), ToolVersion: version,
		Stdin: c.App.Reader, Emit: func(o observation.Observation) {
			if outOK {
				if err := out.Write(o); err != nil {
					outOK = false
					stop(fmt.Errorf("stdout closed (%v); results stay in the store", err))
				}
			}
		}}
	run, err := cen.Scan(ctx, &cfg)
	flushErr := out.Flush() // the table, sorted; the run's status does not depend on stdout
	switch {
	case errors.Is(err, census.ErrInterrupted):
		return fmt.Errorf("%w; continue with: %s", err, hint(c, "scan", "--resume", fmt.Sprint(run)))
	case errors.Is(err, census.ErrNotResumable) || errors.Is(err, scanner.ErrNoTargets):
		return usageError{err} // as a sweep whose targets are all excluded
	case err != nil:
		return err
	case flushErr != nil:
		return fmt.Errorf("run %d complete, but stdout failed (%w); results are in the store", run, flushErr)
	}
	return nil
}

func printDryRun(c *cli.Context, p *census.Plan, shard *uint64) error {
	if p.Candidates != nil || p.CandidatesStdin {
		return usagef("--dry-run plans a sweep; with --candidates there is nothing to sweep")
	}
	if err := p.WriteDryRun(c.App.Writer, shard, c.Bool("confirm-large")); err != nil || p.OutsideScope == "" {
		return err
	}
	return usagef("--dry-run: a run would be refused: %s", p.OutsideScope)
}
