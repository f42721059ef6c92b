package report

import (
	"context"
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

// Notify is what an export says beyond a snapshot of its run, and what it remembers of it:
// export's --changes-since, --resend-after and --mark-sent. Its zero value exports every
// gateway of the run and remembers nothing.
type Notify struct {
	// Since is an earlier run of the export's series (--changes-since): the export says what
	// changed since (Classify), with a change column; zero says every gateway, no column.
	Since int64
	// ResendAfter is an age, "7d" or a Go duration ("36h") (--resend-after): a finding told to
	// the same recipient within it, and unchanged since (Fingerprint), is left out. "" leaves
	// nothing out.
	ResendAfter string
	// MarkSent records, in the store DB names, what the export tells whom (--mark-sent).
	MarkSent bool
	// Honeypots is set when the export includes the probable honeypots (--include-honeypots):
	// refused with Since, whose changes are about gateways that count.
	Honeypots bool
	DB        string
	// Coverage reads a run's stored plan back into its targets (census.Coverage).
	Coverage func(plan string) (func(netip.AddrPort) bool, error)
	// Now is when the export is made; Log gets a line on what was changed, left out, recorded
	// (nil: none).
	Now time.Time
	Log io.Writer

	from   store.Summary
	resend time.Duration
}

// ParseAge reads an age: days ("7d") or a Go duration ("36h", "90m"); it must be positive.
func ParseAge(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
		if n > 100000 {
			err = errors.New("too long")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive age, in days (7d) or hours and minutes (36h, 90m)", TextCell(s))
	}
	return d, nil
}

// Check reads the settings against the store's runs: Since must be an earlier run of run's
// series (ChangeRuns), ResendAfter an age (ParseAge). Its errors are the caller's mistakes.
func (n *Notify) Check(sums []store.Summary, run store.Summary) error {
	if n.ResendAfter != "" {
		d, err := ParseAge(n.ResendAfter)
		if err != nil {
			return fmt.Errorf("--resend-after %w", err)
		}
		n.resend = d
	}
	if n.Since == 0 {
		return nil
	}
	if n.Honeypots {
		return errors.New("--include-honeypots with --changes-since: what changed is told about gateways that count, never about probable honeypots")
	}
	from, _, err := ChangeRuns(sums, n.Since, run.ID)
	if err != nil {
		return fmt.Errorf("--changes-since %d: %w", n.Since, err)
	}
	n.from = from
	return nil
}

// NotifyStore is what Notify reads of a store.
type NotifyStore interface {
	ChangesStore
	Notifications(ctx context.Context, since time.Time) ([]store.Notification, error)
}

// Select returns the gateways of obs, run's observations, that the export says, in obs's
// order, after Check. With Since, they are the changes since that run, except the unchecked
// (Classify: a gateway exposed in neither run is left out), and ex writes each with its change;
// a fixed one is B's gateway, or A's last sighting when it is gone. With ResendAfter, a finding
// whose latest notification to the same recipient (recipient names it, as Pack.RecipientOf)
// lies within the age and said the same (Fingerprint) is left out.
func (n *Notify) Select(ctx context.Context, st NotifyStore, run store.Summary, obs []observation.Observation, ex *Exporter,
	recipient func(observation.Observation) string) ([]observation.Observation, error) {
	out := slices.DeleteFunc(slices.Clone(obs), func(o observation.Observation) bool { _, ok := ex.Exports(o); return !ok })
	if n.Since != 0 {
		ch, err := ex.LoadChanges(ctx, readRun{st, run.ID, obs}, n.from, run, n.Coverage)
		if err != nil {
			return nil, err
		}
		ex.delta = &delta{from: n.from.ID, counts: ch.Counts(), of: map[netip.AddrPort]Change{}}
		out = out[:0]
		for _, c := range ch.Changes {
			if c.Class != ChangeUnchecked {
				ex.delta.of[c.current().Key()] = c
				out = append(out, c.Current())
			}
		}
		slices.SortStableFunc(out, observation.Compare)
		n.logf("changes since run %d: %s%s", n.from.ID, countsText(ch.Counts()), noteText(ch.Note))
	}
	if n.resend == 0 {
		return out, nil
	}
	sent, err := st.Notifications(ctx, n.Now.Add(-n.resend))
	if err != nil {
		return nil, err
	}
	type told struct {
		recipient string
		at        netip.AddrPort
	}
	latest := map[told]string{} // oldest first: the latest notification stays
	for _, s := range sent {
		latest[told{s.Recipient, netip.AddrPortFrom(s.IP.Unmap(), s.Port)}] = s.Fingerprint
	}
	before := len(out)
	out = slices.DeleteFunc(out, func(o observation.Observation) bool {
		said, ok := latest[told{recipient(o), o.Key()}]
		return ok && said == ex.Fingerprint(o)
	})
	n.logf("left out %d findings told to the same recipient within %s and unchanged since", before-len(out), n.ResendAfter)
	return out, nil
}

// readRun is a store whose run id has been read already: obs.
type readRun struct {
	ChangesStore
	id  int64
	obs []observation.Observation
}

func (r readRun) Observations(ctx context.Context, id int64) ([]observation.Observation, error) {
	if id == r.id {
		return r.obs, nil
	}
	return r.ChangesStore.Observations(ctx, id)
}

// Mark records, with MarkSent, a notification per gateway of obs (what Select returned and
// the export wrote): run, recipient, Fingerprint and Now. It opens the store for writing.
func (n *Notify) Mark(ctx context.Context, run store.Summary, obs []observation.Observation, ex *Exporter,
	recipient func(observation.Observation) string) error {
	if !n.MarkSent {
		return nil
	}
	ns := make([]store.Notification, 0, len(obs))
	who := map[string]bool{}
	for _, o := range obs {
		to := recipient(o)
		if to == "" { // a gateway with no contact was told to nobody
			continue
		}
		k := o.Key()
		ns = append(ns, store.Notification{RunID: run.ID, Recipient: to, IP: k.Addr(), Port: k.Port(),
			Fingerprint: ex.Fingerprint(o), SentAt: n.Now})
		who[to] = true
	}
	st, err := store.Open(ctx, n.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.MarkSent(ctx, ns); err != nil {
		return err
	}
	n.logf("marked %d findings of run %d as sent to %d recipients (%s store)", len(ns), run.ID, len(who), st.Backend())
	return nil
}

func (n *Notify) logf(format string, args ...any) {
	if n.Log != nil {
		fmt.Fprintf(n.Log, format+"\n", args...)
	}
}

// countsText is the counts per class for a line of text.
func countsText(counts map[string]int) string {
	parts := make([]string, len(ChangeClasses))
	for i, class := range ChangeClasses {
		parts[i] = fmt.Sprintf("%d %s", counts[class], class)
	}
	return strings.Join(parts, ", ")
}

func noteText(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

// delta is what an exporter writes of the changes since an earlier run (Notify.Select).
type delta struct {
	from   int64
	counts map[string]int
	of     map[netip.AddrPort]Change
}

// changeOf is o's class of change ("" when the export is not of changes).
func (e *Exporter) changeOf(o observation.Observation) string {
	if e.delta == nil {
		return ""
	}
	return e.delta.of[o.Key()].Class
}

// Fingerprint is what a notification says of a gateway, for telling whether a finding changed
// since it was told: "fixed" for a fix, else its severity, auth, version and the advisories.
func (e *Exporter) Fingerprint(o observation.Observation) string {
	if e.changeOf(o) == ChangeFixed {
		return ChangeFixed
	}
	version := o.Version
	if version == "" {
		version = "one-of:" + strings.Join(o.VersionCandidates, "|")
	}
	return fmt.Sprintf("severity=%s auth=%s version=%s advisories=%s", e.judge.Verdict(o).Severity, o.Auth, version,
		strings.Join(slices.Sorted(slices.Values(o.Advisories)), ","))
}

// deltaColumns is row, followed by more when the export is of changes.
func (e *Exporter) deltaColumns(row []string, more ...string) []string {
	if e.delta == nil {
		return row
	}
	return append(row, more...)
}

// FixedHeader are the columns of a pack's short list of the gateways fixed since an earlier run.
var FixedHeader = []string{"ip", "port", "change", "why", "severity_before", "severity", "last_exposed", "product", "tlp"}

// writeFixed writes the short list of the fixed gateways of obs (FixedHeader), by address:
// what the owner is told was seen fixed. severity is the gateway's now, empty when it is gone;
// last_exposed is when the earlier run saw it exposed.
func (e *Exporter) writeFixed(w io.Writer, obs []observation.Observation) error {
	obs = slices.SortedStableFunc(slices.Values(obs), observation.Compare)
	c := NewCSV(w)
	c.Write(FixedHeader)
	for _, o := range obs {
		ch := e.delta.of[o.Key()]
		last := ""
		if ch.Before != nil {
			last = ch.Before.ObservedAt.UTC().Format("2006-01-02 15:04:05")
		}
		c.Write([]string{o.IP.Unmap().String(), fmt.Sprint(o.Port), ch.Class, ch.Why, ch.SeverityBefore, ch.SeverityAfter, last,
			o.Product, "TLP:" + e.tlp()})
	}
	c.Flush()
	return c.Error()
}
