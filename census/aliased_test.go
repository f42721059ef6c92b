package census

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// ownNamespace skips a test unless it runs sealed (deploy/lab/sealed.sh) as real root in a
// network namespace of its own, where it may add routes and addresses to lo.
func ownNamespace(t *testing.T) {
	t.Helper()
	if os.Getenv("CLAWCENSUS_SEALED") != "1" || os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root in deploy/lab/sealed.sh's namespace (CI runs it so)")
	}
	self, _ := os.Readlink("/proc/self/ns/net")
	if init, _ := os.Readlink("/proc/1/ns/net"); self == "" || self == init {
		t.Skip("not in a network namespace of its own")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// TestAliasedObservedOnce: in the sealed namespace, one listener replays a real gateway on
// 127.0.0.1, on two addresses of 2001:2:0:b::/64, and on all of 2001:2:0:a::/64 (an AnyIP
// route: an aliased /64). A run of a hitlist with three addresses in the aliased /64 finds it
// by its sixteen random addresses and observes it once; a run given the /64 in an aliased-
// prefixes file probes one address of it. Either way every IPv6 gateway is found, the /64 is
// one observation marked aliased, and the report counts IPv4 and IPv6 apart.
func TestAliasedObservedOnce(t *testing.T) {
	ownNamespace(t)
	ip(t, "-6", "route", "add", "local", "2001:2:0:a::/64", "dev", "lo")
	t.Cleanup(func() { exec.Command("ip", "-6", "route", "del", "local", "2001:2:0:a::/64", "dev", "lo").Run() })
	for _, a := range []string{"2001:2:0:b::1/128", "2001:2:0:b::2/128"} {
		ip(t, "-6", "addr", "add", a, "dev", "lo", "nodad")
		t.Cleanup(func() { exec.Command("ip", "-6", "addr", "del", a, "dev", "lo").Run() })
	}
	gws, err := fixture.Load("../fingerprint/testdata/gateways")
	if err != nil || len(gws) == 0 {
		t.Fatalf("gateway fixtures: %v", err)
	}
	ln, err := net.Listen("tcp", "[::]:0") // both families, every local address
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gws[0], ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := uint16(ln.Addr().(*net.TCPAddr).Port)

	dir := t.TempDir()
	hitlist, aliased := filepath.Join(dir, "hitlist.txt"), filepath.Join(dir, "aliased-prefixes.txt")
	os.WriteFile(hitlist, []byte("# responsive addresses\n2001:2:0:a::1\n2001:2:0:a::2\n2001:2:0:a::3\n"+
		"2001:2:0:b::1\n2001:2:0:b::2\n2001:2:0:b::3\n127.0.0.1\n"), 0o600)
	os.WriteFile(aliased, []byte("2001:2:0:a::/64\n"), 0o600)

	for name, dsn := range storetest.Backends() {
		// With a unit per address the aliased /64's addresses fall in three units: the first to
		// claim it observes it, the others drop theirs.
		for _, variant := range []struct {
			withList bool
			unitSize uint64
		}{{false, 0}, {false, 1}, {true, 0}} {
			withList := variant.withList
			t.Run(fmt.Sprintf("%s/list=%v/unit=%d", name, withList, variant.unitSize), func(t *testing.T) {
				ctx := context.Background()
				c, err := Open(ctx, dsn(t))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				seed := int64(5)
				cfg := PlanConfig{Targets: []string{"@" + hitlist}, Ports: []uint16{port}, Seed: &seed, Lab: true,
					Scope: "2001:2::/48,127.0.0.0/8", Rate: 1000, Method: "connect", Timeout: time.Second, UnitSize: variant.unitSize}
				wantAddresses := uint64(7)
				if withList {
					cfg.Aliased, wantAddresses = aliased, 5
				}
				p, err := NewPlan(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if p.Addresses != wantAddresses {
					t.Errorf("plan of %d addresses, want %d", p.Addresses, wantAddresses)
				}
				run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: "connect"}, nil, Local(0))
				if err != nil {
					t.Fatal(err)
				}
				work(t, c, run.ID, 0, units, filepath.Join(dir, name+"-spool"))
				obs, err := c.Store().Observations(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, o := range obs {
					if !o.Detected() {
						t.Errorf("%s: %s, want the replayed gateway", o.AddrPort(), o.Outcome)
					}
					if o.Aliased != "" {
						got = append(got, o.Aliased)
						continue
					}
					got = append(got, o.IP.String())
				}
				slices.Sort(got)
				if diff := cmp.Diff([]string{"127.0.0.1", "2001:2:0:a::/64", "2001:2:0:b::1", "2001:2:0:b::2"}, got); diff != "" {
					t.Errorf("observations (-want +got):\n%s", diff)
				}
				sums, err := c.Store().Summaries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				s := sums[len(sums)-1]
				if s.Detected != 4 || s.ByFamily["ipv4"] != 1 || s.ByFamily["ipv6"] != 3 || s.AliasedPrefixes != 1 || s.AliasedGateways != 1 {
					t.Errorf("report: %d detected, by family %v, %d aliased prefixes (%d with a gateway); want 4, ipv4 1 ipv6 3, 1 (1)",
						s.Detected, s.ByFamily, s.AliasedPrefixes, s.AliasedGateways)
				}
				if s.OpenPorts != 4 || s.Stored != 4 {
					t.Errorf("unit: %d open ports, %d stored; want 4 and 4 (the aliased /64 once)", s.OpenPorts, s.Stored)
				}
			})
		}
	}
}
