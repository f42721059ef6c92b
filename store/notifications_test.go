package store

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
)

// TestGatewaysSeen: every backend lists, once each, the ip:ports where an older run of the same
// series identified a gateway, and nothing of another series, of a later run, or what was not
// a gateway.
func TestGatewaysSeen(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
			gw := func(ip string) observation.Observation {
				return observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Outcome: observation.OpenClaw,
					Product: "openclaw", Auth: observation.AuthNone, ObservedAt: at}
			}
			nginx := observation.Observation{IP: netip.MustParseAddr("127.0.2.3"), Port: 18789, Outcome: observation.NotOpenClaw, ObservedAt: at}
			runs := map[string][]observation.Observation{
				"first":  {gw("127.0.2.1"), gw("::1"), nginx},
				"second": {gw("127.0.2.1"), gw("127.0.2.2")},
				"other":  {gw("127.0.2.9")},
				"third":  {gw("127.0.2.4")},
			}
			ids := map[string]int64{}
			for _, r := range []string{"first", "second", "other", "third"} {
				series := "lab"
				if r == "other" {
					series = "elsewhere"
				}
				run := &Run{StartedAt: at, Targets: "127.0.2.0/24", Ports: "18789", Rate: 1, Shard: "0/1", Series: series}
				if err := st.StartRun(ctx, run); err != nil {
					t.Fatal(err)
				}
				if err := st.AddObservations(ctx, run.ID, runs[r]); err != nil {
					t.Fatal(err)
				}
				ids[r] = run.ID
			}
			for _, c := range []struct {
				series string
				before int64
				want   []string
			}{
				{"lab", ids["first"], nil},
				{"lab", ids["second"], []string{"127.0.2.1:18789", "[::1]:18789"}},
				{"lab", ids["third"], []string{"127.0.2.1:18789", "127.0.2.2:18789", "[::1]:18789"}},
				{"elsewhere", ids["third"], []string{"127.0.2.9:18789"}},
				{"none", ids["third"] + 1, nil},
			} {
				got, err := st.GatewaysSeen(ctx, c.series, c.before)
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, ap := range got {
					keys = append(keys, ap.String())
				}
				slices.Sort(keys)
				if diff := cmp.Diff(c.want, keys); diff != "" {
					t.Errorf("GatewaysSeen(%q, before %d) (-want +got):\n%s", c.series, c.before, diff)
				}
			}
		})
	}
}

// TestNotificationsContract: every backend keeps one notification per run, recipient and
// ip:port (marking again, or twice in one batch, keeps the later one, never two), reads back
// what was marked (IPv4-mapped addresses as IPv4, times to the microsecond) and lists only
// what was sent at or after a time, oldest first.
func TestNotificationsContract(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			t0 := time.Date(2026, 11, 26, 5, 0, 0, 123456789, time.UTC)
			var runs []int64
			for range 2 {
				run := &Run{StartedAt: t0, Targets: "127.0.2.0/24", Ports: "18789", Rate: 1, Shard: "0/1"}
				if err := st.StartRun(ctx, run); err != nil {
					t.Fatal(err)
				}
				runs = append(runs, run.ID)
			}
			a := netip.MustParseAddr("127.0.2.1")
			n := func(run int64, who, ip string, fp string, at time.Time) Notification {
				return Notification{RunID: run, Recipient: who, IP: netip.MustParseAddr(ip), Port: 18789, Fingerprint: fp, SentAt: at}
			}
			first := []Notification{
				n(runs[0], "net-a", "127.0.2.1", "severity=high", t0),
				n(runs[0], "net-b", "::ffff:127.0.2.1", "severity=high", t0.Add(time.Hour)),
				n(runs[0], "net-a", "::1", "severity=critical", t0.Add(time.Minute)),
				// Twice in one batch: the later is kept.
				n(runs[1], "file", "127.0.2.2", "severity=low", t0.Add(2*time.Hour)),
				n(runs[1], "file", "127.0.2.2", "fixed", t0.Add(3*time.Hour)),
			}
			for range 2 { // marking the same again counts nothing twice
				if err := st.MarkSent(ctx, first); err != nil {
					t.Fatal(err)
				}
			}
			// Again later with what changed, and once earlier: the later marking stays.
			if err := st.MarkSent(ctx, []Notification{n(runs[0], "net-a", "127.0.2.1", "severity=medium", t0.Add(4*time.Hour)),
				n(runs[0], "net-b", "127.0.2.1", "severity=low", t0.Add(-time.Hour))}); err != nil {
				t.Fatal(err)
			}
			us := func(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond) }
			want := []Notification{
				{RunID: runs[0], Recipient: "net-a", IP: netip.MustParseAddr("::1"), Port: 18789, Fingerprint: "severity=critical", SentAt: us(time.Minute)},
				{RunID: runs[0], Recipient: "net-b", IP: a, Port: 18789, Fingerprint: "severity=high", SentAt: us(time.Hour)},
				{RunID: runs[1], Recipient: "file", IP: netip.MustParseAddr("127.0.2.2"), Port: 18789, Fingerprint: "fixed", SentAt: us(3 * time.Hour)},
				{RunID: runs[0], Recipient: "net-a", IP: a, Port: 18789, Fingerprint: "severity=medium", SentAt: us(4 * time.Hour)},
			}
			opts := cmp.Options{cmp.Comparer(func(x, y netip.Addr) bool { return x == y }), cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })}
			for _, c := range []struct {
				since time.Time
				want  []Notification
			}{
				{t0.Add(-24 * time.Hour), want},
				{us(time.Hour), want[1:]},
				{t0.Add(time.Hour + time.Second), want[2:]},
				{t0.Add(5 * time.Hour), nil},
			} {
				got, err := st.Notifications(ctx, c.since)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.want, got, opts); diff != "" {
					t.Errorf("Notifications(since %s) (-want +got):\n%s", c.since, diff)
				}
			}
			if err := st.MarkSent(ctx, []Notification{n(999999, "file", "127.0.2.1", "x", t0)}); err == nil {
				t.Error("MarkSent accepted a run that does not exist")
			}
		})
	}
}
