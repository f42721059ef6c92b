package clawcensus_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSuiteIsSealed holds the rule that the suite runs where nothing can leave the machine:
// make test runs it through deploy/lab/sealed.sh, in a network namespace with loopback only.
// Under CI it must be sealed; wherever it is sealed, only loopback may be there.
func TestSuiteIsSealed(t *testing.T) {
	if os.Getenv("CLAWCENSUS_SEALED") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs the suite unsealed; run it with make test (deploy/lab/sealed.sh)")
		}
		t.Skip("not run through deploy/lab/sealed.sh (make test does that)")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Errorf("sealed namespace has a non-loopback interface %q", i.Name)
		}
	}
	// No default route either (/proc/net is this process's namespace).
	if b, err := os.ReadFile("/proc/net/route"); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "00000000" {
				t.Errorf("sealed namespace has a default route via %s", f[0])
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/ipv6_route"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 9 && f[0] == strings.Repeat("0", 32) && f[1] == "00000000" && f[9] != "lo" {
				t.Errorf("sealed namespace has an IPv6 default route via %s", f[9])
			}
		}
	}
}

// needSealedRoot skips a test unless it runs sealed with real root, which may make namespaces.
func needSealedRoot(t *testing.T) {
	t.Helper()
	if os.Getenv("CLAWCENSUS_SEALED") != "1" {
		t.Skip("not run through deploy/lab/sealed.sh (make test does that)")
	}
	if os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root to make network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (apt-get install iproute2)")
	}
}

// TestSealedKeepsNamespacesOutOfReach: inside sealed.sh as root, a named network namespace made
// outside cannot be entered (ip netns exec), /run/netns is a private tmpfs with nothing in it,
// no handle on a namespace is mounted, and one made inside stays inside. The test's own sealed
// namespace is the outside of a second sealed.sh it starts.
func TestSealedKeepsNamespacesOutOfReach(t *testing.T) {
	needSealedRoot(t)
	outside := fmt.Sprintf("ccout%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", outside).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", outside).Run() })
	sealed := func(script string) (string, error) {
		out, err := exec.Command("deploy/lab/sealed.sh", "sh", "-c", script).CombinedOutput()
		return string(out), err
	}
	if out, err := sealed("ip netns exec " + outside + " true"); err == nil {
		t.Errorf("ip netns exec %s, made outside, worked inside sealed.sh\n%s", outside, out)
	}
	out, err := sealed(`echo "entries=$(ls -A /run/netns | tr '\n' ' ')"; ` +
		`awk '{for (i = 7; i < NF; i++) if ($i == "-") { print $5, $(i+1); break }}' /proc/self/mountinfo | grep -E ' nsfs$|^/run/netns ' ; ` +
		`ip netns add inside && ip netns exec inside true && echo inside=ok`)
	if err != nil {
		t.Fatalf("sealed.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"entries=\n", "/run/netns tmpfs\n", "inside=ok\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("inside sealed.sh: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, " nsfs\n") && !strings.Contains(out, "/run/netns/inside nsfs\n") {
		t.Errorf("a namespace handle is mounted inside sealed.sh:\n%s", out)
	}
	if b, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(b), "inside") {
		t.Errorf("the namespace made inside sealed.sh is seen outside it: %q %v", b, err)
	}
}

// TestNetnsLabDownEndsOnlyItsOwn: netns-lab.sh down ends the processes netns-lab.sh run started
// and deletes the namespaces up made; a process someone else started in the lab namespace, and
// a namespace of the same prefix that up did not make, are left alone.
func TestNetnsLabDownEndsOnlyItsOwn(t *testing.T) {
	needSealedRoot(t)
	lab := "deploy/lab/netns-lab.sh"
	p := fmt.Sprintf("ccd%d", os.Getpid()%100000)
	state := t.TempDir()
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(lab, args...)
		cmd.Env = append(os.Environ(), "NETNS_LAB_STATE="+state)
		return cmd
	}
	if out, err := run("up", p).CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	t.Cleanup(func() { run("down", p).Run() })
	mine := run("run", p, "lab", "sleep", "300")
	theirs := exec.Command("ip", "netns", "exec", p+"-lab", "sleep", "300")
	for _, c := range []*exec.Cmd{mine, theirs} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { theirs.Process.Kill(); theirs.Wait() })
	// Someone else's namespace with the prefix of a lab that is not up.
	other := p + "x"
	if out, err := exec.Command("ip", "netns", "add", other+"-scan").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", other+"-scan").Run() })
	for i := 0; i < 100; i++ { // until both sleep in the lab namespace
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", mine.Process.Pid))
		b, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", theirs.Process.Pid))
		if strings.HasSuffix(a, "sleep") && strings.HasSuffix(b, "sleep") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	if out, err := run("down", p).CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if out, err := run("down", other).CombinedOutput(); err != nil {
		t.Fatalf("down %s: %v\n%s", other, err, out)
	}
	done := make(chan error, 1)
	go func() { done <- mine.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		mine.Process.Kill()
		t.Errorf("down left the process netns-lab.sh run started")
	}
	if err := theirs.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("down ended a process it did not start: %v", err)
	}
	list, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(list), p+"-lab") || strings.Contains(string(list), p+"-scan ") {
		t.Errorf("down left the lab's namespaces: %s", list)
	}
	if !strings.Contains(string(list), other+"-scan") {
		t.Errorf("down deleted a namespace up did not make: %s", list)
	}
}
