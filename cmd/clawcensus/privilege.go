package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/privilege"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// lowerPrivileges opens the SYN engine's raw sockets when the sweep may use them (syn, or auto
// where allowed), then gives up privilege before anything is read from the network (package
// privilege): root becomes --user after handing it the spool directory and a SQLite store's
// files; a process with file capabilities drops them. The sockets stay usable; nothing else
// can be opened.
func lowerPrivileges(c *cli.Context, wantSYN bool, own, reads []string) (*scanner.Raw, error) {
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
	name, why, err := runAs(c, own, reads)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if why != "" {
		slog.Warn("staying uid 0 with every capability dropped: "+why, "hint", "--user NAME runs as a user who can reach the files")
	}
	note, err := privilege.Drop(name, own)
	if err != nil {
		raw.Close()
		return nil, err
	}
	slog.Info("privileges", "raw_sockets", raw != nil, "now", note)
	return raw, nil
}

// runAs asks privilege.Decide who a root process becomes, given --user, the files the run
// still writes (own) and reads (the plan's files: census.Plan.Paths). A --user that cannot reach
// them is a usage error; scan asks before its run exists, so nothing is recorded or sent.
func runAs(c *cli.Context, own, reads []string) (name, why string, err error) {
	name, why, err = privilege.Decide(privilege.Config{User: c.String("user"), Own: own, Reads: reads})
	if err != nil {
		return "", "", usagef("--user %v: choose a user who can, or move the files", err)
	}
	return name, why, nil
}

// workerFiles are the files a worker still writes after giving up root: the spool directory
// (made now, while it may) and a SQLite store's files.
func workerFiles(c *cli.Context) ([]string, error) {
	spool := cmp.Or(c.String("spool"), census.DefaultSpool)
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
