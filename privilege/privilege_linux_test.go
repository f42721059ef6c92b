//go:build linux

package privilege

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
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

// TestDropChild is Drop's subject: the process TestDrop starts runs only this, as root, and
// reports what it became. Run any other way, it skips.
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
}

// TestDrop: root becomes the user with its files, its gid, no groups and no capability; uid 0
// without capabilities keeps uid 0 and drops them (all threads, or says it could not); root
// stays root. Each runs in a process of its own, since a process cannot take root back.
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
	drop := func(name string, own ...string) map[string]string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestDropChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PRIVILEGE_TEST_DROP="+name, "PRIVILEGE_TEST_OWN="+strings.Join(own, string(filepath.ListSeparator)))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("drop %q: %v\n%s", name, err, out)
		}
		got := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				got[k] = v
			}
		}
		return got
	}

	got := drop("nobody", db, filepath.Join(open, "spool-not-made-yet"))
	ids := strings.Repeat(nobody.Uid+" ", 3) + nobody.Uid
	if got["err"] != "<nil>" || got["note"] != fmt.Sprintf("now nobody (uid %s), no capabilities", nobody.Uid) ||
		got["Uid"] != ids || got["Gid"] != strings.Repeat(nobody.Gid+" ", 3)+nobody.Gid || got["Groups"] != "" ||
		got["CapEff"] != "0000000000000000" || got["CapPrm"] != "0000000000000000" || got["threads"] != "1" {
		t.Errorf("nobody: %v", got)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(db, &st); err != nil || strconv.Itoa(int(st.Uid)) != nobody.Uid {
		t.Errorf("the store belongs to uid %d (%v), want nobody's", st.Uid, err)
	}

	got = drop(RootWithoutCapabilities)
	switch {
	case got["err"] != "<nil>" || !strings.HasPrefix(got["Uid"], "0 0 0 0"):
		t.Errorf("uid 0 without capabilities: %v", got)
	case got["note"] == "still uid 0, no capabilities":
		if got["CapEff"] != "0000000000000000" || got["CapPrm"] != "0000000000000000" {
			t.Errorf("capabilities left: %v", got)
		}
	case !strings.Contains(got["note"], "one thread only"): // a cgo test binary says so
		t.Errorf("uid 0 without capabilities: %v", got)
	}

	if got = drop("root"); got["err"] != "<nil>" || got["note"] != "still root (asked to stay root)" || got["CapEff"] == "0000000000000000" {
		t.Errorf("root: %v", got)
	}
	if got = drop("no-such-user-here", db); got["err"] == "<nil>" || !strings.HasPrefix(got["Uid"], "0 0 0 0") {
		t.Errorf("an unknown user: %v", got)
	}
}
