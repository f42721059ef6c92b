package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIPv6HitlistInNamespaces runs an IPv6 census from a hitlist on the IPv6 testbed
// (deploy/testbed/testbed6.sh: two namespaces in 2001:2::/48, no route out): 200 hosts a /64
// each, 20 of them replaying real gateways, an aliased /64 answered by one more replay, and an
// xz hitlist as TUM publishes it (shuffled, comments, bad lines, 2,000 closed addresses, 100
// in the aliased /64). A SYN scan, confined by --scope to the benchmarking block, without and
// with the aliased-prefixes file, finds every gateway of the truth, observes the aliased /64
// once, and the report counts the IPv6 gateways apart from IPv4's (none here). It needs root
// (namespaces, raw sockets).
func TestIPv6HitlistInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root for network namespaces and raw sockets (CI runs as root)")
	}
	for _, tool := range []string{"ip", "nft", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing; .ci/run installs it", tool)
			}
			t.Skipf("needs %s", tool)
		}
	}
	state := t.TempDir()
	prefix := fmt.Sprintf("c%d", os.Getpid()%100000)
	testbed := "../../deploy/testbed/testbed6.sh"
	env := append(os.Environ(), "TESTBED_STATE="+state)
	up := exec.Command(testbed, "up", "-p", prefix, "-n", "200", "-gateways", "20", "-closed", "2000", "-inaliased", "100")
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("testbed6 up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command(testbed, "down", "-p", prefix)
		down.Env = env
		down.Run()
	})
	// The truth: the gateways, and the aliased /64.
	gateways := map[netip.Addr]bool{}
	var aliased netip.Prefix
	f, err := os.Open(filepath.Join(state, prefix+"6-truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hostport, role, _ := strings.Cut(sc.Text(), "\t")
		switch {
		case strings.HasPrefix(role, "aliased:"):
			aliased = netip.MustParsePrefix(hostport)
		case strings.HasPrefix(role, "gateway:"):
			gateways[netip.MustParseAddrPort(hostport).Addr()] = true
		}
	}
	f.Close()
	if len(gateways) != 20 || !aliased.IsValid() {
		t.Fatalf("truth: %d gateways, aliased %v", len(gateways), aliased)
	}

	hitlist := filepath.Join(state, prefix+"6-hitlist.txt.xz")
	for _, list := range []string{"", filepath.Join(state, prefix+"6-aliased.txt")} {
		t.Run(fmt.Sprintf("aliased-list=%v", list != ""), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			db := filepath.Join(t.TempDir(), "v6.db")
			args := []string{"exec", "-p", prefix, cliBinary, "scan", "--lab", "--scope", "2001:2::/48", "--scan-type", "syn",
				"--rate", "5000", "--db", db}
			if list != "" { // and the hitlist by --targets-file, the other way to name it
				args = append(args, "--aliased", list, "--targets-file", hitlist)
			} else {
				args = append(args, "@"+hitlist)
			}
			cmd := exec.CommandContext(ctx, testbed, args...)
			cmd.Env = append(env, "CLAWCENSUS_DB=", "CLAWCENSUS_USER=root")
			out, err := cmd.Output()
			if err != nil {
				stderr := ""
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("scan: %v\n%s", err, stderr)
			}
			found, inAliased := map[netip.Addr]bool{}, 0
			for _, r := range decodeLines(t, string(out)) {
				a := netip.MustParseAddr(r.IP)
				if aliased.Contains(a) {
					inAliased++
					if r.Aliased != aliased.String() {
						t.Errorf("%s in the aliased /64 stored with aliased %q", a, r.Aliased)
					}
					continue
				}
				found[a] = true
			}
			for a := range gateways {
				if !found[a] {
					t.Errorf("gateway %s not found", a)
				}
			}
			if len(found) != len(gateways) || inAliased != 1 {
				t.Errorf("%d gateways outside the aliased /64 (want %d), %d observations in it (want 1)", len(found), len(gateways), inAliased)
			}
			res := runCLI(t, "", "report", "--db", db, "--format", "json")
			var rep struct {
				Runs []struct {
					Detected        int64            `json:"detected"`
					ByFamily        map[string]int64 `json:"by_family"`
					AliasedPrefixes int64            `json:"aliased_prefixes"`
					OpenPorts       int64            `json:"open_ports"`
					Stored          int64            `json:"stored"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || len(rep.Runs) != 1 {
				t.Fatalf("report: %v\n%s\n%s", err, res.stdout, res.stderr)
			}
			r := rep.Runs[0]
			if r.Detected != 21 || r.ByFamily["ipv6"] != 21 || r.ByFamily["ipv4"] != 0 || r.AliasedPrefixes != 1 || r.OpenPorts != 201 || r.Stored != 201 {
				t.Errorf("report: detected %d, by family %v, aliased prefixes %d, open ports %d, stored %d; want 21, ipv6 21, 1, 201, 201",
					r.Detected, r.ByFamily, r.AliasedPrefixes, r.OpenPorts, r.Stored)
			}
		})
	}
}
