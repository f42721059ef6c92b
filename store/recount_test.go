package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clawcensus/clawcensus/observation"
)

// TestHoneypotsApartMigration: units finished before probable honeypots were counted apart kept
// counts that held them; migration 0016 recounts those units, and only those, to what the
// store counts today (a stale count in a unit without a honeypot stays as it was).
func TestHoneypotsApartMigration(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			run := &Run{StartedAt: time.Now().UTC(), Targets: "x", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test",
				Method: "connect", UnitsTotal: 3}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			var obs []observation.Observation
			for i := range 30 {
				o := observation.Observation{IP: netip.AddrFrom4([4]byte{127, 0, 3, byte(i)}), Port: 18789, Outcome: observation.OpenClaw,
					Product: "openclaw", Version: "2026.9.6", Auth: "none", Flags: []string{"plaintext-http"}, Advisories: []string{"CVE-2026-45001"},
					Country: "DE", ASN: 64500, Unit: int64(i % 3), ObservedAt: time.Now().UTC()}
				if i%3 != 2 && i%5 == 0 { // honeypots in units 0 and 1 only
					o.Honeypot, o.Flags = true, append(o.Flags, "probable-honeypot")
				}
				obs = append(obs, o)
			}
			if err := st.AddObservations(ctx, run.ID, obs); err != nil {
				t.Fatal(err)
			}
			for u := range int64(3) {
				if _, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: u, DoneAt: time.Now()}, nil); err != nil {
					t.Fatal(err)
				}
			}
			summary := func() Summary {
				sums, err := st.Summaries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return sums[0]
			}
			want := summary()
			// The counts an older release kept: every unit's rows doubled, as if each honeypot (and
			// more) were a gateway, in units 0 and 2; unit 2 has no honeypot, so it stays doubled.
			exec := rawStore(t, st)
			exec(`UPDATE unit_counts SET n = n * 2 WHERE unit IN (0, 2) AND dim <> 'fam'`) // fam came later (0017)
			ms, err := loadMigrations(name)
			if err != nil {
				t.Fatal(err)
			}
			exec(ms[16-1].sql) // 0016 as an upgrade runs it
			got := summary()
			ignore := cmpopts.IgnoreFields(Summary{}, "Run", "UnitsDone", "LiveWorkers")
			// Unit 2 (10 gateways, no honeypot) keeps its doubled rows; units 0 and 1 are recounted.
			if got.Detected != want.Detected+10 || got.Honeypots != want.Honeypots {
				t.Fatalf("after 0016: %d gateways, %d honeypots; want %d (unit 2 untouched) and %d", got.Detected, got.Honeypots,
					want.Detected+10, want.Honeypots)
			}
			exec(`UPDATE unit_counts SET n = n / 2 WHERE unit = 2 AND dim <> 'fam'`)
			if diff := cmp.Diff(want, summary(), ignore); diff != "" {
				t.Errorf("recounted units differ from the store's own counts (-want +got):\n%s", diff)
			}
		})
	}
}

// rawStore gives a test SQL on st's own database.
func rawStore(t *testing.T, st Store) (exec func(string)) {
	switch s := st.(type) {
	case *SQLite:
		return func(q string) {
			if _, err := s.db.Exec(q); err != nil {
				t.Fatal(q, err)
			}
		}
	case *Postgres:
		return func(q string) {
			if _, err := s.pool.Exec(context.Background(), q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	t.Fatalf("no raw access to %T", st)
	return nil
}
