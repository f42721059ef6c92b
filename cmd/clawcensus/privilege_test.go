//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var static struct {
	once sync.Once
	bin  string
	err  error
}

// staticBinary is clawcensus built as make build builds it, without cgo: the race detector's
// build (cliBinary) uses cgo, which cannot drop privileges on every thread and so refuses to.
// It lies next to cliBinary, removed with it (TestMain).
func staticBinary(t *testing.T) string {
	t.Helper()
	static.once.Do(func() {
		static.bin = filepath.Join(filepath.Dir(cliBinary), "clawcensus-static")
		build := exec.Command("go", "build", "-o", static.bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			static.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if static.err != nil {
		t.Fatalf("build without cgo: %v", static.err)
	}
	return static.bin
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root (CI runs as root)")
	}
}

// procField reads one field of /proc/PID/status.
func procField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rawSockets lists the process's sockets that are raw or packet sockets.
func rawSockets(t *testing.T, pid int) []string {
	t.Helper()
	kernel := map[string]string{}
	// The inode is field 9 of a /proc/net/raw{,6} row and field 8 of a /proc/net/packet row.
	for table, col := range map[string]int{"raw": 9, "raw6": 9, "packet": 8} {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines[1:] {
			if f := strings.Fields(l); col < len(f) {
				kernel[f[col]] = table
			}
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var out []string
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		inode := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
		if table, ok := kernel[inode]; ok {
			out = append(out, table+":"+inode)
		}
	}
	return out
}

// TestPrivilegesDropped: a SYN scan started as root opens its raw sockets, then runs as
// nobody (the default, even under sudo) with no capability left while it sweeps, fingerprints
// and stores; the sockets stay usable, the gateway is found, and the store's files belong to
// nobody.
func TestPrivilegesDropped(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	port := serveFixture(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")
	dir, err := os.MkdirTemp("", "clawcensus-priv-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "p.db")
	cmd := exec.Command(staticBinary(t), "scan", "--lab", "--scan-type", "syn", "--rate", "200", "--timeout", "3s", "--retries", "1",
		"--ports", fmt.Sprintf("%d,1", port), "--db", db, "--spool", filepath.Join(dir, "spool"), "127.0.0.1")
	cmd.Env = append(testEnv(), "CLAWCENSUS_USER=", "SUDO_USER=daemon", "SUDO_UID=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var seenUID, capEff string
	var sockets []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if f := strings.Fields(procField(pid, "Uid")); len(f) > 0 && f[0] == nobody.Uid {
			seenUID, capEff, sockets = f[0], procField(pid, "CapEff"), rawSockets(t, pid)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scan: %v\n%s", err, errb.String())
	}
	if seenUID != nobody.Uid || capEff != "0000000000000000" {
		t.Errorf("while scanning: uid %q (want %s), CapEff %q (want none)\n%s", seenUID, nobody.Uid, capEff, errb.String())
	}
	if len(sockets) == 0 {
		t.Errorf("no raw or packet socket open while sweeping as nobody")
	}
	if !strings.Contains(out.String(), `"product":"openclaw"`) || !strings.Contains(errb.String(), "now nobody") {
		t.Errorf("the gateway was not found, or the switch not logged:\n%s\n%s", out.String(), errb.String())
	}
	var st syscall.Stat_t
	if err := syscall.Stat(db, &st); err != nil || int(st.Uid) != uid {
		t.Errorf("the store belongs to uid %d (%v), want nobody", st.Uid, err)
	}
}

// TestPrivilegesWhereNobodyCannotReach: root working in a 0700 directory (its home, a
// temporary directory): nobody could reach neither the store nor the candidates, so the run
// keeps uid 0 with every capability dropped on every thread, says why, and finds the gateway;
// a --user who cannot reach the files is refused before a run exists; a cgo build (the race
// detector's) refuses to drop them on one thread only, and sends nothing.
func TestPrivilegesWhereNobodyCannotReach(t *testing.T) {
	needRoot(t)
	port := serveFixture(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")
	dir := t.TempDir() // 0700, root's
	db, cands := filepath.Join(dir, "p.db"), filepath.Join(dir, "cands.txt")
	os.WriteFile(cands, []byte(fmt.Sprintf("127.0.0.1:%d\n", port)), 0o600)
	bin := staticBinary(t)
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"scan", "--lab", "--candidates", cands, "--db", db, "--spool", filepath.Join(dir, "spool")}, args...)...)
		cmd.Env = append(testEnv(), "CLAWCENSUS_USER=", "SUDO_USER=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	stdout, stderr, code := run("--user", "nobody")
	if code != 2 || !strings.Contains(stderr, "--user nobody cannot reach "+dir) || stdout != "" {
		t.Errorf("an explicit --user who cannot reach the files: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(db); err == nil { // refused before the store is even opened, or with no run in it
		if runs := reportRuns(t, db); len(runs) != 0 {
			t.Errorf("the refused scan left runs: %+v", runs)
		}
	}
	stdout, stderr, code = run()
	if code != 0 || !strings.Contains(stdout, `"product":"openclaw"`) || !strings.Contains(stderr, "nobody cannot reach "+dir) ||
		!strings.Contains(stderr, `now="still uid 0`) {
		t.Errorf("the default where nobody cannot reach: exit %d\n%s\n%s", code, stdout, stderr)
	}
	bin = cliBinary
	if stdout, stderr, code = run(); code == 0 || stdout != "" || !strings.Contains(stderr, "built with cgo") {
		t.Errorf("a cgo build where it would drop capabilities: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestNoRawSocketsOutsideTheSweep: a subcommand that does not sweep holds no raw or packet
// socket, even as root (naabu's init used to open them in any root process). The inspection
// itself is proven by TestPrivilegesDropped, which finds the sweep's sockets with it.
func TestNoRawSocketsOutsideTheSweep(t *testing.T) {
	needRoot(t)
	db := filepath.Join(t.TempDir(), "s.db")
	if res := runCLI(t, "", "migrate", "--db", db); res.code != 0 {
		t.Fatalf("migrate: %s", res.stderr)
	}
	cmd := exec.Command(cliBinary, "serve", "--db", db, "--listen", "127.0.0.1:0")
	cmd.Env = testEnv()
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 200 && !strings.Contains(errb.String(), "serving"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "serving") {
		t.Fatalf("serve did not start: %s", errb.String())
	}
	if got := rawSockets(t, cmd.Process.Pid); len(got) != 0 {
		t.Errorf("serve holds raw sockets: %v", got)
	}
}

// TestSYNWithOnlyCapNetRaw: a static build given cap_net_raw by setcap, run as nobody, sweeps
// with SYN packets, and holds no capability once its sockets are open.
func TestSYNWithOnlyCapNetRaw(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setcap"); err != nil {
		t.Skip("setcap is not installed (apt-get install libcap2-bin)")
	}
	dir, err := os.MkdirTemp("", "clawcensus-cap-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "clawcensus")
	if b, err := os.ReadFile(staticBinary(t)); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copy the static build: %v", err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	os.Chown(dir, uid, gid) // the unprivileged scan writes its store and spool here
	if out, err := exec.Command("setcap", "cap_net_raw+ep", bin).CombinedOutput(); err != nil {
		t.Skipf("setcap on %s: %v %s (a filesystem without security xattrs?)", dir, err, out)
	}
	port := serveFixture(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-none.txtar")
	cmd := exec.Command("setpriv", "--reuid="+nobody.Uid, "--regid="+nobody.Gid, "--clear-groups", "--inh-caps=-all", bin,
		"scan", "--lab", "--scan-type", "syn", "--rate", "200", "--timeout", "3s", "--ports", fmt.Sprint(port),
		"--db", filepath.Join(dir, "c.db"), "--spool", filepath.Join(dir, "spool"), "127.0.0.1")
	cmd.Env = append(testEnv(), "CLAWCENSUS_USER=")
	cmd.Dir = dir
	var out bytes.Buffer
	var errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var capEff string
	for i := 0; i < 1000 && capEff == ""; i++ {
		if strings.Contains(errb.String(), "capabilities dropped") {
			capEff = procField(cmd.Process.Pid, "CapEff")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scan as nobody with cap_net_raw: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "method=syn") || !strings.Contains(out.String(), `"product":"openclaw"`) {
		t.Errorf("not a SYN scan that found the gateway:\n%s\n%s", out.String(), errb.String())
	}
	if capEff != "0000000000000000" {
		t.Errorf("CapEff after the sockets were open: %q\n%s", capEff, errb.String())
	}
}
