package census

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// ReanalyzeConfig redoes stored verdicts with a knowledge base.
type ReanalyzeConfig struct {
	// Run is the run to reanalyse; zero means every run.
	Run int64
	// Knowledge names the knowledge base to use (see fingerprint.LoadKnowledge).
	Knowledge fingerprint.KnowledgeConfig
	// Force allows a knowledge base older than the one a run's verdicts come from.
	Force bool
}

// Reanalysis is what reanalysing one run did.
type Reanalysis struct {
	Run int64
	// Gateways is how many observations had facts to judge again; Changed, how many verdicts
	// changed; OtherRules, how many were read with other rules (only a new scan judges them).
	Gateways, Changed, OtherRules int
	// NoFacts counts gateways stored without facts (before clawcensus kept them): only a new
	// scan judges them again.
	NoFacts int
	// Same is set when the run's verdicts already came from this knowledge base: nothing to do;
	// Mixed when some were not judged again, so the run's knowledge base stays as it was.
	Same, Mixed bool
}

// String says what reanalysing the run did, in a line.
func (r Reanalysis) String() string {
	if r.Same {
		return fmt.Sprintf("run %d: already judged with this knowledge base", r.Run)
	}
	s := fmt.Sprintf("run %d: %d gateways judged again, %d verdicts changed, %d kept (facts read with other rules: rescan)",
		r.Run, r.Gateways, r.Changed, r.OtherRules)
	if r.NoFacts > 0 {
		s += fmt.Sprintf(", %d without facts (stored before clawcensus kept them: rescan)", r.NoFacts)
	}
	if r.Mixed {
		s += "; the run keeps naming its knowledge base: its verdicts are mixed"
	}
	return s
}

// sameVerdict reports whether two observations say the same, an empty list and none alike
// (the stores read an empty list back as one).
func sameVerdict(a, b observation.Observation) bool {
	norm := func(o observation.Observation) string {
		for _, l := range []*[]string{&o.VersionCandidates, &o.Advisories, &o.Flags, &o.Evidence, &o.MIIT} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		j, _ := json.Marshal(o)
		return string(j)
	}
	return norm(a) == norm(b)
}

// ErrOlderKnowledge means a run's verdicts come from a knowledge base newer than the one asked
// for: reanalysing would lose what it knows (Force allows it).
var ErrOlderKnowledge = errors.New("the knowledge base is older than the one the run's verdicts come from")

// Reanalyze judges the stored gateways of cfg.Run (or of every run) again from their kept facts
// with the knowledge base cfg names, without a packet: version, official, advisories, flags,
// MIIT items. The kept counts follow (the store recounts finished units), and each run records
// the knowledge base its verdicts now come from. Reanalysing twice changes nothing.
func (c *Census) Reanalyze(ctx context.Context, cfg ReanalyzeConfig) (fingerprint.Identity, []Reanalysis, error) {
	rules, err := fingerprint.LoadKnowledge(cfg.Knowledge)
	if err != nil {
		return fingerprint.Identity{}, nil, err
	}
	fp, err := fingerprint.New(fingerprint.Config{Rules: rules})
	if err != nil {
		return rules.Knowledge, nil, err
	}
	defer fp.Close()
	identity, err := json.Marshal(rules.Knowledge)
	if err != nil {
		return rules.Knowledge, nil, err
	}
	runs, err := c.st.Runs(ctx)
	if err != nil {
		return rules.Knowledge, nil, err
	}
	if cfg.Run != 0 {
		i := slices.IndexFunc(runs, func(s store.Summary) bool { return s.ID == cfg.Run })
		if i < 0 {
			return rules.Knowledge, nil, fmt.Errorf("run %d: %w", cfg.Run, store.ErrNoRun)
		}
		runs = runs[i : i+1]
	}
	var out []Reanalysis
	for _, run := range runs {
		var was fingerprint.Identity
		if run.Knowledge != "" {
			if err := json.Unmarshal([]byte(run.Knowledge), &was); err != nil {
				return rules.Knowledge, out, fmt.Errorf("run %d: its knowledge base: %w", run.ID, err)
			}
		}
		if was.SHA256 == rules.Knowledge.SHA256 {
			out = append(out, Reanalysis{Run: run.ID, Same: true})
			continue
		}
		if was.SHA256 != "" && fingerprint.Newer(was, rules.Knowledge) && !cfg.Force {
			return rules.Knowledge, out, fmt.Errorf("run %d: %w (its %s; asked %s): add --force to use it anyway",
				run.ID, ErrOlderKnowledge, was, rules.Knowledge)
		}
		workers, err := c.st.Workers(ctx, run.ID)
		if err != nil {
			return rules.Knowledge, out, err
		}
		for _, w := range workers {
			if w.Holds(time.Now()) {
				return rules.Knowledge, out, fmt.Errorf("run %d: %w (worker %s): reanalyse it once they are done", run.ID, ErrLive, w.ID)
			}
		}
		r, err := c.reanalyzeRun(ctx, fp, run.ID)
		if err != nil {
			return rules.Knowledge, out, err
		}
		// The run's verdicts come from this knowledge base only when every gateway was judged
		// again; otherwise they are mixed, and the run keeps naming the one it had.
		if r.Mixed = r.OtherRules > 0 || r.NoFacts > 0; !r.Mixed {
			if err := c.st.SetKnowledge(ctx, run.ID, string(identity)); err != nil {
				return rules.Knowledge, out, err
			}
		}
		out = append(out, r)
	}
	return rules.Knowledge, out, nil
}

func (c *Census) reanalyzeRun(ctx context.Context, fp *fingerprint.Fingerprinter, run int64) (Reanalysis, error) {
	r := Reanalysis{Run: run}
	obs, err := c.st.Observations(ctx, run)
	if err != nil {
		return r, err
	}
	var changed []observation.Observation
	for _, o := range obs {
		if o.Facts == "" {
			if o.Detected() {
				r.NoFacts++
			}
			continue
		}
		r.Gateways++
		again, err := fp.Reanalyze(o)
		if errors.Is(err, fingerprint.ErrOtherRules) {
			r.OtherRules++
			continue
		}
		if err != nil {
			return r, fmt.Errorf("run %d: %w", run, err)
		}
		if !sameVerdict(o, again) {
			changed = append(changed, again)
		}
	}
	r.Changed = len(changed)
	for len(changed) > 0 {
		n := min(len(changed), batchSize)
		if err := c.st.AddObservations(ctx, run, changed[:n]); err != nil {
			return r, err
		}
		changed = changed[n:]
	}
	return r, nil
}
