package census

import (
	"context"
	"errors"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

var errCheckCandidates = errors.New("a check sweeps its targets: candidates are for runs")

// Check sweeps and fingerprints plan p here and now and stores nothing: an operator's look at
// their own hosts. It returns the observation of every open port, by address and port; a port
// that did not answer is not in it. Stats, when given, counts as a run would.
func Check(ctx context.Context, p *Plan, toolVersion string, raw *scanner.Raw, stats *Stats) ([]store.Observation, error) {
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
	open := make(chan scanner.Open, 64)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(open)
		for _, u := range p.AllUnits() {
			win, err := p.window(u, ex.bl)
			if err != nil {
				return err
			}
			before := ex.sw.Stats()
			err = ex.sw.Sweep(gctx, win, open)
			after := ex.sw.Stats()
			stats.Sent.Add(int64(after.Sent - before.Sent))
			stats.Retried.Add(int64(after.Retried - before.Retried))
			if err != nil {
				return err
			}
		}
		return nil
	})
	var (
		mu  sync.Mutex
		out []store.Observation
	)
	g.Go(func() error {
		var fg errgroup.Group
		fg.SetLimit(ex.concurrency)
		for op := range open {
			stats.Open.Add(1)
			fg.Go(func() error {
				o := ex.probe(gctx, op)
				stats.Fingerprinted.Add(1)
				if o.Product != "" {
					stats.Detected.Add(1)
				}
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
				return nil
			})
		}
		return fg.Wait()
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, store.CompareAddress)
	return out, nil
}
