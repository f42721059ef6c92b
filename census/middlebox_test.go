package census

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
)

// TestMiddleboxStoredNotProbed: a host that accepts on every port (an nftables rule sends
// every other port of it to its one listener, as a SYN proxy or tarpit would answer) is stored
// as a middlebox and not fingerprinted; a host with one other open port besides the probed
// one is fingerprinted as before. By SYN, and by CONNECT.
func TestMiddleboxStoredNotProbed(t *testing.T) {
	if os.Getenv("CLAWCENSUS_SEALED") != "1" || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("changes the namespace's nftables: runs sealed as root only (make test; CI does)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft is missing (.ci/run installs nftables): %v", err)
	}
	port := freePort(t)
	want := listeners(t, 2, port)                                     // 127.0.1.1 and 127.0.1.2 serve a page
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.1.1:%d", port+1)) // the first host's other service
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rules := fmt.Sprintf(`table ip clawcensus_middlebox {
  chain out { type nat hook output priority -100; policy accept; ip daddr 127.0.1.2 tcp dport != %d dnat to 127.0.1.2:%d; }
}`, port, port)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "ip", "clawcensus_middlebox").Run() })
	for _, method := range []string{scanner.MethodSYN, scanner.MethodConnect} {
		t.Run(method, func(t *testing.T) {
			if ok, why := scanner.SYNAvailable(); method == scanner.MethodSYN && !ok {
				t.Fatal(why)
			}
			ctx := context.Background()
			dir := t.TempDir()
			c, err := Open(ctx, filepath.Join(dir, "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			seed, retries := int64(3), 1
			p, err := NewPlan(PlanConfig{Targets: []string{"127.0.1.0/29"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
				Scope: "127.0.1.0/29", Rate: 2000, Method: method, Retries: &retries, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: method}, nil, Local(0))
			if err != nil {
				t.Fatal(err)
			}
			work(t, c, run.ID, 0, units, filepath.Join(dir, "spool"))
			obs, err := c.Store().Observations(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]observation.Outcome{}
			for _, o := range obs {
				got[fmt.Sprintf("%s:%d", o.IP, o.Port)] = o.Outcome
			}
			host, box := fmt.Sprintf("127.0.1.1:%d", port), fmt.Sprintf("127.0.1.2:%d", port)
			if len(got) != len(want) || got[host] != observation.NotOpenClaw || got[box] != observation.Middlebox {
				t.Errorf("stored %v; want %s fingerprinted (not-openclaw) and %s a middlebox", got, host, box)
			}
			sums, err := c.Store().Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s := sums[0]; s.Middleboxes != 1 || s.OpenPorts != 2 || s.Stored != 2 {
				t.Errorf("run: %d middleboxes, %d open, %d stored; want 1, 2, 2", s.Middleboxes, s.OpenPorts, s.Stored)
			}
		})
	}
}
