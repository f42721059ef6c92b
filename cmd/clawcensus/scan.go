package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/scanner"
)

// role says where a flag of scan belongs: the plan (stored with the run: plan takes it, scan
// --resume refuses it) or the process that works units (scan and worker).
type role int

const (
	inPlan role = iota
	inProcess
	inBoth // scope: the plan's, and a resume's guard
)

// flag is one of scan's flags with its role; zeroOK lets a number flag be given as 0.
type flag struct {
	cli.Flag
	role   role
	zeroOK bool
}

// scanFlags are scan's flags; plan takes those of the plan, worker some of the process's.
// Each default is the constant of the package that uses it.
var scanFlags = []flag{
	{&cli.StringFlag{Name: "ports", Aliases: []string{"p"}, Value: scanner.DefaultPorts, Usage: "ports: list, ranges, presets (" + presetNames() + ")"}, inPlan, false},
	{&cli.IntFlag{Name: "rate", Value: scanner.DefaultRate, Usage: "probes per second, paced evenly (scan --resume: may lower the run's)"}, inProcess, false},
	{&cli.Int64Flag{Name: "seed", Usage: "permutation seed (default: random, recorded with the run)"}, inPlan, true},
	{&cli.StringFlag{Name: "shard", Value: "0/1", Usage: "i/N: scan the i-th of N disjoint parts (same --seed in every part)"}, inPlan, false},
	{&cli.StringFlag{Name: "scan-type", Value: scanner.MethodAuto, Usage: "auto, syn or connect"}, inPlan, false},
	{&cli.IntFlag{Name: "retries", Value: census.DefaultRetries, Usage: "extra probes for a target that did not answer"}, inPlan, true},
	{&cli.DurationFlag{Name: "timeout", Value: scanner.DefaultTimeout, Usage: "connect timeout and wait for late SYN answers"}, inPlan, false},
	{&cli.DurationFlag{Name: "http-timeout", Value: fingerprint.DefaultTimeout, Usage: "deadline for all HTTP probes to one host"}, inPlan, false},
	{firstByteFlag, inPlan, false},
	{&cli.BoolFlag{Name: "probe-middleboxes", Usage: "fingerprint hosts that also answer on the sweep's two control ports (by default stored as middlebox, unprobed)"}, inPlan, false},
	{&cli.IntFlag{Name: "concurrency", Value: census.DefaultConcurrency, Usage: "hosts fingerprinted at once (a silent host holds a socket and a few KiB; bodies share a 128 MiB budget)"}, inPlan, false},
	{&cli.BoolFlag{Name: "lab", Usage: "lift the built-in reserved-range blocklist (for lab networks you own)"}, inPlan, false},
	{&cli.StringSliceFlag{Name: "exclude", Usage: "file of CIDRs/ranges never to probe (repeatable)"}, inPlan, false},
	{&cli.StringSliceFlag{Name: "optout", EnvVars: []string{"CLAWCENSUS_OPTOUT"}, Usage: "opt-out register, CSV: network,requested_by,requested_at,verification,reason (repeatable)"}, inPlan, false},
	{&cli.BoolFlag{Name: "dry-run", Usage: "print the target count, probes and duration; send nothing"}, inPlan, false},
	{&cli.StringFlag{Name: "candidates", Usage: "skip the sweep: probe what another sweeper found, from FILE or - (ip:port lines; zmap, naabu, masscan or nmap output as written: CSV, JSON, -oL, -oG, XML)"}, inPlan, false},
	{&cli.StringFlag{Name: "contact", Usage: "contact URL or address for the User-Agent, e.g. https://example.org/scan"}, inPlan, false},
	{&cli.StringSliceFlag{Name: "active-probe", Usage: "enable an active probe (invoke: POST /tools/invoke {} to tell auth on old releases)"}, inPlan, false},
	{&cli.BoolFlag{Name: "websocket", Usage: "read each gateway's first WebSocket frame (connect.challenge) and close; sends no method call"}, inPlan, false},
	{&cli.BoolFlag{Name: "confirm-large", Usage: "allow 16M probes or more (coordinate with your network first)"}, inPlan, false},
	{&cli.StringFlag{Name: "scope", EnvVars: []string{"CLAWCENSUS_SCOPE"}, Usage: "authorized scope, comma-separated CIDRs: every probe outside it is refused at send time"}, inBoth, false},
	{&cli.StringFlag{Name: "country-db", EnvVars: []string{"CLAWCENSUS_COUNTRY_DB"}, Usage: "mmdb file mapping addresses to countries (GeoLite2-Country, DB-IP Lite, ip-location-db)"}, inPlan, false},
	{&cli.StringFlag{Name: "asn-db", EnvVars: []string{"CLAWCENSUS_ASN_DB"}, Usage: "mmdb file mapping addresses to autonomous systems (GeoLite2-ASN, ip-location-db)"}, inPlan, false},
	{&cli.StringFlag{Name: "authorization", Usage: "the run's authorization record: who asked, for what purpose, scope and time window (stored with the run)"}, inPlan, false},
	{&cli.Uint64Flag{Name: "unit-size", Usage: "probes per work unit (default: five minutes at --rate, at least 4,096 probes and a thousandth of the sweep)"}, inPlan, false},
	{&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "stdout format: jsonl, csv or table"}, inProcess, false},
	{&cli.BoolFlag{Name: "all", Usage: "also print HTTP services that are not gateways"}, inProcess, false},
	{&cli.DurationFlag{Name: "max-runtime", Usage: "stop after this long (the run is marked interrupted)"}, inProcess, false},
	{&cli.StringFlag{Name: "metrics-addr", Usage: "serve Prometheus metrics of the running scan on ip:port, e.g. 127.0.0.1:9464"}, inProcess, false},
	{&cli.Int64Flag{Name: "resume", Usage: "continue an unfinished run with its stored plan: its unfinished units, here (--rate may lower its rate)"}, inProcess, false},
	{leaseFlag, inProcess, false},
	{spoolFlag, inProcess, false},
	{userFlag, inProcess, false},
	{dbFlag, inBoth, false},
}

var (
	firstByteFlag = &cli.DurationFlag{Name: "first-byte-timeout", Value: fingerprint.DefaultFirstByte, Usage: "per HTTP probe: connect and wait for the response headers (a host that accepts and never answers costs this, not --http-timeout)"}
	leaseFlag     = &cli.DurationFlag{Name: "lease", Value: census.DefaultLease, Usage: "how long a work unit may take before it is handed to another worker"}
	spoolFlag     = &cli.StringFlag{Name: "spool", EnvVars: []string{"CLAWCENSUS_SPOOL"}, Value: census.DefaultSpool, Usage: "directory where observations wait while the database is away"}
)

// flagsOf lists the flags for a command: those whose role is in roles.
func flagsOf(roles ...role) []cli.Flag {
	var out []cli.Flag
	for _, f := range scanFlags {
		if slices.Contains(roles, f.role) {
			out = append(out, f.Flag)
		}
	}
	return out
}

// refuseEmpty refuses a flag given with nothing in it: a number of 0 (unless zeroOK) or less,
// an empty string or list item. Below cmd a zero value means the default, so an explicit zero
// would silently become one; ranges beyond that are checked where the setting is used.
func refuseEmpty(c *cli.Context) error {
	for _, f := range scanFlags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch f.Flag.(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.DurationFlag:
			if n := c.Value(name); (f.zeroOK && fmt.Sprint(n)[0] == '-') || (!f.zeroOK && !positive(n)) {
				return usagef("--%s %v: must be positive", name, n)
			}
		case *cli.StringFlag:
			// An empty environment variable (CLAWCENSUS_USER=) leaves the default.
			if strings.TrimSpace(c.String(name)) == "" && len(f.Flag.(*cli.StringFlag).EnvVars) == 0 {
				return usagef("--%s is empty: give a value or leave the flag out", name)
			}
		case *cli.StringSliceFlag:
			if slices.Contains(c.StringSlice(name), "") {
				return usagef("--%s is empty: give a value or leave the flag out", name)
			}
		}
	}
	return nil
}

func positive(v any) bool {
	switch n := v.(type) {
	case int:
		return n > 0
	case int64:
		return n > 0
	case time.Duration:
		return n > 0
	}
	return true
}

func scanCommand() *cli.Command {
	return command(&cli.Command{
		Name:      "scan",
		Usage:     "sweep targets, fingerprint what answers, store and print detections",
		ArgsUsage: "TARGET... (IP, CIDR, a.b.c.d-e.f.g.h, @file, - for stdin)",
		Flags:     flagsOf(inPlan, inProcess, inBoth),
		Action:    runScan,
	})
}

// newPlan makes the plan of the flags and targets, refusing what the user must change.
func newPlan(c *cli.Context) (*census.Plan, *uint64, error) {
	if err := refuseEmpty(c); err != nil {
		return nil, nil, err
	}
	cfg := census.PlanConfig{Targets: c.Args().Slice(), Stdin: c.App.Reader, Candidates: c.String("candidates"),
		Lab: c.Bool("lab"), Excludes: c.StringSlice("exclude"), OptOuts: c.StringSlice("optout"), Scope: c.String("scope"),
		Rate: c.Int("rate"), Method: c.String("scan-type"), Timeout: c.Duration("timeout"), HTTPTimeout: c.Duration("http-timeout"),
		FirstByte: c.Duration("first-byte-timeout"), ProbeMiddleboxes: c.Bool("probe-middleboxes"), Concurrency: c.Int("concurrency"),
		Contact: c.String("contact"), ActiveProbe: c.StringSlice("active-probe"), WebSocket: c.Bool("websocket"),
		CountryDB: c.String("country-db"), ASNDB: c.String("asn-db"), UnitSize: c.Uint64("unit-size"), DryRun: c.Bool("dry-run")}
	retries := c.Int("retries")
	cfg.Retries = &retries
	if c.IsSet("seed") {
		seed := c.Int64("seed")
		cfg.Seed = &seed
	}
	var err error
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
	probes := p.Probes
	if c.IsSet("shard") {
		shard, probes = &sh.Index, p.ShardProbes[sh.Index]
	}
	if probes >= census.LargeScan && !c.Bool("confirm-large") && !c.Bool("dry-run") {
		return nil, nil, usagef("%d probes is an Internet-scale run: coordinate with your network first, then add --confirm-large", probes)
	}
	return p, shard, nil
}

// runInfo describes the run beyond its plan, as the report shows it.
func runInfo(c *cli.Context, p *census.Plan) census.RunInfo {
	targets := "candidates:" + c.String("candidates")
	if c.String("candidates") == "" {
		targets = strings.Join(c.Args().Slice(), " ")
		if len(targets) > 1000 {
			targets = targets[:1000] + "…"
		}
	}
	info := census.RunInfo{ToolVersion: version, Authorization: c.String("authorization"), Targets: targets, Method: p.ResolvedMethod()}
	if c.Command.Name == "plan" {
		info.Method = p.Method // the workers decide
	}
	return info
}

func runScan(c *cli.Context) error {
	if !slices.Contains([]string{"jsonl", "csv", "table"}, c.String("format")) {
		return usagef("--format %q: want jsonl, csv or table", c.String("format"))
	}
	cfg := census.ScanConfig{Resume: c.Int64("resume"), MaxRuntime: c.Duration("max-runtime")}
	if c.IsSet("resume") {
		for _, f := range scanFlags {
			if name := f.Names()[0]; f.role == inPlan && c.IsSet(name) {
				return usagef("--resume takes the run's stored plan; drop --%s", name)
			}
		}
		if c.NArg() > 0 {
			return usagef("--resume takes the run's stored targets; drop %v", c.Args().Slice())
		}
		if err := refuseEmpty(c); err != nil {
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
		cfg.Info = runInfo(c, p)
		cfg.Plan, cfg.Shard = p, shard
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
	out, err := report.NewRowWriter(c.App.Writer, c.String("format"), c.Bool("all"))
	if err != nil {
		return usageError{err}
	}
	if cfg.Metrics, err = listenMetrics(c.String("metrics-addr")); err != nil {
		return err
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
	cfg.Progress = c.App.ErrWriter
	out.BeforeRow = func() {
		if cfg.ClearProgress != nil {
			cfg.ClearProgress()
		}
	}
	cfg.Started = func(run int64, p *census.Plan, units []int64) error {
		raw, err := lowerPrivileges(c, p.ResolvedMethod() == scanner.MethodSYN, own)
		cfg.Worker.Raw = raw
		return err
	}
	outOK := true
	cfg.Worker = census.WorkerConfig{Lease: c.Duration("lease"), Spool: c.String("spool"), ToolVersion: version,
		Stdin: c.App.Reader, Emit: func(o observation.Observation) {
			if outOK {
				if err := out.Write(o); err != nil {
					outOK = false
					stop(fmt.Errorf("stdout closed (%v); results stay in the store", err))
				}
			}
		}}
	run, err := cen.Scan(ctx, &cfg)
	defer cfg.Worker.Raw.Close()
	flushErr := out.Flush() // the table, sorted; the run's status does not depend on stdout
	switch {
	case errors.Is(err, census.ErrInterrupted):
		return fmt.Errorf("%w; continue with: clawcensus scan --resume %d", err, run)
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
	return p.WriteDryRun(c.App.Writer, shard, c.Bool("confirm-large"))
}

// listenMetrics takes the metrics port before the run starts, so a busy port is a usage
// error rather than a run left half-begun.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, usagef("--metrics-addr %q: want ip:port, e.g. 127.0.0.1:9464", addr)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		return nil, usagef("--metrics-addr: %v", err)
	}
	return ln, nil
}
