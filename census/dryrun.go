package census

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// LargeScan is the probe count from which a run must be confirmed (clawcensus scan
// --confirm-large): an Internet-scale run must be coordinated with the operator's own network
// first (ZMap's practice).
const LargeScan = 1 << 24

// WriteDryRun says what a run of the plan (of its shard, when given) would do, and that nothing
// was sent: targets after exclusions, probes, units, rate and duration, what excluded what,
// whether it needs confirming, and a target outside the scope.
func (p *Plan) WriteDryRun(out io.Writer, shard *uint64, confirmLarge bool) error {
	w := &strings.Builder{}
	probes, units, part := p.Probes, p.UnitsTotal(), "all"
	if shard != nil {
		probes, units, part = p.ShardProbes[*shard], int64(len(p.ShardUnits(*shard))), fmt.Sprintf("%d/%d", *shard, p.Shards)
	}
	eta := p.Projected(shard)
	excludedBy := "nothing"
	if len(p.ExcludedBy) > 0 {
		excludedBy = strings.Join(p.ExcludedBy, "; ")
	}
	fmt.Fprintf(w, "targets: %d addresses after exclusions\nports: %s\nshard: %s\nprobes: %d (first pass; up to %d with --retries %d)\nwork units: %d of %d probes\nrate: %d/s\nestimated duration: %s\nexcluded by: %s\n",
		p.Addresses, PortList(p.Ports), part, probes, probes*uint64(1+p.Retries), p.Retries, units, p.UnitSize,
		p.Rate, eta.Round(time.Second), excludedBy)
	for _, x := range p.Excluded {
		fmt.Fprintf(w, "  %d addresses: %s\n", x.Addresses, x.Source)
	}
	if p.Aliased != nil {
		fmt.Fprintf(w, "aliased prefixes: %d hold %d target addresses, probed as one address each (%s)\n",
			p.AliasedPrefixes, p.AliasedAddresses, p.Aliased.Path)
	}
	if p.SkippedLines > 0 {
		fmt.Fprintf(w, "skipped: %d lines of target files are not targets\n", p.SkippedLines)
		for _, s := range p.Skipped {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	switch _, large := p.Large(shard); {
	case !large:
		fmt.Fprintf(w, "--confirm-large: not needed (under %d probes)\n", LargeScan)
	case confirmLarge:
		fmt.Fprintf(w, "--confirm-large: given (%d probes is an Internet-scale run)\n", probes)
	default:
		fmt.Fprintf(w, "--confirm-large: needed: a run of %d probes would be refused without it\n", probes)
	}
	if p.OutsideScope != "" {
		fmt.Fprintf(w, "scope: a run would be refused: %s\n", p.OutsideScope)
	}
	fmt.Fprintln(w, "nothing was sent (--dry-run)")
	_, err := io.WriteString(out, w.String())
	return err
}

// Large reports the first-pass probes of a run of the plan (of its shard, when given), and
// whether they are LargeScan or more: an Internet-scale run, to be confirmed.
func (p *Plan) Large(shard *uint64) (uint64, bool) {
	probes := p.Probes
	if shard != nil && *shard < uint64(len(p.ShardProbes)) {
		probes = p.ShardProbes[*shard]
	}
	return probes, probes >= LargeScan
}
