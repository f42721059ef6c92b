package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// changeExporter rates severities as TestSeverity does: CVE-2026-45001 high, CVE-2026-32922
// critical, every advisory on the gateway's own surface (no knowledge base to tell).
func changeExporter() *Exporter {
	return &Exporter{built: map[string]string{}, judge: &Judge{severityOf: map[string]string{"CVE-2026-45001": "high", "CVE-2026-32922": "critical"}}}
}

// gateway is a gateway at ip:18789 with the given auth and advisories.
func gateway(ip, auth string, adv ...string) observation.Observation {
	return observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
		Product: "openclaw", Version: "2026.9.6", Auth: auth, Advisories: adv,
		ObservedAt: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)}
}

// aliasedGateway is gateway(ip, none) standing for the aliased prefix.
func aliasedGateway(ip, prefix string) observation.Observation {
	o := gateway(ip, observation.AuthNone)
	o.Aliased = prefix
	return o
}

func answer(ip string, outcome observation.Outcome) observation.Observation {
	return observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Outcome: outcome}
}

// TestClassify: every way an ip:port goes from run A to run B, one case each (the definitions
// are on the Change* constants).
func TestClassify(t *testing.T) {
	type obs = []observation.Observation
	covered := func(ap netip.AddrPort) bool { return netip.MustParsePrefix("127.0.0.0/24").Contains(ap.Addr()) }
	none := observation.AuthNone
	req := observation.AuthRequired
	unk := observation.AuthUnknown
	for _, c := range []struct {
		name                   string
		before, after          obs
		seenBefore             bool
		nilCoverage            bool
		threshold              string
		class, why, sevA, sevB string
	}{
		{name: "open in both", before: obs{gateway("127.0.0.1", none)}, after: obs{gateway("127.0.0.1", none)},
			class: ChangeStillExposed, sevA: "high", sevB: "high"},
		{name: "an aliased prefix, another address probed", before: obs{aliasedGateway("127.0.0.9", "127.0.0.8/29")},
			after: obs{aliasedGateway("127.0.0.13", "127.0.0.8/29")}, class: ChangeStillExposed, sevA: "high", sevB: "high"},
		{name: "severity fell, still exposed", before: obs{gateway("127.0.0.1", none, "CVE-2026-45001")}, after: obs{gateway("127.0.0.1", none)},
			class: ChangeStillExposed, sevA: "critical", sevB: "high"},
		{name: "auth on, still a vulnerable release", before: obs{gateway("127.0.0.1", none, "CVE-2026-45001")},
			after: obs{gateway("127.0.0.1", req, "CVE-2026-45001")}, class: ChangeStillExposed, sevA: "critical", sevB: "medium"},
		{name: "severity rose", before: obs{gateway("127.0.0.1", none)}, after: obs{gateway("127.0.0.1", none, "CVE-2026-45001")},
			class: ChangeRegressed, why: "severity rose from high to critical", sevA: "high", sevB: "critical"},
		{name: "authenticated", before: obs{gateway("127.0.0.1", none)}, after: obs{gateway("127.0.0.1", req)},
			class: ChangeFixed, why: "authenticated", sevA: "high", sevB: "low"},
		{name: "patched", before: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")}, after: obs{gateway("127.0.0.1", unk)},
			class: ChangeFixed, why: "patched", sevA: "medium", sevB: "info"},
		{name: "authenticated and patched", before: obs{gateway("127.0.0.1", none, "CVE-2026-45001")}, after: obs{gateway("127.0.0.1", req)},
			class: ChangeFixed, why: "authenticated, patched", sevA: "critical", sevB: "low"},
		{name: "gone inside B's targets", before: obs{gateway("127.0.0.1", none)}, class: ChangeFixed, why: "gone (no open port)", sevA: "high"},
		{name: "gone: another service answers", before: obs{gateway("127.0.0.1", none)}, after: obs{answer("127.0.0.1", observation.NotOpenClaw)},
			class: ChangeFixed, why: "gone (the port answers: not-openclaw)", sevA: "high"},
		{name: "outside B's targets", before: obs{gateway("127.0.1.1", none)}, class: ChangeUnchecked, why: "outside the later run's targets", sevA: "high"},
		{name: "B's targets unknown", before: obs{gateway("127.0.0.1", none)}, nilCoverage: true, class: ChangeUnchecked,
			why: "not observed by the later run, whose targets are not known: run 2 is stalled", sevA: "high"},
		{name: "B's probe timed out", before: obs{gateway("127.0.0.1", none)}, after: obs{answer("127.0.0.1", observation.Timeout)},
			class: ChangeUnchecked, why: "the later run could not tell (timeout)", sevA: "high"},
		{name: "B did not probe it", before: obs{gateway("127.0.0.1", none)}, after: obs{answer("127.0.0.1", observation.Unprobed)},
			class: ChangeUnchecked, why: "the later run could not tell (open-unprobed)", sevA: "high"},
		{name: "new", after: obs{gateway("127.0.0.1", none)}, class: ChangeNew, sevB: "high"},
		{name: "new where another service answered", before: obs{answer("127.0.0.1", observation.NotOpenClaw)}, after: obs{gateway("127.0.0.1", none)},
			class: ChangeNew, sevB: "high"},
		{name: "absent in A, seen before", after: obs{gateway("127.0.0.1", none)}, seenBefore: true, class: ChangeRegressed,
			why: "exposed again: a gateway in an older run of the series, none in the earlier run", sevB: "high"},
		{name: "auth off again", before: obs{gateway("127.0.0.1", req)}, after: obs{gateway("127.0.0.1", none)}, class: ChangeRegressed,
			why: "exposed again: auth required → none", sevA: "low", sevB: "high"},
		{name: "vulnerable release again", before: obs{gateway("127.0.0.1", unk)}, after: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")},
			class: ChangeRegressed, why: "exposed again: advisories none → CVE-2026-45001", sevA: "info", sevB: "medium"},
		{name: "IPv4-mapped in A is the same ip:port", before: obs{gateway("::ffff:127.0.0.1", none)}, after: obs{gateway("127.0.0.1", none)},
			class: ChangeStillExposed, sevA: "high", sevB: "high"},
		{name: "below the threshold in both", before: obs{gateway("127.0.0.1", req)}, after: obs{gateway("127.0.0.1", unk)}},
		{name: "medium in both", before: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")}, after: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")},
			class: ChangeStillExposed, sevA: "medium", sevB: "medium"},
		{name: "medium in both, threshold high", before: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")},
			after: obs{gateway("127.0.0.1", unk, "CVE-2026-45001")}, threshold: "high"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := ChangeInput{Before: c.before, After: c.after, Covered: covered, Threshold: c.threshold,
				SeenBefore: map[netip.AddrPort]bool{netip.MustParseAddrPort("127.0.0.1:18789"): c.seenBefore}}
			if c.nilCoverage {
				in.Covered, in.CoveredWhy = nil, "run 2 is stalled"
			}
			got := changeExporter().Classify(in)
			if c.class == "" {
				if len(got) != 0 {
					t.Fatalf("listed %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d changes, want 1: %+v", len(got), got)
			}
			g := got[0]
			if diff := cmp.Diff([]string{c.class, c.why, c.sevA, c.sevB}, []string{g.Class, g.Why, g.SeverityBefore, g.SeverityAfter}); diff != "" {
				t.Errorf("class, why, severities (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClassifyOrdersAndKeepsOne: a lab's worth of ip:ports comes out once each, by class, then
// by address; what speaks for a gone gateway is A's last sighting, for the others B's.
func TestClassifyOrdersAndKeepsOne(t *testing.T) {
	before := []observation.Observation{gateway("127.0.0.3", observation.AuthNone), gateway("127.0.0.1", observation.AuthNone),
		gateway("127.0.0.2", observation.AuthNone), answer("127.0.0.9", observation.NotOpenClaw)}
	after := []observation.Observation{gateway("127.0.0.5", observation.AuthNone), gateway("127.0.0.2", observation.AuthRequired),
		gateway("127.0.0.1", observation.AuthNone), gateway("127.0.0.4", observation.AuthNone)}
	got := changeExporter().Classify(ChangeInput{Before: before, After: after, Covered: func(netip.AddrPort) bool { return true }})
	var rows []string
	for _, c := range got {
		cur := c.Current()
		rows = append(rows, c.Class+" "+cur.IP.String()+" "+cur.Auth)
	}
	want := []string{"new 127.0.0.4 none", "new 127.0.0.5 none", "still-exposed 127.0.0.1 none", "fixed 127.0.0.2 required",
		"fixed 127.0.0.3 none"}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestChangeRuns: only two runs of one series compare, the earlier first; every refusal says
// why and wraps ErrChangeRuns (a usage error in the CLI).
func TestChangeRuns(t *testing.T) {
	at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	run := func(id int64, series string, day int) store.Summary {
		return store.Summary{Run: store.Run{ID: id, Series: series, StartedAt: at.AddDate(0, 0, day), Targets: "127.0.0.0/24", Ports: "18789"}}
	}
	sums := []store.Summary{run(1, "lab", 0), run(2, "lab", 1), run(3, "recheck", 2), run(4, "lab", 3)}
	for _, c := range []struct {
		pair, want string
	}{
		{"1..2", ""},
		{"2..4", ""},
		{" 1 .. 4 ", ""},
		{"2..1", "run 2 is not before run 1: the earlier run comes first (1..2)"},
		{"2..3", "run 2 is of series lab, run 3 of series recheck"},
		{"2..2", "run 2 is compared with itself"},
		{"1..9", "run 9: no such run"},
		{"9..1", "run 9: no such run"},
		{"1-2", `--changes "1-2": want A..B`},
		{"1..", "want A..B"},
		{"0..2", "want A..B"},
	} {
		a, b, err := ParseRunPair(c.pair, sums)
		switch {
		case c.want == "" && (err != nil || a.ID == 0 || b.ID == 0 || a.ID >= b.ID):
			t.Errorf("%q: runs %d, %d, %v", c.pair, a.ID, b.ID, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrChangeRuns)):
			t.Errorf("%q: %v, want %q", c.pair, err, c.want)
		}
	}
}

// changeStore is a store of two runs' observations, the gateways seen before them and the
// notifications sent.
type changeStore struct {
	obs  map[int64][]observation.Observation
	seen []netip.AddrPort
	sent []store.Notification
	// asked records the series and run GatewaysSeen was asked about; read, the runs whose
	// observations were read.
	asked []string
	read  []int64
}

func (s *changeStore) Observations(_ context.Context, run int64) ([]observation.Observation, error) {
	s.read = append(s.read, run)
	return s.obs[run], nil
}

func (s *changeStore) GatewaysSeen(_ context.Context, series string, before int64) ([]netip.AddrPort, error) {
	s.asked = append(s.asked, fmt.Sprintf("%s before %d", series, before))
	return s.seen, nil
}

func (s *changeStore) Notifications(_ context.Context, since time.Time) ([]store.Notification, error) {
	var out []store.Notification
	for _, n := range s.sent {
		if !n.SentAt.Before(since) {
			out = append(out, n)
		}
	}
	return out, nil
}

// TestLoadChanges: B's targets come from its stored plan only when B is complete; a stalled B,
// or a plan that cannot be read back, leaves what B did not observe unchecked, and says why.
// The series' older gateways are asked for before A.
func TestLoadChanges(t *testing.T) {
	st := &changeStore{
		obs: map[int64][]observation.Observation{
			1: {gateway("127.0.0.1", observation.AuthNone), gateway("127.0.0.2", observation.AuthNone)},
			2: {gateway("127.0.0.3", observation.AuthNone)},
		},
		seen: []netip.AddrPort{netip.MustParseAddrPort("[::ffff:127.0.0.3]:18789")},
	}
	a := store.Summary{Run: store.Run{ID: 1, Series: "lab", Status: store.StatusComplete}}
	b := store.Summary{Run: store.Run{ID: 2, Series: "lab", Status: store.StatusComplete, Plan: "plan of run 2"}}
	only1 := func(plan string) (func(netip.AddrPort) bool, error) {
		if plan != "plan of run 2" {
			t.Errorf("coverage of %q", plan)
		}
		return func(ap netip.AddrPort) bool { return ap.Addr() == netip.MustParseAddr("127.0.0.1") }, nil
	}
	broken := func(string) (func(netip.AddrPort) bool, error) { return nil, errors.New("targets.txt changed") }
	stalled := b
	stalled.Status = store.StatusStalled
	for _, c := range []struct {
		name     string
		b        store.Summary
		coverage func(string) (func(netip.AddrPort) bool, error)
		want     []string
		note     string
	}{
		{"complete", b, only1, []string{"regressed 127.0.0.3", "fixed 127.0.0.1", "unchecked 127.0.0.2"}, ""},
		{"stalled", stalled, only1, []string{"regressed 127.0.0.3", "unchecked 127.0.0.1", "unchecked 127.0.0.2"},
			"run 2 is stalled: an exposed gateway of run 1 it did not observe is unchecked, not fixed"},
		{"plan unreadable", b, broken, []string{"regressed 127.0.0.3", "unchecked 127.0.0.1", "unchecked 127.0.0.2"},
			"run 2's targets cannot be read back (targets.txt changed): an exposed gateway of run 1 it did not observe is unchecked, not fixed"},
	} {
		ch, err := changeExporter().LoadChanges(context.Background(), st, a, c.b, c.coverage)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range ch.Changes {
			got = append(got, x.Class+" "+x.Current().IP.String())
		}
		if diff := cmp.Diff(c.want, got); diff != "" || ch.Note != c.note {
			t.Errorf("%s: changes (-want +got):\n%s\nnote %q, want %q", c.name, diff, ch.Note, c.note)
		}
	}
	if diff := cmp.Diff([]string{"lab before 1", "lab before 1", "lab before 1"}, st.asked); diff != "" {
		t.Errorf("GatewaysSeen asked (-want +got):\n%s", diff)
	}
}

// TestChangesWrite: json carries the counts of every class and one record per change; text
// the counts, the note and the list by class.
func TestChangesWrite(t *testing.T) {
	at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	ex := changeExporter()
	hostile := gateway("::1", observation.AuthNone)
	hostile.Version = "2026.9.6\x1b[31m"
	ch := &Changes{From: store.Summary{Run: store.Run{ID: 1, Series: "lab", StartedAt: at, Status: store.StatusComplete}},
		To:        store.Summary{Run: store.Run{ID: 2, Series: "lab", StartedAt: at.Add(24 * time.Hour), Status: store.StatusComplete}},
		Threshold: NotifyThreshold, Note: "a note",
		Changes: ex.Classify(ChangeInput{Before: []observation.Observation{gateway("127.0.0.1", observation.AuthNone)},
			After: []observation.Observation{gateway("127.0.0.1", observation.AuthRequired), hostile}})}
	var js bytes.Buffer
	if err := ch.Write(&js, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From, To  map[string]any
		Threshold string
		Counts    map[string]int
		Note      string
		Changes   []ChangeRecord
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []ChangeRecord{
		{IP: "::1", Port: 18789, Change: ChangeNew, SeverityAfter: "high", Product: "openclaw", Version: "2026.9.6[31m", Auth: "none",
			ObservedAt: "2026-11-28T03:00:00Z"},
		{IP: "127.0.0.1", Port: 18789, Change: ChangeFixed, Why: "authenticated", SeverityBefore: "high", SeverityAfter: "low",
			Product: "openclaw", Version: "2026.9.6", Auth: "required", ObservedAt: "2026-11-28T03:00:00Z"},
	}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("json records (-want +got):\n%s", diff)
	}
	wantCounts := map[string]int{ChangeNew: 1, ChangeRegressed: 0, ChangeStillExposed: 0, ChangeFixed: 1, ChangeUnchecked: 0}
	if diff := cmp.Diff(wantCounts, got.Counts); diff != "" || got.Threshold != "medium" || got.Note != "a note" ||
		got.From["run"] != 1.0 || got.To["run"] != 2.0 {
		t.Errorf("json counts (-want +got):\n%s\n%s", diff, js.String())
	}
	var text bytes.Buffer
	if err := ch.Write(&text, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"tlp": "TLP:AMBER"`) {
		t.Errorf("json is not marked TLP:AMBER:\n%s", js.String())
	}
	for _, line := range []string{"changes in series lab\n", "  TLP:AMBER: per-IP data", "  fixed          1\n", "  new            1\n", "  regressed      0\n", "  note: a note\n",
		"fixed:\n  127.0.0.1:18789          high → low           openclaw 2026.9.6  authenticated\n"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("text lacks %q:\n%s", line, text.String())
		}
	}
}
