package main

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// use is the commands a flag belongs to. A flag of plan that worker does not take is a setting
// only a plan holds: scan --resume refuses it (the run's stored plan decides).
type use uint8

const (
	forPlan use = 1 << iota
	forScan
	forWorker
	forCheck
	forReports   // report, export, serve: they read the knowledge base too
	forReanalyze // and reanalyze, with --force
)

// check is what a number flag may be given as: below cmd a zero value means the default, so an
// explicit zero would silently become one.
type check uint8

const (
	positive check = iota
	zeroOrMore
	anyNumber
)

type flag struct {
	cli.Flag
	use   use
	check check
}

// flags is the one table of the commands that sweep. Each default is the constant of the
// package that uses it.
var flags = []flag{
	{&cli.StringFlag{Name: "ports", Aliases: []string{"p"}, Value: scanner.DefaultPorts, Usage: "ports: list, ranges, presets (" + presetNames() + ")"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "ports", Value: "wild,sidecar", Usage: "ports, ranges and presets (" + presetNames() + ")"}, forCheck, 0},
	{&cli.IntFlag{Name: "rate", Value: scanner.DefaultRate, Usage: "probes per second across all workers of the run, paced evenly (scan --resume: may only lower the run's)"}, forPlan | forScan | forCheck, 0},
	{&cli.IntFlag{Name: "rate", Usage: "cap this worker's share of the plan's rate (probes per second; the plan's rate is shared by every worker that sweeps the run)"}, forWorker, zeroOrMore},
	{&cli.Int64Flag{Name: "seed", Usage: "permutation seed (default: random, recorded with the run)"}, forPlan | forScan, anyNumber},
	{&cli.StringFlag{Name: "shard", Value: "0/1", Usage: "i/N: scan the i-th of N disjoint parts (same --seed in every part)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "scan-type", Value: scanner.MethodAuto, Usage: "auto, syn or connect"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "scan-type", Value: scanner.MethodConnect, Usage: "connect (no root) or syn"}, forCheck, 0},
	{&cli.IntFlag{Name: "retries", Value: census.DefaultRetries, Usage: "extra probes for a target that did not answer"}, forPlan | forScan | forCheck, zeroOrMore},
	{&cli.DurationFlag{Name: "timeout", Value: scanner.DefaultTimeout, Usage: "connect timeout and wait for late SYN answers"}, forPlan | forScan | forCheck, 0},
	{&cli.DurationFlag{Name: "http-timeout", Value: fingerprint.DefaultTimeout, Usage: "deadline for all HTTP probes to one host"}, forPlan | forScan | forCheck, 0},
	{&cli.DurationFlag{Name: "first-byte-timeout", Value: fingerprint.DefaultFirstByte, Usage: "per HTTP probe: connect and wait for the response headers (a host that accepts and never answers costs this, not --http-timeout)"}, forPlan | forScan | forCheck, 0},
	{&cli.BoolFlag{Name: "probe-middleboxes", Usage: "fingerprint hosts that also answer on the sweep's two control ports (by default stored as middlebox, unprobed)"}, forPlan | forScan, 0},
	{&cli.IntFlag{Name: "concurrency", Value: census.DefaultConcurrency, Usage: "hosts fingerprinted at once (a silent host holds a socket and a few KiB; bodies share a 128 MiB budget)"}, forPlan | forScan, 0},
	{&cli.BoolFlag{Name: "lab", Usage: "lift the built-in reserved-range blocklist (for lab networks you own)"}, forPlan | forScan, 0},
	{&cli.StringSliceFlag{Name: "exclude", Usage: "file of CIDRs/ranges never to probe (repeatable)"}, forPlan | forScan, 0},
	{&cli.StringSliceFlag{Name: "targets-file", Usage: "a file of targets, as @FILE (plain, gzip or xz; # comments; - for stdin); may repeat"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "aliased", Usage: "file of aliased prefixes (TUM hitlist format; plain, gzip or xz): one probe per prefix and port"}, forPlan | forScan, 0},
	{&cli.StringSliceFlag{Name: "optout", EnvVars: []string{"CLAWCENSUS_OPTOUT"}, Usage: "opt-out register, CSV: network,requested_by,requested_at,verification,reason (repeatable)"}, forPlan | forScan, 0},
	{&cli.BoolFlag{Name: "dry-run", Usage: "print the target count, probes and duration; send nothing"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "candidates", Usage: "skip the sweep: probe what another sweeper found, from FILE or - (ip:port lines; zmap, naabu, masscan or nmap output as written: CSV, JSON, -oL, -oG, XML)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "contact", Usage: "contact URL or address for the User-Agent, e.g. https://example.org/scan"}, forPlan | forScan, 0},
	{&cli.StringSliceFlag{Name: "active-probe", Usage: "enable an opt-in active probe (invoke: POST /tools/invoke {} to tell auth on old releases)"}, forPlan | forScan | forCheck, 0},
	{&cli.BoolFlag{Name: "websocket", Usage: "read each gateway's first WebSocket frame (connect.challenge) and close; sends no method call"}, forPlan | forScan, 0},
	{&cli.BoolFlag{Name: "confirm-large", Usage: "allow 16M probes or more (coordinate with your network first)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "scope", EnvVars: []string{"CLAWCENSUS_SCOPE"}, Usage: "authorized scope, comma-separated CIDRs: every probe outside it is refused (check: default the targets; worker: runs outside it are refused)"}, forPlan | forScan | forWorker | forCheck, 0},
	{&cli.StringFlag{Name: "country-db", EnvVars: []string{"CLAWCENSUS_COUNTRY_DB"}, Usage: "mmdb file mapping addresses to countries (GeoLite2-Country, DB-IP Lite, ip-location-db)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "asn-db", EnvVars: []string{"CLAWCENSUS_ASN_DB"}, Usage: "mmdb file mapping addresses to autonomous systems (GeoLite2-ASN, ip-location-db)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "series", Usage: "the series the run belongs to, compared day by day in trend and reports (default: its scope: targets, ports, exclusions, opt-outs; a re-check of a subset is a series of its own)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "authorization", Usage: "the run's authorization record: who asked, for what purpose, scope and time window (stored with the run); @FILE reads it from FILE's lines"}, forPlan | forScan, 0},
	{&cli.Uint64Flag{Name: "unit-size", Usage: "probes per work unit (default: five minutes at --rate, at least 4,096 probes and a thousandth of the sweep)"}, forPlan | forScan, 0},
	{&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "stdout format: " + strings.Join(report.RowFormats, ", ")}, forScan | forWorker, 0},
	{&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"}, forCheck, 0},
	{&cli.BoolFlag{Name: "all", Usage: "also print HTTP services that are not gateways"}, forScan | forWorker, 0},
	{&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stdout (results go to the store)"}, forWorker, 0},
	{&cli.BoolFlag{Name: "follow", Usage: "keep waiting for new units (a long-running service)"}, forWorker, 0},
	{&cli.DurationFlag{Name: "every", Usage: "recurring census (needs --series): plan the series' next run only when it is due, this long after the previous one started and once that one has ended; otherwise say why and exit 0"}, forPlan, 0},
	{&cli.DurationFlag{Name: "max-overlap", Usage: "with --every: plan the next run although the previous one has not ended, this long after it started"}, forPlan, 0},
	{&cli.BoolFlag{Name: "force", Usage: "with --every: accept a schedule shorter than the projected run"}, forPlan, 0},
	{&cli.BoolFlag{Name: "follow", Usage: "with --every: keep running and plan each run when it is due (a service; files are read again each time)"}, forPlan, 0},
	{&cli.StringFlag{Name: "id", Usage: "worker id in leases and heartbeats (default: host-pid-random)"}, forWorker, 0},
	{&cli.DurationFlag{Name: "max-runtime", Usage: "stop after this long (the run is marked interrupted)"}, forScan, 0},
	{&cli.StringFlag{Name: "metrics-addr", Usage: "serve Prometheus metrics of the running scan on ip:port, e.g. 127.0.0.1:9464"}, forScan, 0},
	{&cli.Int64Flag{Name: "resume", Usage: "continue an unfinished run with its stored plan: its unfinished units, here (--rate may lower its rate)"}, forScan, 0},
	{&cli.DurationFlag{Name: "heartbeat-ttl", Value: store.WorkerTTL, Usage: "how long this process counts as live after its last heartbeat (it beats every fifth of that): once it has passed, a dead worker's run shows stalled and can be resumed"}, forScan | forWorker, 0},
	{&cli.DurationFlag{Name: "lease", Value: census.DefaultLease, Usage: "how long a work unit in hand may go without progress before this worker gives it up"}, forScan | forWorker, 0},
	{&cli.DurationFlag{Name: "heartbeat-timeout", Value: store.HeartbeatTimeout, Usage: "how long this process may go without a heartbeat before its units are handed to other workers"}, forScan | forWorker, 0},
	{&cli.StringFlag{Name: "spool", EnvVars: []string{"CLAWCENSUS_SPOOL"}, Usage: "directory where observations wait while the database is away (default: beside a SQLite store, DB-spool; for Postgres under $XDG_STATE_HOME or ~/.local/state/clawcensus/spool)"}, forScan | forWorker, 0},
	{fingerprintsFlag, forPlan | forScan | forCheck | forReports, 0},
	{dataFlag, forPlan | forScan | forCheck | forReports, 0},
	{&cli.BoolFlag{Name: "force", Usage: "reanalyze: use a knowledge base older than the one the run's verdicts come from"}, forReanalyze, 0},
	{userFlag, forPlan | forScan | forWorker | forCheck, 0},
	{dbFlag, forPlan | forScan | forWorker | forReanalyze, 0},
}

// flagsOf lists the flags of the command u.
func flagsOf(u use) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if f.use&u != 0 {
			out = append(out, f.Flag)
		}
	}
	return out
}

// planOnly reports whether f is a setting only a plan holds (scan --resume refuses it). Where
// this machine keeps its knowledge base (--data, --fingerprints: often set in the environment)
// is not: a resume loads the knowledge base the run recorded.
func (f flag) planOnly() bool {
	return f.use&forPlan != 0 && f.use&forWorker == 0 && f.use&forReports == 0
}

// refuseEmpty refuses a flag of command u given with nothing in it: a number out of its check,
// an empty string or list item (an empty environment variable leaves the default). Ranges
// beyond that are checked where the setting is used.
func refuseEmpty(c *cli.Context, u use) error {
	for _, f := range flags {
		name := f.Names()[0]
		if f.use&u == 0 || !c.IsSet(name) {
			continue
		}
		switch fl := f.Flag.(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.DurationFlag:
			n := c.Value(name)
			switch sign := reflect.ValueOf(n).Int(); {
			case f.check == positive && sign <= 0:
				return usagef("--%s %v: must be positive", name, n)
			case f.check == zeroOrMore && sign < 0:
				return usagef("--%s %v: must be zero or more", name, n)
			}
		case *cli.StringFlag:
			if strings.TrimSpace(c.String(name)) == "" && len(fl.EnvVars) == 0 {
				return usagef("--%s is empty: give a value or leave the flag out", name)
			}
		case *cli.StringSliceFlag:
			if slices.Contains(c.StringSlice(name), "") {
				return usagef("--%s is empty: give a value or leave the flag out", name)
			}
		}
		// A CR from a CRLF config file would reach a header, a file name, the store or a terminal.
		if err := census.CheckText("--"+name, c.String(name), 0); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// userFlag names who a root process becomes once its raw sockets are open.
var userFlag = &cli.StringFlag{Name: "user", EnvVars: []string{"CLAWCENSUS_USER"},
	Usage: "run as this user after opening the raw sockets when started as root (default nobody, or where nobody cannot reach the files the sudo caller, else uid 0 without capabilities; root: stay)"}

var (
	fingerprintsFlag = &cli.StringFlag{Name: "fingerprints", EnvVars: []string{"CLAWCENSUS_FINGERPRINTS"}, Usage: "pin the knowledge base to this file (default: the newest of the embedded one and --data's)"}
	dataFlag         = &cli.StringFlag{Name: "data", EnvVars: []string{"CLAWCENSUS_DATA"}, Usage: "data directory of the knowledge base clawcensus fingerprints update keeps (default " + fingerprint.DefaultDataDir() + ")"}
)

// knowledge is the knowledge base the flags name.
func knowledge(c *cli.Context) fingerprint.KnowledgeConfig {
	return fingerprint.KnowledgeConfig{File: c.String("fingerprints"), DataDir: c.String("data")}
}

// loadRules loads the knowledge base the flags name; one that cannot be read is the caller's
// mistake.
func loadRules(c *cli.Context) (*fingerprint.Rules, error) {
	rules, err := fingerprint.LoadKnowledge(knowledge(c))
	if err != nil {
		return nil, usageError{err}
	}
	return rules, nil
}

var forceFlag = &cli.BoolFlag{Name: "force", Usage: "with -o FILE: replace FILE if it exists (never the store's own files)"}

// dbFlag is shared by every command that opens the store.
var dbFlag = &cli.StringFlag{Name: "db", Usage: "store: postgres://… URL or a SQLite file path",
	EnvVars: []string{"CLAWCENSUS_DB"}, Value: store.DefaultPath}

func presetNames() string {
	return strings.Join(slices.Sorted(maps.Keys(scanner.PortPresets)), ", ")
}
