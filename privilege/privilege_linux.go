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
func Drop(name string, own []string) (note string, err error) {
	if os.Geteuid() != 0 {
		if eff, err := effectiveCapabilities(); err == nil && eff == 0 {
			return "unprivileged", nil
		}
		if err := dropCapabilities(); err != nil {
			return "", err
		}
		return "capabilities dropped", nil
	}
	if name == "root" {
		return "still root (asked to stay root)", nil
	}
	if name == RootWithoutCapabilities {
		if err := dropCapabilities(); err != nil {
			return "still uid 0; " + err.Error(), nil // a cgo build: less than asked, said so
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
	// The kernel clears every capability when root becomes another user (no keep-caps).
	if eff, err := effectiveCapabilities(); err != nil || eff != 0 {
		return "", fmt.Errorf("capabilities left after the switch to %s: %x (%v)", name, eff, err)
	}
	return fmt.Sprintf("now %s (uid %d), no capabilities", name, uid), nil
}

// dropCapabilities clears the effective, permitted and inheritable sets of every thread. A
// build with cgo (the race detector's) cannot reach every thread from Go: it clears this
// thread's and reports that it could do no more.
func dropCapabilities() error {
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := &[2]unix.CapUserData{}
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	switch errno {
	case 0:
		return nil
	case syscall.ENOTSUP:
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := unix.Capset(hdr, &data[0]); err != nil {
			return fmt.Errorf("capset: %w", err)
		}
		return errors.New("capabilities dropped on one thread only (a cgo build); build with CGO_ENABLED=0")
	}
	return fmt.Errorf("capset: %w", errno)
}

// effectiveCapabilities reads CapEff of this process.
func effectiveCapabilities() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
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
