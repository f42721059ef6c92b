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
	labCmd := exec.CommandContext(ctx, "ip", "netns", "exec", prefix+"-lab", lab, "-base", "198.19.1.10",
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

	db := filepath.Join(dir, "syn.db")
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", prefix+"-scan", bin, "scan", "--lab", "--scope", "198.18.0.0/15",
		"--scan-type", "syn", "--rate", "2000", "--retries", "1", "--db", db, "198.19.1.0/24")
	cmd.Env = append(os.Environ(), "CLAWCENSUS_DB=")
	out, err := cmd.Output()
	stderr := ""
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	if err != nil {
		t.Fatalf("syn scan: %v\n%s", err, stderr)
	}
	hosts, gateways := labSize(t)
	recs := decodeLines(t, string(out))
	if len(recs) != gateways {
		t.Errorf("SYN sweep found %d gateways, want the lab's %d:\n%s", len(recs), gateways, out)
	}
	res := runCLI(t, "", "report", "--db", db, "--format", "json")
	if res.code != 0 || !strings.Contains(res.stdout, `"method": "syn"`) || !strings.Contains(res.stdout, fmt.Sprintf(`"open_ports": %d`, hosts)) {
		t.Errorf("report after the SYN sweep:\n%s\n%s", res.stdout, res.stderr)
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
