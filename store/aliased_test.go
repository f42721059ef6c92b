package store

import (
	"context"
	"testing"
	"time"
)

// TestClaimAliased: the first unit to claim an aliased prefix on a port holds it; another unit
// learns who does; the holder claiming again (its unit worked again) still holds it; another
// port or run is another claim.
func TestClaimAliased(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			var runs []int64
			for range 2 {
				r := &Run{StartedAt: time.Now().UTC(), Targets: "2001:2::/48", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test", Method: "connect"}
				if err := st.StartRun(ctx, r); err != nil {
					t.Fatal(err)
				}
				runs = append(runs, r.ID)
			}
			for _, c := range []struct {
				run, unit int64
				port      uint16
				want      int64
			}{
				{runs[0], 3, 18789, 3}, {runs[0], 5, 18789, 3}, {runs[0], 3, 18789, 3},
				{runs[0], 5, 443, 5}, {runs[1], 7, 18789, 7},
			} {
				got, err := st.ClaimAliased(ctx, c.run, c.unit, "2001:2:0:a::/64", c.port)
				if err != nil || got != c.want {
					t.Errorf("run %d unit %d port %d: holder %d (%v), want %d", c.run, c.unit, c.port, got, err, c.want)
				}
			}
		})
	}
}
