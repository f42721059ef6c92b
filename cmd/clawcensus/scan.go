package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/enrich"
	"github.com/clawcensus/clawcensus/fingerprint"
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
			&cli.IntFlag{Name: "concurrency", Value: 64, Usage: "hosts fingerprinted at once"},
			&cli.BoolFlag{Name: "lab", Usage: "lift the built-in reserved-range blocklist (for lab networks you own)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "file of CIDRs/ranges never to probe (repeatable)"},
			&cli.StringSliceFlag{Name: "optout", EnvVars: []string{"CLAWCENSUS_OPTOUT"}, Usage: "opt-out register, CSV: network,requested_by,requested_at,verification,reason (repeatable)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the target count, probes and duration; send nothing"},
			&cli.StringFlag{Name: "candidates", Usage: "skip the sweep: read ip:port (or zmap CSV, masscan -oL) lines from FILE or -"},
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
			&cli.Int64Flag{Name: "resume", Usage: "continue an interrupted run where its checkpoint left off (same targets, ports, seed, shard)"},
			dbFlag,
		},
		Action: runScan,
	})
}

// scanOptions are the validated flags of one scan.
type scanOptions struct {
	plan        *scanner.Plan
	record      planRecord
	resume      *store.Run
	scope       scanner.Scope
	ports       []uint16
	format      string
	candidates  string
	seed        int64
	shard       scanner.Shard
	concurrency int
}

func parseScanFlags(c *cli.Context) (*scanOptions, error) {
	o := &scanOptions{format: c.String("format"), candidates: c.String("candidates"), concurrency: c.Int("concurrency")}
	if !slices.Contains([]string{"jsonl", "csv", "table"}, o.format) {
		return nil, usagef("--format %q: want jsonl, csv or table", o.format)
	}
	if c.Int("rate") <= 0 {
		return nil, usagef("--rate %d: must be positive", c.Int("rate"))
	}
	if o.concurrency <= 0 {
		return nil, usagef("--concurrency %d: must be positive", o.concurrency)
	}
	var err error
	if o.scope, err = scanner.ParseScope(c.String("scope")); err != nil {
		return nil, usageError{err}
	}
	if c.IsSet("resume") {
		return o, o.fromRun(c)
	}
	if o.candidates == "" && c.NArg() == 0 {
		return nil, usagef("no targets: give TARGET... or --candidates FILE (see clawcensus scan --help)")
	}
	if o.candidates != "" && c.NArg() > 0 {
		return nil, usagef("give targets or --candidates, not both")
	}
	rec := planRecord{Specs: c.Args().Slice(), Lab: c.Bool("lab"), Seed: c.Int64("seed"), Shard: c.String("shard")}
	if rec.Ports, err = scanner.ParsePorts(c.String("ports")); err != nil {
		return nil, usageError{err}
	}
	if !c.IsSet("seed") {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		rec.Seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	// Absolute paths, so that a resumed run reads the same files from anywhere.
	rec.Excludes = absPaths(c.StringSlice("exclude"))
	rec.OptOuts = absPaths(c.StringSlice("optout"))
	// Targets are validated here, before anything is sent; only stdin is left for the walk.
	for _, spec := range rec.Specs {
		if spec == "-" || strings.HasPrefix(spec, "@") {
			continue
		}
		if err := scanner.ReadTargets([]string{spec}, nil, func(scanner.Range) error { return nil }); err != nil {
			return nil, usageError{err}
		}
	}
	return o, o.fromRecord(rec, c.App.Reader)
}

func runScan(c *cli.Context) error {
	o, err := parseScanFlags(c)
	if err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	readsStdin := slices.Contains(o.plan.Specs, "-")

	var totals scanner.Totals
	if o.candidates == "" && (!readsStdin || c.Bool("dry-run")) {
		totals, err = o.plan.Count()
		if err != nil {
			return usageError{err}
		}
	}
	if c.Bool("dry-run") {
		if o.candidates != "" {
			return usagef("--dry-run plans a sweep; with --candidates there is nothing to sweep")
		}
		eta := time.Duration(float64(totals.Probes*uint64(1+c.Int("retries"))) / float64(c.Int("rate")) * float64(time.Second))
		fmt.Fprintf(c.App.Writer, "targets: %d addresses after exclusions\nports: %s\nshard: %s\nprobes: %d (first pass; up to %d with --retries %d)\nrate: %d/s\nestimated duration: %s\nexcluded by: %s\nnothing was sent (--dry-run)\n",
			totals.Addresses, portList(o.ports), o.shard, totals.Probes, totals.Probes*uint64(1+c.Int("retries")), c.Int("retries"),
			c.Int("rate"), eta.Round(time.Second), orNone(totals.ExcludedBy))
		return nil
	}
	if totals.Probes >= largeScan && !c.Bool("confirm-large") {
		return usagef("%d probes is an Internet-scale run: coordinate with your network first, then add --confirm-large", totals.Probes)
	}

	ctx := c.Context
	if d := c.Duration("max-runtime"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errMaxRuntime)
		defer cancel()
	}

	st, err := openStoreCtx(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()

	fp, err := fingerprint.New(fingerprint.Config{
		Timeout: c.Duration("http-timeout"), ToolVersion: version, Contact: c.String("contact"),
		OptIn: c.StringSlice("active-probe"), WebSocket: c.Bool("websocket"),
	})
	if err != nil {
		return usageError{err}
	}
	defer fp.Close()

	metricsLn, err := listenMetrics(c.String("metrics-addr"))
	if err != nil {
		return err
	}
	if metricsLn != nil {
		defer metricsLn.Close()
	}

	en, err := enrich.Open(enrich.Config{CountryDB: c.String("country-db"), ASNDB: c.String("asn-db")})
	if err != nil {
		return usageError{err}
	}
	defer en.Close()

	var sw *scanner.Sweeper
	method := "candidates"
	if o.candidates == "" {
		sw, err = scanner.New(scanner.Config{
			Rate: c.Int("rate"), Method: c.String("scan-type"), Retries: c.Int("retries"),
			Timeout: c.Duration("timeout"), Blocklist: o.plan.Blocklist, Scope: o.scope,
		})
		if err != nil {
			return usageError{err}
		}
		defer sw.Close()
		method = sw.Method()
	}

	run := &store.Run{
		StartedAt: time.Now().UTC(), Targets: describeTargets(o), TargetCount: int64(totals.Addresses),
		Ports: portList(o.ports), Rate: c.Int("rate"), Seed: o.seed, Shard: o.shard.String(),
		ToolVersion: version, Method: method, Plan: o.planJSON(), Enrichment: en.Sources(),
		Note: c.String("authorization"),
	}
	if o.resume != nil {
		run = o.resume
		if err := st.ReopenRun(ctx, run.ID); err != nil {
			return err
		}
		slog.Info("resuming", "run", run.ID, "from_probe", o.plan.Skip, "checkpoint", run.Walked)
	} else if err := st.StartRun(ctx, run); err != nil {
		return err
	}
	slog.Info("scan started", "run", run.ID, "targets", totals.Addresses, "probes", totals.Probes, "ports", run.Ports,
		"rate", run.Rate, "seed", o.seed, "shard", run.Shard, "method", method, "user_agent", fp.UserAgent())

	out, err := newWriter(c.App.Writer, o.format, c.Bool("all"))
	if err != nil {
		return err
	}
	p := &pipeline{store: st, runID: run.ID, fp: fp, enrich: en, out: out, concurrency: o.concurrency}
	// Retries resend only what did not answer, so this is an upper bound, reached when
	// nothing answers (as for most of the Internet).
	prog := newProgress(stderr, (totals.Probes-min(o.plan.Skip, totals.Probes))*uint64(1+c.Int("retries")), sw, p)
	progCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go prog.run(progCtx)
	if metricsLn != nil {
		serveMetrics(progCtx, metricsLn, sw, p, run.ID)
	}
	checkpoint := func(ctx context.Context) {
		if sw != nil {
			if err := st.Checkpoint(ctx, run.ID, int64(o.plan.Skip+sw.Stats().Walked)); err != nil {
				slog.Warn("checkpoint failed", "run", run.ID, "err", err)
			}
		}
	}
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progCtx.Done():
				return
			case <-t.C:
				checkpoint(progCtx)
			}
		}
	}()

	runErr := p.run(ctx, func(ctx context.Context, open chan<- netip.AddrPort) error {
		if sw != nil {
			return sw.Sweep(ctx, o.plan, open)
		}
		return readCandidates(ctx, c.App.Reader, o.candidates, o.plan.Blocklist, o.scope, o.ports[0], open)
	})
	stopProgress()
	prog.final()

	// Whatever happened, what was observed is already stored; record how the run ended with a
	// context that outlives the cancelled one.
	status := store.StatusComplete
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		status = store.StatusInterrupted
	default:
		status = store.StatusFailed
	}
	var sent, openPorts int64
	if sw != nil {
		s := sw.Stats()
		sent, openPorts = int64(s.Sent), int64(s.Open)
	} else {
		openPorts = p.seen.Load()
	}
	if o.resume != nil { // the run's totals include its earlier sessions (ports re-probed near the checkpoint count twice)
		sent, openPorts = sent+o.resume.ProbesSent, openPorts+o.resume.OpenPorts
	}
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	checkpoint(finishCtx)
	if err := st.FinishRun(finishCtx, run.ID, status, time.Now().UTC(), sent, openPorts); err != nil {
		return errors.Join(runErr, err)
	}
	slog.Info("scan finished", "run", run.ID, "status", status, "probes_sent", sent, "open", openPorts,
		"fingerprinted", p.seen.Load(), "detected", p.detected.Load())
	switch status {
	case store.StatusInterrupted:
		cause := context.Cause(ctx)
		if cause == nil {
			cause = runErr
		}
		return fmt.Errorf("run %d interrupted (%v); %d observations kept", run.ID, cause, p.seen.Load())
	case store.StatusFailed:
		return fmt.Errorf("run %d failed: %w", run.ID, runErr)
	}
	return nil
}

var errMaxRuntime = errors.New("--max-runtime reached")

// readCandidates feeds candidates from a file or stdin to open. Reading a pipe cannot be
// cancelled, so the reader runs on its own and this stage returns as soon as ctx is done.
func readCandidates(ctx context.Context, stdin io.Reader, name string, bl *scanner.Blocklist, scope scanner.Scope, port uint16, open chan<- netip.AddrPort) error {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return usageError{fmt.Errorf("candidates: %w", err)}
		}
		defer f.Close()
		r = f
	}
	found := make(chan netip.AddrPort)
	done := make(chan error, 1)
	go func() {
		done <- scanner.ReadCandidates(name, r, bl, port, func(ap netip.AddrPort) error {
			if err := scope.Check(ap.Addr()); err != nil {
				return err
			}
			select {
			case found <- ap:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, func(ap netip.AddrPort, src string) {
			slog.Warn("candidate skipped", "addr", ap.String(), "blocked_by", src)
		})
	}()
	for {
		select {
		case ap := <-found:
			select {
			case open <- ap:
			case <-ctx.Done():
				return ctx.Err()
			}
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func describeTargets(o *scanOptions) string {
	if o.candidates != "" {
		return "candidates:" + o.candidates
	}
	s := strings.Join(o.plan.Specs, " ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

func portList(ports []uint16) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ",")
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, "; ")
}

// pipeline runs sweep → fingerprint → store/stdout under one errgroup. Channels are bounded,
// so a slow stage slows the one before it.
type pipeline struct {
	store       store.Store
	runID       int64
	fp          *fingerprint.Fingerprinter
	enrich      *enrich.Enricher
	out         *resultWriter
	concurrency int

	seen, detected atomic.Int64
}

func (p *pipeline) run(ctx context.Context, sweep func(context.Context, chan<- netip.AddrPort) error) error {
	// A closed stdout stops the scan (as SIGPIPE would), but not before every result in
	// flight is stored: the sink cancels this context and keeps draining.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	g, gctx := errgroup.WithContext(ctx)
	open := make(chan netip.AddrPort, 1024)
	results := make(chan fingerprint.Result, 256)
	g.Go(func() error {
		defer close(open)
		return sweep(gctx, open)
	})
	g.Go(func() error {
		defer close(results)
		var fg errgroup.Group
		fg.SetLimit(p.concurrency)
		// Hosts already being fingerprinted finish even after Ctrl-C (each is bounded by its
		// HTTP deadline); open ports not yet reached are stored as unprobed, never dropped.
		probeCtx := context.WithoutCancel(gctx)
		for ap := range open {
			if gctx.Err() != nil {
				results <- fingerprint.Result{Addr: ap, Outcome: outcomeUnprobed, ObservedAt: time.Now().UTC()}
				continue
			}
			fg.Go(func() error {
				results <- p.fp.Fingerprint(probeCtx, ap)
				return nil
			})
		}
		return fg.Wait()
	})
	var storeErr error
	g.Go(func() error {
		storeErr = p.sink(ctx, results, stop)
		return storeErr
	})
	err := g.Wait()
	if storeErr != nil {
		return storeErr // the store failed: the run failed, whatever else stopped
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("%w: %w", context.Canceled, cause)
	}
	return err
}

// outcomeUnprobed marks an open port the run found but did not fingerprint before it stopped.
const outcomeUnprobed = "open-unprobed"

// sink prints and stores every result. It drains results to the end even after an error, so
// the stages before it never block and nothing observed is lost. A failed store write is
// returned; a failed stdout write stops the scan through stop.
func (p *pipeline) sink(ctx context.Context, results <-chan fingerprint.Result, stop context.CancelCauseFunc) error {
	const batchSize = 100
	var batch []store.Observation
	var storeErr error
	outOK := true
	flushCtx := context.WithoutCancel(ctx)
	flush := func() {
		if len(batch) == 0 || storeErr != nil {
			return
		}
		if err := p.store.AddObservations(flushCtx, p.runID, batch); err != nil {
			storeErr = fmt.Errorf("store: %w", err)
			stop(storeErr)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				flush()
				return storeErr
			}
			p.seen.Add(1)
			if r.Detected() {
				p.detected.Add(1)
			}
			o := toObservation(r, p.enrich.Lookup(r.Addr.Addr()))
			if outOK {
				if err := p.out.write(r, o); err != nil {
					outOK = false
					stop(fmt.Errorf("stdout closed (%v); results stay in the store", err))
				}
			}
			batch = append(batch, o)
			if len(batch) >= batchSize {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func toObservation(r fingerprint.Result, net enrich.Info) store.Observation {
	return store.Observation{
		ASN: net.ASN, ASOrg: net.ASOrg, Country: net.Country,
		IP: r.Addr.Addr(), Port: r.Addr.Port(), Scheme: r.Scheme, Outcome: r.Outcome, Product: r.Product,
		Version: r.Version, VersionCandidates: r.VersionCandidates, Channel: r.Channel, Auth: r.Auth,
		Official: r.Official, Honeypot: r.Honeypot, Advisories: r.Advisories, Flags: r.Flags, Evidence: r.Evidence,
		MIIT: r.MIIT, Title: r.Title, Server: r.Server, HTTPStatus: r.Status, TLS: r.TLS, ObservedAt: r.ObservedAt,
	}
}

func absPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		out = append(out, p)
	}
	return out
}
