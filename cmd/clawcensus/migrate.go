package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/store"
)

func migrateCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "migrate",
		Usage: "apply the schema migrations to the store (scan and report do it too)",
		Flags: []cli.Flag{dbFlag},
		Action: func(c *cli.Context) error {
			st, err := store.Open(c.Context, c.String("db"))
			if err != nil {
				return usageError{err}
			}
			defer st.Close()
			_, err = fmt.Fprintf(c.App.Writer, "%s store is up to date\n", st.Backend())
			return err
		},
	})
}
