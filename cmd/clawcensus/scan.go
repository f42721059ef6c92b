package main

import (
	"github.com/clawcensus/clawcensus/observation"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/enrich"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// largeScan is the probe count above which a scan needs --confirm-large: an Internet-scale run
// must be coordinated with the operator's own network first (ZMap's practice).
const largeScan = 1 << 24

func scanCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "scan",
		Usage:     "sweep targets, fingerprint what answers, store and print detections",
		ArgsUsage: "TARGET... (IP, CIDR, a.b.c.d-e.f.g.h, @file, - for stdin)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ports", Aliases: []string{"p"}, Value: scanner.DefaultPorts, Usage: "ports: list, ranges, presets (gateway, proxies, funnel, hosted, sidecar, wild)"},
			&cli.IntFlag{Name: "rate", Value: 1000, Usage: "probes per second, paced evenly"},
			&cli.Int64Flag{Name: "seed", Usage: "permutation seed (default: random, recorded with the run)"},
			&cli.StringFlag{Name: "shard", Value: "0/1", Usage: "i/N: scan the i-th of N disjoint parts (same --seed in every part)"},
			&cli.StringFlag{Name: "scan-type", Value: scanner.MethodAuto, Usage: "auto, syn or connect"},
			&cli.IntFlag{Name: "retries", Value: 1, Usage: "extra probes for a target that did not answer"},
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Second, Usage: "connect timeout and wait for late SYN answers"},
			&cli.DurationFlag{Name: "http-timeout", Value: 10 * time.Second, Usage: "deadline for all HTTP probes to one host"},
			firstByteFlag,
			&cli.BoolFlag{Name: "probe-middleboxes", Usage: "fingerprint hosts that also answer on the sweep's two control ports (by default stored as middlebox, unprobed)"},
			&cli.IntFlag{Name: "concurrency", Value: census.DefaultConcurrency, Usage: "hosts fingerprinted at once (a silent host holds a socket and a few KiB; bodies share a 128 MiB budget)"},
			&cli.BoolFlag{Name: "lab", Usage: "lift the built-in reserved-range blocklist (for lab networks you own)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "file of CIDRs/ranges never to probe (repeatable)"},
			&cli.StringSliceFlag{Name: "optout", EnvVars: []string{"CLAWCENSUS_OPTOUT"}, Usage: "opt-out register, CSV: network,requested_by,requested_at,verification,reason (repeatable)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the target count, probes and duration; send nothing"},
			&cli.StringFlag{Name: "candidates", Usage: "skip the sweep: probe what another sweeper found, from FILE or - (ip:port lines; zmap, naabu, masscan or nmap output as written: CSV, JSON, -oL, -oG, XML)"},
			&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "stdout format: jsonl, csv or table"},
			&cli.BoolFlag{Name: "all", Usage: "also print HTTP services that are not gateways"},
			&cli.StringFlag{Name: "contact", Usage: "contact URL or address for the User-Agent, e.g. https://example.org/scan"},
			&cli.StringSliceFlag{Name: "active-probe", Usage: "enable an active probe (invoke: POST /tools/invoke {} to tell auth on old releases)"},
			&cli.BoolFlag{Name: "websocket", Usage: "read each gateway's first WebSocket frame (connect.challenge) and close; sends no method call"},
			&cli.DurationFlag{Name: "max-runtime", Usage: "stop after this long (the run is marked interrupted)"},
			&cli.BoolFlag{Name: "confirm-large", Usage: "allow 16M probes or more (coordinate with your network first)"},
			&cli.StringFlag{Name: "scope", EnvVars: []string{"CLAWCENSUS_SCOPE"}, Usage: "authorized scope, comma-separated CIDRs: every probe outside it is refused at send time"},
			&cli.StringFlag{Name: "country-db", EnvVars: []string{"CLAWCENSUS_COUNTRY_DB"}, Usage: "mmdb file mapping addresses to countries (GeoLite2-Country, DB-IP Lite, ip-location-db)"},
			&cli.StringFlag{Name: "asn-db", EnvVars: []string{"CLAWCENSUS_ASN_DB"}, Usage: "mmdb file mapping addresses to autonomous systems (GeoLite2-ASN, ip-location-db)"},
			&cli.StringFlag{Name: "authorization", Usage: "the run's authorization record: who asked, for what purpose, scope and time window (stored with the run)"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve Prometheus metrics of the running scan on ip:port, e.g. 127.0.0.1:9464"},
			&cli.Int64Flag{Name: "resume", Usage: "continue an unfinished run with its stored plan: its unfinished units, here (--rate may lower its rate)"},
			&cli.Uint64Flag{Name: "unit-size", Usage: "probes per work unit (default: five minutes at --rate, at least 4,096 probes and a thousandth of the sweep)"},
			leaseFlag, spoolFlag, userFlag,
			dbFlag,
		},
		Action: runScan,
	})
}

var (
	firstByteFlag = &cli.DurationFlag{Name: "first-byte-timeout", Value: 3 * time.Second, Usage: "per HTTP probe: connect and wait for the response headers (a host that accepts and never answers costs this, not --http-timeout)"}
	leaseFlag     = &cli.DurationFlag{Name: "lease", Value: census.DefaultLease, Usage: "how long a work unit may take before it is handed to another worker"}
	spoolFlag     = &cli.StringFlag{Name: "spool", EnvVars: []string{"CLAWCENSUS_SPOOL"}, Value: census.DefaultSpool, Usage: "directory where observations wait while the database is away"}
)

// planFlags are the flags that make a plan; resume takes the stored plan instead.
var planFlags = []string{"candidates", "ports", "seed", "shard", "lab", "exclude", "optout", "scope", "scan-type", "retries",
	"timeout", "http-timeout", "first-byte-timeout", "probe-middleboxes", "concurrency", "contact", "active-probe", "websocket", "country-db", "asn-db", "unit-size",
	"authorization", "confirm-large"}

// planConfig maps the plan flags and targets to a census plan; shard is set by --shard.
func planConfig(c *cli.Context) (census.Config, *uint64, error) {
	cfg := census.Config{Targets: c.Args().Slice(), Stdin: c.App.Reader, Candidates: c.String("candidates"),
		Lab: c.Bool("lab"), Excludes: c.StringSlice("exclude"), OptOuts: c.StringSlice("optout"), Scope: c.String("scope"),
		Rate: c.Int("rate"), Method: c.String("scan-type"), Timeout: c.Duration("timeout"), HTTPTimeout: c.Duration("http-timeout"),
		FirstByte: c.Duration("first-byte-timeout"), ProbeMiddleboxes: c.Bool("probe-middleboxes"), Concurrency: c.Int("concurrency"), Contact: c.String("contact"), ActiveProbe: c.StringSlice("active-probe"),
		WebSocket: c.Bool("websocket"), CountryDB: c.String("country-db"), ASNDB: c.String("asn-db"), UnitSize: c.Uint64("unit-size")}
	for _, f := range []string{"rate", "concurrency"} {
		if c.Int(f) <= 0 {
			return cfg, nil, usagef("--%s %d: must be positive", f, c.Int(f))
		}
	}
	if c.Int("retries") < 0 {
		return cfg, nil, usagef("--retries %d: must be zero or more", c.Int("retries"))
	}
	for _, f := range []string{"timeout", "http-timeout", "first-byte-timeout", "max-runtime", "lease"} {
		if c.IsSet(f) && c.Duration(f) <= 0 {
			return cfg, nil, usagef("--%s %s: must be positive", f, c.Duration(f))
		}
	}
	for _, f := range []string{"ports", "shard", "scan-type", "contact", "authorization"} {
		if c.IsSet(f) && strings.TrimSpace(c.String(f)) == "" {
			return cfg, nil, usagef("--%s is empty: give a value or leave the flag out", f)
		}
	}
	for _, f := range []string{"exclude", "optout", "active-probe"} {
		if slices.Contains(c.StringSlice(f), "") {
			return cfg, nil, usagef("--%s is empty: give a value or leave the flag out", f)
		}
	}
	retries := c.Int("retries")
	cfg.Retries = &retries
	if c.IsSet("seed") {
		seed := c.Int64("seed")
		cfg.Seed = &seed
	}
	var err error
	if cfg.Ports, err = scanner.ParsePorts(c.String("ports")); err != nil {
		return cfg, nil, usageError{err}
	}
	sh, err := scanner.ParseShard(c.String("shard"))
	if err != nil {
		return cfg, nil, usageError{err}
	}
	cfg.Shards = sh.Count
	var shard *uint64
	if c.IsSet("shard") {
		shard = &sh.Index
	}
	if cfg.Candidates == "" && len(cfg.Targets) == 0 {
		return cfg, nil, usagef("no targets: give TARGET... or --candidates FILE (see clawcensus %s --help)", c.Command.Name)
	}
	if cfg.Candidates != "" && len(cfg.Targets) > 0 {
		return cfg, nil, usagef("give targets or --candidates, not both")
	}
	if cfg.Method == scanner.MethodSYN {
		if ok, why := scanner.SYNAvailable(); !ok {
			return cfg, nil, usagef("syn scan impossible: %s; use --scan-type connect", why)
		}
	}
	return cfg, shard, nil
}

// newPlan makes the plan of the flags, refusing what the user must change.
func newPlan(c *cli.Context) (*census.Plan, *uint64, error) {
	cfg, shard, err := planConfig(c)
	if err != nil {
		return nil, nil, err
	}
	cfg.DryRun = c.Bool("dry-run")
	p, err := census.NewPlan(cfg)
	if err != nil {
		return nil, nil, usageError{err}
	}
	probes := p.Probes
	if shard != nil {
		probes = p.ShardProbes[*shard]
	}
	if probes >= largeScan && !c.Bool("confirm-large") && !c.Bool("dry-run") {
		return nil, nil, usagef("%d probes is an Internet-scale run: coordinate with your network first, then add --confirm-large", probes)
	}
	return p, shard, nil
}

// resolvedMethod is the sweep method this process would use for the plan.
func resolvedMethod(p *census.Plan) string {
	switch {
	case p.Candidates != nil || p.CandidatesStdin:
		return "candidates"
	case p.Method != scanner.MethodAuto:
		return p.Method
	}
	if ok, _ := scanner.SYNAvailable(); ok {
		return scanner.MethodSYN
	}
	return scanner.MethodConnect
}

func describeTargets(c *cli.Context) string {
	if f := c.String("candidates"); f != "" {
		return "candidates:" + f
	}
	s := strings.Join(c.Args().Slice(), " ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

func runScan(c *cli.Context) error {
	if !slices.Contains([]string{"jsonl", "csv", "table"}, c.String("format")) {
		return usagef("--format %q: want jsonl, csv or table", c.String("format"))
	}
	if c.IsSet("resume") {
		return resumeHere(c, c.Int64("resume"))
	}
	p, shard, err := newPlan(c)
	if err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return printDryRun(c, p, shard)
	}
	cen, err := openCensus(c)
	if err != nil {
		return err
	}
	defer cen.Close()
	info := census.RunInfo{ToolVersion: version, Authorization: c.String("authorization"), Targets: describeTargets(c),
		Method: resolvedMethod(p)}
	if p.CountryDB != nil || p.ASNDB != nil {
		en, err := enrich.Open(enrich.Config{CountryDB: c.String("country-db"), ASNDB: c.String("asn-db")})
		if err != nil {
			return usageError{err}
		}
		info.Enrichment = en.Sources()
		en.Close()
	}
	// Who the run will be once privileges go, asked now: a --user that cannot reach the files
	// is refused before a run exists.
	own, err := workerFiles(c)
	if err != nil {
		return err
	}
	if _, _, err := runAs(c, own); err != nil {
		return err
	}
	run, units, err := cen.Start(c.Context, p, info, shard)
	if err != nil {
		return err
	}
	sh := uint64(0)
	if shard != nil {
		sh = *shard
	}
	return workHere(c, cen, run.ID, p, sh, units)
}

func printDryRun(c *cli.Context, p *census.Plan, shard *uint64) error {
	if p.Candidates != nil || p.CandidatesStdin {
		return usagef("--dry-run plans a sweep; with --candidates there is nothing to sweep")
	}
	probes, units, part := p.Probes, p.UnitsTotal(), "all"
	if shard != nil {
		probes, units, part = p.ShardProbes[*shard], int64(len(p.ShardUnits(*shard))), fmt.Sprintf("%d/%d", *shard, p.Shards)
	}
	eta := time.Duration(float64(probes) / float64(p.Rate) * float64(time.Second))
	fmt.Fprintf(c.App.Writer, "targets: %d addresses after exclusions\nports: %s\nshard: %s\nprobes: %d (first pass; up to %d with --retries %d)\nwork units: %d of %d probes\nrate: %d/s\nestimated duration: %s\nexcluded by: %s\n",
		p.Addresses, census.PortList(p.Ports), part, probes, probes*uint64(1+p.Retries), p.Retries, units, p.UnitSize,
		p.Rate, eta.Round(time.Second), orNone(p.ExcludedBy))
	for _, x := range p.Excluded {
		fmt.Fprintf(c.App.Writer, "  %d addresses: %s\n", x.Addresses, x.Source)
	}
	switch {
	case probes < largeScan:
		fmt.Fprintf(c.App.Writer, "--confirm-large: not needed (under %d probes)\n", largeScan)
	case c.Bool("confirm-large"):
		fmt.Fprintf(c.App.Writer, "--confirm-large: given (%d probes is an Internet-scale run)\n", probes)
	default:
		fmt.Fprintf(c.App.Writer, "--confirm-large: needed: a run of %d probes would be refused without it\n", probes)
	}
	if p.OutsideScope != "" {
		fmt.Fprintf(c.App.Writer, "scope: a run would be refused: %s\n", p.OutsideScope)
	}
	fmt.Fprintln(c.App.Writer, "nothing was sent (--dry-run)")
	return nil
}

// workHere runs the given units of run in this process (a local queue of their own) and
// records how the run ended here.
func workHere(c *cli.Context, cen *census.Census, runID int64, p *census.Plan, shard uint64, units []int64) error {
	ctx := c.Context
	if d := c.Duration("max-runtime"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errMaxRuntime)
		defer cancel()
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	q := census.LocalQueue(runID, shard)
	if err := cen.EnqueueTo(ctx, runID, units, q); err != nil {
		return err
	}
	out, err := newWriter(c.App.Writer, c.String("format"), c.Bool("all"))
	if err != nil {
		return err
	}
	metricsLn, err := listenMetrics(c.String("metrics-addr"))
	if err != nil {
		return err
	}
	if metricsLn != nil {
		defer metricsLn.Close()
	}
	stats := &census.Stats{}
	var probes uint64
	for _, u := range units {
		probes += p.UnitProbes(u)
	}
	slog.Info("scan started", "run", runID, "units", len(units), "probes", probes, "ports", census.PortList(p.Ports),
		"rate", p.Rate, "seed", p.Seed, "shard", fmt.Sprintf("%d/%d", shard, p.Shards), "method", resolvedMethod(p))
	prog := newProgress(c.App.ErrWriter, probes, p.Candidates != nil || p.CandidatesStdin, stats)
	out.beforeRow = prog.clear
	progCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go prog.run(progCtx)
	if metricsLn != nil {
		serveMetrics(progCtx, metricsLn, stats, runID)
	}
	own, err := workerFiles(c)
	if err != nil {
		return err
	}
	raw, err := lowerPrivileges(c, resolvedMethod(p) == scanner.MethodSYN, own)
	if err != nil {
		return err
	}
	defer raw.Close()
	outOK := true
	workErr := cen.Work(ctx, census.WorkerConfig{Queue: q, Run: runID, Rate: p.Rate, Lease: c.Duration("lease"),
		Spool: c.String("spool"), ToolVersion: version, Stdin: c.App.Reader, Stats: stats, Raw: raw,
		Emit: func(o observation.Observation) {
			if !outOK {
				return
			}
			if err := out.write(o); err != nil {
				outOK = false
				stop(fmt.Errorf("stdout closed (%v); results stay in the store", err))
			}
		}})
	stopProgress()
	prog.final()
	flushErr := out.flush() // the table, sorted; the run's status does not depend on stdout

	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	switch {
	case workErr == nil:
		sums, err := cen.Store().Runs(finishCtx)
		if err != nil {
			return err
		}
		for _, s := range sums {
			if s.ID == runID {
				slog.Info("scan finished", "run", runID, "status", s.Status, "units_done", s.UnitsDone, "units_total", s.UnitsTotal,
					"probes_sent", stats.Sent.Load(), "open", stats.Open.Load(), "detected", stats.Detected.Load())
			}
		}
		if flushErr != nil {
			return fmt.Errorf("run %d complete, but stdout failed (%w); results are in the store", runID, flushErr)
		}
		return nil
	case ctx.Err() != nil:
		if err := cen.Finish(finishCtx, runID, store.StatusInterrupted); err != nil {
			return errors.Join(workErr, err)
		}
		return fmt.Errorf("run %d interrupted (%v); %d observations kept; continue with: clawcensus scan --resume %d",
			runID, context.Cause(ctx), stats.Fingerprinted.Load(), runID)
	default:
		if err := cen.Finish(finishCtx, runID, store.StatusFailed); err != nil {
			return errors.Join(workErr, err)
		}
		if errors.Is(workErr, scanner.ErrNoTargets) {
			return usageError{fmt.Errorf("run %d: %w", runID, workErr)} // as a sweep whose targets are all excluded
		}
		return fmt.Errorf("run %d failed: %w", runID, workErr)
	}
}

var errMaxRuntime = errors.New("--max-runtime reached")

func orNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, "; ")
}
