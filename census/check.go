package census

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
)

var errCheckCandidates = errors.New("a check sweeps its targets: candidates are for runs")

// CheckMaxAddresses bounds a check: it is for one's own hosts and ranges; a census is a run.
const CheckMaxAddresses = 65536

// CheckConfig is an operator's look at their own hosts. Zero values mean the defaults of a
// plan (see PlanConfig), except where said.
type CheckConfig struct {
	// Targets are addresses, prefixes and ranges (no files, no stdin).
	Targets []string
	Ports   []uint16
	// Scope, comma-separated CIDRs, must hold the targets; empty means the targets themselves.
	Scope string
	Rate  int
	// Method is connect (no root needed) or syn; empty means connect.
	Method                          string
	Retries                         *int
	Timeout, HTTPTimeout, FirstByte time.Duration
	ActiveProbe                     []string
	Knowledge                       fingerprint.KnowledgeConfig
}

// NewCheckPlan validates cfg and returns the plan of a check: the blocklist's reserved ranges
// lifted (an operator's own lab is often in them), middleboxes fingerprinted too (an operator's
// host behind a box that accepts on every port may still expose a gateway through it: the
// evidence says so), at most CheckMaxAddresses addresses.
func NewCheckPlan(cfg CheckConfig) (*Plan, error) {
	for _, t := range cfg.Targets {
		if t == "-" || strings.HasPrefix(t, "@") {
			return nil, fmt.Errorf("check takes addresses, prefixes and ranges on the command line, not %q", t)
		}
	}
	if cfg.Method == "" {
		cfg.Method = scanner.MethodConnect
	}
	if cfg.Method != scanner.MethodConnect && cfg.Method != scanner.MethodSYN {
		return nil, fmt.Errorf("scan type %q: want connect or syn", cfg.Method)
	}
	if cfg.Scope == "" {
		cfg.Scope = strings.Join(cfg.Targets, ",")
	}
	p, err := NewPlan(PlanConfig{Targets: cfg.Targets, Ports: cfg.Ports, Lab: true, Scope: cfg.Scope, Rate: cfg.Rate,
		Method: cfg.Method, Retries: cfg.Retries, Timeout: cfg.Timeout, HTTPTimeout: cfg.HTTPTimeout, FirstByte: cfg.FirstByte,
		ActiveProbe: cfg.ActiveProbe, ProbeMiddleboxes: true, Knowledge: cfg.Knowledge})
	if err != nil {
		return nil, err
	}
	if p.Addresses > CheckMaxAddresses {
		return nil, fmt.Errorf("%d addresses: check is for your own hosts and ranges (at most %d); a census is clawcensus scan", p.Addresses, CheckMaxAddresses)
	}
	return p, nil
}

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
	go func() { done <- ex.pipeline(ctx, ex.sweepUnits(p.AllUnits(), stats), 0, false, stats, nil, results) }()
	var out []observation.Observation
	for o := range results {
		out = append(out, o)
	}
	if err := <-done; err != nil {
		return nil, err
	}
	slices.SortFunc(out, observation.Compare)
	return out, nil
}
