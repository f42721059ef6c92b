//go:build linux

package privilege

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Drop gives up what a sweep no longer needs once its raw sockets are open, before anything is
// read from the network, and says in note what the process is now. Started as root, the
// process becomes name (its groups, its gid, its uid; the kernel clears every capability on
// that change), after handing it the files it still writes (own: the spool directory, a SQLite
// store's files). Started as another user with file capabilities (setcap cap_net_raw+ep), it
// drops every capability. name "root" keeps root (and says so); RootWithoutCapabilities keeps
// uid 0 and drops every capability; anything else that fails is an error.
//
// Whatever it drops, it also closes the way back, on every thread: no_new_privs (an execve
// honours no setuid bit and grants no file capability), an empty ambient set and, where the
// process may shrink it (CAP_SETPCAP: root may, a binary given only cap_net_raw may not), an
// empty bounding set (uid 0 regains nothing by an execve). A build with cgo cannot act on every
// thread from Go (prctl and capset are per thread): Drop refuses there before it changes
// anything (errCgo), rather than leave threads that keep what the others gave up.
func Drop(name string, own []string) (note string, err error) {
	if os.Geteuid() != 0 {
		if held, err := heldCapabilities(); err == nil && held == 0 {
			return "unprivileged", nil
		}
		if err := dropAndLock(); err != nil {
			return "", err
		}
		return "capabilities dropped", nil
	}
	if name == "root" {
		return "still root (asked to stay root)", nil
	}
	if name == RootWithoutCapabilities {
		if err := dropAndLock(); err != nil {
			return "", err
		}
		return "still uid 0, no capabilities", nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil || uid == 0 {
		return "", fmt.Errorf("user %s: not an unprivileged user", name)
	}
	// The bounding set shrinks only while CAP_SETPCAP is held, so before the switch; it is also
	// the first act on every thread, which a cgo build refuses before any file changed hands.
	bound := mayShrinkBound()
	if err := closeWayBack(bound); err != nil {
		return "", err
	}
	for _, p := range own {
		if err := os.Lchown(p, uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("hand %s to %s: %w", p, name, err)
		}
	}
	if err := syscall.Setgroups(nil); err != nil {
		return "", fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("setuid %d: %w", uid, err)
	}
	// The kernel clears every capability when root becomes another user (no keep-caps);
	// lockedDown checks it on every thread.
	if err := lockedDown(bound); err != nil {
		return "", fmt.Errorf("after the switch to %s: %w", name, err)
	}
	return fmt.Sprintf("now %s (uid %d), no capabilities", name, uid), nil
}

// errCgo is Drop's refusal in a build with cgo.
var errCgo = errors.New("this binary was built with cgo, which cannot drop privileges on every thread " +
	"(prctl and capset act on one): nothing was dropped; build it with CGO_ENABLED=0, as make build does")

// allThreads runs a system call on every thread of the process (credentials, capabilities and
// no_new_privs are per thread on Linux). A cgo build cannot: errCgo, and no thread ran it.
func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	switch errno {
	case 0:
		return nil
	case syscall.ENOTSUP:
		return errCgo
	}
	return errno
}

// closeWayBack empties the ambient set and, with bound, the bounding set of every thread, and
// sets no_new_privs on each: an execve after it grants nothing, whatever the file's mode or
// capabilities, and uid 0 gets no capability from it.
func closeWayBack(bound bool) error {
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	if bound {
		last, err := lastCapability()
		if err != nil {
			return err
		}
		for c := 0; c <= last; c++ {
			if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// lastCapability is the highest capability this kernel knows.
func lastCapability() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("the last capability: %w", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || last < 0 || last > 63 {
		return 0, fmt.Errorf("the last capability: %q", b)
	}
	return last, nil
}

// mayShrinkBound reports whether this process holds CAP_SETPCAP, which the kernel asks of
// whoever drops from the bounding set. One that does not holds at most what it was given (a
// setcap binary's cap_net_raw); no_new_privs is what keeps an execve from granting more then.
func mayShrinkBound() bool {
	eff, err := capabilitySet("/proc/self/status", "CapEff")
	return err == nil && eff&(1<<unix.CAP_SETPCAP) != 0
}

// dropCapabilities clears the effective, permitted and inheritable sets of every thread.
func dropCapabilities() error {
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := &[2]unix.CapUserData{}
	err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// lockedDown checks, thread by thread, what Drop promises: no capability in any set but the
// bounding one (that too with bound), and no_new_privs.
func lockedDown(bound bool) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("no threads in /proc/self/task (%v)", err)
	}
	fields := []string{"CapInh", "CapPrm", "CapEff", "CapAmb"}
	if bound {
		fields = append(fields, "CapBnd")
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue // a thread that ended meanwhile
		}
		for _, f := range fields {
			if v, err := capabilityField(string(b), f); err != nil || v != 0 {
				return fmt.Errorf("%s: %s %x left (%v)", task, f, v, err)
			}
		}
		if v, err := capabilityField(string(b), "NoNewPrivs"); err != nil || v != 1 {
			return fmt.Errorf("%s: NoNewPrivs %d (%v)", task, v, err)
		}
	}
	return nil
}

// heldCapabilities is every capability this process could use: effective, permitted and ambient.
func heldCapabilities() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	var held uint64
	for _, f := range []string{"CapEff", "CapPrm", "CapAmb"} {
		v, err := capabilityField(string(b), f)
		if err != nil {
			return 0, err
		}
		held |= v
	}
	return held, nil
}

// capabilitySet reads one hexadecimal field of a status file.
func capabilitySet(path, name string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return capabilityField(string(b), name)
}

// capabilityField reads one field of a status file's text: the capability sets are
// hexadecimal, NoNewPrivs is 0 or 1, which reads the same.
func capabilityField(status, name string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the status", name)
}

// reachable reports whether user name could open what a run still opens once it runs as that
// user: search permission on the directory of each file it will own (the spool, a SQLite
// store's files: handed to it, but reached through their directories) and read permission on
// each input. It asks the kernel, on one thread that takes the user's ids for the question
// and gives them back; the process keeps its own. It returns the first path that fails.
func reachable(name string, own, reads []string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return name, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return name, err
	}
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				groups = append(groups, uint32(g))
			}
		}
	}
	type answer struct {
		path string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		runtime.LockOSThread()
		// The thread gives the ids back before it is unlocked and returned to the pool. Were it
		// left to end with them instead, its exit could race the privilege drop that follows:
		// in a cgo build glibc's setuid signals every thread to change ids, and it died of
		// SIGSEGV on one being torn down (seen in 1 of 18 starts, and in the benchmark). A
		// thread that cannot give them back stays locked, and ends with them, as before.
		restored := false
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		oldGroups, err := unix.Getgroups()
		if err != nil {
			done <- answer{"", fmt.Errorf("getgroups: %w", err)}
			return
		}
		oldGid := unix.Getegid()
		var gp unsafe.Pointer
		if len(groups) > 0 {
			gp = unsafe.Pointer(&groups[0])
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(gp), 0); e != 0 {
			done <- answer{"", fmt.Errorf("setgroups: %w", e)}
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(gid), ^uintptr(0)); e != 0 {
			done <- answer{"", fmt.Errorf("setresgid: %w", e)}
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
			done <- answer{"", fmt.Errorf("setresuid: %w", e)}
			return
		}
		a := answer{}
	check:
		for _, p := range own {
			dir := filepath.Dir(p)
			if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.X_OK, unix.AT_EACCESS); err != nil {
				a = answer{dir, err}
				break check
			}
		}
		for _, p := range reads {
			if a.err != nil {
				break
			}
			if err := unix.Faccessat(unix.AT_FDCWD, p, unix.R_OK, unix.AT_EACCESS); err != nil && !errors.Is(err, unix.ENOENT) {
				a = answer{p, err}
			}
		}
		// Back to the process's ids: the saved uid is still 0, so the effective one may return,
		// and with it the capabilities to restore the group ids.
		old := make([]uint32, len(oldGroups))
		for i, g := range oldGroups {
			old[i] = uint32(g)
		}
		var op unsafe.Pointer
		if len(old) > 0 {
			op = unsafe.Pointer(&old[0])
		}
		_, _, e1 := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), 0, ^uintptr(0))
		_, _, e2 := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(oldGid), ^uintptr(0))
		_, _, e3 := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(old)), uintptr(op), 0)
		restored = e1 == 0 && e2 == 0 && e3 == 0 && unix.Geteuid() == 0
		done <- a
	}()
	a := <-done
	return a.path, a.err
}

// dropAndLock drops every capability of a process that keeps its uid, and closes the way
// back (no_new_privs, the ambient set, the bounding set where it may), then checks that every
// thread holds nothing.
func dropAndLock() error {
	bound := mayShrinkBound()
	if err := closeWayBack(bound); err != nil {
		return err
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	return lockedDown(bound)
}
