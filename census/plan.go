package census

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// planVersion is written into every stored plan; a process refuses a plan of another version.
const planVersion = 1

// maxStdinTargets bounds how many target lines a plan takes from stdin: they are stored in the
// plan itself (workers elsewhere cannot read this process's stdin). More belong in a file.
const maxStdinTargets = 100_000

// Source is a file a plan depends on, named by absolute path and pinned by content hash, so
// that a worker or a resume reads exactly what the planner read, or refuses.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Plan is a census as stored with its run: everything a worker anywhere needs. Nothing is
// taken from a later process's flags, except that a worker may lower the rate.
type Plan struct {
	Version int `json:"v"`
	// Targets are literal specs (IP, CIDR, range); TargetFiles are @file target lists.
	Targets     []string `json:"targets,omitempty"`
	TargetFiles []Source `json:"files,omitempty"`
	// Candidates, when set, replaces the sweep: host:port lines from an external sweep.
	Candidates *Source `json:"candidates,omitempty"`
	// CandidatesStdin: candidates come from the planning process's stdin (not resumable).
	CandidatesStdin bool     `json:"candidates_stdin,omitempty"`
	Ports           []uint16 `json:"ports"`
	Seed            int64    `json:"seed"`
	// Shards is how many disjoint parts the permutation is cut into (--shard i/N); units are
	// cut within each part, and unit u belongs to shard u mod Shards.
	Shards   uint64   `json:"shards"`
	UnitSize uint64   `json:"unit_size"`
	Lab      bool     `json:"lab,omitempty"`
	Excludes []Source `json:"excludes,omitempty"`
	OptOuts  []Source `json:"optouts,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	// Aliased is a file of aliased prefixes (TUM's aliased-prefixes.txt.xz): the targets in
	// each are probed as one address per prefix and port (scanner.Aliased).
	Aliased *Source `json:"aliased,omitempty"`

	// Rate is the run's probes per second across all workers (see budget.go).
	Rate        int           `json:"rate"`
	Method      string        `json:"method"`
	Retries     int           `json:"retries"`
	Timeout     time.Duration `json:"timeout"`
	HTTPTimeout time.Duration `json:"http_timeout"`
	FirstByte   time.Duration `json:"first_byte_timeout,omitempty"`
	// ProbeMiddleboxes fingerprints open ports whose host answered the control probes too.
	ProbeMiddleboxes bool     `json:"probe_middleboxes,omitempty"`
	Concurrency      int      `json:"concurrency"`
	Contact          string   `json:"contact,omitempty"`
	ActiveProbe      []string `json:"active_probe,omitempty"`
	WebSocket        bool     `json:"websocket,omitempty"`
	CountryDB        *Source  `json:"country_db,omitempty"`
	ASNDB            *Source  `json:"asn_db,omitempty"`
	// Knowledge is the knowledge base the run's verdicts come from: Path "" is the embedded one;
	// SHA256 is its identity (fingerprint.Identity). Nil in plans made before it was recorded
	// (then the embedded one).
	Knowledge *Source `json:"knowledge,omitempty"`

	// Addresses and Probes total the plan after exclusions (all shards); ShardProbes[i] is
	// shard i's share; ExcludedBy names the lists that removed addresses.
	Addresses   uint64   `json:"addresses"`
	Probes      uint64   `json:"probes"`
	ShardProbes []uint64 `json:"shard_probes"`
	ExcludedBy  []string `json:"excluded_by,omitempty"`
	// Excluded counts the addresses each list removed.
	Excluded []scanner.Exclusion `json:"excluded,omitempty"`
	// SkippedLines counts the lines of target files that are not targets (Skipped names the
	// first few, when this process planned it); AliasedPrefixes counts the aliased prefixes
	// holding targets, AliasedAddresses the target addresses inside them.
	SkippedLines     uint64   `json:"skipped_lines,omitempty"`
	Skipped          []string `json:"-"`
	AliasedPrefixes  uint64   `json:"aliased_prefixes,omitempty"`
	AliasedAddresses uint64   `json:"aliased_addresses,omitempty"`
	// OutsideScope names a target outside the scope (only a dry run keeps such a plan).
	OutsideScope string `json:"-"`

	// What this process learnt of the plan once, kept for the rest of its life: its knowledge
	// base (Rules), the enrichment data sets' names, the sweep method it resolves.
	rules      *fingerprint.Rules
	enrichment string
	method     string
	aliased    *scanner.Aliased
	// What this process read of the plan's files, each checked against its hash as it was read
	// (load), kept for every unit: a private copy of each target file, and the blocklist.
	loaded bool
	kept   map[string]*io.SectionReader
	bl     *scanner.Blocklist
}

// PlanConfig is a plan as a user asks for it. Zero values mean the documented defaults.
type PlanConfig struct {
	// Targets are specs for scanner.ReadTargets: IP, CIDR, a-b range, @file, or "-" (stdin).
	Targets []string
	Stdin   io.Reader
	// Candidates is a file of host:port lines (or "-") that replaces the sweep.
	Candidates string
	// Ports; empty means scanner.DefaultPorts.
	Ports []uint16
	// Seed keys the permutation; nil means a random seed, recorded in the plan.
	Seed *int64
	// Shards cuts the permutation into parts for external orchestration; zero means 1.
	Shards uint64
	// UnitSize is the probes per work unit; zero means DefaultUnitSize.
	UnitSize uint64
	Lab      bool
	Excludes []string
	OptOuts  []string
	// Scope: comma-separated CIDRs; every target must lie inside, and every probe is checked.
	Scope string
	// Aliased is a file of aliased prefixes (see Plan.Aliased); empty means none: a run still
	// finds aliased /64s itself (see aliasCheck).
	Aliased string
	// Rate is probes per second across all workers: the workers that sweep the run share it
	// (see budget.go); zero means scanner.DefaultRate.
	Rate int
	// Method is auto, syn or connect; empty means auto.
	Method string
	// Retries of unanswered probes; nil means DefaultRetries.
	Retries *int
	// Timeout bounds a connect and the wait for late SYN answers; zero means
	// scanner.DefaultTimeout.
	Timeout time.Duration
	// HTTPTimeout bounds all HTTP probes to one host; zero means fingerprint.DefaultTimeout.
	HTTPTimeout time.Duration
	// FirstByte bounds each HTTP probe's connection and wait for response headers, so a host
	// that accepts and never answers costs this, not HTTPTimeout; zero means
	// fingerprint.DefaultFirstByte.
	FirstByte time.Duration
	// ProbeMiddleboxes fingerprints hosts that answered the sweep's control probes as well
	// (by default they are stored as middleboxes, unprobed: see scanner.Open).
	ProbeMiddleboxes bool
	// Concurrency is how many hosts one worker fingerprints at once; zero means
	// DefaultConcurrency.
	Concurrency int
	Contact     string
	ActiveProbe []string
	WebSocket   bool
	CountryDB   string
	ASNDB       string
	// Knowledge says which knowledge base to fingerprint with (see fingerprint.LoadKnowledge);
	// the plan records the one chosen.
	Knowledge fingerprint.KnowledgeConfig
	// DryRun records a target outside the scope in Plan.OutsideScope instead of refusing.
	DryRun bool
}

// DefaultConcurrency is how many hosts a worker fingerprints at once unless told otherwise:
// on the Internet most open ports never answer, and each silent host holds its slot for the
// first-byte deadline, so thousands in flight keep the HTTP stage near a thousand hosts a
// second; memory stays bounded by fingerprint.Config's body budget (a silent host holds a
// socket and a few KiB).
const DefaultConcurrency = 4096

// DefaultRetries is how many times an unanswered probe is repeated unless told otherwise.
const DefaultRetries = 1

// DefaultUnitSize picks a unit size for a shard of n probes at rate probes per second: at
// least five minutes of sweeping at the plan's whole rate (so a unit's fixed costs, the wait
// for late answers and the next lease, stay near 1% of its time; N workers sharing the rate
// take N times as long over a unit), at least a thousandth of the shard and 4,096 probes,
// and never more than the shard.
func DefaultUnitSize(n uint64, rate int) uint64 {
	size := max(4096, (n+999)/1000, uint64(rate)*300)
	return max(1, min(size, n))
}

// NewPlan validates cfg, reads the targets once to count them, hashes every file the plan
// depends on, and returns the plan. Targets from stdin are stored in the plan.
func NewPlan(cfg PlanConfig) (*Plan, error) {
	p := &Plan{Version: planVersion, Lab: cfg.Lab, Scope: cfg.Scope, Rate: cfg.Rate, Method: cfg.Method,
		Timeout: cfg.Timeout, HTTPTimeout: cfg.HTTPTimeout, FirstByte: cfg.FirstByte, ProbeMiddleboxes: cfg.ProbeMiddleboxes, Concurrency: cfg.Concurrency, Contact: cfg.Contact,
		ActiveProbe: cfg.ActiveProbe, WebSocket: cfg.WebSocket, Ports: cfg.Ports, Shards: cfg.Shards, UnitSize: cfg.UnitSize,
		Retries: DefaultRetries}
	if cfg.Retries != nil {
		p.Retries = *cfg.Retries
	}
	if err := p.defaults(); err != nil {
		return nil, err
	}
	if cfg.Seed != nil {
		p.Seed = *cfg.Seed
	} else {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		p.Seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	if _, err := scanner.ParseScope(p.Scope); err != nil {
		return nil, err
	}
	var err error
	if p.Excludes, err = sources(cfg.Excludes, "exclude file"); err != nil {
		return nil, err
	}
	if p.OptOuts, err = sources(cfg.OptOuts, "opt-out register"); err != nil {
		return nil, err
	}
	if cfg.Aliased != "" {
		l, err := sources([]string{cfg.Aliased}, "aliased prefixes")
		if err != nil {
			return nil, err
		}
		p.Aliased = &l[0]
	}
	for name, src := range map[string]struct {
		path string
		dst  **Source
	}{"enrichment database (country)": {cfg.CountryDB, &p.CountryDB}, "enrichment database (AS)": {cfg.ASNDB, &p.ASNDB}} {
		if src.path == "" {
			continue
		}
		l, err := sources([]string{src.path}, name)
		if err != nil {
			return nil, err
		}
		*src.dst = &l[0]
	}

	switch {
	case cfg.Candidates != "" && len(cfg.Targets) > 0:
		return nil, errors.New("give targets or candidates, not both")
	case cfg.Candidates == "-":
		p.CandidatesStdin = true
	case cfg.Candidates != "":
		l, err := sources([]string{cfg.Candidates}, "candidates")
		if err != nil {
			return nil, err
		}
		p.Candidates = &l[0]
		if err := p.checkCandidates(); err != nil {
			return nil, err
		}
	case len(cfg.Targets) == 0:
		return nil, errors.New("no targets: give TARGET... or candidates")
	}
	for _, spec := range cfg.Targets {
		switch {
		case spec == "-":
			lines, st, err := readStdinTargets(cfg.Stdin)
			if err != nil {
				return nil, err
			}
			p.Targets = append(p.Targets, lines...)
			p.SkippedLines, p.Skipped = st.Skipped, st.Examples
		case strings.HasPrefix(spec, "@"):
			l, err := sources([]string{spec[1:]}, "target file")
			if err != nil {
				return nil, err
			}
			p.TargetFiles = append(p.TargetFiles, l[0])
		default:
			if err := scanner.ReadTargets([]string{spec}, nil, func(scanner.Range) error { return nil }); err != nil {
				return nil, err
			}
			p.Targets = append(p.Targets, spec)
		}
	}
	// The enrichment databases must open as databases, not only exist.
	if p.CountryDB != nil || p.ASNDB != nil {
		ex := &executor{plan: p}
		if err := ex.openEnricher(); err != nil {
			return nil, err
		}
		p.enrichment = ex.en.Sources()
		ex.en.Close()
	}
	// The fingerprinter checks its settings (active probes by name) now, not in a worker.
	rules, err := fingerprint.LoadKnowledge(cfg.Knowledge)
	if err != nil {
		return nil, err
	}
	p.Knowledge, p.rules = &Source{Path: rules.Knowledge.Path, SHA256: rules.Knowledge.SHA256}, rules
	if p.Knowledge.Path != "" {
		// A worker or a resume elsewhere finds it where the planner did.
		if p.Knowledge.Path, err = filepath.Abs(p.Knowledge.Path); err != nil {
			return nil, err
		}
	}
	fp, err := fingerprint.New(fingerprint.Config{Timeout: p.HTTPTimeout, FirstByte: p.FirstByte, OptIn: p.ActiveProbe,
		WebSocket: p.WebSocket, Rules: rules, Contact: p.Contact})
	if err != nil {
		return nil, err
	}
	fp.Close()
	if p.candidates() {
		p.Shards, p.ShardProbes = 1, []uint64{1}
		return p, nil
	}
	return p, p.count(cfg.DryRun)
}

func (p *Plan) candidates() bool { return p.Candidates != nil || p.CandidatesStdin }

// checkCandidates reads a candidates file once at planning: one that leaves nothing to probe
// (every line bad, blocked or out of scope) is refused before a run exists.
func (p *Plan) checkCandidates() error {
	bl, err := p.Blocklist()
	if err != nil {
		return err
	}
	sc, err := scanner.ParseScope(p.Scope)
	if err != nil {
		return err
	}
	f, err := os.Open(p.Candidates.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	accepted, skipped, notOpen := 0, 0, 0
	var first string
	err = scanner.ReadCandidates(p.Candidates.Path, f, bl, sc, p.Ports[0], func(netip.AddrPort) error {
		accepted++
		return nil
	}, func(s scanner.CandidateSkip) {
		if s.NotOpen {
			notOpen++
			return
		}
		if skipped == 0 {
			first = fmt.Sprintf("line %d: %s", s.Line, s.Reason)
		}
		skipped++
	})
	if err == nil && accepted == 0 {
		why := first
		switch {
		case skipped == 0 && notOpen > 0:
			why = fmt.Sprintf("its %d records name no open TCP port", notOpen)
		case skipped == 0:
			why = "the file holds no records"
		}
		err = fmt.Errorf("%w: every candidate in %s is skipped (%d records skipped; %s)", scanner.ErrNoTargets, p.Candidates.Path, skipped, why)
	}
	return err
}

// defaults fills zero values with the documented defaults and rejects impossible settings.
func (p *Plan) defaults() error {
	if len(p.Ports) == 0 {
		ports, err := scanner.ParsePorts(scanner.DefaultPorts)
		if err != nil {
			return err
		}
		p.Ports = ports
	}
	if p.Shards == 0 {
		p.Shards = 1
	}
	if p.Rate == 0 {
		p.Rate = scanner.DefaultRate
	}
	if p.Method == "" {
		p.Method = scanner.MethodAuto
	}
	if p.Timeout == 0 {
		p.Timeout = scanner.DefaultTimeout
	}
	if p.HTTPTimeout == 0 {
		p.HTTPTimeout = fingerprint.DefaultTimeout
	}
	if p.FirstByte == 0 {
		p.FirstByte = fingerprint.DefaultFirstByte
	}
	if p.Concurrency == 0 {
		p.Concurrency = DefaultConcurrency
	}
	switch {
	case p.Rate < 0:
		return fmt.Errorf("rate %d: must be positive", p.Rate)
	case p.Retries < 0:
		return fmt.Errorf("retries %d: must be zero or more", p.Retries)
	case p.Timeout < 0 || p.HTTPTimeout < 0 || p.FirstByte < 0:
		return errors.New("timeouts must be positive")
	case p.Concurrency < 0:
		return fmt.Errorf("concurrency %d: must be positive", p.Concurrency)
	case p.Shards > scanner.MaxShards:
		return fmt.Errorf("%d shards: at most %d", p.Shards, scanner.MaxShards)
	case !slices.Contains([]string{scanner.MethodAuto, scanner.MethodSYN, scanner.MethodConnect}, p.Method):
		return fmt.Errorf("scan type %q: want auto, syn or connect", p.Method)
	}
	// The contact goes into every probe's User-Agent: a CR there would fail every probe.
	return fingerprint.CheckContact(p.Contact)
}

// count reads the targets once: totals per shard, the unit size, what exclusions removed.
func (p *Plan) count(dryRun bool) error {
	bl, err := p.Blocklist()
	if err != nil {
		return err
	}
	aliased, err := p.AliasedSet()
	if err != nil {
		return err
	}
	sp := &scanner.Plan{Specs: p.specs(), Blocklist: bl, Ports: p.Ports, Seed: p.Seed, Shard: scanner.Shard{Index: 0, Count: 1},
		Aliased: aliased, Open: p.open(), Progress: func(file string, lines uint64) { slog.Info("reading targets", "file", file, "lines", lines) }}
	t, err := sp.Count()
	p.SkippedLines, p.Skipped = p.SkippedLines+t.Read.Skipped, append(p.Skipped, t.Read.Examples...)
	if p.SkippedLines > 0 {
		slog.Warn("target lines skipped: not a target", "lines", p.SkippedLines, "first", strings.Join(p.Skipped, "; "))
	}
	if err != nil {
		return err
	}
	p.Addresses, p.Probes, p.ExcludedBy, p.Excluded = t.Addresses, t.Probes, t.ExcludedBy, t.Excluded
	p.AliasedPrefixes, p.AliasedAddresses = t.AliasedPrefixes, t.AliasedAddresses
	if p.Shards > p.Probes {
		return fmt.Errorf("%d shards of %d probes: some shards would have nothing to probe; at most %d", p.Shards, p.Probes, p.Probes)
	}
	// A shard's share of each chunk is what scanner.Plan walks for it: arithmetic on the chunk
	// totals, not a reading of the targets per shard.
	p.ShardProbes = make([]uint64, p.Shards)
	for i := range p.Shards {
		p.ShardProbes[i] = scanner.ShardProbes(t.ChunkProbes, scanner.Shard{Index: i, Count: p.Shards})
	}
	if p.UnitSize == 0 {
		p.UnitSize = DefaultUnitSize(slices.Max(p.ShardProbes), p.Rate)
	}
	if sc, _ := scanner.ParseScope(p.Scope); sc.Set() {
		// Every target must lie inside the scope: refused now, before a run exists.
		sp.Progress = nil // said once, by the count
		return sp.EachRange(func(r scanner.Range) error {
			if a, out := sc.Outside(r); out {
				err := fmt.Errorf("target %s: %s lies outside the authorized scope %s", r, a, p.Scope)
				if dryRun {
					if p.OutsideScope == "" { // the first one says enough
						p.OutsideScope = err.Error()
					}
					return nil
				}
				return err
			}
			return nil
		})
	}
	return nil
}

// CheckScope refuses a plan with a target outside scope (comma-separated CIDRs): a worker or
// a resume under its own scope works only plans inside it.
func (p *Plan) CheckScope(scope string) error {
	sc, err := scanner.ParseScope(scope)
	if err != nil || !sc.Set() {
		return err
	}
	if p.candidates() {
		// Candidates are known only when read; the plan's own scope must lie inside this one.
		if p.Scope == "" {
			return fmt.Errorf("the plan reads candidates with no scope of its own, not inside the authorized scope %s", scope)
		}
		for _, f := range strings.Split(p.Scope, ",") {
			r, err := scanner.ParseTarget(strings.TrimSpace(f))
			if err != nil {
				return err
			}
			if a, out := sc.Outside(r); out {
				return fmt.Errorf("the plan's scope %s reaches %s, outside the authorized scope %s", p.Scope, a, scope)
			}
		}
		return nil
	}
	bl, err := p.Blocklist()
	if err != nil {
		return err
	}
	sp := &scanner.Plan{Specs: p.specs(), Open: p.open(), Blocklist: bl, Ports: p.Ports, Seed: p.Seed}
	return sp.EachRange(func(r scanner.Range) error {
		if a, out := sc.Outside(r); out {
			return fmt.Errorf("target %s: %s lies outside the authorized scope %s", r, a, scope)
		}
		return nil
	})
}

// AliasedSet loads the plan's aliased prefixes (nil without a file), checked against their
// recorded hash, once per process.
func (p *Plan) AliasedSet() (*scanner.Aliased, error) {
	if p.Aliased == nil || p.aliased != nil {
		return p.aliased, nil
	}
	if err := p.Aliased.verify(); err != nil {
		return nil, err
	}
	set, st, err := scanner.LoadAliased(p.Aliased.Path)
	if err != nil {
		return nil, err
	}
	if st.Skipped > 0 {
		slog.Warn("aliased prefixes: lines skipped", "file", p.Aliased.Path, "lines", st.Skipped, "first", strings.Join(st.Examples, "; "))
	}
	p.aliased = set
	return set, nil
}

// specs are the targets as scanner.ReadTargets takes them.
func (p *Plan) specs() []string {
	out := slices.Clone(p.Targets)
	for _, f := range p.TargetFiles {
		out = append(out, "@"+f.Path)
	}
	return out
}

// open is how the scanner opens the plan's target files: once loaded, the private copies
// checked against their hashes (nil before: the files themselves).
func (p *Plan) open() func(string) (io.ReadCloser, error) {
	if !p.loaded {
		return nil
	}
	return func(path string) (io.ReadCloser, error) {
		r, ok := p.kept[path]
		if !ok {
			return nil, fmt.Errorf("%s: not a target file of the plan", path)
		}
		return io.NopCloser(io.NewSectionReader(r, 0, r.Size())), nil
	}
}

// load reads every file the plan depends on once, each checked against its recorded hash as
// it is read, and keeps what it read: the target files' text and the blocklist, for every
// unit of the run; the candidates and enrichment databases, whose readers open them, are
// checked; the knowledge base is loaded (Rules). A worker works exactly what was planned, or
// refuses (ErrChanged), and a file changed mid-run changes nothing of the run.
func (p *Plan) load() error {
	if p.loaded {
		return nil
	}
	kept := map[string]*io.SectionReader{}
	for _, s := range p.TargetFiles {
		r, err := s.keep()
		if err != nil {
			return err
		}
		kept[s.Path] = r
	}
	bl := scanner.NewBlocklist(p.Lab)
	for _, s := range p.Excludes {
		b, err := s.read()
		if err != nil {
			return err
		}
		if err := bl.AddList(s.Path, bytes.NewReader(b)); err != nil {
			return err
		}
	}
	for _, s := range p.OptOuts {
		b, err := s.read()
		if err != nil {
			return err
		}
		if err := bl.AddOptOutList(s.Path, bytes.NewReader(b)); err != nil {
			return err
		}
	}
	for _, s := range []*Source{p.Candidates, p.CountryDB, p.ASNDB} {
		if s != nil {
			if err := s.verify(); err != nil {
				return err
			}
		}
	}
	if _, err := p.Rules(); err != nil {
		return err
	}
	p.loaded, p.kept, p.bl = true, kept, bl
	return nil
}

// Blocklist builds the plan's blocklist: reserved ranges (unless Lab), exclude files and
// opt-out registers, each checked against its recorded hash (once loaded, the one kept).
func (p *Plan) Blocklist() (*scanner.Blocklist, error) {
	if p.loaded {
		return p.bl, nil
	}
	bl := scanner.NewBlocklist(p.Lab)
	for _, s := range p.Excludes {
		if err := s.verify(); err != nil {
			return nil, err
		}
		if err := bl.AddFile(s.Path); err != nil {
			return nil, err
		}
	}
	for _, s := range p.OptOuts {
		if err := s.verify(); err != nil {
			return nil, err
		}
		if err := bl.AddOptOutFile(s.Path); err != nil {
			return nil, err
		}
	}
	return bl, nil
}

// Files lists every file the plan depends on: target lists, exclude lists, opt-out registers,
// candidates and enrichment databases, each with the hash it was planned with.
func (p *Plan) Files() []Source {
	var all []Source
	all = append(all, p.TargetFiles...)
	all = append(all, p.Excludes...)
	all = append(all, p.OptOuts...)
	for _, s := range []*Source{p.Candidates, p.CountryDB, p.ASNDB, p.Aliased} {
		if s != nil {
			all = append(all, *s)
		}
	}
	return all
}

// Paths are the paths of Files and of the knowledge base's file: what a run of the plan opens
// for reading.
func (p *Plan) Paths() []string {
	var out []string
	for _, f := range p.Files() {
		out = append(out, f.Path)
	}
	if p.Knowledge != nil && p.Knowledge.Path != "" {
		out = append(out, p.Knowledge.Path)
	}
	return out
}

// Verify checks that every file the plan depends on still has the content it was planned with,
// and that its knowledge base is here: a worker anywhere, or a resume, works exactly what was
// planned, or refuses.
func (p *Plan) Verify() error {
	for _, s := range p.Files() {
		if err := s.verify(); err != nil {
			return err
		}
	}
	_, err := p.Rules()
	return err
}

// Rules loads the plan's knowledge base, and refuses one whose identity is not the planned one.
// It is loaded once per process.
func (p *Plan) Rules() (*fingerprint.Rules, error) {
	if p.rules != nil {
		return p.rules, nil
	}
	if p.Knowledge == nil || p.Knowledge.Path == "" {
		rules, err := fingerprint.LoadRules()
		if err == nil && p.Knowledge == nil {
			p.rules = rules
		}
		if err != nil || p.Knowledge == nil {
			return rules, err
		}
		return p.checked(rules)
	}
	rules, err := fingerprint.LoadKnowledge(fingerprint.KnowledgeConfig{File: p.Knowledge.Path})
	if err != nil {
		return nil, fmt.Errorf("the plan's knowledge base: %w (%w)", ErrChanged, err)
	}
	return p.checked(rules)
}

// checked keeps rules as the plan's when they are the knowledge base it was planned with.
func (p *Plan) checked(rules *fingerprint.Rules) (*fingerprint.Rules, error) {
	if rules.Knowledge.SHA256 != p.Knowledge.SHA256 {
		where := cmp.Or(p.Knowledge.Path, "embedded in the binary that planned the run")
		return nil, fmt.Errorf("the plan's knowledge base (%s): %w (sha256 %.12s, planned with %.12s)", where, ErrChanged,
			rules.Knowledge.SHA256, p.Knowledge.SHA256)
	}
	p.rules = rules
	return rules, nil
}

// ErrChanged means a file a plan depends on changed or went away since it was planned.
var ErrChanged = errors.New("changed since the run was planned")

func (s Source) verify() error {
	sum, err := hashFile(s.Path)
	if err != nil {
		return fmt.Errorf("%s: %w (%w)", s.Path, ErrChanged, err)
	}
	return s.check(sum)
}

func (s Source) check(sum string) error {
	if sum != s.SHA256 {
		return fmt.Errorf("%s: %w (sha256 %.12s, planned with %.12s)", s.Path, ErrChanged, sum, s.SHA256)
	}
	return nil
}

// keep copies the file aside, checking what it copied against the recorded hash: a target
// file may be a hitlist of millions of lines, read twice per walk (scanner's readSet), so the
// copy is a temporary file, unlinked at once (it lives while the process holds it), not memory.
func (s Source) keep() (*io.SectionReader, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%w)", s.Path, ErrChanged, err)
	}
	defer f.Close()
	tmp, err := os.CreateTemp("", "clawcensus-targets-*")
	if err != nil {
		return nil, fmt.Errorf("a copy of %s: %w", s.Path, err)
	}
	os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), f)
	if err != nil {
		err = fmt.Errorf("%s: %w (%w)", s.Path, ErrChanged, err)
	} else {
		err = s.check(hex.EncodeToString(h.Sum(nil)))
	}
	if err != nil {
		tmp.Close()
		return nil, err
	}
	return io.NewSectionReader(tmp, 0, n), nil
}

// read reads the file whole and checks what it read against the recorded hash.
func (s Source) read() ([]byte, error) {
	b, err := os.ReadFile(s.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%w)", s.Path, ErrChanged, err)
	}
	sum := sha256.Sum256(b)
	return b, s.check(hex.EncodeToString(sum[:]))
}

// Key identifies what the plan covers, and how it is cut: the targets, ports, seed,
// exclusions, shard count and unit size. Shards of one plan share it.
func (p *Plan) Key() string {
	b, _ := json.Marshal(struct {
		Targets           []string
		Files             []Source
		Candidates        *Source
		Ports             []uint16
		Seed              int64
		Shards, UnitSize  uint64
		Lab               bool
		Excludes, OptOuts []Source
		Scope             string
		Probes, Addresses uint64
		CandidatesStdin   bool
		PlanVersion       int
		Aliased           *Source `json:",omitempty"`
	}{p.Targets, p.TargetFiles, p.Candidates, p.Ports, p.Seed, p.Shards, p.UnitSize, p.Lab, p.Excludes, p.OptOuts,
		p.Scope, p.Probes, p.Addresses, p.CandidatesStdin, p.Version, p.Aliased})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// SeriesKey identifies what the plan looks at, not how: targets (as written, in any order),
// target files (by content), candidates, ports, lab, exclusions and opt-outs (by content) and
// scope. Runs of one key are
// one series: two censuses of the same targets and ports on different days, seeds, shard
// counts, unit sizes, rates or methods compare; a re-check of a subset is a series of its own.
func (p *Plan) SeriesKey() string {
	hashes := func(l []Source) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = s.SHA256
		}
		return out
	}
	var candidates, aliasedHash string
	if p.Aliased != nil {
		aliasedHash = p.Aliased.SHA256
	}
	switch {
	case p.Candidates != nil:
		candidates = p.Candidates.SHA256
	case p.CandidatesStdin:
		// What stdin held is not kept: each such run is a series of its own (--series joins them).
		candidates = fmt.Sprintf("stdin %d", p.Seed)
	}
	b, _ := json.Marshal(struct {
		Targets, Files    []string
		Candidates        string
		CandidatesStdin   bool
		Ports             []uint16
		Lab               bool
		Excludes, OptOuts []string
		Scope             string
		Aliased           string `json:",omitempty"`
	}{sorted(p.Targets), sorted(hashes(p.TargetFiles)), candidates, p.CandidatesStdin, sorted(p.Ports), p.Lab,
		sorted(hashes(p.Excludes)), sorted(hashes(p.OptOuts)), p.Scope, aliasedHash})
	sum := sha256.Sum256(b)
	return "scope:" + hex.EncodeToString(sum[:12])
}

// sorted is a sorted copy of l: the order targets or files were given in is not what a plan
// looks at.
func sorted[T cmp.Ordered](l []T) []T { return slices.Sorted(slices.Values(l)) }

// maxSeriesName bounds a series name: it is a label on every chart and table.
const maxSeriesName = 100

// CheckSeriesName refuses a series name (plan/scan --series) that is empty, long, holds
// control characters, or looks like a derived series key ("scope:…", "targets:…").
func CheckSeriesName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("series name is empty")
	case CheckText("series name", name, maxSeriesName) != nil:
		return CheckText("series name", name, maxSeriesName)
	case store.DerivedSeries(name):
		return fmt.Errorf("series name %q: names starting scope: or targets: are the derived series keys", name)
	}
	return nil
}

// Units is how many work units shard i is cut into.
func (p *Plan) unitsOf(shard uint64) uint64 {
	if p.candidates() {
		return 1
	}
	return (p.ShardProbes[shard] + p.UnitSize - 1) / p.UnitSize
}

// UnitsTotal is how many work units the whole plan has.
func (p *Plan) UnitsTotal() int64 {
	var n uint64
	for i := range p.Shards {
		n += p.unitsOf(i)
	}
	return int64(n)
}

// ShardUnits lists the units of shard i: unit number u = i + k*Shards for its k-th unit.
func (p *Plan) ShardUnits(shard uint64) []int64 {
	var out []int64
	for k := range p.unitsOf(shard) {
		out = append(out, int64(shard+k*p.Shards))
	}
	return out
}

// UnitProbes is how many first-pass probes unit u covers.
func (p *Plan) UnitProbes(u int64) uint64 {
	if p.candidates() {
		return 0
	}
	shard, k := uint64(u)%p.Shards, uint64(u)/p.Shards
	start := k * p.UnitSize
	if start >= p.ShardProbes[shard] {
		return 0
	}
	return min(p.UnitSize, p.ShardProbes[shard]-start)
}

// AllUnits lists every unit of the plan.
func (p *Plan) AllUnits() []int64 {
	var out []int64
	for i := range p.Shards {
		out = append(out, p.ShardUnits(i)...)
	}
	slices.Sort(out)
	return out
}

// window is the scanner plan for one unit: its shard, and a slice of the shard's sequence.
func (p *Plan) window(unit int64, bl *scanner.Blocklist) (*scanner.Plan, error) {
	shard, k := uint64(unit)%p.Shards, uint64(unit)/p.Shards
	if k >= p.unitsOf(shard) {
		return nil, fmt.Errorf("unit %d: the plan has no such unit", unit)
	}
	aliased, err := p.AliasedSet()
	if err != nil {
		return nil, err
	}
	return &scanner.Plan{Specs: p.specs(), Blocklist: bl, Ports: p.Ports, Seed: p.Seed, Aliased: aliased, Open: p.open(),
		Shard: scanner.Shard{Index: shard, Count: p.Shards}, Skip: k * p.UnitSize, Limit: p.UnitSize}, nil
}

// Marshal encodes the plan for the store.
func (p *Plan) Marshal() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// ParsePlan decodes a stored plan.
func ParsePlan(s string) (*Plan, error) {
	if s == "" {
		return nil, errors.New("the run has no stored plan (made by an older version, or from candidates)")
	}
	var p Plan
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("stored plan: %w", err)
	}
	if p.Version != planVersion {
		return nil, fmt.Errorf("stored plan version %d: this clawcensus reads version %d", p.Version, planVersion)
	}
	if err := p.defaults(); err != nil {
		return nil, fmt.Errorf("stored plan: %w", err)
	}
	if !p.candidates() && uint64(len(p.ShardProbes)) != p.Shards {
		return nil, errors.New("stored plan: shard totals do not match the shard count")
	}
	return &p, nil
}

func sources(paths []string, what string) ([]Source, error) {
	var out []Source
	for _, path := range paths {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, path, err)
		}
		sum, err := hashFile(abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, Source{Path: abs, SHA256: sum})
	}
	return out, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readStdinTargets(r io.Reader) ([]string, scanner.ReadStats, error) {
	if r == nil {
		return nil, scanner.ReadStats{}, errors.New("targets from stdin, but no stdin")
	}
	var out []string
	tr := scanner.TargetReader{Stdin: r}
	err := tr.Read([]string{"-"}, func(rg scanner.Range) error {
		if len(out) == maxStdinTargets {
			return fmt.Errorf("more than %d targets on stdin: write them to a file and give @FILE", maxStdinTargets)
		}
		out = append(out, rg.String())
		return nil
	})
	return out, tr.Stats, err
}
