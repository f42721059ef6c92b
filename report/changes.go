package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// The classes of change of one ip:port from an earlier run A to a later run B of one series
// (report --changes A..B, export --changes-since A). Exposed means a gateway whose severity
// (Exporter.Severity) is at least the threshold (NotifyThreshold unless set): open access, an
// advisory on the gateway's own surface, or a leaked bootstrap config; a gateway that asks for
// auth on a release without such an advisory is not exposed.
const (
	// ChangeNew: exposed in B; no gateway there in A nor in any older run of the series.
	ChangeNew = "new"
	// ChangeRegressed: exposed in B, and in A a gateway that was not exposed (authenticated or
	// patched), or no gateway in A but one in an older run of the series (absent after being
	// seen), or exposed in A with a lower severity (the severity rose).
	ChangeRegressed = "regressed"
	// ChangeStillExposed: exposed in A and in B, its severity the same or lower.
	ChangeStillExposed = "still-exposed"
	// ChangeFixed: exposed in A and not in B, where B looked: B found a gateway there that is no
	// longer exposed (authenticated, patched), or something that is not a gateway, or, inside B's
	// targets (census.Coverage), no open port at all (gone).
	ChangeFixed = "fixed"
	// ChangeUnchecked: exposed in A, and B cannot tell: outside B's targets (a re-check of
	// fewer), B stopped before it finished, its targets cannot be read back, or its probe
	// failed there (timeout, TLS error, not probed). Never called fixed, never exported.
	ChangeUnchecked = "unchecked"
)

// ChangeClasses lists the classes in the order reports give them.
var ChangeClasses = []string{ChangeNew, ChangeRegressed, ChangeStillExposed, ChangeFixed, ChangeUnchecked}

// NotifyThreshold is the least severity that counts as exposed when no threshold is given.
const NotifyThreshold = "medium"

// severityRank orders Exporter.Severity's answers.
var severityRank = map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// Change is what became of one ip:port from run A to run B.
type Change struct {
	Class string
	// Why says what decided the class, for a person: "authenticated", "gone (no open port)",
	// "severity rose from high to critical", "outside the later run's targets".
	Why string
	// Before is A's gateway at the ip:port (nil when A saw none), After B's observation there
	// (nil when B has none).
	Before, After *observation.Observation
	// SeverityBefore and SeverityAfter are the gateway's severity in A and in B; "" where that
	// run saw no gateway there.
	SeverityBefore, SeverityAfter string
}

// Current is the observation that speaks for the ip:port: B's gateway, else A's (the last
// sighting of what is gone or unchecked).
func (c Change) Current() observation.Observation { return *c.current() }

func (c *Change) current() *observation.Observation {
	if c.After != nil && c.After.Counts() || c.Before == nil {
		return c.After
	}
	return c.Before
}

// ChangeInput is what Classify compares: two runs of a series, A before B.
type ChangeInput struct {
	// Before and After are every observation of A and of B.
	Before, After []observation.Observation
	// SeenBefore holds the ip:ports where a run of the series older than A saw a gateway
	// (store's GatewaysSeen).
	SeenBefore map[netip.AddrPort]bool
	// Covered tells the ip:ports B was to probe (census.Coverage). Nil means unknown: then only
	// what B observed counts as looked at, and an exposed gateway of A with no observation in B
	// is unchecked rather than fixed.
	Covered func(netip.AddrPort) bool
	// CoveredWhy says why Covered is nil ("run B is stalled"), for the unchecked ones' Why.
	CoveredWhy string
	// Threshold is the least severity that counts as exposed; "" means NotifyThreshold.
	Threshold string
}

// Classify sorts every ip:port exposed in A or in B into a class of change (the Change*
// constants), in the order of ChangeClasses, then by address and port. Gateways exposed in
// neither run are left out: nothing about them changed that a notice would tell.
func (e *Exporter) Classify(in ChangeInput) []Change {
	threshold := severityRank[cmp.Or(in.Threshold, NotifyThreshold)]
	// Only gateways matter in A; in B, gateways, and what answers where A had one.
	pairs := map[netip.AddrPort]*Change{}
	for i := range in.Before {
		if o := &in.Before[i]; o.Counts() {
			pairs[o.Key()] = &Change{Before: o}
		}
	}
	for i := range in.After {
		o := &in.After[i]
		k := o.Key()
		if c, ok := pairs[k]; ok {
			c.After = o
		} else if o.Counts() {
			pairs[k] = &Change{After: o}
		}
	}
	severity := func(o *observation.Observation) string {
		if o == nil || !o.Counts() {
			return ""
		}
		return e.judge.Verdict(*o).Severity
	}
	exposed := func(sev string) bool { return sev != "" && severityRank[sev] >= threshold }
	out := make([]Change, 0, len(pairs))
	for k, c := range pairs {
		c.SeverityBefore, c.SeverityAfter = severity(c.Before), severity(c.After)
		switch expA, expB := exposed(c.SeverityBefore), exposed(c.SeverityAfter); {
		case expA && expB && severityRank[c.SeverityAfter] > severityRank[c.SeverityBefore]:
			c.Class, c.Why = ChangeRegressed, "severity rose from "+c.SeverityBefore+" to "+c.SeverityAfter
		case expA && expB:
			c.Class = ChangeStillExposed
		case expB && c.Before != nil:
			c.Class, c.Why = ChangeRegressed, "exposed again: "+strings.Join(differences(*c.Before, *c.After, e), ", ")
		case expB && in.SeenBefore[k]:
			c.Class, c.Why = ChangeRegressed, "exposed again: a gateway in an older run of the series, none in the earlier run"
		case expB:
			c.Class = ChangeNew
		case expA:
			c.Class, c.Why = fixedOrUnchecked(*c, k, in, e)
		default:
			continue
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(slices.Index(ChangeClasses, a.Class), slices.Index(ChangeClasses, b.Class)),
			observation.Compare(*a.current(), *b.current()))
	})
	return out
}

// fixedOrUnchecked classifies an ip:port exposed in A and not in B.
func fixedOrUnchecked(c Change, k netip.AddrPort, in ChangeInput, e *Exporter) (class, why string) {
	switch {
	case c.SeverityAfter != "":
		return ChangeFixed, strings.Join(differences(*c.Before, *c.After, e), ", ")
	case c.After != nil:
		switch c.After.Outcome {
		case observation.NotOpenClaw, observation.NotHTTP, observation.Refused:
			return ChangeFixed, "gone (the port answers: " + string(c.After.Outcome) + ")"
		}
		return ChangeUnchecked, "the later run could not tell (" + string(c.After.Outcome) + ")"
	case in.Covered == nil:
		return ChangeUnchecked, "not observed by the later run, whose targets are not known: " + cmp.Or(in.CoveredWhy, "no coverage given")
	case !in.Covered(k):
		return ChangeUnchecked, "outside the later run's targets"
	}
	return ChangeFixed, "gone (no open port)"
}

// differences says what makes b differ from a, the same gateway in two runs, in the terms a
// notice uses: auth, the advisories on its own surface, the version, what else moved the
// severity.
func differences(a, b observation.Observation, e *Exporter) []string {
	var out []string
	switch {
	case a.Auth != observation.AuthRequired && b.Auth == observation.AuthRequired:
		out = append(out, "authenticated")
	case a.Auth != b.Auth:
		out = append(out, "auth "+cmp.Or(a.Auth, "unknown")+" → "+cmp.Or(b.Auth, "unknown"))
	}
	va, vb := e.judge.vulnerable(a), e.judge.vulnerable(b)
	switch {
	case len(va) > 0 && len(vb) == 0:
		out = append(out, "patched")
	case !slices.Equal(slices.Sorted(slices.Values(va)), slices.Sorted(slices.Values(vb))):
		out = append(out, "advisories "+cmp.Or(strings.Join(va, " "), "none")+" → "+cmp.Or(strings.Join(vb, " "), "none"))
	}
	if a.Version != b.Version && a.Version != "" && b.Version != "" {
		out = append(out, "version "+a.Version+" → "+b.Version)
	}
	if len(out) == 0 {
		out = append(out, "severity "+e.judge.Verdict(a).Severity+" → "+e.judge.Verdict(b).Severity)
	}
	return out
}

// Changes are the changes of a series from run From (A) to run To (B).
type Changes struct {
	From, To  store.Summary
	Threshold string
	Changes   []Change
	// Note says why some of A's exposed gateways could only be unchecked ("" when B's targets
	// are known).
	Note string
}

// Counts counts the changes per class, every class present.
func (c *Changes) Counts() map[string]int {
	out := map[string]int{}
	for _, class := range ChangeClasses {
		out[class] = 0
	}
	for _, ch := range c.Changes {
		out[ch.Class]++
	}
	return out
}

// ErrChangeRuns marks a pair of runs that cannot be compared: the caller's mistake.
var ErrChangeRuns = errors.New("runs cannot be compared")

// ParseRunPair reads report --changes "A..B" (run ids) and finds both runs (ChangeRuns).
func ParseRunPair(s string, sums []store.Summary) (a, b store.Summary, err error) {
	from, to, ok := strings.Cut(s, "..")
	x, errA := strconv.ParseInt(strings.TrimSpace(from), 10, 64)
	y, errB := strconv.ParseInt(strings.TrimSpace(to), 10, 64)
	if !ok || errA != nil || errB != nil || x <= 0 || y <= 0 {
		return a, b, fmt.Errorf("%w: --changes %q: want A..B, two run ids (report lists them)", ErrChangeRuns, TextCell(s))
	}
	return ChangeRuns(sums, x, y)
}

// ChangeRuns finds runs from and to in sums and checks that they can be compared: two runs of
// one series, from started before to. Every error wraps ErrChangeRuns.
func ChangeRuns(sums []store.Summary, from, to int64) (a, b store.Summary, err error) {
	find := func(id int64) (store.Summary, bool) {
		i := slices.IndexFunc(sums, func(s store.Summary) bool { return s.ID == id })
		if i < 0 {
			return store.Summary{}, false
		}
		return sums[i], true
	}
	a, okA := find(from)
	b, okB := find(to)
	switch {
	case !okA:
		return a, b, fmt.Errorf("%w: run %d: %w", ErrChangeRuns, from, store.ErrNoRun)
	case !okB:
		return a, b, fmt.Errorf("%w: run %d: %w", ErrChangeRuns, to, store.ErrNoRun)
	case from == to:
		return a, b, fmt.Errorf("%w: run %d is compared with itself: give an earlier run of its series", ErrChangeRuns, from)
	case a.SeriesID() != b.SeriesID():
		return a, b, fmt.Errorf("%w: run %d is of series %s, run %d of series %s: compare runs of one series (report lists them)",
			ErrChangeRuns, from, seriesText(a), to, seriesText(b))
	case from > to || a.StartedAt.After(b.StartedAt):
		return a, b, fmt.Errorf("%w: run %d is not before run %d: the earlier run comes first (%d..%d)", ErrChangeRuns, from, to, min(from, to), max(from, to))
	}
	return a, b, nil
}

// ChangesStore is what LoadChanges reads of a store.
type ChangesStore interface {
	Observations(ctx context.Context, runID int64) ([]observation.Observation, error)
	GatewaysSeen(ctx context.Context, series string, before int64) ([]netip.AddrPort, error)
}

// LoadChanges classifies the changes from run a to run b (checked by ChangeRuns). coverage
// reads b's stored plan back into its targets (census.Coverage); when it cannot, or b is not
// complete, only what b observed counts as looked at (Changes.Note says why).
func (e *Exporter) LoadChanges(ctx context.Context, st ChangesStore, a, b store.Summary,
	coverage func(plan string) (func(netip.AddrPort) bool, error)) (*Changes, error) {
	var in ChangeInput
	var err error
	if in.Before, err = st.Observations(ctx, a.ID); err != nil {
		return nil, err
	}
	if in.After, err = st.Observations(ctx, b.ID); err != nil {
		return nil, err
	}
	seen, err := st.GatewaysSeen(ctx, a.SeriesID(), a.ID)
	if err != nil {
		return nil, err
	}
	in.SeenBefore = make(map[netip.AddrPort]bool, len(seen))
	for _, k := range seen {
		in.SeenBefore[netip.AddrPortFrom(k.Addr().Unmap(), k.Port())] = true
	}
	if b.Status != store.StatusComplete {
		in.CoveredWhy = fmt.Sprintf("run %d is %s", b.ID, b.Status)
	} else if in.Covered, err = coverage(b.Plan); err != nil {
		in.Covered, in.CoveredWhy = nil, fmt.Sprintf("run %d's targets cannot be read back (%v)", b.ID, err)
	}
	ch := &Changes{From: a, To: b, Threshold: NotifyThreshold, Changes: e.Classify(in)}
	if in.CoveredWhy != "" {
		ch.Note = TextCell(in.CoveredWhy) + ": an exposed gateway of run " + fmt.Sprint(a.ID) + " it did not observe is unchecked, not fixed"
	}
	return ch, nil
}

// ChangeRecord is one change in report --changes --format json: scripts depend on these keys.
type ChangeRecord struct {
	IP             string `json:"ip"`
	Port           int    `json:"port"`
	Change         string `json:"change"`
	Why            string `json:"why,omitempty"`
	SeverityBefore string `json:"severity_before,omitempty"`
	SeverityAfter  string `json:"severity_after,omitempty"`
	Product        string `json:"product"`
	Version        string `json:"version,omitempty"`
	Auth           string `json:"auth,omitempty"`
	// ObservedAt is when the observation that speaks for the ip:port (Change.Current) was made.
	ObservedAt string `json:"observed_at"`
}

// Write prints the changes as text (counts, then the list by class) or json.
func (c *Changes) Write(w io.Writer, format string) error {
	records := make([]ChangeRecord, len(c.Changes))
	for i, ch := range c.Changes {
		o := ch.Current()
		records[i] = ChangeRecord{IP: o.IP.Unmap().String(), Port: int(o.Port), Change: ch.Class, Why: TextCell(ch.Why),
			SeverityBefore: ch.SeverityBefore, SeverityAfter: ch.SeverityAfter, Product: o.Product, Version: TextCell(o.Version),
			Auth: o.Auth, ObservedAt: o.ObservedAt.UTC().Format(time.RFC3339)}
	}
	run := func(s store.Summary) map[string]any {
		return map[string]any{"run": s.ID, "started_at": s.StartedAt.UTC().Format(time.RFC3339), "status": s.Status}
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"tlp": "TLP:AMBER", "from": run(c.From), "to": run(c.To), "series": c.To.SeriesID(),
			"series_label": c.To.SeriesLabel(), "threshold": c.Threshold, "counts": c.Counts(), "note": c.Note, "changes": records})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "changes in series %s\n  from run %d (%s, %s) to run %d (%s, %s)\n", seriesText(c.To),
		c.From.ID, c.From.StartedAt.UTC().Format(time.RFC3339), c.From.Status, c.To.ID, c.To.StartedAt.UTC().Format(time.RFC3339), c.To.Status)
	fmt.Fprintf(&b, "  exposed: a gateway of severity %s or above (open access, an advisory on its own surface, a leaked config)\n", c.Threshold)
	b.WriteString("  TLP:AMBER: per-IP data, share only with the network's owner or its CERT\n")
	counts := c.Counts()
	for _, class := range ChangeClasses {
		fmt.Fprintf(&b, "  %-14s %d\n", class, counts[class])
	}
	if c.Note != "" {
		fmt.Fprintf(&b, "  note: %s\n", c.Note)
	}
	class := ""
	for i, r := range records {
		if r.Change != class {
			class = r.Change
			fmt.Fprintf(&b, "%s:\n", class)
		}
		addr := netip.AddrPortFrom(netip.MustParseAddr(r.IP), uint16(r.Port)).String()
		sev := cmp.Or(r.SeverityAfter, "-")
		if r.SeverityBefore != r.SeverityAfter {
			sev = cmp.Or(r.SeverityBefore, "-") + " → " + sev
		}
		fmt.Fprintf(&b, "  %-24s %-20s %s %s", addr, sev, c.Changes[i].Current().Product, cmp.Or(r.Version, "(version not exact)"))
		if r.Why != "" {
			fmt.Fprintf(&b, "  %s", r.Why)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
