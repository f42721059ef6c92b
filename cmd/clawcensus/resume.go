package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// planRecord is what a run stores about its plan, so that it can be resumed exactly.
type planRecord struct {
	Specs    []string `json:"specs"`
	Excludes []string `json:"excludes,omitempty"`
	OptOuts  []string `json:"optouts,omitempty"`
	Lab      bool     `json:"lab,omitempty"`
	Ports    []uint16 `json:"ports"`
	Seed     int64    `json:"seed"`
	Shard    string   `json:"shard"`
}

// fromRecord builds the plan, blocklist included, from its record.
func (o *scanOptions) fromRecord(rec planRecord, stdin io.Reader) error {
	var err error
	if o.shard, err = scanner.ParseShard(rec.Shard); err != nil {
		return usageError{err}
	}
	bl := scanner.NewBlocklist(rec.Lab)
	for _, f := range rec.Excludes {
		if err := bl.AddFile(f); err != nil {
			return usageError{err}
		}
	}
	for _, f := range rec.OptOuts {
		if err := bl.AddOptOutFile(f); err != nil {
			return usageError{err}
		}
	}
	o.record, o.ports, o.seed = rec, rec.Ports, rec.Seed
	o.plan = &scanner.Plan{Specs: rec.Specs, Stdin: stdin, Blocklist: bl, Ports: rec.Ports, Seed: rec.Seed, Shard: o.shard}
	return nil
}

func (o *scanOptions) planJSON() string {
	if o.candidates != "" {
		return "" // candidates come and go: nothing to resume
	}
	b, _ := json.Marshal(o.record)
	return string(b)
}

// fromRun loads the plan of the run named by --resume and skips what its first pass sent,
// less a margin for the probes that were still in flight when it stopped (re-probing them is
// harmless: a run stores each host:port once).
func (o *scanOptions) fromRun(c *cli.Context) error {
	for _, f := range []string{"candidates", "ports", "seed", "shard", "lab", "exclude", "optout"} {
		if c.IsSet(f) {
			return usagef("--resume takes the run's own targets, ports, seed, shard and exclusions; drop --%s", f)
		}
	}
	if c.NArg() > 0 {
		return usagef("--resume takes the run's own targets; drop %s", strings.Join(c.Args().Slice(), " "))
	}
	st, sums, err := openRuns(c)
	if err != nil {
		return err
	}
	st.Close()
	id := c.Int64("resume")
	i, err := findRun(sums, id, "resume")
	switch {
	case err != nil:
		return err
	case sums[i].Status == store.StatusComplete:
		return usagef("--resume %d: the run is complete, nothing to resume", id)
	case sums[i].Plan == "":
		return usagef("--resume %d: the run read candidates or came from an older version: it cannot be resumed", id)
	}
	var rec planRecord
	if err := json.Unmarshal([]byte(sums[i].Plan), &rec); err != nil {
		return fmt.Errorf("--resume %d: stored plan: %w", id, err)
	}
	if slices.Contains(rec.Specs, "-") {
		return usagef("--resume %d: its targets came from stdin, which cannot be read again", id)
	}
	if err := o.fromRecord(rec, c.App.Reader); err != nil {
		return err
	}
	run := sums[i].Run
	o.resume = &run
	margin := int64(float64(c.Int("rate")) * max(c.Duration("timeout"), time.Second).Seconds())
	o.plan.Skip = uint64(max(0, run.Walked-margin))
	return nil
}
