//go:build linux

package privilege

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("needs real root (CI runs as root)")
	}
}

// statusField reads one field of a /proc/…/status file.
func statusField(path, name string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// threadIDs lists, for every thread of this process, its uids, gids and groups as the kernel
// holds them: credentials are per thread on Linux.
func threadIDs(t *testing.T) map[string]string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads in /proc/self/task: %v", err)
	}
	ids := map[string]string{}
	for _, p := range tasks {
		if s := statusField(p, "Uid"); s != "" { // a thread that ended meanwhile has nothing to say
			ids[p] = s + " / " + statusField(p, "Gid") + " / " + statusField(p, "Groups")
		}
	}
	return ids
}

// openDir is a directory anyone may search, removed when the test ends.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "clawcensus-privilege-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestDecideAsAnotherUser(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("a root process is TestDecideAsRoot's")
	}
	for _, u := range []string{"", "nobody", "root", "no-such-user"} {
		name, why, err := Decide(Config{User: u, Own: []string{"/nonexistent/x.db"}})
		if name != u || why != "" || err != nil {
			t.Errorf("User %q: %q, %q, %v; want it kept", u, name, why, err)
		}
	}
}

// TestDecideAsRoot: nobody where nobody can reach the files, else the sudo caller, else uid 0
// without capabilities and why; an explicit user who cannot reach them is an error. Every
// thread keeps the process's ids after the question (reachable lends one thread the user's).
func TestDecideAsRoot(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	want := threadIDs(t)[fmt.Sprintf("/proc/self/task/%d/status", os.Getpid())]
	if !strings.HasPrefix(want, "0 0 0 0 / ") {
		t.Fatalf("the main thread's ids: %q", want)
	}
	open := openDir(t)
	closed := t.TempDir() // 0700 directories down from /tmp, root's
	secret := filepath.Join(open, "secret.txt")
	if err := os.WriteFile(secret, []byte("127.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type decision struct {
		name              string
		cfg               Config
		sudo              string // SUDO_USER
		want, why, errHas string
	}
	cases := []decision{
		{name: "root stays", cfg: Config{User: "root", Own: []string{filepath.Join(closed, "c.db")}}, want: "root"},
		{name: "nobody reaches", cfg: Config{Own: []string{filepath.Join(open, "c.db")}, Reads: []string{filepath.Join(open, "later.txt")}}, want: "nobody"},
		{name: "explicit nobody reaches", cfg: Config{User: "nobody", Own: []string{filepath.Join(open, "spool")}}, want: "nobody"},
		{name: "a 0700 directory", cfg: Config{Own: []string{filepath.Join(closed, "c.db")}},
			want: RootWithoutCapabilities, why: "nobody cannot reach " + closed},
		{name: "an input only root reads", cfg: Config{Own: []string{filepath.Join(open, "c.db")}, Reads: []string{secret}},
			want: RootWithoutCapabilities, why: "nobody cannot reach " + secret},
		{name: "explicit nobody where it cannot reach", cfg: Config{User: "nobody", Own: []string{filepath.Join(closed, "c.db")}},
			errHas: "nobody cannot reach " + closed},
	}
	if daemon, err := user.Lookup("daemon"); err == nil && daemon.Uid != "0" && daemon.Uid != nobody.Uid {
		// A directory only daemon may search: nobody cannot, the sudo caller daemon can.
		mine := filepath.Join(openDir(t), "daemon")
		uid, _ := strconv.Atoi(daemon.Uid)
		gid, _ := strconv.Atoi(daemon.Gid)
		if err := os.Mkdir(mine, 0o700); err != nil || os.Chown(mine, uid, gid) != nil {
			t.Fatal(err)
		}
		cases = append(cases, decision{name: "the sudo caller", cfg: Config{Own: []string{filepath.Join(mine, "c.db")}}, sudo: "daemon", want: "daemon"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SUDO_USER", c.sudo)
			t.Setenv("SUDO_UID", "")
			name, why, err := Decide(c.cfg)
			switch {
			case c.errHas != "":
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Errorf("%q, %v; want an error naming %q", name, err, c.errHas)
				}
			case err != nil || name != c.want || !strings.Contains(why, c.why) || (c.why == "") != (why == ""):
				t.Errorf("%q, why %q, %v; want %q, why %q", name, why, err, c.want, c.why)
			}
		})
	}
	for task, ids := range threadIDs(t) {
		if ids != want {
			t.Errorf("%s: %s after the questions, the process had %s", task, ids, want)
		}
	}
}

// TestDropChild is Drop's subject: the process TestDrop starts runs only this and reports what
// it became, on every thread, and what an execve of PRIVILEGE_TEST_EXEC (a setuid-root cat)
// gives back. Run any other way, it skips.
func TestDropChild(t *testing.T) {
	name, ok := os.LookupEnv("PRIVILEGE_TEST_DROP")
	if !ok {
		t.Skip("TestDrop runs it in a process of its own")
	}
	note, err := Drop(name, filepath.SplitList(os.Getenv("PRIVILEGE_TEST_OWN")))
	fmt.Printf("note=%s\nerr=%v\n", note, err)
	for _, f := range []string{"Uid", "Gid", "Groups", "CapEff", "CapPrm"} {
		fmt.Printf("%s=%s\n", f, statusField("/proc/self/status", f))
	}
	threads := map[string]bool{}
	for _, ids := range threadIDs(t) {
		threads[ids] = true
	}
	fmt.Printf("threads=%d\n", len(threads))
	// What the way back would need, per thread: the distinct states, each field once.
	for _, f := range []string{"NoNewPrivs", "CapBnd", "CapAmb", "CapInh", "CapPrm", "CapEff"} {
		seen := map[string]bool{}
		tasks, _ := filepath.Glob("/proc/self/task/*/status")
		for _, p := range tasks {
			if v := statusField(p, f); v != "" {
				seen[v] = true
			}
		}
		fmt.Printf("all.%s=%s\n", f, strings.Join(slices.Sorted(maps.Keys(seen)), ","))
	}
	if cat := os.Getenv("PRIVILEGE_TEST_EXEC"); cat != "" {
		out, err := exec.Command(cat, "/proc/self/status").Output()
		fmt.Printf("exec.err=%v\n", err)
		fmt.Printf("exec.Uid=%s\nexec.CapEff=%s\n", fieldOf(string(out), "Uid"), fieldOf(string(out), "CapEff"))
	}
}

func fieldOf(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// isCgo reports whether this test binary was built with cgo, where the runtime runs no system
// call on every thread.
func isCgo() bool {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0)
	return errno == syscall.ENOTSUP
}

// childBinary is this package's test binary as a build with cgo (cgo true) or without it: this
// binary where it is one, else one built now into dir (readable and runnable by anyone).
func childBinary(t *testing.T, dir string, cgo bool) string {
	t.Helper()
	if isCgo() == cgo {
		return os.Args[0]
	}
	if cgo {
		if _, err := exec.LookPath("cc"); err != nil {
			t.Skip("no C compiler for a cgo build")
		}
	}
	bin := filepath.Join(dir, fmt.Sprintf("privilege-cgo%v.test", cgo))
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), fmt.Sprintf("CGO_ENABLED=%d", map[bool]int{false: 0, true: 1}[cgo]))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the child: %v\n%s", err, out)
	}
	return bin
}

// TestDrop: root becomes the user with its files, its gid, no groups and no capability; uid 0
// without capabilities keeps uid 0 and drops them; a binary given capabilities by setcap, run
// by nobody, drops them; root stays root. Each drop also closes the way back on every thread
// (no_new_privs, no ambient capability, an empty bounding set where the process may empty it),
// so that an execve of a setuid-root binary afterwards gains nothing. A cgo build, which cannot
// reach every thread, refuses before it changes anything. Each runs in a process of its own,
// since a process cannot take root back.
func TestDrop(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	open := openDir(t)
	db := filepath.Join(open, "c.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The way back: a setuid-root cat, which reads the status of the process it becomes.
	cat := filepath.Join(open, "suid-cat")
	if b, err := os.ReadFile("/bin/cat"); err != nil || os.WriteFile(cat, b, 0o755) != nil || os.Chmod(cat, os.ModeSetuid|0o755) != nil {
		t.Fatalf("a setuid cat: %v", err)
	}
	static := childBinary(t, open, false)
	bnd := "0000000000000000"
	full := statusField("/proc/self/status", "CapBnd")
	type run struct {
		bin  string
		name string
		own  []string
		as   []string // a command that starts the child (setpriv to nobody)
	}
	drop := func(r run) map[string]string {
		t.Helper()
		args := append(append([]string{}, r.as...), r.bin, "-test.run=^TestDropChild$", "-test.count=1")
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "PRIVILEGE_TEST_DROP="+r.name, "PRIVILEGE_TEST_OWN="+strings.Join(r.own, string(filepath.ListSeparator)),
			"PRIVILEGE_TEST_EXEC="+cat)
		cmd.Dir = open
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("drop %q: %v\n%s", r.name, err, out)
		}
		got := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				got[k] = v
			}
		}
		return got
	}
	// wayBackClosed: every thread has no_new_privs and nothing ambient, inheritable, permitted
	// or effective, its bounding set is bound, and the setuid-root cat ran as the child's uid
	// with no capability.
	wayBackClosed := func(t *testing.T, got map[string]string, bound, uid string) {
		t.Helper()
		want := map[string]string{"all.NoNewPrivs": "1", "all.CapAmb": bnd, "all.CapInh": bnd, "all.CapPrm": bnd, "all.CapEff": bnd,
			"all.CapBnd": bound, "exec.err": "<nil>", "exec.Uid": strings.Repeat(uid+" ", 3) + uid, "exec.CapEff": bnd}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
	}

	t.Run("nobody", func(t *testing.T) {
		got := drop(run{bin: static, name: "nobody", own: []string{db, filepath.Join(open, "spool-not-made-yet")}})
		ids := strings.Repeat(nobody.Uid+" ", 3) + nobody.Uid
		if got["err"] != "<nil>" || got["note"] != fmt.Sprintf("now nobody (uid %s), no capabilities", nobody.Uid) ||
			got["Uid"] != ids || got["Gid"] != strings.Repeat(nobody.Gid+" ", 3)+nobody.Gid || got["Groups"] != "" ||
			got["CapEff"] != bnd || got["CapPrm"] != bnd || got["threads"] != "1" {
			t.Errorf("nobody: %v", got)
		}
		wayBackClosed(t, got, bnd, nobody.Uid)
		var st syscall.Stat_t
		if err := syscall.Stat(db, &st); err != nil || strconv.Itoa(int(st.Uid)) != nobody.Uid {
			t.Errorf("the store belongs to uid %d (%v), want nobody's", st.Uid, err)
		}
		os.Chown(db, 0, 0)
	})

	t.Run("uid 0 without capabilities", func(t *testing.T) {
		got := drop(run{bin: static, name: RootWithoutCapabilities})
		if got["err"] != "<nil>" || !strings.HasPrefix(got["Uid"], "0 0 0 0") || got["note"] != "still uid 0, no capabilities" {
			t.Errorf("uid 0 without capabilities: %v", got)
		}
		wayBackClosed(t, got, bnd, "0")
	})

	t.Run("file capabilities", func(t *testing.T) {
		if _, err := exec.LookPath("setcap"); err != nil {
			t.Skip("setcap is not installed (apt-get install libcap2-bin)")
		}
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("setpriv is not installed (util-linux)")
		}
		asNobody := []string{"setpriv", "--reuid=" + nobody.Uid, "--regid=" + nobody.Gid, "--clear-groups", "--inh-caps=-all"}
		for _, c := range []struct {
			caps, bound string
		}{
			// Given only cap_net_raw, the process may not shrink the bounding set (the kernel asks
			// CAP_SETPCAP): no_new_privs is what keeps the setuid cat from granting root.
			{"cap_net_raw+ep", full},
			{"cap_net_raw,cap_setpcap+ep", bnd},
		} {
			bin := filepath.Join(open, "privilege-setcap.test")
			b, err := os.ReadFile(static)
			if err != nil || os.WriteFile(bin, b, 0o755) != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("setcap", c.caps, bin).CombinedOutput(); err != nil {
				t.Skipf("setcap: %v %s (a filesystem without security xattrs?)", err, out)
			}
			got := drop(run{bin: bin, name: "ignored: not root", as: asNobody})
			if got["err"] != "<nil>" || got["note"] != "capabilities dropped" || !strings.HasPrefix(got["Uid"], nobody.Uid+" ") {
				t.Errorf("%s: %v", c.caps, got)
			}
			t.Run(c.caps, func(t *testing.T) { wayBackClosed(t, got, c.bound, nobody.Uid) })
			os.Remove(bin)
		}
	})

	t.Run("root stays", func(t *testing.T) {
		if got := drop(run{bin: static, name: "root"}); got["err"] != "<nil>" || got["note"] != "still root (asked to stay root)" || got["CapEff"] == bnd {
			t.Errorf("root: %v", got)
		}
		if got := drop(run{bin: static, name: "no-such-user-here", own: []string{db}}); got["err"] == "<nil>" || !strings.HasPrefix(got["Uid"], "0 0 0 0") {
			t.Errorf("an unknown user: %v", got)
		}
	})

	t.Run("a cgo build refuses", func(t *testing.T) {
		bin := childBinary(t, open, true)
		for _, name := range []string{"nobody", RootWithoutCapabilities} {
			got := drop(run{bin: bin, name: name, own: []string{db}})
			var st syscall.Stat_t
			syscall.Stat(db, &st)
			if !strings.Contains(got["err"], "built with cgo") || !strings.HasPrefix(got["Uid"], "0 0 0 0") ||
				got["CapEff"] == bnd || got["all.NoNewPrivs"] != "0" || st.Uid != 0 {
				t.Errorf("%s in a cgo build: %v (the store's uid %d)", name, got, st.Uid)
			}
		}
	})
}
