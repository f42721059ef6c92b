package census

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/ctxsleep"
	"github.com/clawcensus/clawcensus/store"
)

// Recurrence is how a recurring census plans its runs (plan --every): a timer may ask as often
// as it likes; the next run of the series is planned only when it is due, and the question is
// answered under a lock in the store, so planners that race plan one run, not two.
type Recurrence struct {
	// Every is the schedule: the next run of the series is due Every after the previous one
	// started (a check up to EarlyTolerance early counts as on time), and only once the previous
	// run has ended. Zero means the plan does not recur: every plan stores a run.
	Every time.Duration
	// MaxOverlap lets the next run be planned although the previous one has not ended, once this
	// long has passed since the previous one started. Zero means never: the next run waits.
	MaxOverlap time.Duration
	// Force accepts a schedule shorter than the projected run (the runs then follow one another
	// as each ends).
	Force bool
	// Follow: the caller asks again after Next.Wait (plan --follow), reading its files anew.
	Follow bool
}

// EarlyTolerance is how early a check may come and still plan: a timer that fires a few seconds
// before the previous run's start time plus Every plans today, not tomorrow. It is never more
// than a tenth of Every.
const EarlyTolerance = 5 * time.Minute

// Check refuses a recurrence that cannot work for plan p of the series named series: options
// without Every, a sharded plan (a recurring plan stores whole runs), a series that is not
// named (the derived one changes with every edit of the lists, and each edit would start a
// second run at once), and a schedule shorter than the projected run unless Force.
func (r Recurrence) Check(p *Plan, sharded bool, series string) error {
	switch {
	case r.Every == 0 && r.MaxOverlap != 0:
		return errors.New("--max-overlap is for recurring plans: give --every too")
	case r.Every == 0 && r.Force:
		return errors.New("--force (a schedule shorter than the run) is for recurring plans: give --every too")
	case r.Every == 0 && r.Follow:
		return errors.New("--follow plans each run of a recurring census when it is due: give --every too")
	case r.Every == 0:
		return nil
	case r.Every < 0 || r.MaxOverlap < 0:
		return errors.New("--every and --max-overlap must be positive")
	case sharded || p.Shards > 1:
		return errors.New("--every plans whole runs: drop --shard")
	case series == "":
		return errors.New("--every needs --series NAME: the series the recurring census keeps while its lists " +
			"change (the default series changes with every edit of a target, exclusion or opt-out file, and the " +
			"first run of a new series would start at once, beside the one still running)")
	}
	if proj := p.Projected(nil); r.Every < proj && !r.Force {
		return fmt.Errorf("--every %s is shorter than one run: %s (%d first-pass probes at %d/s): give --every %s or more, "+
			"a higher --rate, or --force to plan each run when the previous one ends", Human(r.Every), Human(proj),
			p.Probes, p.Rate, FlagDuration(proj))
	}
	return nil
}

// Next is what StartNext did: the run it planned, or why it planned none.
type Next struct {
	// Run and Units are the run planned and its units; Run is nil when none was.
	Run   *store.Run
	Units []int64
	// Previous is the series' newest run before (nil for the series' first); Why says why a run
	// was planned or not, in the previous run's terms.
	Previous *store.Summary
	Why      string
	// Projected is how long one run of the plan takes at its rate (first pass; retries of
	// unanswered probes add up to Retries times as much).
	Projected time.Duration
	Retries   int
	// Wait is when to ask again with Follow (zero without): the time to the next due date, or a
	// tenth of the schedule (at most an hour) while the previous run works.
	Wait time.Duration
}

// String says what happened in one line: the run planned or why none was, and the projection.
func (n Next) String() string {
	proj := Human(n.Projected)
	if n.Retries > 0 {
		proj += fmt.Sprintf(", up to %s with --retries %d", Human(n.Projected*time.Duration(1+n.Retries)), n.Retries)
	}
	switch {
	case n.Run == nil && n.Projected == 0: // decided before the plan was read (Due)
		return "not planned: " + n.Why
	case n.Run == nil:
		return fmt.Sprintf("not planned: %s; a run takes %s", n.Why, proj)
	}
	return fmt.Sprintf("planned run %d (%d units): projected duration %s; %s", n.Run.ID, len(n.Units), proj, n.Why)
}

// StartNext stores the plan as Start does for workers anywhere (QueueShared); with a recurrence
// it plans the next run of the series info.Series only when it is due (see Recurrence), and
// otherwise says why not. The series is locked in the store while it decides, so planners
// that race plan one run.
func (c *Census) StartNext(ctx context.Context, p *Plan, info RunInfo, shard *uint64, rec Recurrence) (Next, error) {
	next := Next{Projected: p.Projected(shard), Retries: p.Retries}
	if err := rec.Check(p, shard != nil, info.Series); err != nil {
		return next, err
	}
	if rec.Every == 0 {
		run, units, err := c.Start(ctx, p, info, shard, Shared)
		next.Run, next.Units = run, units
		return next, err
	}
	unlock, err := c.st.Lock(ctx, "series "+info.Series)
	if err != nil {
		return next, err
	}
	defer unlock()
	decided, due, err := c.Due(ctx, info.Series, rec)
	if err != nil {
		return next, err
	}
	decided.Projected, decided.Retries = next.Projected, next.Retries
	if due {
		decided.Run, decided.Units, err = c.Start(ctx, p, info, nil, Shared)
	}
	return decided, err
}

// Due says whether the next run of series is due (see Recurrence) by its newest run, without a
// plan: a timer that asks often reads no target list while a run works. StartNext decides
// again, under the series' lock.
func (c *Census) Due(ctx context.Context, series string, rec Recurrence) (Next, bool, error) {
	var next Next
	runs, err := c.st.Runs(ctx)
	if err != nil {
		return next, false, err
	}
	for i := range runs {
		if runs[i].SeriesID() == series {
			next.Previous = &runs[i]
		}
	}
	due, why, wait := rec.due(next.Previous, time.Now())
	next.Why = why
	if rec.Follow {
		next.Wait = max(wait, time.Second)
	}
	return next, due, nil
}

// Repeat calls once until it fails or asks for no wait, waiting as it asks between calls (plan
// --follow); the end of ctx is a clean stop.
func Repeat(ctx context.Context, once func() (wait time.Duration, err error)) error {
	for {
		wait, err := once()
		if err != nil || wait == 0 {
			return err
		}
		if ctxsleep.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// due decides whether the series' next run is due now, given its newest run prev: why says
// so in prev's terms, wait is when to ask again.
func (r Recurrence) due(prev *store.Summary, now time.Time) (ok bool, why string, wait time.Duration) {
	poll := min(time.Hour, r.Every/10)
	if prev == nil {
		return true, "the series' first run", r.Every
	}
	since := now.Sub(prev.StartedAt)
	state := fmt.Sprintf("run %d of series %q", prev.ID, prev.SeriesID())
	progress := fmt.Sprintf("%s, %d of %d units done, %d probes sent", prev.Status, prev.UnitsDone, prev.UnitsTotal, prev.ProbesSent)
	if dueIn := r.Every - since; dueIn > min(EarlyTolerance, r.Every/10) {
		return false, fmt.Sprintf("%s started %s ago (%s); the next is due in %s (--every %s)", state, Human(since), progress,
			Human(dueIn), Human(r.Every)), dueIn
	}
	switch prev.Status {
	case store.StatusComplete, store.StatusFailed, store.StatusInterrupted:
		return true, fmt.Sprintf("%s, started %s ago, ended %s", state, Human(since), prev.Status), r.Every
	}
	if r.MaxOverlap > 0 && since >= r.MaxOverlap {
		return true, fmt.Sprintf("%s, started %s ago, has not ended (%s), and --max-overlap %s has passed", state,
			Human(since), progress, Human(r.MaxOverlap)), r.Every
	}
	why = fmt.Sprintf("%s started %s ago and has not ended (%s); the next run waits for it", state, Human(since), progress)
	if r.MaxOverlap > 0 {
		why += fmt.Sprintf(", or for --max-overlap %s to pass", Human(r.MaxOverlap))
		poll = min(poll, r.MaxOverlap-since)
	}
	return false, why, poll
}

// Projected is how long a run of the plan (of its shard, when given) takes at least: its
// first-pass probes at its rate. Retries of unanswered probes add up to Retries times as much.
func (p *Plan) Projected(shard *uint64) time.Duration {
	probes, _ := p.Large(shard)
	return time.Duration(float64(probes) / float64(p.Rate) * float64(time.Second))
}

// Human writes a duration as a person reads it: days and hours for long ones ("10d6h"), Go's
// form rounded to the second below two days ("26h0m0s", "1m30s"), to the millisecond below a
// second.
func Human(d time.Duration) string {
	if d >= 48*time.Hour {
		d = d.Round(time.Hour)
		days, hours := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour
		if hours == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, hours)
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// FlagDuration writes d rounded up to a whole second, minute or hour (by its size) as a flag
// takes it: "247h", "5m", "26s".
func FlagDuration(d time.Duration) string {
	unit := time.Second
	switch {
	case d >= time.Hour:
		unit = time.Hour
	case d >= time.Minute:
		unit = time.Minute
	}
	s := ((d + unit - 1) / unit * unit).String()
	for _, zeros := range []string{"h0m0s", "m0s"} {
		if strings.HasSuffix(s, zeros) {
			return strings.TrimSuffix(s, zeros) + zeros[:1]
		}
	}
	return s
}
