package store

import (
	"context"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
)

// TestEveryColumnRoundTrips fills every column of an observation with a value that is not its
// zero value and reads it back from each backend: nothing the fingerprinter knows is dropped on
// the way to the store, and a field added to observation.Columns without a way to keep it fails
// here (the encoder panics on a type it does not know).
func TestEveryColumnRoundTrips(t *testing.T) {
	yes := true
	at := time.Date(2026, 12, 7, 3, 4, 5, 123456000, time.UTC)
	o := observation.Observation{IP: netip.MustParseAddr("127.0.9.9"), Port: 18789, Scheme: "https",
		Outcome: observation.OpenClaw, Product: "openclaw", Version: "2026.9.6", VersionCandidates: []string{"2026.9.6"}, VersionStatus: observation.VersionKnown,
		Facts:   `{"v":1,"rules":"x","p":{}}`,
		Channel: "beta", Commit: "0123456789ab", Auth: observation.AuthNone, Official: &yes, Honeypot: true,
		Advisories: []string{"CVE-2026-32034"}, Flags: []string{"tls"}, Evidence: []string{"rule x"}, MIIT: []string{"internet-exposure"},
		Title: "OpenClaw Control", Server: "nginx", HTTPStatus: 200, TLS: "TLS1.3", ASN: 4294967295, ASOrg: "Example AS",
		Country: "DE", Aliased: "127.0.9.0/24", ObservedAt: at, Unit: 7}
	v := reflect.ValueOf(o)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test leaves %s zero: give it a value", v.Type().Field(i).Name)
		}
	}
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			run := &Run{StartedAt: at, Targets: "127.0.9.9", TargetCount: 1, Ports: "18789", Rate: 1, Shard: "0/1"}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			if err := st.AddObservations(ctx, run.ID, []observation.Observation{o}); err != nil {
				t.Fatal(err)
			}
			got, err := st.Observations(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d observations back, want 1", len(got))
			}
			if d := cmp.Diff(o, got[0], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("round trip (-stored +read):\n%s", d)
			}
		})
	}
}
