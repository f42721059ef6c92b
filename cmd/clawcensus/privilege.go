package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// userFlag names who a root process becomes once its raw sockets are open.
var userFlag = &cli.StringFlag{Name: "user", EnvVars: []string{"CLAWCENSUS_USER"},
	Usage: "run as this user after opening the raw sockets when started as root (default nobody; --user $SUDO_USER keeps the store yours; root: stay)"}

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
	// Least privilege by default: nobody owns nothing worth reaching from a parser of hostile
	// responses. The sudo caller is a choice (--user), not the default: that user's files are
	// exactly what an exploited process should not be able to read.
	name := c.String("user")
	if name == "" {
		name = "nobody"
	}
	note, err := dropPrivileges(name, own)
	if err != nil {
		raw.Close()
		return nil, err
	}
	slog.Info("privileges", "raw_sockets", raw != nil, "now", note)
	return raw, nil
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
