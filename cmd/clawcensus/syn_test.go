package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// TestSYNSweepInNamespaces runs the real raw-socket SYN path: two network namespaces joined by
// a veth pair (deploy/lab/netns-lab.sh, no route out), the lab replaying real gateways on
// 198.19.1.10+, and the scanner, confined by --scope to the benchmarking block, sweeping
// 198.19.1.0/24 with --scan-type syn. It needs root (namespaces, raw sockets).
func TestSYNSweepInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root for network namespaces and raw sockets (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (apt-get install iproute2)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "clawcensus")
	lab := filepath.Join(dir, "clawlab")
	for out, pkg := range map[string]string{bin: ".", lab: "../clawlab"} {
		if b, err := exec.Command("go", "build", "-race", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	prefix := fmt.Sprintf("cc%d", os.Getpid()%100000)
	netns := "../../deploy/lab/netns-lab.sh"
	if out, err := exec.Command(netns, "up", prefix).CombinedOutput(); err != nil {
		t.Fatalf("netns-lab up: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(netns, "down", prefix).Run() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	labCmd := exec.CommandContext(ctx, netns, "run", prefix, "lab", lab, "-base", "198.19.1.10",
		"-fixtures", "../../fingerprint/testdata/gateways,../../fingerprint/testdata/negatives")
	labOut, err := labCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := labCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { labCmd.Process.Kill(); labCmd.Wait() })
	sc := bufio.NewScanner(labOut)
	for sc.Scan() && sc.Text() != "lab ready" {
	}

	// GSO/TSO and checksum offloads stay as a fresh veth has them (on). First a clean link,
	// then 1% random loss each direction (nftables in the lab namespace) with three retries:
	// every open host must be found either way.
	hosts, gateways := labSize(t)
	for _, c := range []struct {
		loss    string
		retries string
	}{{"0", "1"}, {"1", "3"}} {
		if c.loss != "0" {
			if _, err := exec.LookPath("nft"); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatal("nft is missing; .ci/run installs nftables")
				}
				t.Log("nft is not installed (apt-get install nftables): the lossy case is left out")
				continue
			}
			rule := fmt.Sprintf(`table inet loss {
  chain in { type filter hook prerouting priority -300; policy accept; iifname "%[1]s-l0" numgen random mod 100 < %[2]s drop; }
  chain out { type filter hook postrouting priority 300; policy accept; oifname "%[1]s-l0" numgen random mod 100 < %[2]s drop; }
}
`, prefix, c.loss)
			nft := exec.Command("ip", "netns", "exec", prefix+"-lab", "nft", "-f", "-")
			nft.Stdin = strings.NewReader(rule)
			if out, err := nft.CombinedOutput(); err != nil {
				t.Fatalf("nft: %v\n%s", err, out)
			}
		}
		db := filepath.Join(dir, "syn-loss"+c.loss+".db")
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", prefix+"-scan", bin, "scan", "--lab", "--scope", "198.18.0.0/15",
			"--scan-type", "syn", "--rate", "2000", "--retries", c.retries, "--db", db, "198.19.1.0/24")
		cmd.Env = append(os.Environ(), "CLAWCENSUS_DB=", "CLAWCENSUS_USER=root")
		out, err := cmd.Output()
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		if err != nil {
			t.Fatalf("syn scan, %s%% loss: %v\n%s", c.loss, err, stderr)
		}
		recs := decodeLines(t, string(out))
		if len(recs) != gateways {
			t.Errorf("%s%% loss: the SYN sweep found %d gateways, want the lab's %d:\n%s", c.loss, len(recs), gateways, out)
		}
		res := runCLI(t, "", "report", "--db", db, "--format", "json")
		if res.code != 0 || !strings.Contains(res.stdout, `"method": "syn"`) || !strings.Contains(res.stdout, fmt.Sprintf(`"open_ports": %d`, hosts)) {
			t.Errorf("%s%% loss: report after the SYN sweep (want %d open ports):\n%s\n%s", c.loss, hosts, res.stdout, res.stderr)
		}
	}
}

// labSize counts the lab's hosts and the gateways among them, from the fixtures.
func labSize(t *testing.T) (hosts, gateways int) {
	for _, dir := range []string{"../../fingerprint/testdata/gateways", "../../fingerprint/testdata/negatives"} {
		fs, err := fixture.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			hosts++
			if f.Meta["product"] != "none" {
				gateways++
			}
		}
	}
	return hosts, gateways
}
