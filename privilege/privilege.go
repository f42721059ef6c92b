// Package privilege decides whom a process started as root becomes once its raw sockets are
// open, and gives up the rest: root becomes that user (after handing it the files it still
// writes), a process with file capabilities drops them.
//
// It takes plain values (a user name, the paths the process still writes and reads) and asks
// the kernel. It never opens a socket (the caller opens its raw sockets first), never reads a
// flag and imports no other package of this module.
package privilege

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
)

// RootWithoutCapabilities is the last resort of a root process without a chosen user when no
// unprivileged user can reach its files: uid 0 stays, every capability goes. Decide returns it
// as a name and Drop understands it.
const RootWithoutCapabilities = "uid 0 without capabilities"

// Config says whom to become and what the process still needs once it is that user.
type Config struct {
	// User is whom a root process becomes. Empty means the first of nobody and the sudo
	// caller who can reach Own and Reads, else RootWithoutCapabilities; "root" keeps root.
	User string
	// Own are the files the process still writes (a spool directory, a SQLite store's files):
	// Drop hands them to the user, who must reach them through their directories.
	Own []string
	// Reads are the files the process still reads (candidates, lists, enrichment data); one
	// that does not exist yet is no obstacle.
	Reads []string
}

// Decide returns whom a root process becomes (anyone else stays who it is: name is cfg.User).
// Least privilege by default: nobody owns nothing worth reaching from a parser of hostile
// responses. But nobody must reach what the run still opens: started from root's 0700 home, it
// cannot. Then the sudo caller is tried, and failing that the process keeps uid 0 with every
// capability dropped (RootWithoutCapabilities; why says what nobody could not reach). A
// cfg.User that cannot reach them is an error, so a caller can refuse before anything runs.
func Decide(cfg Config) (name, why string, err error) {
	name = cfg.User
	if os.Geteuid() != 0 || name == "root" {
		return name, "", nil
	}
	if name != "" {
		if path, err := reachable(name, cfg.Own, cfg.Reads); err != nil {
			return "", "", fmt.Errorf("%s cannot reach %s (%v)", name, absPath(path), err)
		}
		return name, "", nil
	}
	for _, cand := range defaultUsers() {
		path, err := reachable(cand, cfg.Own, cfg.Reads)
		if err == nil {
			return cand, "", nil
		}
		why = cmp.Or(why, fmt.Sprintf("%s cannot reach %s (%v)", cand, absPath(path), err))
	}
	return RootWithoutCapabilities, why, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// defaultUsers are whom a root process becomes without a chosen user, in order of preference:
// nobody, then the sudo caller when there is one.
func defaultUsers() []string {
	users := []string{"nobody"}
	if s := os.Getenv("SUDO_USER"); s != "" && s != "root" && os.Getenv("SUDO_UID") != "0" {
		users = append(users, s)
	}
	return users
}
