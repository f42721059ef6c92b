package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "1d": 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute,
		"0d": 0, "-1d": 0, "d": 0, "7": 0, "7w": 0, "": 0, "1000000d": 0, "-3h": 0} {
		got, err := ParseAge(in)
		if got != want || (err != nil) != (want == 0) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestNotifyCheck: --changes-since must name an earlier run of the export's series, and
// --resend-after an age; each refusal names its flag.
func TestNotifyCheck(t *testing.T) {
	at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	run := func(id int64, series string) store.Summary {
		return store.Summary{Run: store.Run{ID: id, Series: series, StartedAt: at.Add(time.Duration(id) * time.Hour)}}
	}
	sums := []store.Summary{run(1, "lab"), run(2, "other"), run(3, "lab")}
	for _, c := range []struct {
		n    Notify
		want string
	}{
		{Notify{}, ""},
		{Notify{Since: 1, ResendAfter: "7d"}, ""},
		{Notify{Since: 2}, "--changes-since 2: runs cannot be compared: run 2 is of series other, run 3 of series lab"},
		{Notify{Since: 3}, "--changes-since 3: runs cannot be compared: run 3 is compared with itself"},
		{Notify{Since: 4}, "--changes-since 4: runs cannot be compared: run 4: no such run"},
		{Notify{ResendAfter: "a week"}, `--resend-after "a week": want a positive age`},
		{Notify{Since: 1, Honeypots: true}, "--include-honeypots with --changes-since"},
		{Notify{Honeypots: true}, ""},
	} {
		err := c.n.Check(sums, sums[2])
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want))) {
			t.Errorf("%+v: %v, want %q", c.n, err, c.want)
		}
	}
}

// TestNotifySelect: with --resend-after, a finding is left out only when its latest
// notification to the same recipient lies within the age and said the same; with
// --changes-since, the export is the changes (the unchecked and what is exposed in neither run
// left out), each with its class, a fix told once.
func TestNotifySelect(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	ex := changeExporter()
	open := func(ip string) observation.Observation { return gateway(ip, observation.AuthNone) }
	fp := ex.Fingerprint(open("127.0.0.1"))
	sent := func(ip, who, said string, daysAgo int) store.Notification {
		return store.Notification{RunID: 1, Recipient: who, IP: netip.MustParseAddr(ip), Port: 18789, Fingerprint: said,
			SentAt: now.Add(-time.Duration(daysAgo) * 24 * time.Hour)}
	}
	st := &changeStore{sent: []store.Notification{
		sent("127.0.0.1", "net-a", fp, 1),             // told, unchanged: left out
		sent("127.0.0.2", "net-a", "severity=low", 1), // told something else: sent
		sent("127.0.0.3", "net-b", fp, 10),            // told before the window: sent
		sent("127.0.0.4", "net-a", fp, 3),             // told the same, then something else: sent
		sent("127.0.0.4", "net-a", "fixed", 2),
		sent("127.0.0.5", "net-b", fp, 1),        // told another recipient: sent
		sent("::ffff:127.0.0.6", "net-a", fp, 6), // an IPv4-mapped address is the address
	}}
	recipient := func(o observation.Observation) string {
		if o.IP == netip.MustParseAddr("127.0.0.3") {
			return "net-b"
		}
		return "net-a"
	}
	var obs []observation.Observation
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"} {
		obs = append(obs, open(ip))
	}
	obs = append(obs, answer("127.0.0.9", observation.NotOpenClaw))
	ips := func(obs []observation.Observation) []string {
		var out []string
		for _, o := range obs {
			out = append(out, o.IP.String()+" "+ex.changeOf(o))
		}
		return out
	}
	var log strings.Builder
	n := Notify{ResendAfter: "7d", Now: now, Log: &log}
	if err := n.Check(nil, store.Summary{}); err != nil {
		t.Fatal(err)
	}
	got, err := n.Select(context.Background(), st, store.Summary{}, obs, ex, recipient)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.2 ", "127.0.0.3 ", "127.0.0.4 ", "127.0.0.5 "}, ips(got)); diff != "" {
		t.Errorf("resend after 7d (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "left out 2 findings told to the same recipient within 7d and unchanged since") {
		t.Errorf("log: %q", log.String())
	}

	// Changes since run 1: .1 still exposed, .2 fixed (authenticated), .3 gone where run 2's
	// targets do not reach (unchecked), .4 new; .5 below the threshold in both.
	st.obs = map[int64][]observation.Observation{
		1: {open("127.0.0.1"), open("127.0.0.2"), open("127.0.0.3"), gateway("127.0.0.5", observation.AuthRequired)},
		2: {open("127.0.0.1"), gateway("127.0.0.2", observation.AuthRequired), open("127.0.0.4"), gateway("127.0.0.5", observation.AuthRequired),
			answer("127.0.0.9", observation.NotOpenClaw)},
	}
	st.sent = []store.Notification{sent("127.0.0.2", "net-a", "fixed", 1)}
	runs := []store.Summary{{Run: store.Run{ID: 1, Series: "lab", StartedAt: now.Add(-48 * time.Hour), Status: store.StatusComplete}},
		{Run: store.Run{ID: 2, Series: "lab", StartedAt: now.Add(-24 * time.Hour), Status: store.StatusComplete}}}
	inside := func(string) (func(netip.AddrPort) bool, error) {
		return func(ap netip.AddrPort) bool { return ap.Addr() != netip.MustParseAddr("127.0.0.3") }, nil
	}
	for _, c := range []struct {
		resend string
		want   []string
	}{
		{"", []string{"127.0.0.1 still-exposed", "127.0.0.2 fixed", "127.0.0.4 new"}},
		{"7d", []string{"127.0.0.1 still-exposed", "127.0.0.4 new"}}, // the fix was told yesterday
	} {
		ex := changeExporter()
		log.Reset()
		n := Notify{Since: 1, ResendAfter: c.resend, Coverage: inside, Now: now, Log: &log}
		if err := n.Check(runs, runs[1]); err != nil {
			t.Fatal(err)
		}
		got, err := n.Select(context.Background(), st, runs[1], st.obs[2], ex, recipient)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, o := range got {
			rows = append(rows, o.IP.String()+" "+ex.changeOf(o))
		}
		if diff := cmp.Diff(c.want, rows); diff != "" {
			t.Errorf("changes since run 1, resend %q (-want +got):\n%s", c.resend, diff)
		}
		if !strings.Contains(log.String(), "changes since run 1: 1 new, 0 regressed, 1 still-exposed, 1 fixed, 1 unchecked") {
			t.Errorf("log: %q", log.String())
		}
	}
	if diff := cmp.Diff([]int64{1, 1}, st.read); diff != "" {
		t.Errorf("observations read from the store (-want +got): the export's own run is read once, by the export:\n%s", diff)
	}
}

// TestNotifyMark: --mark-sent records one notification per exported gateway, with its
// recipient and what was said; marking the same export again counts nothing twice.
func TestNotifyMark(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "store.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := &store.Run{StartedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Targets: "127.0.0.0/24", Ports: "18789", Rate: 1, Shard: "0/1"}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	ex := changeExporter()
	obs := []observation.Observation{gateway("127.0.0.1", observation.AuthNone), gateway("::ffff:127.0.0.2", observation.AuthRequired, "CVE-2026-45001")}
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	var log strings.Builder
	for range 2 {
		n := Notify{MarkSent: true, DB: db, Now: now, Log: &log}
		if err := n.Mark(ctx, store.Summary{Run: *run}, obs, ex, func(o observation.Observation) string { return "file" }); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&Notify{DB: filepath.Join(t.TempDir(), "never.db")}).Mark(ctx, store.Summary{Run: *run}, obs, ex, nil); err != nil {
		t.Errorf("Mark without MarkSent: %v", err)
	}
	got, err := st.Notifications(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Notification{
		{RunID: run.ID, Recipient: "file", IP: netip.MustParseAddr("127.0.0.1"), Port: 18789, SentAt: now,
			Fingerprint: "severity=high auth=none version=2026.9.6 advisories="},
		{RunID: run.ID, Recipient: "file", IP: netip.MustParseAddr("127.0.0.2"), Port: 18789, SentAt: now,
			Fingerprint: "severity=medium auth=required version=2026.9.6 advisories=CVE-2026-45001"},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "marked 2 findings of run 1 as sent to 1 recipients (sqlite store)") {
		t.Errorf("log: %q", log.String())
	}
}

// TestChangesInEveryFormat: an export of changes carries each gateway's class in every
// format (a last CSV column, IntelMQ's extra.change, an X-ARF change field and tag, all still
// valid), and a pack lists the fixed gateways apart, per recipient, in a short list (a
// recipient with nothing but fixes gets only that), counted in index.csv and the manifest.
func TestChangesInEveryFormat(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	open := func(ip string) observation.Observation { return gateway(ip, observation.AuthNone) }
	st := &changeStore{obs: map[int64][]observation.Observation{
		1: {open("127.0.0.1"), open("127.0.0.2"), open("127.0.0.130"), open("127.0.1.1")},
		2: {open("127.0.0.1"), gateway("127.0.0.2", observation.AuthRequired), open("127.0.0.131")},
	}}
	runs := []store.Summary{{Run: store.Run{ID: 1, Series: "lab", StartedAt: now.Add(-48 * time.Hour), Status: store.StatusComplete}},
		{Run: store.Run{ID: 2, Series: "lab", StartedAt: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC), Status: store.StatusComplete}}}
	all := func(string) (func(netip.AddrPort) bool, error) { return func(netip.AddrPort) bool { return true }, nil }
	cidrs := []CIDRRecipient{{netip.MustParsePrefix("127.0.0.0/25"), "net-a"}, {netip.MustParsePrefix("127.0.0.128/25"), "net-b"},
		{netip.MustParsePrefix("127.0.1.0/24"), "net-c"}}
	dir := filepath.Join(t.TempDir(), "pack")
	pack := &Pack{Dir: dir, By: "cidrs", CIDRs: cidrs, Run: runs[1], Generated: now}
	ex := changeExporter()
	n := Notify{Since: 1, Coverage: all, Now: now}
	if err := n.Check(runs, runs[1]); err != nil {
		t.Fatal(err)
	}
	obs, err := n.Select(context.Background(), st, runs[1], st.obs[2], ex, pack.RecipientOf(ex))
	if err != nil {
		t.Fatal(err)
	}
	recips, err := pack.Write(obs, ex)
	if err != nil {
		t.Fatal(err)
	}
	byFile := func(name string) []string {
		rows := readCSVByHeader(t, filepath.Join(dir, name))
		var out []string
		for _, r := range rows {
			out = append(out, r["ip"]+" "+r["change"]+" "+r["why"])
		}
		return out
	}
	for file, want := range map[string][]string{
		"2026-12-09-scan_openclaw-net-a.csv":       {"127.0.0.1 still-exposed "},
		"2026-12-09-scan_openclaw-net-a-fixed.csv": {"127.0.0.2 fixed authenticated"},
		"2026-12-09-scan_openclaw-net-b.csv":       {"127.0.0.131 new "},
		"2026-12-09-scan_openclaw-net-b-fixed.csv": {"127.0.0.130 fixed gone (no open port)"},
		"2026-12-09-scan_openclaw-net-c-fixed.csv": {"127.0.1.1 fixed gone (no open port)"},
	} {
		if diff := cmp.Diff(want, byFile(file)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
	}
	var index []string
	for _, r := range readCSVByHeader(t, filepath.Join(dir, "index.csv")) {
		index = append(index, strings.Join([]string{r["recipient"], r["file"], r["gateways"], r["fixed"], r["fixed_file"]}, " "))
		if b, err := os.ReadFile(filepath.Join(dir, r["fixed_file"])); err != nil || fmt.Sprintf("%x", sha256.Sum256(b)) != r["fixed_sha256"] {
			t.Errorf("index: %s's sha256 %s (%v)", r["fixed_file"], r["fixed_sha256"], err)
		}
	}
	want := []string{"net-a 2026-12-09-scan_openclaw-net-a.csv 1 1 2026-12-09-scan_openclaw-net-a-fixed.csv",
		"net-b 2026-12-09-scan_openclaw-net-b.csv 1 1 2026-12-09-scan_openclaw-net-b-fixed.csv",
		"net-c  0 1 2026-12-09-scan_openclaw-net-c-fixed.csv"}
	if diff := cmp.Diff(want, index); diff != "" || len(recips) != 3 {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	var manifest struct {
		ChangesSince struct {
			Run    int64
			Counts map[string]int
		} `json:"changes_since"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err != nil || json.Unmarshal(b, &manifest) != nil ||
		manifest.ChangesSince.Run != 1 || manifest.ChangesSince.Counts[ChangeFixed] != 3 || manifest.ChangesSince.Counts[ChangeNew] != 1 {
		t.Errorf("manifest changes_since: %+v (%v)", manifest.ChangesSince, err)
	}

	// One file: the fixed are rows too, each format with its change.
	wantChanges := []string{"still-exposed", "fixed", "fixed", "new", "fixed"} // by address
	var csvOut bytes.Buffer
	if err := ex.WriteCSV(&csvOut, obs); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil || len(recs) != 6 || recs[0][len(recs[0])-1] != "change" || len(recs[0]) != len(ShadowserverHeader)+1 {
		t.Fatalf("csv: %v %v", recs, err)
	}
	for i, r := range recs[1:] {
		if r[len(r)-1] != wantChanges[i] {
			t.Errorf("csv row %d: change %q, want %q", i, r[len(r)-1], wantChanges[i])
		}
	}
	ex.Format = ExportFormat{Name: FormatIntelMQ, Now: now}
	for i, o := range obs {
		ev := ex.IntelMQEvent(o, now)
		b, _ := json.Marshal(ev)
		var decoded map[string]any
		json.Unmarshal(b, &decoded)
		if ev["extra.change"] != wantChanges[i] || len(checkIntelMQ(decoded)) > 0 {
			t.Errorf("intelmq %s: change %v, %v", o.IP, ev["extra.change"], checkIntelMQ(decoded))
		}
		r := ex.XARF(o, "6f1c2a9e-8a3b-4c5d-9e7f-0a1b2c3d4e5f")
		b, _ = json.Marshal(r)
		decoded = nil
		json.Unmarshal(b, &decoded)
		if r.Change != wantChanges[i] || !slices.Contains(r.Tags, "change:"+wantChanges[i]) || len(checkXARF(decoded)) > 0 {
			t.Errorf("xarf %s: change %q, tags %v, %v", o.IP, r.Change, r.Tags, checkXARF(decoded))
		}
	}
}
