package census

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/clawcensus/clawcensus/scanner"
)

// Coverage reads a stored plan (a run's Plan) back into the ip:ports its run was to probe: its
// ports on its targets, literal or from target files, less what its exclusions and opt-outs
// removed; or, for a run of candidates, the candidates it accepted. A run's changes since an
// earlier one call a gateway fixed only inside this set: a re-check of fewer targets says
// nothing of the others.
//
// Every file the plan read must still hold what it held when planned (ErrChanged otherwise);
// candidates read from stdin were not kept, so such a plan has no coverage to give.
func Coverage(plan string) (func(netip.AddrPort) bool, error) {
	p, err := ParsePlan(plan)
	if err != nil {
		return nil, err
	}
	ports := map[uint16]bool{}
	for _, port := range p.Ports {
		ports[port] = true
	}
	bl, err := p.Blocklist()
	if err != nil {
		return nil, err
	}
	switch {
	case p.CandidatesStdin:
		return nil, errors.New("its candidates came from stdin, which is not kept")
	case p.Candidates != nil:
		return candidateCoverage(p, bl)
	}
	for _, f := range p.TargetFiles {
		if err := f.verify(); err != nil {
			return nil, err
		}
	}
	var ranges []scanner.Range
	sp := &scanner.Plan{Specs: p.specs(), Open: p.open(), Blocklist: bl, Ports: p.Ports, Seed: p.Seed}
	if err := sp.EachRange(func(r scanner.Range) error { ranges = append(ranges, r); return nil }); err != nil {
		return nil, err
	}
	// The ranges are disjoint (the targets are read as a set): sorted by their first
	// address, the one that may hold an address is the last that starts at or before it.
	slices.SortFunc(ranges, func(a, b scanner.Range) int { return a.First.Compare(b.First) })
	return func(ap netip.AddrPort) bool {
		a := ap.Addr().Unmap()
		i, found := slices.BinarySearchFunc(ranges, a, func(r scanner.Range, a netip.Addr) int { return r.First.Compare(a) })
		if !found {
			i--
		}
		return ports[ap.Port()] && i >= 0 && ranges[i].First.Is4() == a.Is4() && ranges[i].Last.Compare(a) >= 0
	}, nil
}

// candidateCoverage is the set of candidates a plan of candidates accepted.
func candidateCoverage(p *Plan, bl *scanner.Blocklist) (func(netip.AddrPort) bool, error) {
	if err := p.Candidates.verify(); err != nil {
		return nil, err
	}
	sc, err := scanner.ParseScope(p.Scope)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p.Candidates.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set := map[netip.AddrPort]bool{}
	err = scanner.ReadCandidates(p.Candidates.Path, f, bl, sc, p.Ports[0], func(ap netip.AddrPort) error {
		set[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		return nil
	}, func(scanner.CandidateSkip) {})
	if err != nil {
		return nil, fmt.Errorf("candidates %s: %w", p.Candidates.Path, err)
	}
	return func(ap netip.AddrPort) bool { return set[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] }, nil
}
