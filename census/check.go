package census

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
)

var errCheckCandidates = errors.New("a check sweeps its targets: candidates are for runs")

// Check sweeps and fingerprints plan p here and now and stores nothing: an operator's look at
// their own hosts. It runs the census's pipeline (see pipeline) over every unit of the plan and
// returns the observation of every open port, by address and port; a port that did not answer
// is not in it. Stats, when given, counts as a run would.
func Check(ctx context.Context, p *Plan, toolVersion string, raw *scanner.Raw, stats *Stats) ([]observation.Observation, error) {
	if p.candidates() {
		return nil, errCheckCandidates
	}
	if stats == nil {
		stats = &Stats{}
	}
	ex, err := newExecutor(p, p.Rate, toolVersion, raw)
	if err != nil {
		return nil, err
	}
	defer ex.close()
	results := make(chan observation.Observation, 64)
	done := make(chan error, 1)
	go func() { done <- ex.pipeline(ctx, ex.sweepUnits(p.AllUnits(), stats), 0, stats, results) }()
	var out []observation.Observation
	for o := range results {
		out = append(out, o)
	}
	if err := <-done; err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b observation.Observation) int {
		return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.Port, b.Port))
	})
	return out, nil
}
