package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// userFlag names who a root process becomes once its raw sockets are open.
var userFlag = &cli.StringFlag{Name: "user", EnvVars: []string{"CLAWCENSUS_USER"},
	Usage: "run as this user after opening the raw sockets when started as root (default nobody, or where nobody cannot reach the files the sudo caller, else uid 0 without capabilities; root: stay)"}

// lowerPrivileges opens the SYN engine's raw sockets when the sweep may use them (syn, or auto
// where allowed), then gives up privilege before anything is read from the network: root
// becomes --user after handing it the spool directory and a SQLite store's files; a process
// with file capabilities drops them. The sockets stay usable; nothing else can be opened.
func lowerPrivileges(c *cli.Context, wantSYN bool, own []string) (*scanner.Raw, error) {
	var raw *scanner.Raw
	if wantSYN {
		if ok, _ := scanner.SYNAvailable(); ok {
			r, err := scanner.OpenRaw()
			if err != nil {
				return nil, err
			}
			raw = r
		}
	}
	name, why, err := runAs(c, own)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if why != "" {
		slog.Warn("staying uid 0 with every capability dropped: "+why, "hint", "--user NAME runs as a user who can reach the files")
	}
	note, err := dropPrivileges(name, own)
	if err != nil {
		raw.Close()
		return nil, err
	}
	slog.Info("privileges", "raw_sockets", raw != nil, "now", note)
	return raw, nil
}

// runAs decides who a root process becomes (anyone else stays who it is). Least privilege by
// default: nobody owns nothing worth reaching from a parser of hostile responses. But nobody
// must reach what the run still opens (own: the spool and a SQLite store's files; the
// candidates, lists and enrichment files): started from root's 0700 home, it cannot. Then the
// sudo caller is tried, and failing that the process keeps uid 0 with every capability dropped
// (rootWithoutCapabilities; why says what nobody could not reach). A --user that cannot reach
// them is a usage error; scan asks before its run exists, so nothing is recorded or sent.
func runAs(c *cli.Context, own []string) (name, why string, err error) {
	name = c.String("user")
	if os.Geteuid() != 0 || name == "root" {
		return name, "", nil
	}
	reads := inputFiles(c)
	if name != "" {
		if path, err := reachable(name, own, reads); err != nil {
			return "", "", usagef("--user %s cannot reach %s (%v): choose a user who can, or move the files", name, absPath(path), err)
		}
		return name, "", nil
	}
	for _, cand := range defaultUsers() {
		path, err := reachable(cand, own, reads)
		if err == nil {
			return cand, "", nil
		}
		why = cmp.Or(why, fmt.Sprintf("%s cannot reach %s (%v)", cand, absPath(path), err))
	}
	return rootWithoutCapabilities, why, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// rootWithoutCapabilities is the last resort of a root process without --user when no
// unprivileged user can reach its files: uid 0 stays, every capability goes.
const rootWithoutCapabilities = "uid 0 without capabilities"

// defaultUsers are who a root process becomes without --user, in order of preference: nobody,
// then the sudo caller when there is one.
func defaultUsers() []string {
	users := []string{"nobody"}
	if s := os.Getenv("SUDO_USER"); s != "" && s != "root" && os.Getenv("SUDO_UID") != "0" {
		users = append(users, s)
	}
	return users
}

// inputFiles are the files a run opens for reading after privileges are dropped: candidates,
// exclude lists, opt-out registers and enrichment databases named by flags.
func inputFiles(c *cli.Context) []string {
	var files []string
	for _, name := range []string{"candidates", "country-db", "asn-db"} {
		if v := c.String(name); v != "" && v != "-" {
			files = append(files, v)
		}
	}
	for _, name := range []string{"exclude", "optout"} {
		files = append(files, c.StringSlice(name)...)
	}
	return files
}

// workerFiles are the files a worker still writes after giving up root: the spool directory
// (made now, while it may) and a SQLite store's files.
func workerFiles(c *cli.Context) ([]string, error) {
	spool := c.String("spool")
	if spool == "" {
		spool = "clawcensus-spool"
	}
	if os.Geteuid() == 0 && c.String("user") != "root" {
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("spool %s: %w", spool, err)
		}
	}
	own := []string{spool}
	if db := c.String("db"); db != "" && !store.IsPostgres(db) && !strings.HasPrefix(db, "file:") {
		own = append(own, db, db+"-wal", db+"-shm", db+".lock")
	}
	return own, nil
}
